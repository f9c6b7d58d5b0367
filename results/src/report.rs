//! Result tables: method x budget tables with published numbers side by side, the
//! queries-to-global-optimum table, cross-task and reference tables.

use crate::aggregate::{AcrossTasksRow, FoundOptimum, SummaryRow};
use crate::curves::{GroupKey, Measure};
use crate::reference::Reference;
use crate::table::{num, CsvData, Table};
use std::collections::BTreeMap;

/// How a cell shows a distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CellFormat {
    /// `mean ± std`.
    #[default]
    MeanStd,
    /// `mean [lo, hi]` (bootstrap CI of the mean).
    MeanCi,
    /// `IQM (median)`.
    IqmMedian,
}

/// Options of [`results_table`].
#[derive(Clone, Debug, PartialEq)]
pub struct TableOptions {
    /// Measures to show, one row per (group, measure). Default: incumbent report value and
    /// the `paper_best_peek`.
    pub measures: Vec<Measure>,
    /// Query budgets, one column each.
    pub budgets: Vec<usize>,
    /// Cell format.
    pub format: CellFormat,
    /// Decimal places.
    pub decimals: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            measures: vec![Measure::Report, Measure::PaperBestPeek],
            budgets: vec![100, 150, 200],
            format: CellFormat::MeanStd,
            decimals: 2,
        }
    }
}

fn fmt(v: f64, d: usize) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.d$}")
    }
}

fn cell(r: &SummaryRow, opts: &TableOptions) -> String {
    let d = opts.decimals;
    match opts.format {
        CellFormat::MeanStd if r.stats.n >= 2 => {
            format!("{} ± {}", fmt(r.stats.mean, d), fmt(r.stats.std, d))
        }
        CellFormat::MeanCi if !r.ci_lo.is_nan() => format!(
            "{} [{}, {}]",
            fmt(r.stats.mean, d),
            fmt(r.ci_lo, d),
            fmt(r.ci_hi, d)
        ),
        CellFormat::IqmMedian => format!("{} ({})", fmt(r.stats.iqm, d), fmt(r.stats.median, d)),
        _ => fmt(r.stats.mean, d),
    }
}

/// Method x budget table: one row per (group, measure) labelled with its protocol
/// (search metric -> report metric, incumbent or paper_best_peek), then one row per matching
/// published number with `value (Δ ours - published)` per budget, flagged if unverified.
pub fn results_table(rows: &[SummaryRow], refs: &[Reference], opts: &TableOptions) -> Table {
    let mut by: BTreeMap<(GroupKey, Measure), BTreeMap<usize, &SummaryRow>> = BTreeMap::new();
    for r in rows {
        if opts.measures.contains(&r.measure) && opts.budgets.contains(&r.q) {
            by.entry((r.key.clone(), r.measure))
                .or_default()
                .insert(r.q, r);
        }
    }
    let mut header: Vec<String> = [
        "benchmark",
        "dataset",
        "method",
        "protocol",
        "measure",
        "runs",
    ]
    .map(String::from)
    .to_vec();
    header.extend(opts.budgets.iter().map(|q| format!("q={q}")));
    let mut t = Table {
        title: format!(
            "Results by query budget ({})",
            match opts.format {
                CellFormat::MeanStd => "mean ± std over seeds",
                CellFormat::MeanCi => "mean [95% bootstrap CI] over seeds",
                CellFormat::IqmMedian => "IQM (median) over seeds",
            }
        ),
        header,
        ..Default::default()
    };
    let mut data = CsvData::new(&[
        "benchmark",
        "dataset",
        "method",
        "protocol",
        "measure",
        "q",
        "runs",
        "n",
        "mean",
        "std",
        "sem",
        "median",
        "iqm",
        "ci_lo",
        "ci_hi",
        "published",
        "published_source",
        "published_verified",
    ]);
    let mut any_unverified = false;
    let mut any_peek = false;
    for ((key, m), cells) in &by {
        any_peek |= m.is_peek();
        let runs = cells.values().map(|r| r.runs).max().unwrap_or(0);
        let mut row = vec![
            key.benchmark.clone(),
            key.dataset.clone(),
            key.method.clone(),
            key.protocol(*m),
            m.name().to_string(),
            runs.to_string(),
        ];
        row.extend(
            opts.budgets
                .iter()
                .map(|q| cells.get(q).map(|r| cell(r, opts)).unwrap_or("–".into())),
        );
        t.rows.push(row);
        for (q, r) in cells {
            let published = refs.iter().find(|p| p.matches(key, *m, *q));
            data.rows.push(vec![
                key.benchmark.clone(),
                key.dataset.clone(),
                key.method.clone(),
                key.protocol(*m),
                m.name().to_string(),
                q.to_string(),
                r.runs.to_string(),
                r.stats.n.to_string(),
                num(r.stats.mean),
                num(r.stats.std),
                num(r.stats.sem),
                num(r.stats.median),
                num(r.stats.iqm),
                num(r.ci_lo),
                num(r.ci_hi),
                published.map(|p| num(p.accuracy_pct())).unwrap_or_default(),
                published.map(|p| p.source.clone()).unwrap_or_default(),
                published
                    .map(|p| p.flag().is_empty().to_string())
                    .unwrap_or_default(),
            ]);
        }
        // Published numbers for this row, grouped by (source, method label).
        let mut pubs: BTreeMap<(String, String, &'static str), BTreeMap<usize, &Reference>> =
            BTreeMap::new();
        for r in refs {
            for &q in &opts.budgets {
                if r.matches(key, *m, q) {
                    pubs.entry((r.method_label.clone(), r.source.clone(), r.flag()))
                        .or_default()
                        .insert(q, r);
                }
            }
        }
        for ((label, source, flag), vals) in pubs {
            any_unverified |= !flag.is_empty();
            let mut row = vec![
                key.benchmark.clone(),
                key.dataset.clone(),
                format!("↳ published: {label} ({source}){flag}"),
                key.protocol(*m),
                m.name().to_string(),
                String::new(),
            ];
            row.extend(
                opts.budgets
                    .iter()
                    .map(|q| match (vals.get(q), cells.get(q)) {
                        (Some(r), Some(ours)) => format!(
                            "{} (Δ {:+.d$})",
                            fmt(r.accuracy_pct(), opts.decimals),
                            ours.stats.mean - r.accuracy_pct(),
                            d = opts.decimals
                        ),
                        (Some(r), None) => fmt(r.accuracy_pct(), opts.decimals),
                        _ => String::new(),
                    }),
            );
            t.rows.push(row);
        }
    }
    t.notes.push(
        "incumbent: the queried cell with the best search value; its report-metric value is shown."
            .into(),
    );
    if any_peek {
        t.notes.push(
            "paper_best_peek: the official WeakNAS code's value, max(best report metric queried, report metric of the predictor's top-1 even if never queried); it PEEKS at the report metric."
                .into(),
        );
    }
    t.notes.push(
        "Δ = ours - published, in accuracy percent (published errors converted to accuracy)."
            .into(),
    );
    if any_unverified {
        t.notes.push(
            "†unverified: widely quoted but not read from the original source; shown for orientation only."
                .into(),
        );
    }
    t.csv = Some(data);
    t
}

/// Queries-to-global-optimum table: per group and target, runs, fraction found, the
/// Kaplan-Meier median ("> horizon" when more than half are censored), the mean among runs
/// that found it and the restricted mean (censored runs counted at their last query: a lower
/// bound, marked "≥" when any run is censored).
pub fn optimum_table(found: &[FoundOptimum]) -> Table {
    let header = [
        "benchmark",
        "dataset",
        "method",
        "protocol",
        "optimum of",
        "runs",
        "found",
        "median q (KM)",
        "mean q (among found)",
        "mean q (censored at budget)",
    ]
    .map(String::from)
    .to_vec();
    let rows = found
        .iter()
        .map(|f| {
            vec![
                f.key.benchmark.clone(),
                f.key.dataset.clone(),
                f.key.method.clone(),
                format!("{} -> {}", f.key.search_metric, f.key.report_metric),
                match f.target {
                    crate::aggregate::OptimumTarget::Search => {
                        format!("search ({})", f.key.search_metric)
                    }
                    crate::aggregate::OptimumTarget::Report => {
                        format!("report ({})", f.key.report_metric)
                    }
                },
                f.runs.to_string(),
                format!("{}/{} ({:.0}%)", f.found, f.runs, 100.0 * f.frac_found),
                match f.km_median {
                    Some(m) => format!("{m:.0}"),
                    None => format!("> {}", f.horizon),
                },
                if f.found == 0 {
                    "–".into()
                } else {
                    format!("{:.1}", f.mean_found)
                },
                if f.found < f.runs {
                    format!("≥ {:.1}", f.restricted_mean)
                } else {
                    format!("{:.1}", f.restricted_mean)
                },
            ]
        })
        .collect();
    let mut data = CsvData::new(&[
        "benchmark",
        "dataset",
        "method",
        "search_metric",
        "report_metric",
        "optimum_of",
        "runs",
        "found",
        "km_median",
        "mean_found",
        "restricted_mean",
        "horizon",
    ]);
    for f in found {
        data.rows.push(vec![
            f.key.benchmark.clone(),
            f.key.dataset.clone(),
            f.key.method.clone(),
            f.key.search_metric.clone(),
            f.key.report_metric.clone(),
            f.target.name().to_string(),
            f.runs.to_string(),
            f.found.to_string(),
            f.km_median.map(num).unwrap_or_default(),
            num(f.mean_found),
            num(f.restricted_mean),
            f.horizon.to_string(),
        ]);
    }
    Table {
        title: "Queries until the global optimum is queried".into(),
        header,
        rows,
        notes: vec![
            "Runs that never query the optimum are censored at their last query; the median is the Kaplan-Meier median (\"> n\": more than half censored)."
                .into(),
        ],
        csv: Some(data),
    }
}

/// Cross-task table: per method and measure, mean of task means and IQM with stratified
/// bootstrap CIs, one column per budget.
pub fn across_tasks_table(rows: &[AcrossTasksRow], budgets: &[usize], decimals: usize) -> Table {
    let mut by: BTreeMap<(String, Measure), BTreeMap<usize, &AcrossTasksRow>> = BTreeMap::new();
    for r in rows {
        by.entry((r.method.clone(), r.measure))
            .or_default()
            .insert(r.q, r);
    }
    let mut header: Vec<String> = ["method", "measure", "statistic", "tasks"]
        .map(String::from)
        .to_vec();
    header.extend(budgets.iter().map(|q| format!("q={q}")));
    let mut t = Table {
        title: "Across tasks (stratified bootstrap 95% CI)".into(),
        header,
        ..Default::default()
    };
    let mut data = CsvData::new(&[
        "method",
        "measure",
        "statistic",
        "tasks",
        "q",
        "value",
        "ci_lo",
        "ci_hi",
    ]);
    for ((method, m), cells) in by {
        let tasks = cells.values().map(|r| r.tasks).max().unwrap_or(0);
        for (stat, get) in [
            (
                "mean of task means",
                (|r: &AcrossTasksRow| (r.mean, r.mean_ci))
                    as fn(&AcrossTasksRow) -> (f64, (f64, f64)),
            ),
            ("IQM", |r: &AcrossTasksRow| (r.iqm, r.iqm_ci)),
        ] {
            let mut row = vec![
                method.clone(),
                m.name().into(),
                stat.into(),
                tasks.to_string(),
            ];
            for (q, r) in &cells {
                let (v, (lo, hi)) = get(r);
                data.rows.push(vec![
                    method.clone(),
                    m.name().into(),
                    stat.into(),
                    r.tasks.to_string(),
                    q.to_string(),
                    num(v),
                    num(lo),
                    num(hi),
                ]);
            }
            row.extend(budgets.iter().map(|q| match cells.get(q) {
                Some(r) => {
                    let (v, (lo, hi)) = get(r);
                    format!(
                        "{} [{}, {}]",
                        fmt(v, decimals),
                        fmt(lo, decimals),
                        fmt(hi, decimals)
                    )
                }
                None => "–".into(),
            }));
            t.rows.push(row);
        }
    }
    t.csv = Some(data);
    t
}

/// Every published number, flagged where unverified.
pub fn reference_table(refs: &[Reference]) -> Table {
    let header = [
        "benchmark",
        "dataset",
        "method",
        "protocol",
        "metric",
        "budget",
        "value",
        "source",
        "status",
    ]
    .map(String::from)
    .to_vec();
    let rows = refs
        .iter()
        .map(|r| {
            vec![
                r.benchmark.clone(),
                r.dataset.clone(),
                r.method_label.clone(),
                r.protocol.clone(),
                r.metric.clone(),
                r.budget.map(|b| b.to_string()).unwrap_or("–".into()),
                match r.std {
                    Some(s) => format!("{} ± {}{}", r.value, s, r.flag()),
                    None => format!("{}{}", r.value, r.flag()),
                } + match r.unit {
                    crate::reference::Unit::AccuracyPct => "",
                    crate::reference::Unit::ErrorPct => " (error %)",
                },
                r.source.clone(),
                format!("{:?}", r.status).to_lowercase(),
            ]
        })
        .collect();
    Table {
        title: "Published numbers".into(),
        header,
        rows,
        notes: vec![
            "†unverified: widely quoted, not read from the original; never gated on.".into(),
        ],
        csv: Some(CsvData {
            header: [
                "benchmark",
                "dataset",
                "method",
                "protocol",
                "metric",
                "budget",
                "value",
                "std",
                "unit",
                "source",
                "status",
            ]
            .map(String::from)
            .to_vec(),
            rows: refs
                .iter()
                .map(|r| {
                    vec![
                        r.benchmark.clone(),
                        r.dataset.clone(),
                        r.method_label.clone(),
                        r.protocol.clone(),
                        r.metric.clone(),
                        r.budget.map(|b| b.to_string()).unwrap_or_default(),
                        num(r.value),
                        r.std.map(num).unwrap_or_default(),
                        match r.unit {
                            crate::reference::Unit::AccuracyPct => "accuracy_pct",
                            crate::reference::Unit::ErrorPct => "error_pct",
                        }
                        .into(),
                        r.source.clone(),
                        format!("{:?}", r.status).to_lowercase(),
                    ]
                })
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{found_optimum, summarize};
    use crate::curves::run_curves;
    use crate::curves::synthetic::{trace, values};
    use crate::reference::{Status, Unit};
    use crate::stats::BootstrapOptions;

    fn reference(status: Status) -> Reference {
        Reference {
            benchmark: "synthetic".into(),
            dataset: "d".into(),
            method: "a".into(),
            method_label: "A".into(),
            protocol: "incumbent".into(),
            metric: "d/ori-test@200".into(),
            unit: Unit::AccuracyPct,
            budget: Some(20),
            value: 90.0,
            std: None,
            source: "synthetic source".into(),
            status,
            note: String::new(),
        }
    }

    #[test]
    fn results_table_puts_published_numbers_beside_ours() {
        let t: Vec<_> = (0..5)
            .map(|s| trace("a", "d", s, &values(s, 30, 80.0, 95.0)))
            .collect();
        let curves = run_curves(&t);
        let rows = summarize(
            &curves,
            &[Measure::Report, Measure::PaperBestPeek],
            &[10, 20],
            &BootstrapOptions::default(),
        );
        let opts = TableOptions {
            budgets: vec![10, 20],
            ..Default::default()
        };
        let tab = results_table(&rows, &[reference(Status::Unverified)], &opts);
        // ours (report), published under it, ours (peek): the peek has no reference
        assert_eq!(tab.rows.len(), 3, "{:#?}", tab.rows);
        assert_eq!(tab.rows[0][3], "d/x-valid@200 -> d/ori-test@200, incumbent");
        let mean20 = rows
            .iter()
            .find(|r| r.measure == Measure::Report && r.q == 20)
            .unwrap()
            .stats
            .mean;
        assert!(
            tab.rows[1][2].ends_with("†unverified"),
            "{}",
            tab.rows[1][2]
        );
        assert_eq!(tab.rows[1][7], format!("90.00 (Δ {:+.2})", mean20 - 90.0));
        assert_eq!(tab.rows[1][6], "");
        assert!(tab.rows[2][3].ends_with("paper_best_peek"));
        assert!(tab.notes.iter().any(|n| n.contains("PEEKS")));
        assert!(tab.notes.iter().any(|n| n.starts_with("†unverified")));
        let md = tab.to_markdown();
        assert!(md.contains(" ± "));
        let verified = results_table(&rows, &[reference(Status::Verified)], &opts);
        assert!(!verified.rows[1][2].contains('†'));
        assert!(!verified.notes.iter().any(|n| n.starts_with("†")));
    }

    #[test]
    fn optimum_table_marks_censoring() {
        let mut v = vec![90.0; 10];
        v[3] = 100.0;
        let t = vec![
            trace("m", "d", 1, &v),
            trace("m", "d", 2, &[90.0; 10]),
            trace("m", "d", 3, &[90.0; 10]),
        ];
        let tab = optimum_table(&found_optimum(&run_curves(&t)));
        let s = &tab.rows[0];
        assert_eq!(s[6], "1/3 (33%)");
        assert_eq!(s[7], "> 10");
        assert_eq!(s[8], "4.0");
        assert_eq!(s[9], "≥ 8.0");
    }
}
