//! `external`: a searcher written in any language, run as a program that speaks the ask/tell
//! protocol of `docs/protocol.md` (JSON lines over its stdin/stdout).
//!
//! ```toml
//! [[method]]
//! name = "my-search"
//! method = "external"
//! params = { command = "python3 my_search.py --flag", timeout_s = 60, args = { population = 20 } }
//! ```
//!
//! The runner starts the command (`sh -c`, in its own process group) once per
//! (method, benchmark, seed), sends a hello, and answers the searcher's requests through the
//! run's [`SearchOracle`](weaknas_harness::oracle::SearchOracle), so budget charging and
//! refusal are the oracle's and the report metric never crosses. The searcher's stderr is its
//! log, kept as `<out>/logs/<run id>.stderr` when the run writes to a result directory.
//!
//! Anything the searcher gets wrong — malformed JSON, an unknown message, an unknown or
//! invalid cell, a batch past the budget, a crash, silence past `timeout_s`, an exit before
//! the budget is spent — fails that run (the others go on) with an error naming the run and
//! quoting the offending line and the tail of stderr.

pub mod process;
pub mod protocol;

use crate::ITERATION_BLOCK;
use anyhow::{bail, Result};
use process::{Next, SearcherProcess};
use protocol::{parse_request, Repeats, Request, PROTOCOL_VERSION, SPACE_CHUNK, STATISTICS_LABEL};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;
use weaknas_harness::oracle::QueryError;
use weaknas_harness::searcher::{parse_params, BuildInfo, RunInfo, SearchContext, Searcher};
use weaknas_harness::space::CellId;

/// Method kind in specs.
pub const KIND: &str = "external";

/// Characters of an offending line quoted in an error.
const QUOTE_CHARS: usize = 300;

/// Shell builtins accepted as the first word of a command (not looked up on `PATH`).
const BUILTINS: [&str; 4] = ["cd", "exec", "export", "."];

/// Parameters of an external searcher.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalConfig {
    /// The command, run with `sh -c` in the working directory of `weaknas`.
    pub command: String,
    /// Longest silence allowed: seconds to wait for each line from the searcher (and for its
    /// exit after `done`). Default 300.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Free-form settings handed to the searcher in its hello (`"args"`).
    #[serde(default)]
    pub args: toml::Table,
}

fn default_timeout() -> f64 {
    300.0
}

impl ExternalConfig {
    /// Checks the command (non-empty, quotes balanced, its program exists) and the timeout.
    pub fn validate(&self) -> Result<()> {
        let Some(words) = shlex::split(&self.command) else {
            bail!("command {:?}: unbalanced quotes", self.command);
        };
        let Some(program) = words.first() else {
            bail!("command is empty");
        };
        let found = if program.contains('/') {
            std::path::Path::new(program).is_file()
        } else {
            BUILTINS.contains(&program.as_str())
                || std::env::var_os("PATH").is_some_and(|paths| {
                    std::env::split_paths(&paths).any(|d| d.join(program).is_file())
                })
        };
        if !found {
            bail!(
                "command {:?}: program {program:?} not found{}",
                self.command,
                if program.contains('/') {
                    ""
                } else {
                    " on PATH"
                }
            );
        }
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0) {
            bail!(
                "timeout_s must be a positive number of seconds, got {}",
                self.timeout_s
            );
        }
        Ok(())
    }
}

/// A searcher run as an external program.
pub struct ExternalSearcher {
    config: ExternalConfig,
    run: RunInfo,
}

/// Builds an external searcher from its parameters (validated here, before any run starts).
pub fn build(params: &toml::Table, _info: &BuildInfo) -> Result<Box<dyn Searcher>> {
    let config: ExternalConfig = parse_params(KIND, params)?;
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid parameters for method {KIND:?}: {e:#}"))?;
    Ok(Box::new(ExternalSearcher {
        config,
        run: RunInfo::default(),
    }))
}

impl Searcher for ExternalSearcher {
    fn bind_run(&mut self, run: &RunInfo) {
        self.run = run.clone();
    }

    fn run(&mut self, ctx: &mut SearchContext<'_>) -> Result<()> {
        let proc = SearcherProcess::spawn(
            &self.config.command,
            self.run.log_path.as_deref(),
            &[
                ("WEAKNAS_PROTOCOL", PROTOCOL_VERSION.to_string()),
                ("WEAKNAS_RUN_ID", self.run.run_id.clone()),
                ("WEAKNAS_SEED", self.run.seed.to_string()),
            ],
        )
        .map_err(|e| self.error(&format!("could not start: {e:#}"), None, &[]))?;
        let mut s = Session {
            searcher: self,
            proc,
            messages: 0,
        };
        let r = s.talk(ctx);
        if r.is_err() {
            s.proc.kill();
        }
        r
    }
}

impl ExternalSearcher {
    /// The error of this run: names the run and the command, quotes the line and stderr.
    fn error(&self, what: &str, line: Option<(usize, &str)>, stderr: &[String]) -> anyhow::Error {
        let run = if self.run.run_id.is_empty() {
            String::from("(unbound run)")
        } else {
            format!(
                "run {} ({} on {}/{}, seed {})",
                self.run.run_id,
                self.run.method,
                self.run.benchmark,
                self.run.dataset,
                self.run.seed
            )
        };
        let mut msg = format!("external searcher {:?}, {run}: {what}", self.config.command);
        if let Some((n, l)) = line {
            let q: String = l.chars().take(QUOTE_CHARS).collect();
            let more = if l.chars().count() > QUOTE_CHARS {
                " ..."
            } else {
                ""
            };
            msg.push_str(&format!("\n  its message {n}: {q}{more}"));
        }
        if !stderr.is_empty() {
            let log = match &self.run.log_path {
                Some(p) => format!(" (whole log: {})", p.display()),
                None => String::new(),
            };
            msg.push_str(&format!("\n  last lines of its stderr{log}:"));
            for l in stderr {
                msg.push_str("\n    ");
                msg.push_str(l);
            }
        }
        anyhow::anyhow!(msg)
    }
}

/// One conversation with a running searcher.
struct Session<'s> {
    searcher: &'s ExternalSearcher,
    proc: SearcherProcess,
    messages: usize,
}

impl Session<'_> {
    fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.searcher.config.timeout_s)
    }

    /// Tells the searcher what went wrong (best effort), stops it (a second to exit on its
    /// own, so its stderr is complete) and builds the run's error.
    fn fail(&mut self, what: &str, line: Option<&str>) -> anyhow::Error {
        let _ = self.proc.send(&json!({"type": "error", "message": what}));
        self.proc.finish(Duration::from_secs(1));
        let n = self.messages;
        self.searcher
            .error(what, line.map(|l| (n, l)), &self.proc.stderr_tail())
    }

    /// The searcher stopped reading or writing: why (crash, early exit) as an error.
    fn ended(&mut self, ctx: &SearchContext<'_>) -> anyhow::Error {
        let status = self.proc.finish(Duration::from_secs(5));
        let tail = self.proc.stderr_tail();
        let what = match status {
            Some(s) if !s.success() => format!("crashed ({s})"),
            _ => format!(
                "exited before the budget was spent ({} of {} queries used, no \"done\")",
                ctx.oracle.used(),
                ctx.oracle.budget()
            ),
        };
        self.searcher.error(&what, None, &tail)
    }

    fn send(&mut self, ctx: &SearchContext<'_>, msg: &Value) -> Result<()> {
        match self.proc.send(msg) {
            Ok(()) => Ok(()),
            Err(_) => Err(self.ended(ctx)),
        }
    }

    fn hello(&self, ctx: &SearchContext<'_>) -> Value {
        let run = &self.searcher.run;
        json!({
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "run_id": run.run_id,
            "method": run.method,
            "benchmark": run.benchmark,
            "dataset": run.dataset,
            "search_metric": run.search_metric,
            "space": ctx.space.name(),
            "space_size": ctx.space.num_cells(),
            "cell_format": ctx.space.native_format(),
            "encoding_dim": ctx.features.cols,
            "budget": ctx.oracle.budget(),
            "seed": run.seed,
            "statistics": ctx.oracle.space_statistics().is_some(),
            "args": self.searcher.config.args,
        })
    }

    fn talk(&mut self, ctx: &mut SearchContext<'_>) -> Result<()> {
        let hello = self.hello(ctx);
        self.send(ctx, &hello)?;
        loop {
            let line = match self.proc.next(self.timeout()) {
                Ok(Next::Line(l)) => l,
                Ok(Next::Eof) => {
                    let status = self.proc.finish(self.timeout());
                    if status.is_some_and(|s| s.success()) && ctx.oracle.remaining() == 0 {
                        return Ok(()); // spent its budget and exited: as good as "done"
                    }
                    return Err(self.ended(ctx));
                }
                Ok(Next::Silent) => {
                    let what = format!(
                        "sent nothing for {} s (timeout_s); stopped",
                        self.searcher.config.timeout_s
                    );
                    return Err(self.fail(&what, None));
                }
                Err(e) => return Err(self.fail(&format!("unreadable output: {e}"), None)),
            };
            self.messages += 1;
            if line.trim().is_empty() {
                continue;
            }
            let reply = parse_request(&line).and_then(|req| match req {
                Request::Done {} => Ok(None),
                Request::Space { encodings } => self.stream_space(ctx, encodings).map(|()| {
                    Some(Value::Null) // already sent
                }),
                other => answer(ctx, other).map(Some),
            });
            match reply {
                Err(what) => return Err(self.fail(&what, Some(&line))),
                Ok(Some(Value::Null)) => {}
                Ok(Some(v)) => self.send(ctx, &v)?,
                Ok(None) => return self.done(ctx, &line),
            }
        }
    }

    fn done(&mut self, ctx: &SearchContext<'_>, line: &str) -> Result<()> {
        if ctx.oracle.remaining() > 0 {
            let what = format!(
                "said \"done\" before the budget was spent ({} of {} queries used)",
                ctx.oracle.used(),
                ctx.oracle.budget()
            );
            return Err(self.fail(&what, Some(line)));
        }
        let _ = self.proc.send(&json!({"type": "bye"}));
        match self.proc.finish(self.timeout()) {
            Some(s) if s.success() => Ok(()),
            Some(s) => {
                let tail = self.proc.stderr_tail();
                Err(self
                    .searcher
                    .error(&format!("crashed after \"done\" ({s})"), None, &tail))
            }
            None => Err(self.searcher.error(
                &format!(
                    "did not exit within {} s of \"done\" (timeout_s); stopped",
                    self.searcher.config.timeout_s
                ),
                None,
                &self.proc.stderr_tail(),
            )),
        }
    }

    /// Sends the space in chunks of [`SPACE_CHUNK`] cells.
    fn stream_space(&mut self, ctx: &SearchContext<'_>, encodings: bool) -> Result<(), String> {
        let n = ctx.space.num_cells();
        let mut start = 0;
        loop {
            let end = (start + SPACE_CHUNK).min(n);
            let ids = start as CellId..end as CellId;
            let mut msg = json!({
                "type": "space",
                "start": start,
                "cells": ids.clone().map(|c| ctx.space.native(c)).collect::<Vec<_>>(),
                "last": end == n,
            });
            if encodings {
                msg["encodings"] = ids.map(|c| ctx.features.row(c as usize).to_vec()).collect();
            }
            if self.proc.send(&msg).is_err() {
                return Err("stopped reading while the space was streamed".into());
            }
            if end == n {
                return Ok(());
            }
            start = end;
        }
    }
}

/// A cell of a request, or the error naming it.
fn cell_of(ctx: &SearchContext<'_>, v: &Value, what: &str) -> Result<CellId, String> {
    ctx.space.parse_native(v).map_err(|e| {
        format!(
            "{what} {v} is not a cell of the {} space ({}): {e:#}",
            ctx.space.name(),
            ctx.space.native_format()
        )
    })
}

/// The reply to a request other than `space` and `done`.
fn answer(ctx: &mut SearchContext<'_>, req: Request) -> Result<Value, String> {
    Ok(match req {
        Request::Query {
            cells,
            iteration,
            repeats,
        } => query(ctx, &cells, iteration, repeats)?,
        Request::Neighbours { cell } => {
            let c = cell_of(ctx, &cell, "cell")?;
            let n: Vec<Value> = ctx
                .space
                .neighbours(c)
                .into_iter()
                .map(|x| ctx.space.native(x))
                .collect();
            json!({"type": "neighbours", "cells": n})
        }
        Request::Mutate { cell } => {
            let c = cell_of(ctx, &cell, "cell")?;
            let m = ctx.space.mutate(c, ctx.rng);
            json!({"type": "mutation", "cell": ctx.space.native(m)})
        }
        Request::Statistics {} => match ctx.oracle.space_statistics() {
            Some((mean, std)) => {
                json!({"type": "statistics", "mean": mean, "std": std, "label": STATISTICS_LABEL})
            }
            None => json!({"type": "statistics", "mean": null, "std": null,
                "label": "unavailable: this benchmark's values come from an evaluator, not a table"}),
        },
        Request::Ranking { iteration, scores } => {
            let n = ctx.space.num_cells();
            if scores.len() != n {
                return Err(format!(
                    "a ranking needs one score per cell of the space ({n}), got {}",
                    scores.len()
                ));
            }
            let s: Vec<f32> = scores.iter().map(|&x| x as f32).collect();
            ctx.report_ranking(iteration, &s);
            json!({"type": "ok"})
        }
        Request::Space { .. } | Request::Done {} => unreachable!("handled by the session"),
    })
}

/// Answers a `query`: every cell valid and with a value, the new ones within the budget,
/// then charged through the oracle (labelled `iteration`, or by blocks of
/// [`ITERATION_BLOCK`] charged queries as the built-in baselines are). With
/// `repeats = charge` every cell of the batch is charged, one by one in order.
fn query(
    ctx: &mut SearchContext<'_>,
    cells: &[Value],
    iteration: Option<u32>,
    repeats: Repeats,
) -> Result<Value, String> {
    let mut ids = Vec::with_capacity(cells.len());
    for (i, v) in cells.iter().enumerate() {
        let c = cell_of(ctx, v, &format!("cell {i} of the batch,"))?;
        if !ctx.oracle.has_value(c) {
            return Err(format!(
                "cell {i} of the batch, {v}, has no value of the search metric"
            ));
        }
        ids.push(c);
    }
    if repeats == Repeats::Charge {
        return query_all_charged(ctx, &ids, iteration);
    }
    let mut fresh = HashSet::new();
    let charged: Vec<bool> = ids
        .iter()
        .map(|&c| !ctx.oracle.is_queried(c) && fresh.insert(c))
        .collect();
    if fresh.len() > ctx.oracle.remaining() {
        return Err(format!(
            "batch past the budget: {} new cells asked, {} of the budget of {} left",
            fresh.len(),
            ctx.oracle.remaining(),
            ctx.oracle.budget()
        ));
    }
    let mut values = Vec::with_capacity(ids.len());
    let mut i = 0;
    while i < ids.len() {
        let used = ctx.oracle.used();
        ctx.oracle
            .set_iteration(iteration.unwrap_or((used / ITERATION_BLOCK) as u32));
        let room = match iteration {
            Some(_) => usize::MAX,
            None => ITERATION_BLOCK - used % ITERATION_BLOCK,
        };
        let mut j = i;
        let mut taken = 0;
        while j < ids.len() && (taken < room || !charged[j]) {
            taken += usize::from(charged[j]);
            j += 1;
        }
        for r in ctx.oracle.query_many(&ids[i..j]) {
            values.push(match r {
                Ok(v) => json!(v),
                Err(QueryError::Failed(c, why)) => {
                    tracing::warn!("evaluation of cell {c} failed: {why}");
                    Value::Null
                }
                Err(e) => return Err(format!("refused: {e}")),
            });
        }
        i = j;
    }
    Ok(json!({
        "type": "values",
        "values": values,
        "charged": charged,
        "used": ctx.oracle.used(),
        "remaining": ctx.oracle.remaining(),
    }))
}

/// A `query` with `repeats = charge`: every cell is charged (a repeat is a re-evaluation:
/// what [`Oracle::query_charged`] returns), one query at a time so each carries the
/// iteration label it would carry alone.
///
/// [`Oracle::query_charged`]: weaknas_harness::oracle::Oracle::query_charged
fn query_all_charged(
    ctx: &mut SearchContext<'_>,
    ids: &[CellId],
    iteration: Option<u32>,
) -> Result<Value, String> {
    if ids.len() > ctx.oracle.remaining() {
        return Err(format!(
            "batch past the budget: {} cells asked with repeats charged, {} of the budget of {} left",
            ids.len(),
            ctx.oracle.remaining(),
            ctx.oracle.budget()
        ));
    }
    let mut values = Vec::with_capacity(ids.len());
    for &c in ids {
        let used = ctx.oracle.used();
        ctx.oracle
            .set_iteration(iteration.unwrap_or((used / ITERATION_BLOCK) as u32));
        values.push(match ctx.oracle.query_charged(c) {
            Ok(v) => json!(v),
            Err(QueryError::Failed(c, why)) => {
                tracing::warn!("evaluation of cell {c} failed: {why}");
                Value::Null
            }
            Err(e) => return Err(format!("refused: {e}")),
        });
    }
    Ok(json!({
        "type": "values",
        "values": values,
        "charged": vec![true; ids.len()],
        "used": ctx.oracle.used(),
        "remaining": ctx.oracle.remaining(),
    }))
}
