//! Importer of the two derived NAS-Bench-201 CSVs (`nb201_200ep.csv`, `nb201_12ep.csv`; format
//! in `../shared/data/nasbench201/PROVENANCE.md`).
//!
//! Both files must hold exactly 15,625 rows with every official index `0..15624` once, an
//! `arch_str` consistent with its `ops` code, and (200-epoch file) as many validation trials
//! per dataset as `n_seeds` says. Keys written:
//! - `nb201_200ep.csv`: `{ds}/x-valid@200` (3 trials `s1..s3`, NaN = missing) for the three
//!   datasets; `cifar10/ori-test@200` (`c10_test_mean_v1`), `cifar10-valid/ori-test@200`
//!   (`c10v_test_mean_v1`), `cifar10-valid/x-valid-api2020@200` (`c10v_val_mean_v1`: the
//!   2020 API averaged a subset of the trials for 2,418 cells, hence its own key), and
//!   `{ds}/train_time_s`, `{ds}/params_mb`, `{ds}/latency_s`;
//! - `nb201_12ep.csv`: `cifar10-valid/x-valid@12`, `cifar10/ori-test@12`,
//!   `{cifar100,ImageNet16-120}/{x-valid,x-test}@12`.

use super::{nb201_store, NB201_TRIALS};
use crate::space::nb201::{Nb201Cell, NUM_CELLS};
use crate::store::{BenchmarkStore, Column, SourceFile};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::Path;

/// Importer name recorded in the manifest.
pub const IMPORTER: &str = "nb201-csv";
/// File name of the 200-epoch CSV.
pub const FILE_200EP: &str = "nb201_200ep.csv";
/// File name of the 12-epoch CSV.
pub const FILE_12EP: &str = "nb201_12ep.csv";

/// CSV column prefix of each dataset.
const PREFIX: [(&str, &str); 3] = [
    ("c10v", "cifar10-valid"),
    ("c100", "cifar100"),
    ("in16", "ImageNet16-120"),
];

/// Imports both CSVs from `dir` into one store (with the official index).
pub fn import_dir(dir: &Path) -> Result<(BenchmarkStore, Vec<SourceFile>)> {
    let p200 = dir.join(FILE_200EP);
    let p12 = dir.join(FILE_12EP);
    for p in [&p200, &p12] {
        if !p.is_file() {
            bail!(
                "{}: file not found (an nb201-csv directory holds {FILE_200EP} and {FILE_12EP})",
                p.display()
            );
        }
    }
    let mut store = read_200ep(&p200)?;
    let s12 = read_12ep(&p12)?;
    store.merge(&s12, 0.0).with_context(|| {
        format!(
            "{} and {} describe different cells",
            p200.display(),
            p12.display()
        )
    })?;
    let sources = vec![
        SourceFile::from_path(&p200, IMPORTER)?,
        SourceFile::from_path(&p12, IMPORTER)?,
    ];
    tracing::info!(
        "read {} cells x {} metrics from {}",
        store.num_cells,
        store.columns.len(),
        dir.display()
    );
    Ok((store, sources))
}

/// Reads `nb201_200ep.csv`.
pub fn read_200ep(path: &Path) -> Result<BenchmarkStore> {
    let mut specs: Vec<(String, Vec<String>, bool)> = Vec::new();
    for (p, ds) in PREFIX {
        specs.push((
            format!("{ds}/x-valid@200"),
            (1..=NB201_TRIALS)
                .map(|s| format!("{p}_val_s{s}"))
                .collect(),
            true,
        ));
    }
    for (key, col) in [
        ("cifar10/ori-test@200", "c10_test_mean_v1"),
        ("cifar10-valid/ori-test@200", "c10v_test_mean_v1"),
        ("cifar10-valid/x-valid-api2020@200", "c10v_val_mean_v1"),
    ] {
        specs.push((key.into(), vec![col.into()], false));
    }
    for (p, ds) in PREFIX {
        for (name, suffix) in [
            ("train_time_s", "train_time_s"),
            ("params_mb", "params_mb"),
            ("latency_s", "latency_s"),
        ] {
            specs.push((format!("{ds}/{name}"), vec![format!("{p}_{suffix}")], false));
        }
    }
    let extra: Vec<String> = std::iter::once("n_seeds".to_string())
        .chain(PREFIX.iter().map(|(p, _)| format!("{p}_val_mean")))
        .collect();
    let table = read_table(path, &specs, &extra)?;
    // Check trial counts and the means the file states against the trials.
    let name = path.display();
    for (row, line) in table.lines.iter().enumerate() {
        let n_seeds = table.extra[0][row];
        let cell = table.cell_of_row[row] as usize;
        for (d, (p, ds)) in PREFIX.iter().enumerate() {
            let col = &table.store.columns_by_spec[d];
            let present = col.present(cell);
            if present as f64 != n_seeds {
                bail!(
                    "{name}:{line}: {p}_val_s1..s{NB201_TRIALS} hold {present} trials but n_seeds is {n_seeds}"
                );
            }
            let stated = table.extra[1 + d][row];
            let mean = col.mean(cell);
            if (stated - mean).abs() > 1e-9 * stated.abs().max(1.0) {
                bail!(
                    "{name}:{line}: {p}_val_mean is {stated} but the mean of the {ds} trials is {mean}"
                );
            }
        }
    }
    table.store.finish()
}

/// Reads `nb201_12ep.csv`.
pub fn read_12ep(path: &Path) -> Result<BenchmarkStore> {
    let specs: Vec<(String, Vec<String>, bool)> = [
        ("cifar10-valid/x-valid@12", "c10v_val_12ep"),
        ("cifar10/ori-test@12", "c10_test_12ep"),
        ("cifar100/x-valid@12", "c100_val_12ep"),
        ("cifar100/x-test@12", "c100_test_12ep"),
        ("ImageNet16-120/x-valid@12", "in16_val_12ep"),
        ("ImageNet16-120/x-test@12", "in16_test_12ep"),
    ]
    .iter()
    .map(|(k, c)| (k.to_string(), vec![c.to_string()], false))
    .collect();
    read_table(path, &specs, &[])?.store.finish()
}

/// A store being filled, with its columns in spec order.
struct Building {
    columns_by_spec: Vec<Column>,
    official_index: Vec<u32>,
}

impl Building {
    fn finish(self) -> Result<BenchmarkStore> {
        let mut store = nb201_store();
        for c in self.columns_by_spec {
            store.add_column(c)?;
        }
        store.official_index = Some(self.official_index);
        Ok(store)
    }
}

/// The parsed file: the store, plus the `extra` columns (by row) and each row's line number.
struct Table {
    store: Building,
    extra: Vec<Vec<f64>>,
    lines: Vec<u64>,
    cell_of_row: Vec<u32>,
}

/// Reads an NB201 CSV. `specs` = (metric key, CSV columns of its trials, whether an empty
/// field means a missing trial); `extra` = further numeric columns returned by row.
fn read_table(
    path: &Path,
    specs: &[(String, Vec<String>, bool)],
    extra: &[String],
) -> Result<Table> {
    let name = path.display();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("opening {name}"))?;
    let headers = rdr
        .headers()
        .with_context(|| format!("{name}: reading the header row"))?
        .clone();
    let pos: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    let find = |col: &str| -> Result<usize> {
        pos.get(col).copied().with_context(|| {
            format!(
                "{name}: no column {col:?} in the header (is this an NB201 CSV? header: {})",
                headers.iter().collect::<Vec<_>>().join(",")
            )
        })
    };
    let (i_index, i_arch, i_ops) = (find("index")?, find("arch_str")?, find("ops")?);
    let spec_cols: Vec<Vec<usize>> = specs
        .iter()
        .map(|(_, cols, _)| cols.iter().map(|c| find(c)).collect::<Result<_>>())
        .collect::<Result<_>>()?;
    let extra_cols: Vec<usize> = extra.iter().map(|c| find(c)).collect::<Result<_>>()?;

    let mut columns: Vec<Column> = specs
        .iter()
        .map(|(k, cols, _)| Column::missing(k, NUM_CELLS, cols.len()))
        .collect();
    let mut official = vec![u32::MAX; NUM_CELLS];
    let mut row_of_index = vec![u64::MAX; NUM_CELLS];
    let mut extra_vals: Vec<Vec<f64>> = vec![Vec::new(); extra.len()];
    let mut lines = Vec::new();
    let mut cell_of_row = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let more = rdr
            .read_record(&mut record)
            .with_context(|| format!("{name}: reading CSV"))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != headers.len() {
            bail!(
                "{name}:{line}: {} fields, expected {} (truncated or malformed row)",
                record.len(),
                headers.len()
            );
        }
        let index: u32 = record[i_index].trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "{name}:{line}: column index: {:?} is not an official index",
                &record[i_index]
            )
        })?;
        if index as usize >= NUM_CELLS {
            bail!("{name}:{line}: index {index} out of range 0..{NUM_CELLS}");
        }
        if row_of_index[index as usize] != u64::MAX {
            bail!(
                "{name}:{line}: index {index} repeats line {}",
                row_of_index[index as usize]
            );
        }
        row_of_index[index as usize] = line;
        let cell = Nb201Cell::from_arch_str(&record[i_arch])
            .with_context(|| format!("{name}:{line}: column arch_str"))?;
        let ops = &record[i_ops];
        if ops != cell.ops_code() {
            bail!(
                "{name}:{line}: ops {ops:?} does not match arch_str {:?} (ops code {})",
                &record[i_arch],
                cell.ops_code()
            );
        }
        let id = cell.id() as usize;
        if official[id] != u32::MAX {
            bail!(
                "{name}:{line}: arch_str {:?} repeats official index {}",
                &record[i_arch],
                official[id]
            );
        }
        official[id] = index;
        for ((col, idx), (key, names, optional)) in columns.iter_mut().zip(&spec_cols).zip(specs) {
            for (t, (&i, cname)) in idx.iter().zip(names).enumerate() {
                let v = parse_value(&record[i], *optional)
                    .with_context(|| format!("{name}:{line}: column {cname} ({key})"))?;
                col.values[id * col.trials + t] = v;
            }
        }
        for ((vals, &i), cname) in extra_vals.iter_mut().zip(&extra_cols).zip(extra) {
            vals.push(
                parse_value(&record[i], false)
                    .with_context(|| format!("{name}:{line}: column {cname}"))?,
            );
        }
        lines.push(line);
        cell_of_row.push(id as u32);
    }
    if lines.len() != NUM_CELLS {
        let missing: Vec<String> = row_of_index
            .iter()
            .enumerate()
            .filter(|(_, &l)| l == u64::MAX)
            .take(10)
            .map(|(i, _)| i.to_string())
            .collect();
        bail!(
            "{name}: {} data rows, expected {NUM_CELLS} (one per NB201 cell; missing official indices: {}{})",
            lines.len(),
            missing.join(", "),
            if NUM_CELLS - lines.len().min(NUM_CELLS) > missing.len() { ", ..." } else { "" }
        );
    }
    Ok(Table {
        store: Building {
            columns_by_spec: columns,
            official_index: official,
        },
        extra: extra_vals,
        lines,
        cell_of_row,
    })
}

/// Parses one numeric field; an empty field is a missing trial (NaN) where `optional`.
fn parse_value(s: &str, optional: bool) -> Result<f64> {
    let t = s.trim();
    if t.is_empty() {
        if optional {
            return Ok(f64::NAN);
        }
        bail!("empty value");
    }
    let v: f64 = t
        .parse()
        .map_err(|_| anyhow::anyhow!("{t:?} is not a number"))?;
    if !v.is_finite() {
        bail!("{t:?} is not a finite number");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::shared_data_or_skip;

    fn best(store: &BenchmarkStore, key: &str) -> (f64, u32, f64) {
        let c = store.require(key).unwrap();
        let means = c.means();
        let (cell, &v) = means
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap();
        let mean = means.iter().sum::<f64>() / means.len() as f64;
        (v, store.official_index.as_ref().unwrap()[cell], mean)
    }

    #[test]
    fn real_csvs_give_known_values() {
        let Some(dir) = shared_data_or_skip("nasbench201") else {
            return;
        };
        let (s, sources) = import_dir(&dir).unwrap();
        assert_eq!(s.num_cells, 15_625);
        assert_eq!(sources.len(), 2);
        assert_eq!(
            sources[0].sha256,
            "83e53626bfa958358d8d2c4d5d41bb9343c3d69a15348e728b4f9da79a1c8023"
        );
        for (key, value, index, mean) in [
            ("cifar10/ori-test@200", 94.3733, 6111, 87.056),
            ("cifar10-valid/x-valid@200", 91.6067, 6111, 83.687),
            ("cifar100/x-valid@200", 73.4933, 9930, 61.300),
            ("ImageNet16-120/x-valid@200", 46.7333, 10676, 33.808),
        ] {
            let (v, i, m) = best(&s, key);
            assert!((v - value).abs() < 1e-3, "{key}: best {v}");
            assert_eq!(i, index, "{key}");
            assert!((m - mean).abs() < 1e-3, "{key}: mean {m}");
        }
        // The 12-epoch file: x-test best values of benchmarks.md are 200-epoch ones, so only
        // check the column is complete and plausible.
        let c = s.require("cifar100/x-test@12").unwrap();
        assert!(c
            .values
            .iter()
            .all(|v| v.is_finite() && (0.0..=100.0).contains(v)));
        // Trial counts: 8,169 cells with 3 trials, 7,456 with 2 (PROVENANCE.md).
        let c = s.require("cifar100/x-valid@200").unwrap();
        let three = (0..s.num_cells).filter(|&i| c.present(i) == 3).count();
        assert_eq!(three, 8_169);
        assert!((0..s.num_cells).all(|i| c.present(i) >= 2 && !c.cell(i)[1].is_nan()));
        // Official index order: for every row, official_index[id(arch_str)] == index.
        let idx = s.official_index.as_ref().unwrap();
        let mut rdr = csv::Reader::from_path(dir.join(FILE_200EP)).unwrap();
        let mut n = 0;
        for r in rdr.records() {
            let r = r.unwrap();
            let id = Nb201Cell::from_arch_str(&r[1]).unwrap().id() as usize;
            assert_eq!(idx[id], r[0].parse::<u32>().unwrap());
            n += 1;
        }
        assert_eq!(n, 15_625);
    }

    /// Writes a small synthetic (named so) but complete 12-epoch CSV and returns its lines.
    fn synthetic_12ep() -> Vec<String> {
        let mut lines = vec![
            "index,arch_str,ops,c10v_val_12ep,c10_test_12ep,c100_val_12ep,c100_test_12ep,in16_val_12ep,in16_test_12ep"
                .to_string(),
        ];
        for i in 0..NUM_CELLS as u32 {
            let c = Nb201Cell::from_id((i * 7) % NUM_CELLS as u32);
            let v = (i % 100) as f64 / 3.0;
            lines.push(format!(
                "{i},{},{},{v},{v},{v},{v},{v},{v}",
                c.arch_str(),
                c.ops_code()
            ));
        }
        lines
    }

    fn write(lines: &[String]) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(FILE_12EP);
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        (d, p)
    }

    #[test]
    fn synthetic_12ep_reads_and_sets_official_index() {
        let (_d, p) = write(&synthetic_12ep());
        let s = read_12ep(&p).unwrap();
        let idx = s.official_index.unwrap();
        let id = Nb201Cell::from_id(7 * 5).id() as usize;
        assert_eq!(idx[id], 5);
        assert_eq!(s.columns.len(), 6);
    }

    fn err_of(lines: &[String]) -> String {
        let (_d, p) = write(lines);
        format!("{:#}", read_12ep(&p).unwrap_err())
    }

    #[test]
    fn corrupt_csvs_name_file_and_line() {
        // A row with a missing field (line 11 = data row 10).
        let mut l = synthetic_12ep();
        l[10] = l[10].rsplit_once(',').unwrap().0.to_string();
        let e = err_of(&l);
        assert!(
            e.contains(FILE_12EP) && e.contains(":11:") && e.contains("fields"),
            "{e}"
        );
        // A non-numeric value.
        let mut l = synthetic_12ep();
        let mut fields: Vec<String> = l[20].split(',').map(String::from).collect();
        fields[5] = "abc".into();
        l[20] = fields.join(",");
        let e = err_of(&l);
        assert!(
            e.contains(FILE_12EP)
                && e.contains(":21:")
                && e.contains("c100_val_12ep")
                && e.contains("not a number"),
            "{e}"
        );
        // 15,624 rows.
        let mut l = synthetic_12ep();
        l.pop();
        let e = err_of(&l);
        assert!(
            e.contains(FILE_12EP) && e.contains("15624 data rows") && e.contains("15624"),
            "{e}"
        );
        // ops inconsistent with arch_str.
        let mut l = synthetic_12ep();
        let mut fields: Vec<String> = l[3].split(',').map(String::from).collect();
        fields[2] = "444444".into();
        l[3] = fields.join(",");
        let e = err_of(&l);
        assert!(e.contains(":4:") && e.contains("does not match"), "{e}");
        // Duplicate index.
        let mut l = synthetic_12ep();
        let mut fields: Vec<String> = l[3].split(',').map(String::from).collect();
        fields[0] = "0".into();
        l[3] = fields.join(",");
        let e = err_of(&l);
        assert!(e.contains(":4:") && e.contains("repeats"), "{e}");
        // Missing column.
        let mut l = synthetic_12ep();
        l[0] = l[0].replace("in16_test_12ep", "something_else");
        let e = err_of(&l);
        assert!(e.contains("in16_test_12ep") && e.contains(FILE_12EP), "{e}");
    }

    #[test]
    fn missing_file_is_named() {
        let d = tempfile::tempdir().unwrap();
        let e = format!("{:#}", import_dir(d.path()).unwrap_err());
        assert!(e.contains(FILE_200EP) && e.contains("not found"), "{e}");
    }
}
