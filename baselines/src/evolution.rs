//! Regularized evolution (Real et al., AAAI 2019, "Regularized Evolution for Image Classifier
//! Architecture Search"), as a query-budget NAS method.
//!
//! 1. Fill the population with `population_size` cells drawn uniformly without replacement.
//! 2. Until the budget is spent: draw `sample_size` members uniformly *with* replacement (as in
//!    Real et al.'s reference notebook and NASLib), mutate the tournament's best (one
//!    [`SearchSpace::mutate`] step), query the child, append it, remove the oldest member.
//!
//! Duplicate children (`duplicates`):
//! - `"charge"` (default, NASLib's `RegularizedEvolution`, `naslib/optimizers/discrete/re/
//!   optimizer.py`): the child is queried whatever it is; a child that was queried before is
//!   queried again and charged one query (a re-evaluation of a known cell: the same value
//!   under the `mean` noise model), and joins the population like any child.
//! - `"re-mutate"` (this harness's earlier rule, kept as a labelled option): a child that was
//!   already queried is discarded and the *same parent* is mutated again, up to
//!   `mutation_tries` times; if every try fails the child is a cell drawn uniformly among the
//!   unqueried ones, so the search never repeats a query.
//!
//! Under both rules a child without a value in the store (possible on NAS-Bench-101) is never
//! queried: the parent is mutated again (up to `mutation_tries`, then a uniform unqueried cell).
//! The initial population is drawn without replacement (NASLib samples it independently; on
//! NAS-Bench-201 a repeat among 30 draws of 15,625 cells has probability 2.8%).
//!
//! Defaults: NASLib's black-box NAS configuration (`automl/NASLib`,
//! `scripts/bbo/discrete_config.yaml`, also `naslib/benchmarks/nas_predictors/discrete_config.yaml`):
//! `population_size = 30`, `sample_size = 10` — the same values as naszilla's
//! `evolution_search` (BANANAS / local-search papers of White et al.). NAS-Bench-201's own
//! `R_EA.py` scripts use population 10, sample 3; set them in a spec to reproduce that.
//!
//! Iteration labels: the q-th charged query (0-based) is labelled `q / 10`.
//!
//! [`SearchSpace::mutate`]: weaknas_harness::space::SearchSpace::mutate

use crate::util::{exhausted, query_new, query_new_many, query_repeat_charged, UnqueriedPool};
use anyhow::{bail, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use weaknas_harness::searcher::{parse_params, BuildInfo, SearchContext, Searcher};
use weaknas_harness::space::CellId;

/// Method kind in specs.
pub const KIND: &str = "evolution";

/// Regularized-evolution settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvolutionConfig {
    /// Population size P (NASLib default 30).
    pub population_size: usize,
    /// Tournament sample size S (NASLib default 10), drawn with replacement.
    pub sample_size: usize,
    /// Mutations of the parent tried before falling back to a uniform unqueried cell when the
    /// child has no value (or, under `re-mutate`, was already queried) (default 100).
    pub mutation_tries: usize,
    /// What a child that was already queried costs (default `charge`, as NASLib).
    pub duplicates: Duplicates,
}

/// How regularized evolution treats a child that was already queried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Duplicates {
    /// Query it again and charge one query (NASLib's rule).
    #[default]
    Charge,
    /// Mutate the parent again until the child is new (never repeats a query).
    ReMutate,
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        Self {
            population_size: 30,
            sample_size: 10,
            mutation_tries: 100,
            duplicates: Duplicates::Charge,
        }
    }
}

/// Regularized evolution (aging evolution).
#[derive(Clone, Debug)]
pub struct RegularizedEvolution {
    config: EvolutionConfig,
}

impl RegularizedEvolution {
    /// Regularized evolution with this configuration; errors on a zero size.
    pub fn new(config: EvolutionConfig) -> Result<Self> {
        if config.population_size == 0 || config.sample_size == 0 || config.mutation_tries == 0 {
            bail!(
                "invalid parameters for method {KIND:?}: population_size, sample_size and \
                 mutation_tries must be at least 1 (got {}, {}, {})",
                config.population_size,
                config.sample_size,
                config.mutation_tries
            );
        }
        Ok(Self { config })
    }
    /// Its configuration.
    pub fn config(&self) -> &EvolutionConfig {
        &self.config
    }

    /// The child of `parent`: a mutation with a value (and, under `re-mutate`, new), else a
    /// uniform unqueried cell.
    fn child(
        &self,
        ctx: &mut SearchContext<'_>,
        parent: CellId,
        pool: &mut UnqueriedPool,
    ) -> Result<CellId> {
        let allow_repeat = self.config.duplicates == Duplicates::Charge;
        for _ in 0..self.config.mutation_tries {
            let c = ctx.space.mutate(parent, ctx.rng);
            if ctx.oracle.has_value(c) && (allow_repeat || !ctx.oracle.is_queried(c)) {
                return Ok(c);
            }
        }
        pool.draw(ctx.oracle, ctx.rng)
            .ok_or_else(|| exhausted(KIND, ctx.oracle))
    }
}

impl Searcher for RegularizedEvolution {
    fn run(&mut self, ctx: &mut SearchContext<'_>) -> Result<()> {
        let p = self.config.population_size;
        let mut pool = UnqueriedPool::new(ctx.oracle);
        let mut population: VecDeque<(CellId, f64)> = VecDeque::with_capacity(p + 1);
        // The initial population is drawn and evaluated as a batch (concurrently by an
        // open-domain evaluator); failed evaluations are charged and replaced.
        while population.len() < p && ctx.oracle.remaining() > 0 {
            let want = (p - population.len()).min(ctx.oracle.remaining());
            let mut batch = Vec::with_capacity(want);
            for _ in 0..want {
                batch.push(
                    pool.draw(ctx.oracle, ctx.rng)
                        .ok_or_else(|| exhausted(KIND, ctx.oracle))?,
                );
            }
            for (c, v) in batch.iter().zip(query_new_many(ctx, &batch)?) {
                if let Some(v) = v {
                    population.push_back((*c, v));
                }
            }
        }
        if population.is_empty() {
            bail!("{KIND}: every evaluation of the initial population failed");
        }
        while ctx.oracle.remaining() > 0 {
            let mut parent = population[ctx.rng.random_range(0..population.len())];
            for _ in 1..self.config.sample_size {
                let cand = population[ctx.rng.random_range(0..population.len())];
                if cand.1 > parent.1 {
                    parent = cand;
                }
            }
            let child = self.child(ctx, parent.0, &mut pool)?;
            let value = if ctx.oracle.is_queried(child) {
                query_repeat_charged(ctx, child)?
            } else {
                query_new(ctx, child)?
            };
            let Some(v) = value else {
                // A failed evaluation (charged): the child does not join the population.
                continue;
            };
            population.push_back((child, v));
            if population.len() > p {
                population.pop_front();
            }
        }
        Ok(())
    }
}

/// Builds regularized evolution from its parameter table.
pub fn build(params: &toml::Table, _info: &BuildInfo) -> Result<Box<dyn Searcher>> {
    let config: EvolutionConfig = parse_params(KIND, params)?;
    Ok(Box::new(RegularizedEvolution::new(config)?))
}
