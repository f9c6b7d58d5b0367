//! Benchmark stores: every metric of every cell of a tabular benchmark, per trial, in one
//! compact file with a manifest.
//!
//! Format (`store.bin`, little endian): magic `WNSTORE1`, `u64` header length, a JSON
//! [`StoreHeader`], zero padding to a multiple of 8, then for each column `num_cells * trials`
//! f64 values (cell-major, NaN = missing trial), then, if present, `num_cells` u32 official
//! indices. Beside it `manifest.json` ([`Manifest`]) records the source files with their
//! sha256, the row count and the store's own sha256. A custom format keeps the core free of
//! Arrow/polars (the `results` crate exports stores to Parquet/CSV) and loads by one read
//! (see the `store_load` criterion benchmark).
//!
//! Metric keys: accuracies are `dataset/split@epochs` (e.g. `cifar10-valid/x-valid@200`);
//! other per-cell quantities are `dataset/name` (e.g. `cifar10-valid/params_mb`).

mod format;
pub mod import;
mod manifest;

pub use format::{load_store, save_store, StoreHeader, MAGIC};
pub use manifest::{Manifest, SourceFile};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// One metric of every cell, with one value per trial (NaN where a trial is missing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Metric key, e.g. `cifar10-valid/x-valid@200`.
    pub key: String,
    /// Trials per cell (1 for a metric with a single value per cell).
    pub trials: usize,
    /// `num_cells * trials` values, cell-major; NaN = missing.
    #[serde(skip)]
    pub values: Vec<f64>,
}

impl Column {
    /// A column of all-missing values.
    pub fn missing(key: &str, num_cells: usize, trials: usize) -> Self {
        Self {
            key: key.to_string(),
            trials,
            values: vec![f64::NAN; num_cells * trials],
        }
    }
    /// The trial values of one cell (NaN = missing).
    pub fn cell(&self, cell: usize) -> &[f64] {
        &self.values[cell * self.trials..(cell + 1) * self.trials]
    }
    /// Mutable trial values of one cell.
    pub fn cell_mut(&mut self, cell: usize) -> &mut [f64] {
        &mut self.values[cell * self.trials..(cell + 1) * self.trials]
    }
    /// Mean over the cell's present trials (NaN if none).
    pub fn mean(&self, cell: usize) -> f64 {
        let (s, n) = self
            .cell(cell)
            .iter()
            .filter(|v| !v.is_nan())
            .fold((0.0, 0), |(s, n), v| (s + v, n + 1));
        if n == 0 {
            f64::NAN
        } else {
            s / n as f64
        }
    }
    /// Means of every cell.
    pub fn means(&self) -> Vec<f64> {
        (0..self.values.len() / self.trials.max(1))
            .map(|c| self.mean(c))
            .collect()
    }
    /// Number of present trials of a cell.
    pub fn present(&self, cell: usize) -> usize {
        self.cell(cell).iter().filter(|v| !v.is_nan()).count()
    }
}

/// A tabular benchmark: every column of every cell, plus the official index when known.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchmarkStore {
    /// Benchmark name (`nb201`, `nb101`, or a synthetic one, named as such).
    pub benchmark: String,
    /// Number of cells (ids `0..num_cells` of the benchmark's space).
    pub num_cells: usize,
    /// The metric columns, sorted by key.
    pub columns: Vec<Column>,
    /// Official index of each cell in the benchmark's own file, when an importer knew it.
    pub official_index: Option<Vec<u32>>,
}

impl BenchmarkStore {
    /// An empty store for `num_cells` cells.
    pub fn new(benchmark: &str, num_cells: usize) -> Self {
        Self {
            benchmark: benchmark.to_string(),
            num_cells,
            columns: Vec::new(),
            official_index: None,
        }
    }
    /// The column with this key.
    pub fn column(&self, key: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.key == key)
    }
    /// The keys of all columns.
    pub fn keys(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.key.as_str()).collect()
    }
    /// The column with this key, or an error that lists every key the store has.
    pub fn require(&self, key: &str) -> Result<&Column> {
        match self.column(key) {
            Some(c) => Ok(c),
            None => bail!(
                "the {} store has no metric {key:?}; it has: {}",
                self.benchmark,
                self.keys().join(", ")
            ),
        }
    }
    /// Adds a column (keeping columns sorted by key); errors if the key exists or sizes differ.
    pub fn add_column(&mut self, col: Column) -> Result<()> {
        if col.values.len() != self.num_cells * col.trials {
            bail!(
                "column {} has {} values, expected {} x {}",
                col.key,
                col.values.len(),
                self.num_cells,
                col.trials
            );
        }
        if self.column(&col.key).is_some() {
            bail!("column {} already exists", col.key);
        }
        self.columns.push(col);
        self.columns.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(())
    }
    /// Merges `other` into `self`. Where both have a value they must agree (relative
    /// tolerance `tol`); missing values are filled from the other store; trial counts must
    /// match (`store::import::merge_stores` reconciles a 1-trial mean with a per-trial column).
    pub fn merge(&mut self, other: &BenchmarkStore, tol: f64) -> Result<()> {
        if self.benchmark != other.benchmark || self.num_cells != other.num_cells {
            bail!(
                "cannot merge store {} ({} cells) into {} ({} cells)",
                other.benchmark,
                other.num_cells,
                self.benchmark,
                self.num_cells
            );
        }
        let close = |a: f64, b: f64| (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0);
        for oc in &other.columns {
            match self.columns.iter_mut().find(|c| c.key == oc.key) {
                None => self.columns.push(oc.clone()),
                Some(c) if c.trials == oc.trials => {
                    for (i, (a, b)) in c.values.iter_mut().zip(&oc.values).enumerate() {
                        if a.is_nan() {
                            *a = *b;
                        } else if !b.is_nan() && !close(*a, *b) {
                            bail!(
                                "stores disagree on {} for cell {} trial {}: {} vs {}",
                                c.key,
                                i / c.trials,
                                i % c.trials,
                                a,
                                b
                            );
                        }
                    }
                }
                Some(c) => bail!(
                    "stores disagree on the trial count of {}: {} vs {}",
                    c.key,
                    c.trials,
                    oc.trials
                ),
            }
        }
        self.columns.sort_by(|a, b| a.key.cmp(&b.key));
        match (&self.official_index, &other.official_index) {
            (None, Some(o)) => self.official_index = Some(o.clone()),
            (Some(a), Some(b)) if a != b => bail!("stores disagree on the official index order"),
            _ => {}
        }
        Ok(())
    }
}

/// A parsed accuracy metric key `dataset/split@epochs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricKey {
    /// Dataset, e.g. `cifar10-valid`.
    pub dataset: String,
    /// Split, e.g. `x-valid`.
    pub split: String,
    /// Training epochs, e.g. 200.
    pub epochs: u32,
}

impl MetricKey {
    /// Parses `dataset/split@epochs`; `None` for keys of another shape.
    pub fn parse(key: &str) -> Option<Self> {
        let (dataset, rest) = key.split_once('/')?;
        let (split, epochs) = rest.split_once('@')?;
        Some(Self {
            dataset: dataset.into(),
            split: split.into(),
            epochs: epochs.parse().ok()?,
        })
    }
}

impl std::fmt::Display for MetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}@{}", self.dataset, self.split, self.epochs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> BenchmarkStore {
        let mut s = BenchmarkStore::new("synthetic-test", 3);
        let mut c = Column::missing("d/x-valid@200", 3, 2);
        c.values = vec![1.0, 3.0, 5.0, f64::NAN, f64::NAN, f64::NAN];
        s.add_column(c).unwrap();
        s
    }

    #[test]
    fn means_skip_missing_trials() {
        let s = small();
        let c = s.column("d/x-valid@200").unwrap();
        assert_eq!(c.mean(0), 2.0);
        assert_eq!(c.mean(1), 5.0);
        assert!(c.mean(2).is_nan());
        assert_eq!(c.present(1), 1);
    }

    #[test]
    fn require_lists_available_keys() {
        let e = small().require("d/x-test@200").unwrap_err().to_string();
        assert!(e.contains("d/x-valid@200"), "{e}");
    }

    #[test]
    fn merge_fills_and_detects_disagreement() {
        let mut a = small();
        let mut b = small();
        b.columns[0].values[5] = 7.0;
        a.merge(&b, 1e-9).unwrap();
        assert_eq!(a.columns[0].values[5], 7.0);
        b.columns[0].values[0] = 1.5;
        assert!(a
            .merge(&b, 1e-9)
            .unwrap_err()
            .to_string()
            .contains("disagree"));
    }

    #[test]
    fn metric_key_parses() {
        let k = MetricKey::parse("cifar10-valid/x-valid@200").unwrap();
        assert_eq!(k.dataset, "cifar10-valid");
        assert_eq!(k.epochs, 200);
        assert_eq!(k.to_string(), "cifar10-valid/x-valid@200");
        assert!(MetricKey::parse("cifar10-valid/params_mb").is_none());
    }
}
