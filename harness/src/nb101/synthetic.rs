//! A SYNTHETIC benchmark over the real NAS-Bench-101 space, for tests and speed work only.
//!
//! The official NB101 data cannot be downloaded here. To exercise searchers, the importer and
//! the store at full NB101 scale, this module defines accuracies as a made-up function of
//! each cell's graph (op counts, longest path, output fan-in, and a small per-hash term) plus
//! per-repeat ChaCha noise from [`crate::rng::stream`]. Its store is named
//! [`SYNTHETIC_BENCHMARK`] (`nb101-synthetic`), and files written by
//! [`write_synthetic_tfrecord`] carry [`SYNTHETIC_MARKER`] in every checkpoint path so that
//! the importer also names them `nb101-synthetic`. Nothing computed on it is an NB101 result.

use super::metrics::{EvaluationData, ModelMetrics};
use super::spec::{ModelSpec, Op};
use super::tfrecord::TfRecordWriter;
use super::{
    key_test, key_train, key_train_time, key_valid, Nb101Space, EPOCH_BUDGETS, KEY_PARAMS, REPEATS,
};
use crate::rng::SeedRng;
use crate::space::{CellId, SearchSpace};
use crate::store::{BenchmarkStore, Column};
use anyhow::{Context, Result};
use rand::Rng;
use std::io::BufWriter;
use std::path::Path;

/// Benchmark name of every synthetic NB101 store.
pub const SYNTHETIC_BENCHMARK: &str = "nb101-synthetic";
/// Prefix of the checkpoint paths in synthetic TFRecord files.
pub const SYNTHETIC_MARKER: &str = "synthetic:";

/// One synthetic training run (fractions and seconds, like the official metrics).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SyntheticRun {
    /// Validation accuracy (fraction).
    pub validation: f64,
    /// Test accuracy (fraction).
    pub test: f64,
    /// Train accuracy (fraction).
    pub train: f64,
    /// Training time, seconds.
    pub training_time: f64,
    /// Trainable parameters.
    pub params: i32,
}

/// Graph features the synthetic accuracy depends on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GraphFeatures {
    /// Interior conv3x3 vertices.
    pub conv3: u32,
    /// Interior conv1x1 vertices.
    pub conv1: u32,
    /// Interior maxpool vertices.
    pub pool: u32,
    /// Edges.
    pub edges: u32,
    /// Longest input-to-output path, in edges.
    pub depth: u32,
    /// In-degree of the output.
    pub width: u32,
}

impl GraphFeatures {
    /// Features of a canonical spec.
    pub fn of(spec: &ModelSpec) -> Self {
        let n = spec.num_vertices();
        let count = |op: Op| spec.ops().iter().filter(|&&o| o == op).count() as u32;
        let mut longest = [0u32; 7];
        for v in 1..n {
            longest[v] = (0..v)
                .filter(|&u| spec.has_edge(u, v))
                .map(|u| longest[u] + 1)
                .max()
                .unwrap_or(0);
        }
        Self {
            conv3: count(Op::Conv3x3),
            conv1: count(Op::Conv1x1),
            pool: count(Op::MaxPool3x3),
            edges: spec.num_edges() as u32,
            depth: longest[n - 1],
            width: (0..n - 1).filter(|&u| spec.has_edge(u, n - 1)).count() as u32,
        }
    }
}

/// The noise-free synthetic validation accuracy (fraction) at 108 epochs of a cell with
/// these features and hash. Made up; documented here so that nobody mistakes it for data.
pub fn synthetic_mean_accuracy(f: &GraphFeatures, hash: &[u8; 16]) -> f64 {
    // About 1 cell in 256 "fails to train", as a few NB101 cells do.
    if hash[0] == 0 {
        return 0.1;
    }
    let capacity = f.conv3 as f64 + 0.6 * f.conv1 as f64 + 0.15 * f.pool as f64;
    let mut acc = 0.70 + 0.22 * (1.0 - (-0.55 * capacity).exp());
    acc += 0.012 * f.depth.min(4) as f64 - 0.01 * f.depth.saturating_sub(4) as f64;
    acc += 0.006 * (f.width.saturating_sub(1)).min(2) as f64;
    if f.pool > f.conv3 + f.conv1 {
        acc -= 0.02;
    }
    if f.conv3 + f.conv1 == 0 {
        acc -= 0.15;
    }
    // Idiosyncratic per-cell term in [-0.006, 0.006] (a function of the graph via its hash).
    acc += (hash[1] as f64 / 255.0 - 0.5) * 0.012;
    acc.clamp(0.1, 0.955)
}

/// Synthetic parameter count of a cell (a function of its ops and edges).
pub fn synthetic_params(f: &GraphFeatures) -> i32 {
    300_000 + 1_100_000 * f.conv3 as i32 + 130_000 * f.conv1 as i32 + 40_000 * f.edges as i32
}

fn normal(rng: &mut SeedRng) -> f64 {
    // Box-Muller; one value per call keeps the draw count fixed.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Learning-curve factor of the accuracy at a smaller epoch budget.
fn budget_factor(epochs: u32) -> f64 {
    match epochs {
        4 => 0.80,
        12 => 0.89,
        36 => 0.95,
        _ => 1.0,
    }
}

/// Generates synthetic runs; one ChaCha stream per epoch budget
/// (`stream("nb101-synthetic", seed, "noise@{e}")`), consumed in call order, so cells must be
/// visited in the same order (the store and the file writer both go in id order).
pub struct SyntheticGenerator<'a> {
    space: &'a Nb101Space,
    rngs: Vec<(u32, SeedRng)>,
}

impl<'a> SyntheticGenerator<'a> {
    /// A generator for `space` and `seed`.
    pub fn new(space: &'a Nb101Space, seed: u64) -> Self {
        let rngs = EPOCH_BUDGETS
            .iter()
            .map(|&e| {
                (
                    e,
                    crate::rng::stream(SYNTHETIC_BENCHMARK, seed, &format!("noise@{e}")),
                )
            })
            .collect();
        Self { space, rngs }
    }

    /// The 3 synthetic runs of `cell` at `epochs` (one of 4, 12, 36, 108).
    pub fn runs(&mut self, cell: CellId, epochs: u32) -> [SyntheticRun; REPEATS] {
        let spec = self.space.spec(cell);
        let f = GraphFeatures::of(&spec);
        let hash = self.space.hash_bytes(cell);
        let mean = synthetic_mean_accuracy(&f, &hash) * budget_factor(epochs);
        let params = synthetic_params(&f);
        let rng = &mut self
            .rngs
            .iter_mut()
            .find(|(e, _)| *e == epochs)
            .expect("epoch budget of the official files")
            .1;
        let base_time =
            (900.0 + params as f64 / 4000.0 + 150.0 * f.depth as f64) * epochs as f64 / 108.0;
        std::array::from_fn(|_| {
            let validation = (mean + 0.004 * normal(rng)).clamp(0.05, 0.99);
            let test = (mean - 0.006 + 0.004 * normal(rng)).clamp(0.05, 0.99);
            let train = (mean + 0.05 + 0.01 * normal(rng)).clamp(0.05, 1.0);
            let training_time = base_time * (1.0 + 0.02 * normal(rng));
            SyntheticRun {
                validation,
                test,
                train,
                training_time,
                params,
            }
        })
    }
}

/// The synthetic store (`benchmark = "nb101-synthetic"`) at 108 epochs, with the same keys
/// and units as an imported `nasbench_only108.tfrecord` (accuracies in percent).
pub fn synthetic_store(space: &Nb101Space, seed: u64) -> BenchmarkStore {
    let n = space.num_cells();
    let mut g = SyntheticGenerator::new(space, seed);
    let mut valid = Column::missing(&key_valid(108), n, REPEATS);
    let mut test = Column::missing(&key_test(108), n, REPEATS);
    let mut train = Column::missing(&key_train(108), n, REPEATS);
    let mut time = Column::missing(&key_train_time(108), n, REPEATS);
    let mut params = Column::missing(KEY_PARAMS, n, 1);
    for cell in 0..n {
        for (r, run) in g.runs(cell as CellId, 108).iter().enumerate() {
            let i = cell * REPEATS + r;
            valid.values[i] = run.validation * 100.0;
            test.values[i] = run.test * 100.0;
            train.values[i] = run.train * 100.0;
            time.values[i] = run.training_time;
            params.values[cell] = run.params as f64;
        }
    }
    let mut store = BenchmarkStore::new(SYNTHETIC_BENCHMARK, n);
    for c in [valid, test, train, time, params] {
        store
            .add_column(c)
            .expect("distinct keys of the right size");
    }
    store
}

/// The `ModelMetrics` of a synthetic run (3 evaluations: start, halfway, final; the final
/// checkpoint path starts with [`SYNTHETIC_MARKER`]).
pub fn synthetic_metrics(epochs: u32, repeat: usize, run: &SyntheticRun) -> ModelMetrics {
    let eval = |k: u32, frac: f64| EvaluationData {
        current_epoch: Some(epochs as f64 * frac),
        training_time: Some(run.training_time * frac),
        train_accuracy: Some(if k == 2 {
            run.train
        } else {
            0.1 + (run.train - 0.1) * frac
        }),
        validation_accuracy: Some(if k == 2 {
            run.validation
        } else {
            0.1 + (run.validation - 0.1) * frac
        }),
        test_accuracy: Some(if k == 2 {
            run.test
        } else {
            0.1 + (run.test - 0.1) * frac
        }),
        // Only the final evaluation carries a (short) path: the marker plus the repeat, so
        // that the file's size per record is close to the official file's (~400 bytes).
        checkpoint_path: (k == 2).then(|| format!("{SYNTHETIC_MARKER}{repeat}")),
    };
    ModelMetrics {
        evaluation_data: vec![eval(0, 0.0), eval(1, 0.5), eval(2, 1.0)],
        trainable_parameters: Some(run.params),
        total_time: Some(run.training_time * 1.25),
    }
}

/// One record payload in the official JSON form.
pub fn record_payload(
    spec: &ModelSpec,
    hash: &str,
    epochs: u32,
    metrics: &ModelMetrics,
) -> Vec<u8> {
    serde_json::to_vec(&(
        hash,
        epochs,
        spec.raw_adjacency(),
        spec.raw_operations(),
        metrics.to_base64(),
    ))
    .expect("tuple serialises")
}

/// Writes a full-size synthetic TFRecord file in the official format: every cell in id
/// order, for each budget in `epochs` 3 consecutive repeats. Returns the number of records.
/// The file is written to a temporary name and renamed at the end.
pub fn write_synthetic_tfrecord(
    space: &Nb101Space,
    seed: u64,
    epochs: &[u32],
    path: &Path,
) -> Result<u64> {
    let tmp = path.with_extension("tfrecord.partial");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = TfRecordWriter::new(BufWriter::with_capacity(1 << 20, file));
    let mut g = SyntheticGenerator::new(space, seed);
    for cell in 0..space.num_cells() as CellId {
        let spec = space.spec(cell);
        let hash = space.hash(cell);
        for &e in epochs {
            for (r, run) in g.runs(cell, e).iter().enumerate() {
                let m = synthetic_metrics(e, r, run);
                w.write_record(&record_payload(&spec, &hash, e, &m))
                    .with_context(|| format!("writing {}", tmp.display()))?;
            }
        }
    }
    let records = w.records();
    let buf = w
        .finish()
        .with_context(|| format!("writing {}", tmp.display()))?;
    buf.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nb101::space::test_space;

    #[test]
    fn synthetic_store_is_deterministic_and_plausible() {
        let s = test_space();
        let a = synthetic_store(s, 7);
        assert_eq!(a.benchmark, "nb101-synthetic");
        assert_eq!(a.num_cells, 423_624);
        assert_eq!(
            a.keys(),
            vec![
                "cifar10/ori-test@108",
                "cifar10/params",
                "cifar10/train@108",
                "cifar10/train_time_s@108",
                "cifar10/x-valid@108"
            ]
        );
        let v = a.column("cifar10/x-valid@108").unwrap();
        assert!(v
            .values
            .iter()
            .all(|x| x.is_finite() && (5.0..=99.0).contains(x)));
        let means = v.means();
        let best = means.iter().cloned().fold(f64::MIN, f64::max);
        let avg = means.iter().sum::<f64>() / means.len() as f64;
        assert!(best > 94.0 && best < 98.0, "{best}");
        assert!(avg > 80.0 && avg < 93.0, "{avg}");
        // Same seed -> same store; another seed -> other noise, same graph function.
        let b = synthetic_store(s, 7);
        assert!(a.columns.iter().zip(&b.columns).all(|(x, y)| x
            .values
            .iter()
            .zip(&y.values)
            .all(|(p, q)| p.to_bits() == q.to_bits())));
        let c = synthetic_store(s, 8);
        assert_ne!(
            a.column("cifar10/x-valid@108").unwrap().values[..30],
            c.column("cifar10/x-valid@108").unwrap().values[..30]
        );
        assert_eq!(
            a.column(KEY_PARAMS).unwrap().values,
            c.column(KEY_PARAMS).unwrap().values
        );
    }
}
