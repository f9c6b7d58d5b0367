//! Issue-4 checks over the real NAS-Bench-201 data: budgets and the oracle, random search
//! against its exact order-statistics expectation, WeakNAS and regularized evolution against
//! random search (paired Wilcoxon), determinism across thread counts.

mod common;

use common::{report_at, run_all};
use weaknas_harness::predictor::Threads;
use weaknas_harness::runner::{jobs, run_job, run_spec, RunOptions};
use weaknas_harness::trace::{JsonTraceSink, RunTrace};
use weaknas_results::stats::{wilcoxon, Alternative};

/// A small MLP keeps the 100-seed test in CI time; the paper-size MLP runs in the specs.
const SMALL_MLP: &str = r#"predictor = { type = "mlp", hidden = [128, 128], max_iter = 100 }"#;

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn every_method_spends_exactly_its_budget() {
    let Some(set) = common::nb201() else { return };
    let methods = format!(
        r#"
[[method]]
name = "w"
method = "weaknas"
params = {{ {SMALL_MLP} }}
[[method]]
name = "wei"
method = "weaknas-ei"
params = {{ {SMALL_MLP}, ensemble = 3 }}
[[method]]
name = "rs"
method = "random"
[[method]]
name = "re"
method = "evolution"
params = {{ duplicates = "re-mutate" }}
[[method]]
name = "sp"
method = "strong-predictor"
params = {{ {SMALL_MLP}, init = 30 }}
[[method]]
name = "ls"
method = "local-search"
"#
    );
    let spec = common::spec("budget", "0..2", 60, &methods);
    for t in run_all(&spec, set) {
        let charged: Vec<u32> = t
            .queries
            .iter()
            .filter(|q| q.charged)
            .map(|q| q.cell)
            .collect();
        assert_eq!(
            charged.len(),
            60,
            "{} spent {} of 60",
            t.meta.method,
            charged.len()
        );
        let uniq: std::collections::HashSet<u32> = charged.iter().copied().collect();
        assert_eq!(uniq.len(), 60, "{}: a charged cell twice", t.meta.method);
        assert!(t.queries.iter().all(|q| q.query_index <= 60));
    }
}

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn random_search_matches_exact_order_statistics() {
    let Some(set) = common::nb201() else { return };
    let n_seeds = 200usize;
    let spec = common::spec(
        "rs-exact",
        &format!("0..{n_seeds}"),
        1000,
        "[[method]]\nname = \"rs\"\nmethod = \"random\"",
    );
    let traces = run_all(&spec, set);
    // Family-wise 99% over the grid and the two metrics (Bonferroni): two-sided z critical value
    // for alpha = 0.01 / 14.
    common::assert_random_search_expectation(
        &traces,
        set,
        &[10, 20, 50, 100, 200, 500, 1000],
        3.3528,
    );
}

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn weaknas_and_evolution_beat_random_search() {
    let Some(set) = common::nb201() else { return };
    let methods = format!(
        r#"
[[method]]
name = "WeakNAS"
method = "weaknas"
params = {{ {SMALL_MLP} }}
[[method]]
name = "RS"
method = "random"
[[method]]
name = "RE"
method = "evolution"
"#
    );
    let spec = common::spec("quality", "0..100", 200, &methods);
    let traces = run_all(&spec, set);
    for q in [100usize, 150, 200] {
        let rs = report_at(&traces, "RS", q);
        for m in ["WeakNAS", "RE"] {
            let x = report_at(&traces, m, q);
            assert_eq!(x.len(), 100);
            let t = wilcoxon(&x, &rs, Alternative::TwoSided).unwrap();
            let diff = x.iter().sum::<f64>() / 100.0 - rs.iter().sum::<f64>() / 100.0;
            eprintln!("q={q} {m} - RS = {diff:+.3} (p = {:.2e})", t.pvalue);
            assert!(
                diff > 0.0 && t.pvalue < 0.01,
                "q={q}: {m} does not beat random search (diff {diff:.3}, p {:.3e})",
                t.pvalue
            );
        }
    }
}

fn strip_wall(mut t: RunTrace) -> RunTrace {
    t.meta.wall_s = 0.0;
    for q in &mut t.queries {
        q.wall_s = 0.0;
    }
    t
}

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn runs_are_bit_identical_at_one_and_two_threads() {
    let Some(set) = common::nb201() else { return };
    let methods = format!(
        r#"
[[method]]
name = "w"
method = "weaknas"
params = {{ {SMALL_MLP} }}
[[method]]
name = "re"
method = "evolution"
[[method]]
name = "rs"
method = "random"
"#
    );
    let spec = common::spec("det", "0..3", 50, &methods);
    let reg = weaknas_baselines::registry();
    let mut out = Vec::new();
    for jobs in [1usize, 2] {
        let dir = tempfile::tempdir().unwrap();
        let sink = JsonTraceSink::new(dir.path());
        let opts = RunOptions {
            jobs,
            ..RunOptions::default()
        };
        let s = run_spec(&spec, &reg, set, &sink, &opts).unwrap();
        assert_eq!((s.ran, s.failed.len()), (9, 0));
        // Resume: nothing left to do.
        let again = run_spec(&spec, &reg, set, &sink, &opts).unwrap();
        assert_eq!((again.ran, again.skipped), (0, 9));
        let traces: Vec<RunTrace> = sink
            .read_all()
            .unwrap()
            .into_iter()
            .map(strip_wall)
            .collect();
        out.push(traces);
    }
    assert_eq!(out[0].len(), 9);
    // Compare serialised forms (NaN diagnostics compare unequal as floats).
    let a = serde_json::to_string(&out[0]).unwrap();
    let b = serde_json::to_string(&out[1]).unwrap();
    assert!(a == b, "traces differ between 1 and 2 threads");
}

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn weaknas_follows_its_sampling_rules() {
    let Some(set) = common::nb201() else { return };
    let reg = weaknas_baselines::registry();
    for (params, top_n) in [
        ("", 100usize),
        ("top_n = 20, keep_old = \"none\"", 20),
        ("top_n = 30, keep_old = \"top\", init = 25", 30),
    ] {
        let methods = format!(
            "[[method]]\nname = \"w\"\nmethod = \"weaknas\"\nparams = {{ {SMALL_MLP}{}{params} }}",
            if params.is_empty() { "" } else { ", " }
        );
        let spec = common::spec("rules", "0..2", 95, &methods);
        let seeds = spec.seeds.to_vec().unwrap();
        for j in jobs(&spec, set, &seeds).unwrap() {
            let opts = RunOptions {
                record_rankings: top_n,
                ..RunOptions::default()
            };
            let t = run_job(&spec, &reg, set, &j, Threads::ONE, &opts).unwrap();
            let init = if params.contains("init = 25") { 25 } else { 10 };
            let charged: Vec<_> = t.queries.iter().filter(|q| q.charged).collect();
            assert_eq!(
                charged.iter().filter(|q| q.iteration == 0).count(),
                init,
                "{params}: init"
            );
            let last = charged.last().unwrap().iteration;
            for k in 1..=last {
                let new: Vec<u32> = charged
                    .iter()
                    .filter(|q| q.iteration == k)
                    .map(|q| q.cell)
                    .collect();
                let expect = if k < last {
                    10
                } else {
                    (95 - init) - 10 * (last as usize - 1)
                };
                assert_eq!(
                    new.len(),
                    expect,
                    "{params}: iteration {k} sampled {}",
                    new.len()
                );
                // The ranking of iteration k-1 chose them: inside its predicted top-N, unless the
                // pool of unqueried top-N cells was smaller than M (then the rest are the
                // best-ranked outside the top-N).
                let top: std::collections::HashSet<u32> = t
                    .rankings
                    .iter()
                    .filter(|r| r.iteration == k - 1 && r.predicted_rank > 0)
                    .map(|r| r.cell)
                    .collect();
                assert_eq!(top.len(), top_n);
                let inside = new.iter().filter(|c| top.contains(c)).count();
                let queried_before: std::collections::HashSet<u32> = charged
                    .iter()
                    .filter(|q| q.iteration < k)
                    .map(|q| q.cell)
                    .collect();
                let pool = top.iter().filter(|c| !queried_before.contains(c)).count();
                assert_eq!(
                    inside,
                    new.len().min(pool),
                    "{params}: iteration {k}: {inside} of {} inside the top-{top_n} (pool {pool})",
                    new.len()
                );
            }
            // One ranking per fit, including the final fit at the budget.
            assert_eq!(t.iterations.len(), last as usize + 1);
            assert_eq!(t.iterations.last().unwrap().num_queried, 95);
        }
    }
}
