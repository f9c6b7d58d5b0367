//! [`Nb101Space`]: the NAS-Bench-101 space as a [`SearchSpace`].
//!
//! Cell ids `0..423,624` are the cells sorted by their nasbench module hash (lowercase hex
//! string order), so an id depends only on the cell's graph, not on how the space was
//! enumerated. Each id keeps one canonical (pruned) representative spec: the first one in
//! `generate_graphs.py` order (see [`super::enumerate`]).
//!
//! Enumeration takes seconds, so the table (21 bytes per cell: hash, packed adjacency,
//! packed ops; 8.9 MB) is cached in `cache_dir()/nb101_space_v1.bin`, written atomically,
//! checked on load (size, sha256, count, order, validity, and a sample of hashes recomputed)
//! and rebuilt if anything is wrong.

use super::encoding::{lifted_vertex, Nb101Encoding};
use super::enumerate::{enumerate_space, CellRecord};
use super::spec::{ModelSpec, Op, SpecError};
use super::{MAX_VERTICES, NUM_CELLS};
use crate::rng::SeedRng;
use crate::space::{CellId, SearchSpace};
use anyhow::{bail, Context, Result};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// First 8 bytes of the space cache file.
pub const CACHE_MAGIC: &[u8; 8] = b"WNNB101S";
/// Version of the cache format (part of the file name and checked in the header).
pub const CACHE_VERSION: u32 = 1;
/// File name of the cache under [`crate::home::cache_dir`].
pub const CACHE_FILE: &str = "nb101_space_v1.bin";

struct Table {
    hashes: Vec<[u8; 16]>,
    adj: Vec<u32>,
    ops: Vec<u8>,
}

/// The NAS-Bench-101 space: 423,624 cells, encoding chosen at construction (`org` by
/// default), NAS-Bench-101-paper mutation. Cheap to clone (the table is shared).
#[derive(Clone)]
pub struct Nb101Space {
    table: Arc<Table>,
    encoding: Nb101Encoding,
    mutation_rate: f64,
}

impl std::fmt::Debug for Nb101Space {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nb101Space")
            .field("cells", &self.table.hashes.len())
            .field("encoding", &self.encoding)
            .field("mutation_rate", &self.mutation_rate)
            .finish()
    }
}

impl Nb101Space {
    fn from_records(records: Vec<CellRecord>) -> Self {
        let table = Table {
            hashes: records.iter().map(|r| r.hash).collect(),
            adj: records.iter().map(|r| r.adj).collect(),
            ops: records.iter().map(|r| r.ops).collect(),
        };
        Self {
            table: Arc::new(table),
            encoding: Nb101Encoding::Org,
            mutation_rate: 1.0,
        }
    }

    /// Enumerates the whole space (seconds; no cache). Errors if the count is not 423,624.
    pub fn build() -> Result<Self> {
        let records = enumerate_space();
        if records.len() != NUM_CELLS {
            bail!(
                "NB101 enumeration found {} unique cells, expected {NUM_CELLS}",
                records.len()
            );
        }
        Ok(Self::from_records(records))
    }

    /// The cache file path: `cache_dir()/nb101_space_v1.bin`.
    pub fn cache_path() -> PathBuf {
        crate::home::cache_dir().join(CACHE_FILE)
    }

    /// Loads the cached table from [`Nb101Space::cache_path`], or enumerates the space and
    /// writes the cache (a cache that cannot be written only logs a warning).
    pub fn load_or_build() -> Result<Self> {
        Self::load_or_build_at(&Self::cache_path())
    }

    /// [`Nb101Space::load_or_build`] with an explicit cache file.
    pub fn load_or_build_at(path: &Path) -> Result<Self> {
        match Self::load(path) {
            Ok(s) => return Ok(s),
            Err(e) if path.exists() => {
                tracing::warn!("NB101 space cache unusable, rebuilding it: {e:#}");
            }
            Err(_) => tracing::info!(
                "enumerating the NB101 space (once; cached in {})",
                path.display()
            ),
        }
        let t = std::time::Instant::now();
        let s = Self::build()?;
        tracing::info!(
            "enumerated {} NB101 cells in {:.1} s",
            s.num_cells(),
            t.elapsed().as_secs_f64()
        );
        if let Err(e) = s.save(path) {
            tracing::warn!("could not write the NB101 space cache: {e:#}");
        }
        Ok(s)
    }

    /// The cache file bytes of this table.
    fn to_bytes(&self) -> Vec<u8> {
        let t = &self.table;
        let n = t.hashes.len();
        let mut out = Vec::with_capacity(16 + n * 21 + 32);
        out.extend_from_slice(CACHE_MAGIC);
        out.extend_from_slice(&CACHE_VERSION.to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
        for h in &t.hashes {
            out.extend_from_slice(h);
        }
        for a in &t.adj {
            out.extend_from_slice(&a.to_le_bytes());
        }
        out.extend_from_slice(&t.ops);
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Writes the table to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsutil::atomic_write(path, &self.to_bytes())
    }

    /// Loads and validates a table written by [`Nb101Space::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_bytes(&bytes)
            .with_context(|| format!("{}: invalid NB101 space cache", path.display()))
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 16 + 32 || &bytes[..8] != CACHE_MAGIC {
            bail!("bad magic or too short");
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if version != CACHE_VERSION {
            bail!("cache version {version}, expected {CACHE_VERSION}");
        }
        let n = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        if n != NUM_CELLS {
            bail!("{n} cells, expected {NUM_CELLS}");
        }
        let body = 16 + n * 21;
        if bytes.len() != body + 32 {
            bail!("{} bytes, expected {}", bytes.len(), body + 32);
        }
        if Sha256::digest(&bytes[..body]).as_slice() != &bytes[body..] {
            bail!("checksum mismatch");
        }
        let hashes: Vec<[u8; 16]> = bytes[16..16 + n * 16]
            .chunks_exact(16)
            .map(|c| c.try_into().unwrap())
            .collect();
        let adj: Vec<u32> = bytes[16 + n * 16..16 + n * 20]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let ops = bytes[16 + n * 20..body].to_vec();
        if hashes.windows(2).any(|w| w[0] >= w[1]) {
            bail!("hashes not strictly increasing");
        }
        for (i, (&a, &o)) in adj.iter().zip(&ops).enumerate() {
            let v = (a >> 24) as usize;
            let edge_bits = v * (v.max(1) - 1) / 2;
            let ok = (2..=MAX_VERTICES).contains(&v)
                && a & 0x00ff_ffff < (1 << edge_bits)
                && (o as u32) < 3u32.pow(v as u32 - 2);
            let ok = ok && {
                let s = ModelSpec::unpack(a, o);
                s.pruned() == Some(s) && s.check_pruned().is_ok()
            };
            if !ok {
                bail!("cell {i} is not a canonical NB101 cell");
            }
        }
        let space = Self::from_records(
            (0..n)
                .map(|i| CellRecord {
                    hash: hashes[i],
                    adj: adj[i],
                    ops: ops[i],
                })
                .collect(),
        );
        for i in (0..n).step_by(n / 257) {
            if space.spec(i as CellId).hash() != space.table.hashes[i] {
                bail!("cell {i}: stored hash does not match its graph");
            }
        }
        Ok(space)
    }

    /// This space with another encoding (shares the table).
    pub fn with_encoding(&self, encoding: Nb101Encoding) -> Self {
        Self {
            encoding,
            ..self.clone()
        }
    }

    /// This space with another mutation rate (expected number of edge flips and of op
    /// changes per mutation; 1.0 as in the NAS-Bench-101 paper).
    pub fn with_mutation_rate(&self, rate: f64) -> Self {
        assert!(rate > 0.0, "mutation rate must be positive");
        Self {
            mutation_rate: rate,
            ..self.clone()
        }
    }

    /// The encoding of [`SearchSpace::encode_into`].
    pub fn encoding(&self) -> Nb101Encoding {
        self.encoding
    }

    /// The canonical (pruned) spec of a cell.
    pub fn spec(&self, cell: CellId) -> ModelSpec {
        let i = cell as usize;
        ModelSpec::unpack(self.table.adj[i], self.table.ops[i])
    }

    /// The module hash of a cell as raw bytes.
    pub fn hash_bytes(&self, cell: CellId) -> [u8; 16] {
        self.table.hashes[cell as usize]
    }

    /// The module hash of a cell (nasbench's 32-character hex string).
    pub fn hash(&self, cell: CellId) -> String {
        hex::encode(self.hash_bytes(cell))
    }

    /// The id of a module hash (raw bytes).
    pub fn id_of_hash_bytes(&self, hash: &[u8; 16]) -> Option<CellId> {
        self.table
            .hashes
            .binary_search(hash)
            .ok()
            .map(|i| i as CellId)
    }

    /// The id of a module hash (hex string), `None` if it is not a cell of the space.
    pub fn id_of_hash(&self, hash: &str) -> Option<CellId> {
        self.id_of_hash_bytes(&super::hash::parse_hash(&hash.to_ascii_lowercase())?)
    }

    /// The id of any spec (pruned and hashed first), `None` if it is not a valid cell.
    pub fn id_of_spec(&self, spec: &ModelSpec) -> Option<CellId> {
        let c = spec.canonical().ok()?;
        self.id_of_hash_bytes(&c.hash())
    }

    /// One mutation of the NAS-Bench-101 paper's regularized evolution, applied to the cell
    /// lifted to 7 vertices (pruned vertices in order, output at vertex 6, the free vertices
    /// in between without edges and with uniformly drawn ops): each of the 21 possible edges
    /// flips with probability `rate / 7`, each of the 5 interior ops changes to one of the
    /// other two with probability `rate / 5`; repeated until the result is a valid cell
    /// different from `cell`. Returns `None` after `max_tries` attempts.
    fn mutate_once(&self, cell: CellId, rng: &mut SeedRng, max_tries: usize) -> Option<CellId> {
        let spec = self.spec(cell);
        let n = spec.num_vertices();
        let p_edge = self.mutation_rate / MAX_VERTICES as f64;
        let p_op = self.mutation_rate / (MAX_VERTICES - 2) as f64;
        for _ in 0..max_tries {
            let mut rows = [0u8; MAX_VERTICES];
            let mut ops = [Op::Input; MAX_VERTICES];
            for op in &mut ops[n - 1..MAX_VERTICES - 1] {
                *op = Op::interior(rng.random_range(0..3u8));
            }
            for (v, &op) in spec.ops().iter().enumerate() {
                ops[lifted_vertex(v, n)] = op;
                for w in v + 1..n {
                    if spec.has_edge(v, w) {
                        rows[lifted_vertex(v, n)] |= 1 << lifted_vertex(w, n);
                    }
                }
            }
            for (src, row) in rows.iter_mut().enumerate().take(MAX_VERTICES - 1) {
                for dst in src + 1..MAX_VERTICES {
                    if rng.random::<f64>() < p_edge {
                        *row ^= 1 << dst;
                    }
                }
            }
            for op in ops.iter_mut().take(MAX_VERTICES - 1).skip(1) {
                if rng.random::<f64>() < p_op {
                    let others: Vec<Op> = Op::INTERIOR.into_iter().filter(|o| o != op).collect();
                    *op = others[rng.random_range(0..others.len())];
                }
            }
            let lifted =
                ModelSpec::from_rows(&rows, &ops).expect("lifted spec is upper-triangular");
            if let Some(id) = self.id_of_spec(&lifted) {
                if id != cell {
                    return Some(id);
                }
            }
        }
        None
    }
}

impl SearchSpace for Nb101Space {
    fn name(&self) -> &str {
        "nb101"
    }
    fn num_cells(&self) -> usize {
        self.table.hashes.len()
    }
    fn feature_dim(&self) -> usize {
        self.encoding.dim()
    }
    fn encode_into(&self, cell: CellId, out: &mut [f32]) {
        self.encoding.encode(&self.spec(cell), out);
    }
    /// See the NAS-Bench-101-paper mutation described on [`Nb101Space::with_mutation_rate`]:
    /// edge flips and op changes on the 7-vertex lift, retried until the result is a valid
    /// cell other than `cell` (falling back to a uniform neighbour after 10,000 tries).
    fn mutate(&self, cell: CellId, rng: &mut SeedRng) -> CellId {
        if let Some(id) = self.mutate_once(cell, rng, 10_000) {
            return id;
        }
        let n = self.neighbours(cell);
        n[rng.random_range(0..n.len())]
    }
    /// Every distinct valid cell one edge flip or one op change away from the canonical spec,
    /// sorted by id.
    fn neighbours(&self, cell: CellId) -> Vec<CellId> {
        let spec = self.spec(cell);
        let n = spec.num_vertices();
        let mut out = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                let mut rows = spec.rows().to_vec();
                rows[i] ^= 1 << j;
                let s = ModelSpec::from_rows(&rows, spec.ops()).expect("upper-triangular");
                out.extend(self.id_of_spec(&s));
            }
        }
        for v in 1..n - 1 {
            for op in Op::INTERIOR {
                if op != spec.ops()[v] {
                    let mut ops = spec.ops().to_vec();
                    ops[v] = op;
                    let s = ModelSpec::from_rows(spec.rows(), &ops).expect("same shape");
                    out.extend(self.id_of_spec(&s));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out.retain(|&c| c != cell);
        out
    }
    /// Compact adjacency + ops, e.g. `0110/0001/0001/0000 in,c3,mp,out`.
    fn describe(&self, cell: CellId) -> String {
        self.spec(cell).compact()
    }
    fn native_format(&self) -> &str {
        "nb101-spec"
    }
    /// `{"matrix": [[0, 1, ...], ...], "ops": ["input", ..., "output"], "hash": "..."}`: the
    /// canonical (pruned) spec as nasbench's `ModelSpec(matrix, ops)` takes it, and its
    /// module hash.
    fn native(&self, cell: CellId) -> serde_json::Value {
        let spec = self.spec(cell);
        serde_json::json!({
            "matrix": spec.matrix(),
            "ops": spec.ops().iter().map(|o| o.name()).collect::<Vec<_>>(),
            "hash": self.hash(cell),
        })
    }
    /// An object with `matrix` and `ops` (any valid spec; pruned here, as nasbench does),
    /// and/or `hash`; or a hash string. A hash given with a spec must be the spec's.
    fn parse_native(&self, v: &serde_json::Value) -> Result<CellId> {
        let by_hash = |h: &str| {
            self.id_of_hash(h)
                .with_context(|| format!("{h:?} is not the module hash of an NB101 cell"))
        };
        let obj = match v {
            serde_json::Value::String(h) => return by_hash(h),
            serde_json::Value::Object(o) => o,
            _ => bail!("expected an NB101 cell {{\"matrix\", \"ops\"}} or a module hash, got {v}"),
        };
        let hash = match obj.get("hash") {
            None => None,
            Some(h) => Some(by_hash(h.as_str().context("\"hash\" must be a string")?)?),
        };
        let (Some(m), Some(o)) = (obj.get("matrix"), obj.get("ops")) else {
            return hash.context("an NB101 cell needs \"matrix\" and \"ops\", or \"hash\"");
        };
        let matrix: Vec<Vec<u8>> = serde_json::from_value(m.clone())
            .context("\"matrix\" must be a square list of lists of 0/1")?;
        let names: Vec<String> =
            serde_json::from_value(o.clone()).context("\"ops\" must be a list of op names")?;
        let ops = names
            .iter()
            .map(|n| Op::from_name(n).ok_or_else(|| SpecError::UnknownOp(n.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let spec = ModelSpec::new(&matrix, &ops)?.canonical()?;
        let id = self
            .id_of_hash_bytes(&spec.hash())
            .context("the spec is valid but not in the space")?;
        if hash.is_some_and(|h| h != id) {
            bail!("\"hash\" is not the hash of the given matrix and ops");
        }
        Ok(id)
    }
}

/// The whole space, enumerated once per test binary (no cache file touched).
#[cfg(test)]
pub(crate) fn test_space() -> &'static Nb101Space {
    static S: std::sync::OnceLock<Nb101Space> = std::sync::OnceLock::new();
    S.get_or_init(|| Nb101Space::build().expect("NB101 enumeration"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn native_form_round_trips_and_errors_say_why() {
        let s = test_space();
        for id in (0..NUM_CELLS as CellId).step_by(4999) {
            let v = s.native(id);
            assert_eq!(s.parse_native(&v).unwrap(), id);
            assert_eq!(s.parse_native(&v["hash"]).unwrap(), id);
            let spec_only = serde_json::json!({"matrix": v["matrix"], "ops": v["ops"]});
            assert_eq!(s.parse_native(&spec_only).unwrap(), id);
        }
        // The README's cell, unpruned as a user writes it.
        let ex = crate::nb101::spec::readme_example();
        let names: Vec<&str> = ex.ops().iter().map(|o| o.name()).collect();
        let readme = serde_json::json!({"matrix": ex.matrix(), "ops": names});
        let id = s.parse_native(&readme).unwrap();
        assert_eq!(s.hash(id), "28cfc7874f6d200472e1a9dcd8650aa0");
        let mut wrong = s.native(id);
        wrong["hash"] = s.hash(id ^ 1).into();
        for (bad, why) in [
            (wrong, "not the hash"),
            (
                serde_json::json!({"matrix": [[0, 1], [0, 0]], "ops": ["input", "conv"]}),
                "unknown op",
            ),
            (
                serde_json::json!({"matrix": [[0, 0], [0, 0]], "ops": ["input", "output"]}),
                "not connected",
            ),
            (
                serde_json::json!("00000000000000000000000000000000"),
                "not the module hash",
            ),
            (serde_json::json!(7), "expected an NB101 cell"),
        ] {
            let e = format!("{:#}", s.parse_native(&bad).unwrap_err());
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn enumeration_gives_published_count_and_vectors() {
        // Whole enumeration (a few seconds in release; see benches/nb101.rs).
        let s = test_space();
        assert_eq!(s.num_cells(), NUM_CELLS);
        assert_eq!(s.name(), "nb101");
        let chain = s.id_of_hash("b49ac8c578b4561d79ac7087988f1c61").unwrap();
        assert_eq!(s.describe(chain), "010/001/000 in,c3,out");
        let readme = s.id_of_hash("28cfc7874f6d200472e1a9dcd8650aa0").unwrap();
        assert_eq!(s.spec(readme).num_edges(), 9);
        assert_eq!(s.hash(readme), "28cfc7874f6d200472e1a9dcd8650aa0");
        assert_eq!(
            s.id_of_hash("28CFC7874F6D200472E1A9DCD8650AA0"),
            Some(readme)
        );
        assert_eq!(s.id_of_hash("00000000000000000000000000000000"), None);
        // Ids are hash order; every stored representative hashes to its own id.
        for id in (0..NUM_CELLS as CellId).step_by(1009) {
            assert_eq!(s.id_of_spec(&s.spec(id)), Some(id));
        }
        assert!(s.hash(0) < s.hash(1));
        // Vertex-count histogram is plausible: every size from 2 to 7 occurs.
        let sizes: HashSet<usize> = (0..NUM_CELLS as CellId)
            .step_by(7)
            .map(|i| s.spec(i).num_vertices())
            .collect();
        assert!(sizes.len() >= 5, "{sizes:?}");
    }

    #[test]
    fn cache_round_trip_and_corruption_rebuilds() {
        let s = test_space();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(CACHE_FILE);
        s.save(&p).unwrap();
        let l = Nb101Space::load(&p).unwrap();
        assert_eq!(l.table.hashes, s.table.hashes);
        assert_eq!(l.table.adj, s.table.adj);
        assert_eq!(l.table.ops, s.table.ops);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[1000] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        let e = format!("{:#}", Nb101Space::load(&p).unwrap_err());
        assert!(e.contains("checksum"), "{e}");
        std::fs::write(&p, &bytes[..100]).unwrap();
        assert!(Nb101Space::load(&p).is_err());
    }

    #[test]
    fn encodings_have_their_dimensions() {
        let s = test_space();
        for (enc, dim) in [
            (Nb101Encoding::Org, 45),
            (Nb101Encoding::AdjOneHot, 56),
            (Nb101Encoding::Path, 364),
        ] {
            let e = s.with_encoding(enc);
            assert_eq!(e.feature_dim(), dim);
            let mut row = vec![0f32; dim];
            for id in (0..NUM_CELLS as CellId).step_by(4999) {
                e.encode_into(id, &mut row);
                assert!(row.iter().all(|&v| v == 0.0 || v == 1.0));
                assert!(row.iter().sum::<f32>() >= 1.0);
            }
        }
        assert_eq!(s.feature_dim(), 45);
    }

    #[test]
    fn mutation_stays_valid_and_changes_the_cell() {
        let s = test_space();
        let mut rng = crate::rng::stream("nb101-test", 0, "mutate");
        for id in (0..NUM_CELLS as CellId).step_by(2111) {
            let m = s.mutate(id, &mut rng);
            assert_ne!(m, id);
            assert!((m as usize) < NUM_CELLS);
            let spec = s.spec(m);
            assert!(spec.is_valid());
            assert_eq!(spec.hash(), s.hash_bytes(m));
            let nb = s.neighbours(id);
            assert!(!nb.is_empty() && !nb.contains(&id));
            assert!(nb.windows(2).all(|w| w[0] < w[1]));
        }
        // Deterministic for a given stream.
        let a: Vec<CellId> = {
            let mut r = crate::rng::stream("nb101-test", 1, "mutate");
            (0..50).map(|i| s.mutate(i * 17, &mut r)).collect()
        };
        let b: Vec<CellId> = {
            let mut r = crate::rng::stream("nb101-test", 1, "mutate");
            (0..50).map(|i| s.mutate(i * 17, &mut r)).collect()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn neighbours_of_chain_are_op_changes_and_edge_flips() {
        let s = test_space();
        let chain = s.id_of_hash("b49ac8c578b4561d79ac7087988f1c61").unwrap();
        let nb: Vec<String> = s.neighbours(chain).iter().map(|&c| s.describe(c)).collect();
        // Flipping 0->1 or 1->2 disconnects; flipping 0->2 adds a skip; two op changes.
        let mut expected = vec![
            "011/001/000 in,c3,out".to_string(),
            "010/001/000 in,c1,out".to_string(),
            "010/001/000 in,mp,out".to_string(),
        ];
        expected.sort();
        let mut got = nb.clone();
        got.sort();
        assert_eq!(got, expected);
    }
}
