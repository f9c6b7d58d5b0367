//! Feature encodings of NAS-Bench-101 cells. All take the canonical (pruned) spec.
//!
//! - [`Nb101Encoding::Org`] (45 features, WeakNAS's default, from GBDT-NAS's
//!   `convert_arch_to_seq`): for node column c = 1..=6, if c < V (vertices after pruning)
//!   the c adjacency bits `A[0..c][c]` then a one-hot of op(c) over
//!   `[conv1x1, conv3x3, maxpool3x3, output]`; else c + 4 zeros.
//! - [`Nb101Encoding::AdjOneHot`] (56 features): the cell lifted to 7 vertices (pruned vertices
//!   kept in order, the output moved to vertex 6, the vertices in between empty), its 21
//!   upper-triangular adjacency bits in row-major order `(0,1), (0,2), .., (5,6)`, then per
//!   vertex 0..=6 a one-hot over `[input, conv3x3, conv1x1, maxpool3x3, output]` (all zero
//!   for an empty vertex).
//! - [`Nb101Encoding::Path`] (364 features, BANANAS): one indicator per input-to-output path
//!   shape; a path through interior ops `o_0 .. o_{k-1}` has index
//!   `sum_i 3^i * (m(o_i) + 1)` with `m = {conv3x3: 0, conv1x1: 1, maxpool3x3: 2}`
//!   (paths of 0..=5 interior vertices: 1 + 3 + .. + 243 = 364 indices).

use super::spec::{ModelSpec, Op};
use super::MAX_VERTICES;
use serde::{Deserialize, Serialize};

/// Which feature vector [`super::Nb101Space`] produces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Nb101Encoding {
    /// The 45-bit `org` encoding of the official WeakNAS code (default).
    #[default]
    Org,
    /// 21 adjacency bits + 7 x 5 op one-hot (56 features).
    AdjOneHot,
    /// BANANAS path encoding (364 features).
    Path,
}

/// Length of the `org` encoding.
pub const ORG_DIM: usize = 45;
/// Length of the adjacency + op one-hot encoding.
pub const ADJ_ONEHOT_DIM: usize = 56;
/// Length of the path encoding.
pub const PATH_DIM: usize = 364;

impl Nb101Encoding {
    /// Number of features.
    pub fn dim(self) -> usize {
        match self {
            Nb101Encoding::Org => ORG_DIM,
            Nb101Encoding::AdjOneHot => ADJ_ONEHOT_DIM,
            Nb101Encoding::Path => PATH_DIM,
        }
    }
    /// Name as used in specs (`org`, `adj-one-hot`, `path`).
    pub fn name(self) -> &'static str {
        match self {
            Nb101Encoding::Org => "org",
            Nb101Encoding::AdjOneHot => "adj-one-hot",
            Nb101Encoding::Path => "path",
        }
    }
    /// Parses a name of [`Nb101Encoding::name`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "org" => Some(Nb101Encoding::Org),
            "adj-one-hot" => Some(Nb101Encoding::AdjOneHot),
            "path" => Some(Nb101Encoding::Path),
            _ => None,
        }
    }
    /// Writes the encoding of a canonical spec into `out` (`dim()` long).
    pub fn encode(self, spec: &ModelSpec, out: &mut [f32]) {
        match self {
            Nb101Encoding::Org => encode_org(spec, out),
            Nb101Encoding::AdjOneHot => encode_adj_onehot(spec, out),
            Nb101Encoding::Path => encode_path(spec, out),
        }
    }
}

/// The `org` encoding (45 features).
pub fn encode_org(spec: &ModelSpec, out: &mut [f32]) {
    assert_eq!(out.len(), ORG_DIM);
    out.fill(0.0);
    let n = spec.num_vertices();
    let mut p = 0;
    for c in 1..MAX_VERTICES {
        if c < n {
            for r in 0..c {
                out[p + r] = spec.has_edge(r, c) as u8 as f32;
            }
            let hot = match spec.ops()[c] {
                Op::Conv1x1 => 0,
                Op::Conv3x3 => 1,
                Op::MaxPool3x3 => 2,
                Op::Output => 3,
                Op::Input => unreachable!("input op at interior vertex of a canonical spec"),
            };
            out[p + c + hot] = 1.0;
        }
        p += c + 4;
    }
}

/// Position of vertex `v` of an `n`-vertex spec in the 7-vertex lift (output moved to 6).
pub fn lifted_vertex(v: usize, n: usize) -> usize {
    if v == n - 1 {
        MAX_VERTICES - 1
    } else {
        v
    }
}

/// The 56-feature adjacency + op one-hot encoding.
pub fn encode_adj_onehot(spec: &ModelSpec, out: &mut [f32]) {
    assert_eq!(out.len(), ADJ_ONEHOT_DIM);
    out.fill(0.0);
    let n = spec.num_vertices();
    let mut lifted = [0u8; MAX_VERTICES];
    for i in 0..n {
        for j in i + 1..n {
            if spec.has_edge(i, j) {
                lifted[lifted_vertex(i, n)] |= 1 << lifted_vertex(j, n);
            }
        }
    }
    let mut p = 0;
    for (i, row) in lifted.iter().enumerate() {
        for j in i + 1..MAX_VERTICES {
            out[p] = (row >> j & 1) as f32;
            p += 1;
        }
    }
    for (v, &op) in spec.ops().iter().enumerate() {
        let hot = match op {
            Op::Input => 0,
            Op::Conv3x3 => 1,
            Op::Conv1x1 => 2,
            Op::MaxPool3x3 => 3,
            Op::Output => 4,
        };
        out[21 + lifted_vertex(v, n) * 5 + hot] = 1.0;
    }
}

/// The indices of every input-to-output path (sorted, with repeats for distinct paths of
/// the same shape), as BANANAS's `get_path_indices`.
pub fn path_indices(spec: &ModelSpec) -> Vec<usize> {
    let n = spec.num_vertices();
    // paths[v] = index contributions of paths input -> v as (index, length).
    let mut paths: Vec<Vec<(usize, u32)>> = vec![Vec::new(); n];
    paths[0].push((0, 0));
    for v in 0..n - 1 {
        let here = std::mem::take(&mut paths[v]);
        let add = |(idx, len): (usize, u32)| -> (usize, u32) {
            if v == 0 {
                (idx, len)
            } else {
                let m = spec.ops()[v].label() as usize;
                (idx + 3usize.pow(len) * (m + 1), len + 1)
            }
        };
        for (w, to) in paths.iter_mut().enumerate().skip(v + 1) {
            if spec.has_edge(v, w) {
                to.extend(here.iter().map(|&p| add(p)));
            }
        }
    }
    let mut idx: Vec<usize> = paths[n - 1].iter().map(|&(i, _)| i).collect();
    idx.sort_unstable();
    idx
}

/// The 364-feature BANANAS path encoding.
pub fn encode_path(spec: &ModelSpec, out: &mut [f32]) {
    assert_eq!(out.len(), PATH_DIM);
    out.fill(0.0);
    for i in path_indices(spec) {
        out[i] = 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::nb101::spec::readme_example as readme_spec;

    #[test]
    fn org_hand_checked() {
        let mut out = [0f32; ORG_DIM];
        encode_org(&readme_spec(), &mut out);
        let bits: String = out
            .iter()
            .map(|&v| if v == 1.0 { '1' } else { '0' })
            .collect();
        // c=1: A[0][1]=1, conv1x1 -> 1 1000
        // c=2: A[0..2][2]=10, conv3x3 -> 10 0100
        // c=3: 100, conv3x3 -> 100 0100
        // c=4: 0001, conv3x3 -> 0001 0100
        // c=5: 10000, maxpool -> 10000 0010
        // c=6: 011011, output -> 011011 0001
        let expected =
            "11000".to_owned() + "100100" + "1000100" + "00010100" + "100000010" + "0110110001";
        assert_eq!(bits, expected);
        // A 3-vertex chain: c=1 "1"+conv3x3, c=2 "01"+output, the rest zero.
        let chain = ModelSpec::from_raw("010001000", "input,conv3x3-bn-relu,output").unwrap();
        encode_org(&chain, &mut out);
        let bits: String = out
            .iter()
            .map(|&v| if v == 1.0 { '1' } else { '0' })
            .collect();
        assert_eq!(bits, format!("{}{}{}", "10100", "010001", "0".repeat(34)));
    }

    #[test]
    fn adj_onehot_lifts_output_to_last_vertex() {
        let chain = ModelSpec::from_raw("010001000", "input,conv3x3-bn-relu,output").unwrap();
        let mut out = [0f32; ADJ_ONEHOT_DIM];
        encode_adj_onehot(&chain, &mut out);
        let ones: Vec<usize> = (0..ADJ_ONEHOT_DIM).filter(|&i| out[i] == 1.0).collect();
        // edges (0,1) -> bit 0; (1,6) -> row 1 starts at 6, col 6 -> 6 + 4 = 10.
        // ops: v0 input -> 21, v1 conv3x3 -> 21+5+1 = 27, v6 output -> 21+30+4 = 55.
        assert_eq!(ones, vec![0, 10, 21, 27, 55]);
        encode_adj_onehot(&readme_spec(), &mut out);
        assert_eq!(out[..21].iter().sum::<f32>(), 9.0);
        assert_eq!(out[21..].iter().sum::<f32>(), 7.0);
    }

    #[test]
    fn path_encoding_counts_paths() {
        let chain = ModelSpec::from_raw("010001000", "input,conv3x3-bn-relu,output").unwrap();
        assert_eq!(path_indices(&chain), vec![1]);
        // Readme spec: paths in->1->out [c1], in->2->out [c3], in->3->4->out [c3,c3],
        // in->5->out [mp]: indices 2, 1, 1+3*1 = 4, 3.
        assert_eq!(path_indices(&readme_spec()), vec![1, 2, 3, 4]);
        let direct = ModelSpec::from_raw("0100", "input,output").unwrap();
        assert_eq!(path_indices(&direct), vec![0]);
        let mut out = vec![0f32; PATH_DIM];
        encode_path(&readme_spec(), &mut out);
        assert_eq!(out.iter().sum::<f32>(), 4.0);
    }
}
