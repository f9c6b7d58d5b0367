//! Local search (White, Nolen, Ramasubramanian & Savani, UAI 2021, "Exploring the loss
//! landscape in neural architecture search", first circulated as "Local search is state of the
//! art for NAS benchmarks"), following their code (naszilla, `local_search` in
//! `nas_algorithms.py`) with its defaults:
//!
//! 1. Draw `num_init` cells uniformly among the unqueried ones (default 10, naszilla's
//!    `DEFAULT_NUM_INIT`; NASLib's `num_init` is also 10) and query them; start from the best.
//! 2. Query the current cell's neighbours ([`SearchSpace::neighbours`], every single-edge
//!    change) in a random order, skipping those already queried or without a value.
//!    - `query_full_nbhd = false` (naszilla's default, first improvement): move to the first
//!      neighbour better than the current cell;
//!    - `query_full_nbhd = true` (NASLib's behaviour, best improvement): query the whole
//!      neighbourhood and move to its best cell if it beats the current one.
//! 3. No improving neighbour = a local optimum: restart at step 1 (naszilla's
//!    `stop_at_minimum = True` run in a loop until the budget is spent).
//!
//! As in naszilla, an already queried neighbour is never re-queried nor moved to, even if it is
//! better (it was reached before; moving there would revisit a searched region). Hence the
//! search never repeats a query.
//!
//! Iteration labels: the q-th charged query (0-based) is labelled `q / 10`.
//!
//! [`SearchSpace::neighbours`]: weaknas_harness::space::SearchSpace::neighbours

use crate::util::{exhausted, query_new, UnqueriedPool};
use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use weaknas_harness::searcher::{parse_params, BuildInfo, SearchContext, Searcher};
use weaknas_harness::space::CellId;

/// Method kind in specs.
pub const KIND: &str = "local-search";

/// Local-search settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalSearchConfig {
    /// Uniform samples at each (re)start; the search starts from their best (default 10).
    pub num_init: usize,
    /// Query the whole neighbourhood and move to its best (true), or move to the first
    /// improving neighbour (false, default).
    pub query_full_nbhd: bool,
}

impl Default for LocalSearchConfig {
    fn default() -> Self {
        Self {
            num_init: 10,
            query_full_nbhd: false,
        }
    }
}

/// Local search with random restarts.
#[derive(Clone, Debug)]
pub struct LocalSearch {
    config: LocalSearchConfig,
}

/// What one hill-climbing step found.
enum Step {
    /// Moved to a better cell.
    Moved(CellId, f64),
    /// Local optimum: no new neighbour is better.
    Optimum,
    /// The budget ran out during the step.
    Spent,
}

impl LocalSearch {
    /// Local search with this configuration; errors if `num_init` is 0.
    pub fn new(config: LocalSearchConfig) -> Result<Self> {
        if config.num_init == 0 {
            bail!("invalid parameters for method {KIND:?}: num_init must be at least 1");
        }
        Ok(Self { config })
    }
    /// Its configuration.
    pub fn config(&self) -> &LocalSearchConfig {
        &self.config
    }

    /// Queries up to `num_init` uniform unqueried cells; the best of them, if any.
    fn start(
        &self,
        ctx: &mut SearchContext<'_>,
        pool: &mut UnqueriedPool,
    ) -> Result<Option<(CellId, f64)>> {
        let mut best: Option<(CellId, f64)> = None;
        for _ in 0..self.config.num_init {
            if ctx.oracle.remaining() == 0 {
                break;
            }
            let cell = pool
                .draw(ctx.oracle, ctx.rng)
                .ok_or_else(|| exhausted(KIND, ctx.oracle))?;
            if let Some(v) = query_new(ctx, cell)? {
                if best.is_none_or(|(_, b)| v > b) {
                    best = Some((cell, v));
                }
            }
        }
        Ok(best)
    }

    /// Queries the new neighbours of `current` in random order (see the module doc).
    fn step(&self, ctx: &mut SearchContext<'_>, current: (CellId, f64)) -> Result<Step> {
        let mut nbhd = ctx.space.neighbours(current.0);
        nbhd.shuffle(ctx.rng);
        let mut best: Option<(CellId, f64)> = None;
        for n in nbhd {
            if ctx.oracle.remaining() == 0 {
                return Ok(Step::Spent);
            }
            let Some(v) = query_new(ctx, n)? else {
                continue;
            };
            if v > current.1 && best.is_none_or(|(_, b)| v > b) {
                best = Some((n, v));
                if !self.config.query_full_nbhd {
                    break;
                }
            }
        }
        Ok(match best {
            Some((c, v)) => Step::Moved(c, v),
            None if ctx.oracle.remaining() == 0 => Step::Spent,
            None => Step::Optimum,
        })
    }
}

impl Searcher for LocalSearch {
    fn run(&mut self, ctx: &mut SearchContext<'_>) -> Result<()> {
        let mut pool = UnqueriedPool::new(ctx.oracle);
        while ctx.oracle.remaining() > 0 {
            let Some(mut current) = self.start(ctx, &mut pool)? else {
                break;
            };
            loop {
                match self.step(ctx, current)? {
                    Step::Moved(c, v) => current = (c, v),
                    Step::Optimum => break,
                    Step::Spent => return Ok(()),
                }
            }
        }
        Ok(())
    }
}

/// Builds local search from its parameter table.
pub fn build(params: &toml::Table, _info: &BuildInfo) -> Result<Box<dyn Searcher>> {
    let config: LocalSearchConfig = parse_params(KIND, params)?;
    Ok(Box::new(LocalSearch::new(config)?))
}
