//! Aggregation over seeds (and over tasks): per (group, measure, q) descriptive statistics
//! with a seeded bootstrap CI, and the queries-to-global-optimum summary.
//!
//! The statistics are computed in Rust (IQM, the stratified bootstrap and Kaplan-Meier have no
//! polars equivalent, and a fixed resampling order keeps CIs bit-identical); the results are
//! available as polars frames ([`curves_frame`], [`summary_frame`]) for writing and further
//! lazy processing.

use crate::curves::{GroupKey, Measure, RunCurve, TaskKey};
use crate::stats::{
    describe, kaplan_meier_median, mean, stratified_bootstrap_ci, BootstrapOptions, Describe,
    Statistic,
};
use anyhow::Result;
use polars::prelude::*;
use std::collections::BTreeMap;
use weaknas_harness::rng::stream;

/// One aggregated point: a measure of a group of runs at query count q.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Group.
    pub key: GroupKey,
    /// Measure.
    pub measure: Measure,
    /// Query count.
    pub q: usize,
    /// Runs in the group (some may have no value at q: fewer queries, or a peek before the
    /// first iteration); `stats.n` counts those that do.
    pub runs: usize,
    /// Descriptive statistics over the runs' values at q.
    pub stats: Describe,
    /// Lower end of the bootstrap CI of the mean (NaN if the bootstrap is off).
    pub ci_lo: f64,
    /// Upper end of the bootstrap CI of the mean.
    pub ci_hi: f64,
}

/// Groups curves by key, keeping input order within a group.
pub fn group_curves(curves: &[RunCurve]) -> BTreeMap<GroupKey, Vec<&RunCurve>> {
    let mut g: BTreeMap<GroupKey, Vec<&RunCurve>> = BTreeMap::new();
    for c in curves {
        g.entry(c.key.clone()).or_default().push(c);
    }
    g
}

/// The q grid: `budgets` if given, else 1..=the longest run.
fn grid(runs: &[&RunCurve], budgets: &[usize]) -> Vec<usize> {
    if budgets.is_empty() {
        (1..=runs.iter().map(|r| r.len()).max().unwrap_or(0)).collect()
    } else {
        budgets.to_vec()
    }
}

fn boot_rng(label: &str, seed: u64, q: usize) -> weaknas_harness::rng::SeedRng {
    stream(label, seed, &format!("bootstrap-q{q}"))
}

/// Aggregates each group's runs (over seeds) at each q of `budgets` (every q when empty),
/// for each measure. The CI is the percentile bootstrap of the mean (`boot.reps = 0` turns it
/// off), with a stream keyed by (group, measure, q, `boot.seed`): deterministic.
pub fn summarize(
    curves: &[RunCurve],
    measures: &[Measure],
    budgets: &[usize],
    boot: &BootstrapOptions,
) -> Vec<SummaryRow> {
    let mut out = Vec::new();
    for (key, runs) in group_curves(curves) {
        for &m in measures {
            for q in grid(&runs, budgets) {
                let vals: Vec<f64> = runs.iter().filter_map(|r| r.value(m, q)).collect();
                if vals.is_empty() {
                    continue;
                }
                let (ci_lo, ci_hi) = if boot.reps > 0 {
                    let label = format!("{key:?}/{m}");
                    stratified_bootstrap_ci(
                        std::slice::from_ref(&vals),
                        Statistic::Mean,
                        boot.reps,
                        boot.confidence,
                        &mut boot_rng(&label, boot.seed, q),
                    )
                } else {
                    (f64::NAN, f64::NAN)
                };
                out.push(SummaryRow {
                    key: key.clone(),
                    measure: m,
                    q,
                    runs: runs.len(),
                    stats: describe(&vals),
                    ci_lo,
                    ci_hi,
                });
            }
        }
    }
    out
}

/// Aggregate of one method over several tasks at query count q.
#[derive(Clone, Debug, PartialEq)]
pub struct AcrossTasksRow {
    /// Method label.
    pub method: String,
    /// Measure (use regrets: raw accuracies of different datasets do not mix).
    pub measure: Measure,
    /// Query count.
    pub q: usize,
    /// Tasks with at least one value at q.
    pub tasks: usize,
    /// Values pooled over tasks.
    pub n: usize,
    /// Mean of the per-task means (each task weighs the same).
    pub mean: f64,
    /// IQM of the pooled values.
    pub iqm: f64,
    /// Stratified-bootstrap CI of `mean` (tasks are strata, runs resampled within a task).
    pub mean_ci: (f64, f64),
    /// Stratified-bootstrap CI of `iqm`.
    pub iqm_ci: (f64, f64),
}

/// Aggregates each method across tasks (strata = [`TaskKey`]) with rliable's stratified
/// bootstrap. Methods are matched by label.
pub fn summarize_across_tasks(
    curves: &[RunCurve],
    measures: &[Measure],
    budgets: &[usize],
    boot: &BootstrapOptions,
) -> Vec<AcrossTasksRow> {
    let mut by_method: BTreeMap<String, BTreeMap<TaskKey, Vec<&RunCurve>>> = BTreeMap::new();
    for c in curves {
        by_method
            .entry(c.key.method.clone())
            .or_default()
            .entry(c.key.task())
            .or_default()
            .push(c);
    }
    let mut out = Vec::new();
    for (method, tasks) in by_method {
        let all: Vec<&RunCurve> = tasks.values().flatten().copied().collect();
        for &m in measures {
            for q in grid(&all, budgets) {
                let strata: Vec<Vec<f64>> = tasks
                    .values()
                    .map(|runs| runs.iter().filter_map(|r| r.value(m, q)).collect())
                    .filter(|v: &Vec<f64>| !v.is_empty())
                    .collect();
                if strata.is_empty() {
                    continue;
                }
                let label = format!("across/{method}/{m}");
                let ci = |s: Statistic, tag: &str| {
                    if boot.reps == 0 {
                        return (f64::NAN, f64::NAN);
                    }
                    stratified_bootstrap_ci(
                        &strata,
                        s,
                        boot.reps,
                        boot.confidence,
                        &mut boot_rng(&format!("{label}/{tag}"), boot.seed, q),
                    )
                };
                out.push(AcrossTasksRow {
                    method: method.clone(),
                    measure: m,
                    q,
                    tasks: strata.len(),
                    n: strata.iter().map(|s| s.len()).sum(),
                    mean: Statistic::Mean.of_strata(&strata),
                    iqm: Statistic::Iqm.of_strata(&strata),
                    mean_ci: ci(Statistic::Mean, "mean"),
                    iqm_ci: ci(Statistic::Iqm, "iqm"),
                });
            }
        }
    }
    out
}

/// Which optimum a found-at time refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OptimumTarget {
    /// The cell(s) with the best search-metric mean.
    Search,
    /// The cell(s) with the best report-metric mean.
    Report,
}

impl OptimumTarget {
    /// `search` or `report`.
    pub fn name(self) -> &'static str {
        match self {
            OptimumTarget::Search => "search",
            OptimumTarget::Report => "report",
        }
    }
}

/// Queries-to-global-optimum of a group of runs, with censoring (runs that never queried
/// the optimum are censored at the number of queries they made).
#[derive(Clone, Debug, PartialEq)]
pub struct FoundOptimum {
    /// Group.
    pub key: GroupKey,
    /// Which optimum.
    pub target: OptimumTarget,
    /// Runs.
    pub runs: usize,
    /// Runs that queried the optimum.
    pub found: usize,
    /// `found / runs`.
    pub frac_found: f64,
    /// Kaplan-Meier median of the found-at time (`None`: more than half the runs are
    /// censored, so the median exceeds the budget).
    pub km_median: Option<f64>,
    /// Mean found-at time over the runs that found it (NaN if none): biased low under
    /// censoring, label it "among found".
    pub mean_found: f64,
    /// Mean of min(found-at, queries made): a lower bound of the mean when any run is
    /// censored (exact when none is).
    pub restricted_mean: f64,
    /// Largest number of queries made by a run of the group (the censoring horizon).
    pub horizon: usize,
}

/// Per run, (queries until it first queried the `target` optimum, true) or, for a run that
/// never did, (queries it made, false): survival times with their event flag.
pub fn found_times(runs: &[&RunCurve], target: OptimumTarget) -> Vec<(f64, bool)> {
    runs.iter()
        .map(|r| {
            let at = match target {
                OptimumTarget::Search => r.found_search_at,
                OptimumTarget::Report => r.found_report_at,
            };
            match at {
                Some(q) => (q as f64, true),
                None => (r.len() as f64, false),
            }
        })
        .collect()
}

/// The queries-to-global-optimum summary of every group, for both targets.
pub fn found_optimum(curves: &[RunCurve]) -> Vec<FoundOptimum> {
    let mut out = Vec::new();
    for (key, runs) in group_curves(curves) {
        for target in [OptimumTarget::Search, OptimumTarget::Report] {
            let times = found_times(&runs, target);
            let found: Vec<f64> = times.iter().filter(|t| t.1).map(|t| t.0).collect();
            out.push(FoundOptimum {
                key: key.clone(),
                target,
                runs: runs.len(),
                found: found.len(),
                frac_found: found.len() as f64 / runs.len() as f64,
                km_median: kaplan_meier_median(&times),
                mean_found: mean(&found),
                restricted_mean: mean(&times.iter().map(|t| t.0).collect::<Vec<_>>()),
                horizon: runs.iter().map(|r| r.len()).max().unwrap_or(0),
            });
        }
    }
    out
}

fn key_columns(keys: &[&GroupKey]) -> Vec<Column> {
    let s = |name: &str, f: fn(&GroupKey) -> &str| {
        Column::new(
            name.into(),
            keys.iter().map(|k| f(k).to_string()).collect::<Vec<_>>(),
        )
    };
    vec![
        s("benchmark", |k| &k.benchmark),
        s("dataset", |k| &k.dataset),
        s("method", |k| &k.method),
        s("method_kind", |k| &k.method_kind),
        s("search_metric", |k| &k.search_metric),
        s("report_metric", |k| &k.report_metric),
        s("noise", |k| &k.noise),
    ]
}

/// Long frame of per-run curves: one row per (run, q in `budgets` or every q), with columns
/// benchmark, dataset, method, method_kind, search_metric, report_metric, noise, run_id,
/// seed, q and one f64 column per [`Measure`] (null where undefined).
pub fn curves_frame(curves: &[RunCurve], budgets: &[usize]) -> Result<DataFrame> {
    let mut keys = Vec::new();
    let (mut run_id, mut seed, mut qs) = (Vec::new(), Vec::new(), Vec::new());
    let mut vals: Vec<Vec<Option<f64>>> = vec![Vec::new(); Measure::ALL.len()];
    for c in curves {
        let g: Vec<usize> = if budgets.is_empty() {
            (1..=c.len()).collect()
        } else {
            budgets.iter().copied().filter(|&q| q <= c.len()).collect()
        };
        for q in g {
            keys.push(&c.key);
            run_id.push(c.run_id.clone());
            seed.push(c.seed);
            qs.push(q as u64);
            for (v, m) in vals.iter_mut().zip(Measure::ALL) {
                v.push(c.value(m, q));
            }
        }
    }
    let n = qs.len();
    let mut cols = key_columns(&keys);
    cols.push(Column::new("run_id".into(), run_id));
    cols.push(Column::new("seed".into(), seed));
    cols.push(Column::new("q".into(), qs));
    for (v, m) in vals.into_iter().zip(Measure::ALL) {
        cols.push(Column::new(m.name().into(), v));
    }
    Ok(DataFrame::new(n, cols)?)
}

/// Frame of summary rows: key columns, measure, protocol, q, runs, n, mean, std, sem,
/// median, iqm, ci_lo, ci_hi.
pub fn summary_frame(rows: &[SummaryRow]) -> Result<DataFrame> {
    let keys: Vec<&GroupKey> = rows.iter().map(|r| &r.key).collect();
    let mut cols = key_columns(&keys);
    let f = |name: &str, g: fn(&SummaryRow) -> f64| {
        Column::new(name.into(), rows.iter().map(g).collect::<Vec<_>>())
    };
    cols.extend([
        Column::new(
            "measure".into(),
            rows.iter()
                .map(|r| r.measure.name().to_string())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "protocol".into(),
            rows.iter()
                .map(|r| r.measure.protocol().to_string())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "q".into(),
            rows.iter().map(|r| r.q as u64).collect::<Vec<_>>(),
        ),
        Column::new(
            "runs".into(),
            rows.iter().map(|r| r.runs as u64).collect::<Vec<_>>(),
        ),
        Column::new(
            "n".into(),
            rows.iter().map(|r| r.stats.n as u64).collect::<Vec<_>>(),
        ),
        f("mean", |r| r.stats.mean),
        f("std", |r| r.stats.std),
        f("sem", |r| r.stats.sem),
        f("median", |r| r.stats.median),
        f("iqm", |r| r.stats.iqm),
        f("ci_lo", |r| r.ci_lo),
        f("ci_hi", |r| r.ci_hi),
    ]);
    Ok(DataFrame::new(rows.len(), cols)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::run_curves;
    use crate::curves::synthetic::{trace, values};

    fn synthetic_curves() -> Vec<RunCurve> {
        let mut t = Vec::new();
        for seed in 0..6 {
            t.push(trace("a", "d1", seed, &values(seed, 50, 80.0, 99.0)));
            t.push(trace("b", "d1", seed, &values(seed + 100, 50, 70.0, 95.0)));
            t.push(trace("a", "d2", seed, &values(seed + 200, 40, 50.0, 60.0)));
        }
        run_curves(&t)
    }

    #[test]
    fn summary_matches_hand_computation_and_polars() {
        let curves = synthetic_curves();
        let boot = BootstrapOptions {
            reps: 300,
            ..Default::default()
        };
        let rows = summarize(&curves, &[Measure::Report], &[10, 50], &boot);
        // groups (a,d1) (a,d2) (b,d1); (a,d2) has only 40 queries -> no row at q = 50
        assert_eq!(rows.len(), 5);
        let r = rows
            .iter()
            .find(|r| r.key.method == "a" && r.key.dataset == "d1" && r.q == 10)
            .unwrap();
        let vals: Vec<f64> = curves
            .iter()
            .filter(|c| c.key.method == "a" && c.key.dataset == "d1")
            .map(|c| c.incumbent_report[9])
            .collect();
        assert_eq!(r.stats, describe(&vals));
        assert!(r.ci_lo <= r.stats.mean && r.stats.mean <= r.ci_hi);
        assert_eq!(
            rows,
            summarize(&curves, &[Measure::Report], &[10, 50], &boot)
        );

        // The same mean/std/median with a polars lazy group-by over the long frame.
        let df = curves_frame(&curves, &[10, 50]).unwrap();
        let agg = df
            .lazy()
            .group_by([col("method"), col("dataset"), col("q")])
            .agg([
                col("report").mean().alias("mean"),
                col("report").std(1).alias("std"),
                col("report").median().alias("median"),
                col("report").count().alias("n"),
            ])
            .filter(col("method").eq(lit("a")))
            .filter(col("dataset").eq(lit("d1")))
            .filter(col("q").eq(lit(10u64)))
            .collect()
            .unwrap();
        let get = |c: &str| agg.column(c).unwrap().f64().unwrap().get(0).unwrap();
        assert!((get("mean") - r.stats.mean).abs() < 1e-9);
        assert!((get("std") - r.stats.std).abs() < 1e-9);
        assert!((get("median") - r.stats.median).abs() < 1e-9);
        let sf = summary_frame(&rows).unwrap();
        assert_eq!(sf.height(), 5);
    }

    #[test]
    fn across_tasks_weights_tasks_equally() {
        let curves = synthetic_curves();
        let rows = summarize_across_tasks(
            &curves,
            &[Measure::ReportRegret],
            &[40],
            &BootstrapOptions {
                reps: 200,
                ..Default::default()
            },
        );
        let a = rows.iter().find(|r| r.method == "a").unwrap();
        assert_eq!(a.tasks, 2);
        assert_eq!(a.n, 12);
        let per_task: Vec<f64> = ["d1", "d2"]
            .iter()
            .map(|d| {
                mean(
                    &curves
                        .iter()
                        .filter(|c| c.key.method == "a" && c.key.dataset == *d)
                        .map(|c| c.value(Measure::ReportRegret, 40).unwrap())
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        assert!((a.mean - mean(&per_task)).abs() < 1e-12);
        assert!(a.mean_ci.0 <= a.mean && a.mean <= a.mean_ci.1);
    }

    #[test]
    fn found_optimum_handles_censoring() {
        // 3 runs reach the optimum (100) at q = 2, 4, 6; two never do (budget 8).
        let mk = |seed, hit: Option<usize>| {
            let mut v = vec![90.0; 8];
            if let Some(q) = hit {
                v[q - 1] = 100.0;
            }
            trace("m", "d", seed, &v)
        };
        let t = vec![
            mk(1, Some(2)),
            mk(2, Some(4)),
            mk(3, Some(6)),
            mk(4, None),
            mk(5, None),
        ];
        let f = found_optimum(&run_curves(&t));
        let s = f
            .iter()
            .find(|f| f.target == OptimumTarget::Search)
            .unwrap();
        assert_eq!((s.runs, s.found), (5, 3));
        assert!((s.frac_found - 0.6).abs() < 1e-12);
        // S(2) = .8, S(4) = .6, S(6) = .4 -> KM median 6
        assert_eq!(s.km_median, Some(6.0));
        assert!((s.mean_found - 4.0).abs() < 1e-12);
        assert!((s.restricted_mean - (2.0 + 4.0 + 6.0 + 8.0 + 8.0) / 5.0).abs() < 1e-12);
        assert_eq!(s.horizon, 8);
        // The report optimum (100) is never queried (report = value - 1): all censored.
        let r = f
            .iter()
            .find(|f| f.target == OptimumTarget::Report)
            .unwrap();
        assert_eq!(r.found, 0);
        assert_eq!(r.km_median, None);
        assert!(r.mean_found.is_nan());
    }
}
