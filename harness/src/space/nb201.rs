//! NAS-Bench-201 cell space: 6 edges, 5 ops, 15,625 cells.
//!
//! Cell ids are canonical: the 6-digit op code read as a base-5 number (edge order (1<-0),
//! (2<-0), (2<-1), (3<-0), (3<-1), (3<-2), as in the official arch string). The official
//! NAS-Bench-201 index (order of the official file) is not computable from the cell; it is kept
//! by the benchmark store when an importer knows it (see `BenchmarkStore::official_index`).

use super::{CellId, SearchSpace};
use crate::rng::SeedRng;
use anyhow::{bail, Result};
use rand::Rng;

/// Number of edges of a cell.
pub const EDGES: usize = 6;
/// Op names by code.
pub const OPS: [&str; 5] = [
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
];
/// Number of cells.
pub const NUM_CELLS: usize = 15_625;
/// (to, from) node pairs of the edges, in code order.
pub const EDGE_NODES: [(usize, usize); EDGES] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

/// A NAS-Bench-201 cell: the op code of each edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nb201Cell(pub [u8; EDGES]);

impl Nb201Cell {
    /// Canonical id (base-5 number of the op code).
    pub fn id(&self) -> CellId {
        self.0.iter().fold(0u32, |acc, &o| acc * 5 + o as u32)
    }
    /// Cell of a canonical id; panics if out of range.
    pub fn from_id(id: CellId) -> Self {
        assert!((id as usize) < NUM_CELLS, "NB201 cell id {id} out of range");
        let mut ops = [0u8; EDGES];
        let mut v = id;
        for e in (0..EDGES).rev() {
            ops[e] = (v % 5) as u8;
            v /= 5;
        }
        Self(ops)
    }
    /// The 6-digit op code, e.g. `"421211"`.
    pub fn ops_code(&self) -> String {
        self.0.iter().map(|o| char::from(b'0' + o)).collect()
    }
    /// Parses a 6-digit op code.
    pub fn from_ops_code(s: &str) -> Result<Self> {
        let b = s.as_bytes();
        if b.len() != EDGES || !b.iter().all(|c| (b'0'..=b'4').contains(c)) {
            bail!("invalid NB201 op code {s:?}: expected 6 digits in 0..=4");
        }
        let mut ops = [0u8; EDGES];
        for (o, c) in ops.iter_mut().zip(b) {
            *o = c - b'0';
        }
        Ok(Self(ops))
    }
    /// The official arch string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.
    pub fn arch_str(&self) -> String {
        let o = |e: usize| OPS[self.0[e] as usize];
        format!(
            "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|",
            o(0),
            o(1),
            o(2),
            o(3),
            o(4),
            o(5)
        )
    }
    /// Parses the official arch string.
    pub fn from_arch_str(s: &str) -> Result<Self> {
        let nodes: Vec<&str> = s.split('+').collect();
        if nodes.len() != 3 {
            bail!("invalid NB201 arch string {s:?}: expected 3 nodes separated by '+'");
        }
        let mut ops = [0u8; EDGES];
        let mut e = 0;
        for (node, part) in nodes.iter().enumerate() {
            let inner = part.strip_prefix('|').and_then(|p| p.strip_suffix('|'));
            let Some(inner) = inner else {
                bail!(
                    "invalid NB201 arch string {s:?}: node {} not in |...|",
                    node + 1
                )
            };
            let edges: Vec<&str> = inner.split('|').collect();
            if edges.len() != node + 1 {
                bail!(
                    "invalid NB201 arch string {s:?}: node {} has {} inputs",
                    node + 1,
                    edges.len()
                );
            }
            for (from, edge) in edges.iter().enumerate() {
                let Some((op, src)) = edge.split_once('~') else {
                    bail!("invalid edge {edge:?} in {s:?}")
                };
                if src != from.to_string() {
                    bail!("invalid edge {edge:?} in {s:?}: expected input {from}");
                }
                let Some(code) = OPS.iter().position(|&n| n == op) else {
                    bail!("unknown op {op:?} in {s:?}")
                };
                ops[e] = code as u8;
                e += 1;
            }
        }
        Ok(Self(ops))
    }
}

/// The NAS-Bench-201 space with the 30-feature one-hot encoding (6 edges x 5 ops).
#[derive(Clone, Copy, Debug, Default)]
pub struct Nb201Space;

impl SearchSpace for Nb201Space {
    fn name(&self) -> &str {
        "nb201"
    }
    fn num_cells(&self) -> usize {
        NUM_CELLS
    }
    fn feature_dim(&self) -> usize {
        EDGES * OPS.len()
    }
    fn encode_into(&self, cell: CellId, out: &mut [f32]) {
        out.fill(0.0);
        for (e, &o) in Nb201Cell::from_id(cell).0.iter().enumerate() {
            out[e * OPS.len() + o as usize] = 1.0;
        }
    }
    fn mutate(&self, cell: CellId, rng: &mut SeedRng) -> CellId {
        let mut c = Nb201Cell::from_id(cell);
        let e = rng.random_range(0..EDGES);
        let shift = rng.random_range(1..OPS.len() as u8);
        c.0[e] = (c.0[e] + shift) % OPS.len() as u8;
        c.id()
    }
    fn neighbours(&self, cell: CellId) -> Vec<CellId> {
        let c = Nb201Cell::from_id(cell);
        let mut out = Vec::with_capacity(EDGES * (OPS.len() - 1));
        for e in 0..EDGES {
            for o in 0..OPS.len() as u8 {
                if o != c.0[e] {
                    let mut n = c;
                    n.0[e] = o;
                    out.push(n.id());
                }
            }
        }
        out
    }
    fn describe(&self, cell: CellId) -> String {
        Nb201Cell::from_id(cell).arch_str()
    }
    fn native_format(&self) -> &str {
        "nb201-arch-str"
    }
    /// The official arch string.
    fn native(&self, cell: CellId) -> serde_json::Value {
        self.describe(cell).into()
    }
    fn parse_native(&self, v: &serde_json::Value) -> Result<CellId> {
        match v.as_str() {
            Some(s) => Ok(Nb201Cell::from_arch_str(s)?.id()),
            None => bail!("expected an NB201 arch string like |nor_conv_3x3~0|+|...|, got {v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_over_whole_space() {
        for id in 0..NUM_CELLS as CellId {
            let c = Nb201Cell::from_id(id);
            assert_eq!(c.id(), id);
            assert_eq!(Nb201Cell::from_ops_code(&c.ops_code()).unwrap(), c);
            assert_eq!(Nb201Cell::from_arch_str(&c.arch_str()).unwrap(), c);
        }
    }

    #[test]
    fn arch_string_matches_official_example() {
        let s = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|";
        let c = Nb201Cell::from_arch_str(s).unwrap();
        assert_eq!(c.ops_code(), "421211");
        assert_eq!(c.arch_str(), s);
    }

    #[test]
    fn native_form_is_the_arch_string() {
        let s = Nb201Space;
        for id in (0..NUM_CELLS as CellId).step_by(311) {
            let v = s.native(id);
            assert_eq!(v.as_str().unwrap(), Nb201Cell::from_id(id).arch_str());
            assert_eq!(s.parse_native(&v).unwrap(), id);
        }
        assert!(s.parse_native(&serde_json::json!(3)).is_err());
        assert!(s.parse_native(&serde_json::json!("|conv~0|")).is_err());
    }

    #[test]
    fn bad_strings_are_rejected() {
        assert!(Nb201Cell::from_ops_code("42121").is_err());
        assert!(Nb201Cell::from_ops_code("421215").is_err());
        assert!(Nb201Cell::from_arch_str("|conv~0|+|a~0|b~1|+|c~0|d~1|e~2|").is_err());
        assert!(Nb201Cell::from_arch_str("|none~0|").is_err());
    }

    #[test]
    fn encoding_is_one_hot_per_edge() {
        let s = Nb201Space;
        let f = s.features();
        assert_eq!((f.rows, f.cols), (NUM_CELLS, 30));
        let c = Nb201Cell::from_ops_code("421211").unwrap();
        let row = f.row(c.id() as usize);
        for e in 0..EDGES {
            let hot: Vec<usize> = (0..5).filter(|&o| row[e * 5 + o] == 1.0).collect();
            assert_eq!(hot, vec![c.0[e] as usize]);
        }
        assert_eq!(row.iter().sum::<f32>(), 6.0);
    }

    #[test]
    fn mutation_changes_exactly_one_edge() {
        let s = Nb201Space;
        let mut rng = crate::rng::stream("t", 0, "m");
        for id in (0..NUM_CELLS as CellId).step_by(97) {
            let m = s.mutate(id, &mut rng);
            let a = Nb201Cell::from_id(id).0;
            let b = Nb201Cell::from_id(m).0;
            assert_eq!(a.iter().zip(&b).filter(|(x, y)| x != y).count(), 1);
            let n = s.neighbours(id);
            assert_eq!(n.len(), 24);
            assert!(n.contains(&m));
        }
    }
}
