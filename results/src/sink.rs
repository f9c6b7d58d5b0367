//! The Parquet result store: [`ParquetTraceSink`] writes each run as three Parquet files, one
//! per kind, under `DIR/runs/{queries,iterations,rankings}/<run id>.parquet` (so
//! `pd.read_parquet("DIR/runs/queries")` reads every run's queries); [`load_traces`] reads
//! them back; [`scan_queries`] and [`scan_iterations`] give lazy polars scans over every run
//! (schema in `results/README.md`).
//!
//! Directories written before the split (the legacy layout,
//! `DIR/runs/<run id>.{queries,iterations,rankings}.parquet`) are read, resumed and merged as
//! they are; [`migrate_layout`] moves their runs into the split layout atomically.

use anyhow::{anyhow, bail, Context, Result};
use polars::prelude::*;
use std::fs::File;
use std::path::{Path, PathBuf};
use weaknas_harness::fsutil::atomic_write;
use weaknas_harness::trace::{IterationRow, QueryRow, RankedCell, RunMeta, RunTrace, TraceSink};

/// Parquet key-value metadata key holding the run's [`RunMeta`] as JSON (every file).
pub const META_KEY: &str = "weaknas.run_meta";
/// The three kinds of run file, in write order (the query file, last, marks a run done).
pub const KINDS: [&str; 3] = ["iterations", "rankings", "queries"];
/// Suffix of a run's query file in the legacy layout.
pub const QUERIES_SUFFIX: &str = ".queries.parquet";

/// A [`TraceSink`] storing each run as `DIR/runs/iterations/<run_id>.parquet`, then
/// `DIR/runs/rankings/<run_id>.parquet` (recorded rankings, possibly empty), then
/// `DIR/runs/queries/<run_id>.parquet`, each written atomically (temporary file + rename).
/// The query file is written last, so a run killed before it is not [`is_done`]. Runs of
/// the legacy layout count as done and are read where they are.
///
/// [`is_done`]: TraceSink::is_done
#[derive(Clone, Debug)]
pub struct ParquetTraceSink {
    dir: PathBuf,
}

impl ParquetTraceSink {
    /// A sink over the result directory `dir` (created on first write).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }
    /// The result directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// Path of a run's file of `kind` (one of [`KINDS`]) in the split layout.
    pub fn path(&self, kind: &str, run_id: &str) -> PathBuf {
        runs_dir(&self.dir)
            .join(kind)
            .join(format!("{run_id}.parquet"))
    }
    /// Path of a run's file of `kind` in the legacy layout.
    pub fn legacy_path(&self, kind: &str, run_id: &str) -> PathBuf {
        runs_dir(&self.dir).join(format!("{run_id}.{kind}.parquet"))
    }
    /// Where a run's file of `kind` is: the split layout, unless the run is stored only in
    /// the legacy layout.
    pub fn located(&self, kind: &str, run_id: &str) -> PathBuf {
        if !self.path("queries", run_id).is_file() && self.legacy_path("queries", run_id).is_file()
        {
            self.legacy_path(kind, run_id)
        } else {
            self.path(kind, run_id)
        }
    }
    /// Path of a run's query file (where it is stored, or will be).
    pub fn queries_path(&self, run_id: &str) -> PathBuf {
        self.located("queries", run_id)
    }
    /// Path of a run's iteration file (where it is stored, or will be).
    pub fn iterations_path(&self, run_id: &str) -> PathBuf {
        self.located("iterations", run_id)
    }
    /// Path of a run's recorded-rankings file (where it is stored, or will be).
    pub fn rankings_path(&self, run_id: &str) -> PathBuf {
        self.located("rankings", run_id)
    }
    /// Copies a run's files from `from` into this directory's split layout (atomically, the
    /// query file last), leaving `from` as it is.
    pub fn copy_run_from(&self, from: &ParquetTraceSink, run_id: &str) -> Result<()> {
        for kind in KINDS {
            let src = from.located(kind, run_id);
            if src.is_file() {
                let bytes =
                    std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
                atomic_write(&self.path(kind, run_id), &bytes)?;
            }
        }
        Ok(())
    }
    /// Removes a run's legacy-layout files (query file first, so the run never looks done
    /// with a part missing).
    fn remove_legacy(&self, run_id: &str) -> Result<()> {
        for kind in KINDS.iter().rev() {
            let p = self.legacy_path(kind, run_id);
            if p.is_file() {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
        Ok(())
    }
    /// Where a run's searcher log goes (`DIR/logs/<run_id>.stderr`).
    pub fn log_file(&self, run_id: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{run_id}.stderr"))
    }
}

/// Moves every legacy-layout run of `dir` into the split layout: each run's files are
/// copied atomically (query file last), then its legacy files removed, so an interruption
/// at any point loses nothing (a run present in both layouts is read from the split one).
/// Returns the number of runs moved.
pub fn migrate_layout(dir: &Path) -> Result<usize> {
    let sink = ParquetTraceSink::new(dir);
    let mut moved = 0;
    for id in legacy_runs(dir)? {
        if !sink.path("queries", &id).is_file() {
            // Validate before moving: a corrupt run stays where it is, named in the error.
            load_trace(dir, &id).with_context(|| format!("migrating run {id}"))?;
            // Until its split query file exists, the run is located at its legacy paths.
            sink.copy_run_from(&sink.clone(), &id)?;
        }
        sink.remove_legacy(&id)?;
        moved += 1;
    }
    Ok(moved)
}

impl TraceSink for ParquetTraceSink {
    fn is_done(&self, run_id: &str) -> Result<bool> {
        Ok(self.queries_path(run_id).is_file())
    }
    fn write(&self, trace: &RunTrace) -> Result<()> {
        let id = &trace.meta.run_id;
        if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
            bail!("run id {id:?} cannot name a file");
        }
        let meta_json = serde_json::to_string(&trace.meta)?;
        let mut it = iterations_frame(trace)?;
        let bytes = parquet_bytes(&mut it, &meta_json)
            .with_context(|| format!("encoding iterations of run {id}"))?;
        atomic_write(&self.path("iterations", id), &bytes)?;
        let mut rk = rankings_frame(trace)?;
        let bytes = parquet_bytes(&mut rk, &meta_json)
            .with_context(|| format!("encoding rankings of run {id}"))?;
        atomic_write(&self.path("rankings", id), &bytes)?;
        let mut q = queries_frame(trace)?;
        let bytes = parquet_bytes(&mut q, &meta_json)
            .with_context(|| format!("encoding queries of run {id}"))?;
        atomic_write(&self.path("queries", id), &bytes)?;
        // A run redone (--force) over a legacy copy: the split copy is now the run.
        self.remove_legacy(id)
    }
    fn log_path(&self, run_id: &str) -> Option<PathBuf> {
        Some(self.log_file(run_id))
    }
    /// `DIR/checkpoints/<run_id>.json`.
    fn checkpoint_path(&self, run_id: &str) -> Option<PathBuf> {
        Some(weaknas_harness::checkpoint::path_in(&self.dir, run_id))
    }
}

fn runs_dir(dir: &Path) -> PathBuf {
    dir.join("runs")
}

fn parquet_bytes(df: &mut DataFrame, meta_json: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Zstd(None))
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(
            META_KEY.to_string(),
            meta_json.to_string(),
        )])))
        .finish(df)?;
    Ok(buf)
}

/// The meta columns, each repeating one value `n` times.
fn meta_columns(m: &RunMeta, n: usize) -> Vec<Column> {
    let s = |name: &str, v: &str| Column::new(name.into(), vec![v.to_string(); n]);
    let u = |name: &str, v: u64| Column::new(name.into(), vec![v; n]);
    let f = |name: &str, v: f64| Column::new(name.into(), vec![v; n]);
    vec![
        s("run_id", &m.run_id),
        s("spec", &m.spec),
        s("method", &m.method),
        s("method_kind", &m.method_kind),
        s("method_params", &m.method_params),
        s("benchmark", &m.benchmark),
        s("dataset", &m.dataset),
        s("search_metric", &m.search_metric),
        s("report_metric", &m.report_metric),
        s("noise", &m.noise),
        u("seed", m.seed),
        u("budget", m.budget as u64),
        s("data_sha256", &m.data_sha256),
        s("harness_version", &m.harness_version),
        f("search_optimum", m.search_optimum),
        f("report_optimum", m.report_optimum),
        f("run_wall_s", m.wall_s),
        u("repeats", m.repeats as u64),
    ]
}

/// One row per query, meta columns first (schema in `results/README.md`).
pub fn queries_frame(t: &RunTrace) -> Result<DataFrame> {
    let q = &t.queries;
    let mut cols = meta_columns(&t.meta, q.len());
    cols.extend([
        Column::new(
            "query_index".into(),
            q.iter().map(|r| r.query_index as u64).collect::<Vec<_>>(),
        ),
        Column::new(
            "iteration".into(),
            q.iter().map(|r| r.iteration).collect::<Vec<_>>(),
        ),
        Column::new("cell".into(), q.iter().map(|r| r.cell).collect::<Vec<_>>()),
        Column::new(
            "search_value".into(),
            q.iter().map(|r| r.search_value).collect::<Vec<_>>(),
        ),
        Column::new(
            "search_mean".into(),
            q.iter().map(|r| r.search_mean).collect::<Vec<_>>(),
        ),
        Column::new(
            "report_value".into(),
            q.iter().map(|r| r.report_value).collect::<Vec<_>>(),
        ),
        Column::new(
            "charged".into(),
            q.iter().map(|r| r.charged).collect::<Vec<_>>(),
        ),
        Column::new(
            "wall_s".into(),
            q.iter().map(|r| r.wall_s).collect::<Vec<_>>(),
        ),
    ]);
    Ok(DataFrame::new(q.len(), cols)?)
}

/// One row per searcher iteration, meta columns first (schema in `results/README.md`).
pub fn iterations_frame(t: &RunTrace) -> Result<DataFrame> {
    let it = &t.iterations;
    let f = |name: &str, g: fn(&IterationRow) -> f64| {
        Column::new(name.into(), it.iter().map(g).collect::<Vec<_>>())
    };
    let mut cols = meta_columns(&t.meta, it.len());
    cols.extend([
        Column::new(
            "iteration".into(),
            it.iter().map(|r| r.iteration).collect::<Vec<_>>(),
        ),
        Column::new(
            "num_queried".into(),
            it.iter().map(|r| r.num_queried as u64).collect::<Vec<_>>(),
        ),
        f("kendall_top50", |r| r.kendall_top50),
        f("kendall_top100", |r| r.kendall_top100),
        f("kendall_all", |r| r.kendall_all),
        f("hit_rate_top50", |r| r.hit_rate_top50),
        f("hit_rate_top100", |r| r.hit_rate_top100),
        Column::new(
            "top1_true_rank".into(),
            it.iter().map(|r| r.top1_true_rank).collect::<Vec<_>>(),
        ),
        f("paper_best_peek", |r| r.paper_best_peek),
        f("top1_search", |r| r.top1_search),
        f("top1_report", |r| r.top1_report),
    ]);
    Ok(DataFrame::new(it.len(), cols)?)
}

/// One row per recorded ranked cell, meta columns first (schema in `results/README.md`).
pub fn rankings_frame(t: &RunTrace) -> Result<DataFrame> {
    let r = &t.rankings;
    let mut cols = meta_columns(&t.meta, r.len());
    cols.extend([
        Column::new(
            "iteration".into(),
            r.iter().map(|x| x.iteration).collect::<Vec<_>>(),
        ),
        Column::new(
            "predicted_rank".into(),
            r.iter().map(|x| x.predicted_rank).collect::<Vec<_>>(),
        ),
        Column::new("cell".into(), r.iter().map(|x| x.cell).collect::<Vec<_>>()),
        Column::new(
            "predicted".into(),
            r.iter().map(|x| x.predicted).collect::<Vec<_>>(),
        ),
        Column::new(
            "truth".into(),
            r.iter().map(|x| x.truth).collect::<Vec<_>>(),
        ),
    ]);
    Ok(DataFrame::new(r.len(), cols)?)
}

fn f64s(df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    Ok(df
        .column(name)?
        .f64()?
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}

fn u64s(df: &DataFrame, name: &str) -> Result<Vec<u64>> {
    df.column(name)?
        .u64()?
        .iter()
        .map(|v| v.ok_or_else(|| anyhow!("column {name} has a null")))
        .collect()
}

fn u32s(df: &DataFrame, name: &str) -> Result<Vec<u32>> {
    df.column(name)?
        .u32()?
        .iter()
        .map(|v| v.ok_or_else(|| anyhow!("column {name} has a null")))
        .collect()
}

fn bools(df: &DataFrame, name: &str) -> Result<Vec<bool>> {
    df.column(name)?
        .bool()?
        .iter()
        .map(|v| v.ok_or_else(|| anyhow!("column {name} has a null")))
        .collect()
}

/// Reads one Parquet file written by the sink: its frame and the run meta it carries.
fn read_run_file(path: &Path) -> Result<(RunMeta, DataFrame)> {
    let (meta, reader) = read_run_meta(path)?;
    let df = reader
        .finish()
        .map_err(anyhow::Error::from)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok((meta, df))
}

/// The run meta of one stored run (its query file's metadata only, not its rows).
pub fn load_meta(dir: &Path, run_id: &str) -> Result<RunMeta> {
    read_run_meta(&ParquetTraceSink::new(dir).queries_path(run_id)).map(|(m, _)| m)
}

/// Opens a Parquet file written by the sink and reads the run meta in its metadata.
fn read_run_meta(path: &Path) -> Result<(RunMeta, ParquetReader<File>)> {
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = ParquetReader::new(f);
    let md = reader
        .get_metadata()
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?
        .clone();
    let json = md
        .key_value_metadata
        .as_ref()
        .and_then(|kv| kv.iter().find(|k| k.key == META_KEY))
        .and_then(|k| k.value.clone())
        .ok_or_else(|| {
            anyhow!(
                "{}: no {META_KEY} metadata (not written by weaknas-results)",
                path.display()
            )
        })?;
    let meta: RunMeta = serde_json::from_str(&json)
        .with_context(|| format!("{}: corrupt {META_KEY} metadata", path.display()))?;
    Ok((meta, reader))
}

fn read_queries(path: &Path) -> Result<(RunMeta, Vec<QueryRow>)> {
    let (meta, df) = read_run_file(path)?;
    let ctx = || format!("{}: bad query table", path.display());
    let qi = u64s(&df, "query_index").with_context(ctx)?;
    let it = u32s(&df, "iteration").with_context(ctx)?;
    let cell = u32s(&df, "cell").with_context(ctx)?;
    let sv = f64s(&df, "search_value").with_context(ctx)?;
    let sm = f64s(&df, "search_mean").with_context(ctx)?;
    let rv = f64s(&df, "report_value").with_context(ctx)?;
    let ch = bools(&df, "charged").with_context(ctx)?;
    let w = f64s(&df, "wall_s").with_context(ctx)?;
    let rows = (0..df.height())
        .map(|i| QueryRow {
            query_index: qi[i] as usize,
            iteration: it[i],
            cell: cell[i],
            search_value: sv[i],
            search_mean: sm[i],
            report_value: rv[i],
            charged: ch[i],
            wall_s: w[i],
        })
        .collect();
    Ok((meta, rows))
}

fn read_iterations(path: &Path) -> Result<(RunMeta, Vec<IterationRow>)> {
    let (meta, df) = read_run_file(path)?;
    let ctx = || format!("{}: bad iteration table", path.display());
    let it = u32s(&df, "iteration").with_context(ctx)?;
    let nq = u64s(&df, "num_queried").with_context(ctx)?;
    let k50 = f64s(&df, "kendall_top50").with_context(ctx)?;
    let k100 = f64s(&df, "kendall_top100").with_context(ctx)?;
    let kall = f64s(&df, "kendall_all").with_context(ctx)?;
    let h50 = f64s(&df, "hit_rate_top50").with_context(ctx)?;
    let h100 = f64s(&df, "hit_rate_top100").with_context(ctx)?;
    let rank = u32s(&df, "top1_true_rank").with_context(ctx)?;
    let peek = f64s(&df, "paper_best_peek").with_context(ctx)?;
    // Written since the per-q strong-predictor protocol; NaN in older files.
    let optional = |name: &str| -> Result<Vec<f64>> {
        if df.get_column_names().iter().any(|c| c.as_str() == name) {
            f64s(&df, name)
        } else {
            Ok(vec![f64::NAN; df.height()])
        }
    };
    let t1s = optional("top1_search").with_context(ctx)?;
    let t1r = optional("top1_report").with_context(ctx)?;
    let rows = (0..df.height())
        .map(|i| IterationRow {
            iteration: it[i],
            num_queried: nq[i] as usize,
            kendall_top50: k50[i],
            kendall_top100: k100[i],
            kendall_all: kall[i],
            hit_rate_top50: h50[i],
            hit_rate_top100: h100[i],
            top1_true_rank: rank[i],
            paper_best_peek: peek[i],
            top1_search: t1s[i],
            top1_report: t1r[i],
        })
        .collect();
    Ok((meta, rows))
}

fn read_rankings(path: &Path) -> Result<(RunMeta, Vec<RankedCell>)> {
    let (meta, df) = read_run_file(path)?;
    let ctx = || format!("{}: bad rankings table", path.display());
    let it = u32s(&df, "iteration").with_context(ctx)?;
    let pr = u32s(&df, "predicted_rank").with_context(ctx)?;
    let cell = u32s(&df, "cell").with_context(ctx)?;
    let p = f64s(&df, "predicted").with_context(ctx)?;
    let t = f64s(&df, "truth").with_context(ctx)?;
    let rows = (0..df.height())
        .map(|i| RankedCell {
            iteration: it[i],
            predicted_rank: pr[i],
            cell: cell[i],
            predicted: p[i],
            truth: t[i],
        })
        .collect();
    Ok((meta, rows))
}

/// Ids of the complete runs of `dir` stored in the legacy layout, sorted.
pub fn legacy_runs(dir: &Path) -> Result<Vec<String>> {
    ids_in(&runs_dir(dir), QUERIES_SUFFIX)
}

/// File stems in `d` ending with `suffix` (temporary files of atomic writes skipped).
fn ids_in(d: &Path, suffix: &str) -> Result<Vec<String>> {
    if !d.is_dir() {
        return Ok(Vec::new());
    }
    let mut ids = Vec::new();
    for e in std::fs::read_dir(d).with_context(|| format!("listing {}", d.display()))? {
        let name = e?.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue; // temporary files of atomic writes
        }
        if let Some(id) = name.strip_suffix(suffix) {
            ids.push(id.to_string());
        }
    }
    ids.sort();
    Ok(ids)
}

/// Ids of the complete runs in `dir` (those with a query file, in either layout), sorted.
pub fn list_runs(dir: &Path) -> Result<Vec<String>> {
    let mut ids = ids_in(&runs_dir(dir).join("queries"), ".parquet")?;
    ids.extend(legacy_runs(dir)?);
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Whether two run metas are the same (NaN fields, e.g. the unknown optimum of an
/// open-domain run, compare equal to NaN).
fn same_meta(a: &RunMeta, b: &RunMeta) -> bool {
    serde_json::to_string(a).ok() == serde_json::to_string(b).ok()
}

/// Reads one stored run.
pub fn load_trace(dir: &Path, run_id: &str) -> Result<RunTrace> {
    let sink = ParquetTraceSink::new(dir);
    let qp = sink.queries_path(run_id);
    let ip = sink.iterations_path(run_id);
    let (meta, queries) = read_queries(&qp)?;
    if !ip.is_file() {
        bail!(
            "{}: run {run_id} has queries but no iteration file {}",
            dir.display(),
            ip.display()
        );
    }
    let (imeta, iterations) = read_iterations(&ip)?;
    if !same_meta(&imeta, &meta) || meta.run_id != run_id {
        bail!(
            "{}: run {run_id}: query and iteration files disagree on the run meta",
            dir.display()
        );
    }
    // Runs stored before rankings were recorded have no rankings file.
    let rp = sink.rankings_path(run_id);
    let rankings = if rp.is_file() {
        let (rmeta, rows) = read_rankings(&rp)?;
        if !same_meta(&rmeta, &meta) {
            bail!(
                "{}: run {run_id}: query and rankings files disagree on the run meta",
                dir.display()
            );
        }
        rows
    } else {
        Vec::new()
    };
    Ok(RunTrace {
        meta,
        queries,
        iterations,
        rankings,
    })
}

/// Reads every complete run in `dir`, sorted by run id. Errors name the bad file.
pub fn load_traces(dir: &Path) -> Result<Vec<RunTrace>> {
    list_runs(dir)?
        .iter()
        .map(|id| load_trace(dir, id))
        .collect()
}

fn scan(dir: &Path, kind: &str) -> Result<LazyFrame> {
    let ids = list_runs(dir)?;
    if ids.is_empty() {
        bail!(
            "{}: no stored runs (queries/*.parquet or *{QUERIES_SUFFIX})",
            runs_dir(dir).display()
        );
    }
    let sink = ParquetTraceSink::new(dir);
    let scans = ids
        .iter()
        .map(|id| {
            let p = sink.located(kind, id);
            let s = p
                .to_str()
                .ok_or_else(|| anyhow!("{}: path is not UTF-8", p.display()))?;
            let args = ScanArgsParquet {
                glob: false,
                ..Default::default()
            };
            Ok(LazyFrame::scan_parquet(PlRefPath::new(s), args)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(concat(scans, UnionArgs::default())?)
}

/// A lazy scan of the queries of every complete run in `dir` (one row per query, meta
/// columns repeated on every row).
pub fn scan_queries(dir: &Path) -> Result<LazyFrame> {
    scan(dir, "queries")
}

/// A lazy scan of the per-iteration diagnostics of every complete run in `dir` (iteration
/// files of runs killed before their query file was written are left out).
pub fn scan_iterations(dir: &Path) -> Result<LazyFrame> {
    scan(dir, "iterations")
}

/// A lazy scan of the recorded rankings of every complete run in `dir` (all runs must have
/// a rankings file, i.e. be written by this version of the sink).
pub fn scan_rankings(dir: &Path) -> Result<LazyFrame> {
    scan(dir, "rankings")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::synthetic::{trace, values};

    fn sample() -> Vec<RunTrace> {
        let mut a = trace("a", "d1", 1, &values(1, 25, 80.0, 95.0));
        a.queries[3].charged = false; // a repeat
        a.iterations[1].kendall_all = f64::NAN; // a diagnostic that does not apply
        let mut b = trace("b", "d2", 2, &values(2, 12, 80.0, 95.0));
        b.iterations.clear(); // a method without predictor
        b.meta.method_params = r#"{"population": 10}"#.into();
        a.rankings = (1..=3)
            .map(|r| RankedCell {
                iteration: 1,
                predicted_rank: r,
                cell: 10 + r,
                predicted: 0.5 / r as f64,
                truth: 90.0 - r as f64,
            })
            .collect();
        vec![a, b]
    }

    fn same(a: &RunTrace, b: &RunTrace) -> bool {
        // NaN != NaN: compare through JSON-compatible bit patterns.
        let bits = |t: &RunTrace| {
            t.iterations
                .iter()
                .map(|r| (r.kendall_all.to_bits(), r.paper_best_peek.to_bits()))
                .collect::<Vec<_>>()
        };
        a.meta == b.meta
            && a.queries == b.queries
            && a.rankings == b.rankings
            && bits(a) == bits(b)
            && a.iterations.len() == b.iterations.len()
    }

    #[test]
    fn round_trip_and_done_marker() {
        let d = tempfile::tempdir().unwrap();
        let sink = ParquetTraceSink::new(d.path());
        let runs = sample();
        assert!(!sink.is_done(&runs[0].meta.run_id).unwrap());
        for t in &runs {
            sink.write(t).unwrap();
        }
        assert!(sink.is_done(&runs[0].meta.run_id).unwrap());
        let back = load_traces(d.path()).unwrap();
        assert_eq!(back.len(), 2);
        for (x, y) in runs.iter().zip(&back) {
            assert!(same(x, y), "{x:?}\n{y:?}");
        }
        assert!(back[0].iterations[1].kendall_all.is_nan());
        // rewriting the same run is idempotent
        sink.write(&runs[0]).unwrap();
        assert_eq!(list_runs(d.path()).unwrap().len(), 2);
        // one directory per kind, one file per run, no temporary files left behind
        for kind in KINDS {
            let names: Vec<String> = std::fs::read_dir(d.path().join("runs").join(kind))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert_eq!(names.len(), 2, "{kind}: {names:?}");
            assert!(names
                .iter()
                .all(|n| !n.starts_with('.') && n.ends_with(".parquet")));
        }
    }

    /// Moves a run written by the sink to the legacy layout (as the old binary wrote it).
    fn to_legacy(sink: &ParquetTraceSink, id: &str) {
        for kind in KINDS {
            std::fs::rename(sink.path(kind, id), sink.legacy_path(kind, id)).unwrap();
        }
    }

    #[test]
    fn legacy_layout_is_read_resumed_merged_and_migrated() {
        let d = tempfile::tempdir().unwrap();
        let sink = ParquetTraceSink::new(d.path());
        let runs = sample();
        for t in &runs {
            sink.write(t).unwrap();
        }
        let (a, b) = (&runs[0].meta.run_id, &runs[1].meta.run_id);
        to_legacy(&sink, a);
        to_legacy(&sink, b);
        assert!(!d
            .path()
            .join("runs/queries")
            .join(format!("{a}.parquet"))
            .exists());
        // Read and resumed where it is.
        assert!(sink.is_done(a).unwrap() && sink.is_done(b).unwrap());
        let back = load_traces(d.path()).unwrap();
        assert!(runs.iter().zip(&back).all(|(x, y)| same(x, y)));
        assert_eq!(
            scan_queries(d.path()).unwrap().collect().unwrap().height(),
            37
        );
        // A mixed directory: one run rewritten (as --force does) lands in the split layout
        // and its legacy copy goes.
        sink.write(&runs[1]).unwrap();
        assert!(!sink.legacy_path("queries", b).exists());
        assert_eq!(list_runs(d.path()).unwrap().len(), 2);
        assert_eq!(
            scan_rankings(d.path()).unwrap().collect().unwrap().height(),
            3
        );
        // Merged into a new directory: split layout there, the source untouched.
        let m = tempfile::tempdir().unwrap();
        let s = crate::merge::merge_results(m.path(), d.path()).unwrap();
        assert_eq!(s.added, 2);
        let msink = ParquetTraceSink::new(m.path());
        assert!(legacy_runs(m.path()).unwrap().is_empty());
        assert!(msink.path("queries", a).is_file() && sink.legacy_path("queries", a).is_file());
        assert!(load_traces(m.path())
            .unwrap()
            .iter()
            .zip(&runs)
            .all(|(x, y)| same(x, y)));
        // Merging a legacy run into a directory that has it in the split layout: a duplicate.
        assert_eq!(
            crate::merge::merge_results(m.path(), d.path())
                .unwrap()
                .duplicates,
            2
        );
        // Migrated in place: nothing lost, nothing legacy left, same traces.
        assert_eq!(migrate_layout(d.path()).unwrap(), 1);
        assert!(legacy_runs(d.path()).unwrap().is_empty());
        assert!(load_traces(d.path())
            .unwrap()
            .iter()
            .zip(&runs)
            .all(|(x, y)| same(x, y)));
        // An interrupted migration (split copy written, legacy copy still there) finishes.
        sink.write(&runs[0]).unwrap();
        for kind in KINDS {
            std::fs::copy(sink.path(kind, a), sink.legacy_path(kind, a)).unwrap();
        }
        assert_eq!(list_runs(d.path()).unwrap().len(), 2);
        assert_eq!(migrate_layout(d.path()).unwrap(), 1);
        assert_eq!(load_traces(d.path()).unwrap().len(), 2);
    }

    #[test]
    fn killed_run_is_not_done() {
        let d = tempfile::tempdir().unwrap();
        let sink = ParquetTraceSink::new(d.path());
        let t = &sample()[0];
        sink.write(t).unwrap();
        // Simulate a run killed after its iteration file: remove the query file.
        std::fs::remove_file(sink.queries_path(&t.meta.run_id)).unwrap();
        assert!(!sink.is_done(&t.meta.run_id).unwrap());
        assert!(load_traces(d.path()).unwrap().is_empty());
        assert!(scan_iterations(d.path()).is_err());
        // A query file without its iteration file is reported, naming the run.
        sink.write(t).unwrap();
        std::fs::remove_file(sink.iterations_path(&t.meta.run_id)).unwrap();
        let e = format!("{:#}", load_traces(d.path()).unwrap_err());
        assert!(e.contains(&t.meta.run_id), "{e}");
    }

    #[test]
    fn corrupt_file_error_names_it() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("runs").join(format!("bad{QUERIES_SUFFIX}"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"not parquet").unwrap();
        let e = format!("{:#}", load_traces(d.path()).unwrap_err());
        assert!(e.contains("bad.queries.parquet"), "{e}");
        let e = format!("{:#}", migrate_layout(d.path()).unwrap_err());
        assert!(e.contains("bad.queries.parquet"), "{e}");
        assert!(p.is_file(), "a corrupt legacy run is left where it is");
        assert!(ParquetTraceSink::new(d.path())
            .write(&{
                let mut t = sample().remove(0);
                t.meta.run_id = "../x".into();
                t
            })
            .is_err());
    }

    #[test]
    fn lazy_scans_have_the_documented_schema() {
        let d = tempfile::tempdir().unwrap();
        assert!(scan_queries(d.path()).is_err());
        let sink = ParquetTraceSink::new(d.path());
        let runs = sample();
        for t in &runs {
            sink.write(t).unwrap();
        }
        let q = scan_queries(d.path()).unwrap().collect().unwrap();
        assert_eq!(q.height(), 25 + 12);
        let names: Vec<String> = q.get_column_names().iter().map(|s| s.to_string()).collect();
        let want = [
            "run_id",
            "spec",
            "method",
            "method_kind",
            "method_params",
            "benchmark",
            "dataset",
            "search_metric",
            "report_metric",
            "noise",
            "seed",
            "budget",
            "data_sha256",
            "harness_version",
            "search_optimum",
            "report_optimum",
            "run_wall_s",
            "repeats",
            "query_index",
            "iteration",
            "cell",
            "search_value",
            "search_mean",
            "report_value",
            "charged",
            "wall_s",
        ];
        assert_eq!(names, want);
        // A lazy query: charged queries per method.
        let per = scan_queries(d.path())
            .unwrap()
            .filter(col("charged"))
            .group_by([col("method")])
            .agg([col("cell").count().alias("n")])
            .sort(["method"], Default::default())
            .collect()
            .unwrap();
        let n: Vec<u32> = per
            .column("n")
            .unwrap()
            .u32()
            .unwrap()
            .iter()
            .map(|v| v.unwrap())
            .collect();
        assert_eq!(n, vec![24, 12]);
        let rk = scan_rankings(d.path()).unwrap().collect().unwrap();
        assert_eq!(rk.height(), 3);
        let it = scan_iterations(d.path()).unwrap().collect().unwrap();
        assert_eq!(it.height(), 2);
        let names: Vec<String> = it
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            &names[18..],
            [
                "iteration",
                "num_queried",
                "kendall_top50",
                "kendall_top100",
                "kendall_all",
                "hit_rate_top50",
                "hit_rate_top100",
                "top1_true_rank",
                "paper_best_peek",
                "top1_search",
                "top1_report"
            ]
        );
    }
}
