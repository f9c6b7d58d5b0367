//! The table sections of a report, one function each: pure functions of curves (and traces)
//! that return [`Section::Table`]s, or nothing when the section does not apply.

use crate::Section;
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use weaknas_harness::runner::{BenchmarkSet, Spec};
use weaknas_harness::trace::RunTrace;
use weaknas_results::optimum::samples_to_optimum as samples_to_optimum_stats;
use weaknas_results::stats::holm;
use weaknas_results::{
    bundled_references, found_optimum, optimum_stats_table, optimum_table, rank_methods,
    ranking_table, results_table, summarize, two_sample, values_by_seed, verdict, BootstrapOptions,
    CsvData, Measure, RunCurve, Table, TableOptions, TestUsed, Verdict,
};

fn table(name: &str, title: &str, note: &str, table: Table) -> Section {
    Section::Table {
        name: name.into(),
        title: title.into(),
        note: note.into(),
        table,
    }
}

/// Whether any run knows its global optimum (tabular); open-domain runs know none.
fn known_optimum(curves: &[RunCurve]) -> bool {
    curves.iter().any(|c| c.report_optimum.is_finite())
}

/// Incumbent and `paper_best_peek` per method and budget, with published numbers.
pub fn results(curves: &[RunCurve], grid: &[usize], decimals: usize) -> Result<Section> {
    let measures = [Measure::Report, Measure::PaperBestPeek];
    let rows = summarize(curves, &measures, grid, &BootstrapOptions::default());
    let opts = TableOptions {
        measures: measures.to_vec(),
        budgets: grid.to_vec(),
        decimals,
        ..TableOptions::default()
    };
    Ok(table(
        "results",
        "Results (mean ± std over seeds)",
        "Rows are labelled with their protocol (search metric → report metric); published numbers, where the protocol matches, are shown with the delta; unverified ones are flagged.",
        results_table(&rows, &bundled_references()?, &opts),
    ))
}

/// Open-domain runs: the architecture each run found (its incumbent: the charged query with
/// the best finite search value), as text to paste into a training script. `genotype` gives
/// the text of a run's cell (`None`: not an open-domain run).
pub fn architectures(
    traces: &[RunTrace],
    genotype: impl Fn(&RunTrace, u32) -> Option<String>,
) -> Option<Section> {
    let mut found = Table {
        title: "Incumbent architecture of each open-domain run".into(),
        header: [
            "benchmark",
            "dataset",
            "method",
            "seed",
            "search",
            "report",
            "genotype",
        ]
        .map(String::from)
        .to_vec(),
        ..Table::default()
    };
    for t in traces.iter().filter(|t| !t.meta.report_optimum.is_finite()) {
        let best = t
            .queries
            .iter()
            .filter(|q| q.charged && q.search_value.is_finite())
            .max_by(|a, b| a.search_value.total_cmp(&b.search_value));
        let Some(q) = best else { continue };
        let Some(text) = genotype(t, q.cell) else {
            continue;
        };
        found.rows.push(vec![
            t.meta.benchmark.clone(),
            t.meta.dataset.clone(),
            t.meta.method.clone(),
            t.meta.seed.to_string(),
            format!("{:.4}", q.search_value),
            format!("{:.4}", q.report_value),
            format!("`{text}`"),
        ]);
    }
    (!found.rows.is_empty()).then(|| {
        table(
            "architectures",
            "Architectures found (open domain)",
            "Per run, the evaluated cell with the best search metric; every evaluation (all metrics, logs) is in `evaluations/*/journal.jsonl`.",
            found,
        )
    })
}

/// Regret of the incumbent per budget (runs with a known optimum only).
pub fn regret(curves: &[RunCurve], grid: &[usize], decimals: usize) -> Option<Section> {
    if !known_optimum(curves) {
        return None;
    }
    let rows = summarize(
        curves,
        &[Measure::ReportRegret],
        grid,
        &BootstrapOptions::default(),
    );
    let opts = TableOptions {
        measures: vec![Measure::ReportRegret],
        budgets: grid.to_vec(),
        decimals,
        ..TableOptions::default()
    };
    Some(table(
        "regret",
        "Regret of the incumbent (global optimum − value)",
        "",
        results_table(&rows, &[], &opts),
    ))
}

/// Queries to the global optimum, censored runs counted as such (known optimum only).
pub fn optimum(curves: &[RunCurve]) -> Option<Section> {
    known_optimum(curves).then(|| {
        table(
            "optimum",
            "Queries to the global optimum",
            "Runs that never queried the optimum within the budget are censored (counted as not found, never as found at the budget).",
            optimum_table(&found_optimum(curves)),
        )
    })
}

/// Queries to the global optimum of runs that stop there (`stop = "optimum"`): mean ± std,
/// median, CI, ratio to the spec's first method, random search's closed form.
pub fn samples_to_optimum(curves: &[RunCurve], spec: &Spec) -> Option<Section> {
    let reference = &spec.methods.first()?.name;
    known_optimum(curves).then(|| {
        table(
            "samples_to_optimum",
            "Queries to the global optimum (runs stop at the optimum)",
            &format!(
                "Stop rule `{}`, budget {} (the whole space: no run is censored unless the table says so). Ratios are to {reference}.",
                spec.stop.name(),
                spec.budget
            ),
            optimum_stats_table(&samples_to_optimum_stats(curves, reference)),
        )
    })
}

/// Random search's measured incumbent (report value) at each budget of `grid` beside the
/// exact expectation computed from the store (tabular benchmarks, noise `mean` only).
pub fn random_search_check(
    curves: &[RunCurve],
    benches: &BenchmarkSet,
    spec: &Spec,
    grid: &[usize],
) -> Option<Section> {
    use weaknas_harness::expectation::random_search_incumbent;
    use weaknas_results::table::num;
    let mut t = Table {
        title: "Random search: measured vs closed form".into(),
        header: [
            "benchmark",
            "dataset",
            "q",
            "runs",
            "measured mean [95% CI]",
            "closed form",
            "inside CI",
        ]
        .map(String::from)
        .to_vec(),
        ..Table::default()
    };
    let mut data = CsvData::new(&[
        "benchmark",
        "dataset",
        "q",
        "runs",
        "mean",
        "ci_lo",
        "ci_hi",
        "closed_form_mean",
        "closed_form_std",
        "inside_ci",
    ]);
    let rows = summarize(
        curves,
        &[Measure::Report],
        grid,
        &BootstrapOptions::default(),
    );
    for b in &spec.benchmarks {
        if b.is_open_domain() || b.contract.noise != weaknas_harness::oracle::NoiseModel::Mean {
            continue;
        }
        let Ok(loaded) = benches.get(&b.key()) else {
            continue;
        };
        let (Ok(search), Ok(report)) = (
            loaded.store.require(&b.contract.search),
            loaded.store.require(&b.contract.report),
        ) else {
            continue;
        };
        let (search, report) = (search.means(), report.means());
        for r in rows.iter().filter(|r| {
            r.key.method_kind == "random"
                && r.key.benchmark == b.benchmark
                && r.key.dataset == b.contract.dataset
        }) {
            let (m, var) = random_search_incumbent(&search, &report, r.q);
            let inside = r.ci_lo <= m && m <= r.ci_hi;
            t.rows.push(vec![
                r.key.benchmark.clone(),
                r.key.dataset.clone(),
                r.q.to_string(),
                r.stats.n.to_string(),
                format!("{:.3} [{:.3}, {:.3}]", r.stats.mean, r.ci_lo, r.ci_hi),
                format!("{m:.3}"),
                if inside { "yes" } else { "NO" }.into(),
            ]);
            data.rows.push(vec![
                r.key.benchmark.clone(),
                r.key.dataset.clone(),
                r.q.to_string(),
                r.stats.n.to_string(),
                num(r.stats.mean),
                num(r.ci_lo),
                num(r.ci_hi),
                num(m),
                num(var.sqrt()),
                inside.to_string(),
            ]);
        }
    }
    if t.rows.is_empty() {
        return None;
    }
    t.notes.push(
        "A 95% CI misses the true mean in about 1 of 20 rows by chance; a systematic miss would be a bug."
            .into(),
    );
    t.csv = Some(data);
    Some(table(
        "random_search_closed_form",
        "Random search against its closed form",
        "The exact expectation of random search's incumbent (order statistics of the whole space, `harness::expectation`) beside the measured mean and its 95% bootstrap CI: a check of the oracle, the searcher and the traces against the data.",
        t,
    ))
}

/// Every method against `reference` per (benchmark, dataset, budget) on the incumbent's
/// report value, by the rule `compare` uses ([`weaknas_results::two_sample`]: paired
/// Wilcoxon on common seeds, else Mann-Whitney U), Holm-corrected across the table.
pub fn significance(curves: &[RunCurve], reference: &str, grid: &[usize]) -> Section {
    let m = Measure::Report;
    let mut groups: BTreeMap<(&str, &str, &str), Vec<&RunCurve>> = BTreeMap::new();
    for c in curves {
        groups
            .entry((&c.key.benchmark, &c.key.dataset, &c.key.method))
            .or_default()
            .push(c);
    }
    let tasks: BTreeSet<(&str, &str)> = groups.keys().map(|k| (k.0, k.1)).collect();
    let mut raw: Vec<(Vec<String>, TestUsed, f64, f64)> = Vec::new();
    for (bench, dataset) in tasks {
        let Some(reference_runs) = groups.get(&(bench, dataset, reference)) else {
            continue;
        };
        for ((_, _, method), runs) in groups
            .range((bench, dataset, "")..)
            .take_while(|(k, _)| k.0 == bench && k.1 == dataset)
            .filter(|(k, _)| k.2 != reference)
        {
            for &q in grid {
                let Some(t) = two_sample(
                    &values_by_seed(reference_runs, m, q),
                    &values_by_seed(runs, m, q),
                ) else {
                    continue;
                };
                let test = match t.test {
                    TestUsed::PairedWilcoxon => format!("Wilcoxon ({} pairs)", t.pairs.len()),
                    TestUsed::MannWhitney => "Mann-Whitney".into(),
                    TestUsed::None => "–".into(),
                };
                raw.push((
                    vec![
                        bench.to_string(),
                        dataset.to_string(),
                        method.to_string(),
                        q.to_string(),
                        t.candidate.len().to_string(),
                        format!("{:+.3}", t.diff),
                        test,
                        format!("{:.2e}", t.p),
                    ],
                    t.test,
                    t.diff,
                    t.p,
                ));
            }
        }
    }
    let adjusted = holm(&raw.iter().map(|r| r.3).collect::<Vec<_>>());
    let rows = raw
        .into_iter()
        .zip(adjusted)
        .map(|((mut row, test, diff, _), ph)| {
            let label = match verdict(test, ph, diff, 0.05, 0.0) {
                Verdict::Better => "better",
                Verdict::Worse => "worse",
                Verdict::NoDifference => "no difference",
                Verdict::Insufficient => "–",
            };
            row.push(format!("{ph:.2e}"));
            row.push(label.into());
            row
        })
        .collect();
    table(
        "significance",
        &format!("Each method against {reference} (paired tests on common seeds)"),
        "Wilcoxon signed-rank on seeds common to both methods (Mann-Whitney U when fewer than two are common), two-sided, Holm-corrected across the whole table; Δ = method − reference (mean of the paired differences when paired), incumbent report value. The same rule as `weaknas compare`.",
        Table {
            title: format!("Against {reference}"),
            header: [
                "benchmark",
                "dataset",
                "method",
                "q",
                "runs",
                "Δ mean",
                "test",
                "p",
                "p (Holm)",
                "verdict",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            notes: vec!["verdict at family-wise alpha = 0.05 after Holm's correction.".into()],
            csv: None,
        },
    )
}

/// Average ranks at the last budget (Friedman, Nemenyi CD); with three methods or more.
pub fn ranking(curves: &[RunCurve], grid: &[usize]) -> Option<Section> {
    let methods: BTreeSet<&str> = curves.iter().map(|c| c.key.method.as_str()).collect();
    let q = *grid.last()?;
    if methods.len() < 3 {
        return None;
    }
    match rank_methods(curves, Measure::Report, q) {
        Ok(r) => Some(table(
            "ranking",
            &format!("Average ranks at {q} queries (Friedman, Nemenyi critical difference)"),
            "",
            ranking_table(&r),
        )),
        Err(e) => {
            tracing::warn!("ranking not computed: {e:#}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weaknas_results::run_curves;
    use weaknas_results::synthetic::{trace, values};

    /// SYNTHETIC runs: `seeds` of `method` on dataset d1, values shifted by `shift`.
    fn runs(method: &str, seeds: std::ops::Range<u64>, shift: f64) -> Vec<RunTrace> {
        seeds
            .map(|s| {
                let v: Vec<f64> = values(s * 7 + 3, 40, 85.0, 95.0)
                    .into_iter()
                    .map(|x| x + shift)
                    .collect();
                trace(method, "d1", s, &v)
            })
            .collect()
    }

    fn rows(s: &Section) -> &Vec<Vec<String>> {
        match s {
            Section::Table { table, .. } => &table.rows,
            Section::Figure { .. } => panic!("not a table"),
        }
    }

    #[test]
    fn significance_uses_the_compare_rule() {
        // b is 1.0 worse than the reference a on every common seed; c equals a; d has other
        // seeds (no pairs: Mann-Whitney); e has one run (no test).
        let traces = [
            runs("a", 0..12, 0.0),
            runs("b", 0..12, -1.0),
            runs("c", 0..12, 0.0),
            runs("d", 100..112, 0.0),
            runs("e", 0..1, 0.0),
        ]
        .concat();
        let curves = run_curves(&traces);
        let s = significance(&curves, "a", &[20, 40]);
        let r = rows(&s);
        assert_eq!(r.len(), 8, "4 methods x 2 budgets: {r:?}");
        let row = |m: &str, q: &str| {
            r.iter()
                .find(|x| x[2] == m && x[3] == q)
                .unwrap_or_else(|| panic!("{m} {q}"))
        };
        let b = row("b", "40");
        assert_eq!(b[5], "-1.000");
        assert_eq!(b[6], "Wilcoxon (12 pairs)");
        assert_eq!(b[9], "worse");
        assert_eq!(row("c", "40")[9], "no difference");
        assert_eq!(row("d", "40")[6], "Mann-Whitney");
        assert_eq!(row("e", "40")[9], "–");
        // The same numbers as `compare` on the same two groups.
        let base: Vec<RunTrace> = runs("x", 0..12, 0.0);
        let cand: Vec<RunTrace> = runs("x", 0..12, -1.0);
        let cmp = weaknas_results::compare_traces(
            &base,
            &cand,
            &weaknas_results::CompareOptions {
                budgets: vec![40],
                ..Default::default()
            },
        );
        assert_eq!(format!("{:.2e}", cmp.rows[0].p), b[7]);
        assert_eq!(cmp.rows[0].verdict, Verdict::Worse);
    }

    #[test]
    fn sections_that_need_a_known_optimum_or_three_methods() {
        let mut open = runs("a", 0..3, 0.0);
        for t in &mut open {
            t.meta.report_optimum = f64::NAN;
        }
        let curves = run_curves(&open);
        assert!(regret(&curves, &[40], 2).is_none());
        assert!(optimum(&curves).is_none());
        assert!(ranking(&curves, &[40]).is_none());
        let tab = [
            runs("a", 0..5, 0.0),
            runs("b", 0..5, 1.0),
            runs("c", 0..5, 2.0),
        ]
        .concat();
        let curves = run_curves(&tab);
        assert!(regret(&curves, &[40], 2).is_some());
        assert!(optimum(&curves).is_some());
        let rk = ranking(&curves, &[40]).unwrap();
        assert_eq!(rk.name(), "ranking");
        let res = results(&curves, &[20, 40], 3).unwrap();
        let md = match &res {
            Section::Table { table, .. } => table.to_markdown(),
            _ => unreachable!(),
        };
        // Three decimals as asked.
        assert!(
            md.contains('.')
                && rows(&res).iter().any(|r| r.iter().any(|c| {
                    c.split(' ')
                        .next()
                        .and_then(|v| v.split('.').nth(1))
                        .is_some_and(|d| d.len() == 3)
                })),
            "{md}"
        );
    }

    #[test]
    fn architectures_pick_the_best_finite_search_value() {
        let mut t = runs("a", 0..1, 0.0);
        t[0].meta.report_optimum = f64::NAN;
        t[0].queries[0].search_value = f64::NAN;
        let best = t[0]
            .queries
            .iter()
            .skip(1)
            .max_by(|a, b| a.search_value.total_cmp(&b.search_value))
            .unwrap()
            .cell;
        let s = architectures(&t, |_, cell| Some(format!("cell{cell}"))).unwrap();
        assert_eq!(rows(&s)[0][6], format!("`cell{best}`"));
        // Tabular runs have no architecture table.
        assert!(architectures(&runs("a", 0..1, 0.0), |_, c| Some(c.to_string())).is_none());
    }
}
