//! Import of the official NAS-Bench-101 files (`nasbench_only108.tfrecord`,
//! `nasbench_full.tfrecord`) into a [`BenchmarkStore`].
//!
//! The file is streamed record by record (never held in memory): TFRecord framing with both
//! CRCs checked, a JSON payload `[module_hash, epochs, raw_adjacency, raw_operations,
//! raw_metrics]`, `raw_metrics` = base64 of a `ModelMetrics` protobuf. Every record's graph
//! is pruned and hashed and must reproduce its `module_hash`; the cell must be in the space.
//!
//! Store (`benchmark = "nb101"`, 423,624 cells = [`Nb101Space`] ids; accuracies in percent,
//! fraction x 100, as for NB201), per epoch budget `e` present in the file:
//! `cifar10/x-valid@e`, `cifar10/ori-test@e`, `cifar10/train@e` (percent),
//! `cifar10/train_time_s@e` (seconds), each with 3 trials = the 3 repeats in file order, and
//! `cifar10/params` (1 trial). Values come from the final evaluation (`evaluation_data[2]`).
//!
//! Errors name the file, the record (0-based) and its byte offset. A duplicate is a 4th
//! record of the same (cell, epochs). Unless [`ImportOptions::allow_partial`], every cell must
//! have all 3 repeats at every epoch budget present. Nothing is written by the import itself;
//! [`import_and_save`] writes the store only after a complete, successful import.
//!
//! A file written by the synthetic-data tool (every final `checkpoint_path` starts with
//! [`super::synthetic::SYNTHETIC_MARKER`]) imports as `nb101-synthetic`, never as `nb101`.

use super::hash::parse_hash;
use super::metrics::{FinalResult, ModelMetrics};
use super::spec::ModelSpec;
use super::synthetic::SYNTHETIC_MARKER;
use super::tfrecord::TfRecordReader;
use super::{
    key_test, key_train, key_train_time, key_valid, Nb101Space, EPOCH_BUDGETS, KEY_PARAMS, REPEATS,
};
use crate::space::SearchSpace;
use crate::store::{BenchmarkStore, Column, Manifest, SourceFile};
use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// Importer name recorded in [`SourceFile::importer`].
pub const IMPORTER: &str = "nb101-tfrecord";

/// Progress callback: (bytes read, total bytes).
pub type ProgressFn = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Options of the import.
#[derive(Clone, Default)]
pub struct ImportOptions {
    /// Accept a file that does not cover every cell with 3 repeats (cells stay NaN). For
    /// tests and subsets; the official files are complete.
    pub allow_partial: bool,
    /// Called about every 64 MiB and at the end with (bytes read, file size).
    pub progress: Option<ProgressFn>,
    /// Hash every record's graph with md5 even when it is bit-identical to the space's
    /// representative of the record's hash (by default that graph's hash, computed when the
    /// space was enumerated, is reused: same function, same input).
    pub recompute_all_hashes: bool,
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("allow_partial", &self.allow_partial)
            .field("progress", &self.progress.is_some())
            .field("recompute_all_hashes", &self.recompute_all_hashes)
            .finish()
    }
}

/// What the import saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportStats {
    /// Records read.
    pub records: u64,
    /// Distinct cells seen.
    pub cells: usize,
    /// Epoch budgets present, ascending.
    pub epochs: Vec<u32>,
    /// Cells whose adjacency/ops in the file differ from the space's representative (same
    /// hash, isomorphic graph, another vertex order): the encodings use the space's.
    pub representative_mismatches: usize,
    /// Cells whose parameter count differs between records (the first is kept).
    pub params_mismatches: usize,
    /// Whether the file is synthetic (written by the project's synthetic-data tool).
    pub synthetic: bool,
}

#[derive(Deserialize)]
struct RecordJson<'a>(
    #[serde(borrow)] Cow<'a, str>,
    u32,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
);

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.hasher.update(&buf[..k]);
        Ok(k)
    }
}

/// Per epoch budget: 4 columns of `cells x 3` values and the repeat count per cell.
struct EpochCols {
    valid: Vec<f64>,
    test: Vec<f64>,
    train: Vec<f64>,
    time: Vec<f64>,
    count: Vec<u8>,
}

impl EpochCols {
    fn new(n: usize) -> Self {
        let v = || vec![f64::NAN; n * REPEATS];
        Self {
            valid: v(),
            test: v(),
            train: v(),
            time: v(),
            count: vec![0; n],
        }
    }
}

/// Records parsed in parallel per batch; applied to the columns in file order.
const BATCH_RECORDS: usize = 16_384;
/// Records per parallel task (repeats are consecutive, so one graph hash per cell per task).
const TASK_RECORDS: usize = 512;

/// One record, parsed and checked (everything that does not depend on other records).
struct Parsed {
    index: u64,
    offset: u64,
    slot: usize,
    cell: usize,
    packed: (u32, u8),
    result: FinalResult,
    synthetic: bool,
}

/// The last graph seen in a task (repeats are consecutive: hash once per cell).
struct LastGraph {
    adjacency: String,
    operations: String,
    spec: ModelSpec,
    hash: [u8; 16],
}

fn parse_record(
    payload: &[u8],
    index: u64,
    offset: u64,
    name: &str,
    space: &Nb101Space,
    recompute: bool,
    last: &mut Option<LastGraph>,
) -> Result<Parsed> {
    let at = || format!("{name}: record {index} at byte offset {offset}");
    let json: RecordJson = serde_json::from_slice(payload).map_err(|e| {
        anyhow!(
            "{}: payload is not the JSON list [module_hash, epochs, raw_adjacency, raw_operations, raw_metrics]: {e}",
            at()
        )
    })?;
    let RecordJson(hash_str, ep, adjacency, operations, raw_metrics) = json;
    let Some(slot) = EPOCH_BUDGETS.iter().position(|&e| e == ep) else {
        bail!("{}: epochs {ep} is not one of {:?}", at(), EPOCH_BUDGETS);
    };
    let Some(file_hash) = parse_hash(&hash_str) else {
        bail!("{}: module hash {hash_str:?} is not 32 hex digits", at());
    };
    let reuse = matches!(last, Some(l) if l.adjacency == adjacency && l.operations == operations);
    if !reuse {
        let raw =
            ModelSpec::from_raw(&adjacency, &operations).map_err(|e| anyhow!("{}: {e}", at()))?;
        let spec = raw
            .canonical()
            .map_err(|e| anyhow!("{}: graph is not an NB101 cell: {e}", at()))?;
        // hash(graph) is a pure function: if the graph is the space's representative of the
        // claimed hash, its hash was computed from this very graph at enumeration.
        let known = space
            .id_of_hash_bytes(&file_hash)
            .filter(|&id| !recompute && space.spec(id) == spec)
            .map(|_| file_hash);
        *last = Some(LastGraph {
            adjacency: adjacency.into_owned(),
            operations: operations.into_owned(),
            spec,
            hash: known.unwrap_or_else(|| spec.hash()),
        });
    }
    let graph = last.as_ref().expect("set above");
    if graph.hash != file_hash {
        bail!(
            "{}: module hash {hash_str} does not match its graph, which hashes to {}",
            at(),
            hex::encode(graph.hash)
        );
    }
    let Some(cell) = space.id_of_hash_bytes(&file_hash) else {
        bail!(
            "{}: module hash {hash_str} is not a cell of the NB101 space",
            at()
        );
    };
    let metrics =
        ModelMetrics::from_base64(&raw_metrics).map_err(|e| anyhow!("{}: {e:#}", at()))?;
    let result = metrics
        .final_result()
        .map_err(|e| anyhow!("{}: {e:#}", at()))?;
    let synthetic = metrics.evaluation_data[super::metrics::FINAL_EVALUATION]
        .checkpoint_path
        .as_deref()
        .is_some_and(|p| p.starts_with(SYNTHETIC_MARKER));
    Ok(Parsed {
        index,
        offset,
        slot,
        cell: cell as usize,
        packed: graph.spec.pack(),
        result,
        synthetic,
    })
}

/// A batch of raw payloads: one buffer plus (index, offset, start, end) per record.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    recs: Vec<(u64, u64, usize, usize)>,
}

impl Batch {
    fn parse(&self, name: &str, space: &Nb101Space, recompute: bool) -> Vec<Result<Parsed>> {
        self.recs
            .par_chunks(TASK_RECORDS)
            .flat_map_iter(|chunk| {
                let mut last = None;
                chunk
                    .iter()
                    .map(|&(index, offset, a, b)| {
                        parse_record(
                            &self.data[a..b],
                            index,
                            offset,
                            name,
                            space,
                            recompute,
                            &mut last,
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// Imports `path` with the cached space ([`Nb101Space::load_or_build`]).
pub fn import_tfrecord(
    path: &Path,
    opts: &ImportOptions,
) -> Result<(BenchmarkStore, Vec<SourceFile>)> {
    let space = Nb101Space::load_or_build()?;
    let (store, sources, _) = import_tfrecord_with(path, opts, &space)?;
    Ok((store, sources))
}

/// Imports `path` against `space`, returning the store, the source file (sha256 computed
/// while streaming) and statistics.
pub fn import_tfrecord_with(
    path: &Path,
    opts: &ImportOptions,
    space: &Nb101Space,
) -> Result<(BenchmarkStore, Vec<SourceFile>, ImportStats)> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("opening {name}"))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let hashing = HashingReader {
        inner: file,
        hasher: Sha256::new(),
    };
    let mut reader = TfRecordReader::new(BufReader::with_capacity(1 << 20, hashing));
    let n = space.num_cells();
    let mut epochs: [Option<EpochCols>; 4] = [None, None, None, None];
    let mut params = vec![f64::NAN; n];
    let mut stats = ImportStats::default();
    let mut seen = vec![false; n];
    let mut synthetic_records = 0u64;
    let mut next_progress = 64u64 << 20;
    let mut batch = Batch::default();
    loop {
        batch.data.clear();
        batch.recs.clear();
        // Read a batch; a framing error is reported after the records before it.
        let mut framing_error = None;
        while batch.recs.len() < BATCH_RECORDS {
            match reader.next_record() {
                Ok(Some(rec)) => {
                    let a = batch.data.len();
                    batch.data.extend_from_slice(rec.payload);
                    batch
                        .recs
                        .push((rec.index, rec.offset, a, batch.data.len()));
                }
                Ok(None) => break,
                Err(e) => {
                    framing_error = Some(e);
                    break;
                }
            }
        }
        let done = batch.recs.len() < BATCH_RECORDS;
        for parsed in batch.parse(&name, space, opts.recompute_all_hashes) {
            let p = parsed?;
            let at = || format!("{name}: record {} at byte offset {}", p.index, p.offset);
            let cell = p.cell;
            let cols = epochs[p.slot].get_or_insert_with(|| EpochCols::new(n));
            let r = cols.count[cell] as usize;
            if r >= REPEATS {
                bail!(
                    "{}: duplicate record: a {}th record of cell {} at {} epochs (the file has {REPEATS} repeats per cell)",
                    at(),
                    r + 1,
                    space.hash(cell as u32),
                    EPOCH_BUDGETS[p.slot]
                );
            }
            cols.count[cell] += 1;
            let i = cell * REPEATS + r;
            cols.valid[i] = p.result.validation_accuracy * 100.0;
            cols.test[i] = p.result.test_accuracy * 100.0;
            cols.train[i] = p.result.train_accuracy * 100.0;
            cols.time[i] = p.result.training_time;
            let params_now = p.result.trainable_parameters as f64;
            if params[cell].is_nan() {
                params[cell] = params_now;
            } else if params[cell] != params_now {
                stats.params_mismatches += 1;
            }
            if !seen[cell] {
                seen[cell] = true;
                stats.cells += 1;
                if space.spec(cell as u32).pack() != p.packed {
                    stats.representative_mismatches += 1;
                }
            }
            synthetic_records += p.synthetic as u64;
            stats.records += 1;
        }
        if let Some(e) = framing_error {
            return Err(anyhow::Error::new(e).context(format!("{name}: bad TFRecord framing")));
        }
        if let Some(cb) = &opts.progress {
            if reader.offset() >= next_progress {
                cb(reader.offset(), total);
                next_progress = reader.offset() + (64 << 20);
            }
        }
        if done {
            break;
        }
    }
    let bytes = reader.offset();
    let hashing = reader.into_inner().into_inner();
    let sha256 = hex::encode(hashing.hasher.finalize());
    if let Some(cb) = &opts.progress {
        cb(bytes, total);
    }
    if stats.records == 0 {
        bail!("{name}: no records (empty file?)");
    }
    stats.synthetic = synthetic_records > 0;
    if stats.synthetic && synthetic_records != stats.records {
        bail!(
            "{name}: {synthetic_records} of {} records are marked synthetic: a mix of synthetic and real records",
            stats.records
        );
    }
    for (slot, cols) in epochs.iter().enumerate() {
        let Some(cols) = cols else { continue };
        stats.epochs.push(EPOCH_BUDGETS[slot]);
        if opts.allow_partial {
            continue;
        }
        let complete = cols
            .count
            .iter()
            .filter(|&&c| c as usize == REPEATS)
            .count();
        if complete != n {
            let first = cols
                .count
                .iter()
                .position(|&c| (c as usize) < REPEATS)
                .expect("some cell incomplete");
            bail!(
                "{name}: incomplete file: {complete} of {n} cells have all {REPEATS} repeats at {} epochs (first missing: cell {} with hash {}, {} repeats); the file is truncated or a subset (use the partial option to import it anyway)",
                EPOCH_BUDGETS[slot],
                first,
                space.hash(first as u32),
                cols.count[first]
            );
        }
    }
    if stats.representative_mismatches > 0 {
        tracing::warn!(
            "{name}: {} cells are stored with another (isomorphic) vertex order than the space's representative; encodings use the space's",
            stats.representative_mismatches
        );
    }
    let benchmark = if stats.synthetic {
        super::synthetic::SYNTHETIC_BENCHMARK
    } else {
        "nb101"
    };
    let mut store = BenchmarkStore::new(benchmark, n);
    for (slot, cols) in epochs.into_iter().enumerate() {
        let Some(cols) = cols else { continue };
        let e = EPOCH_BUDGETS[slot];
        for (key, values) in [
            (key_valid(e), cols.valid),
            (key_test(e), cols.test),
            (key_train(e), cols.train),
            (key_train_time(e), cols.time),
        ] {
            store.add_column(Column {
                key,
                trials: REPEATS,
                values,
            })?;
        }
    }
    store.add_column(Column {
        key: KEY_PARAMS.to_string(),
        trials: 1,
        values: params,
    })?;
    let source = SourceFile {
        path: name,
        sha256,
        bytes,
        importer: IMPORTER.to_string(),
    };
    Ok((store, vec![source], stats))
}

/// Imports `path` and, only if the whole import succeeds, saves the store into `dir`
/// (atomically, manifest last). On error nothing in `dir` is created or changed.
pub fn import_and_save(
    path: &Path,
    opts: &ImportOptions,
    space: &Nb101Space,
    dir: &Path,
) -> Result<(Manifest, ImportStats)> {
    let (store, sources, stats) = import_tfrecord_with(path, opts, space)?;
    let manifest = crate::store::save_store(&store, dir, sources)?;
    Ok((manifest, stats))
}
