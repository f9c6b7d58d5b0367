//! Plain data for figures (no polars types): curves of a measure over query counts and
//! per-iteration predictor diagnostics, aggregated over seeds, for the plots crate.

use crate::curves::{run_curves, GroupKey, Measure};
use crate::stats::{describe, stratified_bootstrap_ci, Statistic};
use std::collections::BTreeMap;
use weaknas_harness::rng::stream;
use weaknas_harness::trace::{IterationRow, RunTrace};

/// The band drawn around a mean curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Band {
    /// mean ± one standard deviation over seeds.
    Std,
    /// mean ± 1.96 standard errors (normal 95% CI of the mean).
    Sem95,
    /// Percentile bootstrap 95% CI of the mean (`reps` resamples, seeded).
    Bootstrap {
        /// Resamples per point.
        reps: usize,
        /// Seed.
        seed: u64,
    },
}

/// One curve: a measure of one group over query counts.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveSeries {
    /// Method label.
    pub method: String,
    /// Dataset label.
    pub dataset: String,
    /// Benchmark.
    pub benchmark: String,
    /// Protocol label (search -> report, incumbent or paper_best_peek).
    pub protocol: String,
    /// Measure.
    pub measure: Measure,
    /// Query counts with at least one value.
    pub q: Vec<usize>,
    /// Mean over seeds at each q.
    pub mean: Vec<f64>,
    /// Lower band edge.
    pub lo: Vec<f64>,
    /// Upper band edge.
    pub hi: Vec<f64>,
    /// Number of runs with a value at each q.
    pub n: Vec<usize>,
}

fn band(vals: &[f64], band: Band, label: &str, q: usize) -> (f64, f64, f64) {
    let d = describe(vals);
    let (lo, hi) = match band {
        Band::Std => (d.mean - d.std, d.mean + d.std),
        Band::Sem95 => (d.mean - 1.96 * d.sem, d.mean + 1.96 * d.sem),
        Band::Bootstrap { reps, seed } => stratified_bootstrap_ci(
            &[vals.to_vec()],
            Statistic::Mean,
            reps,
            0.95,
            &mut stream(label, seed, &format!("bootstrap-q{q}")),
        ),
    };
    // A single run has no spread: the band collapses onto the mean.
    if d.n < 2 {
        (d.mean, d.mean, d.mean)
    } else {
        (d.mean, lo, hi)
    }
}

/// The mean curve of `measure` for each group (benchmark, dataset, method, metrics, noise),
/// over q = 1..=longest run, with a band; points with no value are left out.
pub fn curve(traces: &[RunTrace], measure: Measure, b: Band) -> Vec<CurveSeries> {
    let curves = run_curves(traces);
    let groups = crate::aggregate::group_curves(&curves);
    let mut out = Vec::new();
    for (key, runs) in groups {
        let label = format!("figure/{key:?}/{measure}");
        let mut s = series(&key, measure);
        let max = runs.iter().map(|r| r.len()).max().unwrap_or(0);
        for q in 1..=max {
            let vals: Vec<f64> = runs.iter().filter_map(|r| r.value(measure, q)).collect();
            if vals.is_empty() {
                continue;
            }
            let (m, lo, hi) = band(&vals, b, &label, q);
            s.q.push(q);
            s.mean.push(m);
            s.lo.push(lo);
            s.hi.push(hi);
            s.n.push(vals.len());
        }
        out.push(s);
    }
    out
}

fn series(key: &GroupKey, measure: Measure) -> CurveSeries {
    CurveSeries {
        method: key.method.clone(),
        dataset: key.dataset.clone(),
        benchmark: key.benchmark.clone(),
        protocol: key.protocol(measure),
        measure,
        q: Vec::new(),
        mean: Vec::new(),
        lo: Vec::new(),
        hi: Vec::new(),
        n: Vec::new(),
    }
}

/// A per-iteration predictor diagnostic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Diagnostic {
    /// Kendall tau-b on the true top-50.
    KendallTop50,
    /// Kendall tau-b on the true top-100.
    KendallTop100,
    /// Kendall tau-b on the whole space.
    KendallAll,
    /// Fraction of an iteration's new queries in the true top-50.
    HitRateTop50,
    /// Fraction of an iteration's new queries in the true top-100.
    HitRateTop100,
    /// True rank of the predictor's top-1.
    Top1TrueRank,
}

impl Diagnostic {
    /// Every diagnostic.
    pub const ALL: [Diagnostic; 6] = [
        Diagnostic::KendallTop50,
        Diagnostic::KendallTop100,
        Diagnostic::KendallAll,
        Diagnostic::HitRateTop50,
        Diagnostic::HitRateTop100,
        Diagnostic::Top1TrueRank,
    ];
    /// Column name in the iteration table.
    pub fn name(self) -> &'static str {
        match self {
            Diagnostic::KendallTop50 => "kendall_top50",
            Diagnostic::KendallTop100 => "kendall_top100",
            Diagnostic::KendallAll => "kendall_all",
            Diagnostic::HitRateTop50 => "hit_rate_top50",
            Diagnostic::HitRateTop100 => "hit_rate_top100",
            Diagnostic::Top1TrueRank => "top1_true_rank",
        }
    }
    /// The diagnostic's value in an iteration row (NaN where not applicable).
    pub fn of(self, r: &IterationRow) -> f64 {
        match self {
            Diagnostic::KendallTop50 => r.kendall_top50,
            Diagnostic::KendallTop100 => r.kendall_top100,
            Diagnostic::KendallAll => r.kendall_all,
            Diagnostic::HitRateTop50 => r.hit_rate_top50,
            Diagnostic::HitRateTop100 => r.hit_rate_top100,
            Diagnostic::Top1TrueRank => r.top1_true_rank as f64,
        }
    }
}

/// A diagnostic by iteration, mean ± std over seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosticSeries {
    /// Method label.
    pub method: String,
    /// Dataset label.
    pub dataset: String,
    /// Benchmark.
    pub benchmark: String,
    /// Diagnostic.
    pub diagnostic: Diagnostic,
    /// Iterations with at least one (non-NaN) value.
    pub iteration: Vec<u32>,
    /// Mean number of charged queries when the predictor was fitted, at each iteration.
    pub num_queried: Vec<f64>,
    /// Mean over seeds.
    pub mean: Vec<f64>,
    /// Standard deviation over seeds (NaN for a single run).
    pub std: Vec<f64>,
    /// Runs contributing at each iteration.
    pub n: Vec<usize>,
}

/// Per-iteration series of a diagnostic for every group with iterations (methods without a
/// predictor have none and are left out).
pub fn diagnostics_series(traces: &[RunTrace], diagnostic: Diagnostic) -> Vec<DiagnosticSeries> {
    // per group, per iteration: (values, num_queried)
    type ByIteration = BTreeMap<u32, (Vec<f64>, Vec<f64>)>;
    let mut groups: BTreeMap<GroupKey, ByIteration> = BTreeMap::new();
    for t in traces {
        let g = groups.entry(GroupKey::of(&t.meta)).or_default();
        for r in &t.iterations {
            let v = diagnostic.of(r);
            if v.is_nan() {
                continue;
            }
            let e = g.entry(r.iteration).or_default();
            e.0.push(v);
            e.1.push(r.num_queried as f64);
        }
    }
    groups
        .into_iter()
        .filter(|(_, its)| !its.is_empty())
        .map(|(key, its)| {
            let mut s = DiagnosticSeries {
                method: key.method.clone(),
                dataset: key.dataset.clone(),
                benchmark: key.benchmark.clone(),
                diagnostic,
                iteration: Vec::new(),
                num_queried: Vec::new(),
                mean: Vec::new(),
                std: Vec::new(),
                n: Vec::new(),
            };
            for (it, (vals, nq)) in its {
                let d = describe(&vals);
                s.iteration.push(it);
                s.num_queried.push(crate::stats::mean(&nq));
                s.mean.push(d.mean);
                s.std.push(d.std);
                s.n.push(d.n);
            }
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::synthetic::{trace, values};

    #[test]
    fn curve_aggregates_over_seeds() {
        let t: Vec<_> = (0..4)
            .map(|s| trace("a", "d", s, &values(s, 25, 80.0, 95.0)))
            .collect();
        let c = curve(&t, Measure::Report, Band::Std);
        assert_eq!(c.len(), 1);
        let s = &c[0];
        assert_eq!(s.q, (1..=25).collect::<Vec<_>>());
        let at5: Vec<f64> = t.iter().map(|t| t.incumbents()[4].1).collect();
        let d = describe(&at5);
        assert!((s.mean[4] - d.mean).abs() < 1e-12);
        assert!((s.hi[4] - (d.mean + d.std)).abs() < 1e-12);
        // synthetic report = search - 1, so the incumbent's mean report never decreases
        assert!(s.mean.windows(2).all(|w| w[1] >= w[0]));
        assert!(s.n.iter().all(|&n| n == 4));
        // the peek starts at the first iteration (q = 10)
        let p = curve(
            &t,
            Measure::PaperBestPeek,
            Band::Bootstrap { reps: 100, seed: 1 },
        );
        assert_eq!(p[0].q.first(), Some(&10));
        assert!(p[0].lo.iter().zip(&p[0].mean).all(|(l, m)| l <= m));
        assert_eq!(
            p,
            curve(
                &t,
                Measure::PaperBestPeek,
                Band::Bootstrap { reps: 100, seed: 1 }
            )
        );
    }

    #[test]
    fn diagnostics_by_iteration() {
        let t: Vec<_> = (0..3)
            .map(|s| trace("a", "d", s, &values(s, 30, 80.0, 95.0)))
            .collect();
        let d = diagnostics_series(&t, Diagnostic::KendallTop50);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].iteration, vec![0, 1, 2]);
        assert_eq!(d[0].num_queried, vec![10.0, 20.0, 30.0]);
        assert!((d[0].mean[2] - 0.2).abs() < 1e-12);
        assert!(d[0].std[2].abs() < 1e-12);
        assert_eq!(d[0].n, vec![3, 3, 3]);
        // methods without iterations produce no series
        let mut none = t.clone();
        for x in &mut none {
            x.iterations.clear();
        }
        assert!(diagnostics_series(&none, Diagnostic::HitRateTop50).is_empty());
    }
}
