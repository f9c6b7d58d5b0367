//! Locating the real benchmark data beside the project (`../shared/data`) for tests.
//!
//! Tests that need real data call [`shared_data_or_skip`]: it returns the directory, or
//! `None` (the test prints why and returns) when the data is absent — except under
//! `CI=true`, where absent data is a failure, not a skip.

use std::path::PathBuf;

/// `$WEAKNAS_SHARED_DATA`, else `../shared/data` relative to the workspace root.
pub fn shared_data_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("WEAKNAS_SHARED_DATA").filter(|s| !s.is_empty()) {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// The NAS-Bench-201 data directory, or `None` to skip; panics under `CI=true` if missing.
pub fn shared_data_or_skip(sub: &str) -> Option<PathBuf> {
    let d = shared_data_dir().join(sub);
    if d.exists() {
        return Some(d);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "real benchmark data missing at {} (required under CI=true)",
            d.display()
        );
    }
    eprintln!("skipping: real benchmark data not found at {}", d.display());
    None
}
