//! A NAS-Bench-101 cell: upper-triangular adjacency over at most 7 vertices plus one op per
//! vertex, with nasbench's pruning and validity rules.
//!
//! Semantics follow nasbench (`model_spec.ModelSpec`, `api.NASBench._check_spec`): pruning
//! removes every vertex that is not on an input-to-output path; if the input cannot reach the
//! output the spec is invalid; after pruning a cell is in the space if it has at most 7
//! vertices and at most 9 edges, vertex 0 is `input`, the last vertex is `output` and every
//! other vertex has one of the three interior ops.

use super::{MAX_EDGES, MAX_VERTICES};

/// A vertex operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// The cell input (vertex 0).
    Input,
    /// `conv3x3-bn-relu` (nasbench label 0).
    Conv3x3,
    /// `conv1x1-bn-relu` (nasbench label 1).
    Conv1x1,
    /// `maxpool3x3` (nasbench label 2).
    MaxPool3x3,
    /// The cell output (last vertex).
    Output,
}

impl Op {
    /// The interior ops in nasbench's canonical order (`available_ops`): the hash label of
    /// an op is its index here.
    pub const INTERIOR: [Op; 3] = [Op::Conv3x3, Op::Conv1x1, Op::MaxPool3x3];

    /// The op name used in the official file and in nasbench.
    pub fn name(self) -> &'static str {
        match self {
            Op::Input => "input",
            Op::Conv3x3 => "conv3x3-bn-relu",
            Op::Conv1x1 => "conv1x1-bn-relu",
            Op::MaxPool3x3 => "maxpool3x3",
            Op::Output => "output",
        }
    }
    /// A short name for compact descriptions (`in`, `c3`, `c1`, `mp`, `out`).
    pub fn short(self) -> &'static str {
        match self {
            Op::Input => "in",
            Op::Conv3x3 => "c3",
            Op::Conv1x1 => "c1",
            Op::MaxPool3x3 => "mp",
            Op::Output => "out",
        }
    }
    /// Parses an official op name or a short name.
    pub fn from_name(s: &str) -> Option<Op> {
        Some(match s {
            "input" | "in" => Op::Input,
            "conv3x3-bn-relu" | "c3" => Op::Conv3x3,
            "conv1x1-bn-relu" | "c1" => Op::Conv1x1,
            "maxpool3x3" | "mp" => Op::MaxPool3x3,
            "output" | "out" => Op::Output,
            _ => return None,
        })
    }
    /// nasbench's hash label: -1 input, 0..=2 interior (index in [`Op::INTERIOR`]), -2 output.
    pub fn label(self) -> i8 {
        match self {
            Op::Input => -1,
            Op::Conv3x3 => 0,
            Op::Conv1x1 => 1,
            Op::MaxPool3x3 => 2,
            Op::Output => -2,
        }
    }
    /// The interior op with hash label `l` (0..=2).
    pub fn interior(l: u8) -> Op {
        Op::INTERIOR[l as usize]
    }
}

/// Why a spec could not be built or is outside the space.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The adjacency is not a square matrix of 0/1.
    #[error("adjacency is not a square 0/1 matrix: {0}")]
    BadMatrix(String),
    /// More vertices than the space allows.
    #[error("{0} vertices (at most {MAX_VERTICES} allowed)")]
    TooManyVertices(usize),
    /// Fewer than 2 vertices.
    #[error("{0} vertices (a cell needs an input and an output)")]
    TooFewVertices(usize),
    /// An edge at or below the diagonal.
    #[error("adjacency is not strictly upper-triangular (edge {0} -> {1})")]
    NotUpperTriangular(usize, usize),
    /// The op list length differs from the number of vertices.
    #[error("{ops} ops for {vertices} vertices")]
    OpsLength {
        /// Number of ops.
        ops: usize,
        /// Number of vertices.
        vertices: usize,
    },
    /// An op name that is not one of the five.
    #[error(
        "unknown op {0:?} (expected input, conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3, output)"
    )]
    UnknownOp(String),
    /// The input does not reach the output.
    #[error("invalid spec: the input is not connected to the output")]
    Disconnected,
    /// More edges than the space allows (after pruning).
    #[error("{0} edges after pruning (at most {MAX_EDGES} allowed)")]
    TooManyEdges(usize),
    /// Vertex 0 is not `input`, the last is not `output`, or an interior vertex is not an
    /// interior op.
    #[error("op {op} at vertex {vertex} of {vertices} (input must be first, output last, interior ops in between)")]
    MisplacedOp {
        /// The op.
        op: &'static str,
        /// Its vertex.
        vertex: usize,
        /// Number of vertices.
        vertices: usize,
    },
}

/// A cell spec: `n` vertices, edges as row bitmasks (bit `j` of `rows[i]` = edge `i -> j`),
/// one op per vertex. Entries past `n` are zero / [`Op::Input`] and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelSpec {
    n: u8,
    rows: [u8; MAX_VERTICES],
    ops: [Op; MAX_VERTICES],
}

/// Bit index of edge `x -> y` (`x < y`) in the packed adjacency: nasbench's
/// `gen_is_edge_fn` order, `y * (y - 1) / 2 + x`.
pub const fn edge_bit(x: usize, y: usize) -> usize {
    y * (y - 1) / 2 + x
}

impl ModelSpec {
    /// A spec from a 0/1 matrix (rows) and ops; checks shape and upper-triangularity only.
    pub fn new(matrix: &[Vec<u8>], ops: &[Op]) -> Result<Self, SpecError> {
        let n = matrix.len();
        Self::check_n(n)?;
        if ops.len() != n {
            return Err(SpecError::OpsLength {
                ops: ops.len(),
                vertices: n,
            });
        }
        let mut rows = [0u8; MAX_VERTICES];
        for (i, row) in matrix.iter().enumerate() {
            if row.len() != n {
                return Err(SpecError::BadMatrix(format!(
                    "row {i} has {} entries, expected {n}",
                    row.len()
                )));
            }
            for (j, &v) in row.iter().enumerate() {
                match v {
                    0 => {}
                    1 if j > i => rows[i] |= 1 << j,
                    1 => return Err(SpecError::NotUpperTriangular(i, j)),
                    _ => return Err(SpecError::BadMatrix(format!("entry ({i}, {j}) is {v}"))),
                }
            }
        }
        let mut o = [Op::Input; MAX_VERTICES];
        o[..n].copy_from_slice(ops);
        Ok(Self {
            n: n as u8,
            rows,
            ops: o,
        })
    }

    /// A spec from row bitmasks (bit `j` of `rows[i]` = edge `i -> j`) and ops of equal
    /// length; checks size and upper-triangularity only.
    pub fn from_rows(rows: &[u8], ops: &[Op]) -> Result<Self, SpecError> {
        let n = rows.len();
        Self::check_n(n)?;
        if ops.len() != n {
            return Err(SpecError::OpsLength {
                ops: ops.len(),
                vertices: n,
            });
        }
        let mut r = [0u8; MAX_VERTICES];
        for (i, &row) in rows.iter().enumerate() {
            let allowed = (((1u16 << n) - 1) as u8) & !(((1u16 << (i + 1)) - 1) as u8);
            if row & !allowed != 0 {
                let j = (0..8).find(|&j| row >> j & 1 == 1 && allowed >> j & 1 == 0);
                return Err(SpecError::NotUpperTriangular(i, j.unwrap_or(0)));
            }
            r[i] = row;
        }
        let mut o = [Op::Input; MAX_VERTICES];
        o[..n].copy_from_slice(ops);
        Ok(Self {
            n: n as u8,
            rows: r,
            ops: o,
        })
    }

    fn check_n(n: usize) -> Result<(), SpecError> {
        if n > MAX_VERTICES {
            return Err(SpecError::TooManyVertices(n));
        }
        if n < 2 {
            return Err(SpecError::TooFewVertices(n));
        }
        Ok(())
    }

    /// Parses the official file's raw form: `raw_adjacency` is the row-major `'0'/'1'` string
    /// of the V x V matrix, `raw_operations` the comma-separated op names (input and output
    /// included).
    pub fn from_raw(raw_adjacency: &str, raw_operations: &str) -> Result<Self, SpecError> {
        let len = raw_adjacency.len();
        let n = (1..=MAX_VERTICES + 1).find(|v| v * v >= len).unwrap_or(0);
        if n * n != len {
            return Err(SpecError::BadMatrix(format!(
                "raw adjacency of {len} characters is not a square of at most {MAX_VERTICES} vertices"
            )));
        }
        Self::check_n(n)?;
        let mut ops = [Op::Input; MAX_VERTICES];
        let mut k = 0;
        for name in raw_operations.split(',') {
            let op = Op::from_name(name).ok_or_else(|| SpecError::UnknownOp(name.to_string()))?;
            if k < MAX_VERTICES {
                ops[k] = op;
            }
            k += 1;
        }
        if k != n {
            return Err(SpecError::OpsLength {
                ops: k,
                vertices: n,
            });
        }
        let b = raw_adjacency.as_bytes();
        let mut rows = [0u8; MAX_VERTICES];
        for i in 0..n {
            for j in 0..n {
                match b[i * n + j] {
                    b'0' => {}
                    b'1' if j > i => rows[i] |= 1 << j,
                    b'1' => return Err(SpecError::NotUpperTriangular(i, j)),
                    c => {
                        return Err(SpecError::BadMatrix(format!(
                            "raw adjacency has {:?} at position {}",
                            char::from(c),
                            i * n + j
                        )))
                    }
                }
            }
        }
        Ok(Self {
            n: n as u8,
            rows,
            ops,
        })
    }

    /// A spec from its packed form ([`ModelSpec::pack`]): `adj` = edge bits
    /// ([`edge_bit`]) with the vertex count in bits 24..28, `ops` = interior op labels as a
    /// base-3 number, first interior vertex most significant.
    pub fn unpack(adj: u32, ops: u8) -> Self {
        let n = ((adj >> 24) & 0xf) as usize;
        debug_assert!((2..=MAX_VERTICES).contains(&n));
        let mut rows = [0u8; MAX_VERTICES];
        for y in 1..n {
            for (x, row) in rows.iter_mut().enumerate().take(y) {
                if adj >> edge_bit(x, y) & 1 == 1 {
                    *row |= 1 << y;
                }
            }
        }
        let mut o = [Op::Input; MAX_VERTICES];
        let mut code = ops;
        for v in (1..n - 1).rev() {
            o[v] = Op::interior(code % 3);
            code /= 3;
        }
        o[n - 1] = Op::Output;
        Self {
            n: n as u8,
            rows,
            ops: o,
        }
    }

    /// The packed form (see [`ModelSpec::unpack`]); only meaningful for a spec whose interior
    /// ops are interior ops (e.g. a canonical one).
    pub fn pack(&self) -> (u32, u8) {
        let n = self.n as usize;
        let mut adj = (n as u32) << 24;
        for x in 0..n {
            for y in x + 1..n {
                if self.has_edge(x, y) {
                    adj |= 1 << edge_bit(x, y);
                }
            }
        }
        let mut code = 0u8;
        for v in 1..n - 1 {
            code = code * 3 + self.ops[v].label().max(0) as u8;
        }
        (adj, code)
    }

    /// Number of vertices.
    pub fn num_vertices(&self) -> usize {
        self.n as usize
    }
    /// Whether edge `i -> j` exists.
    pub fn has_edge(&self, i: usize, j: usize) -> bool {
        self.rows[i] >> j & 1 == 1
    }
    /// Row bitmasks (bit `j` of `rows()[i]` = edge `i -> j`), `num_vertices()` long.
    pub fn rows(&self) -> &[u8] {
        &self.rows[..self.n as usize]
    }
    /// The ops, `num_vertices()` long.
    pub fn ops(&self) -> &[Op] {
        &self.ops[..self.n as usize]
    }
    /// Number of edges.
    pub fn num_edges(&self) -> usize {
        self.rows().iter().map(|r| r.count_ones() as usize).sum()
    }
    /// The adjacency as a 0/1 matrix.
    pub fn matrix(&self) -> Vec<Vec<u8>> {
        let n = self.n as usize;
        (0..n)
            .map(|i| (0..n).map(|j| self.has_edge(i, j) as u8).collect())
            .collect()
    }
    /// The official raw adjacency string (row-major `'0'/'1'`).
    pub fn raw_adjacency(&self) -> String {
        let n = self.n as usize;
        let mut s = String::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                s.push(if self.has_edge(i, j) { '1' } else { '0' });
            }
        }
        s
    }
    /// The official raw operations string (comma-separated names).
    pub fn raw_operations(&self) -> String {
        let names: Vec<&str> = self.ops().iter().map(|o| o.name()).collect();
        names.join(",")
    }
    /// Compact text: adjacency rows separated by `/`, then short op names, e.g.
    /// `0110/0001/0001/0000 in,c3,mp,out`.
    pub fn compact(&self) -> String {
        let n = self.n as usize;
        let rows: Vec<String> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| if self.has_edge(i, j) { '1' } else { '0' })
                    .collect()
            })
            .collect();
        let ops: Vec<&str> = self.ops().iter().map(|o| o.short()).collect();
        format!("{} {}", rows.join("/"), ops.join(","))
    }

    /// nasbench's pruning: drops every vertex not on an input-to-output path (re-indexing the
    /// rest in order). `None` if the input does not reach the output (an invalid spec).
    pub fn pruned(&self) -> Option<ModelSpec> {
        let n = self.n as usize;
        let mut from_in: u8 = 1;
        for v in 0..n {
            if from_in >> v & 1 == 1 {
                from_in |= self.rows[v];
            }
        }
        let mut to_out: u8 = 1 << (n - 1);
        for v in (0..n).rev() {
            if self.rows[v] & to_out != 0 {
                to_out |= 1 << v;
            }
        }
        let keep = from_in & to_out & ((1u16 << n) - 1) as u8;
        // nasbench: invalid when fewer than 2 vertices survive; with input and output both
        // on a path that means the output is unreachable.
        if keep >> (n - 1) & 1 == 0 || keep & 1 == 0 {
            return None;
        }
        if keep.count_ones() as usize == n {
            return Some(*self);
        }
        let kept: Vec<usize> = (0..n).filter(|&v| keep >> v & 1 == 1).collect();
        let mut out = ModelSpec {
            n: kept.len() as u8,
            rows: [0; MAX_VERTICES],
            ops: [Op::Input; MAX_VERTICES],
        };
        for (a, &i) in kept.iter().enumerate() {
            out.ops[a] = self.ops[i];
            for (b, &j) in kept.iter().enumerate() {
                if self.has_edge(i, j) {
                    out.rows[a] |= 1 << b;
                }
            }
        }
        Some(out)
    }

    /// Checks the rules of the space on an already pruned spec (vertex and edge counts, op
    /// placement).
    pub fn check_pruned(&self) -> Result<(), SpecError> {
        let n = self.n as usize;
        Self::check_n(n)?;
        let e = self.num_edges();
        if e > MAX_EDGES {
            return Err(SpecError::TooManyEdges(e));
        }
        for (v, &op) in self.ops().iter().enumerate() {
            let ok = match v {
                0 => op == Op::Input,
                _ if v == n - 1 => op == Op::Output,
                _ => op.label() >= 0,
            };
            if !ok {
                return Err(SpecError::MisplacedOp {
                    op: op.name(),
                    vertex: v,
                    vertices: n,
                });
            }
        }
        Ok(())
    }

    /// The canonical cell of this spec: pruned and checked against the space's rules.
    pub fn canonical(&self) -> Result<ModelSpec, SpecError> {
        let p = self.pruned().ok_or(SpecError::Disconnected)?;
        p.check_pruned()?;
        Ok(p)
    }

    /// Whether the spec is a valid NB101 cell (nasbench's `is_valid`).
    pub fn is_valid(&self) -> bool {
        self.canonical().is_ok()
    }

    /// nasbench's hash of this spec's graph as it is (call on a canonical spec, as nasbench
    /// does after pruning): 16 raw md5 bytes, see [`super::hash`].
    pub fn hash(&self) -> [u8; 16] {
        let mut labels = [0i8; MAX_VERTICES];
        for (l, op) in labels.iter_mut().zip(self.ops()) {
            *l = op.label();
        }
        super::hash::hash_module(self.rows(), &labels[..self.n as usize])
    }

    /// [`ModelSpec::hash`] as nasbench's 32-character lowercase hex string.
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash())
    }
}

/// The example cell of nasbench's README (the first of benchmarks.md's hash test vectors),
/// shared by the tests of the hash and the encodings.
#[cfg(test)]
pub(crate) fn readme_example() -> ModelSpec {
    let m: Vec<Vec<u8>> = vec![
        vec![0, 1, 1, 1, 0, 1, 0],
        vec![0, 0, 0, 0, 0, 0, 1],
        vec![0, 0, 0, 0, 0, 0, 1],
        vec![0, 0, 0, 0, 1, 0, 0],
        vec![0, 0, 0, 0, 0, 0, 1],
        vec![0, 0, 0, 0, 0, 0, 1],
        vec![0, 0, 0, 0, 0, 0, 0],
    ];
    let ops = [
        Op::Input,
        Op::Conv1x1,
        Op::Conv3x3,
        Op::Conv3x3,
        Op::Conv3x3,
        Op::MaxPool3x3,
        Op::Output,
    ];
    ModelSpec::new(&m, &ops).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(m: &[&[u8]], ops: &[&str]) -> ModelSpec {
        let m: Vec<Vec<u8>> = m.iter().map(|r| r.to_vec()).collect();
        let ops: Vec<Op> = ops.iter().map(|o| Op::from_name(o).unwrap()).collect();
        ModelSpec::new(&m, &ops).unwrap()
    }

    #[test]
    fn pruning_drops_vertex_off_every_path() {
        // Vertex 2 has an input but no path to the output; vertex 3 has no input.
        let s = spec(
            &[
                &[0, 1, 1, 0, 0],
                &[0, 0, 0, 0, 1],
                &[0, 0, 0, 0, 0],
                &[0, 0, 0, 0, 1],
                &[0, 0, 0, 0, 0],
            ],
            &["in", "c3", "c1", "mp", "out"],
        );
        let p = s.pruned().unwrap();
        assert_eq!(p.num_vertices(), 3);
        assert_eq!(p.ops(), &[Op::Input, Op::Conv3x3, Op::Output]);
        assert_eq!(
            p.matrix(),
            vec![vec![0, 1, 0], vec![0, 0, 1], vec![0, 0, 0]]
        );
        assert!(s.is_valid());
        assert_eq!(p.pruned().unwrap(), p);
    }

    #[test]
    fn input_not_reaching_output_is_invalid() {
        let s = spec(
            &[&[0, 1, 0, 0], &[0, 0, 0, 0], &[0, 0, 0, 1], &[0, 0, 0, 0]],
            &["in", "c3", "c3", "out"],
        );
        assert!(s.pruned().is_none());
        assert_eq!(s.canonical(), Err(SpecError::Disconnected));
        assert!(!s.is_valid());
        let empty = spec(&[&[0, 0], &[0, 0]], &["in", "out"]);
        assert!(!empty.is_valid());
    }

    #[test]
    fn edge_and_op_rules() {
        // 10 edges on 7 vertices: out of the space.
        let mut m = vec![vec![0u8; 7]; 7];
        let edges = [
            (0, 1),
            (0, 2),
            (0, 3),
            (1, 2),
            (1, 6),
            (2, 3),
            (3, 4),
            (4, 5),
            (5, 6),
            (2, 6),
        ];
        for (i, j) in edges {
            m[i][j] = 1;
        }
        let ops = [
            Op::Input,
            Op::Conv3x3,
            Op::Conv3x3,
            Op::Conv3x3,
            Op::Conv3x3,
            Op::Conv3x3,
            Op::Output,
        ];
        let s = ModelSpec::new(&m, &ops).unwrap();
        assert_eq!(s.canonical(), Err(SpecError::TooManyEdges(10)));
        m[2][6] = 0;
        assert!(ModelSpec::new(&m, &ops).unwrap().is_valid());
        let mut bad = ops;
        bad[3] = Op::Output;
        assert!(matches!(
            ModelSpec::new(&m, &bad).unwrap().canonical(),
            Err(SpecError::MisplacedOp { vertex: 3, .. })
        ));
        m[3][1] = 1;
        assert_eq!(
            ModelSpec::new(&m, &ops),
            Err(SpecError::NotUpperTriangular(3, 1))
        );
    }

    #[test]
    fn raw_form_round_trips_and_rejects_bad_input() {
        let s = ModelSpec::from_raw(
            "0110000100000100000",
            "input,conv3x3-bn-relu,maxpool3x3,output",
        );
        assert!(matches!(s, Err(SpecError::BadMatrix(_))));
        let s = ModelSpec::from_raw(
            "0110000100010000",
            "input,conv3x3-bn-relu,maxpool3x3,output",
        )
        .unwrap();
        assert_eq!(s.raw_adjacency(), "0110000100010000");
        assert_eq!(
            s.raw_operations(),
            "input,conv3x3-bn-relu,maxpool3x3,output"
        );
        assert_eq!(s.compact(), "0110/0001/0001/0000 in,c3,mp,out");
        assert_eq!(
            ModelSpec::from_raw("0110000100010000", "input,conv5x5,maxpool3x3,output"),
            Err(SpecError::UnknownOp("conv5x5".into()))
        );
        assert!(matches!(
            ModelSpec::from_raw("0110000100010000", "input,maxpool3x3,output"),
            Err(SpecError::OpsLength { ops: 3, .. })
        ));
        let (a, o) = s.pack();
        assert_eq!(ModelSpec::unpack(a, o), s);
    }
}
