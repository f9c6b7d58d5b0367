//! Export of a benchmark store to Parquet or CSV, one row per cell, for pandas/polars users.

use anyhow::{Context, Result};
use polars::prelude::*;
use std::path::Path;
use weaknas_harness::fsutil::atomic_write;
use weaknas_harness::store::BenchmarkStore;

/// File format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Apache Parquet (zstd).
    Parquet,
    /// Comma-separated values with a header (missing values are empty fields).
    Csv,
}

/// The store as a frame: `cell` (u32), `official_index` (u32, null when unknown), then for
/// each metric key (sorted) the columns `<key>/trial<i>` for i in 0..trials and `<key>/mean`
/// (mean over present trials). Missing values are nulls.
pub fn store_frame(store: &BenchmarkStore) -> Result<DataFrame> {
    let n = store.num_cells;
    let mut cols = vec![Column::new(
        "cell".into(),
        (0..n as u32).collect::<Vec<u32>>(),
    )];
    let official: Vec<Option<u32>> = match &store.official_index {
        Some(v) => v.iter().map(|x| Some(*x)).collect(),
        None => vec![None; n],
    };
    cols.push(Column::new("official_index".into(), official));
    let opt = |v: f64| (!v.is_nan()).then_some(v);
    for c in &store.columns {
        for t in 0..c.trials {
            let v: Vec<Option<f64>> = (0..n).map(|i| opt(c.cell(i)[t])).collect();
            cols.push(Column::new(format!("{}/trial{t}", c.key).into(), v));
        }
        let m: Vec<Option<f64>> = (0..n).map(|i| opt(c.mean(i))).collect();
        cols.push(Column::new(format!("{}/mean", c.key).into(), m));
    }
    Ok(DataFrame::new(n, cols)?)
}

/// Writes [`store_frame`] to `path` atomically.
pub fn export_store(store: &BenchmarkStore, path: &Path, format: ExportFormat) -> Result<()> {
    write_frame(&mut store_frame(store)?, path, format)
        .with_context(|| format!("exporting the store to {}", path.display()))
}

/// Writes a frame to `path` atomically, as Parquet (zstd) or CSV.
pub fn write_frame(df: &mut DataFrame, path: &Path, format: ExportFormat) -> Result<()> {
    let mut buf = Vec::new();
    match format {
        ExportFormat::Parquet => {
            ParquetWriter::new(&mut buf)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(df)?;
        }
        ExportFormat::Csv => {
            CsvWriter::new(&mut buf).finish(df)?;
        }
    }
    atomic_write(path, &buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use weaknas_harness::store::Column as StoreColumn;

    fn synthetic_store() -> BenchmarkStore {
        let mut s = BenchmarkStore::new("synthetic-test", 3);
        let mut v = StoreColumn::missing("d/x-valid@200", 3, 2);
        v.values = vec![1.0, 3.0, 5.0, f64::NAN, f64::NAN, f64::NAN];
        s.add_column(v).unwrap();
        let mut t = StoreColumn::missing("d/params_mb", 3, 1);
        t.values = vec![0.5, 0.25, 2.0];
        s.add_column(t).unwrap();
        s.official_index = Some(vec![10, 11, 12]);
        s
    }

    #[test]
    fn parquet_export_reads_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("store.parquet");
        export_store(&synthetic_store(), &p, ExportFormat::Parquet).unwrap();
        let df = ParquetReader::new(std::fs::File::open(&p).unwrap())
            .finish()
            .unwrap();
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "cell",
                "official_index",
                "d/params_mb/trial0",
                "d/params_mb/mean",
                "d/x-valid@200/trial0",
                "d/x-valid@200/trial1",
                "d/x-valid@200/mean"
            ]
        );
        let mean = df.column("d/x-valid@200/mean").unwrap().f64().unwrap();
        assert_eq!(mean.get(0), Some(2.0));
        assert_eq!(mean.get(1), Some(5.0));
        assert_eq!(mean.get(2), None);
        let t1 = df.column("d/x-valid@200/trial1").unwrap().f64().unwrap();
        assert_eq!(t1.get(1), None);
        let oi = df.column("official_index").unwrap().u32().unwrap();
        assert_eq!(oi.get(2), Some(12));
    }

    #[test]
    fn csv_export_has_a_header_and_empty_missing_fields() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("store.csv");
        let mut s = synthetic_store();
        s.official_index = None;
        export_store(&s, &p, ExportFormat::Csv).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("cell,official_index,d/params_mb/trial0"));
        assert_eq!(lines[2], "1,,0.25,0.25,5.0,,5.0");
        assert_eq!(lines[3], "2,,2.0,2.0,,,");
    }
}
