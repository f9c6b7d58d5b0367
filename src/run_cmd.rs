//! `weaknas run` and `weaknas reproduce`.

use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use weaknas_harness::checkpoint::CheckpointPolicy;
use weaknas_harness::fsutil::DirLock;
use weaknas_harness::runner::{self, spec::parse_seed_range, BenchmarkSet, RunOptions, Spec};
use weaknas_results::ParquetTraceSink;

/// Arguments of `run` and `reproduce`.
#[derive(Args)]
pub struct RunArgs {
    /// The experiment spec (TOML), e.g. experiments/nb201-quick.toml.
    pub spec: PathBuf,
    /// Seeds to run, `A..B` (half-open); default: the spec's.
    #[arg(long)]
    pub seeds: Option<String>,
    /// Runs in parallel (default: 1; each run's predictor then uses every core).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Threads each run's predictor uses (default: every core with --jobs 1, else cores /
    /// jobs). Results are the same for any value. Set it when other processes share the
    /// cores: two invocations side by side on two cores take `--threads 1` each (two threads
    /// each would put four busy threads on two cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Output directory (default: runs/<spec name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Redo runs that are already finished.
    #[arg(long)]
    pub force: bool,
    /// Keep finished runs of other code (another code fingerprint, or none recorded) instead
    /// of stopping; tables then say so.
    #[arg(long, conflicts_with = "force")]
    pub keep_stale: bool,
    /// Skip per-iteration predictor diagnostics (Kendall tau etc.).
    #[arg(long)]
    pub no_diagnostics: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Run only shard I of N (1-based) of the spec's runs, e.g. `--shard 2/4` on the second
    /// of four machines (run k of the spec's fixed job order goes to shard k mod N + 1); merge
    /// the shards' output directories with `weaknas merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Run nothing: print the runs, a CPU-time estimate per method (quick calibration on this
    /// machine) and the --shard count that fits --plan-wall.
    #[arg(long)]
    pub plan: bool,
    /// With --plan: wall-clock target per machine, e.g. `12h`, `90m`, `2d` (default 24h).
    #[arg(long, value_name = "DURATION", requires = "plan")]
    pub plan_wall: Option<String>,
    /// With --plan: cores per machine (default: this machine's).
    #[arg(long, value_name = "N", requires = "plan")]
    pub plan_cores: Option<usize>,
    /// With --plan: write a Slurm job-array script (`--shard $SLURM_ARRAY_TASK_ID/N` per task,
    /// then `weaknas merge`) to FILE.
    #[arg(long, value_name = "FILE", requires = "plan")]
    pub slurm_script: Option<PathBuf>,
    /// Least seconds between two checkpoints of a run (0: at every iteration boundary). A
    /// run stopped part-way continues from its last checkpoint
    /// (`<out>/checkpoints/<run id>.json`, removed once the run is written), ending
    /// bit-identical to an uninterrupted run; WeakNAS and WeakNAS-EI on tabular benchmarks
    /// save them, other methods start over (they are cheap).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub checkpoint_every: u64,
    /// Keep no checkpoints.
    #[arg(long, conflicts_with = "checkpoint_every")]
    pub no_checkpoints: bool,
    /// Drill: stop each run with an error after N checkpoints (tests and checks of resumption).
    #[arg(long, value_name = "N", hide = true)]
    pub interrupt_after_checkpoints: Option<usize>,
    /// Run only these methods (names as in the spec, comma-separated), e.g. to run the cheap
    /// baselines first; the spec's other runs are left as they are (and `reproduce` still
    /// renders every finished run of the spec).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub methods: Vec<String>,
    /// Run only the spec's benchmark entries of these datasets (their `dataset` labels,
    /// comma-separated), e.g. one dataset of a paper spec at a time; run ids do not depend on
    /// it, so the runs are those of the whole spec.
    #[arg(long, value_delimiter = ',', value_name = "DATASET,...")]
    pub datasets: Vec<String>,
}

/// The part of the spec that `--methods` and `--datasets` select (all of it when both are
/// empty); an unknown name is an error that names the spec and lists what it has.
pub(crate) fn selection(spec: &Spec, args: &RunArgs) -> Result<Spec> {
    let path = args.spec.display();
    let mut s = spec.clone();
    if !args.methods.is_empty() {
        let names: Vec<&str> = spec.methods.iter().map(|m| m.name.as_str()).collect();
        check_known("--methods", "method", &args.methods, &names, &path)?;
        s.methods.retain(|m| args.methods.contains(&m.name));
    }
    if !args.datasets.is_empty() {
        let labels: Vec<&str> = spec
            .benchmarks
            .iter()
            .map(|b| b.contract.dataset.as_str())
            .collect();
        check_known("--datasets", "dataset", &args.datasets, &labels, &path)?;
        s.benchmarks
            .retain(|b| args.datasets.contains(&b.contract.dataset));
    }
    Ok(s)
}

/// Fails on the first of `asked` that is not in `known`: `<flag>: spec <path> has no <what>
/// "x" (it has: "a", "b")`.
fn check_known(
    flag: &str,
    what: &str,
    asked: &[String],
    known: &[&str],
    path: &impl std::fmt::Display,
) -> Result<()> {
    match asked.iter().find(|n| !known.contains(&n.as_str())) {
        None => Ok(()),
        Some(n) => bail!(
            "{flag}: spec {path} has no {what} {n:?} (it has: {})",
            known
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Arguments of `merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// Target result directory (created if needed).
    #[arg(long)]
    pub into: PathBuf,
    /// Result directories to merge into it.
    #[arg(required = true)]
    pub from: Vec<PathBuf>,
}

/// Parses `I/N` (1-based) into a 0-based (i, n).
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let bad = || anyhow::anyhow!("invalid --shard {s:?}: expected I/N with 1 <= I <= N, e.g. 2/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i - 1, n))
}

/// `weaknas merge`.
pub fn merge(args: MergeArgs) -> Result<()> {
    let _lock = DirLock::acquire(&args.into, "merge")?;
    for from in &args.from {
        let s = weaknas_results::merge_results(&args.into, from)?;
        println!(
            "{} -> {}: {} runs added, {} already there (identical), {} evaluations added",
            from.display(),
            args.into.display(),
            s.added,
            s.duplicates,
            s.evaluations_added
        );
    }
    Ok(())
}

/// Stops when `out` holds finished runs of this spec from other code (unless `keep`, which
/// logs them and goes on; the report then says so).
fn check_stale(
    spec: &Spec,
    benches: &BenchmarkSet,
    seeds: &[u64],
    out: &std::path::Path,
    fingerprint: &str,
    keep: bool,
) -> Result<()> {
    let ids: Vec<String> = runner::jobs(spec, benches, seeds)?
        .into_iter()
        .map(|j| j.run_id)
        .collect();
    let stale = weaknas_results::stale_runs(out, &ids, fingerprint)?;
    if stale.is_empty() {
        return Ok(());
    }
    let what = weaknas_results::describe_stale(&stale);
    if keep {
        tracing::warn!(
            "{}: keeping {what} (this build is {fingerprint})",
            out.display()
        );
        return Ok(());
    }
    bail!(
        "{} holds {what}; this build is {fingerprint}. Rerun with --force to redo them with \
         this code, or --keep-stale to keep them (tables will say so)",
        out.display()
    )
}

/// The result directory of a run of `spec`: `--out`, else `runs/<spec name>`.
pub fn out_dir(args: &RunArgs, spec: &Spec) -> PathBuf {
    args.out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(&spec.name))
}

/// Runs a spec; with `render`, also writes tables, figures and index.md.
pub fn run(args: RunArgs, render: bool) -> Result<ExitCode> {
    if args.plan {
        return crate::plan_cmd::plan(&args);
    }
    let spec = Spec::load(&args.spec)?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let selected = selection(&spec, &args)?;
    if render && shard.is_some() {
        bail!(
            "--shard runs part of a spec: use `weaknas run --shard`, merge the shards with \
             `weaknas merge`, then `weaknas reproduce` on the merged directory"
        );
    }
    let out = out_dir(&args, &spec);
    let registry = weaknas_baselines::registry();
    let benches = BenchmarkSet::for_spec(&spec)?;
    let fingerprint = crate::code_fingerprint();
    let seeds = match args.seeds.as_deref().map(parse_seed_range).transpose()? {
        Some(s) => s,
        None => spec.seeds.to_vec()?,
    };
    if !args.force {
        check_stale(&spec, &benches, &seeds, &out, &fingerprint, args.keep_stale)?;
    }
    let opts = RunOptions {
        seeds: args.seeds.as_deref().map(parse_seed_range).transpose()?,
        jobs: args.jobs,
        threads: args.threads,
        force: args.force,
        progress: !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        diagnostics: !args.no_diagnostics,
        record_rankings: spec.outputs.record_rankings,
        evaluations: Some(out.join("evaluations")),
        shard,
        code_fingerprint: fingerprint.clone(),
        checkpoints: (!args.no_checkpoints).then(|| CheckpointPolicy {
            every: std::time::Duration::from_secs(args.checkpoint_every),
            accept_other_code: args.keep_stale,
            interrupt_after: args.interrupt_after_checkpoints,
        }),
    };
    let lock = DirLock::acquire(&out, if render { "reproduce" } else { "run" })?;
    let sink = ParquetTraceSink::new(&out);
    let summary = match runner::run_spec(&selected, &registry, &benches, &sink, &opts) {
        Ok(s) => s,
        Err(e) => {
            lock.abandon();
            return Err(e);
        }
    };
    let shard_note = match shard {
        Some((i, n)) => format!(" (shard {}/{n})", i + 1),
        None => String::new(),
    };
    println!(
        "{}{shard_note}: {} runs, {} already done, {} ran, {} failed -> {}",
        spec.name,
        summary.total,
        summary.skipped,
        summary.ran,
        summary.failed.len(),
        out.display()
    );
    for (id, method, seed, err) in &summary.failed {
        eprintln!("failed: run {id} ({method}, seed {seed}): {err}");
    }
    if render {
        let jobs = runner::jobs(&spec, &benches, &seeds)?;
        let index = weaknas_report::render(&spec, &jobs, &benches, &out, &fingerprint)?;
        println!("wrote {}", index.display());
    }
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
