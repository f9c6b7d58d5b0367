//! The query oracle: the only way a searcher learns anything about a cell.
//!
//! A run declares a [`MetricContract`]. The runner resolves it against a store into a
//! [`SearchOracle`] (handed to the searcher) and a [`ReportView`] (kept by the runner). The
//! searcher's handle holds the search metric alone — it has no field, method or reference
//! through which a report-metric value could be reached:
//!
//! ```compile_fail
//! fn peek(o: &weaknas_harness::oracle::SearchOracle) -> f64 { o.report(0) }
//! ```
//!
//! Each first query of a cell is charged against the budget; repeats are counted, not
//! charged; a query of a new cell past the budget is refused.

use crate::evaluator::tabular::TabularEvaluator;
use crate::evaluator::Evaluator;
use crate::rng::SeedRng;
use crate::space::CellId;
use crate::store::{BenchmarkStore, Column};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// How a query's value is drawn from a cell's trials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseModel {
    /// The mean over the cell's trials (the official WeakNAS code's choice).
    #[default]
    Mean,
    /// One trial per cell, drawn once per run.
    TrialPerRun,
    /// A fresh trial at every query (a repeat query may return another value).
    TrialPerQuery,
}

/// What a run searches on and reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricContract {
    /// Dataset label of the run (e.g. `cifar10`), used in tables.
    pub dataset: String,
    /// Store key of the search metric, e.g. `cifar10-valid/x-valid@200`.
    pub search: String,
    /// Store key of the report metric, e.g. `cifar10/ori-test@200`.
    pub report: String,
    /// How query values are drawn from trials.
    #[serde(default)]
    pub noise: NoiseModel,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The budget is spent and the cell was never queried.
    #[error("query budget of {0} exhausted")]
    BudgetExhausted(usize),
    /// The cell id is outside the space.
    #[error("cell {0} is outside the space")]
    UnknownCell(CellId),
    /// The store has no value of the search metric for this cell.
    #[error("cell {0} has no value of the search metric")]
    Missing(CellId),
    /// The evaluation failed (after the evaluator's retries); the query was charged.
    #[error("evaluation of cell {0} failed: {1}")]
    Failed(CellId, String),
}

/// One query as the oracle saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryEvent {
    /// The cell.
    pub cell: CellId,
    /// Searcher iteration when it was asked (set by [`SearchOracle::set_iteration`]).
    pub iteration: u32,
    /// Whether it was charged (first query of this cell).
    pub charged: bool,
    /// The search-metric value returned (NaN for a failed evaluation).
    pub value: f64,
    /// Seconds since the oracle was created.
    pub wall_s: f64,
}

/// The searcher's handle: search metric only, budget-charged.
pub struct SearchOracle {
    eval: Box<dyn Evaluator>,
    budget: usize,
    queried: Vec<bool>,
    first: Vec<f64>,
    failures: Vec<(CellId, String)>,
    order: Vec<CellId>,
    repeats: usize,
    iteration: u32,
    events: Vec<QueryEvent>,
    start: Instant,
    /// When the last "still running" line was logged (see [`SearchOracle::set_iteration`]),
    /// and how often one is logged.
    heartbeat: Instant,
    heartbeat_every: std::time::Duration,
    stop_cells: Vec<bool>,
    stopped_at: Option<usize>,
}

/// How often a long run logs that it is still running (queries and iteration so far).
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(300);

impl SearchOracle {
    /// A handle over a search-metric column (a [`TabularEvaluator`]). `noise_rng` draws
    /// trials (never the searcher's stream). Errors if the budget exceeds the number of
    /// cells with a value.
    pub fn new(
        search: Arc<Column>,
        noise: NoiseModel,
        budget: usize,
        noise_rng: SeedRng,
    ) -> Result<Self> {
        let key = search.key.clone();
        let eval = TabularEvaluator::new(search, noise, noise_rng)?;
        if budget > eval.num_present() {
            bail!(
                "query budget {budget} is larger than the space ({} cells with a value of {key})",
                eval.num_present(),
            );
        }
        Self::with_evaluator(Box::new(eval), budget)
    }

    /// A handle over any evaluator. Errors if the budget exceeds the number of cells.
    pub fn with_evaluator(eval: Box<dyn Evaluator>, budget: usize) -> Result<Self> {
        let n = eval.num_cells();
        if budget > n {
            bail!("query budget {budget} is larger than the space ({n} cells)");
        }
        Ok(Self {
            eval,
            budget,
            queried: vec![false; n],
            first: vec![f64::NAN; n],
            failures: Vec::new(),
            order: Vec::with_capacity(budget),
            repeats: 0,
            iteration: 0,
            events: Vec::with_capacity(budget),
            start: Instant::now(),
            heartbeat: Instant::now(),
            heartbeat_every: HEARTBEAT,
            stop_cells: Vec::new(),
            stopped_at: None,
        })
    }

    /// Queries a cell's search metric. A new cell is charged; a repeat is counted, not
    /// charged (under `Mean` and `TrialPerRun` it returns the same value). A failed
    /// evaluation is charged too (it cost the compute) and returns [`QueryError::Failed`].
    pub fn query(&mut self, cell: CellId) -> Result<f64, QueryError> {
        self.query_many(&[cell]).pop().expect("one result per cell")
    }

    /// Queries several cells at once, one result per cell in order. New cells are
    /// evaluated together — concurrently where the evaluator can (a command evaluator
    /// trains them in parallel) — and charged in order until the budget is spent; the rest
    /// are refused. Equivalent to querying them one by one for a tabular evaluator.
    pub fn query_many(&mut self, cells: &[CellId]) -> Vec<Result<f64, QueryError>> {
        let n = self.queried.len();
        let mut fresh: Vec<CellId> = Vec::new();
        let mut pending = std::collections::HashSet::new();
        let mut plan: Vec<Result<bool, QueryError>> = Vec::with_capacity(cells.len());
        for &cell in cells {
            let c = cell as usize;
            if c >= n {
                plan.push(Err(QueryError::UnknownCell(cell)));
            } else if self.queried[c] || pending.contains(&cell) {
                plan.push(Ok(false));
            } else if !self.eval.can_evaluate(cell) {
                plan.push(Err(QueryError::Missing(cell)));
            } else if self.order.len() + fresh.len() >= self.budget {
                plan.push(Err(QueryError::BudgetExhausted(self.budget)));
            } else {
                pending.insert(cell);
                fresh.push(cell);
                plan.push(Ok(true));
                if self.stop_cells.get(c).copied().unwrap_or(false) {
                    // A stop cell ends the run: the budget shrinks to the queries charged so
                    // far (this one included), so later cells of the batch are refused.
                    self.budget = self.order.len() + fresh.len();
                    self.stopped_at = Some(self.budget);
                }
            }
        }
        let outcomes = if fresh.is_empty() {
            Vec::new()
        } else {
            self.eval.evaluate(&fresh)
        };
        let wall_s = self.start.elapsed().as_secs_f64();
        for (&cell, outcome) in fresh.iter().zip(outcomes) {
            self.queried[cell as usize] = true;
            self.order.push(cell);
            match outcome {
                Ok(v) => self.first[cell as usize] = v,
                Err(e) => self.failures.push((cell, e)),
            }
        }
        let mut out = Vec::with_capacity(cells.len());
        for (&cell, p) in cells.iter().zip(plan) {
            let charged = match p {
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
                Ok(charged) => charged,
            };
            let c = cell as usize;
            let first = self.first[c];
            let value = if first.is_nan() {
                f64::NAN
            } else if charged {
                first
            } else {
                self.eval.repeat(cell, first)
            };
            if !charged {
                self.repeats += 1;
            }
            self.events.push(QueryEvent {
                cell,
                iteration: self.iteration,
                charged,
                value,
                wall_s,
            });
            out.push(if value.is_nan() {
                let msg = self
                    .failures
                    .iter()
                    .find(|f| f.0 == cell)
                    .map(|f| f.1.clone())
                    .unwrap_or_else(|| "no value".into());
                Err(QueryError::Failed(cell, msg))
            } else {
                Ok(value)
            });
        }
        out
    }

    /// Ends the run as soon as one of `cells` is charged (the stop rule `optimum`): the
    /// budget then shrinks to the number of charged queries, so a searcher that loops while
    /// [`Self::remaining`] is positive stops there. Cells outside the space are ignored.
    pub fn stop_when_queried(&mut self, cells: &[CellId]) {
        self.stop_cells = vec![false; self.queried.len()];
        for &c in cells {
            if let Some(s) = self.stop_cells.get_mut(c as usize) {
                *s = true;
            }
        }
    }
    /// The charged-query count at which a stop cell was queried (`None`: not (yet) stopped).
    pub fn stopped_at(&self) -> Option<usize> {
        self.stopped_at
    }

    /// Queries `cell` and charges it even if it was queried before: a re-evaluation that
    /// costs one query (NASLib's regularized evolution queries a duplicate child again and
    /// counts it against the budget). A new cell is an ordinary [`Self::query`]. A charged
    /// repeat returns what a repeat returns (the same value under `mean` and
    /// `trial-per-run`, a fresh trial under `trial-per-query`); past the budget it is refused.
    pub fn query_charged(&mut self, cell: CellId) -> Result<f64, QueryError> {
        let c = cell as usize;
        if c >= self.queried.len() || !self.queried[c] {
            return self.query(cell);
        }
        if self.order.len() >= self.budget {
            return Err(QueryError::BudgetExhausted(self.budget));
        }
        let first = self.first[c];
        let value = if first.is_nan() {
            f64::NAN
        } else {
            self.eval.repeat(cell, first)
        };
        self.order.push(cell);
        self.events.push(QueryEvent {
            cell,
            iteration: self.iteration,
            charged: true,
            value,
            wall_s: self.start.elapsed().as_secs_f64(),
        });
        if value.is_nan() {
            return Err(QueryError::Failed(
                cell,
                "a failed evaluation, repeated".into(),
            ));
        }
        Ok(value)
    }

    /// Labels the following queries with a searcher iteration.
    ///
    /// A run that has gone on for five minutes or more logs, at most every five minutes and
    /// at an iteration boundary, how far it is (charged queries, iteration, minutes): runs
    /// until the optimum can take hours, and `--quiet` shows no progress bar.
    pub fn set_iteration(&mut self, iteration: u32) {
        self.iteration = iteration;
        if let Some(line) = self.heartbeat_due() {
            tracing::info!("{line}");
        }
    }

    /// The "still running" line when one is due (and restarts the interval), else `None`.
    fn heartbeat_due(&mut self) -> Option<String> {
        if self.heartbeat.elapsed() < self.heartbeat_every {
            return None;
        }
        self.heartbeat = Instant::now();
        Some(format!(
            "still running: {} of at most {} queries charged, iteration {}, {:.0} min",
            self.used(),
            self.budget,
            self.iteration,
            self.start.elapsed().as_secs_f64() / 60.0
        ))
    }
    /// Current iteration label.
    pub fn iteration(&self) -> u32 {
        self.iteration
    }
    /// The query budget.
    pub fn budget(&self) -> usize {
        self.budget
    }
    /// Charged queries so far (failed evaluations included).
    pub fn used(&self) -> usize {
        self.order.len()
    }
    /// Queries left.
    pub fn remaining(&self) -> usize {
        self.budget - self.order.len()
    }
    /// Repeat (uncharged) queries so far.
    pub fn repeats(&self) -> usize {
        self.repeats
    }
    /// Whether a cell has been queried.
    pub fn is_queried(&self, cell: CellId) -> bool {
        self.queried[cell as usize]
    }
    /// Charged queries in order (a cell appears twice only after [`Self::query_charged`]).
    pub fn queried(&self) -> &[CellId] {
        &self.order
    }
    /// Number of cells in the space.
    pub fn num_cells(&self) -> usize {
        self.queried.len()
    }
    /// Whether a cell can be queried (cells without a value of the search metric never are).
    pub fn has_value(&self, cell: CellId) -> bool {
        self.eval.can_evaluate(cell)
    }
    /// Failed evaluations so far (cell, why); they were charged.
    pub fn failures(&self) -> &[(CellId, String)] {
        &self.failures
    }
    /// Mean and population std of the search metric over the whole space, where the
    /// evaluator knows them (tabular benchmarks; `None` in open-domain search). The official
    /// WeakNAS code normalises its targets with these: a documented peek at space-wide
    /// statistics (no per-cell value), used only where a method's option asks for it.
    pub fn space_statistics(&self) -> Option<(f64, f64)> {
        self.eval.space_statistics()
    }
    /// Every query event so far.
    pub fn events(&self) -> &[QueryEvent] {
        &self.events
    }
    /// Consumes the handle, giving its events to the runner.
    pub fn into_events(self) -> Vec<QueryEvent> {
        self.events
    }

    /// Puts a fresh handle back where a checkpointed run was: asks the evaluator for
    /// `events` again, one by one and in order, through the same paths as the run did (so
    /// budget, stop rule, repeats and the evaluator's own noise stream end where they were),
    /// and checks that every query gives back the cell, charge and value bit for bit. Wall
    /// times are the saved ones, and the clock goes on from `elapsed_s`. An error says which
    /// query differs; the handle is then unusable (build a new one).
    pub(crate) fn replay(
        &mut self,
        events: &[QueryEvent],
        iteration: u32,
        elapsed_s: f64,
    ) -> Result<()> {
        if !self.events.is_empty() {
            bail!("replay into a handle that was queried already");
        }
        for (i, e) in events.iter().enumerate() {
            self.iteration = e.iteration;
            let c = e.cell as usize;
            // The outcome is in the event pushed (or not) below; a refusal pushes none.
            let _ = if e.charged && c < self.queried.len() && self.queried[c] {
                self.query_charged(e.cell)
            } else {
                self.query(e.cell)
            };
            let same_value =
                |v: f64| v.to_bits() == e.value.to_bits() || (v.is_nan() && e.value.is_nan());
            let count = self.events.len();
            match self.events.last_mut() {
                Some(got)
                    if count == i + 1
                        && got.cell == e.cell
                        && got.charged == e.charged
                        && same_value(got.value) =>
                {
                    got.wall_s = e.wall_s;
                }
                _ => bail!(
                    "query {} (cell {}, charged {}, value {}) does not replay as saved",
                    i + 1,
                    e.cell,
                    e.charged,
                    e.value
                ),
            }
        }
        self.iteration = iteration;
        let elapsed = std::time::Duration::from_secs_f64(elapsed_s.max(0.0));
        self.start = Instant::now().checked_sub(elapsed).unwrap_or(self.start);
        Ok(())
    }
}

/// The runner's view of a contract: the search metric's per-cell means (the truth for
/// diagnostics) and the report metric. Never handed to a searcher.
pub struct ReportView {
    /// Contract it was resolved from.
    pub contract: MetricContract,
    /// Column of the search metric.
    pub search: Arc<Column>,
    /// Per-cell mean of the search metric.
    pub search_mean: Vec<f64>,
    /// Per-cell mean of the report metric.
    pub report_mean: Vec<f64>,
}

impl ReportView {
    /// Report-metric value of a cell.
    pub fn report(&self, cell: CellId) -> f64 {
        self.report_mean[cell as usize]
    }
    /// Best search-metric mean over the space and its cell.
    pub fn search_optimum(&self) -> (CellId, f64) {
        argmax(&self.search_mean)
    }
    /// Best report-metric mean over the space and its cell.
    pub fn report_optimum(&self) -> (CellId, f64) {
        argmax(&self.report_mean)
    }
}

fn argmax(v: &[f64]) -> (CellId, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, &x) in v.iter().enumerate() {
        if x > best.1 {
            best = (i as CellId, x);
        }
    }
    best
}

/// Resolves a contract against a store: the searcher's handle and the runner's view.
/// Errors (listing what the store has) if a metric is missing: never a silent substitute.
pub fn resolve(
    store: &BenchmarkStore,
    contract: &MetricContract,
    budget: usize,
    noise_rng: SeedRng,
) -> Result<(SearchOracle, ReportView)> {
    let search = Arc::new(store.require(&contract.search)?.clone());
    let report = store.require(&contract.report)?;
    let view = ReportView {
        contract: contract.clone(),
        search_mean: search.means(),
        report_mean: report.means(),
        search: search.clone(),
    };
    let oracle = SearchOracle::new(search, contract.noise, budget, noise_rng)?;
    Ok((oracle, view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn store() -> BenchmarkStore {
        let mut s = BenchmarkStore::new("synthetic-test", 5);
        let mut v = Column::missing("d/x-valid@200", 5, 2);
        v.values = vec![1.0, 3.0, 2.0, 2.0, 5.0, f64::NAN, 4.0, 6.0, 0.0, 0.0];
        s.add_column(v).unwrap();
        let mut t = Column::missing("d/x-test@200", 5, 1);
        t.values = vec![10.0, 20.0, 30.0, 40.0, 50.0];
        s.add_column(t).unwrap();
        s
    }

    fn contract(noise: NoiseModel) -> MetricContract {
        MetricContract {
            dataset: "d".into(),
            search: "d/x-valid@200".into(),
            report: "d/x-test@200".into(),
            noise,
        }
    }

    /// An oracle over the test store's search metric (`Mean` noise) with `budget` queries.
    fn mean_oracle(budget: usize) -> SearchOracle {
        resolve(
            &store(),
            &contract(NoiseModel::Mean),
            budget,
            stream("t", 0, "n"),
        )
        .unwrap()
        .0
    }

    #[test]
    fn charges_new_cells_counts_repeats_and_refuses_past_budget() {
        let (mut o, view) = resolve(
            &store(),
            &contract(NoiseModel::Mean),
            2,
            stream("t", 0, "n"),
        )
        .unwrap();
        assert_eq!(o.query(0).unwrap(), 2.0);
        assert_eq!(o.query(0).unwrap(), 2.0);
        assert_eq!((o.used(), o.repeats()), (1, 1));
        assert_eq!(o.query(3).unwrap(), 5.0);
        assert_eq!(o.query(1), Err(QueryError::BudgetExhausted(2)));
        assert_eq!(
            o.query(3).unwrap(),
            5.0,
            "repeats stay allowed past the budget"
        );
        assert_eq!(o.query(9), Err(QueryError::UnknownCell(9)));
        assert_eq!(o.queried(), &[0, 3]);
        assert_eq!(o.remaining(), 0);
        assert_eq!(view.report(3), 40.0);
        assert_eq!(view.report_optimum(), (4, 50.0));
        let ev = o.into_events();
        assert_eq!(ev.iter().filter(|e| e.charged).count(), 2);
        assert_eq!(ev.len(), 4);
    }

    #[test]
    fn stop_cells_end_the_run_mid_batch() {
        let mut o = mean_oracle(5);
        o.stop_when_queried(&[3, 4]);
        assert_eq!(o.query(0).unwrap(), 2.0);
        assert_eq!(o.stopped_at(), None);
        let r = o.query_many(&[1, 3, 2]);
        assert_eq!(r[0], Ok(2.0));
        assert_eq!(
            r[1],
            Ok(5.0),
            "the stop cell itself is charged and answered"
        );
        assert_eq!(
            r[2],
            Err(QueryError::BudgetExhausted(3)),
            "refused after the stop"
        );
        assert_eq!((o.used(), o.remaining(), o.stopped_at()), (3, 0, Some(3)));
        assert_eq!(o.query(0).unwrap(), 2.0, "repeats stay free after the stop");
    }

    /// A long run says how far it is, at most once per interval; a short one says nothing.
    #[test]
    fn heartbeat_reports_progress_once_per_interval() {
        let mut o = mean_oracle(3);
        assert_eq!(o.heartbeat_due(), None, "not five minutes into the run");
        o.heartbeat_every = std::time::Duration::ZERO;
        o.query(0).unwrap();
        o.query(2).unwrap();
        o.set_iteration(4);
        let line = o.heartbeat_due().expect("due at once with a zero interval");
        assert!(
            line.starts_with("still running: 2 of at most 3 queries charged, iteration 4, "),
            "{line}"
        );
        o.heartbeat_every = std::time::Duration::from_secs(3600);
        assert_eq!(o.heartbeat_due(), None, "the interval restarted");
    }

    #[test]
    fn charged_repeats_cost_a_query_each() {
        let mut o = mean_oracle(3);
        assert_eq!(
            o.query_charged(0).unwrap(),
            2.0,
            "a new cell: an ordinary query"
        );
        assert_eq!(o.query_charged(0).unwrap(), 2.0, "a repeat, charged");
        assert_eq!((o.used(), o.repeats()), (2, 0));
        assert_eq!(o.query(0).unwrap(), 2.0, "an ordinary repeat stays free");
        assert_eq!((o.used(), o.repeats()), (2, 1));
        assert_eq!(o.query_charged(0).unwrap(), 2.0);
        assert_eq!(o.query_charged(0), Err(QueryError::BudgetExhausted(3)));
        assert_eq!(o.queried(), &[0, 0, 0]);
        let ev = o.into_events();
        assert_eq!(ev.iter().filter(|e| e.charged).count(), 3);
    }

    #[test]
    fn missing_metric_lists_what_exists() {
        let mut c = contract(NoiseModel::Mean);
        c.report = "d/ori-test@200".into();
        let e = resolve(&store(), &c, 2, stream("t", 0, "n"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("d/ori-test@200")
                && e.contains("d/x-test@200")
                && e.contains("d/x-valid@200"),
            "{e}"
        );
    }

    #[test]
    fn budget_larger_than_space_is_an_error() {
        let e = resolve(
            &store(),
            &contract(NoiseModel::Mean),
            6,
            stream("t", 0, "n"),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("larger than the space"), "{e}");
    }

    #[test]
    fn trial_noise_models_draw_present_trials() {
        let (mut o, _) = resolve(
            &store(),
            &contract(NoiseModel::TrialPerRun),
            5,
            stream("t", 1, "n"),
        )
        .unwrap();
        let first = o.query(0).unwrap();
        assert!(first == 1.0 || first == 3.0);
        assert_eq!(o.query(0).unwrap(), first, "one trial per run");
        assert_eq!(o.query(2).unwrap(), 5.0, "the only present trial");
        let (mut o, _) = resolve(
            &store(),
            &contract(NoiseModel::TrialPerQuery),
            5,
            stream("t", 1, "n"),
        )
        .unwrap();
        let seen: std::collections::BTreeSet<u64> =
            (0..64).map(|_| o.query(0).unwrap().to_bits()).collect();
        assert_eq!(seen.len(), 2, "fresh trial per query");
        assert_eq!(o.used(), 1);
    }

    #[test]
    fn space_statistics_are_population_moments_of_means() {
        let (o, _) = resolve(
            &store(),
            &contract(NoiseModel::Mean),
            1,
            stream("t", 0, "n"),
        )
        .unwrap();
        let means = [2.0, 2.0, 5.0, 5.0, 0.0];
        let m = means.iter().sum::<f64>() / 5.0;
        let s = (means.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / 5.0).sqrt();
        let (a, b) = o.space_statistics().unwrap();
        assert!((a - m).abs() < 1e-12 && (b - s).abs() < 1e-12);
    }

    #[test]
    fn replay_restores_budget_noise_and_stop_and_refuses_a_changed_value() {
        let fresh = |noise| {
            resolve(&store(), &contract(noise), 4, stream("t", 0, "n"))
                .unwrap()
                .0
        };
        let mut a = fresh(NoiseModel::TrialPerQuery);
        a.stop_when_queried(&[4]);
        a.set_iteration(1);
        let _ = a.query_many(&[1, 0]);
        let _ = a.query(0); // a repeat: a fresh trial from the noise stream
        a.set_iteration(2);
        let _ = a.query_charged(1);
        let saved = a.events().to_vec();
        assert_eq!(saved.len(), 4);
        // The same handle continued, and a replayed one continued: same values, same stop.
        let mut b = fresh(NoiseModel::TrialPerQuery);
        b.stop_when_queried(&[4]);
        b.replay(&saved, 2, 30.0).unwrap();
        assert_eq!((b.used(), b.repeats(), b.iteration()), (3, 1, 2));
        assert!(b.start.elapsed().as_secs_f64() >= 30.0);
        for o in [&mut a, &mut b] {
            let _ = o.query(0);
            assert_eq!(o.query_many(&[4, 2]).len(), 2); // 4 stops the run: 2 is refused
            assert_eq!((o.used(), o.stopped_at()), (4, Some(4)));
        }
        let values = |o: &SearchOracle| o.events().iter().map(|e| e.value).collect::<Vec<_>>();
        assert_eq!(values(&a), values(&b));
        // A value that does not come back names the query.
        let mut bad = saved.clone();
        bad[1].value += 1.0;
        let err = fresh(NoiseModel::TrialPerQuery)
            .replay(&bad, 2, 0.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("query 2 (cell 0"), "{err}");
        assert!(fresh(NoiseModel::Mean).replay(&saved[..1], 1, 0.0).is_ok());
    }
}
