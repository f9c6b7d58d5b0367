//! The [`Searcher`] trait, the context a search runs in, and the method registry.

use crate::checkpoint::Checkpoints;
use crate::matrix::Matrix;
use crate::oracle::{QueryError, SearchOracle};
use crate::predictor::Threads;
use crate::rng::SeedRng;
use crate::space::{CellId, SearchSpace};
use anyhow::{bail, Result};

/// Receives what a searcher's predictor thinks of the whole space, so the runner can compute
/// ranking diagnostics against the truth (which the searcher never sees).
pub trait SearchObserver {
    /// Called after a predictor of `iteration`, fitted when `num_queried` cells had been
    /// queried, scored every cell (`scores[cell]`, higher = better). Convention: the queries
    /// chosen from this ranking carry the iteration label `iteration + 1`.
    fn on_ranking(&mut self, iteration: u32, num_queried: usize, scores: &[f32]);

    /// What it has gathered so far, for a run's checkpoint (default: nothing).
    fn save_state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Takes back what [`Self::save_state`] gave; on error it is left as it was.
    fn restore_state(&mut self, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

/// An observer that ignores everything.
pub struct NoObserver;

impl SearchObserver for NoObserver {
    fn on_ranking(&mut self, _iteration: u32, _num_queried: usize, _scores: &[f32]) {}
}

/// Everything a searcher may use.
pub struct SearchContext<'a> {
    /// The search space.
    pub space: &'a dyn SearchSpace,
    /// Feature matrix of the whole space (row = cell id).
    pub features: &'a Matrix,
    /// The only source of metric values: search metric, budget-charged.
    pub oracle: &'a mut SearchOracle,
    /// The searcher's own random stream.
    pub rng: &'a mut SeedRng,
    /// Where to report predictor rankings.
    pub observer: &'a mut dyn SearchObserver,
    /// Threads a predictor may use.
    pub threads: Threads,
    /// The searcher's state saved at a checkpoint when this run continues one (oracle,
    /// random stream and observer are then already where they were); a searcher that
    /// calls [`Self::checkpoint`] takes it before its first query.
    pub resume: Option<serde_json::Value>,
    /// Where the run's checkpoints go (`None`: this run keeps none).
    pub checkpoints: Option<&'a mut Checkpoints>,
}

impl SearchContext<'_> {
    /// Called by a searcher at an iteration boundary, where `state()` (with the oracle, the
    /// random stream and the observer) is all it needs to go on: saves a checkpoint when
    /// one is due. See [`crate::checkpoint`].
    pub fn checkpoint(&mut self, state: impl FnOnce() -> serde_json::Value) -> Result<()> {
        match self.checkpoints.as_deref_mut() {
            Some(c) => c.save_if_due(self.oracle, self.rng, &*self.observer, state),
            None => Ok(()),
        }
    }

    /// Reports a ranking of the whole space to the observer (with the current query count).
    pub fn report_ranking(&mut self, iteration: u32, scores: &[f32]) {
        let used = self.oracle.used();
        self.observer.on_ranking(iteration, used, scores);
    }

    /// Queries `cell` unless it was queried already or the budget is spent; returns the value
    /// if it was a new, charged query.
    pub fn try_query_new(&mut self, cell: CellId) -> Result<Option<f64>> {
        if self.oracle.is_queried(cell)
            || self.oracle.remaining() == 0
            || !self.oracle.has_value(cell)
        {
            return Ok(None);
        }
        match self.oracle.query(cell) {
            Ok(v) => Ok(Some(v)),
            Err(QueryError::Failed(c, why)) => {
                tracing::warn!("evaluation of cell {c} failed: {why}");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Queries several cells at once (concurrently where the evaluator can), skipping
    /// those already queried or without a value and stopping at the budget; one entry per
    /// given cell: `Some(value)` for a new, charged, successful query, else `None` (a
    /// failed evaluation is charged and gives `None`).
    pub fn try_query_many(&mut self, cells: &[CellId]) -> Result<Vec<Option<f64>>> {
        let mut take = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for &c in cells {
            if take.len() >= self.oracle.remaining() {
                break;
            }
            if (c as usize) < self.oracle.num_cells()
                && !self.oracle.is_queried(c)
                && self.oracle.has_value(c)
                && seen.insert(c)
            {
                take.push(c);
            }
        }
        let results = self.oracle.query_many(&take);
        let mut by_cell = std::collections::HashMap::new();
        for (&c, r) in take.iter().zip(results) {
            match r {
                Ok(v) => {
                    by_cell.insert(c, v);
                }
                Err(QueryError::Failed(c, why)) => {
                    tracing::warn!("evaluation of cell {c} failed: {why}");
                }
                // The run's stop rule ended it inside this batch: the rest is refused.
                Err(QueryError::BudgetExhausted(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(cells.iter().map(|c| by_cell.remove(c)).collect())
    }
}

/// A NAS method that searches through the oracle until its budget is spent.
pub trait Searcher: Send {
    /// Runs the search to completion (normally until `ctx.oracle.remaining() == 0`).
    fn run(&mut self, ctx: &mut SearchContext<'_>) -> Result<()>;

    /// Told by the runner, before [`Searcher::run`], which run this is (identity, seed,
    /// where its log goes). Built-in searchers ignore it; an external searcher hands it on.
    fn bind_run(&mut self, _run: &RunInfo) {}
}

/// Which run a searcher is about to execute (see [`Searcher::bind_run`]).
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// Content address of the run.
    pub run_id: String,
    /// Method label from the spec.
    pub method: String,
    /// Benchmark name (`nb201`, ...).
    pub benchmark: String,
    /// Dataset label.
    pub dataset: String,
    /// Store key (or result field) of the search metric.
    pub search_metric: String,
    /// Seed of the run.
    pub seed: u64,
    /// Where the searcher's own log (an external program's stderr) is kept, if anywhere.
    pub log_path: Option<std::path::PathBuf>,
}

/// What a method builder knows about where it will run.
#[derive(Clone, Debug)]
pub struct BuildInfo {
    /// Space name (`nb201`, `nb101`, ...): methods pick their per-benchmark defaults by it.
    pub space: String,
    /// Query budget of the run.
    pub budget: usize,
}

/// Builds a searcher from its TOML parameters.
pub type BuildFn = fn(&toml::Table, &BuildInfo) -> Result<Box<dyn Searcher>>;

/// One registered method.
pub struct RegistryEntry {
    /// Method kind as written in specs (`method = "random"`).
    pub kind: &'static str,
    /// One line saying what it is.
    pub about: &'static str,
    /// Builder.
    pub build: BuildFn,
}

/// Every method the runner can build, by kind.
#[derive(Default)]
pub struct Registry {
    entries: Vec<RegistryEntry>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a method.
    pub fn add(mut self, kind: &'static str, about: &'static str, build: BuildFn) -> Self {
        self.entries.push(RegistryEntry { kind, about, build });
        self
    }
    /// The registered methods.
    pub fn entries(&self) -> &[RegistryEntry] {
        &self.entries
    }
    /// Builds a method, or errors naming the unknown kind and the known ones.
    pub fn build(
        &self,
        kind: &str,
        params: &toml::Table,
        info: &BuildInfo,
    ) -> Result<Box<dyn Searcher>> {
        match self.entries.iter().find(|e| e.kind == kind) {
            Some(e) => (e.build)(params, info),
            None => bail!(
                "unknown method {kind:?}; known methods: {}",
                self.entries
                    .iter()
                    .map(|e| e.kind)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Deserialises a method's parameter table into its config type, naming the method on error.
pub fn parse_params<T: serde::de::DeserializeOwned>(kind: &str, params: &toml::Table) -> Result<T> {
    toml::Value::Table(params.clone())
        .try_into()
        .map_err(|e| anyhow::anyhow!("invalid parameters for method {kind:?}: {e}"))
}
