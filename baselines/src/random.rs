//! Random search: cells drawn uniformly without replacement among those with a value of the
//! search metric, one charged query each, until the budget is spent.
//!
//! Iteration labels: the q-th charged query (0-based) is labelled `q / 10`
//! ([`crate::ITERATION_BLOCK`]), so its per-iteration rows line up with WeakNAS's.

use crate::util::{exhausted, query_new_many, UnqueriedPool};
use crate::ITERATION_BLOCK;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use weaknas_harness::searcher::{parse_params, BuildInfo, SearchContext, Searcher};

/// Method kind in specs.
pub const KIND: &str = "random";

/// Random search has no parameters; any key is rejected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomConfig {}

/// Random search without replacement.
#[derive(Clone, Debug, Default)]
pub struct RandomSearch {
    config: RandomConfig,
}

impl RandomSearch {
    /// A random search with this configuration.
    pub fn new(config: RandomConfig) -> Self {
        Self { config }
    }
    /// Its configuration.
    pub fn config(&self) -> &RandomConfig {
        &self.config
    }
}

impl Searcher for RandomSearch {
    fn run(&mut self, ctx: &mut SearchContext<'_>) -> Result<()> {
        let mut pool = UnqueriedPool::new(ctx.oracle);
        // A block of draws at a time, evaluated together (concurrently by an open-domain
        // evaluator); the same cells and labels as querying one by one.
        while ctx.oracle.remaining() > 0 {
            let n = ctx.oracle.remaining().min(ITERATION_BLOCK);
            let mut block = Vec::with_capacity(n);
            for _ in 0..n {
                let Some(cell) = pool.draw(ctx.oracle, ctx.rng) else {
                    return Err(exhausted(KIND, ctx.oracle));
                };
                block.push(cell);
            }
            query_new_many(ctx, &block)?;
        }
        Ok(())
    }
}

/// Builds random search from its (empty) parameter table.
pub fn build(params: &toml::Table, _info: &BuildInfo) -> Result<Box<dyn Searcher>> {
    let config: RandomConfig = parse_params(KIND, params)?;
    Ok(Box::new(RandomSearch::new(config)))
}
