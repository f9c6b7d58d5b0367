//! Evaluators: where a query's search-metric value comes from.
//!
//! The [`crate::oracle::SearchOracle`] charges the budget and keeps the query log; an
//! [`Evaluator`] produces the values. Two kinds exist:
//!
//! - [`tabular::TabularEvaluator`]: a column of a benchmark store (NB101, NB201), with the
//!   contract's noise model;
//! - [`command::CommandEvaluator`]: an open-domain evaluator that trains each proposed cell by
//!   running a user command (locally, through Slurm, through GNU parallel), with a
//!   concurrency limit, a timeout and retries, persisting every finished evaluation in a
//!   [`journal::EvalJournal`] so a killed search resumes without re-training anything.
//!
//! An evaluator returns the search metric only. Report metrics (test accuracy) of command
//! evaluations stay in the journal, which only the runner reads.

pub mod command;
pub mod journal;
pub mod tabular;

use crate::space::CellId;

/// Produces search-metric values for one run.
pub trait Evaluator: Send {
    /// Number of addressable cells.
    fn num_cells(&self) -> usize;
    /// Whether `cell` can be evaluated at all (a tabular store may lack a value).
    fn can_evaluate(&self, cell: CellId) -> bool;
    /// First evaluations of `cells` (distinct, each new to this run), concurrently where the
    /// evaluator can; one outcome per cell, in order. An `Err` is a failed evaluation (after
    /// the evaluator's own retries), with a message saying why.
    fn evaluate(&mut self, cells: &[CellId]) -> Vec<Result<f64, String>>;
    /// The value of a repeated query of a cell whose first evaluation returned `first`.
    fn repeat(&mut self, cell: CellId, first: f64) -> f64 {
        let _ = cell;
        first
    }
    /// Mean and population std of the search metric over the whole space, where known (a
    /// tabular store); `None` for open-domain evaluators.
    fn space_statistics(&self) -> Option<(f64, f64)> {
        None
    }
}
