//! Per-run curves: the incumbent at every query count, the `paper_best_peek` step curve,
//! regrets, and when the global optimum was first queried.

use std::fmt;
use weaknas_harness::trace::{RunMeta, RunTrace};

/// What identifies a group of runs aggregated together (runs differing only in seed).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// Benchmark (`nb201`, ...).
    pub benchmark: String,
    /// Dataset label.
    pub dataset: String,
    /// Method label.
    pub method: String,
    /// Method kind (registry key).
    pub method_kind: String,
    /// Search metric key.
    pub search_metric: String,
    /// Report metric key.
    pub report_metric: String,
    /// Noise model.
    pub noise: String,
}

impl GroupKey {
    /// The key of a run.
    pub fn of(m: &RunMeta) -> Self {
        Self {
            benchmark: m.benchmark.clone(),
            dataset: m.dataset.clone(),
            method: m.method.clone(),
            method_kind: m.method_kind.clone(),
            search_metric: m.search_metric.clone(),
            report_metric: m.report_metric.clone(),
            noise: m.noise.clone(),
        }
    }
    /// The task this key belongs to (the key without the method): the stratum of
    /// cross-task aggregation.
    pub fn task(&self) -> TaskKey {
        TaskKey {
            benchmark: self.benchmark.clone(),
            dataset: self.dataset.clone(),
            search_metric: self.search_metric.clone(),
            report_metric: self.report_metric.clone(),
            noise: self.noise.clone(),
        }
    }
    /// Protocol label of a measure on this key, e.g.
    /// `search cifar10-valid/x-valid@200 -> report cifar10/ori-test@200, incumbent`.
    pub fn protocol(&self, measure: Measure) -> String {
        let noise = if self.noise.is_empty() || self.noise == "none" {
            String::new()
        } else {
            format!(", noise {}", self.noise)
        };
        format!(
            "{} -> {}, {}{noise}",
            self.search_metric,
            self.report_metric,
            measure.protocol()
        )
    }
}

/// A task: benchmark, dataset, metric contract and noise.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskKey {
    /// Benchmark.
    pub benchmark: String,
    /// Dataset label.
    pub dataset: String,
    /// Search metric key.
    pub search_metric: String,
    /// Report metric key.
    pub report_metric: String,
    /// Noise model.
    pub noise: String,
}

/// A per-query quantity of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    /// Report-metric value of the incumbent (the queried cell with the best search value).
    Report,
    /// Search-metric mean (truth) of the incumbent.
    Search,
    /// `report_optimum - Report`.
    ReportRegret,
    /// `search_optimum - Search`.
    SearchRegret,
    /// The official code's `paper_best` (a PEEK at the report metric that may credit an
    /// unqueried cell), as a step curve over query counts.
    PaperBestPeek,
    /// `report_optimum - PaperBestPeek`.
    PaperBestPeekRegret,
}

impl Measure {
    /// Every measure.
    pub const ALL: [Measure; 6] = [
        Measure::Report,
        Measure::Search,
        Measure::ReportRegret,
        Measure::SearchRegret,
        Measure::PaperBestPeek,
        Measure::PaperBestPeekRegret,
    ];
    /// Stable name (column and file names).
    pub fn name(self) -> &'static str {
        match self {
            Measure::Report => "report",
            Measure::Search => "search",
            Measure::ReportRegret => "report_regret",
            Measure::SearchRegret => "search_regret",
            Measure::PaperBestPeek => "paper_best_peek",
            Measure::PaperBestPeekRegret => "paper_best_peek_regret",
        }
    }
    /// Parses [`Measure::name`].
    pub fn parse(s: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.name() == s)
    }
    /// Whether larger values are better (accuracies) or smaller (regrets).
    pub fn higher_is_better(self) -> bool {
        matches!(
            self,
            Measure::Report | Measure::Search | Measure::PaperBestPeek
        )
    }
    /// `incumbent` or `paper_best_peek`.
    pub fn protocol(self) -> &'static str {
        if self.is_peek() {
            "paper_best_peek"
        } else {
            "incumbent"
        }
    }
    /// Whether the measure peeks at the report metric (`paper_best`).
    pub fn is_peek(self) -> bool {
        matches!(self, Measure::PaperBestPeek | Measure::PaperBestPeekRegret)
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The curves of one run, indexed by charged query count q = 1..=len (entry q - 1).
#[derive(Clone, Debug, PartialEq)]
pub struct RunCurve {
    /// Group of the run.
    pub key: GroupKey,
    /// Run id.
    pub run_id: String,
    /// Seed.
    pub seed: u64,
    /// Query budget of the run.
    pub budget: usize,
    /// Best search-metric mean over the space.
    pub search_optimum: f64,
    /// Best report-metric mean over the space.
    pub report_optimum: f64,
    /// Search mean of the incumbent at each q.
    pub incumbent_search: Vec<f64>,
    /// Report value of the incumbent at each q.
    pub incumbent_report: Vec<f64>,
    /// `paper_best_peek` at each q: max(the value of the last iteration whose predictor was
    /// fitted with at most q charged queries, the best report value among the first q charged
    /// queries) — the official definition evaluated at q (NaN before the first iteration or
    /// for methods without iterations).
    pub peek: Vec<f64>,
    /// First q at which a cell with the best search mean of the space was queried (`None`:
    /// censored, not found within the run's queries).
    pub found_search_at: Option<usize>,
    /// First q at which a cell with the best report mean of the space was queried.
    pub found_report_at: Option<usize>,
    /// Cells with a value of the search metric (0 where unknown).
    pub space_size: usize,
    /// Cells sharing the best search mean (0 where unknown).
    pub search_optimum_cells: usize,
    /// Cells sharing the best report mean (0 where unknown).
    pub report_optimum_cells: usize,
    /// Stop rule of the run (`budget`, `search-optimum`, `report-optimum`).
    pub stop: String,
    /// Whether the curve is the per-q strong-predictor protocol (values at grid points only).
    pub per_q: bool,
}

/// Whether a run used the per-q strong-predictor protocol (`mode = "per-q"`): its curve is
/// defined at the grid points only.
pub fn is_per_q(meta: &RunMeta) -> bool {
    meta.method_kind == "strong-predictor"
        && serde_json::from_str::<serde_json::Value>(&meta.method_params)
            .ok()
            .and_then(|v| v.get("mode").and_then(|m| m.as_str().map(str::to_owned)))
            .is_some_and(|m| m == "per-q")
}

/// The per-q strong predictor's incumbents: at each grid point q (an iteration fitted on
/// q - 1 queries), the better, by search mean, of the incumbent of the q - 1 uniform samples
/// and the predicted top-1 counted as the q-th query; NaN between grid points.
fn per_q_incumbents(t: &RunTrace, inc: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = vec![(f64::NAN, f64::NAN); inc.len()];
    for r in &t.iterations {
        let q = r.num_queried + 1;
        if q > out.len() || r.top1_search.is_nan() {
            continue;
        }
        let base = if r.num_queried == 0 {
            (f64::NEG_INFINITY, f64::NAN)
        } else {
            inc[r.num_queried - 1]
        };
        out[q - 1] = if r.top1_search > base.0 {
            (r.top1_search, r.top1_report)
        } else {
            base
        };
    }
    out
}

impl RunCurve {
    /// Computes the curves of a trace.
    pub fn from_trace(t: &RunTrace) -> Self {
        let per_q = is_per_q(&t.meta);
        let inc = if per_q {
            per_q_incumbents(t, &t.incumbents())
        } else {
            t.incumbents()
        };
        let n = inc.len();
        let mut its: Vec<_> = t.iterations.iter().collect();
        its.sort_by_key(|r| (r.num_queried, r.iteration));
        let mut peek = vec![f64::NAN; n];
        let mut j = 0;
        let mut cur = f64::NAN;
        let mut best_report = f64::NEG_INFINITY;
        let charged_reports: Vec<f64> = t
            .queries
            .iter()
            .filter(|q| q.charged)
            .map(|q| q.report_value)
            .collect();
        for (i, p) in peek.iter_mut().enumerate() {
            let q = i + 1;
            if let Some(&r) = charged_reports.get(i) {
                best_report = best_report.max(r);
            }
            while j < its.len() && its[j].num_queried <= q {
                cur = its[j].paper_best_peek;
                j += 1;
            }
            *p = if cur.is_nan() {
                cur
            } else {
                cur.max(best_report)
            };
        }
        let (mut fs, mut fr) = (None, None);
        if per_q {
            // The protocol's own queries: the incumbent at the grid points.
            for (i, (s, r)) in inc.iter().enumerate() {
                if fs.is_none() && *s >= t.meta.search_optimum {
                    fs = Some(i + 1);
                }
                if fr.is_none() && *r >= t.meta.report_optimum {
                    fr = Some(i + 1);
                }
            }
        } else {
            for (i, q) in t.queries.iter().filter(|q| q.charged).enumerate() {
                if fs.is_none() && q.search_mean >= t.meta.search_optimum {
                    fs = Some(i + 1);
                }
                if fr.is_none() && q.report_value >= t.meta.report_optimum {
                    fr = Some(i + 1);
                }
            }
        }
        Self {
            key: GroupKey::of(&t.meta),
            run_id: t.meta.run_id.clone(),
            seed: t.meta.seed,
            budget: t.meta.budget,
            search_optimum: t.meta.search_optimum,
            report_optimum: t.meta.report_optimum,
            incumbent_search: inc.iter().map(|v| v.0).collect(),
            incumbent_report: inc.iter().map(|v| v.1).collect(),
            peek,
            found_search_at: fs,
            found_report_at: fr,
            space_size: t.meta.space_size,
            search_optimum_cells: t.meta.search_optimum_cells,
            report_optimum_cells: t.meta.report_optimum_cells,
            stop: t.meta.stop.clone(),
            per_q,
        }
    }
    /// Number of charged queries the run made.
    pub fn len(&self) -> usize {
        self.incumbent_report.len()
    }
    /// Whether the run made no charged query.
    pub fn is_empty(&self) -> bool {
        self.incumbent_report.is_empty()
    }
    /// A measure at query count q (1-based); `None` if q is out of range or the value is NaN.
    pub fn value(&self, m: Measure, q: usize) -> Option<f64> {
        if q == 0 || q > self.len() {
            return None;
        }
        let i = q - 1;
        let v = match m {
            Measure::Report => self.incumbent_report[i],
            Measure::Search => self.incumbent_search[i],
            Measure::ReportRegret => self.report_optimum - self.incumbent_report[i],
            Measure::SearchRegret => self.search_optimum - self.incumbent_search[i],
            Measure::PaperBestPeek => self.peek[i],
            Measure::PaperBestPeekRegret => self.report_optimum - self.peek[i],
        };
        (!v.is_nan()).then_some(v)
    }
}

/// The curves of every trace, in input order.
pub fn run_curves(traces: &[RunTrace]) -> Vec<RunCurve> {
    traces.iter().map(RunCurve::from_trace).collect()
}

pub mod synthetic {
    //! SYNTHETIC traces for tests (of this crate and of the crates over it, e.g. the
    //! report's): no benchmark data involved, never a result.
    use weaknas_harness::trace::{IterationRow, QueryRow, RunMeta, RunTrace};

    /// A synthetic run meta.
    pub fn meta(method: &str, dataset: &str, seed: u64, budget: usize) -> RunMeta {
        RunMeta {
            run_id: format!("synthetic-{method}-{dataset}-{seed}"),
            spec: "synthetic-spec".into(),
            method: method.into(),
            method_kind: method.into(),
            method_params: "{}".into(),
            benchmark: "synthetic".into(),
            dataset: dataset.into(),
            search_metric: format!("{dataset}/x-valid@200"),
            report_metric: format!("{dataset}/ori-test@200"),
            noise: "none".into(),
            seed,
            budget,
            data_sha256: "00".into(),
            harness_version: "0.0.0-synthetic".into(),
            search_optimum: 100.0,
            report_optimum: 100.0,
            wall_s: 1.5,
            repeats: 0,
            stop: "budget".into(),
            space_size: 0,
            search_optimum_cells: 0,
            report_optimum_cells: 0,
            code_fingerprint: "version:synthetic".into(),
            predictor_kernel: String::new(),
        }
    }

    /// A synthetic trace whose q-th charged query has search value = search mean =
    /// `values[q - 1]` and report value `values[q - 1] - 1` (cell id = q - 1), with one
    /// iteration every 10 queries whose peek is the best report so far + 0.5.
    pub fn trace(method: &str, dataset: &str, seed: u64, values: &[f64]) -> RunTrace {
        let m = meta(method, dataset, seed, values.len());
        let queries = values
            .iter()
            .enumerate()
            .map(|(i, &v)| QueryRow {
                query_index: i + 1,
                iteration: (i / 10) as u32,
                cell: i as u32,
                search_value: v,
                search_mean: v,
                report_value: v - 1.0,
                charged: true,
                wall_s: i as f64 * 0.01,
            })
            .collect();
        let mut iterations = Vec::new();
        let mut best = f64::NEG_INFINITY;
        for (i, &v) in values.iter().enumerate() {
            best = best.max(v - 1.0);
            if (i + 1) % 10 == 0 {
                iterations.push(IterationRow {
                    iteration: (i / 10) as u32,
                    num_queried: i + 1,
                    kendall_top50: 0.1 * (i / 10) as f64,
                    kendall_top100: 0.2,
                    kendall_all: 0.5,
                    hit_rate_top50: 0.05 * (i / 10) as f64,
                    hit_rate_top100: 0.1,
                    top1_true_rank: 3,
                    paper_best_peek: best + 0.5,
                    top1_search: f64::NAN,
                    top1_report: f64::NAN,
                });
            }
        }
        RunTrace {
            meta: m,
            queries,
            iterations,
            rankings: Vec::new(),
        }
    }

    /// A deterministic pseudo-random sequence in [lo, hi) (an LCG; test data only).
    pub fn values(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::synthetic::trace;
    use super::*;

    #[test]
    fn incumbent_regret_and_peek() {
        let mut t = trace("m", "d", 1, &[90.0, 95.0, 93.0, 100.0, 99.0]);
        t.iterations.push(weaknas_harness::trace::IterationRow {
            iteration: 0,
            num_queried: 2,
            kendall_top50: 0.0,
            kendall_top100: 0.0,
            kendall_all: 0.0,
            hit_rate_top50: 0.0,
            hit_rate_top100: 0.0,
            top1_true_rank: 1,
            paper_best_peek: 97.0,
            top1_search: f64::NAN,
            top1_report: f64::NAN,
        });
        let c = RunCurve::from_trace(&t);
        assert_eq!(c.incumbent_search, vec![90.0, 95.0, 95.0, 100.0, 100.0]);
        assert_eq!(c.value(Measure::Report, 3), Some(94.0));
        assert_eq!(c.value(Measure::ReportRegret, 3), Some(6.0));
        assert_eq!(c.value(Measure::SearchRegret, 5), Some(0.0));
        assert_eq!(c.value(Measure::Report, 6), None);
        assert_eq!(c.value(Measure::Report, 0), None);
        // peek: NaN before the first iteration, then max(step, best report queried so far)
        assert_eq!(c.value(Measure::PaperBestPeek, 1), None);
        assert_eq!(c.value(Measure::PaperBestPeek, 2), Some(97.0));
        assert_eq!(c.value(Measure::PaperBestPeek, 3), Some(97.0));
        assert_eq!(c.value(Measure::PaperBestPeek, 5), Some(99.0));
        assert_eq!(c.found_search_at, Some(4));
        // report optimum 100 is never reached (report = value - 1)
        assert_eq!(c.found_report_at, None);
    }

    #[test]
    fn per_q_strong_predictor_counts_its_top1_as_the_qth_query() {
        // Uniform stream 90, 95, 93, 96, 94 (search = mean; report = search - 1). Grid points
        // q = 3 (fitted on 2) and q = 5 (fitted on 4).
        let mut t = trace("strong", "d", 1, &[90.0, 95.0, 93.0, 96.0, 94.0]);
        t.meta.method_kind = "strong-predictor".into();
        t.meta.method_params = r#"{"mode":"per-q","grid":[3,5]}"#.into();
        let row = |k: u32, nq: usize, s1: f64, r1: f64| weaknas_harness::trace::IterationRow {
            iteration: k,
            num_queried: nq,
            kendall_top50: f64::NAN,
            kendall_top100: f64::NAN,
            kendall_all: f64::NAN,
            hit_rate_top50: f64::NAN,
            hit_rate_top100: f64::NAN,
            top1_true_rank: 1,
            paper_best_peek: f64::NAN,
            top1_search: s1,
            top1_report: r1,
        };
        // At q = 3 the top-1 (99, report 97.5) beats the samples' incumbent (95); at q = 5 it
        // (92) does not, so the incumbent of the 4 samples (96, report 95) stands.
        t.iterations = vec![row(0, 2, 99.0, 97.5), row(1, 4, 92.0, 91.0)];
        let c = RunCurve::from_trace(&t);
        assert!(c.per_q);
        assert_eq!(c.value(Measure::Report, 3), Some(97.5));
        assert_eq!(c.value(Measure::Search, 3), Some(99.0));
        assert_eq!(c.value(Measure::Report, 5), Some(95.0));
        for q in [1, 2, 4] {
            assert_eq!(
                c.value(Measure::Report, q),
                None,
                "no value between grid points"
            );
        }
        // The same trace without per-q mode is an ordinary incumbent curve.
        t.meta.method_params = r#"{"init":2}"#.into();
        let c = RunCurve::from_trace(&t);
        assert!(!c.per_q);
        assert_eq!(c.value(Measure::Report, 3), Some(94.0));
    }

    #[test]
    fn repeats_do_not_count_as_queries() {
        let mut t = trace("m", "d", 1, &[90.0, 95.0, 100.0]);
        let mut rep = t.queries[1].clone();
        rep.charged = false;
        rep.search_value = 200.0; // a repeat never changes the incumbent or the count
        t.queries.insert(2, rep);
        let c = RunCurve::from_trace(&t);
        assert_eq!(c.len(), 3);
        assert_eq!(c.found_search_at, Some(3));
        assert_eq!(c.incumbent_search, vec![90.0, 95.0, 100.0]);
    }

    #[test]
    fn measures_round_trip_names() {
        for m in Measure::ALL {
            assert_eq!(Measure::parse(m.name()), Some(m));
        }
        assert!(!Measure::ReportRegret.higher_is_better());
        assert_eq!(Measure::PaperBestPeek.protocol(), "paper_best_peek");
        let k = GroupKey::of(&super::synthetic::meta("m", "d", 1, 10));
        assert_eq!(
            k.protocol(Measure::Report),
            "d/x-valid@200 -> d/ori-test@200, incumbent"
        );
    }
}
