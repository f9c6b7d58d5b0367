//! The Python example searchers (`python/examples/`) through the real protocol on the real
//! NAS-Bench-201 data (skipped without it): the Python random search matches the exact
//! expectation of random search, and the Python and Rust regularized evolution are not
//! significantly different. The protocol's errors, determinism and content addresses are
//! tested in `baselines/tests/external.rs`.

mod common;

use common::{report_at, run_all};
use std::path::Path;
use weaknas_harness::space::nb201::Nb201Space;
use weaknas_harness::space::SearchSpace;
use weaknas_results::stats::{mann_whitney_u, Alternative};

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python/examples")
        .join(name)
        .display()
        .to_string()
}

fn external(name: &str, command: &str, timeout_s: f64) -> String {
    format!(
        "[[method]]\nname = \"{name}\"\nmethod = \"external\"\nparams = {{ command = {command:?}, timeout_s = {timeout_s} }}\n"
    )
}

#[test]
fn python_random_search_matches_exact_order_statistics() {
    let Some(set) = common::nb201() else { return };
    let n_seeds = 200usize;
    let methods = external(
        "py-rs",
        &format!("python3 {}", example("random_search.py")),
        60.0,
    );
    let spec = common::spec("py-rs-exact", &format!("0..{n_seeds}"), 200, &methods);
    let traces = run_all(&spec, set);
    // Family-wise 99% over 4 query counts x 2 metrics (Bonferroni): z for alpha = 0.01 / 8.
    common::assert_random_search_expectation(&traces, set, &[10, 50, 100, 200], 3.2272);
}

#[test]
fn python_and_rust_regularized_evolution_are_not_significantly_different() {
    let Some(set) = common::nb201() else { return };
    let methods = format!(
        "{}[[method]]\nname = \"rust-re\"\nmethod = \"evolution\"\n[[method]]\nname = \"rs\"\nmethod = \"random\"\n",
        external("py-re", &format!("python3 {}", example("regularized_evolution.py")), 60.0)
    );
    let n = 64;
    let spec = common::spec("py-re", &format!("0..{n}"), 150, &methods);
    let traces = run_all(&spec, set);
    for q in [50usize, 100, 150] {
        let py = report_at(&traces, "py-re", q);
        let rust = report_at(&traces, "rust-re", q);
        assert_eq!((py.len(), rust.len()), (n, n));
        let t = mann_whitney_u(&py, &rust, Alternative::TwoSided).unwrap();
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        eprintln!(
            "q={q}: Python RE {:.3}, Rust RE {:.3}, RS {:.3} (Mann-Whitney p = {:.3})",
            mean(&py),
            mean(&rust),
            mean(&report_at(&traces, "rs", q)),
            t.pvalue
        );
        assert!(
            t.pvalue > 0.01,
            "q={q}: Python and Rust RE differ (p = {:.4})",
            t.pvalue
        );
    }
    // It is evolution, not random search: children are mutations of queried cells, and it
    // beats random search on average at the budget.
    let space = Nb201Space;
    for t in traces.iter().filter(|t| t.meta.method == "py-re") {
        let charged: Vec<u32> = t
            .queries
            .iter()
            .filter(|q| q.charged)
            .map(|q| q.cell)
            .collect();
        let mutated = (30..charged.len())
            .filter(|&k| {
                let n = space.neighbours(charged[k]);
                charged[..k].iter().any(|c| n.contains(c))
            })
            .count();
        assert!(
            mutated * 10 >= (charged.len() - 30) * 9,
            "seed {}: {mutated} mutations",
            t.meta.seed
        );
    }
    let mean = |x: Vec<f64>| x.iter().sum::<f64>() / x.len() as f64;
    assert!(mean(report_at(&traces, "py-re", 150)) > mean(report_at(&traces, "rs", 150)));
}
