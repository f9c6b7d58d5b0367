//! Open-domain benchmarks: a NASNet/DARTS candidate pool evaluated by a user command.
//!
//! A spec entry with an `[benchmark.evaluator]` table is open-domain:
//!
//! ```toml
//! [[benchmark]]
//! benchmark = "darts"                  # or "nasnet"
//! dataset = "digits"                   # label in tables
//! search = "valid_accuracy"            # result-JSON field the searcher sees
//! report = "test_accuracy"             # result-JSON field the runner records
//! pool = { size = 5000, encoding = "onehot", seed = 0 }
//! evaluator = { command = "weaknas-digits-eval --genotype {genotype} --out {result} --seed {seed}", concurrency = 2, timeout_s = 600, retries = 1, cost = "train_seconds" }
//! ```
//!
//! The searchable space is a pool of `size` distinct genotypes drawn uniformly once per entry
//! (from `pool.seed`, the same for every method and seed, as a tabular benchmark's cells
//! are); mutation and neighbourhoods are the pool's ([`GenotypePool`]). Evaluations are
//! journaled under `<out>/evaluations/<benchmark>-<dataset>/`.

use crate::evaluator::command::{CandidateSource, CommandConfig};
use crate::space::cells::{CellEncoding, CellVariant, GenotypePool};
use crate::space::CellId;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

fn default_size() -> usize {
    10_000
}

/// The candidate pool of an open-domain entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Distinct genotypes in the pool.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Predictor encoding (`onehot` or `adjacency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<CellEncoding>,
    /// Seed of the pool draw.
    #[serde(default)]
    pub seed: u64,
}

impl Default for PoolSpec {
    fn default() -> Self {
        Self {
            size: default_size(),
            encoding: None,
            seed: 0,
        }
    }
}

/// The variant of an open-domain benchmark name.
pub fn variant_of(benchmark: &str) -> Result<CellVariant> {
    match benchmark {
        "nasnet" => Ok(CellVariant::Nasnet),
        "darts" => Ok(CellVariant::Darts),
        other => bail!(
            "benchmark {other:?} has an [evaluator] table, but open-domain search exists only \
             for the cell spaces \"nasnet\" and \"darts\""
        ),
    }
}

/// Draws the pool of an entry (deterministic in the pool spec).
pub fn build_pool(benchmark: &str, pool: &PoolSpec) -> Result<GenotypePool> {
    let variant = variant_of(benchmark)?;
    let encoding = pool.encoding.unwrap_or(CellEncoding::OneHot);
    let mut rng = crate::rng::stream(&format!("pool/{benchmark}"), pool.seed, "pool");
    GenotypePool::sample(variant, encoding, pool.size, &mut rng)
}

/// Content checksum of an open-domain entry (part of every run id): the pool and everything
/// of the evaluator that can change a result.
pub fn checksum(benchmark: &str, pool: &PoolSpec, eval: &CommandConfig) -> String {
    let v = serde_json::json!({
        "benchmark": benchmark,
        "pool": pool,
        "command": eval.command,
        "cwd": eval.cwd,
        "env": eval.env,
        "timeout_s": eval.timeout_s,
        "retries": eval.retries,
        "cost": eval.cost,
    });
    format!(
        "open-{}",
        hex::encode(Sha256::digest(v.to_string().as_bytes()))
    )
}

/// A [`GenotypePool`] as the command evaluator's candidate source.
pub struct PoolCandidates(pub Arc<GenotypePool>);

impl CandidateSource for PoolCandidates {
    fn space_name(&self) -> &str {
        self.0.variant().name()
    }
    fn num_candidates(&self) -> usize {
        crate::space::SearchSpace::num_cells(self.0.as_ref())
    }
    fn text(&self, cell: CellId) -> String {
        self.0.genotype(cell).to_string()
    }
    fn json(&self, cell: CellId) -> serde_json::Value {
        self.0.genotype(cell).to_json_value()
    }
}
