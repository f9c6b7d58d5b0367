//! `weaknas`: the command-line program of weaknas-bench.

mod claims_cmd;
mod compare_cmd;
mod data_cmd;
mod plan_cmd;
mod results_cmd;
mod run_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Reproduce and extend "Stronger NAS with Weaker Predictors" (WeakNAS) on tabular NAS benchmarks and in open domain.
#[derive(Parser)]
#[command(name = "weaknas", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("WEAKNAS_CODE_FINGERPRINT"), ")"), about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, import and verify benchmark stores (under $WEAKNAS_HOME).
    Data(data_cmd::DataArgs),
    /// Run every (method, benchmark, seed) of a spec; finished runs are skipped.
    Run(run_cmd::RunArgs),
    /// Run a spec (resuming), then write its tables, figures and index.md.
    Reproduce(run_cmd::RunArgs),
    /// Compare a candidate result directory with a baseline one (exit code 0 no regression,
    /// 1 regression incl. missing results, 2 error).
    Compare(compare_cmd::CompareArgs),
    /// Merge result directories (e.g. the shards of `run --shard i/n`) into one.
    Merge(run_cmd::MergeArgs),
    /// Write the reproduction report (claims.md, tables, figures) from the paper specs' runs.
    Claims(claims_cmd::ClaimsArgs),
    /// List the methods a spec can name.
    Methods,
    /// One row per (run, query) of a result directory, cells in native text (.parquet/.csv).
    ExportResults(results_cmd::ExportResultsArgs),
    /// Move a result directory's runs from the legacy file layout to runs/<kind>/.
    MigrateResults(results_cmd::MigrateResultsArgs),
}

/// The fingerprint of this build's code, recorded with every run (`build.rs`: git commit and
/// dirty flag, or the crate version). `WEAKNAS_CODE_FINGERPRINT` in the environment
/// overrides it (for packagers and the tests of the stale-run check).
pub fn code_fingerprint() -> String {
    std::env::var("WEAKNAS_CODE_FINGERPRINT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| env!("WEAKNAS_CODE_FINGERPRINT").to_string())
}

/// On SIGINT/SIGTERM: stop the open-domain training commands still running (they live in
/// their own process groups, so a terminal's Ctrl-C would not reach them), then exit.
/// Finished evaluations and runs are already on disk; the same command resumes.
fn install_interrupt_handler() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    let n = weaknas_harness::evaluator::command::terminate_running_commands(
                        std::time::Duration::from_secs(2),
                    );
                    if n > 0 {
                        eprintln!(
                            "interrupted: stopped {n} running training command(s); finished \
                             evaluations are in the journal, run the same command to resume"
                        );
                    }
                    std::process::exit(128 + sig);
                }
            });
        }
        Err(e) => tracing::warn!("no interrupt handler: {e}"),
    }
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEAKNAS_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    install_interrupt_handler();
    let cli = Cli::parse();
    let result: Result<std::process::ExitCode> = match cli.command {
        Command::Data(a) => data_cmd::run(a).map(|_| std::process::ExitCode::SUCCESS),
        Command::Run(a) => run_cmd::run(a, false),
        Command::Reproduce(a) => run_cmd::run(a, true),
        Command::Compare(a) => Ok(compare_cmd::run(a)),
        Command::Merge(a) => run_cmd::merge(a).map(|_| std::process::ExitCode::SUCCESS),
        Command::Claims(a) => claims_cmd::run(a).map(|_| std::process::ExitCode::SUCCESS),
        Command::ExportResults(a) => {
            results_cmd::export(a).map(|_| std::process::ExitCode::SUCCESS)
        }
        Command::MigrateResults(a) => {
            results_cmd::migrate(a).map(|_| std::process::ExitCode::SUCCESS)
        }
        Command::Methods => {
            for e in weaknas_baselines::registry().entries() {
                println!("{:<18} {}", e.kind, e.about);
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
