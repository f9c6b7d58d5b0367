//! Genotypes: validation, canonical form, NASNet's concat rule, uniform sampling and
//! mutation.
//!
//! A cell is a list of `2 * blocks` (op, input) slots in DARTS's layout: slots `2b` and
//! `2b + 1` are the two inputs of block (node) `b`, whose output is hidden state `b + 2`.
//! The two slots of a block are combined by addition, so their order never matters: the
//! canonical form sorts them by (input, op index in the variant's op list). Block order does
//! matter. Every [`Genotype`] is canonical, so `Eq` and `Hash` compare architectures.

use super::ops::{CellVariant, Op};
use crate::rng::SeedRng;
use anyhow::{bail, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One slot of a cell: an op applied to an input state (DARTS's tuple order, op first).
pub type Slot = (Op, u8);

/// The normal or the reduction cell of a genotype.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// The normal cell (stride 1).
    Normal,
    /// The reduction cell (stride 2 on the cell inputs).
    Reduce,
}

impl CellKind {
    /// Both kinds, normal first (the order of the text, JSON and encodings).
    pub const ALL: [CellKind; 2] = [CellKind::Normal, CellKind::Reduce];

    /// `normal` or `reduce`, the field names of DARTS's `Genotype`.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Normal => "normal",
            CellKind::Reduce => "reduce",
        }
    }
}

impl std::fmt::Display for CellKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A NASNet or DARTS architecture: a normal and a reduction cell, always in canonical form.
///
/// The concat lists are not stored: they follow from the variant and the cell
/// ([`concat_of`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Genotype {
    variant: CellVariant,
    normal: Vec<Slot>,
    reduce: Vec<Slot>,
}

impl Genotype {
    /// Validates two cells (see [`validate_cell`]) and returns the canonical genotype.
    pub fn new(variant: CellVariant, normal: Vec<Slot>, reduce: Vec<Slot>) -> Result<Self> {
        validate_cell(variant, CellKind::Normal, &normal)?;
        validate_cell(variant, CellKind::Reduce, &reduce)?;
        let mut g = Self {
            variant,
            normal,
            reduce,
        };
        canonicalise_cell(variant, &mut g.normal);
        canonicalise_cell(variant, &mut g.reduce);
        Ok(g)
    }

    /// The cell space of this genotype.
    pub fn variant(&self) -> CellVariant {
        self.variant
    }

    /// The normal cell's slots (canonical order).
    pub fn normal(&self) -> &[Slot] {
        &self.normal
    }

    /// The reduction cell's slots (canonical order).
    pub fn reduce(&self) -> &[Slot] {
        &self.reduce
    }

    /// One cell's slots (canonical order).
    pub fn cell(&self, kind: CellKind) -> &[Slot] {
        match kind {
            CellKind::Normal => &self.normal,
            CellKind::Reduce => &self.reduce,
        }
    }

    fn cell_mut(&mut self, kind: CellKind) -> &mut Vec<Slot> {
        match kind {
            CellKind::Normal => &mut self.normal,
            CellKind::Reduce => &mut self.reduce,
        }
    }

    /// The hidden states a cell concatenates as its output ([`concat_of`]).
    pub fn concat(&self, kind: CellKind) -> Vec<u8> {
        concat_of(self.variant, self.cell(kind))
    }

    /// A uniformly random genotype: every slot's input uniform over the states its block may
    /// read (DARTS: the two inputs of a node are a uniform 2-subset of them) and its op
    /// uniform over [`CellVariant::sampling_ops`] (DARTS: the 7 ops other than `none`, as in
    /// NAS-Bench-301); then canonicalised.
    pub fn sample(variant: CellVariant, rng: &mut SeedRng) -> Self {
        let normal = sample_cell(variant, rng);
        let reduce = sample_cell(variant, rng);
        Self {
            variant,
            normal,
            reduce,
        }
    }

    /// One regularized-evolution mutation (as NASLib does for DARTS): pick the normal or
    /// reduction cell uniformly, a block uniformly, one of its two slots uniformly, and with
    /// probability 1/2 each change its input or its op to a uniformly chosen different valid
    /// value (inputs: the other states the block may read, DARTS also excluding the other
    /// slot's input; ops: [`CellVariant::sampling_ops`]). The result is canonicalised; a draw
    /// with no valid alternative (changing an input of DARTS node 0) or whose canonical form
    /// equals `self` is redrawn from scratch. Always returns a valid genotype different from
    /// `self` that differs from it in exactly one slot of one block (as multisets).
    pub fn mutate(&self, rng: &mut SeedRng) -> Self {
        let v = self.variant;
        loop {
            let kind = CellKind::ALL[rng.random_range(0..2usize)];
            let b = rng.random_range(0..v.blocks());
            let s = rng.random_range(0..2usize);
            let change_input = rng.random_range(0..2u8) == 0;
            let mut child = self.clone();
            let cell = child.cell_mut(kind);
            let i = 2 * b + s;
            let (op, input) = cell[i];
            if change_input {
                let other = cell[2 * b + 1 - s].1;
                let mut choices = [0u8; 16];
                let mut n = 0;
                for x in 0..v.inputs_of_block(b) as u8 {
                    if x != input && !(v.distinct_inputs() && x == other) {
                        choices[n] = x;
                        n += 1;
                    }
                }
                if n == 0 {
                    continue;
                }
                cell[i].1 = choices[rng.random_range(0..n)];
            } else {
                let ops = v.sampling_ops();
                cell[i].0 = match ops.iter().position(|&o| o == op) {
                    Some(k) => {
                        let j = rng.random_range(0..ops.len() - 1);
                        ops[if j >= k { j + 1 } else { j }]
                    }
                    // `none` (parsed DARTS genotypes only): any sampling op differs.
                    None => ops[rng.random_range(0..ops.len())],
                };
            }
            canonicalise_block(v, &mut cell[2 * b..2 * b + 2]);
            if child != *self {
                return child;
            }
        }
    }
}

/// Comma-separated op names of a variant, for messages.
pub(crate) fn op_names(variant: CellVariant) -> String {
    variant
        .ops()
        .iter()
        .map(|o| o.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks one cell: `2 * blocks` slots, every op in the variant's op list, the inputs of
/// block `b` in `0..=b + 1` and, for DARTS, the two inputs of a node distinct. Errors name the
/// cell, the slot index (`normal[3]`), the block and the problem.
pub fn validate_cell(variant: CellVariant, kind: CellKind, cell: &[Slot]) -> Result<()> {
    let word = variant.block_word();
    if cell.len() != variant.slots() {
        bail!(
            "{kind} cell has {} (op, input) pairs, expected {} for {variant} ({} {word}s x 2)",
            cell.len(),
            variant.slots(),
            variant.blocks()
        );
    }
    for (i, &(op, x)) in cell.iter().enumerate() {
        let b = i / 2;
        if variant.op_index(op).is_none() {
            bail!(
                "{kind}[{i}] ({word} {b}): op '{op}' is not a {variant} op (it is a {} op); \
                 {variant} ops: {}",
                variant.other(),
                op_names(variant)
            );
        }
        if x as usize >= variant.inputs_of_block(b) {
            bail!(
                "{kind}[{i}] ({word} {b}): input {x} out of range: {word} {b} may read states \
                 0..={}",
                b + 1
            );
        }
    }
    if variant.distinct_inputs() {
        for b in 0..variant.blocks() {
            let x = cell[2 * b].1;
            if x == cell[2 * b + 1].1 {
                bail!(
                    "{kind}[{}] and {kind}[{}] ({word} {b}): duplicate input {x}: the two \
                     inputs of a {variant} {word} must be distinct states",
                    2 * b,
                    2 * b + 1
                );
            }
        }
    }
    Ok(())
}

/// The hidden states a cell concatenates as its output. DARTS: all intermediate nodes,
/// `[2, 3, 4, 5]`. NASNet (Zoph et al. 2018): the hidden states `2..=blocks + 1` that no
/// block of the cell uses as an input, in increasing order; if every one is used, the last
/// block's state. (The last block's state can never be an input, so for a valid NASNet cell
/// the list always contains 6.)
pub fn concat_of(variant: CellVariant, cell: &[Slot]) -> Vec<u8> {
    let last = variant.blocks() + 1;
    match variant {
        CellVariant::Darts => (2..=last as u8).collect(),
        CellVariant::Nasnet => {
            let mut used = vec![false; last + 1];
            for &(_, x) in cell {
                if let Some(u) = used.get_mut(x as usize) {
                    *u = true;
                }
            }
            let out: Vec<u8> = (2..=last).filter(|&s| !used[s]).map(|s| s as u8).collect();
            if out.is_empty() {
                vec![last as u8]
            } else {
                out
            }
        }
    }
}

/// Canonical order of a slot inside its block: (input, op index in the variant's list).
fn sort_key(variant: CellVariant, (op, x): Slot) -> (u8, u8) {
    let k = variant.op_index(op).expect("validated op") as u8;
    (x, k)
}

fn canonicalise_block(variant: CellVariant, block: &mut [Slot]) {
    if sort_key(variant, block[1]) < sort_key(variant, block[0]) {
        block.swap(0, 1);
    }
}

fn canonicalise_cell(variant: CellVariant, cell: &mut [Slot]) {
    for block in cell.chunks_exact_mut(2) {
        canonicalise_block(variant, block);
    }
}

fn sample_cell(variant: CellVariant, rng: &mut SeedRng) -> Vec<Slot> {
    let ops = variant.sampling_ops();
    let mut cell = Vec::with_capacity(variant.slots());
    for b in 0..variant.blocks() {
        let n = variant.inputs_of_block(b);
        let (x0, x1) = if variant.distinct_inputs() {
            let a = rng.random_range(0..n);
            let c = rng.random_range(0..n - 1);
            (a, if c >= a { c + 1 } else { c })
        } else {
            (rng.random_range(0..n), rng.random_range(0..n))
        };
        let o0 = ops[rng.random_range(0..ops.len())];
        let o1 = ops[rng.random_range(0..ops.len())];
        cell.push((o0, x0 as u8));
        cell.push((o1, x1 as u8));
    }
    canonicalise_cell(variant, &mut cell);
    cell
}

#[cfg(test)]
mod tests {
    use super::super::encode::CellEncoding;
    use super::*;
    use crate::rng::stream;
    use std::collections::HashMap;

    fn darts_v2() -> Genotype {
        use Op::*;
        Genotype::new(
            CellVariant::Darts,
            vec![
                (SepConv3x3, 0),
                (SepConv3x3, 1),
                (SepConv3x3, 0),
                (SepConv3x3, 1),
                (SepConv3x3, 1),
                (SkipConnect, 0),
                (SkipConnect, 0),
                (DilConv3x3, 2),
            ],
            vec![
                (MaxPool3x3, 0),
                (MaxPool3x3, 1),
                (SkipConnect, 2),
                (MaxPool3x3, 1),
                (MaxPool3x3, 0),
                (SkipConnect, 2),
                (SkipConnect, 2),
                (MaxPool3x3, 1),
            ],
        )
        .unwrap()
    }

    #[test]
    fn canonical_form_is_invariant_to_slot_order() {
        let mut rng = stream("cells", 0, "canon");
        for v in CellVariant::ALL {
            for _ in 0..200 {
                let g = Genotype::sample(v, &mut rng);
                for kind in CellKind::ALL {
                    for b in 0..v.blocks() {
                        let mut cells = [g.normal().to_vec(), g.reduce().to_vec()];
                        let c = &mut cells[kind as usize];
                        c.swap(2 * b, 2 * b + 1);
                        let [n, r] = cells;
                        let h = Genotype::new(v, n, r).unwrap();
                        assert_eq!(h, g);
                        for enc in [CellEncoding::OneHot, CellEncoding::Adjacency] {
                            assert_eq!(h.encode(enc), g.encode(enc));
                        }
                    }
                }
                // Re-canonicalising a canonical genotype is the identity.
                let again = Genotype::new(v, g.normal().to_vec(), g.reduce().to_vec()).unwrap();
                assert_eq!(again.normal(), g.normal());
            }
        }
        // A hand-made swap: DARTS_V2's normal node 2 is ('sep_conv_3x3', 1), ('skip_connect', 0).
        let g = darts_v2();
        assert_eq!(
            &g.normal()[4..6],
            &[(Op::SkipConnect, 0), (Op::SepConv3x3, 1)]
        );
        // Equal inputs (NASNet) sort by the op's index in NASNet's list.
        let mut cell = vec![(Op::SepConv3x3, 0), (Op::Identity, 0)];
        cell.extend((0..8).map(|i| (Op::Identity, (i / 2) as u8)));
        let g = Genotype::new(CellVariant::Nasnet, cell.clone(), cell).unwrap();
        assert_eq!(&g.normal()[..2], &[(Op::Identity, 0), (Op::SepConv3x3, 0)]);
        // Block order matters.
        let mut a = darts_v2().normal().to_vec();
        a.swap(0, 2);
        a.swap(1, 3);
        assert_eq!(
            Genotype::new(CellVariant::Darts, a, darts_v2().reduce().to_vec()).unwrap(),
            darts_v2()
        );
        let mut b = darts_v2().normal().to_vec();
        b.swap(2, 4);
        b.swap(3, 5);
        assert_ne!(
            Genotype::new(CellVariant::Darts, b, darts_v2().reduce().to_vec()).unwrap(),
            darts_v2()
        );
    }

    #[test]
    fn nasnet_concat_rule_on_a_hand_made_cell() {
        use Op::*;
        // Block 0 -> state 2, ..., block 4 -> state 6. States 3 and 5 are read (by blocks 2
        // and 4), so the output concatenates 2, 4, 6.
        let cell = vec![
            (Identity, 0),
            (Conv3x3, 1),
            (SepConv3x3, 0),
            (SepConv5x5, 0),
            (MaxPool3x3, 3),
            (AvgPool3x3, 1),
            (Conv1x1, 1),
            (Conv1x1, 1),
            (SepConv7x7, 5),
            (Identity, 0),
        ];
        assert_eq!(concat_of(CellVariant::Nasnet, &cell), vec![2, 4, 6]);
        // A chain: every block reads the previous one, only the last is unused.
        let chain: Vec<Slot> = (0..5)
            .flat_map(|b| [(Identity, b as u8 + 1), (Conv1x1, b as u8 + 1)])
            .collect();
        assert_eq!(concat_of(CellVariant::Nasnet, &chain), vec![6]);
        // Nothing read: all five block outputs.
        let flat: Vec<Slot> = (0..10).map(|i| (Identity, (i % 2) as u8)).collect();
        assert_eq!(concat_of(CellVariant::Nasnet, &flat), vec![2, 3, 4, 5, 6]);
        let g = Genotype::new(CellVariant::Nasnet, cell, chain).unwrap();
        assert_eq!(g.concat(CellKind::Normal), vec![2, 4, 6]);
        assert_eq!(g.concat(CellKind::Reduce), vec![6]);
        assert_eq!(darts_v2().concat(CellKind::Reduce), vec![2, 3, 4, 5]);
    }

    #[test]
    fn validation_rejects_bad_cells() {
        let g = darts_v2();
        let msg = |n: Vec<Slot>| {
            format!(
                "{:#}",
                Genotype::new(CellVariant::Darts, n, g.reduce().to_vec()).unwrap_err()
            )
        };
        let mut n = g.normal().to_vec();
        n[7].1 = 5; // node 3 reads states 0..=4
        let m = msg(n);
        assert!(
            m.contains("normal[7]") && m.contains("input 5 out of range"),
            "{m}"
        );
        assert!(m.contains("node 3 may read states 0..=4"), "{m}");
        let mut n = g.normal().to_vec();
        n[7].1 = 4;
        assert!(Genotype::new(CellVariant::Darts, n, g.reduce().to_vec()).is_ok());
        let mut n = g.normal().to_vec();
        n[2].0 = Op::Identity;
        let m = msg(n);
        assert!(m.contains("normal[2]") && m.contains("'identity' is not a darts op"));
        let mut n = g.normal().to_vec();
        n[3].1 = 0;
        n[2].1 = 0;
        let m = msg(n);
        assert!(
            m.contains("duplicate input 0") && m.contains("node 1"),
            "{m}"
        );
        let m = msg(g.normal()[..6].to_vec());
        assert!(m.contains("6 (op, input) pairs, expected 8"), "{m}");
        // NASNet allows equal inputs but not DARTS-only ops.
        let cell: Vec<Slot> = (0..10).map(|i| (Op::Conv1x1, (i / 2) as u8)).collect();
        assert!(Genotype::new(CellVariant::Nasnet, cell.clone(), cell.clone()).is_ok());
        let mut bad = cell.clone();
        bad[9].0 = Op::SkipConnect;
        assert!(Genotype::new(CellVariant::Nasnet, cell, bad).is_err());
    }

    fn assert_valid(g: &Genotype) {
        for kind in CellKind::ALL {
            validate_cell(g.variant(), kind, g.cell(kind)).unwrap();
            for b in g.cell(kind).chunks(2) {
                assert!(sort_key(g.variant(), b[0]) <= sort_key(g.variant(), b[1]));
            }
        }
    }

    #[test]
    fn sampling_is_valid_and_covers_every_value_evenly() {
        for v in CellVariant::ALL {
            let mut rng = stream("cells", 1, v.name());
            let n = 20_000;
            let mut op_counts: HashMap<Op, usize> = HashMap::new();
            // (block, input) -> count
            let mut input_counts = vec![vec![0usize; v.input_positions()]; v.blocks()];
            for _ in 0..n {
                let g = Genotype::sample(v, &mut rng);
                assert_valid(&g);
                for kind in CellKind::ALL {
                    for (i, &(op, x)) in g.cell(kind).iter().enumerate() {
                        *op_counts.entry(op).or_default() += 1;
                        input_counts[i / 2][x as usize] += 1;
                    }
                }
            }
            let ops = v.sampling_ops();
            let expect = (n * 2 * v.slots()) as f64 / ops.len() as f64;
            for op in ops {
                let c = op_counts[op] as f64;
                assert!(
                    (c - expect).abs() < 0.05 * expect,
                    "{v} {op}: {c} vs {expect}"
                );
            }
            assert_eq!(
                op_counts.len(),
                ops.len(),
                "{v}: ops outside the sampling list"
            );
            for (b, counts) in input_counts.iter().enumerate() {
                let k = v.inputs_of_block(b);
                // 2 cells x 2 slots per block; each state is one of the k choices of a slot.
                let expect = (n * 4) as f64 / k as f64;
                for (x, &c) in counts.iter().enumerate() {
                    if x < k {
                        let c = c as f64;
                        assert!((c - expect).abs() < 0.05 * expect, "{v} b{b} x{x}: {c}");
                    } else {
                        assert_eq!(c, 0);
                    }
                }
            }
        }
    }

    /// Per block, the multiset of slots of `a` minus that of `b`, and vice versa.
    fn block_diff(a: &[Slot], b: &[Slot]) -> (Vec<Slot>, Vec<Slot>) {
        let mut only_a = a.to_vec();
        let mut only_b = Vec::new();
        for s in b {
            match only_a.iter().position(|t| t == s) {
                Some(p) => {
                    only_a.remove(p);
                }
                None => only_b.push(*s),
            }
        }
        (only_a, only_b)
    }

    #[test]
    fn mutation_changes_exactly_one_slot() {
        for v in CellVariant::ALL {
            let mut rng = stream("cells", 2, v.name());
            let (mut op_changes, mut input_changes, mut reduce_changes) = (0, 0, 0);
            let mut g = Genotype::sample(v, &mut rng);
            for step in 0..3000 {
                let m = g.mutate(&mut rng);
                assert_valid(&m);
                assert_ne!(m, g);
                let mut changed = Vec::new();
                for kind in CellKind::ALL {
                    for (bg, bm) in g.cell(kind).chunks(2).zip(m.cell(kind).chunks(2)) {
                        let (a, b) = block_diff(bg, bm);
                        if !a.is_empty() {
                            changed.push((kind, a, b));
                        }
                    }
                }
                assert_eq!(changed.len(), 1, "{g} -> {m}");
                let (kind, a, b) = &changed[0];
                assert_eq!((a.len(), b.len()), (1, 1), "{g} -> {m}");
                let (old, new) = (a[0], b[0]);
                assert!((old.0 == new.0) != (old.1 == new.1));
                if old.0 != new.0 {
                    op_changes += 1;
                    assert!(v.sampling_ops().contains(&new.0));
                } else {
                    input_changes += 1;
                }
                reduce_changes += (*kind == CellKind::Reduce) as usize;
                // Walk on sometimes, so mutations of mutants are covered too.
                if step % 3 == 0 {
                    g = m;
                }
            }
            assert!(op_changes > 1000 && input_changes > 800, "{v}");
            assert!(
                (1300..1700).contains(&reduce_changes),
                "{v}: {reduce_changes}"
            );
        }
        // A parsed DARTS genotype with `none` mutates too.
        let mut cell = darts_v2().normal().to_vec();
        for s in &mut cell {
            s.0 = Op::Zero;
        }
        let g = Genotype::new(CellVariant::Darts, cell.clone(), cell).unwrap();
        let mut rng = stream("cells", 3, "none");
        for _ in 0..100 {
            let m = g.mutate(&mut rng);
            assert_ne!(m, g);
            assert_valid(&m);
        }
    }

    #[test]
    fn sampling_and_mutation_are_deterministic() {
        for v in CellVariant::ALL {
            let run = |seed| {
                let mut rng = stream("cells", seed, "det");
                let g = Genotype::sample(v, &mut rng);
                let m = g.mutate(&mut rng);
                (g, m)
            };
            assert_eq!(run(7), run(7));
            assert_ne!(run(7), run(8));
        }
    }
}
