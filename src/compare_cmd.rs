//! `weaknas compare BASELINE_DIR CANDIDATE_DIR`: per (method, dataset, budget) a verdict.
//!
//! Exit codes (for nightly scripts): 0 no regression, 1 regression (a significantly worse
//! row, or something of the baseline missing from the candidate unless `--allow-missing`),
//! 2 error (missing directory, no runs, unreadable file, bad arguments).

use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use weaknas_results::{compare, CompareOptions, Measure, Verdict};

/// Arguments of `compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// Result directory of the reference (e.g. yesterday's nightly).
    pub baseline: PathBuf,
    /// Result directory to judge (e.g. today's nightly).
    pub candidate: PathBuf,
    /// Measure compared: report, search, report-regret, search-regret, paper-best-peek.
    #[arg(long, default_value = "report")]
    pub measure: String,
    /// Query counts compared, comma-separated (default: the largest every run reached).
    #[arg(long, value_delimiter = ',')]
    pub budgets: Vec<usize>,
    /// Family-wise significance level (Holm).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Smallest absolute mean difference that counts as a change.
    #[arg(long, default_value_t = 0.0)]
    pub min_effect: f64,
    /// Also write the Markdown report here (written atomically).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// A (method, benchmark, dataset, budget) of the baseline that the candidate lacks is
    /// not a regression (it is still listed).
    #[arg(long)]
    pub allow_missing: bool,
}

/// Exit code of `compare` on an error (1 means a regression).
pub const EXIT_ERROR: u8 = 2;

/// Runs the comparison: exit code 0 (no regression), 1 (regression) or 2 (error, printed).
pub fn run(args: CompareArgs) -> ExitCode {
    match compare_dirs(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn compare_dirs(args: &CompareArgs) -> Result<ExitCode> {
    for dir in [&args.baseline, &args.candidate] {
        if !dir.is_dir() {
            bail!("{}: no such result directory", dir.display());
        }
    }
    let Some(measure) = Measure::parse(&args.measure) else {
        bail!("unknown measure {:?}", args.measure);
    };
    let opts = CompareOptions {
        measure,
        budgets: args.budgets.clone(),
        alpha: args.alpha,
        min_effect: args.min_effect,
        allow_missing: args.allow_missing,
        ..CompareOptions::default()
    };
    let report = compare(&args.baseline, &args.candidate, &opts)?;
    let md = report.to_markdown();
    println!("{md}");
    if let Some(p) = &args.report {
        weaknas_harness::fsutil::atomic_write(p, md.as_bytes())?;
    }
    let missing = report.missing_lines();
    println!(
        "verdicts: {} better, {} worse, {} no difference, {} insufficient, {} missing{}, {} new",
        report.count(Verdict::Better),
        report.count(Verdict::Worse),
        report.count(Verdict::NoDifference),
        report.count(Verdict::Insufficient),
        missing.len(),
        if args.allow_missing { " (allowed)" } else { "" },
        report.only_candidate.len()
    );
    for l in &missing {
        println!("missing from the candidate: {l}");
    }
    for l in report.new_lines() {
        println!("new in the candidate: {l}");
    }
    Ok(if report.has_regression() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
