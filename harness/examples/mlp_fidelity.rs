//! Rust half of the scikit-learn fidelity check (`tools/sklearn_fidelity/compare.py` drives
//! it; not run in CI).
//!
//! Usage: `mlp_fidelity <dir> [threads] [precision]`. `<dir>` holds `config.toml` (an `MlpConfig`) and
//! pairs `<name>_train.csv` / `<name>_test.csv` (header line, then rows `f0,...,f{d-1},y`;
//! the test file's `y` is ignored). For every pair it fits the MLP on the training rows with
//! the random stream `stream("mlp-fidelity", i, "mlp")` (i = position of the pair in sorted
//! order), predicts the test rows and writes `<name>_rust_pred.csv` (one prediction per
//! line). It appends `name,fit_seconds,predict_seconds,epochs` lines to `rust_times.csv`.
//! With `precision` (`f32`, `bf16`, ...: overrides the config's) the files are
//! `<name>_rust-<precision>_pred.csv` and `rust-<precision>_times.csv` instead.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;
use weaknas_harness::matrix::Matrix;
use weaknas_harness::predictor::mlp::{Mlp, MlpConfig};
use weaknas_harness::predictor::{Predictor, Threads};

fn read_split(path: &Path) -> Result<(Matrix, Vec<f32>)> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut data = Vec::new();
    let mut y = Vec::new();
    let mut cols = None;
    for (i, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: row {}", path.display(), i + 1))?;
        let vals: Vec<f32> = rec
            .iter()
            .map(|s| s.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: row {} is not numeric", path.display(), i + 1))?;
        if vals.len() < 2 {
            bail!("{}: row {} has fewer than 2 columns", path.display(), i + 1);
        }
        let d = vals.len() - 1;
        if *cols.get_or_insert(d) != d {
            bail!(
                "{}: row {} has {} features, expected {:?}",
                path.display(),
                i + 1,
                d,
                cols
            );
        }
        data.extend_from_slice(&vals[..d]);
        y.push(vals[d]);
    }
    let d = cols.with_context(|| format!("{}: no rows", path.display()))?;
    Ok((Matrix::from_vec(y.len(), d, data), y))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).context("usage: mlp_fidelity <dir> [threads]")?);
    let threads = match args.get(2) {
        Some(t) => Threads(t.parse().context("threads must be an integer")?),
        None => Threads::all(),
    };
    let cfg_path = dir.join("config.toml");
    let mut cfg: MlpConfig = toml::from_str(
        &std::fs::read_to_string(&cfg_path)
            .with_context(|| format!("reading {}", cfg_path.display()))?,
    )
    .with_context(|| format!("parsing {}", cfg_path.display()))?;
    let tag = match args.get(3) {
        Some(p) => {
            cfg.precision = toml::Value::String(p.clone())
                .try_into()
                .with_context(|| format!("unknown precision {p:?}"))?;
            cfg.validate()?;
            format!("rust-{p}")
        }
        None => "rust".to_string(),
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix("_train.csv"))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    eprintln!(
        "mlp_fidelity: {} splits, kernel {}, {:?}",
        names.len(),
        cfg.precision.kernel_label(),
        threads
    );
    let mut times = String::new();
    for (i, name) in names.iter().enumerate() {
        let (xtr, ytr) = read_split(&dir.join(format!("{name}_train.csv")))?;
        let (xte, _) = read_split(&dir.join(format!("{name}_test.csv")))?;
        let mut rng = weaknas_harness::rng::stream("mlp-fidelity", i as u64, "mlp");
        let mut m = Mlp::new(cfg.clone(), threads);
        let t0 = Instant::now();
        m.fit(xtr.view(), &ytr, &mut rng)?;
        let fit_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let pred = m.predict(xte.view());
        let pred_s = t1.elapsed().as_secs_f64();
        let out: String = pred.iter().map(|p| format!("{p}\n")).collect();
        std::fs::write(dir.join(format!("{name}_{tag}_pred.csv")), out)?;
        times.push_str(&format!("{name},{fit_s},{pred_s},{}\n", m.n_iter()));
        eprintln!(
            "  {name}: n={} fit {fit_s:.2} s, {} epochs",
            xtr.rows,
            m.n_iter()
        );
    }
    std::fs::write(dir.join(format!("{tag}_times.csv")), times)?;
    Ok(())
}
