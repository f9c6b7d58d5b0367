//! Tidy results: one row per (run, query) of a result directory, cells named in their
//! benchmark's native text, for pandas/polars users (`weaknas export-results`).
//!
//! | column | type | meaning |
//! |---|---|---|
//! | run_id, spec, method, method_kind | str | as in the run files |
//! | params_hash | str | first 16 hex digits of the sha256 of `method_params` (the JSON text) |
//! | method_params | str | method parameters, JSON text |
//! | benchmark, dataset, search_metric, report_metric | str | the run's task |
//! | seed, budget | u64 | |
//! | query_index | u64 | 1-based position among charged queries (repeats carry the current count) |
//! | iteration | u32 | searcher iteration |
//! | charged | bool | first query of the cell (a repeat otherwise) |
//! | cell | u32 | cell id |
//! | cell_text | str | native text: NB201 arch string, NB101 `{"matrix", "ops", "hash"}` JSON, genotype text; null where the space is not known from the results (open-domain pools) |
//! | official_index | u32 | the benchmark's official index (NB201 when the store knows it), else null |
//! | search_value, report_value | f64 | value the searcher saw; report metric of the cell |
//! | incumbent_search_value, incumbent_report_value | f64 | of the incumbent so far: the queried cell with the best search value (earliest on ties) |

use crate::export::{write_frame, ExportFormat};
use crate::sink::load_traces;
use anyhow::{Context, Result};
use polars::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use weaknas_harness::space::SearchSpace;
use weaknas_harness::trace::RunTrace;

/// Names cells: the space of each benchmark and the official index of each store.
#[derive(Default)]
pub struct CellCatalog {
    spaces: HashMap<String, Option<Arc<dyn SearchSpace>>>,
    official: HashMap<(String, String), Option<Arc<Vec<u32>>>>,
}

impl CellCatalog {
    /// A catalog that finds spaces by benchmark name (NB201; NB101 from its cached
    /// enumeration) and official indices in the stores under `$WEAKNAS_HOME`.
    pub fn new() -> Self {
        Self::default()
    }
    /// Uses `space` for `benchmark`.
    pub fn with_space(mut self, benchmark: &str, space: Arc<dyn SearchSpace>) -> Self {
        self.spaces.insert(benchmark.into(), Some(space));
        self
    }
    /// Uses `index` as the official index of `benchmark`'s store with checksum `sha256`.
    pub fn with_official_index(mut self, benchmark: &str, sha256: &str, index: Vec<u32>) -> Self {
        self.official
            .insert((benchmark.into(), sha256.into()), Some(Arc::new(index)));
        self
    }

    fn space(&mut self, benchmark: &str) -> Option<Arc<dyn SearchSpace>> {
        self.spaces
            .entry(benchmark.to_string())
            .or_insert_with(|| match benchmark {
                "nb201" => Some(Arc::new(weaknas_harness::space::nb201::Nb201Space)),
                "nb101" | "nb101-synthetic" => {
                    match weaknas_harness::nb101::Nb101Space::load_or_build() {
                        Ok(s) => Some(Arc::new(s)),
                        Err(e) => {
                            tracing::warn!("no NB101 cell text: {e:#}");
                            None
                        }
                    }
                }
                _ => None,
            })
            .clone()
    }

    fn official(&mut self, benchmark: &str, sha256: &str) -> Option<Arc<Vec<u32>>> {
        self.official
            .entry((benchmark.to_string(), sha256.to_string()))
            .or_insert_with(|| {
                let dir = weaknas_harness::home::store_dir(benchmark);
                let m = weaknas_harness::store::Manifest::load(&dir).ok()?;
                if m.store_sha256 != sha256 || !m.has_official_index {
                    return None;
                }
                let store = weaknas_harness::store::load_store(&dir).ok()?;
                store.official_index.map(Arc::new)
            })
            .clone()
    }
}

/// The native text of a cell.
fn native_text(space: &dyn SearchSpace, cell: u32) -> Option<String> {
    if cell as usize >= space.num_cells() {
        return None;
    }
    Some(match space.native(cell) {
        serde_json::Value::String(s) => s,
        v => v.to_string(),
    })
}

/// The tidy frame of `traces` (schema in the module docs).
pub fn tidy_frame(traces: &[RunTrace], catalog: &mut CellCatalog) -> Result<DataFrame> {
    let n: usize = traces.iter().map(|t| t.queries.len()).sum();
    let mut s: Vec<Vec<String>> = (0..10).map(|_| Vec::with_capacity(n)).collect();
    let mut seed = Vec::with_capacity(n);
    let mut budget = Vec::with_capacity(n);
    let mut qi = Vec::with_capacity(n);
    let mut it = Vec::with_capacity(n);
    let mut charged = Vec::with_capacity(n);
    let mut cell = Vec::with_capacity(n);
    let mut text: Vec<Option<String>> = Vec::with_capacity(n);
    let mut official: Vec<Option<u32>> = Vec::with_capacity(n);
    let mut f: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
    for t in traces {
        let m = &t.meta;
        let space = catalog.space(&m.benchmark);
        let index = catalog.official(&m.benchmark, &m.data_sha256);
        let params_hash = hex::encode(&Sha256::digest(m.method_params.as_bytes())[..8]);
        let mut best: Option<(f64, f64)> = None;
        for q in &t.queries {
            if q.charged && best.is_none_or(|(v, _)| q.search_value > v) {
                best = Some((q.search_value, q.report_value));
            }
            let strs = [
                &m.run_id,
                &m.spec,
                &m.method,
                &m.method_kind,
                &params_hash,
                &m.method_params,
                &m.benchmark,
                &m.dataset,
                &m.search_metric,
                &m.report_metric,
            ];
            for (col, v) in s.iter_mut().zip(strs) {
                col.push(v.clone());
            }
            seed.push(m.seed);
            budget.push(m.budget as u64);
            qi.push(q.query_index as u64);
            it.push(q.iteration);
            charged.push(q.charged);
            cell.push(q.cell);
            text.push(space.as_deref().and_then(|sp| native_text(sp, q.cell)));
            official.push(index.as_ref().and_then(|v| v.get(q.cell as usize).copied()));
            let (bs, br) = best.unwrap_or((f64::NAN, f64::NAN));
            for (col, v) in f.iter_mut().zip([q.search_value, q.report_value, bs, br]) {
                col.push(v);
            }
        }
    }
    let names = [
        "run_id",
        "spec",
        "method",
        "method_kind",
        "params_hash",
        "method_params",
        "benchmark",
        "dataset",
        "search_metric",
        "report_metric",
    ];
    let mut cols: Vec<Column> = names
        .iter()
        .zip(s)
        .map(|(name, v)| Column::new((*name).into(), v))
        .collect();
    cols.extend([
        Column::new("seed".into(), seed),
        Column::new("budget".into(), budget),
        Column::new("query_index".into(), qi),
        Column::new("iteration".into(), it),
        Column::new("charged".into(), charged),
        Column::new("cell".into(), cell),
        Column::new("cell_text".into(), text),
        Column::new("official_index".into(), official),
    ]);
    let fnames = [
        "search_value",
        "report_value",
        "incumbent_search_value",
        "incumbent_report_value",
    ];
    for (name, v) in fnames.iter().zip(f) {
        let v: Vec<Option<f64>> = v.into_iter().map(|x| (!x.is_nan()).then_some(x)).collect();
        cols.push(Column::new((*name).into(), v));
    }
    Ok(DataFrame::new(n, cols)?)
}

/// Writes the tidy frame of every complete run in `dir` to `out` atomically; returns the
/// number of rows.
pub fn export_results(
    dir: &Path,
    out: &Path,
    format: ExportFormat,
    catalog: &mut CellCatalog,
) -> Result<usize> {
    let traces = load_traces(dir)?;
    if traces.is_empty() {
        anyhow::bail!("{}: no finished runs to export", dir.display());
    }
    let mut df = tidy_frame(&traces, catalog)?;
    write_frame(&mut df, out, format)
        .with_context(|| format!("exporting results to {}", out.display()))?;
    Ok(df.height())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::synthetic::trace;
    use weaknas_harness::space::nb201::Nb201Cell;

    #[test]
    fn one_row_per_query_with_native_cells_and_incumbents() {
        let mut a = trace("rs", "cifar10", 0, &[80.0, 85.0, 82.0, 85.0, 90.0]);
        a.meta.benchmark = "nb201".into();
        a.queries[2].charged = false; // a repeat does not move the incumbent
        a.queries[2].search_value = 99.0;
        let mut b = trace("ext", "cifar10", 1, &[70.0, 71.0]);
        b.meta.benchmark = "darts".into(); // no space known: null text
        let mut cat = CellCatalog::new().with_official_index("nb201", "00", (100..200).collect());
        let df = tidy_frame(&[a.clone(), b], &mut cat).unwrap();
        assert_eq!(df.height(), 7);
        let text = df.column("cell_text").unwrap().str().unwrap();
        assert_eq!(text.get(3), Some(Nb201Cell::from_id(3).arch_str().as_str()));
        assert_eq!(text.get(5), None);
        let oi = df.column("official_index").unwrap().u32().unwrap();
        assert_eq!((oi.get(4), oi.get(6)), (Some(104), None));
        let inc = df.column("incumbent_search_value").unwrap().f64().unwrap();
        let got: Vec<f64> = (0..5).map(|i| inc.get(i).unwrap()).collect();
        assert_eq!(got, [80.0, 85.0, 85.0, 85.0, 90.0]);
        let rep = df.column("incumbent_report_value").unwrap().f64().unwrap();
        assert_eq!(rep.get(3), Some(84.0), "ties keep the earliest");
        let ph = df.column("params_hash").unwrap().str().unwrap();
        assert_eq!(ph.get(0).unwrap().len(), 16);
    }
}
