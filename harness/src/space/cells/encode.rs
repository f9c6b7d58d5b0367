//! Feature encodings of genotypes and the one-hot Hamming distance.
//!
//! - [`CellEncoding::OneHot`] (`onehot`): for the normal then the reduction cell, each block,
//!   each slot in canonical order: a one-hot of the input over `blocks + 1` states (NASNet 6,
//!   DARTS 5) followed by a one-hot of the op over the variant's full op list (NASNet 13,
//!   DARTS 8). Slot `t` (counting over both cells) starts at `t * (blocks + 1 + ops)`.
//!   NASNet: 2 * 5 * 2 * (6 + 13) = 380 features; DARTS: 2 * 4 * 2 * (5 + 8) = 208.
//! - [`CellEncoding::Adjacency`] (`adjacency`, order-invariant, NAS-Bench-301 / BANANAS
//!   style): for each cell, each block, each input state, each op, the number of slots of
//!   that block applying that op to that state; index
//!   `((cell * blocks + block) * (blocks + 1) + input) * ops + op`.
//!   NASNet: 2 * 5 * 6 * 13 = 780 features; DARTS: 2 * 4 * 5 * 8 = 320.

use super::genotype::{CellKind, Genotype};
use super::ops::CellVariant;
use serde::{Deserialize, Serialize};

/// Which feature vector a genotype is encoded as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellEncoding {
    /// Per slot, one-hot input then one-hot op (default).
    #[default]
    OneHot,
    /// Per cell, block, input and op: the count of that op on that edge.
    Adjacency,
}

impl CellEncoding {
    /// Both encodings.
    pub const ALL: [CellEncoding; 2] = [CellEncoding::OneHot, CellEncoding::Adjacency];

    /// Name as used in specs and JSON: `onehot` or `adjacency`.
    pub fn name(self) -> &'static str {
        match self {
            CellEncoding::OneHot => "onehot",
            CellEncoding::Adjacency => "adjacency",
        }
    }

    /// Parses a name of [`CellEncoding::name`].
    pub fn parse(s: &str) -> Option<Self> {
        CellEncoding::ALL.into_iter().find(|e| e.name() == s)
    }
}

impl std::fmt::Display for CellEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Number of features of `encoding` for `variant` (onehot: NASNet 380, DARTS 208;
/// adjacency: NASNet 780, DARTS 320).
pub fn feature_dim(variant: CellVariant, encoding: CellEncoding) -> usize {
    let (b, p, k) = (
        variant.blocks(),
        variant.input_positions(),
        variant.ops().len(),
    );
    match encoding {
        CellEncoding::OneHot => 2 * b * 2 * (p + k),
        CellEncoding::Adjacency => 2 * b * p * k,
    }
}

/// Bytes of a packed genotype code (two per slot, at most 2 x 5 x 2 slots).
const CODE_BYTES: usize = 40;
/// Words of a packed genotype code.
pub(crate) const CODE_WORDS: usize = CODE_BYTES / 8;
/// A genotype packed for fast comparison: slot `t` (over both cells, canonical order) is
/// byte `2t` = input and byte `2t + 1` = op index; unused bytes are zero.
pub(crate) type Code = [u64; CODE_WORDS];

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// Number of nonzero bytes of `x`.
#[inline]
fn nonzero_bytes(x: u64) -> u32 {
    ((((x & LOW7) + LOW7) | x) & !LOW7).count_ones()
}

/// Hamming distance of the one-hot encodings of two packed codes of the same variant: every
/// differing input or op of a slot flips two bits.
#[inline]
pub(crate) fn code_distance(a: &Code, b: &Code) -> u32 {
    let mut n = 0;
    for i in 0..CODE_WORDS {
        n += nonzero_bytes(a[i] ^ b[i]);
    }
    2 * n
}

impl Genotype {
    /// Writes the feature vector of `encoding` into `out` (`feature_dim(variant, encoding)`
    /// long; panics otherwise).
    pub fn encode_into(&self, encoding: CellEncoding, out: &mut [f32]) {
        let v = self.variant();
        assert_eq!(
            out.len(),
            feature_dim(v, encoding),
            "feature vector length for {v} {encoding}"
        );
        out.fill(0.0);
        let (p, k) = (v.input_positions(), v.ops().len());
        let slots = CellKind::ALL.iter().flat_map(|&c| self.cell(c));
        match encoding {
            CellEncoding::OneHot => {
                for (t, &(op, x)) in slots.enumerate() {
                    let base = t * (p + k);
                    out[base + x as usize] = 1.0;
                    out[base + p + v.op_index(op).expect("valid op")] = 1.0;
                }
            }
            CellEncoding::Adjacency => {
                // Slot t belongs to (cell, block) number t / 2.
                for (t, &(op, x)) in slots.enumerate() {
                    let i = ((t / 2) * p + x as usize) * k + v.op_index(op).expect("valid op");
                    out[i] += 1.0;
                }
            }
        }
    }

    /// The feature vector of `encoding`.
    pub fn encode(&self, encoding: CellEncoding) -> Vec<f32> {
        let mut out = vec![0.0; feature_dim(self.variant(), encoding)];
        self.encode_into(encoding, &mut out);
        out
    }

    /// Hamming distance between the one-hot encodings of two genotypes (twice the number of
    /// slots' inputs and ops that differ, slot by slot in canonical order). Panics if the
    /// variants differ.
    pub fn onehot_distance(&self, other: &Genotype) -> u32 {
        assert_eq!(self.variant(), other.variant(), "distance across variants");
        code_distance(&self.code(), &other.code())
    }

    /// The packed code of this genotype (injective within a variant).
    pub(crate) fn code(&self) -> Code {
        let mut bytes = [0u8; CODE_BYTES];
        let v = self.variant();
        let slots = CellKind::ALL.iter().flat_map(|&c| self.cell(c));
        for (t, &(op, x)) in slots.enumerate() {
            bytes[2 * t] = x;
            bytes[2 * t + 1] = v.op_index(op).expect("valid op") as u8;
        }
        let mut code = [0u64; CODE_WORDS];
        for (w, chunk) in code.iter_mut().zip(bytes.chunks_exact(8)) {
            *w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        }
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn feature_dims() {
        assert_eq!(feature_dim(CellVariant::Nasnet, CellEncoding::OneHot), 380);
        assert_eq!(feature_dim(CellVariant::Darts, CellEncoding::OneHot), 208);
        assert_eq!(
            feature_dim(CellVariant::Nasnet, CellEncoding::Adjacency),
            780
        );
        assert_eq!(
            feature_dim(CellVariant::Darts, CellEncoding::Adjacency),
            320
        );
        for e in CellEncoding::ALL {
            assert_eq!(CellEncoding::parse(e.name()), Some(e));
            assert_eq!(
                serde_json::to_string(&e).unwrap(),
                format!("\"{}\"", e.name())
            );
        }
    }

    #[test]
    fn encodings_describe_the_genotype() {
        for v in CellVariant::ALL {
            let mut rng = stream("cells-enc", 0, v.name());
            let (p, k) = (v.input_positions(), v.ops().len());
            for _ in 0..300 {
                let g = Genotype::sample(v, &mut rng);
                let oh = g.encode(CellEncoding::OneHot);
                let adj = g.encode(CellEncoding::Adjacency);
                assert_eq!(oh.iter().sum::<f32>(), (2 * 2 * v.slots()) as f32);
                assert_eq!(adj.iter().sum::<f32>(), (2 * v.slots()) as f32);
                for (t, &(op, x)) in CellKind::ALL.iter().flat_map(|&c| g.cell(c)).enumerate() {
                    let slot = &oh[t * (p + k)..(t + 1) * (p + k)];
                    assert_eq!(slot[x as usize], 1.0);
                    assert_eq!(slot[p + v.op_index(op).unwrap()], 1.0);
                    let cb = t / 2;
                    let i = (cb * p + x as usize) * k + v.op_index(op).unwrap();
                    assert!(adj[i] >= 1.0);
                }
            }
        }
    }

    #[test]
    fn packed_distance_is_the_onehot_hamming_distance() {
        for v in CellVariant::ALL {
            let mut rng = stream("cells-enc", 1, v.name());
            let gs: Vec<Genotype> = (0..60).map(|_| Genotype::sample(v, &mut rng)).collect();
            for a in &gs {
                let m = a.mutate(&mut rng);
                for b in gs.iter().chain([&m]) {
                    let (ea, eb) = (
                        a.encode(CellEncoding::OneHot),
                        b.encode(CellEncoding::OneHot),
                    );
                    let h = ea.iter().zip(&eb).filter(|(x, y)| x != y).count() as u32;
                    assert_eq!(a.onehot_distance(b), h);
                }
                assert_eq!(a.onehot_distance(a), 0);
            }
        }
        assert_eq!(nonzero_bytes(0), 0);
        assert_eq!(nonzero_bytes(0x8000_0001_0000_ff00), 3);
        assert_eq!(nonzero_bytes(u64::MAX), 8);
    }
}
