//! Reading and writing `store.bin` (see the module docs of [`crate::store`]).

use super::{BenchmarkStore, Column};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
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
    from_reader(std::io::Cursor::new(bytes), bytes.len() as u64, name)
}

/// Parses a store of `len` bytes from a reader, streaming each column straight into its
/// values (peak memory: the columns plus a 1 MiB buffer, never a second copy of the file).
pub fn from_reader<R: std::io::Read>(mut r: R, len: u64, name: &str) -> Result<BenchmarkStore> {
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
        while values.len() < count {
            let take = ((count - values.len()) * 8).min(buf.len());
            r.read_exact(&mut buf[..take])
                .with_context(|| truncated(&format!("column {}", c.key)))?;
            values.extend(
                buf[..take]
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap())),
            );
        }
        store.columns.push(Column { values, ..c });
    }
    if header.has_official_index {
        let mut b = vec![0u8; n * 4];
        r.read_exact(&mut b)
            .with_context(|| truncated("the official index"))?;
        store.official_index = Some(
            b.chunks_exact(4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
        );
    }
    Ok(store)
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

/// Loads `store.bin` from `dir`, checking its manifest exists and the sizes agree.
/// (The full sha256 check is `Manifest::verify`, run by `weaknas data verify`.)
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
    let store = from_reader(
        std::io::BufReader::with_capacity(1 << 16, file),
        len,
        &path.display().to_string(),
    )?;
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
}
