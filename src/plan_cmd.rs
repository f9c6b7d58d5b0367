//! `weaknas run SPEC --plan`: the spec's runs, how many of them the result directory (`--out`,
//! default `runs/<spec>`) already holds finished, a CPU-time estimate per method and benchmark
//! from a quick calibration on this machine (for the runs left, and for all of them), the
//! `--shard` count whose shards each finish within a wall-clock target, and (with
//! `--slurm-script FILE`) a Slurm job-array script that runs the shards and then merges them
//! with `weaknas merge`.
//!
//! Estimates: WeakNAS with an MLP from its fit schedule, the MLP's measured single-thread
//! rates and the epochs its fits run on this benchmark before early stopping, measured by a
//! few real fits ([`plan`](weaknas_harness::runner::plan)); any other method by the CPU time
//! of one real run of its first seed (results discarded). Open-domain benchmarks' training commands are not run: their cost is not
//! estimated.

use crate::run_cmd::RunArgs;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use weaknas_harness::runner::plan::{self, MlpRates};
use weaknas_harness::runner::{self, spec::parse_seed_range, BenchmarkSet, RunOptions, Spec};
use weaknas_harness::trace::TraceSink;
use weaknas_results::ParquetTraceSink;

/// One (method, benchmark) row of the plan.
struct Row {
    method: String,
    bench: String,
    runs: usize,
    /// Of `runs`, those the result directory already holds finished.
    done: usize,
    /// CPU-seconds per run (NaN: not estimated).
    cpu_s: f64,
    how: String,
}

/// Prints the plan of `args.spec` (and writes the Slurm script when asked).
pub fn plan(args: &RunArgs) -> Result<ExitCode> {
    let spec = crate::run_cmd::selection(&Spec::load(&args.spec)?, args)?;
    let benches = BenchmarkSet::for_spec(&spec)?;
    let seeds = match &args.seeds {
        Some(s) => parse_seed_range(s)?,
        None => spec.seeds.to_vec()?,
    };
    let jobs = runner::jobs(&spec, &benches, &seeds)?;
    if jobs.is_empty() {
        bail!("spec {}: no runs to plan", args.spec.display());
    }
    let cores = args.plan_cores.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let wall_s = plan::parse_duration(args.plan_wall.as_deref().unwrap_or("24h"))?;
    let registry = weaknas_baselines::registry();
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    let mut rates: BTreeMap<String, MlpRates> = BTreeMap::new();
    let mut costs = Vec::with_capacity(jobs.len());
    // Runs already finished in the result directory, as `weaknas run` would skip them.
    let out = crate::run_cmd::out_dir(args, &spec);
    let sink = ParquetTraceSink::new(&out);
    for job in &jobs {
        let done = sink.is_done(&job.run_id)?;
        let key = (job.method.name.clone(), job.bench.key());
        if let Some(r) = rows.get_mut(&key) {
            r.runs += 1;
            r.done += usize::from(done);
            costs.push(r.cpu_s);
            continue;
        }
        let loaded = benches.get(&job.bench.key())?;
        let space = loaded.space.name().to_string();
        let info = weaknas_harness::searcher::BuildInfo {
            space: space.clone(),
            budget: spec.budget,
        };
        registry
            .build(&job.method.method, &job.method.params, &info)
            .with_context(|| format!("method {:?} of spec {}", job.method.name, spec.name))?;
        let (rows_n, inputs) = (loaded.features.rows, loaded.features.cols);
        let work =
            plan::weaknas_mlp_work(&job.method.method, &job.method.params, &space, spec.budget)?;
        let (cpu_s, how) = if let Some(work) = work {
            let label = format!("{:?}/{inputs}", work.mlp);
            let r = match rates.get(&label) {
                Some(r) => *r,
                None => {
                    let r = plan::calibrate_mlp(&work.mlp, inputs)?;
                    rates.insert(label, r);
                    r
                }
            };
            // Epochs before early stopping, from real fits on this benchmark's search metric
            // (tabular benchmarks); else every fit at the bound.
            let epochs = match loaded.store.column(&job.bench.contract.search) {
                Some(col) if loaded.open.is_none() => Some(plan::calibrate_epochs(
                    &work.mlp,
                    &loaded.features,
                    &col.means(),
                    &work.fits,
                )?),
                _ => None,
            };
            let fits_at = match &epochs {
                Some(e) => format!(
                    "epochs {:.0} -> {:.0} (measured, early stopping; bound {})",
                    e[0],
                    e[e.len() - 1],
                    work.mlp.max_iter
                ),
                None => format!("at <= {} epochs (bound)", work.mlp.max_iter),
            };
            // A stop rule ends runs early by an amount no model can know beforehand: the
            // schedule is counted to the whole budget, so the estimate is a bound.
            let bound = if spec.stop.is_budget() {
                String::new()
            } else {
                format!(
                    "; an upper bound: runs stop at the optimum (stop = \"{}\") but every fit up \
                     to the budget is counted",
                    spec.stop.name()
                )
            };
            (
                work.cpu_s(inputs, rows_n, r, epochs.as_deref()),
                format!(
                    "MLP model: {} fits x {} member(s), {fits_at}, predicting {rows_n} rows; \
                     {:.0}/{:.0} GFLOP/s per core train/predict ({}){bound}",
                    work.fits.len(),
                    work.members,
                    r.train / 1e9,
                    r.predict / 1e9,
                    work.mlp.precision.kernel_label()
                ),
            )
        } else if loaded.open.is_some() {
            (
                f64::NAN,
                "open domain: training cost not estimated (add it yourself)".into(),
            )
        } else {
            (
                time_one_run(&spec, job, &benches)?,
                "one real run timed".into(),
            )
        };
        costs.push(cpu_s);
        rows.insert(
            key,
            Row {
                method: job.method.name.clone(),
                bench: job.bench.key(),
                runs: 1,
                done: usize::from(done),
                cpu_s,
                how,
            },
        );
    }
    let known: Vec<f64> = costs
        .iter()
        .map(|c| if c.is_nan() { 0.0 } else { *c })
        .collect();
    let total: f64 = known.iter().sum();
    let total_left: f64 = rows
        .values()
        .map(|r| r.cpu_s * (r.runs - r.done) as f64)
        .filter(|c| !c.is_nan())
        .sum();
    let done: usize = rows.values().map(|r| r.done).sum();
    println!(
        "plan for spec {} ({}): {} runs, {done} already finished in {}, budget {}, seeds {}..={}",
        spec.name,
        args.spec.display(),
        jobs.len(),
        out.display(),
        spec.budget,
        seeds.first().unwrap_or(&0),
        seeds.last().unwrap_or(&0)
    );
    println!(
        "{:<24} {:<28} {:>5} {:>5} {:>12} {:>12}  how",
        "method", "benchmark", "runs", "left", "CPU/run", "CPU left"
    );
    for r in rows.values() {
        println!(
            "{:<24} {:<28} {:>5} {:>5} {:>12} {:>12}  {}",
            r.method,
            r.bench,
            r.runs,
            r.runs - r.done,
            human(r.cpu_s),
            human(r.cpu_s * (r.runs - r.done) as f64),
            r.how
        );
    }
    let unestimated = if costs.iter().any(|c| c.is_nan()) {
        ", not counting the runs not estimated"
    } else {
        ""
    };
    println!(
        "left to run: {} runs, {} CPU ({:.1} CPU-hours){unestimated}; all {} runs: {} CPU ({:.1} \
         CPU-hours)",
        jobs.len() - done,
        human(total_left),
        total_left / 3600.0,
        jobs.len(),
        human(total),
        total / 3600.0,
    );
    let (n, note) = match plan::shards_for(&known, cores, wall_s) {
        Some(n) => (n, String::new()),
        None => (
            jobs.len(),
            " (a single run alone exceeds the target: one run per shard)".to_string(),
        ),
    };
    let busiest = plan::shard_loads(&known, n).into_iter().fold(0.0, f64::max);
    // The shards start from empty directories of their own, so they make every run.
    let all_runs = if done > 0 {
        format!(
            " (the shards make all {} runs, finished ones included)",
            jobs.len()
        )
    } else {
        String::new()
    };
    println!(
        "wall-clock target {} on {cores} cores per machine: --shard I/{n}{note}; busiest shard \
         about {} wall{all_runs}",
        human(wall_s),
        human(busiest / cores as f64)
    );
    if let Some(path) = &args.slurm_script {
        let script = slurm_script(args, &spec, path, n, cores, wall_s, jobs.len(), total)?;
        weaknas_harness::fsutil::atomic_write(path, script.as_bytes())?;
        set_executable(path)?;
        println!(
            "wrote {}: submit with `sh {}` (a job array of {n} shards, then `weaknas merge`)",
            path.display(),
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// CPU-seconds of one real run of `job` (its results go to a temporary directory).
fn time_one_run(spec: &Spec, job: &runner::Job, benches: &BenchmarkSet) -> Result<f64> {
    let one = Spec {
        methods: vec![job.method.clone()],
        benchmarks: vec![job.bench.clone()],
        ..spec.clone()
    };
    let dir = std::env::temp_dir().join(format!("weaknas-plan-{}", std::process::id()));
    let sink = weaknas_results::ParquetTraceSink::new(&dir);
    let opts = RunOptions {
        seeds: Some(vec![job.seed]),
        force: true,
        ..RunOptions::default()
    };
    let before = plan::process_cpu_s();
    let res = runner::run_spec(&one, &weaknas_baselines::registry(), benches, &sink, &opts);
    let cpu = plan::process_cpu_s() - before;
    let _ = std::fs::remove_dir_all(&dir);
    let summary = res?;
    if let Some((_, m, s, e)) = summary.failed.first() {
        bail!("calibration run of {m} (seed {s}) failed: {e}");
    }
    Ok(cpu)
}

/// `sh`-quotes `s`.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    })
}

/// The job-array script: run with `sh FILE` outside Slurm it submits itself as an array of
/// `n` tasks plus a merge job that depends on all of them; inside a task it runs shard
/// `$SLURM_ARRAY_TASK_ID/n` into `OUT/shard-$SLURM_ARRAY_TASK_ID`.
#[allow(clippy::too_many_arguments)]
fn slurm_script(
    args: &RunArgs,
    spec: &Spec,
    path: &Path,
    n: usize,
    cores: usize,
    wall_s: f64,
    runs: usize,
    total_cpu_s: f64,
) -> Result<String> {
    let exe = std::env::current_exe()?.display().to_string();
    let spec_path = absolute(&args.spec)?.display().to_string();
    let out = absolute(&crate::run_cmd::out_dir(args, spec))?
        .display()
        .to_string();
    let shards: Vec<String> = (1..=n).map(|i| q(&format!("{out}/shard-{i}"))).collect();
    let merge = format!("{} merge --into {} {}", q(&exe), q(&out), shards.join(" "));
    let mut extra = match &args.seeds {
        Some(s) => format!(" --seeds {}", q(s)),
        None => String::new(),
    };
    if !args.methods.is_empty() {
        extra.push_str(&format!(" --methods {}", q(&args.methods.join(","))));
    }
    if !args.datasets.is_empty() {
        extra.push_str(&format!(" --datasets {}", q(&args.datasets.join(","))));
    }
    // Slurm's limit: the target plus a quarter for the estimate's error, at least 10 minutes.
    let limit = (wall_s * 1.25).max(600.0) as u64;
    let time = format!(
        "{}-{:02}:{:02}:{:02}",
        limit / 86400,
        limit % 86400 / 3600,
        limit % 3600 / 60,
        limit % 60
    );
    let mut s = String::new();
    let name = &spec.name;
    writeln!(s, "#!/bin/sh")?;
    writeln!(s, "#SBATCH --job-name=weaknas-{name}")?;
    writeln!(s, "#SBATCH --array=1-{n}")?;
    writeln!(s, "#SBATCH --cpus-per-task={cores}")?;
    writeln!(s, "#SBATCH --time={time}")?;
    writeln!(s, "#SBATCH --output={out}/slurm-%A_%a.out")?;
    writeln!(
        s,
        "# Written by `weaknas run --plan` for spec {name}: {runs} runs in {n} shards, about \
         {:.1} CPU-hours in all.",
        total_cpu_s / 3600.0
    )?;
    writeln!(
        s,
        "# Submit with `sh {}`: it submits this file as a job array, then a job that merges \
         the shards into {out} once every shard has succeeded.",
        path.display()
    )?;
    writeln!(s, "set -eu")?;
    writeln!(s, "if [ -z \"${{SLURM_ARRAY_TASK_ID:-}}\" ]; then")?;
    writeln!(s, "  mkdir -p {}", q(&out))?;
    writeln!(s, "  array=$(sbatch --parsable \"$0\")")?;
    writeln!(s, "  array=${{array%%;*}}")?;
    writeln!(
        s,
        "  sbatch --parsable --job-name=weaknas-{name}-merge --dependency=afterok:\"$array\" \
         --output={} --wrap {}",
        q(&format!("{out}/slurm-merge-%j.out")),
        q(&merge)
    )?;
    writeln!(
        s,
        "  echo \"submitted the shards as job array $array; the merge into {out} follows\""
    )?;
    writeln!(s, "  exit 0")?;
    writeln!(s, "fi")?;
    writeln!(
        s,
        "exec {} run {} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --out {}\"/shard-$SLURM_ARRAY_TASK_ID\" \
         --jobs {} --quiet{extra}",
        q(&exe),
        q(&spec_path),
        q(&out),
        args.jobs
    )?;
    Ok(s)
}

fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut p = std::fs::metadata(path)?.permissions();
    p.set_mode(0o755);
    std::fs::set_permissions(path, p)
        .with_context(|| format!("making {} executable", path.display()))
}

/// Seconds as `42 s`, `12.5 min`, `3.2 h` (`-` for NaN).
fn human(s: f64) -> String {
    if s.is_nan() {
        "-".into()
    } else if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}
