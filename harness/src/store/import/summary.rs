//! Checking a store directory and summarising its metrics (`weaknas data verify`).

use super::expected_cells;
use crate::space::nb201::Nb201Cell;
use crate::store::{load_store, BenchmarkStore, Column, Manifest, MetricKey};
use anyhow::{bail, Result};
use std::fmt::Write as _;
use std::path::Path;

/// Summary of one metric over the space.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSummary {
    /// Metric key.
    pub key: String,
    /// Trials per cell.
    pub trials: usize,
    /// Cells with at least one trial.
    pub cells_with_values: usize,
    /// Whether larger is better (accuracies `dataset/split@epochs`); costs: smaller is better.
    pub higher_is_better: bool,
    /// The best cell by its mean over trials (ties: the lowest official index, else cell id).
    pub best_cell: Option<u32>,
    /// Mean over trials of the best cell.
    pub best_value: f64,
    /// Official index of the best cell, when the store knows it.
    pub best_official_index: Option<u32>,
    /// Description of the best cell (the arch string for NB201).
    pub best_arch: Option<String>,
    /// Mean over the cells with values of the per-cell means.
    pub space_mean: f64,
}

/// Summarises one column of `store`.
pub fn summarize_column(store: &BenchmarkStore, col: &Column) -> MetricSummary {
    let higher = MetricKey::parse(&col.key).is_some();
    let means = col.means();
    let official = store.official_index.as_deref();
    let tie_key = |c: usize| official.map_or(c as u64, |o| o[c] as u64);
    let mut best: Option<usize> = None;
    let (mut sum, mut n) = (0.0, 0usize);
    for (c, &m) in means.iter().enumerate() {
        if m.is_nan() {
            continue;
        }
        sum += m;
        n += 1;
        best = match best {
            None => Some(c),
            Some(b) => {
                let better = if higher { m > means[b] } else { m < means[b] };
                if better || (m == means[b] && tie_key(c) < tie_key(b)) {
                    Some(c)
                } else {
                    Some(b)
                }
            }
        };
    }
    MetricSummary {
        key: col.key.clone(),
        trials: col.trials,
        cells_with_values: n,
        higher_is_better: higher,
        best_cell: best.map(|b| b as u32),
        best_value: best.map_or(f64::NAN, |b| means[b]),
        best_official_index: best.and_then(|b| official.map(|o| o[b])),
        best_arch: best
            .filter(|_| store.benchmark == super::NB201)
            .map(|b| Nb201Cell::from_id(b as u32).arch_str()),
        space_mean: if n == 0 { f64::NAN } else { sum / n as f64 },
    }
}

/// The result of [`verify_dir`].
#[derive(Clone, Debug)]
pub struct StoreReport {
    /// The manifest (checked).
    pub manifest: Manifest,
    /// Number of rows (cells) of the store.
    pub num_cells: usize,
    /// One summary per metric, in key order.
    pub metrics: Vec<MetricSummary>,
}

/// Checks the store in `dir`: both files present, `store.bin` matching the manifest's size and
/// sha256, the benchmark being `benchmark` (if given) with its full row count (NB201: 15,625);
/// then summarises every metric.
pub fn verify_dir(dir: &Path, benchmark: Option<&str>) -> Result<StoreReport> {
    for f in ["manifest.json", "store.bin"] {
        if !dir.join(f).is_file() {
            bail!(
                "missing file {} (build the store with `weaknas data fetch nb201` or `weaknas data import ...`)",
                dir.join(f).display()
            );
        }
    }
    let manifest = Manifest::load(dir)?;
    manifest.verify(dir)?;
    let store = load_store(dir)?;
    if let Some(b) = benchmark {
        if store.benchmark != b {
            bail!(
                "{}: a {} store, not {b}",
                dir.join("store.bin").display(),
                store.benchmark
            );
        }
    }
    if let Some(n) = expected_cells(&store.benchmark) {
        if store.num_cells != n {
            bail!(
                "{}: wrong row count: {} cells, {} has {n}",
                dir.join("store.bin").display(),
                store.num_cells,
                store.benchmark
            );
        }
    }
    if let Some(idx) = &store.official_index {
        if idx.len() != store.num_cells {
            bail!(
                "official index has {} entries for {} cells",
                idx.len(),
                store.num_cells
            );
        }
    }
    let metrics = store
        .columns
        .iter()
        .map(|c| summarize_column(&store, c))
        .collect();
    Ok(StoreReport {
        manifest,
        num_cells: store.num_cells,
        metrics,
    })
}

impl StoreReport {
    /// A plain-text report (what `weaknas data verify` prints).
    pub fn render(&self, dir: &Path) -> String {
        let m = &self.manifest;
        let mut s = String::new();
        let _ = writeln!(s, "store: {}", dir.display());
        let _ = writeln!(s, "benchmark: {}", m.benchmark);
        let _ = writeln!(s, "rows: {}", self.num_cells);
        let _ = writeln!(
            s,
            "store.bin: {} bytes, sha256 {} (checksum ok)",
            m.store_bytes, m.store_sha256
        );
        let _ = writeln!(
            s,
            "official index: {}",
            if m.has_official_index {
                "known"
            } else {
                "unknown"
            }
        );
        let _ = writeln!(s, "sources:");
        for src in &m.sources {
            let _ = writeln!(
                s,
                "  [{}] {} ({} bytes, sha256 {})",
                src.importer, src.path, src.bytes, src.sha256
            );
        }
        let _ = writeln!(
            s,
            "{:<36} {:>6} {:>6} {:>5} {:>14} {:>14} {:>8}  best cell",
            "metric", "trials", "cells", "best", "value", "space mean", "official"
        );
        for x in &self.metrics {
            let fmt = |v: f64| {
                if x.higher_is_better {
                    format!("{v:.4}")
                } else {
                    format!("{v:.6}")
                }
            };
            let _ = writeln!(
                s,
                "{:<36} {:>6} {:>6} {:>5} {:>14} {:>14} {:>8}  {}",
                x.key,
                x.trials,
                x.cells_with_values,
                if x.higher_is_better { "max" } else { "min" },
                fmt(x.best_value),
                fmt(x.space_mean),
                x.best_official_index
                    .map_or("-".to_string(), |i| i.to_string()),
                x.best_arch
                    .clone()
                    .or(x.best_cell.map(|c| format!("cell {c}")))
                    .unwrap_or_else(|| "-".into())
            );
        }
        let partial: Vec<&str> = self
            .metrics
            .iter()
            .filter(|x| x.cells_with_values < self.num_cells)
            .map(|x| x.key.as_str())
            .collect();
        if !partial.is_empty() {
            let _ = writeln!(
                s,
                "note: {} metric(s) lack values for some cells: {}",
                partial.len(),
                partial.join(", ")
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::save_store;

    #[test]
    fn verify_checks_rows_checksum_and_files() {
        let d = tempfile::tempdir().unwrap();
        let e = format!("{:#}", verify_dir(d.path(), None).unwrap_err());
        assert!(e.contains("missing file"), "{e}");
        // A wrong row count for nb201.
        let mut s = BenchmarkStore::new("nb201", 10);
        let mut c = Column::missing("cifar10-valid/x-valid@200", 10, 1);
        c.values = (0..10).map(|i| i as f64).collect();
        s.add_column(c).unwrap();
        save_store(&s, d.path(), vec![]).unwrap();
        let e = format!("{:#}", verify_dir(d.path(), Some("nb201")).unwrap_err());
        assert!(e.contains("wrong row count") && e.contains("15625"), "{e}");
        // A synthetic benchmark of any size verifies; best/min/mean are right.
        s.benchmark = "synthetic-test".into();
        let mut t = Column::missing("d/latency_s", 10, 2);
        t.values = (0..20).map(|i| 1.0 + (i / 2) as f64).collect();
        t.values[0] = f64::NAN;
        t.values[1] = f64::NAN;
        s.add_column(t).unwrap();
        s.official_index = Some((0..10).rev().collect());
        save_store(&s, d.path(), vec![]).unwrap();
        let r = verify_dir(d.path(), None).unwrap();
        let acc = &r.metrics[0];
        assert_eq!(acc.key, "cifar10-valid/x-valid@200");
        assert_eq!(
            (acc.best_cell, acc.best_value, acc.best_official_index),
            (Some(9), 9.0, Some(0))
        );
        assert_eq!(acc.space_mean, 4.5);
        let lat = &r.metrics[1];
        assert!(!lat.higher_is_better);
        assert_eq!(
            (lat.best_cell, lat.best_value, lat.cells_with_values),
            (Some(1), 2.0, 9)
        );
        assert!(r.render(d.path()).contains("lack values"));
        // A flipped byte: checksum mismatch.
        let p = d.path().join("store.bin");
        let mut b = std::fs::read(&p).unwrap();
        let n = b.len() - 3;
        b[n] ^= 1;
        std::fs::write(&p, b).unwrap();
        let e = format!("{:#}", verify_dir(d.path(), None).unwrap_err());
        assert!(e.contains("checksum"), "{e}");
    }
}
