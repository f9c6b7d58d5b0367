//! Timed comparison (a benchmark, not a test): end-to-end wall time of one WeakNAS run on
//! NAS-Bench-201 at the paper defaults (MLP 4 x 1000, 100 epochs, I = M = 10, N = 100), and of
//! 100 seeds with a cheap predictor, printed next to the official code's predictor cost
//! (references.md: scikit-learn's MLPRegressor 4 x 1000 takes ~47 s per fit on 500 samples and
//! ~73 s on 1000 samples on a 2-core machine, so a 1000-query run costs on the order of an hour).
//!
//! `cargo run --release --example e2e_timing -- [BUDGET]` (default 1000); reads the real data
//! from ../shared/data/nasbench201 (or $WEAKNAS_SHARED_DATA).

use std::sync::Arc;
use std::time::Instant;
use weaknas_harness::predictor::Threads;
use weaknas_harness::runner::{jobs, run_job, BenchmarkSet, LoadedBenchmark, RunOptions, Spec};
use weaknas_harness::space::nb201::Nb201Space;
use weaknas_harness::store::import::nb201_csv;

fn spec(budget: usize, seeds: &str, params: &str) -> Spec {
    Spec::parse(&format!(
        r#"
name = "timing"
seeds = "{seeds}"
budget = {budget}
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid@200"
report = "cifar10/ori-test@200"
[[method]]
name = "WeakNAS"
method = "weaknas"
params = {{ {params} }}
"#
    ))
    .unwrap()
}

fn main() -> anyhow::Result<()> {
    let budget: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1000);
    let dir = weaknas_harness::testdata::shared_data_dir().join("nasbench201");
    let (store, _) = nb201_csv::import_dir(&dir)?;
    let mut set = BenchmarkSet::new();
    set.insert(
        "nb201",
        LoadedBenchmark::new(store, "timing".into(), Arc::new(Nb201Space))?,
    );
    let reg = weaknas_baselines::registry();
    let opts = RunOptions {
        diagnostics: false,
        ..RunOptions::default()
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);

    let s = spec(budget, "0..1", "");
    let j = &jobs(&s, &set, &[0])?[0];
    let t = Instant::now();
    let trace = run_job(&s, &reg, &set, j, Threads(cores), &opts)?;
    let one = t.elapsed().as_secs_f64();
    let fits = trace.meta.budget.div_ceil(10);
    println!("one WeakNAS run, MLP 4x1000, {budget} queries ({fits} fits + predictions of 15,625 cells): {one:.1} s on {cores} cores");
    let official = (0..fits)
        .map(|k| 47.0 + (73.0 - 47.0) * ((k * 10) as f64 - 500.0) / 500.0)
        .map(|s: f64| s.max(5.0))
        .sum::<f64>();
    println!("  official code's predictor cost alone for the same fits (interpolated from references.md, 2 cores): ~{official:.0} s  => {:.0}x", official / one);

    let s = spec(
        budget.min(200),
        "0..100",
        r#"predictor = { type = "mlp", hidden = [128, 128] }"#,
    );
    let js = jobs(&s, &set, &s.seeds.to_vec()?)?;
    let t = Instant::now();
    use rayon::prelude::*;
    js.par_iter()
        .try_for_each(|j| run_job(&s, &reg, &set, j, Threads::ONE, &opts).map(|_| ()))?;
    println!(
        "100 seeds of WeakNAS with an MLP 2x128, {} queries each: {:.1} s",
        budget.min(200),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
