//! `weaknas`: the command-line program of weaknas-bench.

mod data_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Reproduce and extend "Stronger NAS with Weaker Predictors" (WeakNAS) on tabular NAS benchmarks.
#[derive(Parser)]
#[command(name = "weaknas", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, import and verify benchmark stores (under $WEAKNAS_HOME).
    Data(data_cmd::DataArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEAKNAS_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result: Result<()> = match cli.command {
        Command::Data(a) => data_cmd::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
