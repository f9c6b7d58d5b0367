//! Writes a full-size SYNTHETIC NAS-Bench-101 TFRecord file in the official format (test and
//! benchmark tool; the data are made up, see `weaknas_harness::nb101::synthetic`).
//!
//! ```text
//! cargo run --release -p weaknas-harness --example nb101_write_synthetic -- \
//!     [OUT.tfrecord] [--seed N] [--full]
//! ```
//! OUT defaults to `nb101_synthetic_only108.tfrecord` (or `nb101_synthetic_full.tfrecord`
//! with `--full`, which writes the 4, 12, 36 and 108 epoch budgets) and its file name must
//! contain `synthetic`. Every record carries the synthetic marker, so `weaknas data import
//! nb101` stores it as `nb101-synthetic`, never as `nb101`.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use weaknas_harness::nb101::synthetic::write_synthetic_tfrecord;
use weaknas_harness::nb101::{Nb101Space, EPOCH_BUDGETS};

fn main() -> Result<()> {
    let mut out: Option<PathBuf> = None;
    let mut seed = 0u64;
    let mut full = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => {
                seed = args
                    .next()
                    .context("--seed needs a value")?
                    .parse()
                    .context("--seed must be an integer")?
            }
            "--full" => full = true,
            "-h" | "--help" => {
                println!("usage: nb101_write_synthetic [OUT.tfrecord] [--seed N] [--full]");
                return Ok(());
            }
            _ if a.starts_with('-') => bail!("unknown option {a}"),
            _ => out = Some(PathBuf::from(a)),
        }
    }
    let out = out.unwrap_or_else(|| {
        PathBuf::from(if full {
            "nb101_synthetic_full.tfrecord"
        } else {
            "nb101_synthetic_only108.tfrecord"
        })
    });
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !name.contains("synthetic") {
        bail!(
            "{}: the output file name must contain \"synthetic\" (the data are made up)",
            out.display()
        );
    }
    let t = Instant::now();
    let space = Nb101Space::load_or_build()?;
    eprintln!("space: {:.2} s", t.elapsed().as_secs_f64());
    let epochs: &[u32] = if full { &EPOCH_BUDGETS } else { &[108] };
    let t = Instant::now();
    let records = write_synthetic_tfrecord(&space, seed, epochs, &out)?;
    let bytes = std::fs::metadata(&out)?.len();
    eprintln!(
        "wrote {records} synthetic records ({:.1} MB) to {} in {:.1} s",
        bytes as f64 / 1e6,
        out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
