//! The reproduction protocols on the real NAS-Bench-201 data: the `optimum` stop rule (runs
//! end at the global optimum, no censoring) with random search against its closed form
//! (N + 1) / (k + 1), the per-q strong predictor of Figure 1, and `weaknas claims` end to end.

mod common;

use common::{ok, weaknas};

use rayon::prelude::*;
use weaknas_harness::predictor::Threads;
use weaknas_harness::runner::{jobs, run_job, RunOptions, Spec};
use weaknas_harness::trace::RunTrace;
use weaknas_results::{random_search_expected_queries, run_curves, samples_to_optimum, Measure};

fn run_all(spec: &Spec) -> Vec<RunTrace> {
    let set = common::nb201().expect("data checked by the caller");
    let reg = weaknas_baselines::registry();
    let seeds = spec.seeds.to_vec().unwrap();
    let js = jobs(spec, set, &seeds).unwrap();
    let opts = RunOptions {
        diagnostics: false,
        ..RunOptions::default()
    };
    js.par_iter()
        .map(|j| run_job(spec, &reg, set, j, Threads::ONE, &opts).unwrap())
        .collect()
}

fn optimum_spec(stop: &str, report: &str, seeds: &str) -> Spec {
    Spec::parse(&format!(
        r#"
name = "stop-{stop}"
seeds = "{seeds}"
budget = 15625
stop = "{stop}"
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid@200"
report = "{report}"
[[method]]
name = "Random search"
method = "random"
"#
    ))
    .unwrap()
}

#[test]
fn optimum_stop_rule_and_random_search_closed_form() {
    if common::nb201().is_none() {
        return;
    }
    // Search optimum: the cifar10-valid validation optimum is unique (k = 1). Report
    // optimum: the cifar10 test optimum 94.3733 is shared by two cells (k = 2).
    for (stop, report, k) in [
        ("search-optimum", "cifar10/ori-test@200", 1usize),
        ("report-optimum", "cifar10/ori-test@200", 2),
    ] {
        let n_seeds = 200;
        let spec = optimum_spec(stop, report, &format!("0..{n_seeds}"));
        let traces = run_all(&spec);
        for t in &traces {
            assert_eq!(t.meta.stop, stop);
            assert_eq!(t.meta.space_size, 15625);
            let kk = if stop == "search-optimum" {
                t.meta.search_optimum_cells
            } else {
                t.meta.report_optimum_cells
            };
            assert_eq!(kk, k, "{stop}: cells sharing the optimum");
            let charged: Vec<_> = t.queries.iter().filter(|q| q.charged).collect();
            let last = charged.last().unwrap();
            let (v, opt) = if stop == "search-optimum" {
                (last.search_mean, t.meta.search_optimum)
            } else {
                (last.report_value, t.meta.report_optimum)
            };
            assert_eq!(
                v, opt,
                "{stop} seed {}: the run ends at the optimum",
                t.meta.seed
            );
            let before_last = &charged[..charged.len() - 1];
            assert!(
                before_last.iter().all(|q| if stop == "search-optimum" {
                    q.search_mean < opt
                } else {
                    q.report_value < opt
                }),
                "{stop}: it stops at the first optimum it queries"
            );
        }
        let curves = run_curves(&traces);
        let rows = samples_to_optimum(&curves, "Random search");
        assert_eq!(rows.len(), 1, "one target under a stop rule");
        let r = &rows[0];
        assert_eq!((r.runs, r.censored), (n_seeds, 0));
        // Closed form: the first of k marked cells in a uniform order of N. Its variance:
        // for k = 1 uniform on 1..N, (N^2 - 1) / 12; for k = 2, E[X^2] - E[X]^2 with
        // P(X = x) = 2 (N - x) / (N (N - 1)).
        let n = 15625f64;
        let expect = random_search_expected_queries(15625, k);
        let var = if k == 1 {
            (n * n - 1.0) / 12.0
        } else {
            let (mut m1, mut m2) = (0.0, 0.0);
            for x in 1..15625 {
                let p = 2.0 * (n - x as f64) / (n * (n - 1.0));
                m1 += p * x as f64;
                m2 += p * (x * x) as f64;
            }
            assert!((m1 - expect).abs() < 1e-6, "{m1} vs {expect}");
            m2 - m1 * m1
        };
        let se = (var / n_seeds as f64).sqrt();
        let z = (r.stats.mean - expect) / se;
        assert!(
            z.abs() < 3.3,
            "{stop}: measured mean {:.1} vs closed form {expect:.1} (se {se:.1}, z {z:.2})",
            r.stats.mean
        );
        assert!(
            r.ci.0 < expect && expect < r.ci.1,
            "{stop}: closed form {expect} outside the bootstrap CI {:?}",
            r.ci
        );
    }
}

#[test]
fn per_q_strong_predictor_counts_its_top1_as_the_qth_query() {
    if common::nb201().is_none() {
        return;
    }
    let spec = common::spec(
        "per-q",
        "0..3",
        40,
        r#"
[[method]]
name = "Strong (per q)"
method = "strong-predictor"
params = { mode = "per-q", grid = [10, 20, 40], predictor = { type = "ridge" } }
"#,
    );
    let set = common::nb201().unwrap();
    let b = set.get("nb201").unwrap();
    let search = b.store.column("cifar10-valid/x-valid@200").unwrap().means();
    let report = b.store.column("cifar10/ori-test@200").unwrap().means();
    let traces = run_all(&spec);
    for t in &traces {
        let charged: Vec<_> = t.queries.iter().filter(|q| q.charged).collect();
        assert_eq!(
            charged.len(),
            40,
            "the budget is spent on the uniform stream"
        );
        let nq: Vec<usize> = t.iterations.iter().map(|r| r.num_queried).collect();
        assert_eq!(
            nq,
            vec![9, 19, 39],
            "one fit per grid point, on q - 1 samples"
        );
        let c = weaknas_results::RunCurve::from_trace(t);
        assert!(c.per_q);
        for (r, q) in t.iterations.iter().zip([10usize, 20, 40]) {
            // The top-1's truth, as the runner recorded it, is a real cell's values.
            assert!(
                (0..search.len()).any(|i| search[i] == r.top1_search && report[i] == r.top1_report)
            );
            let (mut bs, mut br) = (f64::NEG_INFINITY, f64::NAN);
            for qr in &charged[..q - 1] {
                if qr.search_value > bs {
                    (bs, br) = (qr.search_value, qr.report_value);
                }
            }
            let want = if r.top1_search > bs {
                r.top1_report
            } else {
                br
            };
            assert_eq!(
                c.value(Measure::Report, q),
                Some(want),
                "seed {} q {q}",
                t.meta.seed
            );
        }
        assert_eq!(
            c.value(Measure::Report, 15),
            None,
            "defined at grid points only"
        );
    }
}

#[test]
fn claims_report_end_to_end() {
    let Some(home) = common::home_with_nb201() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let table = work.path().join("t.toml");
    std::fs::write(
        &table,
        r#"
name = "t"
seeds = "0..4"
budget = 40
report_budgets = [20, 40]
[outputs]
claims = ["nb201-table", "figure1", "search-dynamics"]
record_rankings = 20
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid-api2020@200"
report = "cifar10/ori-test@200"
[[method]]
name = "WeakNAS"
method = "weaknas"
params = { predictor = { type = "mlp", hidden = [32, 32], max_iter = 30 } }
[[method]]
name = "Random search"
method = "random"
[[method]]
name = "Strong (per q)"
method = "strong-predictor"
params = { mode = "per-q", grid = [20, 30, 40], predictor = { type = "mlp", hidden = [32, 32], max_iter = 30 } }
[[method]]
name = "WeakNAS-EI"
method = "weaknas-ei"
params = { predictor = { type = "mlp", hidden = [16], max_iter = 20 } }
"#,
    )
    .unwrap();
    let opt = work.path().join("o.toml");
    std::fs::write(
        &opt,
        r#"
name = "o"
seeds = "0..4"
budget = 15625
stop = "optimum"
[outputs]
claims = ["samples-to-optimum"]
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid-api2020@200"
report = "cifar10/ori-test@200"
[[method]]
name = "WeakNAS"
method = "weaknas"
params = { predictor = { type = "ridge" } }
[[method]]
name = "Random search"
method = "random"
"#,
    )
    .unwrap();
    let runs = work.path().join("runs");
    for (spec, name) in [(&table, "t"), (&opt, "o")] {
        ok(weaknas(home.path())
            .arg("run")
            .arg(spec)
            .arg("--out")
            .arg(runs.join(name))
            .args(["--jobs", "2"]));
    }
    let out = work.path().join("report");
    ok(weaknas(home.path())
        .arg("claims")
        .arg(&table)
        .arg(&opt)
        .arg("--runs-root")
        .arg(&runs)
        .arg("--out")
        .arg(&out));
    let md = std::fs::read_to_string(out.join("claims.md")).unwrap();
    for needle in [
        "samples to the global optimum",
        "Figure 1: weak vs strong",
        "NAS-Bench-201 table",
        "search dynamics",
        "NAS-Bench-101",
        "not testable here",
        "closed form (N+1)/(k+1) = 7813.0",
        "t/index.md",
        "o/tables/samples_to_optimum.md",
    ] {
        assert!(md.contains(needle), "claims.md lacks {needle:?}:\n{md}");
    }
    // WeakNAS and its EI variant each get a table row against the baselines; neither is the
    // other's baseline.
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.contains("[NAS-Bench-201 table"))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[1].contains("NAS-Bench-201 table: WeakNAS-EI") && !rows[0].contains("vs WeakNAS-EI"),
        "{rows:?}"
    );
    // Numeric CSV columns: every mean/std/CI cell parses as a number.
    for (file, cols) in [
        (
            "o/tables/samples_to_optimum.csv",
            &["mean", "std", "ci_lo", "ci_hi", "runs"][..],
        ),
        (
            "t/tables/results.csv",
            &["mean", "std", "n", "ci_lo", "ci_hi"][..],
        ),
    ] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let header = r.headers().unwrap().clone();
        let mut rows = 0;
        for rec in r.records() {
            let rec = rec.unwrap();
            rows += 1;
            for c in cols {
                let i = header
                    .iter()
                    .position(|h| h == *c)
                    .unwrap_or_else(|| panic!("{file}: no column {c}: {header:?}"));
                let v = &rec[i];
                assert!(
                    v.is_empty() || v.parse::<f64>().is_ok(),
                    "{file}: column {c} holds {v:?}"
                );
            }
        }
        assert!(rows > 0, "{file} is empty");
    }
}
