//! Operations and the two cell variants ([`CellVariant::Nasnet`], [`CellVariant::Darts`]).
//!
//! [`Op`] is the union of both variants' op lists; each variant has its own ordered list
//! ([`CellVariant::ops`]) and an op's index in that list is what canonical ordering and the
//! encodings use.

use serde::{Deserialize, Serialize};

/// A candidate operation on an edge of a cell (the union of the NASNet and DARTS lists).
///
/// Names ([`Op::name`]) are the strings of the DARTS / NASNet code; the same name is the same
/// variant of this enum in both spaces (e.g. `sep_conv_3x3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Op {
    /// `none`: DARTS's zero op (no connection). DARTS only.
    Zero,
    /// `max_pool_3x3`.
    MaxPool3x3,
    /// `avg_pool_3x3`.
    AvgPool3x3,
    /// `skip_connect`: identity (factorized reduce on a stride-2 edge). DARTS only.
    SkipConnect,
    /// `sep_conv_3x3`: depthwise-separable 3x3 convolution.
    SepConv3x3,
    /// `sep_conv_5x5`.
    SepConv5x5,
    /// `dil_conv_3x3`: dilated separable 3x3 convolution.
    DilConv3x3,
    /// `dil_conv_5x5`. DARTS only.
    DilConv5x5,
    /// `identity`. NASNet only.
    Identity,
    /// `conv_1x3_3x1`: a 1x3 then a 3x1 convolution. NASNet only.
    Conv1x3Then3x1,
    /// `conv_1x7_7x1`: a 1x7 then a 7x1 convolution. NASNet only.
    Conv1x7Then7x1,
    /// `max_pool_5x5`. NASNet only.
    MaxPool5x5,
    /// `max_pool_7x7`. NASNet only.
    MaxPool7x7,
    /// `conv_1x1`. NASNet only.
    Conv1x1,
    /// `conv_3x3`. NASNet only.
    Conv3x3,
    /// `sep_conv_7x7`. NASNet only.
    SepConv7x7,
}

/// Number of distinct ops over both variants.
pub const NUM_OPS: usize = 16;

impl Op {
    /// Every op, in declaration order.
    pub const ALL: [Op; NUM_OPS] = [
        Op::Zero,
        Op::MaxPool3x3,
        Op::AvgPool3x3,
        Op::SkipConnect,
        Op::SepConv3x3,
        Op::SepConv5x5,
        Op::DilConv3x3,
        Op::DilConv5x5,
        Op::Identity,
        Op::Conv1x3Then3x1,
        Op::Conv1x7Then7x1,
        Op::MaxPool5x5,
        Op::MaxPool7x7,
        Op::Conv1x1,
        Op::Conv3x3,
        Op::SepConv7x7,
    ];

    /// The op's name as written in genotypes, e.g. `sep_conv_3x3`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Zero => "none",
            Op::MaxPool3x3 => "max_pool_3x3",
            Op::AvgPool3x3 => "avg_pool_3x3",
            Op::SkipConnect => "skip_connect",
            Op::SepConv3x3 => "sep_conv_3x3",
            Op::SepConv5x5 => "sep_conv_5x5",
            Op::DilConv3x3 => "dil_conv_3x3",
            Op::DilConv5x5 => "dil_conv_5x5",
            Op::Identity => "identity",
            Op::Conv1x3Then3x1 => "conv_1x3_3x1",
            Op::Conv1x7Then7x1 => "conv_1x7_7x1",
            Op::MaxPool5x5 => "max_pool_5x5",
            Op::MaxPool7x7 => "max_pool_7x7",
            Op::Conv1x1 => "conv_1x1",
            Op::Conv3x3 => "conv_3x3",
            Op::SepConv7x7 => "sep_conv_7x7",
        }
    }

    /// The op of a name (any variant), or `None` if no variant has it.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// NASNet's 13 ops (Zoph et al. 2018), in this order.
pub const NASNET_OPS: [Op; 13] = [
    Op::Identity,
    Op::Conv1x3Then3x1,
    Op::Conv1x7Then7x1,
    Op::DilConv3x3,
    Op::AvgPool3x3,
    Op::MaxPool3x3,
    Op::MaxPool5x5,
    Op::MaxPool7x7,
    Op::Conv1x1,
    Op::Conv3x3,
    Op::SepConv3x3,
    Op::SepConv5x5,
    Op::SepConv7x7,
];

/// DARTS's 8 ops (`PRIMITIVES` of the DARTS code), in this order.
pub const DARTS_OPS: [Op; 8] = [
    Op::Zero,
    Op::MaxPool3x3,
    Op::AvgPool3x3,
    Op::SkipConnect,
    Op::SepConv3x3,
    Op::SepConv5x5,
    Op::DilConv3x3,
    Op::DilConv5x5,
];

/// The DARTS ops used by sampling and mutation: all but `none`, as in NAS-Bench-301 (a
/// discrete DARTS genotype never selects the zero op).
pub const DARTS_SAMPLING_OPS: [Op; 7] = [
    Op::MaxPool3x3,
    Op::AvgPool3x3,
    Op::SkipConnect,
    Op::SepConv3x3,
    Op::SepConv5x5,
    Op::DilConv3x3,
    Op::DilConv5x5,
];

/// Marker for "not in this variant" in the index tables.
const ABSENT: u8 = u8::MAX;

const fn index_table(list: &[Op]) -> [u8; NUM_OPS] {
    let mut t = [ABSENT; NUM_OPS];
    let mut i = 0;
    while i < list.len() {
        t[list[i] as usize] = i as u8;
        i += 1;
    }
    t
}

const NASNET_INDEX: [u8; NUM_OPS] = index_table(&NASNET_OPS);
const DARTS_INDEX: [u8; NUM_OPS] = index_table(&DARTS_OPS);

/// Which cell space: NASNet's or DARTS's (NAS-Bench-301).
///
/// Both have a normal and a reduction cell with two inputs (`c_{k-2}` = state 0,
/// `c_{k-1}` = state 1); block (node) `b` (0-based) produces state `b + 2` and may read any
/// state in `0..=b + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellVariant {
    /// NASNet (Zoph et al. 2018): 5 blocks, 13 ops, the two inputs of a block may be equal,
    /// output = the hidden states no block uses.
    Nasnet,
    /// DARTS / NAS-Bench-301: 4 nodes, 8 ops, the two inputs of a node are distinct states,
    /// output = all 4 nodes.
    Darts,
}

impl CellVariant {
    /// Both variants.
    pub const ALL: [CellVariant; 2] = [CellVariant::Nasnet, CellVariant::Darts];

    /// Name as used in JSON and specs: `nasnet` or `darts`.
    pub fn name(self) -> &'static str {
        match self {
            CellVariant::Nasnet => "nasnet",
            CellVariant::Darts => "darts",
        }
    }

    /// Parses a name of [`CellVariant::name`].
    pub fn parse(s: &str) -> Option<Self> {
        CellVariant::ALL.into_iter().find(|v| v.name() == s)
    }

    /// What the variant calls a block in messages: `block` (NASNet) or `node` (DARTS).
    pub fn block_word(self) -> &'static str {
        match self {
            CellVariant::Nasnet => "block",
            CellVariant::Darts => "node",
        }
    }

    /// Blocks (intermediate nodes) per cell: 5 (NASNet) or 4 (DARTS).
    pub fn blocks(self) -> usize {
        match self {
            CellVariant::Nasnet => 5,
            CellVariant::Darts => 4,
        }
    }

    /// (op, input) slots per cell: two per block.
    pub fn slots(self) -> usize {
        2 * self.blocks()
    }

    /// Number of states any block may read (`blocks() + 1`: 6 for NASNet, 5 for DARTS); the
    /// length of an input one-hot.
    pub fn input_positions(self) -> usize {
        self.blocks() + 1
    }

    /// Number of states block `block` may read (`block + 2`: states `0..=block + 1`).
    pub fn inputs_of_block(self, block: usize) -> usize {
        block + 2
    }

    /// Whether the two inputs of a block must be distinct states (DARTS) or may be equal
    /// (NASNet).
    pub fn distinct_inputs(self) -> bool {
        matches!(self, CellVariant::Darts)
    }

    /// The variant's full op list, in its canonical order (the order of the encodings).
    pub fn ops(self) -> &'static [Op] {
        match self {
            CellVariant::Nasnet => &NASNET_OPS,
            CellVariant::Darts => &DARTS_OPS,
        }
    }

    /// The ops sampling and mutation draw from: all ops for NASNet; all but `none` for DARTS
    /// (as NAS-Bench-301 does). Parsing accepts every op of [`CellVariant::ops`].
    pub fn sampling_ops(self) -> &'static [Op] {
        match self {
            CellVariant::Nasnet => &NASNET_OPS,
            CellVariant::Darts => &DARTS_SAMPLING_OPS,
        }
    }

    /// Index of `op` in [`CellVariant::ops`], or `None` if the variant lacks it.
    pub fn op_index(self, op: Op) -> Option<usize> {
        let t = match self {
            CellVariant::Nasnet => &NASNET_INDEX,
            CellVariant::Darts => &DARTS_INDEX,
        };
        let i = t[op as usize];
        (i != ABSENT).then_some(i as usize)
    }

    /// The op of this variant with that name, or `None`.
    pub fn op_by_name(self, name: &str) -> Option<Op> {
        self.ops().iter().copied().find(|op| op.name() == name)
    }

    /// The other variant.
    pub fn other(self) -> CellVariant {
        match self {
            CellVariant::Nasnet => CellVariant::Darts,
            CellVariant::Darts => CellVariant::Nasnet,
        }
    }
}

impl std::fmt::Display for CellVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_lists_match_the_papers() {
        let names = |v: CellVariant| v.ops().iter().map(|o| o.name()).collect::<Vec<_>>();
        assert_eq!(
            names(CellVariant::Nasnet),
            [
                "identity",
                "conv_1x3_3x1",
                "conv_1x7_7x1",
                "dil_conv_3x3",
                "avg_pool_3x3",
                "max_pool_3x3",
                "max_pool_5x5",
                "max_pool_7x7",
                "conv_1x1",
                "conv_3x3",
                "sep_conv_3x3",
                "sep_conv_5x5",
                "sep_conv_7x7"
            ]
        );
        assert_eq!(
            names(CellVariant::Darts),
            [
                "none",
                "max_pool_3x3",
                "avg_pool_3x3",
                "skip_connect",
                "sep_conv_3x3",
                "sep_conv_5x5",
                "dil_conv_3x3",
                "dil_conv_5x5"
            ]
        );
        assert!(!CellVariant::Darts.sampling_ops().contains(&Op::Zero));
        assert_eq!(CellVariant::Darts.sampling_ops().len(), 7);
    }

    #[test]
    fn names_and_indices_are_consistent() {
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
            assert_eq!(
                CellVariant::ALL
                    .iter()
                    .filter(|v| v.op_index(op).is_some())
                    .count(),
                if [
                    Op::MaxPool3x3,
                    Op::AvgPool3x3,
                    Op::SepConv3x3,
                    Op::SepConv5x5,
                    Op::DilConv3x3
                ]
                .contains(&op)
                {
                    2
                } else {
                    1
                }
            );
        }
        for v in CellVariant::ALL {
            assert_eq!(CellVariant::parse(v.name()), Some(v));
            for (i, &op) in v.ops().iter().enumerate() {
                assert_eq!(v.op_index(op), Some(i));
                assert_eq!(v.op_by_name(op.name()), Some(op));
            }
        }
        assert_eq!(CellVariant::Darts.op_index(Op::Identity), None);
        assert_eq!(CellVariant::Nasnet.op_index(Op::SkipConnect), None);
        assert_eq!(Op::from_name("conv_5x5"), None);
    }
}
