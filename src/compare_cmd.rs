//! `weaknas compare BASELINE_DIR CANDIDATE_DIR`: per (method, dataset, budget) a verdict.

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
}

/// Runs the comparison; exit code 1 on any significant regression.
pub fn run(args: CompareArgs) -> Result<ExitCode> {
    let Some(measure) = Measure::parse(&args.measure) else {
        bail!("unknown measure {:?}", args.measure);
    };
    let opts = CompareOptions {
        measure,
        budgets: args.budgets.clone(),
        alpha: args.alpha,
        min_effect: args.min_effect,
        ..CompareOptions::default()
    };
    let report = compare(&args.baseline, &args.candidate, &opts)?;
    let md = report.to_markdown();
    println!("{md}");
    if let Some(p) = &args.report {
        weaknas_harness::fsutil::atomic_write(p, md.as_bytes())?;
    }
    let worse = report.count(Verdict::Worse);
    println!(
        "verdicts: {} better, {} worse, {} no difference, {} insufficient",
        report.count(Verdict::Better),
        worse,
        report.count(Verdict::NoDifference),
        report.count(Verdict::Insufficient)
    );
    Ok(if report.has_regression() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
