//! Enumeration of the whole NAS-Bench-101 space, as nasbench's `generate_graphs.py` does it.
//!
//! For V = 2..=7 vertices and every upper-triangular edge bit pattern (bit
//! [`super::spec::edge_bit`]) with at most 9 edges that is a "full DAG" (every vertex but the
//! output has an out-edge, every vertex but the input has an in-edge — exactly the graphs that
//! pruning leaves unchanged), and every labelling of the V - 2 interior vertices
//! (`itertools.product` order), compute the module hash and keep one cell per hash. The
//! representative of a hash is the first (V, bits, labelling) in that order, which is the
//! one `generate_graphs.py` keeps (and so, presumably, the adjacency stored in the official
//! file). 1,293,208 labelled graphs collapse to 423,624 hashes.

use super::spec::{edge_bit, ModelSpec, Op};
use super::{MAX_EDGES, MAX_VERTICES};
use rayon::prelude::*;

/// One cell of the space: its hash and packed canonical representative
/// (see [`ModelSpec::unpack`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellRecord {
    /// Raw md5 bytes of the module hash.
    pub hash: [u8; 16],
    /// Packed adjacency (edge bits + vertex count in bits 24..28).
    pub adj: u32,
    /// Packed interior ops (base 3).
    pub ops: u8,
}

impl CellRecord {
    /// The cell's spec.
    pub fn spec(&self) -> ModelSpec {
        ModelSpec::unpack(self.adj, self.ops)
    }
}

/// Every full DAG (as packed adjacency, vertex count in bits 24..28) with at most 9 edges, in
/// `generate_graphs.py` order.
pub fn full_dags() -> Vec<u32> {
    let mut out = Vec::new();
    for n in 2..=MAX_VERTICES {
        let p = n * (n - 1) / 2;
        for bits in 0u32..(1 << p) {
            if bits.count_ones() as usize > MAX_EDGES {
                continue;
            }
            let mut has_out = 0u8;
            let mut has_in = 0u8;
            for y in 1..n {
                for x in 0..y {
                    if bits >> edge_bit(x, y) & 1 == 1 {
                        has_out |= 1 << x;
                        has_in |= 1 << y;
                    }
                }
            }
            let need_out = ((1u16 << (n - 1)) - 1) as u8;
            let need_in = need_out << 1;
            if has_out & need_out == need_out && has_in & need_in == need_in {
                out.push(bits | (n as u32) << 24);
            }
        }
    }
    out
}

/// Number of labelled graphs hashed by [`enumerate_space`] (for reports).
pub fn labelled_graph_count() -> usize {
    full_dags().iter().map(|&a| 3usize.pow((a >> 24) - 2)).sum()
}

/// All permutations of the interior vertices `1..n-1` of an `n`-vertex graph, as maps
/// old vertex -> new vertex (input and output fixed).
fn interior_permutations(n: usize) -> Vec<[u8; MAX_VERTICES]> {
    fn rec(
        k: usize,
        n: usize,
        cur: &mut [u8; MAX_VERTICES],
        used: &mut [bool; MAX_VERTICES],
        out: &mut Vec<[u8; MAX_VERTICES]>,
    ) {
        if k == n - 1 {
            out.push(*cur);
            return;
        }
        for t in 1..n - 1 {
            if !used[t] {
                used[t] = true;
                cur[k] = t as u8;
                rec(k + 1, n, cur, used, out);
                used[t] = false;
            }
        }
    }
    let mut cur = [0u8; MAX_VERTICES];
    cur[n - 1] = (n - 1) as u8;
    let mut used = [false; MAX_VERTICES];
    let mut out = Vec::new();
    rec(1, n, &mut cur, &mut used, &mut out);
    out
}

/// The edge bits of `bits` with vertices renamed by `perm`, `None` if that is not
/// upper-triangular.
fn permute_bits(bits: u32, n: usize, perm: &[u8; MAX_VERTICES]) -> Option<u32> {
    let mut out = 0u32;
    for y in 1..n {
        for x in 0..y {
            if bits >> edge_bit(x, y) & 1 == 1 {
                let (a, b) = (perm[x] as usize, perm[y] as usize);
                if a >= b {
                    return None;
                }
                out |= 1 << edge_bit(a, b);
            }
        }
    }
    Some(out)
}

fn labels_of(code: u32, n: usize) -> [i8; MAX_VERTICES] {
    let mut labels = [0i8; MAX_VERTICES];
    labels[0] = Op::Input.label();
    labels[n - 1] = Op::Output.label();
    let mut c = code;
    for v in (1..n - 1).rev() {
        labels[v] = (c % 3) as i8;
        c /= 3;
    }
    labels
}

fn code_of(labels: &[i8; MAX_VERTICES], n: usize) -> u32 {
    (1..n - 1).fold(0, |acc, v| acc * 3 + labels[v] as u32)
}

/// One labelled graph per isomorphism class, each the first of its class in
/// `generate_graphs.py` order, as packed (adjacency, ops).
///
/// Unlabelled full DAGs are grouped into isomorphism classes (permutations of the interior
/// vertices); a class's first member in order is the one with the smallest bits. The labelled
/// graphs isomorphic to (that member, labelling L) are (member, L relabelled by an
/// automorphism) and the other members with some labelling, all later in order; so the class
/// representative is (smallest member, smallest labelling in L's orbit under its
/// automorphisms).
pub fn class_representatives() -> Vec<(u32, u8)> {
    let dags = full_dags();
    let mut reps = Vec::new();
    for n in 2..=MAX_VERTICES {
        let perms = interior_permutations(n);
        let mut seen = std::collections::HashSet::new();
        for &adj in dags.iter().filter(|&&a| (a >> 24) as usize == n) {
            let bits = adj & 0x00ff_ffff;
            let canon = perms
                .iter()
                .filter_map(|p| permute_bits(bits, n, p))
                .min()
                .expect("identity is a valid permutation");
            if !seen.insert(canon) {
                continue;
            }
            let auts: Vec<&[u8; MAX_VERTICES]> = perms
                .iter()
                .filter(|p| permute_bits(bits, n, p) == Some(bits))
                .collect();
            for code in 0..3u32.pow(n as u32 - 2) {
                let l = labels_of(code, n);
                let is_min = auts.iter().all(|p| {
                    let mut m = l;
                    for v in 1..n - 1 {
                        m[p[v] as usize] = l[v];
                    }
                    code_of(&m, n) >= code
                });
                if is_min {
                    reps.push((adj, code as u8));
                }
            }
        }
    }
    reps
}

/// Every unique cell, sorted by hash (raw bytes, the same order as the hex strings), each
/// with its representative. Hashes one labelled graph per isomorphism class
/// ([`class_representatives`]) in parallel (rayon), then de-duplicates by hash, so a hash
/// collision between non-isomorphic graphs would show up as a count below 423,624. The
/// result does not depend on thread count; it equals [`enumerate_space_exhaustive`].
pub fn enumerate_space() -> Vec<CellRecord> {
    let mut all: Vec<CellRecord> = class_representatives()
        .par_iter()
        .map(|&(adj, ops)| CellRecord {
            hash: ModelSpec::unpack(adj, ops).hash(),
            adj,
            ops,
        })
        .collect();
    all.par_sort_unstable_by(|a, b| (a.hash, a.adj, a.ops).cmp(&(b.hash, b.adj, b.ops)));
    all.dedup_by(|b, a| a.hash == b.hash);
    all
}

/// The literal transcription of `generate_graphs.py`: hashes all 1,293,208 labelled full
/// DAGs and keeps, per hash, the first in order. About 3x slower than [`enumerate_space`];
/// used to cross-check it.
pub fn enumerate_space_exhaustive() -> Vec<CellRecord> {
    let dags = full_dags();
    // (hash, order key): order key = (adjacency incl. vertex count) << 8 | labelling; the
    // vertex count sits above the edge bits, so the key orders by (V, bits, labelling).
    let mut all: Vec<([u8; 16], u64)> = dags
        .par_iter()
        .flat_map_iter(|&adj| {
            let n = (adj >> 24) as usize;
            let rows: Vec<u8> = ModelSpec::unpack(adj, 0).rows().to_vec();
            (0..3u32.pow(n as u32 - 2)).map(move |code| {
                let labels = labels_of(code, n);
                let h = super::hash::hash_module(&rows, &labels[..n]);
                (h, (adj as u64) << 8 | code as u64)
            })
        })
        .collect();
    all.par_sort_unstable();
    all.dedup_by(|b, a| a.0 == b.0);
    all.into_iter()
        .map(|(hash, key)| CellRecord {
            hash,
            adj: (key >> 8) as u32,
            ops: (key & 0xff) as u8,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_dag_counts_match_python() {
        // Counted independently with a Python transcription of generate_graphs.py.
        let dags = full_dags();
        let per_n: Vec<usize> = (2..=7)
            .map(|n| dags.iter().filter(|&&a| (a >> 24) as usize == n).count())
            .collect();
        assert_eq!(per_n, vec![1, 2, 10, 121, 1545, 4793]);
        assert_eq!(labelled_graph_count(), 1_293_208);
        for &a in &dags {
            let s = ModelSpec::unpack(a, 0);
            assert_eq!(s.pruned(), Some(s), "{}", s.compact());
        }
    }

    #[test]
    fn one_representative_per_isomorphism_class() {
        // The number of classes equals the published count before any hashing.
        let reps = class_representatives();
        assert_eq!(reps.len(), crate::nb101::NUM_CELLS);
        assert_eq!(interior_permutations(7).len(), 120);
        assert_eq!(interior_permutations(2).len(), 1);
    }

    #[test]
    #[ignore = "hashes all 1,293,208 labelled graphs (about 30 CPU-seconds); run with --ignored"]
    fn fast_enumeration_equals_generate_graphs_transcription() {
        let fast = crate::nb101::space::test_space();
        let slow = enumerate_space_exhaustive();
        assert_eq!(slow.len(), crate::nb101::NUM_CELLS);
        for (i, r) in slow.iter().enumerate() {
            assert_eq!(fast.hash_bytes(i as u32), r.hash);
            assert_eq!(fast.spec(i as u32), r.spec(), "cell {i}");
        }
    }
}
