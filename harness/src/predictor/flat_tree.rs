//! Regression trees in a flat traversal form and their batched prediction, shared by the
//! random forest and the GBDT (whose `forust-ml` trees are converted after fitting: forust's
//! own row-by-row prediction over column-major f64 copies was ~10x slower).
//!
//! A leaf loops to itself (`thr = +inf`), so [`LANES`] rows can walk a tree in lock step
//! (independent loads overlap) until none of them moves (all at leaves) or `depth` steps. Rows are processed in
//! blocks that stay in cache while every tree passes over them; each row's tree outputs are
//! summed in tree order, so the result does not depend on blocks, chunks or threads.

use super::kernels;
use crate::matrix::MatRef;

/// Rows per parallel task (fixed for determinism).
const CHUNK: usize = 8192;
/// Rows per block inside a task (all trees run over one block before the next).
const BLOCK: usize = 2048;
/// Rows traversed in lock step through one tree.
const LANES: usize = 8;

/// One node: rows with `x[feature] <= thr` go to `left`, others (NaN included) to `right`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct FlatNode {
    pub feature: u32,
    pub thr: f32,
    pub left: u32,
    pub right: u32,
}

impl FlatNode {
    /// A leaf at index `me` (loops to itself).
    pub fn leaf(me: u32) -> Self {
        Self {
            feature: 0,
            thr: f32::INFINITY,
            left: me,
            right: me,
        }
    }
}

/// A tree: nodes (root first), the output of each node (read at leaves), the maximum depth.
#[derive(Clone, Debug)]
pub(crate) struct FlatTree {
    pub nodes: Vec<FlatNode>,
    pub value: Vec<f64>,
    pub depth: usize,
}

impl FlatTree {
    /// The output for one row (reference path, used in tests).
    #[cfg(test)]
    pub fn eval(&self, row: &[f32]) -> f64 {
        let mut id = 0usize;
        for _ in 0..self.depth {
            let nd = self.nodes[id];
            id = if row[nd.feature as usize] <= nd.thr {
                nd.left
            } else {
                nd.right
            } as usize;
        }
        self.value[id]
    }
}

/// The largest f32 strictly below `s` when `s` is a split value of the rule `x < s`: then
/// `x < s` if and only if `x <= below(s)` for every f32 `x`.
pub(crate) fn below(s: f64) -> f32 {
    if s.is_nan() {
        return f32::NAN;
    }
    let t = s as f32;
    if (t as f64) < s {
        return t;
    }
    // t >= s: step down one f32.
    if t == 0.0 {
        return -f32::from_bits(1);
    }
    if t.is_infinite() && t > 0.0 {
        return f32::MAX;
    }
    let b = t.to_bits();
    f32::from_bits(if t > 0.0 { b - 1 } else { b + 1 })
}

/// Per row of `x`: `(init + sum over trees of the leaf value) / div`, the sum taken in tree
/// order starting from `init`, on at most `threads` workers.
pub(crate) fn predict(
    trees: &[FlatTree],
    x: MatRef<'_>,
    threads: usize,
    init: f64,
    div: f64,
) -> Vec<f32> {
    let d = x.cols;
    let chunks: Vec<MatRef<'_>> = (0..x.rows)
        .step_by(CHUNK)
        .map(|s| x.slice_rows(s, (s + CHUNK).min(x.rows)))
        .collect();
    let parts = kernels::map_tasks(
        threads,
        chunks,
        |_| vec![0f64; BLOCK],
        |acc, c| {
            let mut out = Vec::with_capacity(c.rows);
            for b0 in (0..c.rows).step_by(BLOCK) {
                let rows = BLOCK.min(c.rows - b0);
                let acc = &mut acc[..rows];
                acc.fill(init);
                let xb = &c.data[b0 * d..(b0 + rows) * d];
                for t in trees {
                    let full = rows / LANES * LANES;
                    for r0 in (0..full).step_by(LANES) {
                        let rows_x = &xb[r0 * d..(r0 + LANES) * d];
                        let mut idx = [0u32; LANES];
                        for _ in 0..t.depth {
                            let before = idx;
                            for (j, id) in idx.iter_mut().enumerate() {
                                let nd = t.nodes[*id as usize];
                                let v = rows_x[j * d + nd.feature as usize];
                                *id = if v <= nd.thr { nd.left } else { nd.right };
                            }
                            // An inner node always moves a row; no move = every lane at a leaf.
                            if idx == before {
                                break;
                            }
                        }
                        for (a, id) in acc[r0..r0 + LANES].iter_mut().zip(idx) {
                            *a += t.value[id as usize];
                        }
                    }
                    for (r, a) in acc.iter_mut().enumerate().skip(full) {
                        let row = &xb[r * d..(r + 1) * d];
                        let mut id = 0u32;
                        for _ in 0..t.depth {
                            let nd = t.nodes[id as usize];
                            let next = if row[nd.feature as usize] <= nd.thr {
                                nd.left
                            } else {
                                nd.right
                            };
                            if next == id {
                                break;
                            }
                            id = next;
                        }
                        *a += t.value[id as usize];
                    }
                }
                out.extend(acc.iter().map(|a| (a / div) as f32));
            }
            out
        },
    );
    parts.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_turns_strict_into_non_strict() {
        for s in [
            0.5f64,
            1.0,
            -1.0,
            0.0,
            1e-40,
            -1e-40,
            0.1,
            3.000_000_1,
            -2.5e30,
        ] {
            let t = below(s);
            assert!((t as f64) < s, "{s}: {t}");
            // The next f32 up is >= s.
            let up = if t >= 0.0 {
                f32::from_bits(t.to_bits() + 1)
            } else if t == -f32::from_bits(1) {
                0.0
            } else {
                f32::from_bits(t.to_bits() - 1)
            };
            assert!((up as f64) >= s, "{s}: {t} -> {up}");
        }
    }

    #[test]
    fn batched_equals_row_by_row() {
        // Two small trees over 3 features; 1,000 rows exercise full and partial lanes.
        let t1 = FlatTree {
            nodes: vec![
                FlatNode {
                    feature: 0,
                    thr: 0.5,
                    left: 1,
                    right: 2,
                },
                FlatNode::leaf(1),
                FlatNode {
                    feature: 2,
                    thr: -0.25,
                    left: 3,
                    right: 4,
                },
                FlatNode::leaf(3),
                FlatNode::leaf(4),
            ],
            value: vec![0.0, 1.5, 0.0, -2.0, 4.25],
            depth: 2,
        };
        let t2 = FlatTree {
            nodes: vec![
                FlatNode {
                    feature: 1,
                    thr: 0.0,
                    left: 1,
                    right: 2,
                },
                FlatNode::leaf(1),
                FlatNode::leaf(2),
            ],
            value: vec![0.0, 0.125, -0.5],
            depth: 1,
        };
        let n = 1003;
        let data: Vec<f32> = (0..n * 3)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 10.0)
            .collect();
        let x = MatRef::new(n, 3, &data);
        let trees = [t1, t2];
        for threads in [1, 2] {
            let p = predict(&trees, x, threads, 0.5, 2.0);
            assert_eq!(p.len(), n);
            for (i, pi) in p.iter().enumerate() {
                let e = (0.5 + trees[0].eval(x.row(i)) + trees[1].eval(x.row(i))) / 2.0;
                assert_eq!(*pi, e as f32, "row {i}");
            }
        }
    }
}
