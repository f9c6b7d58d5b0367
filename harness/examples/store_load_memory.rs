//! Loads a benchmark store and prints the time and the process's peak resident memory
//! (Linux `VmHWM`), e.g. for the NB101 store-load target (under 1 s and 300 MB):
//!
//! ```text
//! cargo run --release -p weaknas-harness --example store_load_memory -- DIR
//! ```
//! DIR defaults to `$WEAKNAS_HOME/stores/nb101-synthetic`.

use anyhow::Result;
use std::time::Instant;

fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| weaknas_harness::home::store_dir("nb101-synthetic"));
    let before = peak_rss_mb().unwrap_or(f64::NAN);
    let t = Instant::now();
    let store = weaknas_harness::store::load_store(&dir)?;
    let secs = t.elapsed().as_secs_f64();
    let values: usize = store.columns.iter().map(|c| c.values.len()).sum();
    println!(
        "{}: {} cells, {} columns, {} values ({:.1} MB of f64) loaded in {:.3} s; peak RSS {:.1} MiB (before loading {:.1} MiB)",
        dir.display(),
        store.num_cells,
        store.columns.len(),
        values,
        values as f64 * 8.0 / 1e6,
        secs,
        peak_rss_mb().unwrap_or(f64::NAN),
        before
    );
    Ok(())
}
