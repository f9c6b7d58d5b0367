//! `weaknas reproduce`'s outputs: tables (Markdown, CSV, LaTeX), figures (PNG, SVG, with
//! provenance sidecars) and an `index.md` showing them all, from a spec's stored runs.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use weaknas_harness::fsutil::atomic_write;
use weaknas_harness::runner::{BenchmarkSet, Job, Spec};
use weaknas_harness::trace::RunTrace;
use weaknas_plots::{
    EcdfCurve, EcdfFigure, Figure, LineFigure, LineSeries, Provenance, ScatterFigure, ScatterPanel,
};
use weaknas_results::{
    bundled_references, curve, diagnostics_series, found_optimum, load_trace, optimum_stats_table,
    optimum_table, rank_methods, ranking_table, results_table, run_curves, samples_to_optimum,
    summarize, Band, BootstrapOptions, CsvData, Diagnostic, Measure, Table, TableOptions,
};

struct Index {
    md: String,
}

impl Index {
    fn table(&mut self, out: &Path, name: &str, title: &str, note: &str, t: &Table) -> Result<()> {
        let dir = out.join("tables");
        atomic_write(&dir.join(format!("{name}.md")), t.to_markdown().as_bytes())?;
        atomic_write(&dir.join(format!("{name}.csv")), t.to_csv()?.as_bytes())?;
        atomic_write(&dir.join(format!("{name}.tex")), t.to_latex().as_bytes())?;
        let _ = writeln!(self.md, "## {title}\n\n{note}\n\n{}\n", t.to_markdown());
        let _ = writeln!(
            self.md,
            "Files: [md](tables/{name}.md), [csv](tables/{name}.csv), [tex](tables/{name}.tex)\n"
        );
        Ok(())
    }
    fn figure(
        &mut self,
        out: &Path,
        name: &str,
        title: &str,
        fig: Figure,
        prov: &Provenance,
    ) -> Result<()> {
        match weaknas_plots::render(&fig, &out.join("figures"), name, prov) {
            Ok(_) => {
                let _ = writeln!(
                    self.md,
                    "## {title}\n\n![{title}](figures/{name}.png)\n\n[svg](figures/{name}.svg) · [provenance](figures/{name}.provenance.json)\n"
                );
            }
            Err(e) => tracing::warn!("figure {name} not drawn: {e:#}"),
        }
        Ok(())
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Pairwise tests of every method against `reference` per (benchmark, dataset, budget).
fn significance_table(
    curves: &[weaknas_results::RunCurve],
    reference: &str,
    grid: &[usize],
) -> Table {
    use weaknas_results::stats::{holm, mann_whitney_u, wilcoxon, Alternative};
    let mut raw: Vec<(Vec<String>, f64)> = Vec::new();
    let tasks: std::collections::BTreeSet<(String, String)> = curves
        .iter()
        .map(|c| (c.key.benchmark.clone(), c.key.dataset.clone()))
        .collect();
    for (bench, dataset) in &tasks {
        let of = |m: &str| -> BTreeMap<u64, &weaknas_results::RunCurve> {
            curves
                .iter()
                .filter(|c| {
                    &c.key.benchmark == bench && &c.key.dataset == dataset && c.key.method == m
                })
                .map(|c| (c.seed, c))
                .collect()
        };
        let reference_runs = of(reference);
        if reference_runs.is_empty() {
            continue;
        }
        let methods: std::collections::BTreeSet<&str> = curves
            .iter()
            .filter(|c| {
                &c.key.benchmark == bench && &c.key.dataset == dataset && c.key.method != reference
            })
            .map(|c| c.key.method.as_str())
            .collect();
        for m in methods {
            let runs = of(m);
            for &q in grid {
                let common: Vec<(f64, f64)> = runs
                    .iter()
                    .filter_map(|(s, c)| {
                        Some((
                            c.value(Measure::Report, q)?,
                            reference_runs.get(s)?.value(Measure::Report, q)?,
                        ))
                    })
                    .collect();
                let (x, y): (Vec<f64>, Vec<f64>) = if common.len() >= 2 {
                    common.into_iter().unzip()
                } else {
                    (
                        runs.values()
                            .filter_map(|c| c.value(Measure::Report, q))
                            .collect(),
                        reference_runs
                            .values()
                            .filter_map(|c| c.value(Measure::Report, q))
                            .collect(),
                    )
                };
                let paired =
                    x.len() == y.len() && runs.keys().any(|s| reference_runs.contains_key(s));
                let test = if paired {
                    wilcoxon(&x, &y, Alternative::TwoSided)
                } else {
                    mann_whitney_u(&x, &y, Alternative::TwoSided)
                };
                let p = test.map(|t| t.pvalue).unwrap_or(f64::NAN);
                let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
                raw.push((
                    vec![
                        bench.clone(),
                        dataset.clone(),
                        m.to_string(),
                        q.to_string(),
                        format!("{}", x.len()),
                        format!("{:+.3}", mean(&x) - mean(&y)),
                        if paired {
                            "Wilcoxon".into()
                        } else {
                            "Mann-Whitney".into()
                        },
                        format!("{p:.2e}"),
                    ],
                    p,
                ));
            }
        }
    }
    let adjusted = holm(&raw.iter().map(|r| r.1).collect::<Vec<_>>());
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
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: raw
            .into_iter()
            .zip(adjusted)
            .map(|((mut row, _), ph)| {
                let verdict = if ph.is_nan() {
                    "–"
                } else if ph < 0.05 {
                    if row[5].starts_with('+') {
                        "better"
                    } else {
                        "worse"
                    }
                } else {
                    "no difference"
                };
                row.push(format!("{ph:.2e}"));
                row.push(verdict.into());
                row
            })
            .collect(),
        notes: vec!["verdict at family-wise alpha = 0.05 after Holm's correction.".into()],
        csv: None,
    }
}

/// Random search's measured incumbent (report value) at each budget of `grid` beside the
/// exact expectation computed from the store (tabular benchmarks, noise `mean` only).
fn random_search_check(
    curves: &[weaknas_results::RunCurve],
    benches: &BenchmarkSet,
    spec: &Spec,
    grid: &[usize],
) -> Table {
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
    t.notes.push(
        "A 95% CI misses the true mean in about 1 of 20 rows by chance; a systematic miss would be a bug."
            .into(),
    );
    t.csv = Some(data);
    t
}

/// Renders every output of a spec from the runs of `jobs` stored in `runs` into `out`
/// (the same directory for `weaknas reproduce`).
pub fn render(
    spec: &Spec,
    jobs: &[Job],
    benches: &BenchmarkSet,
    runs: &Path,
    out: &Path,
) -> Result<Vec<RunTrace>> {
    let mut traces: Vec<RunTrace> = Vec::new();
    for j in jobs {
        match load_trace(runs, &j.run_id) {
            Ok(t) => traces.push(t),
            Err(e) => tracing::warn!(
                "run {} ({} seed {}) missing from {}: {e:#}",
                j.run_id,
                j.method.name,
                j.seed,
                runs.display()
            ),
        }
    }
    if traces.is_empty() {
        anyhow::bail!(
            "no finished runs of spec {} in {}",
            spec.name,
            runs.display()
        );
    }
    let grid = spec.report_grid();
    let curves = run_curves(&traces);
    let data_sha: Vec<String> = spec
        .benchmarks
        .iter()
        .filter_map(|b| {
            benches
                .get(&b.key())
                .ok()
                .map(|l| format!("{}:{}", b.benchmark, l.sha256))
        })
        .collect();
    let prov = |ids: Vec<String>, what: &str| {
        let mut p = Provenance {
            spec_hash: Some(spec.hash()),
            run_ids: ids,
            data_checksum: Some(data_sha.join(",")),
            harness_version: Some(weaknas_harness::HARNESS_VERSION.to_string()),
            ..Default::default()
        };
        p.extra.insert("spec".into(), spec.name.clone().into());
        p.extra.insert("content".into(), what.into());
        p
    };
    let mut idx = Index { md: String::new() };
    let _ = writeln!(
        idx.md,
        "# {}\n\n{}\n\n{} runs ({} methods x {} benchmark entries x seeds), budget {} queries. Spec hash `{}`; data {}; harness {}.\n",
        spec.name,
        spec.description,
        traces.len(),
        spec.methods.len(),
        spec.benchmarks.len(),
        spec.budget,
        &spec.hash()[..16],
        data_sha.join(", "),
        weaknas_harness::HARNESS_VERSION
    );
    let _ = writeln!(
        idx.md,
        "Protocol: `incumbent` = the report metric of the queried cell with the best search metric (NASLib/BANANAS protocol). \
         `paper_best_peek` = the official WeakNAS code's value: max of the best report metric over queried cells and the report metric of the predictor's top-1, \
         which peeks at the report metric and may credit an unqueried cell — shown for comparison with the paper only.\n"
    );

    // Tables.
    let measures = [Measure::Report, Measure::PaperBestPeek];
    let rows = summarize(&curves, &measures, &grid, &BootstrapOptions::default());
    let refs = bundled_references()?;
    // `[outputs] decimals = N` in a spec (default 2, for accuracies in percent; e.g. 4 for
    // metrics that are fractions).
    let decimals = spec
        .outputs
        .get("decimals")
        .and_then(|v| v.as_integer())
        .filter(|d| (0..=8).contains(d))
        .map(|d| d as usize)
        .unwrap_or(TableOptions::default().decimals);
    let opts = TableOptions {
        measures: measures.to_vec(),
        budgets: grid.clone(),
        decimals,
        ..TableOptions::default()
    };
    idx.table(out, "results", "Results (mean ± std over seeds)", "Rows are labelled with their protocol (search metric → report metric); published numbers, where the protocol matches, are shown with the delta; unverified ones are flagged.", &results_table(&rows, &refs, &opts))?;
    // Open-domain runs: the architecture each run found (its incumbent), as text to paste
    // into a training script.
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
        let key = format!("{}-{}", t.meta.benchmark, t.meta.dataset);
        let Some(open) = benches.get(&key).ok().and_then(|b| b.open.as_ref()) else {
            continue;
        };
        let best = t
            .queries
            .iter()
            .filter(|q| q.charged && q.search_value.is_finite())
            .max_by(|a, b| a.search_value.total_cmp(&b.search_value));
        if let Some(q) = best {
            found.rows.push(vec![
                t.meta.benchmark.clone(),
                t.meta.dataset.clone(),
                t.meta.method.clone(),
                t.meta.seed.to_string(),
                format!("{:.4}", q.search_value),
                format!("{:.4}", q.report_value),
                format!("`{}`", open.pool.genotype(q.cell)),
            ]);
        }
    }
    if !found.rows.is_empty() {
        idx.table(
            out,
            "architectures",
            "Architectures found (open domain)",
            "Per run, the evaluated cell with the best search metric; every evaluation (all metrics, logs) is in `evaluations/*/journal.jsonl`.",
            &found,
        )?;
    }

    // Open-domain runs know no global optimum and no truth: no regret, optimum or predictor
    // diagnostics for them.
    let known_optimum = traces.iter().any(|t| t.meta.report_optimum.is_finite());
    if known_optimum && !spec.stop.is_budget() {
        idx.table(
            out,
            "samples_to_optimum",
            "Queries to the global optimum (runs stop at the optimum)",
            &format!(
                "Stop rule `{}`, budget {} (the whole space: no run is censored unless the table says so). Ratios are to {}.",
                spec.stop.name(),
                spec.budget,
                spec.methods[0].name
            ),
            &optimum_stats_table(&samples_to_optimum(&curves, &spec.methods[0].name)),
        )?;
    }
    if known_optimum {
        let check = random_search_check(&curves, benches, spec, &grid);
        if !check.rows.is_empty() {
            idx.table(
                out,
                "random_search_closed_form",
                "Random search against its closed form",
                "The exact expectation of random search's incumbent (order statistics of the whole space, `harness::expectation`) beside the measured mean and its 95% bootstrap CI: a check of the oracle, the searcher and the traces against the data.",
                &check,
            )?;
        }
    }
    if known_optimum && spec.stop.is_budget() {
        let regret_rows = summarize(
            &curves,
            &[Measure::ReportRegret],
            &grid,
            &BootstrapOptions::default(),
        );
        let ropts = TableOptions {
            measures: vec![Measure::ReportRegret],
            budgets: grid.clone(),
            decimals,
            ..TableOptions::default()
        };
        idx.table(
            out,
            "regret",
            "Regret of the incumbent (global optimum − value)",
            "",
            &results_table(&regret_rows, &[], &ropts),
        )?;
        idx.table(
        out,
        "optimum",
        "Queries to the global optimum",
        "Runs that never queried the optimum within the budget are censored (counted as not found, never as found at the budget).",
        &optimum_table(&found_optimum(&curves)),
    )?;
    }
    idx.table(
        out,
        "significance",
        &format!("Each method against {} (paired tests on common seeds)", spec.methods[0].name),
        "Wilcoxon signed-rank on seeds common to both methods (Mann-Whitney U when there are none), two-sided, Holm-corrected across the whole table; Δ = method − reference, incumbent report value.",
        &significance_table(&curves, &spec.methods[0].name, &grid),
    )?;
    let methods: std::collections::BTreeSet<&str> =
        traces.iter().map(|t| t.meta.method.as_str()).collect();
    if methods.len() >= 3 {
        let q = *grid.last().unwrap();
        match rank_methods(&curves, Measure::Report, q) {
            Ok(r) => idx.table(
                out,
                "ranking",
                &format!("Average ranks at {q} queries (Friedman, Nemenyi critical difference)"),
                "",
                &ranking_table(&r),
            )?,
            Err(e) => tracing::warn!("ranking not computed: {e:#}"),
        }
    }

    // Figures: incumbent curves per (benchmark, dataset).
    let all_ids: Vec<String> = traces.iter().map(|t| t.meta.run_id.clone()).collect();
    let series = curve(&traces, Measure::Report, Band::Std);
    let mut by_task: BTreeMap<(String, String), Vec<_>> = BTreeMap::new();
    for s in series {
        by_task
            .entry((s.benchmark.clone(), s.dataset.clone()))
            .or_default()
            .push(s);
    }
    for ((bench, dataset), ss) in &by_task {
        let t0 = traces
            .iter()
            .find(|t| &t.meta.benchmark == bench && &t.meta.dataset == dataset)
            .unwrap();
        let fig = LineFigure {
            title: format!("{bench} {dataset}: best found vs queries"),
            x_label: "queries".into(),
            // Tabular stores hold accuracies in percent; an open-domain command reports
            // whatever unit it chooses.
            y_label: if t0.meta.report_optimum.is_finite() {
                format!("{} of incumbent (%)", t0.meta.report_metric)
            } else {
                format!("{} of incumbent", t0.meta.report_metric)
            },
            log_x: false,
            series: ss
                .iter()
                .map(|s| LineSeries {
                    name: s.method.clone(),
                    x: s.q.iter().map(|&q| q as f64).collect(),
                    y: s.mean.clone(),
                    band: Some((s.lo.clone(), s.hi.clone())),
                })
                .collect(),
            hline: t0
                .meta
                .report_optimum
                .is_finite()
                .then(|| ("global optimum".into(), t0.meta.report_optimum)),
        };
        let name = format!("curve_{}_{}", slug(bench), slug(dataset));
        idx.figure(
            out,
            &name,
            &format!("{bench} {dataset}: best found vs queries"),
            fig.into(),
            &prov(all_ids.clone(), "incumbent curves"),
        )?;
    }

    // Search dynamics: per-iteration diagnostics (they need the truth: tabular runs only).
    let with_truth: std::borrow::Cow<[_]> =
        if traces.iter().all(|t| t.meta.report_optimum.is_finite()) {
            std::borrow::Cow::Borrowed(&traces[..])
        } else {
            traces
                .iter()
                .filter(|t| t.meta.report_optimum.is_finite())
                .cloned()
                .collect::<Vec<_>>()
                .into()
        };
    for (diag, label) in [
        (
            Diagnostic::HitRateTop50,
            "P(sampled cell in the true top-50)",
        ),
        (Diagnostic::KendallTop50, "Kendall tau on the true top-50"),
    ] {
        let ds = diagnostics_series(&with_truth, diag);
        if ds.is_empty() {
            continue;
        }
        let mut by_task: BTreeMap<(String, String), Vec<_>> = BTreeMap::new();
        for s in ds {
            by_task
                .entry((s.benchmark.clone(), s.dataset.clone()))
                .or_default()
                .push(s);
        }
        for ((bench, dataset), ss) in by_task {
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
                        band: Some((
                            s.mean
                                .iter()
                                .zip(&s.std)
                                .map(|(m, d)| m - if d.is_nan() { 0.0 } else { *d })
                                .collect(),
                            s.mean
                                .iter()
                                .zip(&s.std)
                                .map(|(m, d)| m + if d.is_nan() { 0.0 } else { *d })
                                .collect(),
                        )),
                    })
                    .collect(),
                hline: None,
            };
            let name = format!(
                "dynamics_{}_{}_{}",
                diag.name(),
                slug(&bench),
                slug(&dataset)
            );
            idx.figure(
                out,
                &name,
                &format!("Search dynamics: {label} ({bench} {dataset})"),
                fig.into(),
                &prov(all_ids.clone(), diag.name()),
            )?;
        }
    }

    // Recorded rankings: predicted vs true (first seed of each method), error of the predicted top-k.
    let mut seen = std::collections::BTreeSet::new();
    for t in traces
        .iter()
        .filter(|t| !t.rankings.is_empty() && t.meta.report_optimum.is_finite())
    {
        if !seen.insert((
            t.meta.method.clone(),
            t.meta.benchmark.clone(),
            t.meta.dataset.clone(),
        )) {
            continue;
        }
        let iters: std::collections::BTreeSet<u32> =
            t.rankings.iter().map(|r| r.iteration).collect();
        let iters: Vec<u32> = iters.into_iter().collect();
        let pick: Vec<u32> = if iters.len() <= 6 {
            iters.clone()
        } else {
            (0..6).map(|i| iters[i * (iters.len() - 1) / 5]).collect()
        };
        let top_k = t
            .rankings
            .iter()
            .map(|r| r.predicted_rank)
            .max()
            .unwrap_or(0);
        let mut sorted_truth: Vec<f64> = Vec::new();
        if let Ok(b) = benches.get(&t.meta.benchmark) {
            if let Some(c) = b.store.column(&t.meta.search_metric) {
                sorted_truth = c.means().into_iter().filter(|v| v.is_finite()).collect();
                sorted_truth.sort_by(|a, b| b.total_cmp(a));
            }
        }
        let panels = pick
            .iter()
            .map(|&it| {
                let rs: Vec<_> = t.rankings.iter().filter(|r| r.iteration == it).collect();
                let cutoff = rs
                    .iter()
                    .filter(|r| r.predicted_rank == top_k)
                    .map(|r| r.predicted)
                    .next();
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
        let fig = ScatterFigure {
            title: format!(
                "{} on {} {}: predicted vs true (seed {})",
                t.meta.method, t.meta.benchmark, t.meta.dataset, t.meta.seed
            ),
            x_label: format!("true {} (%)", t.meta.search_metric),
            y_label: "predicted score".into(),
            panels,
            columns: None,
            share_x: true,
            x_threshold_label: format!("true top-{top_k}"),
            y_threshold_label: format!("predicted top-{top_k} cut-off"),
        };
        let base = format!(
            "{}_{}_{}",
            slug(&t.meta.method),
            slug(&t.meta.benchmark),
            slug(&t.meta.dataset)
        );
        idx.figure(
            out,
            &format!("scatter_{base}"),
            &format!("Predicted vs true, {} ({})", t.meta.method, t.meta.dataset),
            fig.into(),
            &prov(vec![t.meta.run_id.clone()], "predicted vs true"),
        )?;
        let opt = t.meta.search_optimum;
        let fig = EcdfFigure {
            title: format!(
                "{}: error of the predicted top-{top_k} ({} {})",
                t.meta.method, t.meta.benchmark, t.meta.dataset
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
                        .map(|r| opt - r.truth)
                        .collect(),
                })
                .collect(),
            colours: Default::default(),
        };
        idx.figure(
            out,
            &format!("error_{base}"),
            &format!(
                "Error distribution of the predicted top-{top_k}, {} ({})",
                t.meta.method, t.meta.dataset
            ),
            fig.into(),
            &prov(vec![t.meta.run_id.clone()], "top-k error ECDF"),
        )?;
    }
    atomic_write(&out.join("index.md"), idx.md.as_bytes())
        .with_context(|| format!("writing {}/index.md", out.display()))?;
    println!("wrote {}", out.join("index.md").display());
    Ok(traces)
}
