//! Run traces: what the runner records of a run, and the [`TraceSink`] trait through which
//! it hands them to a result store (the `results` crate implements it with Parquet; the
//! harness has a JSON sink so its own tests need no polars).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Identity and settings of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Content address: sha256 of (spec entry, seed, data checksum, harness version), hex.
    pub run_id: String,
    /// Spec name.
    pub spec: String,
    /// Method label (as named in the spec, e.g. `weaknas-mlp`).
    pub method: String,
    /// Method kind (registry key, e.g. `weaknas`).
    pub method_kind: String,
    /// Method parameters as JSON text.
    pub method_params: String,
    /// Benchmark (`nb201`, ...).
    pub benchmark: String,
    /// Dataset label.
    pub dataset: String,
    /// Search metric key.
    pub search_metric: String,
    /// Report metric key.
    pub report_metric: String,
    /// Noise model name.
    pub noise: String,
    /// Seed.
    pub seed: u64,
    /// Query budget.
    pub budget: usize,
    /// sha256 of the benchmark store.
    pub data_sha256: String,
    /// Harness version.
    pub harness_version: String,
    /// Best search-metric mean over the space (NaN where unknown: open-domain search).
    #[serde(deserialize_with = "nan_if_null")]
    pub search_optimum: f64,
    /// Best report-metric mean over the space (NaN where unknown).
    #[serde(deserialize_with = "nan_if_null")]
    pub report_optimum: f64,
    /// Wall time of the whole run, seconds.
    pub wall_s: f64,
    /// Repeat (uncharged) queries.
    pub repeats: usize,
    /// Stop rule of the run (`budget`, `search-optimum`, `report-optimum`).
    #[serde(default = "default_stop")]
    pub stop: String,
    /// Cells that can be queried (with a value of the search metric); 0 where unknown.
    #[serde(default)]
    pub space_size: usize,
    /// Cells sharing the best search-metric mean (k of random search's closed form); 0
    /// where unknown.
    #[serde(default)]
    pub search_optimum_cells: usize,
    /// Cells sharing the best report-metric mean; 0 where unknown.
    #[serde(default)]
    pub report_optimum_cells: usize,
    /// The code that produced the run (`git:<commit>[+dirty.<hash>]`, `version:<v>`); empty
    /// for runs stored before fingerprints were recorded ("unknown fingerprint"). Not part
    /// of the run id: the same code resumes its runs, other code is detected by comparing.
    #[serde(default)]
    pub code_fingerprint: String,
    /// The GEMM kernels the run's predictors ran (precision and instruction family, e.g.
    /// `gemm-0.19 f32 avx512f`; `"; "`-separated; empty for runs without such a predictor and
    /// for runs stored before this was recorded).
    #[serde(default)]
    pub predictor_kernel: String,
}

fn default_stop() -> String {
    "budget".into()
}

/// How an empty [`RunMeta::code_fingerprint`] (a run stored before fingerprints existed) is
/// shown.
pub const UNKNOWN_FINGERPRINT: &str = "unknown fingerprint";

impl RunMeta {
    /// The code fingerprint for display: [`UNKNOWN_FINGERPRINT`] when none was recorded.
    pub fn fingerprint_label(&self) -> &str {
        if self.code_fingerprint.is_empty() {
            UNKNOWN_FINGERPRINT
        } else {
            &self.code_fingerprint
        }
    }
}

/// One query of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryRow {
    /// 1-based position among charged queries (repeats carry the current count).
    pub query_index: usize,
    /// Searcher iteration.
    pub iteration: u32,
    /// Cell id.
    pub cell: u32,
    /// Value the searcher saw.
    pub search_value: f64,
    /// Mean of the search metric over trials (truth).
    #[serde(deserialize_with = "nan_if_null")]
    pub search_mean: f64,
    /// Report-metric value.
    #[serde(deserialize_with = "nan_if_null")]
    pub report_value: f64,
    /// Charged (first query of the cell) or a repeat.
    pub charged: bool,
    /// Seconds since the run started.
    pub wall_s: f64,
}

/// Predictor diagnostics of one iteration (NaN where not applicable).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IterationRow {
    /// Iteration.
    pub iteration: u32,
    /// Charged queries when the predictor was fitted.
    pub num_queried: usize,
    /// Kendall tau-b of predictions vs truth on the true top-50.
    #[serde(deserialize_with = "nan_if_null")]
    pub kendall_top50: f64,
    /// Same on the true top-100.
    #[serde(deserialize_with = "nan_if_null")]
    pub kendall_top100: f64,
    /// Same on the whole space.
    #[serde(deserialize_with = "nan_if_null")]
    pub kendall_all: f64,
    /// Fraction of this iteration's new queries that lie in the true top-50.
    #[serde(deserialize_with = "nan_if_null")]
    pub hit_rate_top50: f64,
    /// Fraction of this iteration's new queries that lie in the true top-100.
    #[serde(deserialize_with = "nan_if_null")]
    pub hit_rate_top100: f64,
    /// True rank (1 = best, by search metric) of the predicted top-1.
    pub top1_true_rank: u32,
    /// The official code's value: max(best report metric queried so far, report metric of
    /// the predictor's top-1 even if never queried). A PEEK at the report metric: labelled so.
    #[serde(deserialize_with = "nan_if_null")]
    pub paper_best_peek: f64,
    /// Search-metric mean (truth) of the predictor's top-1 (NaN where unknown). With
    /// `top1_report`, what querying the top-1 as one more query would give (the per-q
    /// strong-predictor protocol charges it so).
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub top1_search: f64,
    /// Report-metric value of the predictor's top-1 (NaN where unknown).
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub top1_report: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// One cell of a recorded ranking (search-dynamics figures): the predictor's score and the
/// truth. Recorded for the predicted top-k of every ranking (`predicted_rank` = 1..k) and for
/// a spread of cells evenly spaced along the true ranking (`predicted_rank` = 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankedCell {
    /// Iteration of the ranking.
    pub iteration: u32,
    /// Rank in the prediction (1 = predicted best), 0 for a spread cell.
    pub predicted_rank: u32,
    /// Cell id.
    pub cell: u32,
    /// Predictor score.
    pub predicted: f64,
    /// True search-metric mean.
    pub truth: f64,
}

/// JSON has no NaN: serde_json writes it as `null`; read `null` back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Everything recorded of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunTrace {
    /// Identity and settings.
    pub meta: RunMeta,
    /// Every query.
    pub queries: Vec<QueryRow>,
    /// Per-iteration diagnostics (empty for methods without a predictor).
    pub iterations: Vec<IterationRow>,
    /// Recorded rankings (empty unless the run asked for them).
    #[serde(default)]
    pub rankings: Vec<RankedCell>,
}

impl RunTrace {
    /// Incumbent at each charged query count q = 1..: (search mean, report value) of the
    /// queried cell with the best search value so far (ties: the earliest). Failed
    /// evaluations (NaN search value, e.g. an open-domain training that crashed) are charged
    /// but never become the incumbent; before the first successful one the incumbent is NaN.
    pub fn incumbents(&self) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        let mut best: Option<(f64, f64, f64)> = None;
        for q in self.queries.iter().filter(|q| q.charged) {
            if !q.search_value.is_nan() && best.is_none_or(|(v, _, _)| q.search_value > v) {
                best = Some((q.search_value, q.search_mean, q.report_value));
            }
            out.push(best.map_or((f64::NAN, f64::NAN), |b| (b.1, b.2)));
        }
        out
    }
}

/// Where finished runs go. Implementations write each run atomically.
pub trait TraceSink: Send + Sync {
    /// Whether a run with this id is already stored complete.
    fn is_done(&self, run_id: &str) -> Result<bool>;
    /// Stores a finished run atomically.
    fn write(&self, trace: &RunTrace) -> Result<()>;
    /// Where a run's searcher log (an external searcher's stderr) is kept; `None`: nowhere.
    fn log_path(&self, _run_id: &str) -> Option<PathBuf> {
        None
    }
    /// Where an unfinished run keeps its checkpoint (see [`crate::checkpoint`]); `None`:
    /// this sink keeps none, and an interrupted run starts over.
    fn checkpoint_path(&self, _run_id: &str) -> Option<PathBuf> {
        None
    }
}

/// A sink writing one JSON file per run under `dir/runs/` (the harness's own; no polars).
pub struct JsonTraceSink {
    dir: PathBuf,
}

impl JsonTraceSink {
    /// A sink in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }
    fn path(&self, run_id: &str) -> PathBuf {
        self.dir.join("runs").join(format!("{run_id}.json"))
    }
    /// Reads every stored run.
    pub fn read_all(&self) -> Result<Vec<RunTrace>> {
        let d = self.dir.join("runs");
        let mut out = Vec::new();
        if !d.exists() {
            return Ok(out);
        }
        let mut paths: Vec<_> = std::fs::read_dir(&d)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        for p in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
        {
            let b = std::fs::read(&p)?;
            out.push(
                serde_json::from_slice(&b)
                    .with_context(|| format!("{}: corrupt run trace", p.display()))?,
            );
        }
        Ok(out)
    }
}

impl TraceSink for JsonTraceSink {
    fn is_done(&self, run_id: &str) -> Result<bool> {
        Ok(self.path(run_id).exists())
    }
    fn write(&self, trace: &RunTrace) -> Result<()> {
        let bytes = serde_json::to_vec(trace)?;
        crate::fsutil::atomic_write(&self.path(&trace.meta.run_id), &bytes)
    }
    /// `dir/logs/<run_id>.stderr`.
    fn log_path(&self, run_id: &str) -> Option<PathBuf> {
        Some(self.dir.join("logs").join(format!("{run_id}.stderr")))
    }
    /// `dir/checkpoints/<run_id>.json`.
    fn checkpoint_path(&self, run_id: &str) -> Option<PathBuf> {
        Some(crate::checkpoint::path_in(&self.dir, run_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(i: usize, search: f64, report: f64, charged: bool) -> QueryRow {
        QueryRow {
            query_index: i,
            iteration: 0,
            cell: i as u32,
            search_value: search,
            search_mean: search,
            report_value: report,
            charged,
            wall_s: 0.0,
        }
    }

    #[test]
    fn failed_queries_never_become_the_incumbent() {
        let nan = f64::NAN;
        // SYNTHETIC trace: the first charged query failed (NaN), as did a later one.
        let t = RunTrace {
            meta: serde_json::from_value(serde_json::json!({
                "run_id": "synthetic", "spec": "s", "method": "m", "method_kind": "m",
                "method_params": "{}", "benchmark": "darts", "dataset": "d",
                "search_metric": "valid_acc", "report_metric": "test_acc", "noise": "mean",
                "seed": 0, "budget": 5, "data_sha256": "00", "harness_version": "0",
                "search_optimum": null, "report_optimum": null, "wall_s": 0.0, "repeats": 0
            }))
            .unwrap(),
            queries: vec![
                query(1, nan, nan, true),
                query(2, 0.5, 0.4, true),
                query(2, 0.9, 0.1, false), // a repeat: not charged, ignored
                query(3, nan, nan, true),
                query(4, 0.7, 0.6, true),
                query(5, 0.6, 0.9, true),
            ],
            iterations: Vec::new(),
            rankings: Vec::new(),
        };
        let inc = t.incumbents();
        assert_eq!(inc.len(), 5);
        assert!(inc[0].0.is_nan() && inc[0].1.is_nan());
        assert_eq!(&inc[1..], &[(0.5, 0.4), (0.5, 0.4), (0.7, 0.6), (0.7, 0.6)]);
    }
}
