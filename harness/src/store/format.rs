//! Reading and writing `store.bin` (see the module docs of [`crate::store`]).

use super::{BenchmarkStore, Column};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read as _;
use std::path::Path;

/// First 8 bytes of every store file.
pub const MAGIC: &[u8; 8] = b"WNSTORE1";

/// JSON header of a store file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoreHeader {
    /// Benchmark name.
    pub benchmark: String,
    /// Number of cells.
    pub num_cells: usize,
    /// Columns (key and trials), in file order.
    pub columns: Vec<Column>,
    /// Whether the official index block follows the columns.
    pub has_official_index: bool,
}

/// Serialises a store to bytes.
pub fn to_bytes(store: &BenchmarkStore) -> Vec<u8> {
    let header = StoreHeader {
        benchmark: store.benchmark.clone(),
        num_cells: store.num_cells,
        columns: store
            .columns
            .clone()
            .into_iter()
            .map(|c| Column {
                values: Vec::new(),
                ..c
            })
            .collect(),
        has_official_index: store.official_index.is_some(),
    };
    let json = serde_json::to_vec(&header).expect("header serialises");
    let mut out = Vec::with_capacity(
        64 + json.len()
            + store
                .columns
                .iter()
                .map(|c| c.values.len() * 8)
                .sum::<usize>(),
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    while out.len() % 8 != 0 {
        out.push(0);
    }
    for c in &store.columns {
        for v in &c.values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    if let Some(idx) = &store.official_index {
        for v in idx {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Parses a store from bytes; `name` (the file) is used in error messages.
#[cfg(test)]
pub fn from_bytes(bytes: &[u8], name: &str) -> Result<BenchmarkStore> {
    from_reader(std::io::Cursor::new(bytes), bytes.len() as u64, name).map(|(s, _)| s)
}

/// Checksums of a store file's content, computed while it is read: the sha256 of the whole
/// file (the manifest's `store_sha256`) and a CRC-32C of each part (to name what differs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentDigest {
    /// sha256 of every byte of the file, hex.
    pub sha256: String,
    /// CRC-32C of each part: `header`, `column <key>`, `official index`, in file order.
    pub parts: Vec<(String, u32)>,
}

/// CRC-32C of each part of a serialised store (see [`ContentDigest::parts`]).
pub fn part_checksums(bytes: &[u8]) -> Vec<(String, u32)> {
    from_reader(std::io::Cursor::new(bytes), bytes.len() as u64, "store")
        .map(|(_, d)| d.parts)
        .unwrap_or_default()
}

/// A reader that feeds every byte it reads to a sha256.
struct Hashing<R> {
    inner: R,
    sha: Sha256,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

/// Parses a store of `len` bytes from a reader, streaming each column straight into its
/// values (peak memory: the columns plus a 1 MiB buffer, never a second copy of the file),
/// and checksums its content on the way ([`ContentDigest`]).
pub fn from_reader<R: std::io::Read>(
    r: R,
    len: u64,
    name: &str,
) -> Result<(BenchmarkStore, ContentDigest)> {
    let mut r = Hashing {
        inner: r,
        sha: Sha256::new(),
    };
    let mut parts = Vec::new();
    let truncated = |what: &str| format!("{name}: truncated store file (reading {what})");
    let mut head = [0u8; 16];
    if len < 16 {
        bail!("{name}: not a weaknas store file (bad magic or shorter than 16 bytes)");
    }
    r.read_exact(&mut head)
        .with_context(|| truncated("the magic"))?;
    if &head[..8] != MAGIC {
        bail!("{name}: not a weaknas store file (bad magic or shorter than 16 bytes)");
    }
    let hlen = u64::from_le_bytes(head[8..16].try_into().unwrap());
    if hlen > len - 16 {
        bail!("{name}: truncated store file (header of {hlen} bytes, file of {len} bytes)");
    }
    let padded = (16 + hlen).div_ceil(8) * 8 - 16;
    let mut hbytes = vec![0u8; padded as usize];
    r.read_exact(&mut hbytes)
        .with_context(|| truncated("the header"))?;
    parts.push((
        "header".to_string(),
        crc32c::crc32c_append(crc32c::crc32c(&head), &hbytes),
    ));
    let header: StoreHeader = serde_json::from_slice(&hbytes[..hlen as usize])
        .with_context(|| format!("{name}: corrupt store header"))?;
    let n = header.num_cells;
    let expected = 16
        + padded as usize
        + header
            .columns
            .iter()
            .map(|c| n * c.trials * 8)
            .sum::<usize>()
        + if header.has_official_index { n * 4 } else { 0 };
    if len != expected as u64 {
        bail!(
            "{name}: store file is {len} bytes but its header describes {expected} bytes ({})",
            if len < expected as u64 {
                "truncated"
            } else {
                "trailing data"
            }
        );
    }
    let mut store = BenchmarkStore::new(&header.benchmark, n);
    let mut buf = vec![0u8; 1 << 20];
    for c in header.columns {
        let count = n * c.trials;
        let mut values = Vec::with_capacity(count);
        let mut crc = 0;
        while values.len() < count {
            let take = ((count - values.len()) * 8).min(buf.len());
            r.read_exact(&mut buf[..take])
                .with_context(|| truncated(&format!("column {}", c.key)))?;
            crc = crc32c::crc32c_append(crc, &buf[..take]);
            values.extend(
                buf[..take]
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap())),
            );
        }
        parts.push((format!("column {}", c.key), crc));
        store.columns.push(Column { values, ..c });
    }
    if header.has_official_index {
        let mut b = vec![0u8; n * 4];
        r.read_exact(&mut b)
            .with_context(|| truncated("the official index"))?;
        parts.push(("official index".to_string(), crc32c::crc32c(&b)));
        store.official_index = Some(
            b.chunks_exact(4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
        );
    }
    let digest = ContentDigest {
        sha256: hex::encode(r.sha.finalize()),
        parts,
    };
    Ok((store, digest))
}

/// Writes `store.bin` and `manifest.json` into `dir` atomically (the manifest last, so a
/// store without a matching manifest is never taken as complete).
pub fn save_store(
    store: &BenchmarkStore,
    dir: &Path,
    sources: Vec<super::SourceFile>,
) -> Result<super::Manifest> {
    let bytes = to_bytes(store);
    let path = dir.join("store.bin");
    crate::fsutil::atomic_write(&path, &bytes)?;
    let manifest = super::Manifest::for_store(store, &bytes, sources);
    manifest.save(dir)?;
    Ok(manifest)
}

/// Loads `store.bin` from `dir`, checking it against its manifest: size, cell count and the
/// sha256 of the whole content, computed while reading (no second pass). A mismatch is an
/// error naming the file and, where the manifest records per-part checksums, the damaged
/// parts (header, columns, official index).
pub fn load_store(dir: &Path) -> Result<BenchmarkStore> {
    let path = dir.join("store.bin");
    let manifest = super::Manifest::load(dir)?;
    let file = std::fs::File::open(&path).with_context(|| {
        format!("reading benchmark store {} (build it with `weaknas data fetch nb201` or `weaknas data import`)", path.display())
    })?;
    let len = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len != manifest.store_bytes {
        bail!(
            "{}: {} bytes but the manifest records {} (truncated or replaced; rebuild the store)",
            path.display(),
            len,
            manifest.store_bytes
        );
    }
    let (store, digest) = from_reader(
        std::io::BufReader::with_capacity(1 << 16, file),
        len,
        &path.display().to_string(),
    )?;
    if digest.sha256 != manifest.store_sha256 {
        let damaged: Vec<&str> = digest
            .parts
            .iter()
            .filter(|(part, crc)| manifest.part_crc32c.get(part).is_some_and(|m| m != crc))
            .map(|(part, _)| part.as_str())
            .collect();
        bail!(
            "{}: content does not match {}: sha256 {}, the manifest records {}; {} (the file \
             is damaged or was replaced: rebuild the store with `weaknas data fetch` / \
             `weaknas data import`)",
            path.display(),
            dir.join("manifest.json").display(),
            digest.sha256,
            manifest.store_sha256,
            if !damaged.is_empty() {
                format!("damaged: {}", damaged.join(", "))
            } else if manifest.part_crc32c.is_empty() {
                "this manifest predates per-part checksums, so the damaged part is unknown"
                    .to_string()
            } else {
                "every part's CRC-32C matches, so the damage is in padding".to_string()
            }
        );
    }
    if store.num_cells != manifest.num_cells {
        bail!(
            "{}: {} cells but the manifest records {}",
            path.display(),
            store.num_cells,
            manifest.num_cells
        );
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BenchmarkStore {
        let mut s = BenchmarkStore::new("synthetic-test", 4);
        let mut c = Column::missing("a/x-valid@200", 4, 3);
        for (i, v) in c.values.iter_mut().enumerate() {
            if i % 5 != 0 {
                *v = i as f64 * 1.5;
            }
        }
        s.add_column(c).unwrap();
        let mut p = Column::missing("a/params_mb", 4, 1);
        p.values = vec![0.1, 0.2, 0.3, 0.4];
        s.add_column(p).unwrap();
        s.official_index = Some(vec![3, 1, 0, 2]);
        s
    }

    fn same(a: &BenchmarkStore, b: &BenchmarkStore) -> bool {
        a.benchmark == b.benchmark
            && a.official_index == b.official_index
            && a.columns.len() == b.columns.len()
            && a.columns.iter().zip(&b.columns).all(|(x, y)| {
                x.key == y.key
                    && x.trials == y.trials
                    && x.values
                        .iter()
                        .zip(&y.values)
                        .all(|(p, q)| p.to_bits() == q.to_bits())
            })
    }

    #[test]
    fn round_trip_and_errors() {
        let d = tempfile::tempdir().unwrap();
        let s = sample();
        save_store(&s, d.path(), vec![]).unwrap();
        let l = load_store(d.path()).unwrap();
        assert!(same(&s, &l));
        let bytes = std::fs::read(d.path().join("store.bin")).unwrap();
        let e = from_bytes(&bytes[..bytes.len() - 3], "x.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.bin") && e.contains("truncated"), "{e}");
        let e = from_bytes(b"NOTSTORE00000000", "y.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("y.bin") && e.contains("magic"), "{e}");
        std::fs::write(d.path().join("store.bin"), &bytes[..bytes.len() - 8]).unwrap();
        let e = format!("{:#}", load_store(d.path()).unwrap_err());
        assert!(e.contains("store.bin") && e.contains("manifest"), "{e}");
    }

    /// A few bytes flipped in the values region, header intact: every load fails, naming the
    /// file and the damaged column; a manifest without per-part checksums still fails.
    #[test]
    fn damaged_values_fail_every_load() {
        let d = tempfile::tempdir().unwrap();
        let s = sample();
        let m = save_store(&s, d.path(), vec![]).unwrap();
        assert_eq!(m.part_crc32c.len(), 4, "{:?}", m.part_crc32c);
        let path = d.path().join("store.bin");
        let good = std::fs::read(&path).unwrap();
        // The last column in file order is a/x-valid@200 (sorted keys: a/params_mb first);
        // its values end right before the 16-byte official index.
        let mut bad = good.clone();
        let at = bad.len() - 16 - 12;
        bad[at] ^= 0x5a;
        bad[at + 1] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        let e = format!("{:#}", load_store(d.path()).unwrap_err());
        assert!(
            e.contains("store.bin") && e.contains("content does not match"),
            "{e}"
        );
        assert!(e.contains("damaged: column a/x-valid@200"), "{e}");
        assert!(!e.contains("params_mb"), "{e}");
        // An older manifest (no per-part checksums): still refused.
        let mut old = m.clone();
        old.part_crc32c.clear();
        old.save(d.path()).unwrap();
        let e = format!("{:#}", load_store(d.path()).unwrap_err());
        assert!(e.contains("predates per-part checksums"), "{e}");
        // Restored bytes load again.
        std::fs::write(&path, &good).unwrap();
        assert!(same(&s, &load_store(d.path()).unwrap()));
    }
}
