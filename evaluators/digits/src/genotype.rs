//! The genotype JSON the harness writes for one proposed cell, parsed and validated here.
//! Space and op names come from the harness's tables; the cells are read as written (any
//! concat list, any `text`), so genotypes from elsewhere (e.g. DARTS's `genotypes.py`) train
//! too, while the harness's own `Genotype` only takes its canonical form.
//!
//! ```json
//! {"space":"darts","normal":[["sep_conv_3x3",0],["skip_connect",1],...],
//!  "normal_concat":[2,3,4,5],"reduce":[...],"reduce_concat":[2,3,4,5],"text":"Genotype(...)"}
//! ```
//!
//! Node `i` (0-based) of a cell reads two states; state 0 is `c_{k-2}`, state 1 is `c_{k-1}`
//! and state `j + 2` is node `j`, so node `i` may read states `0..i + 2`. The concat list names
//! the states whose concatenation is the cell output.

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use std::path::Path;

/// Which cell space a genotype belongs to: the harness's variants (`darts`: 4 nodes, 8
/// operations; `nasnet`: 5 blocks, 13 operations), whose op tables this program shares.
pub use weaknas_harness::space::cells::CellVariant as Space;
use weaknas_harness::space::cells::Op;

/// One candidate operation on an edge of a cell, as this program builds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// The zero operation (DARTS `none`).
    Zero,
    /// Identity (`skip_connect`, `identity`); a FactorizedReduce when the edge has stride 2.
    Identity,
    /// Max pooling with a `k x k` window, padding `k / 2`.
    MaxPool(usize),
    /// Average pooling with a `k x k` window, padding `k / 2`, not counting the padding.
    AvgPool(usize),
    /// DARTS separable convolution: two ReLU-depthwise(k)-pointwise-BN stacks.
    SepConv(usize),
    /// DARTS dilated separable convolution: ReLU-depthwise(k, dilation 2)-pointwise-BN.
    DilConv(usize),
    /// ReLU, a `1 x k` convolution, a `k x 1` convolution, BN.
    ConvFactorized(usize),
    /// ReLU, a `k x k` convolution, BN.
    Conv(usize),
}

impl OpKind {
    /// The operation of a name in a space, if the space has it.
    pub fn parse(space: Space, name: &str) -> Option<OpKind> {
        space.op_by_name(name).map(OpKind::of)
    }

    /// How this program builds a harness op.
    pub fn of(op: Op) -> OpKind {
        use OpKind::*;
        match op {
            Op::Zero => Zero,
            Op::SkipConnect | Op::Identity => Identity,
            Op::MaxPool3x3 => MaxPool(3),
            Op::MaxPool5x5 => MaxPool(5),
            Op::MaxPool7x7 => MaxPool(7),
            Op::AvgPool3x3 => AvgPool(3),
            Op::SepConv3x3 => SepConv(3),
            Op::SepConv5x5 => SepConv(5),
            Op::SepConv7x7 => SepConv(7),
            Op::DilConv3x3 => DilConv(3),
            Op::DilConv5x5 => DilConv(5),
            Op::Conv1x3Then3x1 => ConvFactorized(3),
            Op::Conv1x7Then7x1 => ConvFactorized(7),
            Op::Conv1x1 => Conv(1),
            Op::Conv3x3 => Conv(3),
        }
    }
}

/// One edge of a cell: an operation applied to an input state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The operation name as written in the JSON.
    pub name: String,
    /// The parsed operation.
    pub op: OpKind,
    /// The input state (0 = `c_{k-2}`, 1 = `c_{k-1}`, `j + 2` = node `j`).
    pub input: usize,
}

/// One cell: two edges per node, in node order, and the concatenated states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellSpec {
    /// `2 * nodes` edges; node `i` is the sum of edges `2i` and `2i + 1`.
    pub edges: Vec<Edge>,
    /// The states concatenated into the cell output.
    pub concat: Vec<usize>,
}

impl CellSpec {
    /// Number of intermediate nodes.
    pub fn nodes(&self) -> usize {
        self.edges.len() / 2
    }

    /// For every state, whether the cell output depends on it (inputs 0 and 1 included).
    pub fn live_states(&self) -> Vec<bool> {
        let n = self.nodes() + 2;
        let mut live = vec![false; n];
        for &c in &self.concat {
            live[c] = true;
        }
        for s in (2..n).rev() {
            if live[s] {
                let i = s - 2;
                live[self.edges[2 * i].input] = true;
                live[self.edges[2 * i + 1].input] = true;
            }
        }
        live
    }
}

/// A validated genotype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genotype {
    /// The cell space.
    pub space: Space,
    /// The normal cell.
    pub normal: CellSpec,
    /// The reduction cell.
    pub reduce: CellSpec,
    /// The text form (the JSON's `text`, else one built from the cells).
    pub text: String,
}

#[derive(Deserialize)]
struct RawGenotype {
    space: String,
    normal: Vec<(String, i64)>,
    normal_concat: Vec<i64>,
    reduce: Vec<(String, i64)>,
    reduce_concat: Vec<i64>,
    #[serde(default)]
    text: Option<String>,
}

impl Genotype {
    /// Reads and validates a genotype file; errors name the file and the problem.
    pub fn from_file(path: &Path) -> Result<Genotype> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read genotype file {}", path.display()))?;
        Genotype::from_json(&text)
            .with_context(|| format!("invalid genotype file {}", path.display()))
    }

    /// Parses and validates genotype JSON.
    pub fn from_json(json: &str) -> Result<Genotype> {
        let raw: RawGenotype = serde_json::from_str(json).map_err(|e| anyhow!("bad JSON: {e}"))?;
        let Some(space) = Space::parse(&raw.space) else {
            bail!(
                "unknown space {:?} (expected \"darts\" or \"nasnet\")",
                raw.space
            );
        };
        let normal = parse_cell(space, "normal", &raw.normal, &raw.normal_concat)?;
        let reduce = parse_cell(space, "reduce", &raw.reduce, &raw.reduce_concat)?;
        let text = match raw.text {
            Some(t) if !t.trim().is_empty() => t,
            _ => text_form(&normal, &reduce),
        };
        Ok(Genotype {
            space,
            normal,
            reduce,
            text,
        })
    }
}

fn parse_cell(
    space: Space,
    which: &str,
    pairs: &[(String, i64)],
    concat: &[i64],
) -> Result<CellSpec> {
    let nodes = space.blocks();
    if pairs.len() != 2 * nodes {
        bail!(
            "{which}: {} (op, input) pairs, but the {} space needs {} (2 per node, {nodes} nodes)",
            pairs.len(),
            space.name(),
            2 * nodes
        );
    }
    let mut edges = Vec::with_capacity(pairs.len());
    for (k, (name, input)) in pairs.iter().enumerate() {
        let node = k / 2;
        let op = OpKind::parse(space, name).ok_or_else(|| {
            anyhow!(
                "{which}[{k}]: unknown operation {name:?} for the {} space (allowed: {})",
                space.name(),
                space
                    .ops()
                    .iter()
                    .map(|o| o.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        if *input < 0 || *input as usize >= node + 2 {
            bail!(
                "{which}[{k}]: input {input} of node {node} is out of range (allowed 0..={})",
                node + 1
            );
        }
        edges.push(Edge {
            name: name.clone(),
            op,
            input: *input as usize,
        });
    }
    if concat.is_empty() {
        bail!("{which}_concat is empty");
    }
    let mut seen = vec![false; nodes + 2];
    let mut cat = Vec::with_capacity(concat.len());
    for &c in concat {
        if c < 0 || c as usize >= nodes + 2 {
            bail!(
                "{which}_concat: state {c} is out of range (allowed 0..={})",
                nodes + 1
            );
        }
        if std::mem::replace(&mut seen[c as usize], true) {
            bail!("{which}_concat: state {c} appears twice");
        }
        cat.push(c as usize);
    }
    Ok(CellSpec { edges, concat: cat })
}

/// DARTS-style text form, e.g. `Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3])`.
pub fn text_form(normal: &CellSpec, reduce: &CellSpec) -> String {
    let cell = |c: &CellSpec| {
        c.edges
            .iter()
            .map(|e| format!("('{}', {})", e.name, e.input))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let cat = |c: &CellSpec| {
        c.concat
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "Genotype(normal=[{}], normal_concat=[{}], reduce=[{}], reduce_concat=[{}])",
        cell(normal),
        cat(normal),
        cell(reduce),
        cat(reduce)
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// DARTS_V2 from the DARTS paper's `genotypes.py`.
    pub const DARTS_V2: &str = r#"{"space":"darts",
      "normal":[["sep_conv_3x3",0],["sep_conv_3x3",1],["sep_conv_3x3",0],["sep_conv_3x3",1],
                ["sep_conv_3x3",1],["skip_connect",0],["skip_connect",0],["dil_conv_3x3",2]],
      "normal_concat":[2,3,4,5],
      "reduce":[["max_pool_3x3",0],["max_pool_3x3",1],["skip_connect",2],["max_pool_3x3",1],
                ["max_pool_3x3",0],["skip_connect",2],["skip_connect",2],["max_pool_3x3",1]],
      "reduce_concat":[2,3,4,5],
      "text":"DARTS_V2"}"#;

    /// NASNet-A as listed in DARTS's `genotypes.py`, with this space's op names.
    pub const NASNET_A: &str = r#"{"space":"nasnet",
      "normal":[["sep_conv_5x5",1],["sep_conv_3x3",0],["sep_conv_5x5",0],["sep_conv_3x3",0],
                ["avg_pool_3x3",1],["identity",0],["avg_pool_3x3",0],["avg_pool_3x3",0],
                ["sep_conv_3x3",1],["identity",1]],
      "normal_concat":[2,3,4,5,6],
      "reduce":[["sep_conv_5x5",1],["sep_conv_7x7",0],["max_pool_3x3",1],["sep_conv_7x7",0],
                ["avg_pool_3x3",1],["sep_conv_5x5",0],["identity",3],["avg_pool_3x3",2],
                ["sep_conv_3x3",2],["max_pool_3x3",1]],
      "reduce_concat":[4,5,6],
      "text":"NASNet"}"#;

    #[test]
    fn parses_darts_v2() {
        let g = Genotype::from_json(DARTS_V2).unwrap();
        assert_eq!(g.space, Space::Darts);
        assert_eq!(g.normal.edges.len(), 8);
        assert_eq!(g.normal.edges[7].op, OpKind::DilConv(3));
        assert_eq!(g.normal.edges[7].input, 2);
        assert_eq!(g.reduce.edges[0].op, OpKind::MaxPool(3));
        assert_eq!(g.reduce.concat, vec![2, 3, 4, 5]);
        assert_eq!(g.text, "DARTS_V2");
    }

    #[test]
    fn parses_nasnet() {
        let g = Genotype::from_json(NASNET_A).unwrap();
        assert_eq!(g.space, Space::Nasnet);
        assert_eq!(g.normal.nodes(), 5);
        assert_eq!(g.reduce.edges[1].op, OpKind::SepConv(7));
        assert_eq!(g.reduce.edges[6].op, OpKind::Identity);
        assert_eq!(g.reduce.concat, vec![4, 5, 6]);
        // Nodes 0 and 1 (states 2, 3) feed later nodes, so they are live without concat.
        assert!(g.reduce.live_states().iter().all(|&l| l));
    }

    #[test]
    fn every_op_name_parses_in_its_space_only() {
        for space in [Space::Darts, Space::Nasnet] {
            for op in space.ops() {
                assert!(OpKind::parse(space, op.name()).is_some(), "{op}");
            }
        }
        assert!(OpKind::parse(Space::Darts, "identity").is_none());
        assert!(OpKind::parse(Space::Nasnet, "skip_connect").is_none());
        assert!(OpKind::parse(Space::Nasnet, "none").is_none());
    }

    #[test]
    fn text_is_built_when_absent() {
        let mut v: serde_json::Value = serde_json::from_str(DARTS_V2).unwrap();
        v.as_object_mut().unwrap().remove("text");
        let g = Genotype::from_json(&v.to_string()).unwrap();
        assert!(g.text.starts_with("Genotype(normal=[('sep_conv_3x3', 0), "));
        assert!(g.text.ends_with("reduce_concat=[2, 3, 4, 5])"));
    }

    #[test]
    fn dead_nodes_are_found() {
        let json = DARTS_V2.replace(r#""normal_concat":[2,3,4,5]"#, r#""normal_concat":[3]"#);
        let g = Genotype::from_json(&json).unwrap();
        // Node 1 (state 3) reads states 0 and 1; nodes 0, 2, 3 are dead.
        assert_eq!(
            g.normal.live_states(),
            vec![true, true, false, true, false, false]
        );
    }

    fn err(json: &str) -> String {
        format!("{:#}", Genotype::from_json(json).unwrap_err())
    }

    #[test]
    fn each_error_is_named() {
        assert!(err("{").contains("bad JSON"));
        assert!(err(r#"{"space":"darts"}"#).contains("missing field"));
        assert!(err(&DARTS_V2.replace(r#""darts""#, r#""nb201""#)).contains("unknown space"));
        let e = err(&DARTS_V2.replace(
            r#"["skip_connect",0],["skip_connect",0],["dil_conv_3x3",2]]"#,
            r#"["skip_connect",0]]"#,
        ));
        assert!(e.contains("normal: 6 (op, input) pairs"), "{e}");
        let e = err(&DARTS_V2.replace(r#"["dil_conv_3x3",2]"#, r#"["conv_7x7",2]"#));
        assert!(
            e.contains("normal[7]: unknown operation \"conv_7x7\""),
            "{e}"
        );
        let e = err(&DARTS_V2.replace(r#"["dil_conv_3x3",2]"#, r#"["identity",2]"#));
        assert!(
            e.contains("unknown operation \"identity\" for the darts space"),
            "{e}"
        );
        let e = err(&DARTS_V2.replace(
            r#"["max_pool_3x3",0],["max_pool_3x3",1],"#,
            r#"["max_pool_3x3",0],["max_pool_3x3",2],"#,
        ));
        assert!(
            e.contains("reduce[1]: input 2 of node 0 is out of range"),
            "{e}"
        );
        let e = err(&DARTS_V2.replace(r#"["dil_conv_3x3",2]"#, r#"["dil_conv_3x3",-1]"#));
        assert!(e.contains("normal[7]: input -1"), "{e}");
        let e = err(&DARTS_V2.replace(r#""normal_concat":[2,3,4,5]"#, r#""normal_concat":[]"#));
        assert!(e.contains("normal_concat is empty"), "{e}");
        let e = err(&DARTS_V2.replace(r#""reduce_concat":[2,3,4,5]"#, r#""reduce_concat":[2,6]"#));
        assert!(e.contains("reduce_concat: state 6 is out of range"), "{e}");
        let e = err(&DARTS_V2.replace(r#""reduce_concat":[2,3,4,5]"#, r#""reduce_concat":[2,2]"#));
        assert!(e.contains("reduce_concat: state 2 appears twice"), "{e}");
        let e = err(&DARTS_V2.replace(r#"["sep_conv_3x3",0]"#, r#"["sep_conv_3x3"]"#));
        assert!(e.contains("bad JSON"), "{e}");
    }

    #[test]
    fn file_errors_name_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("g.json");
        let e = format!("{:#}", Genotype::from_file(&p).unwrap_err());
        assert!(
            e.contains("cannot read genotype file") && e.contains("g.json"),
            "{e}"
        );
        std::fs::write(&p, "[]").unwrap();
        let e = format!("{:#}", Genotype::from_file(&p).unwrap_err());
        assert!(
            e.contains("invalid genotype file") && e.contains("g.json"),
            "{e}"
        );
    }
}
