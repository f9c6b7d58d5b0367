//! The command evaluator: each proposed cell is trained by a user command.
//!
//! For every new cell the evaluator writes the candidate as JSON to
//! `<evaluations>/work/<key>/genotype.json`, runs the configured command template through
//! `sh -c` and reads the result JSON it writes. Placeholders in the template (each path is
//! shell-quoted):
//!
//! | placeholder | value |
//! |---|---|
//! | `{genotype}` | path of the genotype JSON file |
//! | `{result}` | path the command must write its result JSON to |
//! | `{seed}` | the run's seed |
//! | `{workdir}` | the evaluation's own directory (logs, checkpoints) |
//! | `{key}` | the evaluation's content key |
//! | `{text}` | the candidate's text form (DARTS `Genotype(...)`), shell-quoted |
//! | `{slot}` | which of the `concurrency` slots (1..=concurrency) the command holds, e.g. to pick a host or GPU |
//!
//! The same values are in the environment as `WEAKNAS_GENOTYPE`, `WEAKNAS_RESULT`,
//! `WEAKNAS_SEED`, `WEAKNAS_WORKDIR`, `WEAKNAS_KEY` and `WEAKNAS_SLOT`.
//!
//! The result is a JSON object holding the search field, the report field and, if configured,
//! the cost field (numbers). At most `concurrency` commands run at once over every run of the
//! invocation; a command past `timeout_s` is killed with its whole process group; a failed
//! attempt (non-zero exit, timeout, missing or malformed result, missing field) is retried
//! `retries` times and then recorded as failed — the search goes on. Every finished
//! evaluation is appended to the [`EvalJournal`] before the searcher sees it, so a resumed
//! search replays finished evaluations from the journal instead of re-training them. Two runs
//! asking for the same (candidate, seed) at once share one evaluation.

use super::journal::{EvalJournal, EvalRecord, EvalStatus};
use super::Evaluator;
use crate::space::CellId;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Placeholders a command template may use.
pub const PLACEHOLDERS: [&str; 7] = [
    "genotype", "result", "seed", "workdir", "key", "text", "slot",
];

fn one() -> usize {
    1
}
fn one_u32() -> u32 {
    1
}

/// How to run the training command (the `[benchmark.evaluator]` table of a spec).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// Command template, run with `sh -c` (see the module doc for placeholders).
    pub command: String,
    /// Commands running at once, over all runs of an invocation.
    #[serde(default = "one")]
    pub concurrency: usize,
    /// Seconds before an attempt is killed (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// Extra attempts after a failed one.
    #[serde(default = "one_u32")]
    pub retries: u32,
    /// Result field holding the evaluation's cost (e.g. `train_seconds`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    /// Working directory of the command (default: where `weaknas` runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Extra environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

impl CommandConfig {
    /// Checks the template and limits.
    pub fn validate(&self) -> Result<()> {
        if self.command.trim().is_empty() {
            bail!("evaluator command is empty");
        }
        if self.concurrency == 0 {
            bail!("evaluator concurrency must be at least 1");
        }
        if let Some(t) = self.timeout_s {
            if !(t > 0.0 && t.is_finite()) {
                bail!("evaluator timeout_s must be a positive number of seconds, got {t}");
            }
        }
        for name in placeholders(&self.command) {
            if !PLACEHOLDERS.contains(&name.as_str()) {
                bail!(
                    "evaluator command uses an unknown placeholder {{{name}}}; known: {}",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                );
            }
        }
        if !self.command.contains("{result}") && !self.command.contains("WEAKNAS_RESULT") {
            bail!(
                "evaluator command never mentions {{result}} (or $WEAKNAS_RESULT): it must write \
                 its result JSON there"
            );
        }
        Ok(())
    }
}

/// `{name}` placeholders of a template (identifier characters only, so shell `${VAR}` and
/// JSON braces in the template are left alone).
fn placeholders(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' && (i == 0 || b[i - 1] != b'$') {
            if let Some(len) = b[i + 1..].iter().position(|&c| c == b'}') {
                let name = &t[i + 1..i + 1 + len];
                if !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    out.push(name.to_string());
                    i += len + 2;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// Single-quotes a string for `sh`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The candidates an open-domain evaluator trains: their text and JSON forms.
pub trait CandidateSource: Send + Sync {
    /// Space name (`nasnet`, `darts`), part of every evaluation key.
    fn space_name(&self) -> &str;
    /// Number of candidates.
    fn num_candidates(&self) -> usize;
    /// Text form of a candidate (stable: part of its key).
    fn text(&self, cell: CellId) -> String;
    /// JSON written to `{genotype}`.
    fn json(&self, cell: CellId) -> serde_json::Value;
}

/// The `concurrency` numbered slots (1..=concurrency) commands run in; a command holds one
/// for its duration (`{slot}` in the template, e.g. to pick a host).
struct Slots {
    free: Mutex<Vec<usize>>,
    cond: Condvar,
}

impl Slots {
    fn new(n: usize) -> Self {
        Self {
            free: Mutex::new((1..=n).collect()),
            cond: Condvar::new(),
        }
    }
    /// Waits for a free slot and takes the lowest-numbered one.
    fn acquire(&self) -> usize {
        let mut f = self.free.lock().expect("slots");
        while f.is_empty() {
            f = self.cond.wait(f).expect("slots");
        }
        let (i, _) = f
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| **s)
            .expect("non-empty");
        f.swap_remove(i)
    }
    fn release(&self, slot: usize) {
        self.free.lock().expect("slots").push(slot);
        self.cond.notify_one();
    }
}

/// Shared by every run of one open-domain benchmark in an invocation: the configuration,
/// the journal, the concurrency limit and the evaluations in flight.
pub struct CommandPool {
    config: CommandConfig,
    search_field: String,
    report_field: String,
    source: Arc<dyn CandidateSource>,
    dir: PathBuf,
    journal: EvalJournal,
    slots: Slots,
    inflight: Mutex<HashSet<String>>,
    inflight_done: Condvar,
    launched: AtomicUsize,
}

impl CommandPool {
    /// A pool writing under `dir` (journal `dir/journal.jsonl`, work dirs `dir/work/<key>`).
    pub fn new(
        config: CommandConfig,
        search_field: &str,
        report_field: &str,
        source: Arc<dyn CandidateSource>,
        dir: &Path,
    ) -> Result<Self> {
        config.validate()?;
        let journal = EvalJournal::open(&dir.join("journal.jsonl"))?;
        if !journal.is_empty() {
            tracing::info!(
                "{}: {} finished evaluations will be reused",
                journal.path().display(),
                journal.len()
            );
        }
        Ok(Self {
            slots: Slots::new(config.concurrency),
            config,
            search_field: search_field.to_string(),
            report_field: report_field.to_string(),
            source,
            dir: dir.to_path_buf(),
            journal,
            inflight: Mutex::new(HashSet::new()),
            inflight_done: Condvar::new(),
            launched: AtomicUsize::new(0),
        })
    }

    /// The journal.
    pub fn journal(&self) -> &EvalJournal {
        &self.journal
    }

    /// Command attempts launched by this pool (not counting journal replays).
    pub fn launched(&self) -> usize {
        self.launched.load(Ordering::Relaxed)
    }

    /// The content key of (candidate, seed) under this configuration.
    pub fn key(&self, cell: CellId, seed: u64) -> String {
        let id = serde_json::json!({
            "space": self.source.space_name(),
            "candidate": self.source.text(cell),
            "seed": seed,
            "command": self.config.command,
            "cwd": self.config.cwd,
            "env": self.config.env,
            "search": self.search_field,
            "report": self.report_field,
            "cost": self.config.cost,
        });
        hex::encode(&Sha256::digest(id.to_string().as_bytes())[..16])
    }

    /// The finished record of (cell, seed), if any.
    pub fn record(&self, cell: CellId, seed: u64) -> Option<EvalRecord> {
        self.journal.get(&self.key(cell, seed))
    }

    /// Evaluates one candidate (or returns its journaled record), persisting it first.
    pub fn evaluate_one(&self, cell: CellId, seed: u64) -> Result<EvalRecord> {
        let key = self.key(cell, seed);
        {
            let mut inflight = self.inflight.lock().expect("inflight");
            loop {
                if let Some(r) = self.journal.get(&key) {
                    return Ok(r);
                }
                if inflight.contains(&key) {
                    inflight = self.inflight_done.wait(inflight).expect("inflight");
                } else {
                    inflight.insert(key.clone());
                    break;
                }
            }
        }
        let result = self.train(cell, seed, &key);
        self.inflight.lock().expect("inflight").remove(&key);
        self.inflight_done.notify_all();
        result
    }

    fn train(&self, cell: CellId, seed: u64, key: &str) -> Result<EvalRecord> {
        let work = self.dir.join("work").join(key);
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let genotype = work.join("genotype.json");
        let result = work.join("result.json");
        let text = self.source.text(cell);
        let mut doc = self.source.json(cell);
        if let Some(o) = doc.as_object_mut() {
            o.entry("text").or_insert_with(|| text.clone().into());
        }
        crate::fsutil::atomic_write(&genotype, serde_json::to_vec_pretty(&doc)?.as_slice())?;
        let start = Instant::now();
        let attempts = self.config.retries + 1;
        let mut last_err = String::new();
        let mut rec = EvalRecord {
            key: key.to_string(),
            space: self.source.space_name().to_string(),
            genotype: text.clone(),
            seed,
            status: EvalStatus::Failed,
            search: None,
            report: None,
            cost: None,
            attempts: 0,
            error: None,
            result: None,
            wall_s: 0.0,
        };
        for attempt in 1..=attempts {
            rec.attempts = attempt;
            let _ = std::fs::remove_file(&result);
            let slot = self.slots.acquire();
            park_if_stopping();
            self.launched.fetch_add(1, Ordering::Relaxed);
            let log_path = work.join(format!("attempt-{attempt}.log"));
            let outcome =
                self.run_once(&genotype, &result, &work, key, &text, seed, &log_path, slot);
            park_if_stopping();
            self.slots.release(slot);
            match outcome.and_then(|()| self.read_result(&result, &log_path)) {
                Ok((search, report, cost, value)) => {
                    rec.status = EvalStatus::Ok;
                    rec.search = Some(search);
                    rec.report = Some(report);
                    rec.cost = cost;
                    rec.result = Some(value);
                    rec.error = None;
                    break;
                }
                Err(e) => {
                    last_err = format!("{e:#}");
                    tracing::warn!(
                        "evaluation {key} attempt {attempt}/{attempts} failed: {last_err}"
                    );
                }
            }
        }
        if rec.status == EvalStatus::Failed {
            rec.error = Some(last_err);
        }
        rec.wall_s = start.elapsed().as_secs_f64();
        park_if_stopping();
        self.journal.append(&rec)?;
        tracing::info!(
            key,
            status = ?rec.status,
            search = ?rec.search,
            wall_s = rec.wall_s,
            "evaluated {}",
            text
        );
        Ok(rec)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_once(
        &self,
        genotype: &Path,
        result: &Path,
        work: &Path,
        key: &str,
        text: &str,
        seed: u64,
        log_path: &Path,
        slot: usize,
    ) -> Result<()> {
        let p = |x: &Path| shell_quote(&x.display().to_string());
        let cmd = self
            .config
            .command
            .replace("{genotype}", &p(genotype))
            .replace("{result}", &p(result))
            .replace("{workdir}", &p(work))
            .replace("{seed}", &seed.to_string())
            .replace("{key}", key)
            .replace("{slot}", &slot.to_string())
            .replace("{text}", &shell_quote(text));
        let log = std::fs::File::create(log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(&cmd)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .env("WEAKNAS_GENOTYPE", genotype)
            .env("WEAKNAS_RESULT", result)
            .env("WEAKNAS_SEED", seed.to_string())
            .env("WEAKNAS_WORKDIR", work)
            .env("WEAKNAS_KEY", key)
            .env("WEAKNAS_SLOT", slot.to_string())
            .envs(&self.config.env);
        if let Some(d) = &self.config.cwd {
            c.current_dir(d);
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            c.process_group(0);
        }
        let mut child = c
            .spawn()
            .with_context(|| format!("starting sh -c {cmd:?}"))?;
        let group = child.id() as i32;
        track_process_group(group);
        let outcome = self.wait_for(&mut child, log_path);
        untrack_process_group(group);
        outcome
    }

    /// Waits for a started command (killing its group past the timeout).
    fn wait_for(&self, child: &mut std::process::Child, log_path: &Path) -> Result<()> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(5);
        let status = loop {
            if let Some(s) = child.try_wait()? {
                break s;
            }
            if let Some(t) = self.config.timeout_s {
                if start.elapsed().as_secs_f64() > t {
                    kill_group(child);
                    bail!("timed out after {t} s (killed; log {})", log_path.display());
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        };
        if !status.success() {
            bail!(
                "command exited with {status}; log {}:\n{}",
                log_path.display(),
                log_tail(log_path, 800)
            );
        }
        Ok(())
    }

    /// Reads what the command wrote to `path`; `log` is the attempt's output, quoted in the
    /// error when there is no result file (the command "succeeded" without doing the work,
    /// e.g. a launcher that could not start it).
    fn read_result(
        &self,
        path: &Path,
        log: &Path,
    ) -> Result<(f64, f64, Option<f64>, serde_json::Value)> {
        let bytes = std::fs::read(path).with_context(|| {
            let tail = log_tail(log, 800);
            format!(
                "the command succeeded but wrote no result file {}; log {}:{}{}",
                path.display(),
                log.display(),
                if tail.is_empty() { " (empty)" } else { "\n" },
                tail
            )
        })?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not valid JSON", path.display()))?;
        let obj = v
            .as_object()
            .with_context(|| format!("{}: expected a JSON object", path.display()))?;
        let num = |field: &str| -> Result<f64> {
            match obj.get(field) {
                None => bail!(
                    "{}: no field {field:?} (fields: {})",
                    path.display(),
                    obj.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                Some(x) => match x.as_f64() {
                    Some(f) if f.is_finite() => Ok(f),
                    _ => bail!(
                        "{}: field {field:?} is not a finite number: {x}",
                        path.display()
                    ),
                },
            }
        };
        let search = num(&self.search_field)?;
        let report = num(&self.report_field)?;
        let cost = match &self.config.cost {
            Some(c) => Some(num(c)?),
            None => None,
        };
        Ok((search, report, cost, v))
    }
}

/// Set when the process is being interrupted: no command is started, retried or journaled
/// any more (an evaluation cut short must be trained again on resume, not recorded as failed).
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Parks the calling evaluation thread for good once the process is being interrupted.
fn park_if_stopping() {
    while STOPPING.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Process groups of the commands running now (every pool of the process).
static RUNNING: Mutex<std::collections::BTreeSet<i32>> =
    Mutex::new(std::collections::BTreeSet::new());

/// Stops every training command this process started and that is still running: SIGTERM to
/// each process group, then SIGKILL after `grace`. For the program's SIGINT/SIGTERM handler,
/// so an interrupted search leaves no training behind (finished evaluations are already in
/// the journal). Returns the number of groups signalled.
pub fn terminate_running_commands(grace: Duration) -> usize {
    STOPPING.store(true, Ordering::SeqCst);
    let groups: Vec<i32> = RUNNING
        .lock()
        .map(|r| r.iter().copied().collect())
        .unwrap_or_default();
    #[cfg(unix)]
    {
        for &g in &groups {
            // SAFETY: signalling a process group this process created.
            unsafe {
                libc::killpg(g, libc::SIGTERM);
            }
        }
        if !groups.is_empty() {
            std::thread::sleep(grace);
            for &g in &groups {
                // SAFETY: as above.
                unsafe {
                    libc::killpg(g, libc::SIGKILL);
                }
            }
        }
    }
    groups.len()
}

/// Registers the process group of a child started with `process_group(0)` so that
/// [`terminate_running_commands`] stops it on an interrupt (external searchers use it too).
pub fn track_process_group(group: i32) {
    if let Ok(mut r) = RUNNING.lock() {
        r.insert(group);
    }
}

/// Forgets a process group registered with [`track_process_group`].
pub fn untrack_process_group(group: i32) {
    if let Ok(mut r) = RUNNING.lock() {
        r.remove(&group);
    }
}

/// Kills the process group a child leads (started with `process_group(0)`) and reaps the
/// child.
pub fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        // SAFETY: killpg on the group the child leads (process_group(0) above).
        unsafe {
            libc::killpg(child.id() as libc::pid_t, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn log_tail(path: &Path, n: usize) -> String {
    let b = std::fs::read(path).unwrap_or_default();
    let s = String::from_utf8_lossy(&b[b.len().saturating_sub(n)..]).into_owned();
    s.trim_end().to_string()
}

/// One run's evaluator: a [`CommandPool`] and the run's seed.
pub struct CommandEvaluator {
    pool: Arc<CommandPool>,
    seed: u64,
}

impl CommandEvaluator {
    /// The evaluator of a run with this seed.
    pub fn new(pool: Arc<CommandPool>, seed: u64) -> Self {
        Self { pool, seed }
    }
}

impl Evaluator for CommandEvaluator {
    fn num_cells(&self) -> usize {
        self.pool.source.num_candidates()
    }
    fn can_evaluate(&self, cell: CellId) -> bool {
        (cell as usize) < self.num_cells()
    }
    fn evaluate(&mut self, cells: &[CellId]) -> Vec<Result<f64, String>> {
        let pool = &self.pool;
        let seed = self.seed;
        let outcome = |c: CellId| match pool.evaluate_one(c, seed) {
            Ok(r) => match (r.status, r.search) {
                (EvalStatus::Ok, Some(v)) => Ok(v),
                _ => Err(r.error.unwrap_or_else(|| "failed".into())),
            },
            Err(e) => Err(format!("{e:#}")),
        };
        if cells.len() == 1 {
            return vec![outcome(cells[0])];
        }
        std::thread::scope(|s| {
            let handles: Vec<_> = cells.iter().map(|&c| s.spawn(move || outcome(c))).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("evaluator thread panicked".into()))
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic candidates for tests: cell i has text `cand-i`.
    struct Cands(usize);
    impl CandidateSource for Cands {
        fn space_name(&self) -> &str {
            "test"
        }
        fn num_candidates(&self) -> usize {
            self.0
        }
        fn text(&self, cell: CellId) -> String {
            format!("cand-{cell}")
        }
        fn json(&self, cell: CellId) -> serde_json::Value {
            serde_json::json!({ "space": "test", "id": cell })
        }
    }

    fn config(cmd: &str) -> CommandConfig {
        CommandConfig {
            command: cmd.into(),
            concurrency: 2,
            timeout_s: Some(5.0),
            retries: 1,
            cost: None,
            cwd: None,
            env: BTreeMap::new(),
        }
    }

    /// A stand-in training command: value = id / 10 from the genotype JSON.
    const GOOD: &str = r#"id=$(sed -n 's/.*"id": *\([0-9]*\).*/\1/p' {genotype}); echo "{\"acc\": $id.5, \"test\": 1}" > {result}"#;

    fn pool(cmd: &str, dir: &Path) -> Arc<CommandPool> {
        Arc::new(CommandPool::new(config(cmd), "acc", "test", Arc::new(Cands(10)), dir).unwrap())
    }

    #[test]
    fn evaluates_in_order_persists_and_replays() {
        let d = tempfile::tempdir().unwrap();
        let p = pool(GOOD, d.path());
        let mut e = CommandEvaluator::new(p.clone(), 7);
        let out = e.evaluate(&[3, 1, 4]);
        assert_eq!(out, vec![Ok(3.5), Ok(1.5), Ok(4.5)]);
        assert_eq!(p.launched(), 3);
        assert_eq!(p.record(1, 7).unwrap().report, Some(1.0));
        drop(e);
        drop(p);
        // A new pool over the same directory replays from the journal: nothing re-runs.
        let p = pool(GOOD, d.path());
        let mut e = CommandEvaluator::new(p.clone(), 7);
        assert_eq!(e.evaluate(&[4, 3]), vec![Ok(4.5), Ok(3.5)]);
        assert_eq!(p.launched(), 0);
        // Another seed is another evaluation.
        let mut e = CommandEvaluator::new(p.clone(), 8);
        assert_eq!(e.evaluate(&[4]), vec![Ok(4.5)]);
        assert_eq!(p.launched(), 1);
    }

    #[test]
    fn failures_are_retried_then_recorded_never_fatal() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            ("exit 3 # {result}", "exited"),
            ("echo 'not json' > {result}", "not valid JSON"),
            ("echo '{\"other\": 1}' > {result}", "no field \"acc\""),
            ("true # {result}", "no result file"),
            (
                "echo 'launcher could not start the job' # {result}",
                "launcher could not start the job",
            ),
            (
                "echo '{\"acc\": \"x\", \"test\": 1}' > {result}",
                "not a finite number",
            ),
        ];
        for (i, (cmd, why)) in cases.iter().enumerate() {
            let p = pool(cmd, &d.path().join(i.to_string()));
            let mut e = CommandEvaluator::new(p.clone(), 0);
            let out = e.evaluate(&[0, 1]);
            for o in &out {
                let msg = o.as_ref().unwrap_err();
                assert!(msg.contains(why), "{cmd}: {msg}");
            }
            assert_eq!(p.launched(), 4, "{cmd}: 2 cells x (1 + 1 retry)");
            let r = p.record(0, 0).unwrap();
            assert_eq!((r.status, r.attempts), (EvalStatus::Failed, 2));
        }
    }

    #[test]
    fn a_flaky_command_succeeds_on_retry() {
        let d = tempfile::tempdir().unwrap();
        // Fails the first time (no marker yet), succeeds the second.
        let cmd = format!(
            "if [ -e {{workdir}}/tried ]; then {GOOD}; else touch {{workdir}}/tried; exit 1; fi"
        );
        let p = pool(&cmd, d.path());
        let mut e = CommandEvaluator::new(p.clone(), 0);
        assert_eq!(e.evaluate(&[2]), vec![Ok(2.5)]);
        assert_eq!(p.record(2, 0).unwrap().attempts, 2);
    }

    #[test]
    fn timeout_kills_the_process_group() {
        let d = tempfile::tempdir().unwrap();
        let mut c = config("sleep 30 & sleep 30; echo '{}' > {result}");
        c.timeout_s = Some(0.3);
        c.retries = 0;
        let p = Arc::new(CommandPool::new(c, "acc", "test", Arc::new(Cands(2)), d.path()).unwrap());
        let t = Instant::now();
        let out = CommandEvaluator::new(p, 0).evaluate(&[0]);
        assert!(out[0].as_ref().unwrap_err().contains("timed out"));
        assert!(t.elapsed().as_secs_f64() < 10.0);
    }

    #[test]
    fn concurrency_limit_holds() {
        let d = tempfile::tempdir().unwrap();
        // Each command records how many are running (via a lock-free counter directory).
        let cnt = d.path().join("running");
        std::fs::create_dir_all(&cnt).unwrap();
        let cmd = format!(
            "touch {c}/$WEAKNAS_KEY; ls {c} | wc -l >> {c}.log; sleep 0.2; rm {c}/$WEAKNAS_KEY; {GOOD}",
            c = cnt.display()
        );
        let p = pool(&cmd, &d.path().join("e"));
        let out = CommandEvaluator::new(p, 0).evaluate(&[0, 1, 2, 3, 4, 5]);
        assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
        let log = std::fs::read_to_string(format!("{}.log", cnt.display())).unwrap();
        let max = log
            .lines()
            .map(|l| l.trim().parse::<usize>().unwrap())
            .max()
            .unwrap();
        assert!(max <= 2, "at most 2 at once, saw {max}");
    }

    #[test]
    fn template_checks() {
        assert!(config("train --out {result} --x ${HOME}")
            .validate()
            .is_ok());
        let e = config("train {genome} {result}")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("{genome}"), "{e}");
        let e = config("train {genotype}")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("{result}"), "{e}");
        assert_eq!(shell_quote("a'b"), r#"'a'\''b'"#);
    }
}
