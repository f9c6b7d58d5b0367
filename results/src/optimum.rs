//! Samples to the global optimum (the WeakNAS abstract's headline measure): per method, the
//! number of queries until a global optimum is queried — mean ± std, median, a bootstrap CI
//! of the mean, the ratio of each method's mean to a reference method's (bootstrap CI), and
//! random search's closed form (N + 1) / (k + 1) for k optimal cells among N.
//!
//! Runs made with `stop = "optimum"` and a budget up to the space size are never censored;
//! a run that did not query the optimum counts at the number of queries it made (a lower
//! bound) and the row says how many were censored.

use crate::aggregate::{found_times, group_curves, OptimumTarget};
use crate::curves::{GroupKey, RunCurve, TaskKey};
use crate::stats::describe::{bootstrap_ci, describe, mean, percentile_sorted, Statistic};
use crate::stats::Describe;
use crate::table::{num, CsvData, Table};
use rand::Rng;
use std::collections::BTreeMap;
use weaknas_harness::rng::stream;

/// Bootstrap resamples of the CIs of this module.
pub const BOOTSTRAP_REPS: usize = 10_000;

/// Expected number of queries random search (uniform, without replacement) makes until it
/// first draws one of `k` marked cells among `n`: (n + 1) / (k + 1). NaN if unknown.
pub fn random_search_expected_queries(n: usize, k: usize) -> f64 {
    if n == 0 || k == 0 || k > n {
        f64::NAN
    } else {
        (n as f64 + 1.0) / (k as f64 + 1.0)
    }
}

/// A method's mean relative to the reference method's, with a bootstrap CI.
#[derive(Clone, Debug, PartialEq)]
pub struct Ratio {
    /// Reference method label.
    pub reference: String,
    /// mean(this method) / mean(reference).
    pub value: f64,
    /// 95% percentile-bootstrap CI (both groups resampled independently).
    pub ci: (f64, f64),
}

/// Samples-to-optimum statistics of one group of runs.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimumStats {
    /// Group.
    pub key: GroupKey,
    /// Which optimum.
    pub target: OptimumTarget,
    /// Runs.
    pub runs: usize,
    /// Runs that never queried the optimum (counted at the queries they made).
    pub censored: usize,
    /// Queries to the optimum, per run (censored runs: queries made), in seed order.
    pub times: Vec<f64>,
    /// Seeds of `times`.
    pub seeds: Vec<u64>,
    /// Descriptive statistics of `times`.
    pub stats: Describe,
    /// 95% bootstrap CI of the mean.
    pub ci: (f64, f64),
    /// Cells with a value of the search metric (N; 0 where unknown).
    pub space_size: usize,
    /// Cells sharing the optimum (k; 0 where unknown).
    pub optimum_cells: usize,
    /// Ratio to the reference method (None for the reference itself or without one).
    pub ratio: Option<Ratio>,
}

impl OptimumStats {
    /// Random search's closed-form expectation for this task, (N + 1) / (k + 1).
    pub fn closed_form_random(&self) -> f64 {
        random_search_expected_queries(self.space_size, self.optimum_cells)
    }
}

/// Which optima a group's runs can answer for: runs stopped at one optimum say nothing
/// about the other.
fn targets_of(runs: &[&RunCurve]) -> Vec<OptimumTarget> {
    if runs.iter().all(|r| r.stop == "search-optimum") {
        vec![OptimumTarget::Search]
    } else if runs.iter().all(|r| r.stop == "report-optimum") {
        vec![OptimumTarget::Report]
    } else {
        vec![OptimumTarget::Search, OptimumTarget::Report]
    }
}

fn ratio_ci(x: &[f64], y: &[f64], label: &str) -> (f64, f64) {
    if x.is_empty() || y.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = stream(label, 0, "ratio-bootstrap");
    let mut stats = Vec::with_capacity(BOOTSTRAP_REPS);
    for _ in 0..BOOTSTRAP_REPS {
        let mx = (0..x.len())
            .map(|_| x[rng.random_range(0..x.len())])
            .sum::<f64>()
            / x.len() as f64;
        let my = (0..y.len())
            .map(|_| y[rng.random_range(0..y.len())])
            .sum::<f64>()
            / y.len() as f64;
        stats.push(mx / my);
    }
    stats.sort_by(|a, b| a.total_cmp(b));
    (
        percentile_sorted(&stats, 0.025),
        percentile_sorted(&stats, 0.975),
    )
}

/// Samples-to-optimum statistics of every group, with ratios to `reference` (a method
/// label) within each task.
pub fn samples_to_optimum(curves: &[RunCurve], reference: &str) -> Vec<OptimumStats> {
    let mut out: Vec<OptimumStats> = Vec::new();
    for (key, runs) in group_curves(curves) {
        let mut runs = runs;
        runs.sort_by_key(|r| r.seed);
        for target in targets_of(&runs) {
            let times = found_times(&runs, target);
            let t: Vec<f64> = times.iter().map(|x| x.0).collect();
            let label = format!("optimum/{key:?}/{}", target.name());
            let ci = bootstrap_ci(
                &t,
                Statistic::Mean,
                BOOTSTRAP_REPS,
                0.95,
                &mut stream(&label, 0, "bootstrap"),
            );
            let first = runs[0];
            out.push(OptimumStats {
                key: key.clone(),
                target,
                runs: runs.len(),
                censored: times.iter().filter(|x| !x.1).count(),
                stats: describe(&t),
                times: t,
                seeds: runs.iter().map(|r| r.seed).collect(),
                ci,
                space_size: first.space_size,
                optimum_cells: match target {
                    OptimumTarget::Search => first.search_optimum_cells,
                    OptimumTarget::Report => first.report_optimum_cells,
                },
                ratio: None,
            });
        }
    }
    let by_task: BTreeMap<(TaskKey, OptimumTarget), Vec<f64>> = out
        .iter()
        .filter(|s| s.key.method == reference)
        .map(|s| ((s.key.task(), s.target), s.times.clone()))
        .collect();
    for s in &mut out {
        if s.key.method == reference {
            continue;
        }
        if let Some(y) = by_task.get(&(s.key.task(), s.target)) {
            let label = format!("ratio/{:?}/{}", s.key, s.target.name());
            s.ratio = Some(Ratio {
                reference: reference.to_string(),
                value: mean(&s.times) / mean(y),
                ci: ratio_ci(&s.times, y, &label),
            });
        }
    }
    out
}

/// The samples-to-optimum table: markdown with `mean ± std`, the median, the CI, the ratio
/// to the reference and random search's closed form; CSV with one numeric column each.
pub fn optimum_stats_table(rows: &[OptimumStats]) -> Table {
    let header = [
        "benchmark",
        "dataset",
        "method",
        "optimum of (k cells / N)",
        "runs",
        "censored",
        "mean ± std",
        "median",
        "95% CI of mean",
        "ratio to reference [95% CI]",
        "random search closed form",
    ]
    .map(String::from)
    .to_vec();
    let mut data = CsvData::new(&[
        "benchmark",
        "dataset",
        "method",
        "method_kind",
        "search_metric",
        "report_metric",
        "optimum_of",
        "optimum_cells",
        "space_size",
        "runs",
        "censored",
        "mean",
        "std",
        "median",
        "min",
        "max",
        "ci_lo",
        "ci_hi",
        "reference",
        "ratio",
        "ratio_ci_lo",
        "ratio_ci_hi",
        "closed_form_random",
    ]);
    let mut t = Table {
        title: "Queries until a global optimum is queried".into(),
        header,
        ..Default::default()
    };
    for s in rows {
        let metric = match s.target {
            OptimumTarget::Search => &s.key.search_metric,
            OptimumTarget::Report => &s.key.report_metric,
        };
        let closed = s.closed_form_random();
        let ge = if s.censored > 0 { "≥ " } else { "" };
        t.rows.push(vec![
            s.key.benchmark.clone(),
            s.key.dataset.clone(),
            s.key.method.clone(),
            format!(
                "{} {metric} ({} / {})",
                s.target.name(),
                s.optimum_cells,
                s.space_size
            ),
            s.runs.to_string(),
            s.censored.to_string(),
            format!("{ge}{:.1} ± {:.1}", s.stats.mean, s.stats.std),
            format!("{:.1}", s.stats.median),
            format!("[{:.1}, {:.1}]", s.ci.0, s.ci.1),
            match &s.ratio {
                Some(r) => format!("{:.2} [{:.2}, {:.2}]", r.value, r.ci.0, r.ci.1),
                None => "–".into(),
            },
            if s.key.method_kind == "random" && !closed.is_nan() {
                format!("{closed:.1}")
            } else {
                "–".into()
            },
        ]);
        let min = s.times.iter().copied().fold(f64::INFINITY, f64::min);
        let max = s.times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        data.rows.push(vec![
            s.key.benchmark.clone(),
            s.key.dataset.clone(),
            s.key.method.clone(),
            s.key.method_kind.clone(),
            s.key.search_metric.clone(),
            s.key.report_metric.clone(),
            s.target.name().into(),
            s.optimum_cells.to_string(),
            s.space_size.to_string(),
            s.runs.to_string(),
            s.censored.to_string(),
            num(s.stats.mean),
            num(s.stats.std),
            num(s.stats.median),
            num(min),
            num(max),
            num(s.ci.0),
            num(s.ci.1),
            s.ratio
                .as_ref()
                .map(|r| r.reference.clone())
                .unwrap_or_default(),
            s.ratio.as_ref().map(|r| num(r.value)).unwrap_or_default(),
            s.ratio.as_ref().map(|r| num(r.ci.0)).unwrap_or_default(),
            s.ratio.as_ref().map(|r| num(r.ci.1)).unwrap_or_default(),
            if s.key.method_kind == "random" {
                num(closed)
            } else {
                String::new()
            },
        ]);
    }
    t.notes.push(
        "k cells share the optimum (ties count: reaching any of them is finding it); N cells can be queried. Random search's closed form (N + 1) / (k + 1) is the expected position of the first of k marked cells in a uniform random order."
            .into(),
    );
    t.notes.push(
        "ratio = mean queries of the method / mean queries of the reference; 95% percentile bootstrap, both groups resampled independently (10,000 resamples)."
            .into(),
    );
    if rows.iter().any(|s| s.censored > 0) {
        t.notes.push(
            "≥: some runs never queried the optimum and count at the queries they made (a lower bound)."
                .into(),
        );
    }
    t.csv = Some(data);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::synthetic::trace;
    use crate::curves::RunCurve;

    /// A synthetic run of `method` that first queries the optimum (value 100) at `at`.
    fn run(method: &str, kind: &str, seed: u64, at: usize, len: usize) -> RunCurve {
        let values: Vec<f64> = (1..=len)
            .map(|q| if q == at { 100.0 } else { 50.0 })
            .collect();
        let mut t = trace(method, "d", seed, &values);
        t.meta.method_kind = kind.into();
        t.meta.stop = "search-optimum".into();
        t.meta.space_size = 1000;
        t.meta.search_optimum_cells = 1;
        RunCurve::from_trace(&t)
    }

    #[test]
    fn closed_form_matches_enumeration() {
        // N = 5, k = 2: positions of the first marked cell over all C(5, 2) placements.
        let mut total = 0.0;
        let mut count = 0.0;
        for a in 1..=5 {
            for b in (a + 1)..=5 {
                total += a as f64;
                count += 1.0;
                let _ = b;
            }
        }
        assert!((random_search_expected_queries(5, 2) - total / count).abs() < 1e-12);
        assert_eq!(random_search_expected_queries(15625, 1), 7813.0);
        assert!(random_search_expected_queries(0, 1).is_nan());
    }

    #[test]
    fn stats_ratio_and_censoring() {
        let mut curves = Vec::new();
        for (seed, at) in [(0, 10), (1, 20), (2, 30)] {
            curves.push(run("W", "weaknas", seed, at, at));
        }
        for (seed, at) in [(0, 40), (1, 80), (2, 60)] {
            curves.push(run("R", "random", seed, at, at));
        }
        // One censored run: never reached the optimum within its 70 queries.
        curves.push(run("E", "evolution", 0, 0, 70));
        let rows = samples_to_optimum(&curves, "W");
        assert_eq!(
            rows.len(),
            3,
            "one target (search) per group under stop = optimum"
        );
        let r = rows.iter().find(|s| s.key.method == "R").unwrap();
        assert_eq!(r.times, vec![40.0, 80.0, 60.0]);
        assert_eq!((r.stats.mean, r.stats.median, r.censored), (60.0, 60.0, 0));
        let ratio = r.ratio.as_ref().unwrap();
        assert_eq!(ratio.value, 3.0);
        assert!(
            ratio.ci.0 <= 3.0 && 3.0 <= ratio.ci.1 && ratio.ci.0 > 1.0,
            "{ratio:?}"
        );
        assert!((r.closed_form_random() - 1001.0 / 2.0).abs() < 1e-12);
        let w = rows.iter().find(|s| s.key.method == "W").unwrap();
        assert!(w.ratio.is_none());
        assert!(w.ci.0 >= 10.0 && w.ci.1 <= 30.0);
        let e = rows.iter().find(|s| s.key.method == "E").unwrap();
        assert_eq!((e.censored, e.times[0]), (1, 70.0));
        let t = optimum_stats_table(&rows);
        let md = t.to_markdown();
        assert!(md.contains("≥ 70.0"), "{md}");
        assert!(md.contains("3.00 ["), "{md}");
        let csv = t.to_csv().unwrap();
        let header = csv.lines().next().unwrap();
        assert!(header.contains("mean,std,median"), "{header}");
        let r_line = csv
            .lines()
            .find(|l| l.starts_with("synthetic,d,R,"))
            .unwrap();
        assert!(r_line.contains(",60,"), "numeric mean: {r_line}");
        assert!(r_line.ends_with(",500.5"), "closed form: {r_line}");
    }
}
