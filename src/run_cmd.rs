//! `weaknas run` and `weaknas reproduce`.

use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
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
    /// Output directory (default: runs/<spec name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Redo runs that are already finished.
    #[arg(long)]
    pub force: bool,
    /// Skip per-iteration predictor diagnostics (Kendall tau etc.).
    #[arg(long)]
    pub no_diagnostics: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs a spec; with `render`, also writes tables, figures and index.md.
pub fn run(args: RunArgs, render: bool) -> Result<ExitCode> {
    let spec = Spec::load(&args.spec)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(&spec.name));
    let registry = crate::registry();
    let benches = BenchmarkSet::for_spec(&spec)?;
    let record = spec
        .outputs
        .get("record_rankings")
        .and_then(|v| v.as_integer())
        .unwrap_or(0);
    if record < 0 {
        bail!(
            "invalid spec {}: outputs.record_rankings must be >= 0",
            args.spec.display()
        );
    }
    let opts = RunOptions {
        seeds: args.seeds.as_deref().map(parse_seed_range).transpose()?,
        jobs: args.jobs,
        force: args.force,
        progress: !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        diagnostics: !args.no_diagnostics,
        record_rankings: record as usize,
    };
    let sink = ParquetTraceSink::new(&out);
    let summary = runner::run_spec(&spec, &registry, &benches, &sink, &opts)?;
    println!(
        "{}: {} runs, {} already done, {} ran, {} failed -> {}",
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
        let seeds = match &opts.seeds {
            Some(s) => s.clone(),
            None => spec.seeds.to_vec()?,
        };
        let jobs = runner::jobs(&spec, &benches, &seeds)?;
        crate::render::render(&spec, &jobs, &benches, &out)?;
    }
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
