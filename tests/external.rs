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

/// Charged queries of `method`'s runs that repeat a cell queried before, per run.
fn repeats(traces: &[weaknas_harness::trace::RunTrace], method: &str) -> Vec<usize> {
    traces
        .iter()
        .filter(|t| t.meta.method == method)
        .map(|t| {
            let mut seen = std::collections::HashSet::new();
            t.queries
                .iter()
                .filter(|q| q.charged && !seen.insert(q.cell))
                .count()
        })
        .collect()
}

#[test]
fn python_and_rust_regularized_evolution_are_not_significantly_different() {
    let Some(set) = common::nb201() else { return };
    let re = format!("python3 {}", example("regularized_evolution.py"));
    let methods = format!(
        "{}{}[[method]]\nname = \"rust-re\"\nmethod = \"evolution\"\n\
         [[method]]\nname = \"rust-re-rm\"\nmethod = \"evolution\"\nparams = {{ duplicates = \"re-mutate\" }}\n\
         [[method]]\nname = \"rs\"\nmethod = \"random\"\n",
        external("py-re", &re, 60.0),
        external("py-re-rm", &re, 60.0).replace(
            "timeout_s = 60 }",
            "timeout_s = 60, args = { duplicates = \"re-mutate\" } }"
        ),
    );
    let n = 64;
    let spec = common::spec("py-re", &format!("0..{n}"), 150, &methods);
    let traces = run_all(&spec, set);
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    for (py_name, rust_name) in [("py-re", "rust-re"), ("py-re-rm", "rust-re-rm")] {
        for q in [50usize, 100, 150] {
            let py = report_at(&traces, py_name, q);
            let rust = report_at(&traces, rust_name, q);
            assert_eq!((py.len(), rust.len()), (n, n));
            let t = mann_whitney_u(&py, &rust, Alternative::TwoSided).unwrap();
            eprintln!(
                "q={q}: {py_name} {:.3}, {rust_name} {:.3}, RS {:.3} (Mann-Whitney p = {:.3})",
                mean(&py),
                mean(&rust),
                mean(&report_at(&traces, "rs", q)),
                t.pvalue
            );
            assert!(
                t.pvalue > 0.01,
                "q={q}: {py_name} and {rust_name} differ (p = {:.4})",
                t.pvalue
            );
        }
    }
    // The duplicate rules: under "charge" (the default of both) repeats are charged, about
    // as often in Python as in Rust; under "re-mutate" no query is ever repeated.
    let as_f64 = |v: Vec<usize>| v.into_iter().map(|x| x as f64).collect::<Vec<f64>>();
    let (py_rep, rust_rep) = (
        as_f64(repeats(&traces, "py-re")),
        as_f64(repeats(&traces, "rust-re")),
    );
    eprintln!(
        "repeated charged queries per run: Python {:.2}, Rust {:.2}",
        mean(&py_rep),
        mean(&rust_rep)
    );
    assert!(mean(&py_rep) > 0.0 && mean(&rust_rep) > 0.0);
    let t = mann_whitney_u(&py_rep, &rust_rep, Alternative::TwoSided).unwrap();
    assert!(
        t.pvalue > 0.01,
        "repeat counts differ (p = {:.4})",
        t.pvalue
    );
    for m in ["py-re-rm", "rust-re-rm"] {
        assert!(
            repeats(&traces, m).iter().all(|&r| r == 0),
            "{m} repeated a query"
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
    assert!(mean(&report_at(&traces, "py-re", 150)) > mean(&report_at(&traces, "rs", 150)));
}
