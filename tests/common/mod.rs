//! Shared helpers of the end-to-end tests.
#![allow(dead_code)]

use std::sync::OnceLock;
use weaknas_harness::runner::{BenchmarkSet, LoadedBenchmark};
use weaknas_harness::space::nb201::Nb201Space;
use weaknas_harness::store::import::nb201_csv;
use weaknas_harness::testdata::shared_data_or_skip;

/// The real NAS-Bench-201 benchmark built from ../shared/data (None: skip).
pub fn nb201() -> Option<&'static BenchmarkSet> {
    static SET: OnceLock<Option<BenchmarkSet>> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = shared_data_or_skip("nasbench201")?;
        let (store, sources) = nb201_csv::import_dir(&dir).expect("import the shared NB201 CSVs");
        let sha = sources
            .iter()
            .map(|s| s.sha256.as_str())
            .collect::<Vec<_>>()
            .join("+");
        let mut set = BenchmarkSet::new();
        set.insert(
            "nb201",
            LoadedBenchmark::new(store, sha, std::sync::Arc::new(Nb201Space)).unwrap(),
        );
        Some(set)
    })
    .as_ref()
}

/// The NB201 CIFAR-10 benchmark entry of the test specs (TOML): cifar10-valid x-valid ->
/// cifar10 ori-test.
pub const NB201_C10: &str = r#"
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid@200"
report = "cifar10/ori-test@200"
"#;

/// The NB201 CIFAR-100 entry (validation accuracy searched and reported), as in the paper
/// specs.
pub const NB201_C100_VALID: &str = r#"
[[benchmark]]
benchmark = "nb201"
dataset = "cifar100 (validation)"
search = "cifar100/x-valid@200"
report = "cifar100/x-valid@200"
"#;

/// Random search and regularized evolution (default parameters) as spec methods (TOML).
pub const RS_AND_RE: &str = r#"
[[method]]
name = "Random search"
method = "random"
[[method]]
name = "Regularized evolution"
method = "evolution"
"#;

/// A spec over NB201 cifar10-valid x-valid -> cifar10 ori-test with the given methods (TOML).
pub fn spec(
    name: &str,
    seeds: &str,
    budget: usize,
    methods: &str,
) -> weaknas_harness::runner::Spec {
    let text = format!(
        r#"
name = "{name}"
seeds = "{seeds}"
budget = {budget}
{NB201_C10}
{methods}
"#
    );
    weaknas_harness::runner::Spec::parse(&text).unwrap()
}

/// Runs every job of `spec` (in parallel, one thread per predictor, no diagnostics).
pub fn run_all(
    spec: &weaknas_harness::runner::Spec,
    set: &BenchmarkSet,
) -> Vec<weaknas_harness::trace::RunTrace> {
    use rayon::prelude::*;
    use weaknas_harness::runner::{jobs, run_job, RunOptions};
    let reg = weaknas_baselines::registry();
    let seeds = spec.seeds.to_vec().unwrap();
    let js = jobs(spec, set, &seeds).unwrap();
    let opts = RunOptions {
        diagnostics: false,
        ..RunOptions::default()
    };
    js.par_iter()
        .map(|j| {
            run_job(
                spec,
                &reg,
                set,
                j,
                weaknas_harness::predictor::Threads::ONE,
                &opts,
            )
            .unwrap()
        })
        .collect()
}

/// Report value of each seed's incumbent after `q` queries of `method`, by seed.
pub fn report_at(traces: &[weaknas_harness::trace::RunTrace], method: &str, q: usize) -> Vec<f64> {
    let mut v: Vec<(u64, f64)> = traces
        .iter()
        .filter(|t| t.meta.method == method)
        .map(|t| (t.meta.seed, t.incumbents()[q - 1].1))
        .collect();
    v.sort_by_key(|p| p.0);
    v.into_iter().map(|p| p.1).collect()
}

/// Asserts that the mean incumbent (search mean and report value) of random-search `traces`
/// over NB201 cifar10 matches the exact order-statistics expectation at every query count
/// of `grid` (two-sided z-test; `z_crit` is the family-wise critical value).
pub fn assert_random_search_expectation(
    traces: &[weaknas_harness::trace::RunTrace],
    set: &BenchmarkSet,
    grid: &[usize],
    z_crit: f64,
) {
    use weaknas_harness::expectation::random_search_incumbent;
    let n = traces.len();
    let b = set.get("nb201").unwrap();
    let search = b.store.column("cifar10-valid/x-valid@200").unwrap().means();
    let report = b.store.column("cifar10/ori-test@200").unwrap().means();
    for &q in grid {
        for (name, values, report_side) in [("report", &report, true), ("search", &search, false)] {
            let (mean, var) = random_search_incumbent(&search, values, q);
            let sample: Vec<f64> = traces
                .iter()
                .map(|t| {
                    let inc = t.incumbents()[q - 1];
                    if report_side {
                        inc.1
                    } else {
                        inc.0
                    }
                })
                .collect();
            let m = sample.iter().sum::<f64>() / n as f64;
            let se = (var / n as f64).sqrt();
            let z = if se > 0.0 { (m - mean) / se } else { 0.0 };
            assert!(
                z.abs() < z_crit,
                "q={q} {name}: simulated mean {m:.4} vs exact {mean:.4} (se {se:.4}, z {z:.2})"
            );
        }
    }
}

/// The `weaknas` binary with `$WEAKNAS_HOME` set and quiet logs.
pub fn weaknas(home: &std::path::Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("weaknas").unwrap();
    c.env("WEAKNAS_HOME", home).env("WEAKNAS_LOG", "warn");
    c
}

/// [`weaknas`] without an inherited `WEAKNAS_CODE_FINGERPRINT`, for tests that set the
/// fingerprint of each invocation themselves.
pub fn weaknas_without_fingerprint(home: &std::path::Path) -> assert_cmd::Command {
    let mut c = weaknas(home);
    c.env_remove("WEAKNAS_CODE_FINGERPRINT");
    c
}

/// A command the tests run to completion (`assert_cmd`'s or the standard library's).
pub trait Run {
    /// Runs it and returns what it printed and how it exited.
    fn run(&mut self) -> std::process::Output;
}

impl Run for assert_cmd::Command {
    fn run(&mut self) -> std::process::Output {
        self.output().unwrap()
    }
}

impl Run for std::process::Command {
    fn run(&mut self) -> std::process::Output {
        self.output().unwrap()
    }
}

/// Runs `c`, asserts that it succeeded (showing its stdout and stderr if it did not) and
/// returns its stdout.
pub fn ok(c: &mut impl Run) -> String {
    let o = c.run();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fresh `$WEAKNAS_HOME` holding the NB201 store imported (`weaknas data import nb201-csv`)
/// from ../shared/data's CSVs; `None` to skip (see [`shared_data_or_skip`]).
pub fn home_with_nb201() -> Option<tempfile::TempDir> {
    let data = shared_data_or_skip("nasbench201")?;
    let home = tempfile::tempdir().unwrap();
    weaknas(home.path())
        .args(["data", "import", "nb201-csv"])
        .arg(&data)
        .assert()
        .success();
    Some(home)
}
