//! Helpers shared by the baselines: iteration labels and uniform draws of unqueried cells.

use anyhow::Result;
use rand::Rng;
use weaknas_harness::oracle::{QueryError, SearchOracle};
use weaknas_harness::rng::SeedRng;
use weaknas_harness::searcher::SearchContext;
use weaknas_harness::space::CellId;

/// Charged queries per iteration label for methods without a natural iteration (random
/// search, regularized evolution, local search): the q-th charged query (0-based) is labelled
/// iteration `q / ITERATION_BLOCK`. Ten matches WeakNAS's per-iteration sample count M on both
/// benchmarks, so per-iteration rows of every method cover the same query counts.
pub const ITERATION_BLOCK: usize = 10;

/// Queries `cell` if it is new, has a value and budget is left, labelling the query with the
/// block iteration of the current charged-query count; returns the value of a charged query.
pub(crate) fn query_new(ctx: &mut SearchContext<'_>, cell: CellId) -> Result<Option<f64>> {
    let iteration = (ctx.oracle.used() / ITERATION_BLOCK) as u32;
    ctx.oracle.set_iteration(iteration);
    ctx.try_query_new(cell)
}

/// Queries a cell that was queried before again, charging one query (NASLib's regularized
/// evolution re-queries duplicate children), labelled like [`query_new`]; `None` if the
/// budget is spent or the cell's evaluation had failed.
pub(crate) fn query_repeat_charged(
    ctx: &mut SearchContext<'_>,
    cell: CellId,
) -> Result<Option<f64>> {
    let iteration = (ctx.oracle.used() / ITERATION_BLOCK) as u32;
    ctx.oracle.set_iteration(iteration);
    match ctx.oracle.query_charged(cell) {
        Ok(v) => Ok(Some(v)),
        Err(QueryError::BudgetExhausted(_) | QueryError::Failed(..)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Queries several new cells (concurrently where the evaluator can), in chunks that end at
/// [`ITERATION_BLOCK`] boundaries so each query carries the same iteration label as when
/// queried one by one; one entry per cell (`None`: skipped, refused or failed).
pub(crate) fn query_new_many(
    ctx: &mut SearchContext<'_>,
    cells: &[CellId],
) -> Result<Vec<Option<f64>>> {
    let mut out = Vec::with_capacity(cells.len());
    let mut i = 0;
    while i < cells.len() {
        let used = ctx.oracle.used();
        ctx.oracle.set_iteration((used / ITERATION_BLOCK) as u32);
        let n = (ITERATION_BLOCK - used % ITERATION_BLOCK).min(cells.len() - i);
        out.extend(ctx.try_query_many(&cells[i..i + n])?);
        i += n;
    }
    Ok(out)
}

/// Every cell that has a value and was not queried when the pool was made, drawn uniformly
/// without replacement. Cells queried after the pool was made (by another route) are skipped
/// lazily at draw time, so every draw is uniform over the cells still unqueried.
pub(crate) struct UnqueriedPool {
    cells: Vec<CellId>,
}

impl UnqueriedPool {
    /// The pool of the oracle's currently queryable cells.
    pub(crate) fn new(oracle: &SearchOracle) -> Self {
        let cells = (0..oracle.num_cells() as CellId)
            .filter(|&c| oracle.has_value(c) && !oracle.is_queried(c))
            .collect();
        Self { cells }
    }

    /// A uniformly drawn unqueried cell, removed from the pool; `None` once none is left.
    pub(crate) fn draw(&mut self, oracle: &SearchOracle, rng: &mut SeedRng) -> Option<CellId> {
        while !self.cells.is_empty() {
            let j = rng.random_range(0..self.cells.len());
            let cell = self.cells.swap_remove(j);
            if !oracle.is_queried(cell) {
                return Some(cell);
            }
        }
        None
    }
}

/// The error of a search that still has budget but no queryable cell (impossible while the
/// oracle refuses budgets larger than the number of cells with a value; kept as a guard
/// against an endless loop).
pub(crate) fn exhausted(method: &str, oracle: &SearchOracle) -> anyhow::Error {
    anyhow::anyhow!(
        "{method}: no unqueried cell with a value is left but {} of {} queries remain",
        oracle.remaining(),
        oracle.budget()
    )
}
