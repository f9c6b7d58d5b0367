//! Text and JSON forms of genotypes.
//!
//! The text form is the Python repr of DARTS's `Genotype` namedtuple, so it can be pasted into
//! a DARTS-style training script:
//! `Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ...], normal_concat=[2, 3, 4, 5],
//! reduce=[...], reduce_concat=[2, 3, 4, 5])` with (op, input) tuples, in canonical order.
//! NASNet uses the same form with 10 tuples per cell and its concat rule
//! ([`super::genotype::concat_of`]).
//!
//! Parsing ([`Genotype::parse_text`]) tolerates whitespace, `'` or `"` quotes, trailing
//! commas, lists or tuples for the pairs, positional fields, and `range(2, 6)` for a concat
//! list (what DARTS's search code prints); it validates counts, op names, inputs and the
//! concat lists, and autodetects the variant from the number of tuples (8: DARTS, 10: NASNet).
//!
//! The JSON form is
//! `{"space":"darts","normal":[["sep_conv_3x3",0],...],"normal_concat":[2,3,4,5],
//! "reduce":[...],"reduce_concat":[2,3,4,5],"text":"Genotype(...)"}`; `text` is optional on
//! input and, when present, must describe the same genotype.

use super::genotype::{op_names, CellKind, Genotype, Slot};
use super::ops::{CellVariant, Op};
use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

impl fmt::Display for Genotype {
    /// The text form (Python repr of DARTS's `Genotype`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Genotype(")?;
        for kind in CellKind::ALL {
            if kind == CellKind::Reduce {
                f.write_str(", ")?;
            }
            write!(f, "{kind}=[")?;
            for (i, (op, x)) in self.cell(kind).iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "('{op}', {x})")?;
            }
            write!(f, "], {kind}_concat=[")?;
            for (i, s) in self.concat(kind).iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{s}")?;
            }
            f.write_str("]")?;
        }
        f.write_str(")")
    }
}

impl std::str::FromStr for Genotype {
    type Err = anyhow::Error;
    /// [`Genotype::parse_text`] with the variant autodetected.
    fn from_str(s: &str) -> Result<Self> {
        Genotype::parse_text(None, s)
    }
}

/// An (op name, input) pair as written, before validation.
type RawSlot = (String, i64);

impl Genotype {
    /// Parses the text form. `variant`: the expected variant, or `None` to detect it from the
    /// number of tuples per cell (8: DARTS, 10: NASNet). Errors name the byte offset of a
    /// syntax error, or the field and tuple (`normal[3]`) and the problem.
    pub fn parse_text(variant: Option<CellVariant>, text: &str) -> Result<Self> {
        parse_text_inner(variant, text).map_err(|e| anyhow!("invalid genotype text: {e:#}"))
    }

    /// The JSON form as a `serde_json::Value`.
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a genotype always serialises")
    }

    /// The JSON form as a compact string (fields in the documented order).
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).expect("a genotype always serialises")
    }

    /// Parses and validates the JSON form (as strictly as [`Genotype::parse_text`]; unknown
    /// fields are rejected, `text` is optional and checked against the other fields).
    pub fn from_json_str(s: &str) -> Result<Self> {
        let j: GenotypeJson =
            serde_json::from_str(s).map_err(|e| anyhow!("invalid genotype JSON: {e}"))?;
        j.into_genotype()
            .map_err(|e| anyhow!("invalid genotype JSON: {e:#}"))
    }

    /// Parses and validates the JSON form from a `serde_json::Value`.
    pub fn from_json_value(v: &serde_json::Value) -> Result<Self> {
        let j = GenotypeJson::deserialize(v).map_err(|e| anyhow!("invalid genotype JSON: {e}"))?;
        j.into_genotype()
            .map_err(|e| anyhow!("invalid genotype JSON: {e:#}"))
    }
}

/// The serde shape of the JSON form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenotypeJson {
    space: CellVariant,
    normal: Vec<RawSlot>,
    normal_concat: Vec<i64>,
    reduce: Vec<RawSlot>,
    reduce_concat: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

impl GenotypeJson {
    fn from_genotype(g: &Genotype) -> Self {
        let raw = |c: &[Slot]| -> Vec<RawSlot> {
            c.iter()
                .map(|&(op, x)| (op.name().to_string(), x as i64))
                .collect()
        };
        let concat = |k| g.concat(k).into_iter().map(i64::from).collect();
        Self {
            space: g.variant(),
            normal: raw(g.normal()),
            normal_concat: concat(CellKind::Normal),
            reduce: raw(g.reduce()),
            reduce_concat: concat(CellKind::Reduce),
            text: Some(g.to_string()),
        }
    }

    fn into_genotype(self) -> Result<Genotype> {
        let g = build(
            Some(self.space),
            &self.normal,
            &self.normal_concat,
            &self.reduce,
            &self.reduce_concat,
        )?;
        if let Some(text) = &self.text {
            let t = Genotype::parse_text(Some(self.space), text)
                .map_err(|e| anyhow!("field 'text': {e:#}"))?;
            if t != g {
                bail!("field 'text' describes another genotype than normal/reduce: {t}");
            }
        }
        Ok(g)
    }
}

impl Serialize for Genotype {
    /// Serialises as the JSON form.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        GenotypeJson::from_genotype(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Genotype {
    /// Deserialises and validates the JSON form.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        GenotypeJson::deserialize(d)?
            .into_genotype()
            .map_err(|e| serde::de::Error::custom(format!("invalid genotype: {e:#}")))
    }
}

/// Validates raw fields into a genotype: the variant (given or detected from the tuple
/// counts), each cell's count, op names and inputs, the DARTS distinct-input rule and the
/// concat lists.
fn build(
    variant: Option<CellVariant>,
    normal: &[RawSlot],
    normal_concat: &[i64],
    reduce: &[RawSlot],
    reduce_concat: &[i64],
) -> Result<Genotype> {
    let (v, detected) = match variant {
        Some(v) => (v, false),
        None => (detect(normal, reduce)?, true),
    };
    let n = convert(v, detected, CellKind::Normal, normal)?;
    let r = convert(v, detected, CellKind::Reduce, reduce)?;
    let g = Genotype::new(v, n, r)?;
    for (kind, given) in [
        (CellKind::Normal, normal_concat),
        (CellKind::Reduce, reduce_concat),
    ] {
        let want = g.concat(kind);
        if !given.iter().copied().eq(want.iter().map(|&s| s as i64)) {
            let rule = match v {
                CellVariant::Darts => {
                    "a darts cell concatenates all 4 intermediate nodes".to_string()
                }
                CellVariant::Nasnet => format!(
                    "a nasnet cell concatenates the hidden states 2..=6 that no block of the \
                     {kind} cell uses as an input"
                ),
            };
            bail!("{kind}_concat is {given:?} but must be {want:?}: {rule}");
        }
    }
    Ok(g)
}

fn detect(normal: &[RawSlot], reduce: &[RawSlot]) -> Result<CellVariant> {
    let by_count = |n: usize| CellVariant::ALL.into_iter().find(|v| v.slots() == n);
    let counts = || {
        CellVariant::ALL
            .iter()
            .map(|v| format!("{} for {v}", v.slots()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (by_count(normal.len()), by_count(reduce.len())) {
        (Some(a), Some(b)) if a == b => Ok(a),
        (Some(a), Some(b)) => bail!(
            "normal has {} tuples ({a}) but reduce has {} ({b})",
            normal.len(),
            reduce.len()
        ),
        (None, _) => bail!(
            "wrong tuple count: normal has {} tuples, expected {}",
            normal.len(),
            counts()
        ),
        (_, None) => bail!(
            "wrong tuple count: reduce has {} tuples, expected {}",
            reduce.len(),
            counts()
        ),
    }
}

fn convert(v: CellVariant, detected: bool, kind: CellKind, raw: &[RawSlot]) -> Result<Vec<Slot>> {
    let word = v.block_word();
    if raw.len() != v.slots() {
        bail!(
            "wrong tuple count: {kind} has {} tuples, expected {} for {v} ({} {word}s x 2)",
            raw.len(),
            v.slots(),
            v.blocks()
        );
    }
    let mut out = Vec::with_capacity(raw.len());
    for (i, (name, x)) in raw.iter().enumerate() {
        let b = i / 2;
        let Some(op) = v.op_by_name(name) else {
            let mut notes = Vec::new();
            let what = match Op::from_name(name) {
                Some(_) => {
                    notes.push(format!("it is a {} op", v.other()));
                    format!("op '{name}' is not a {v} op")
                }
                None => format!("unknown op '{name}'"),
            };
            if detected {
                notes.push(format!(
                    "variant {v} detected from {} tuples per cell",
                    raw.len()
                ));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            };
            bail!("{kind}[{i}]: {what}{notes}; {v} ops: {}", op_names(v));
        };
        if *x < 0 || *x as usize >= v.inputs_of_block(b) {
            bail!(
                "{kind}[{i}] ({word} {b}): input {x} out of range: {word} {b} may read states \
                 0..={}",
                b + 1
            );
        }
        out.push((op, *x as u8));
    }
    Ok(out)
}

/// A parsed Python literal.
#[derive(Debug)]
enum Lit {
    Int(i64),
    Str(String),
    /// A list or a tuple.
    Seq(Vec<Lit>),
    /// `name(args)`, args optionally `key=value`.
    Call(String, Vec<(Option<String>, Lit)>),
}

impl Lit {
    fn describe(&self) -> String {
        match self {
            Lit::Int(i) => format!("integer {i}"),
            Lit::Str(s) => format!("string '{s}'"),
            Lit::Seq(_) => "a list".to_string(),
            Lit::Call(n, _) => format!("{n}(...)"),
        }
    }
}

const MAX_DEPTH: usize = 16;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, at: usize, msg: impl fmt::Display) -> anyhow::Error {
        anyhow!("at byte {at}: {msg}")
    }

    fn peek(&mut self) -> Option<u8> {
        while self
            .s
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_whitespace())
        {
            self.pos += 1;
        }
        self.s.get(self.pos).copied()
    }

    /// What is at the cursor, for messages.
    fn found(&mut self) -> String {
        match self.peek() {
            None => "end of text".to_string(),
            Some(c) if c.is_ascii_graphic() => format!("{:?}", c as char),
            Some(_) => {
                let c = String::from_utf8_lossy(&self.s[self.pos..])
                    .chars()
                    .next()
                    .unwrap_or(char::REPLACEMENT_CHARACTER);
                format!("{c:?} (non-ASCII; quote op names with ' or \")")
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.peek()?;
        let start = self.pos;
        while self
            .s
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
        {
            self.pos += 1;
        }
        (self.pos > start && !self.s[start].is_ascii_digit())
            .then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    fn value(&mut self) -> Result<Lit> {
        let at = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.err(at, "unexpected end of text"));
        };
        let at = self.pos;
        match c {
            b'\'' | b'"' => {
                let end = self.s[at + 1..]
                    .iter()
                    .position(|&d| d == c)
                    .ok_or_else(|| self.err(at, "unterminated string"))?;
                self.pos = at + 1 + end + 1;
                Ok(Lit::Str(
                    String::from_utf8_lossy(&self.s[at + 1..at + 1 + end]).into_owned(),
                ))
            }
            b'[' | b'(' => {
                self.pos += 1;
                let close = if c == b'[' { b']' } else { b')' };
                Ok(Lit::Seq(
                    self.items(close, false)?
                        .into_iter()
                        .map(|(_, v)| v)
                        .collect(),
                ))
            }
            b'-' | b'+' | b'0'..=b'9' => {
                let mut end = at + 1;
                while self.s.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
                let t = std::str::from_utf8(&self.s[at..end]).expect("ASCII");
                self.pos = end;
                t.parse::<i64>()
                    .map(Lit::Int)
                    .map_err(|_| self.err(at, format!("invalid integer '{t}'")))
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let name = self.ident().expect("starts with a letter");
                if self.peek() != Some(b'(') {
                    return Err(self.err(
                        at,
                        format!("unexpected name '{name}' (expected a list, tuple, string, integer or call)"),
                    ));
                }
                self.pos += 1;
                Ok(Lit::Call(name, self.items(b')', true)?))
            }
            _ => {
                let found = self.found();
                Err(self.err(at, format!("unexpected {found}")))
            }
        }
    }

    /// Comma-separated items up to `close` (the cursor is past the opening bracket);
    /// `key=value` items only where `keys` (inside calls).
    fn items(&mut self, close: u8, keys: bool) -> Result<Vec<(Option<String>, Lit)>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(self.pos, "nesting too deep"));
        }
        let mut out = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                break;
            }
            let start = self.pos;
            let key = match self.ident() {
                Some(k) if self.peek() == Some(b'=') && self.s.get(self.pos + 1) != Some(&b'=') => {
                    if !keys {
                        return Err(self.err(start, format!("unexpected '{k}=' in a list")));
                    }
                    self.pos += 1;
                    Some(k)
                }
                _ => {
                    self.pos = start;
                    None
                }
            };
            out.push((key, self.value()?));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    let at = self.pos;
                    let found = self.found();
                    return Err(self.err(
                        at,
                        format!("expected ',' or '{}', found {found}", close as char),
                    ));
                }
            }
        }
        self.depth -= 1;
        Ok(out)
    }
}

const FIELDS: [&str; 4] = ["normal", "normal_concat", "reduce", "reduce_concat"];

fn parse_text_inner(variant: Option<CellVariant>, text: &str) -> Result<Genotype> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let root = p.value()?;
    if p.peek().is_some() {
        let at = p.pos;
        let found = p.found();
        return Err(p.err(at, format!("unexpected {found} after the genotype")));
    }
    let Lit::Call(name, args) = root else {
        bail!("expected Genotype(...), found {}", root.describe());
    };
    if name.rsplit('.').next() != Some("Genotype") {
        bail!("expected Genotype(...), found {name}(...)");
    }
    let mut fields: [Option<Lit>; 4] = Default::default();
    let mut seen_key = false;
    for (k, (key, value)) in args.into_iter().enumerate() {
        let idx = match key {
            Some(key) => {
                seen_key = true;
                FIELDS.iter().position(|f| *f == key).ok_or_else(|| {
                    anyhow!("unknown field '{key}' (Genotype has {})", FIELDS.join(", "))
                })?
            }
            None if seen_key => bail!("positional argument {k} after keyword arguments"),
            None if k >= FIELDS.len() => bail!("too many arguments (Genotype has 4 fields)"),
            None => k,
        };
        if fields[idx].is_some() {
            bail!("field '{}' given twice", FIELDS[idx]);
        }
        fields[idx] = Some(value);
    }
    let [normal, normal_concat, reduce, reduce_concat] = fields;
    let take = |f: Option<Lit>, i: usize| f.ok_or_else(|| anyhow!("missing field '{}'", FIELDS[i]));
    let normal = pairs(CellKind::Normal, take(normal, 0)?)?;
    let normal_concat = concat_list(FIELDS[1], take(normal_concat, 1)?)?;
    let reduce = pairs(CellKind::Reduce, take(reduce, 2)?)?;
    let reduce_concat = concat_list(FIELDS[3], take(reduce_concat, 3)?)?;
    build(variant, &normal, &normal_concat, &reduce, &reduce_concat)
}

fn pairs(kind: CellKind, lit: Lit) -> Result<Vec<RawSlot>> {
    let Lit::Seq(items) = lit else {
        bail!(
            "{kind} must be a list of ('op', input) tuples, found {}",
            lit.describe()
        );
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Lit::Seq(v) => match <[Lit; 2]>::try_from(v) {
                Ok([Lit::Str(op), Lit::Int(x)]) => Ok((op, x)),
                Ok([Lit::Int(x), Lit::Str(op)]) => bail!(
                    "{kind}[{i}]: expected ('op', input), found ({x}, '{op}'): the op comes first"
                ),
                Ok(_) => bail!("{kind}[{i}]: expected ('op', input) with a string and an integer"),
                Err(v) => bail!(
                    "{kind}[{i}]: expected an ('op', input) pair, found {} elements",
                    v.len()
                ),
            },
            other => bail!(
                "{kind}[{i}]: expected an ('op', input) tuple, found {}",
                other.describe()
            ),
        })
        .collect()
}

fn concat_list(field: &str, lit: Lit) -> Result<Vec<i64>> {
    match lit {
        Lit::Seq(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Lit::Int(x) => Ok(x),
                other => bail!(
                    "{field}[{i}]: expected an integer, found {}",
                    other.describe()
                ),
            })
            .collect(),
        Lit::Call(name, args) if name == "range" && args.iter().all(|(k, _)| k.is_none()) => {
            let ints: Vec<i64> = args
                .into_iter()
                .map(|(_, v)| match v {
                    Lit::Int(x) => Ok(x),
                    other => bail!("{field}: range of {}", other.describe()),
                })
                .collect::<Result<_>>()?;
            match ints[..] {
                [end] if (0..=64).contains(&end) => Ok((0..end).collect()),
                [start, end] if (0..=64).contains(&start) && (0..=64).contains(&end) => {
                    Ok((start..end).collect())
                }
                _ => bail!("{field}: expected range(start, end) of small integers"),
            }
        }
        other => bail!(
            "{field} must be a list of integers (or range(a, b)), found {}",
            other.describe()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::encode::CellEncoding;
    use super::*;
    use crate::rng::stream;

    const DARTS_V2: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), \
        ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), \
        ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], \
        reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), \
        ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), \
        ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

    fn err(variant: Option<CellVariant>, text: &str) -> String {
        format!("{}", Genotype::parse_text(variant, text).unwrap_err())
    }

    #[test]
    fn text_round_trips_for_sampled_genotypes() {
        for v in CellVariant::ALL {
            let mut rng = stream("cells-text", 0, v.name());
            for _ in 0..1000 {
                let g = Genotype::sample(v, &mut rng);
                let t = g.to_string();
                assert_eq!(Genotype::parse_text(Some(v), &t).unwrap(), g);
                assert_eq!(Genotype::parse_text(None, &t).unwrap(), g);
                assert_eq!(t.parse::<Genotype>().unwrap(), g);
                // Double quotes, no spaces, extra newlines.
                let squeezed = t
                    .replace(' ', "")
                    .replace('\'', "\"")
                    .replace(",(", ",\n  (");
                assert_eq!(Genotype::parse_text(None, &squeezed).unwrap(), g);
            }
        }
    }

    #[test]
    fn parses_darts_v2_from_the_paper() {
        let g = Genotype::parse_text(None, DARTS_V2).unwrap();
        assert_eq!(g.variant(), CellVariant::Darts);
        assert_eq!(g.normal()[4], (Op::SkipConnect, 0)); // canonical: node 2 swapped
        assert_eq!(g.normal()[5], (Op::SepConv3x3, 1));
        assert_eq!(g.reduce()[2], (Op::MaxPool3x3, 1)); // node 1 swapped
        assert_eq!(g.reduce()[3], (Op::SkipConnect, 2));
        assert_eq!(
            g.to_string(),
            "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), \
             ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), \
             ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), \
             ('max_pool_3x3', 1), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), \
             ('skip_connect', 2), ('max_pool_3x3', 1), ('skip_connect', 2)], \
             reduce_concat=[2, 3, 4, 5])"
        );
        // One-hot (DARTS: 16 slots x (5 inputs + 8 ops) = 208); slot t starts at 13 t, its op
        // one-hot at 13 t + 5 (none 0, max_pool 1, avg_pool 2, skip 3, sep3 4, sep5 5, dil3 6).
        let f = g.encode(CellEncoding::OneHot);
        assert_eq!(f.len(), 208);
        let hot: Vec<usize> = (0..208).filter(|&i| f[i] == 1.0).collect();
        assert_eq!(hot.len(), 32);
        assert_eq!(f.iter().sum::<f32>(), 32.0);
        for i in [
            0, 9, // normal[0] = (sep_conv_3x3, 0)
            14, 22, // normal[1] = (sep_conv_3x3, 1)
            52, 60, // normal[4] = (skip_connect, 0)
            66, 74, // normal[5] = (sep_conv_3x3, 1)
            93, 102, // normal[7] = (dil_conv_3x3, 2)
            104, 110, // reduce[0] = (max_pool_3x3, 0)
            145, 151, // reduce[3] = (skip_connect, 2)
            197, 203, // reduce[7] = (skip_connect, 2)
        ] {
            assert_eq!(f[i], 1.0, "position {i}");
        }
        for i in [1, 13, 53, 65 + 5 + 3, 104 + 5] {
            assert_eq!(f[i], 0.0, "position {i}");
        }
        // DARTS's own search code prints range(2, 6) for the concat lists.
        let r = DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)");
        assert_eq!(
            Genotype::parse_text(Some(CellVariant::Darts), &r).unwrap(),
            g
        );
        // Keyword order and positional fields.
        let pos = DARTS_V2
            .replace("normal=", "")
            .replace("normal_concat=", "")
            .replace("reduce=", "")
            .replace("reduce_concat=", "");
        assert_eq!(Genotype::parse_text(None, &pos).unwrap(), g);
    }

    #[test]
    fn parse_errors_name_the_problem() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "sep_conv_3x3', 0), ('sep_conv_3x3', 1)",
                "conv_9x9', 0), ('sep_conv_3x3', 1)",
                &["normal[0]", "unknown op 'conv_9x9'"],
            ),
            (
                "('dil_conv_3x3', 2)",
                "('dil_conv_3x3', 5)",
                &[
                    "normal[7]",
                    "input 5 out of range",
                    "node 3 may read states 0..=4",
                ],
            ),
            (
                "('sep_conv_3x3', 1), ('sep_conv_3x3', 0)",
                "('sep_conv_3x3', 2), ('sep_conv_3x3', 0)",
                &[
                    "normal[1]",
                    "input 2 out of range",
                    "node 0 may read states 0..=1",
                ],
            ),
            (
                "('dil_conv_3x3', 2)",
                "('dil_conv_3x3', -1)",
                &["normal[7]", "input -1 out of range"],
            ),
            (
                "('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip",
                "('max_pool_3x3', 1), ('max_pool_3x3', 1), ('skip",
                &["reduce[0]", "reduce[1]", "duplicate input 1", "distinct"],
            ),
            (
                ", ('dil_conv_3x3', 2)]",
                "]",
                &["wrong tuple count", "normal has 7 tuples"],
            ),
            (
                "normal_concat=[2, 3, 4, 5]",
                "normal_concat=[2, 3, 5]",
                &["normal_concat is [2, 3, 5] but must be [2, 3, 4, 5]"],
            ),
            (
                "reduce_concat=[2, 3, 4, 5]",
                "reduce_concat=[5, 4, 3, 2]",
                &["reduce_concat", "must be [2, 3, 4, 5]"],
            ),
            (
                "('skip_connect', 0), ('dil",
                "('identity', 0), ('dil",
                &[
                    "normal[6]",
                    "'identity' is not a darts op",
                    "nasnet op",
                    "detected",
                ],
            ),
            (
                "('skip_connect', 0), ('dil",
                "(0, 'skip_connect'), ('dil",
                &["normal[6]", "op comes first"],
            ),
            (
                ", reduce_concat=[2, 3, 4, 5]",
                "",
                &["missing field 'reduce_concat'"],
            ),
            (
                "normal_concat=",
                "normal_concta=",
                &["unknown field 'normal_concta'"],
            ),
            (
                "[2, 3, 4, 5])",
                "[2, 3, 4, 5]",
                &["expected ',' or ')'", "end of text"],
            ),
            ("Genotype(", "Genotyp(", &["expected Genotype(...)"]),
            (
                "('sep_conv_3x3', 0)",
                "('sep_conv_3x3', 0",
                &["expected ',' or ')'"],
            ),
            (
                "'skip_connect', 0",
                "'skip_connect, 0",
                &["expected ',' or ')'"],
            ),
        ];
        for (from, to, needles) in cases {
            assert!(DARTS_V2.contains(from), "{from}");
            let text = DARTS_V2.replacen(from, to, 1);
            let m = err(None, &text);
            for n in *needles {
                assert!(m.contains(n), "{text}\n => {m}\n (missing {n:?})");
            }
        }
        let m = err(Some(CellVariant::Nasnet), DARTS_V2);
        assert!(
            m.contains("wrong tuple count") && m.contains("expected 10 for nasnet"),
            "{m}"
        );
        let m = err(None, "");
        assert!(m.contains("unexpected end of text"), "{m}");
        let m = err(None, &format!("{DARTS_V2} x"));
        assert!(m.contains("after the genotype"), "{m}");
        let m = err(None, &DARTS_V2.replacen('\'', "\u{2019}", 1));
        assert!(m.contains("non-ASCII"), "{m}");
        let m = err(None, &"[".repeat(100));
        assert!(
            m.contains("nesting too deep") || m.contains("end of text"),
            "{m}"
        );
    }

    #[test]
    fn nasnet_concat_is_validated() {
        let mut rng = stream("cells-text", 1, "nasnet");
        let g = Genotype::sample(CellVariant::Nasnet, &mut rng);
        let t = g.to_string();
        let given = format!("{:?}", g.concat(CellKind::Normal));
        let wrong = t.replacen(
            &format!("normal_concat={given}"),
            "normal_concat=[2, 3, 4, 5, 6]",
            1,
        );
        if given != "[2, 3, 4, 5, 6]" {
            let m = err(None, &wrong);
            assert!(
                m.contains("normal_concat is [2, 3, 4, 5, 6] but must be"),
                "{m}"
            );
            assert!(m.contains("no block of the normal cell uses"), "{m}");
        }
        let hand = "Genotype(normal=[('identity', 0), ('conv_3x3', 1), ('sep_conv_3x3', 0), \
            ('sep_conv_5x5', 0), ('max_pool_3x3', 3), ('avg_pool_3x3', 1), ('conv_1x1', 1), \
            ('conv_1x1', 1), ('sep_conv_7x7', 5), ('identity', 0)], normal_concat=[2, 4, 6], \
            reduce=[('identity', 0), ('conv_3x3', 1), ('sep_conv_3x3', 0), \
            ('sep_conv_5x5', 0), ('max_pool_3x3', 3), ('avg_pool_3x3', 1), ('conv_1x1', 1), \
            ('conv_1x1', 1), ('sep_conv_7x7', 5), ('identity', 0)], reduce_concat=[2, 4, 6])";
        let g = Genotype::parse_text(None, hand).unwrap();
        assert_eq!(g.variant(), CellVariant::Nasnet);
        let m = err(
            None,
            &hand.replace("reduce_concat=[2, 4, 6]", "reduce_concat=[2, 3, 4, 5, 6]"),
        );
        assert!(
            m.contains("reduce_concat is [2, 3, 4, 5, 6] but must be [2, 4, 6]"),
            "{m}"
        );
        let m = err(
            None,
            &hand.replacen("('identity', 0)]", "('skip_connect', 0)]", 1),
        );
        assert!(
            m.contains("normal[9]") && m.contains("not a nasnet op (it is a darts op;"),
            "{m}"
        );
    }

    #[test]
    fn json_round_trips_and_has_the_documented_shape() {
        let g = Genotype::parse_text(None, DARTS_V2).unwrap();
        let s = g.to_json_string();
        assert!(
            s.starts_with(
                "{\"space\":\"darts\",\"normal\":[[\"sep_conv_3x3\",0],[\"sep_conv_3x3\",1],"
            ),
            "{s}"
        );
        assert!(s.contains("\"normal_concat\":[2,3,4,5],\"reduce\":[[\"max_pool_3x3\",0]"));
        assert!(s.contains(&format!(",\"text\":\"{g}\"}}")), "{s}");
        let v = g.to_json_value();
        assert_eq!(v["space"], "darts");
        assert_eq!(v["reduce_concat"], serde_json::json!([2, 3, 4, 5]));
        assert_eq!(v["normal"][7], serde_json::json!(["dil_conv_3x3", 2]));
        assert_eq!(Genotype::from_json_str(&s).unwrap(), g);
        assert_eq!(Genotype::from_json_value(&v).unwrap(), g);
        let back: Genotype = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, g);
        for variant in CellVariant::ALL {
            let mut rng = stream("cells-json", 0, variant.name());
            for _ in 0..300 {
                let g = Genotype::sample(variant, &mut rng);
                assert_eq!(Genotype::from_json_str(&g.to_json_string()).unwrap(), g);
                assert_eq!(Genotype::from_json_value(&g.to_json_value()).unwrap(), g);
            }
        }
        // `text` is optional; when present it must agree.
        let mut no_text = v.clone();
        no_text.as_object_mut().unwrap().remove("text");
        assert_eq!(Genotype::from_json_value(&no_text).unwrap(), g);
        let mut other = v.clone();
        other["text"] = DARTS_V2
            .replace("('dil_conv_3x3', 2)", "('dil_conv_5x5', 2)")
            .into();
        let m = format!("{}", Genotype::from_json_value(&other).unwrap_err());
        assert!(m.contains("'text' describes another genotype"), "{m}");
        // Validation as strict as the text form.
        let mut bad = no_text.clone();
        bad["normal"][3] = serde_json::json!(["sep_conv_3x3", 0]);
        let m = format!("{}", Genotype::from_json_value(&bad).unwrap_err());
        assert!(m.contains("duplicate input 0"), "{m}");
        let mut bad = no_text.clone();
        bad["space"] = "nasnet".into();
        let m = format!("{}", Genotype::from_json_value(&bad).unwrap_err());
        assert!(m.contains("expected 10 for nasnet"), "{m}");
        let mut bad = no_text.clone();
        bad["reduce_concat"] = serde_json::json!([2, 3]);
        let m = format!("{}", Genotype::from_json_value(&bad).unwrap_err());
        assert!(m.contains("reduce_concat is [2, 3]"), "{m}");
        let mut bad = no_text.clone();
        bad["spcae"] = "darts".into();
        assert!(Genotype::from_json_value(&bad).is_err());
        assert!(Genotype::from_json_str("{").is_err());
        let e = serde_json::from_value::<Genotype>(bad).unwrap_err();
        assert!(e.to_string().contains("spcae"), "{e}");
    }
}
