//! `weaknas data ...` (issue 2): fetch, import, verify.

use anyhow::Result;
use clap::Args;

/// Arguments of `weaknas data`.
#[derive(Args)]
pub struct DataArgs {}

/// Runs `weaknas data`.
pub fn run(_args: DataArgs) -> Result<()> {
    anyhow::bail!("not yet implemented")
}
