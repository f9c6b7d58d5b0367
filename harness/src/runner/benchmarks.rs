//! Loading benchmarks for a spec: store, checksum, space and feature matrix, once each.

use crate::matrix::Matrix;
use crate::nb101::synthetic::{synthetic_store, SYNTHETIC_BENCHMARK};
use crate::nb101::Nb101Space;
use crate::space::nb201::Nb201Space;
use crate::space::SearchSpace;
use crate::store::{load_store, BenchmarkStore, Manifest};
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A benchmark ready for runs.
pub struct LoadedBenchmark {
    /// The store.
    pub store: Arc<BenchmarkStore>,
    /// sha256 of the store (part of every run id).
    pub sha256: String,
    /// The space.
    pub space: Arc<dyn SearchSpace>,
    /// Feature matrix of the whole space.
    pub features: Arc<Matrix>,
    /// Open-domain benchmarks: the candidate pool (the space) and the evaluator command.
    pub open: Option<OpenDomain>,
}

/// What an open-domain benchmark adds: its pool and command.
pub struct OpenDomain {
    /// The candidate pool (also `space`).
    pub pool: Arc<crate::space::cells::GenotypePool>,
    /// The command that trains a candidate.
    pub evaluator: crate::evaluator::command::CommandConfig,
}

impl LoadedBenchmark {
    /// Wraps a store and a space (features computed here).
    pub fn new(store: BenchmarkStore, sha256: String, space: Arc<dyn SearchSpace>) -> Result<Self> {
        if store.num_cells != space.num_cells() {
            bail!(
                "store {} has {} cells but space {} has {}",
                store.benchmark,
                store.num_cells,
                space.name(),
                space.num_cells()
            );
        }
        let features = Arc::new(space.features());
        Ok(Self {
            store: Arc::new(store),
            sha256,
            space,
            features,
            open: None,
        })
    }

    /// An open-domain benchmark: its pool, drawn from the entry, and its command.
    pub fn open_domain(entry: &super::spec::BenchmarkEntry) -> Result<Self> {
        use super::open_domain::{build_pool, checksum};
        let Some(evaluator) = entry.evaluator.clone() else {
            bail!("benchmark {} has no evaluator", entry.benchmark);
        };
        let pool_spec = entry.pool.clone().unwrap_or_default();
        let pool = Arc::new(build_pool(&entry.benchmark, &pool_spec)?);
        let sha = checksum(&entry.benchmark, &pool_spec, &evaluator);
        // No stored metric: values come from the command (an empty store of the pool's size).
        let store = BenchmarkStore::new(&entry.benchmark, SearchSpace::num_cells(pool.as_ref()));
        let space: Arc<dyn SearchSpace> = pool.clone();
        let mut b = Self::new(store, sha, space)?;
        b.open = Some(OpenDomain { pool, evaluator });
        Ok(b)
    }
}

/// The benchmarks of a spec, by name.
#[derive(Default)]
pub struct BenchmarkSet {
    map: BTreeMap<String, Arc<LoadedBenchmark>>,
}

/// The space of a benchmark name (`nb201`, `nb101`, `nb101-synthetic`). The NB101 space is
/// enumerated once and cached under `$WEAKNAS_HOME/cache`.
pub fn space_for(benchmark: &str) -> Result<Arc<dyn SearchSpace>> {
    match benchmark {
        "nb201" => Ok(Arc::new(Nb201Space)),
        "nb101" | SYNTHETIC_BENCHMARK => Ok(Arc::new(Nb101Space::load_or_build()?)),
        other => bail!("unknown benchmark {other:?}; known: nb201, nb101, {SYNTHETIC_BENCHMARK}"),
    }
}

impl BenchmarkSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a loaded benchmark under a name.
    pub fn insert(&mut self, name: &str, b: LoadedBenchmark) {
        self.map.insert(name.to_string(), Arc::new(b));
    }
    /// Loads a benchmark's store from `dir` (default `$WEAKNAS_HOME/stores/<name>`).
    pub fn load(&mut self, name: &str, dir: Option<&Path>) -> Result<()> {
        if self.map.contains_key(name) {
            return Ok(());
        }
        let dir: PathBuf = dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| crate::home::store_dir(name));
        if name == SYNTHETIC_BENCHMARK && !dir.join("manifest.json").exists() {
            // The synthetic NB101 benchmark (named synthetic everywhere) is generated, not imported.
            let space = Nb101Space::load_or_build()?;
            let store = synthetic_store(&space, 0);
            let sha = format!("synthetic-seed0-v{}", crate::HARNESS_VERSION);
            let loaded = LoadedBenchmark::new(store, sha, Arc::new(space))?;
            self.insert(name, loaded);
            return Ok(());
        }
        let manifest = Manifest::load(&dir)?;
        let store = load_store(&dir)?;
        let loaded = LoadedBenchmark::new(store, manifest.store_sha256, space_for(name)?)?;
        self.insert(name, loaded);
        Ok(())
    }
    /// Loads every benchmark a spec names.
    pub fn for_spec(spec: &super::Spec) -> Result<Self> {
        let mut s = Self::new();
        for b in &spec.benchmarks {
            if b.is_open_domain() {
                if !s.map.contains_key(&b.key()) {
                    let loaded = LoadedBenchmark::open_domain(b)?;
                    s.insert(&b.key(), loaded);
                }
            } else {
                s.load(&b.benchmark, b.store.as_deref())?;
            }
        }
        Ok(s)
    }
    /// A loaded benchmark.
    pub fn get(&self, name: &str) -> Result<&Arc<LoadedBenchmark>> {
        match self.map.get(name) {
            Some(b) => Ok(b),
            None => bail!("benchmark {name:?} is not loaded"),
        }
    }
}
