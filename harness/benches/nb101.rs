//! NB101 timings (a timed script, `harness = false`; run with
//! `cargo bench -p weaknas-harness --bench nb101`). Each step runs once (set
//! `NB101_BENCH_REPS` to repeat the fast ones); the numbers are wall-clock on whatever else
//! the machine is doing, so read them as rough.
//!
//! 1. enumeration of the whole space (no cache) and the cache load;
//! 2. feature matrices of the whole space in the three encodings;
//! 3. writing a full-size SYNTHETIC `only108` TFRecord file (423,624 x 3 records);
//! 4. importing it (streaming, both CRCs, JSON, base64, protobuf, hash check of every record);
//! 5. saving the store, its size, and loading it (time and peak memory of the load).
//!
//! Files go to `$NB101_BENCH_DIR` (default: a temporary directory, removed at the end).
//! `NB101_BENCH_FULL=1` also writes and imports a synthetic `full` file (4 budgets, ~2 GB).

use std::time::Instant;
use weaknas_harness::nb101::import::{import_tfrecord_with, ImportOptions};
use weaknas_harness::nb101::synthetic::write_synthetic_tfrecord;
use weaknas_harness::nb101::{Nb101Encoding, Nb101Space, EPOCH_BUDGETS};
use weaknas_harness::space::SearchSpace;
use weaknas_harness::store::{load_store, save_store};

/// (current RSS, peak RSS) in MB from /proc/self/status.
fn rss_mb() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

/// Resets the peak-RSS counter (Linux `clear_refs` 5); false if unsupported.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn import_and_load(space: &Nb101Space, dir: &std::path::Path, label: &str, epochs: &[u32]) {
    let file = dir.join(format!("nb101_synthetic_{label}.tfrecord"));
    let t = Instant::now();
    let n = write_synthetic_tfrecord(space, 0, epochs, &file).expect("write synthetic file");
    let size = std::fs::metadata(&file).unwrap().len();
    println!(
        "[{label}] write synthetic file: {n} records, {:.0} MB, {:.1} s",
        size as f64 / 1e6,
        secs(t)
    );
    reset_peak();
    let base = rss_mb().0;
    let t = Instant::now();
    let (store, sources, stats) =
        import_tfrecord_with(&file, &ImportOptions::default(), space).expect("import");
    let dt = secs(t);
    println!(
        "[{label}] import: {} records, {} cells, {:.1} s ({:.0} records/s, {:.0} MB/s), peak RSS +{:.0} MB over {:.0} MB",
        stats.records,
        stats.cells,
        dt,
        stats.records as f64 / dt,
        size as f64 / 1e6 / dt,
        rss_mb().1 - base,
        base
    );
    let sdir = dir.join(format!("store_{label}"));
    let t = Instant::now();
    save_store(&store, &sdir, sources).expect("save store");
    let bytes = std::fs::metadata(sdir.join("store.bin")).unwrap().len();
    println!(
        "[{label}] save store: {:.0} MB in {:.2} s",
        bytes as f64 / 1e6,
        secs(t)
    );
    drop(store);
    std::fs::remove_file(&file).ok();
    let reps: usize = std::env::var("NB101_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut times = Vec::new();
    let mut peak = 0f64;
    for _ in 0..reps {
        let reset = reset_peak();
        let base = rss_mb().0;
        let t = Instant::now();
        let s = load_store(&sdir).expect("load store");
        times.push(secs(t));
        if reset {
            peak = peak.max(rss_mb().1 - base);
        }
        assert_eq!(s.num_cells, 423_624);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "[{label}] load store: min {:.3} s, median {:.3} s over {reps}; peak RSS during load +{:.0} MB",
        times[0],
        times[times.len() / 2],
        peak
    );
}

fn main() {
    let (tmp, dir) = match std::env::var_os("NB101_BENCH_DIR") {
        Some(d) => (None, std::path::PathBuf::from(d)),
        None => {
            let t = tempfile::tempdir().expect("temp dir");
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "NB101 benchmark ({} threads; timings are wall-clock and noisy on a shared machine)",
        rayon::current_num_threads()
    );
    let t = Instant::now();
    let space = Nb101Space::build().expect("enumeration");
    println!(
        "enumerate space: {} cells in {:.1} s",
        space.num_cells(),
        secs(t)
    );
    let cache = dir.join("nb101_space_v1.bin");
    space.save(&cache).unwrap();
    let t = Instant::now();
    let loaded = Nb101Space::load(&cache).unwrap();
    println!(
        "load space cache: {:.3} s ({:.1} MB)",
        secs(t),
        std::fs::metadata(&cache).unwrap().len() as f64 / 1e6
    );
    drop(loaded);
    for enc in [
        Nb101Encoding::Org,
        Nb101Encoding::AdjOneHot,
        Nb101Encoding::Path,
    ] {
        let s = space.with_encoding(enc);
        let t = Instant::now();
        let f = s.features();
        println!(
            "features {}: {} x {} in {:.2} s",
            enc.name(),
            f.rows,
            f.cols,
            secs(t)
        );
    }
    import_and_load(&space, &dir, "only108", &[108]);
    if std::env::var("NB101_BENCH_FULL").is_ok_and(|v| v == "1") {
        import_and_load(&space, &dir, "full", &EPOCH_BUDGETS);
    }
    drop(tmp);
}
