//! The figure sections of a report, one function each: pure functions of traces that return
//! [`Section::Figure`]s (drawn by [`crate::write_report`]).

use crate::{slug, Section};
use std::collections::{BTreeMap, BTreeSet};
use weaknas_harness::trace::RunTrace;
use weaknas_plots::{EcdfCurve, EcdfFigure, LineFigure, LineSeries, ScatterFigure, ScatterPanel};
use weaknas_results::{curve, diagnostics_series, Band, Diagnostic, Measure};

fn run_ids(traces: &[RunTrace]) -> Vec<String> {
    traces.iter().map(|t| t.meta.run_id.clone()).collect()
}

/// Curves of at least this many queries start at this query count: the first few queries
/// (a handful of uniform samples, their std band spanning tens of points) would otherwise set
/// the y axis and flatten every difference that matters.
pub const CURVE_FIRST_Q: usize = 10;

/// Incumbent curves (mean ± std over seeds), one figure per (benchmark, dataset), with the
/// global optimum as a line where it is known; from [`CURVE_FIRST_Q`] queries on when the
/// curves reach 10 times that.
pub fn curves(traces: &[RunTrace]) -> Vec<Section> {
    let mut by_task: BTreeMap<(String, String), Vec<_>> = BTreeMap::new();
    for s in curve(traces, Measure::Report, Band::Std) {
        by_task
            .entry((s.benchmark.clone(), s.dataset.clone()))
            .or_default()
            .push(s);
    }
    let mut out = Vec::new();
    for ((bench, dataset), ss) in by_task {
        let Some(t0) = traces
            .iter()
            .find(|t| t.meta.benchmark == bench && t.meta.dataset == dataset)
        else {
            continue;
        };
        let known = t0.meta.report_optimum.is_finite();
        let last_q = ss
            .iter()
            .flat_map(|s| s.q.iter().copied())
            .max()
            .unwrap_or(0);
        let first_q = if last_q >= 10 * CURVE_FIRST_Q {
            CURVE_FIRST_Q
        } else {
            1
        };
        let keep = |s: &weaknas_results::CurveSeries, v: &[f64]| -> Vec<f64> {
            s.q.iter()
                .zip(v)
                .filter(|(&q, _)| q >= first_q)
                .map(|(_, &y)| y)
                .collect()
        };
        let title = format!("{bench} {dataset}: best found vs queries");
        let fig = LineFigure {
            title: title.clone(),
            x_label: if first_q > 1 {
                format!("queries (from {first_q})")
            } else {
                "queries".into()
            },
            // Tabular stores hold accuracies in percent; an open-domain command reports
            // whatever unit it chooses.
            y_label: if known {
                format!("{} of incumbent (%)", t0.meta.report_metric)
            } else {
                format!("{} of incumbent", t0.meta.report_metric)
            },
            log_x: false,
            series: ss
                .iter()
                .map(|s| LineSeries {
                    name: s.method.clone(),
                    x: s.q
                        .iter()
                        .filter(|&&q| q >= first_q)
                        .map(|&q| q as f64)
                        .collect(),
                    y: keep(s, &s.mean),
                    band: Some((keep(s, &s.lo), keep(s, &s.hi))),
                })
                .collect(),
            hline: known.then(|| ("global optimum".into(), t0.meta.report_optimum)),
        };
        out.push(Section::Figure {
            name: format!("curve_{}_{}", slug(&bench), slug(&dataset)),
            title,
            figure: fig.into(),
            run_ids: run_ids(traces),
            content: "incumbent curves".into(),
        });
    }
    out
}

/// Search dynamics per iteration (hit rate and Kendall tau on the true top-50), one figure
/// per (diagnostic, benchmark, dataset); runs with a known truth (tabular) only.
pub fn dynamics(traces: &[RunTrace]) -> Vec<Section> {
    let with_truth: Vec<RunTrace> = traces
        .iter()
        .filter(|t| t.meta.report_optimum.is_finite())
        .cloned()
        .collect();
    let mut out = Vec::new();
    for (diag, label) in [
        (
            Diagnostic::HitRateTop50,
            "P(sampled cell in the true top-50)",
        ),
        (Diagnostic::KendallTop50, "Kendall tau on the true top-50"),
    ] {
        let mut by_task: BTreeMap<(String, String), Vec<_>> = BTreeMap::new();
        for s in diagnostics_series(&with_truth, diag) {
            by_task
                .entry((s.benchmark.clone(), s.dataset.clone()))
                .or_default()
                .push(s);
        }
        for ((bench, dataset), ss) in by_task {
            let shifted = |s: &weaknas_results::DiagnosticSeries, sign: f64| -> Vec<f64> {
                s.mean
                    .iter()
                    .zip(&s.std)
                    .map(|(m, d)| m + sign * if d.is_nan() { 0.0 } else { *d })
                    .collect()
            };
            let fig = LineFigure {
                title: format!("{bench} {dataset}: {label}"),
                x_label: "iteration".into(),
                y_label: format!("{label}, mean ± std"),
                log_x: false,
                series: ss
                    .iter()
                    .map(|s| LineSeries {
                        name: s.method.clone(),
                        x: s.iteration.iter().map(|&i| i as f64).collect(),
                        y: s.mean.clone(),
                        band: Some((shifted(s, -1.0), shifted(s, 1.0))),
                    })
                    .collect(),
                hline: None,
            };
            out.push(Section::Figure {
                name: format!(
                    "dynamics_{}_{}_{}",
                    diag.name(),
                    slug(&bench),
                    slug(&dataset)
                ),
                title: format!("Search dynamics: {label} ({bench} {dataset})"),
                figure: fig.into(),
                run_ids: run_ids(traces),
                content: diag.name().into(),
            });
        }
    }
    out
}

/// Iterations shown of a recorded ranking: all of them up to six, else six spread evenly.
fn picked_iterations(t: &RunTrace) -> Vec<u32> {
    let iters: Vec<u32> = t
        .rankings
        .iter()
        .map(|r| r.iteration)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if iters.len() <= 6 {
        iters
    } else {
        (0..6).map(|i| iters[i * (iters.len() - 1) / 5]).collect()
    }
}

/// From recorded rankings (first seed of each method and task, tabular runs): predicted vs
/// true scatter panels and the error distribution of the predicted top-k. `truth` gives the
/// search metric of every cell of a run's space (for the true top-k threshold).
pub fn predictions(
    traces: &[RunTrace],
    truth: impl Fn(&RunTrace) -> Option<Vec<f64>>,
) -> Vec<Section> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for t in traces
        .iter()
        .filter(|t| !t.rankings.is_empty() && t.meta.report_optimum.is_finite())
    {
        if !seen.insert((&t.meta.method, &t.meta.benchmark, &t.meta.dataset)) {
            continue;
        }
        let pick = picked_iterations(t);
        let top_k = t
            .rankings
            .iter()
            .map(|r| r.predicted_rank)
            .max()
            .unwrap_or(0);
        let mut sorted_truth: Vec<f64> = truth(t)
            .unwrap_or_default()
            .into_iter()
            .filter(|v| v.is_finite())
            .collect();
        sorted_truth.sort_by(|a, b| b.total_cmp(a));
        let panels = pick
            .iter()
            .map(|&it| {
                let rs: Vec<_> = t.rankings.iter().filter(|r| r.iteration == it).collect();
                let cutoff = rs
                    .iter()
                    .find(|r| r.predicted_rank == top_k)
                    .map(|r| r.predicted);
                let q = t
                    .iterations
                    .iter()
                    .find(|r| r.iteration == it)
                    .map(|r| r.num_queried)
                    .unwrap_or(0);
                ScatterPanel {
                    title: format!("iteration {it} ({q} queries)"),
                    x: rs.iter().map(|r| r.truth).collect(),
                    y: rs.iter().map(|r| r.predicted).collect(),
                    x_threshold: sorted_truth.get(top_k.saturating_sub(1) as usize).copied(),
                    y_threshold: cutoff,
                }
            })
            .collect();
        let m = &t.meta;
        let scatter = ScatterFigure {
            title: format!(
                "{} on {} {}: predicted vs true (seed {})",
                m.method, m.benchmark, m.dataset, m.seed
            ),
            x_label: format!("true {} (%)", m.search_metric),
            y_label: "predicted score".into(),
            panels,
            columns: None,
            share_x: true,
            x_threshold_label: format!("true top-{top_k}"),
            y_threshold_label: format!("predicted top-{top_k} cut-off"),
        };
        let base = format!(
            "{}_{}_{}",
            slug(&m.method),
            slug(&m.benchmark),
            slug(&m.dataset)
        );
        out.push(Section::Figure {
            name: format!("scatter_{base}"),
            title: format!("Predicted vs true, {} ({})", m.method, m.dataset),
            figure: scatter.into(),
            run_ids: vec![m.run_id.clone()],
            content: "predicted vs true".into(),
        });
        let ecdf = EcdfFigure {
            title: format!(
                "{}: error of the predicted top-{top_k} ({} {})",
                m.method, m.benchmark, m.dataset
            ),
            x_label: "global optimum − true accuracy (%)".into(),
            y_label: format!("fraction of the predicted top-{top_k}"),
            log_x: false,
            curves: pick
                .iter()
                .map(|&it| EcdfCurve {
                    name: format!("iteration {it}"),
                    values: t
                        .rankings
                        .iter()
                        .filter(|r| r.iteration == it && r.predicted_rank > 0)
                        .map(|r| m.search_optimum - r.truth)
                        .collect(),
                })
                .collect(),
            colours: Default::default(),
        };
        out.push(Section::Figure {
            name: format!("error_{base}"),
            title: format!(
                "Error distribution of the predicted top-{top_k}, {} ({})",
                m.method, m.dataset
            ),
            figure: ecdf.into(),
            run_ids: vec![m.run_id.clone()],
            content: "top-k error ECDF".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use weaknas_harness::trace::RankedCell;
    use weaknas_results::synthetic::{trace, values};

    /// SYNTHETIC runs of `method` on dataset `d`.
    fn runs(method: &str, d: &str, seeds: std::ops::Range<u64>) -> Vec<RunTrace> {
        seeds
            .map(|s| trace(method, d, s, &values(s + 11, 30, 80.0, 90.0)))
            .collect()
    }

    #[test]
    fn one_curve_figure_per_task_and_none_for_dynamics_without_truth() {
        let traces = [
            runs("a", "d1", 0..3),
            runs("b", "d1", 0..3),
            runs("a", "d2", 0..2),
        ]
        .concat();
        let c = curves(&traces);
        let names: Vec<&str> = c.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["curve_synthetic_d1", "curve_synthetic_d2"]);
        match &c[0] {
            Section::Figure {
                figure, run_ids, ..
            } => {
                assert_eq!(run_ids.len(), 8);
                let weaknas_plots::Figure::Line(l) = figure else {
                    panic!("line figure expected")
                };
                assert_eq!(l.series.len(), 2);
                assert_eq!(l.hline.as_ref().map(|h| h.1), Some(100.0));
            }
            _ => panic!("figure expected"),
        }
        // Two diagnostics x two tasks.
        assert_eq!(dynamics(&traces).len(), 4);
        let mut open = traces.clone();
        for t in &mut open {
            t.meta.report_optimum = f64::NAN;
        }
        assert!(dynamics(&open).is_empty());
    }

    /// The first x and the x label of the first series of the first curve figure.
    fn first_x(traces: &[RunTrace]) -> (f64, String) {
        match &curves(traces)[0] {
            Section::Figure {
                figure: weaknas_plots::Figure::Line(l),
                ..
            } => {
                let s = &l.series[0];
                assert_eq!(s.x.len(), s.y.len());
                let (lo, hi) = s.band.as_ref().unwrap();
                assert_eq!((lo.len(), hi.len()), (s.x.len(), s.x.len()));
                (s.x[0], l.x_label.clone())
            }
            _ => panic!("line figure expected"),
        }
    }

    #[test]
    fn long_curves_start_at_the_tenth_query() {
        // 30 queries: every point is drawn.
        assert_eq!(first_x(&runs("a", "d1", 0..3)), (1.0, "queries".into()));
        // 120 queries: the curve starts at CURVE_FIRST_Q, and the axis says so.
        let long: Vec<RunTrace> = (0..3)
            .map(|s| trace("a", "d1", s, &values(s + 11, 120, 80.0, 90.0)))
            .collect();
        assert_eq!(
            first_x(&long),
            (
                CURVE_FIRST_Q as f64,
                format!("queries (from {CURVE_FIRST_Q})")
            )
        );
    }

    #[test]
    fn predictions_use_the_first_seed_and_the_true_top_k() {
        let mut traces = runs("a", "d1", 0..2);
        for t in &mut traces {
            for it in 0..3u32 {
                for rank in 1..=5u32 {
                    t.rankings.push(RankedCell {
                        iteration: it,
                        predicted_rank: rank,
                        cell: rank,
                        predicted: 10.0 - rank as f64,
                        truth: 90.0 - rank as f64,
                    });
                }
            }
        }
        let s = predictions(&traces, |_| Some((0..100).map(|v| v as f64).collect()));
        assert_eq!(s.len(), 2, "scatter and error ECDF of the first seed only");
        match &s[0] {
            Section::Figure {
                figure: weaknas_plots::Figure::Scatter(f),
                run_ids,
                ..
            } => {
                assert_eq!(run_ids, &vec![traces[0].meta.run_id.clone()]);
                assert_eq!(f.panels.len(), 3);
                // True top-5 of 0..100 starts at 95; predicted top-5 cut-off is rank 5's score.
                assert_eq!(f.panels[0].x_threshold, Some(95.0));
                assert_eq!(f.panels[0].y_threshold, Some(5.0));
            }
            _ => panic!("scatter expected"),
        }
    }
}
