//! `weaknas export-results` (tidy per-query table) and `weaknas migrate-results` (legacy
//! run-file layout to the split one).

use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use weaknas_harness::fsutil::DirLock;
use weaknas_results::{export_results, migrate_layout, CellCatalog, ExportFormat};

/// Arguments of `export-results`.
#[derive(Args)]
pub struct ExportResultsArgs {
    /// Result directory (the `--out` of `weaknas run`).
    pub dir: PathBuf,
    /// Output file: `.parquet` or `.csv`.
    pub out: PathBuf,
}

/// Arguments of `migrate-results`.
#[derive(Args)]
pub struct MigrateResultsArgs {
    /// Result directory written in the legacy layout (`runs/<id>.queries.parquet`).
    pub dir: PathBuf,
}

/// `weaknas export-results DIR OUT`.
pub fn export(args: ExportResultsArgs) -> Result<()> {
    let format = match args.out.extension().and_then(|e| e.to_str()) {
        Some("parquet") => ExportFormat::Parquet,
        Some("csv") => ExportFormat::Csv,
        _ => bail!(
            "{}: the output must end in .parquet or .csv",
            args.out.display()
        ),
    };
    let rows = export_results(&args.dir, &args.out, format, &mut CellCatalog::new())?;
    println!("{rows} queries -> {}", args.out.display());
    Ok(())
}

/// `weaknas migrate-results DIR`.
pub fn migrate(args: MigrateResultsArgs) -> Result<()> {
    if !args.dir.join("runs").is_dir() {
        bail!("{}: not a result directory (no runs/)", args.dir.display());
    }
    let _lock = DirLock::acquire(&args.dir, "migrate-results")?;
    let n = migrate_layout(&args.dir)?;
    println!(
        "{}: {n} runs moved to runs/{{queries,iterations,rankings}}/",
        args.dir.display()
    );
    Ok(())
}
