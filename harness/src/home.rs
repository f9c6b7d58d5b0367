//! Where data stores and caches live: `$WEAKNAS_HOME`, else the user's data directory
//! (`$XDG_DATA_HOME/weaknas` or `~/.local/share/weaknas`).

use std::path::PathBuf;

/// The root directory for stores and caches.
pub fn weaknas_home() -> PathBuf {
    if let Some(h) = std::env::var_os("WEAKNAS_HOME").filter(|s| !s.is_empty()) {
        return PathBuf::from(h);
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|s| !s.is_empty()) {
        return PathBuf::from(x).join("weaknas");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/weaknas")
}

/// Directory of the store of one benchmark (e.g. `nb201`).
pub fn store_dir(benchmark: &str) -> PathBuf {
    weaknas_home().join("stores").join(benchmark)
}

/// Directory for downloads and other caches.
pub fn cache_dir() -> PathBuf {
    weaknas_home().join("cache")
}
