//! Published numbers as data (`results/reference/*.csv`), with their protocol and whether
//! they were verified against the original source.
//!
//! Columns: `benchmark,dataset,method,method_label,protocol,metric,unit,budget,value,std,
//! source,status,note`. `method` uses the harness's method kinds where one exists
//! (`weaknas`, `random`, `evolution`, `local-search`); `protocol` is `incumbent`,
//! `paper_best_peek`, or a label of a protocol the harness does not run (e.g.
//! `incumbent-time12000s-12ep`), which never matches a run; `metric` is the store key of the
//! report metric; `unit` is `accuracy_pct` or `error_pct`; `budget` is a query count (empty
//! for a time budget); `status` is `verified` or `unverified`.

use crate::curves::{GroupKey, Measure};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Whether a published number was read from its original source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Read from the source named.
    Verified,
    /// Widely quoted, not read from the original: shown flagged, never gated on.
    Unverified,
}

/// Unit of a published value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Accuracy in percent.
    AccuracyPct,
    /// Error in percent (accuracy = 100 - error).
    ErrorPct,
}

/// One published number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// Benchmark (`nb101`, `nb201`, ...).
    pub benchmark: String,
    /// Dataset.
    pub dataset: String,
    /// Method (harness method kind where one exists).
    pub method: String,
    /// Method name as published.
    pub method_label: String,
    /// Protocol (`incumbent`, `paper_best_peek`, or another label).
    pub protocol: String,
    /// Store key of the report metric.
    pub metric: String,
    /// Unit of `value` and `std`.
    pub unit: Unit,
    /// Query budget (none for a time budget).
    pub budget: Option<usize>,
    /// Published value.
    pub value: f64,
    /// Published standard deviation, if any.
    pub std: Option<f64>,
    /// Where it comes from.
    pub source: String,
    /// Verified or not.
    pub status: Status,
    /// Details of the protocol.
    pub note: String,
}

impl Reference {
    /// The value as accuracy in percent.
    pub fn accuracy_pct(&self) -> f64 {
        match self.unit {
            Unit::AccuracyPct => self.value,
            Unit::ErrorPct => 100.0 - self.value,
        }
    }
    /// `""` for verified numbers, `"†unverified"` otherwise.
    pub fn flag(&self) -> &'static str {
        match self.status {
            Status::Verified => "",
            Status::Unverified => "†unverified",
        }
    }
    /// Whether this number is comparable with `measure` of runs of `key` at `q` queries:
    /// same benchmark, method (kind or label), protocol, report metric and budget. Regret
    /// measures never match (published numbers are accuracies).
    pub fn matches(&self, key: &GroupKey, measure: Measure, q: usize) -> bool {
        matches!(measure, Measure::Report | Measure::PaperBestPeek)
            && self.benchmark == key.benchmark
            && (self.method == key.method_kind || self.method == key.method)
            && self.protocol == measure.protocol()
            && self.metric == key.report_metric
            && self.budget == Some(q)
    }
}

/// Reads published numbers from CSV text; `origin` names the file in errors.
pub fn parse_references(text: &str, origin: &str) -> Result<Vec<Reference>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in r.deserialize::<Reference>().enumerate() {
        let rec = rec.with_context(|| format!("{origin}: bad reference row {}", i + 2))?;
        if !rec.value.is_finite() {
            bail!("{origin}: row {}: value is not a number", i + 2);
        }
        out.push(rec);
    }
    Ok(out)
}

/// Reads every `*.csv` in `dir` (sorted by file name).
pub fn load_references(dir: &Path) -> Result<Vec<Reference>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        out.extend(parse_references(&text, &p.display().to_string())?);
    }
    Ok(out)
}

/// The reference CSVs compiled into the crate (`results/reference/*.csv`), so the binary
/// needs no source checkout.
pub const BUNDLED: [(&str, &str); 3] = [
    (
        "reference/bananas_nb101.csv",
        include_str!("../reference/bananas_nb101.csv"),
    ),
    (
        "reference/nb201_table5.csv",
        include_str!("../reference/nb201_table5.csv"),
    ),
    (
        "reference/weaknas.csv",
        include_str!("../reference/weaknas.csv"),
    ),
];

/// The bundled published numbers.
pub fn bundled_references() -> Result<Vec<Reference>> {
    let mut out = Vec::new();
    for (name, text) in BUNDLED {
        out.extend(parse_references(text, name)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_references_parse_and_match_the_docs() {
        let r = bundled_references().unwrap();
        let w: Vec<_> = r
            .iter()
            .filter(|r| r.method == "weaknas" && r.benchmark == "nb101")
            .collect();
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|r| r.status == Status::Verified));
        assert_eq!(w[0].budget, Some(100));
        assert_eq!(w[0].value, 93.66);
        assert_eq!(w[0].protocol, "paper_best_peek");
        let rs = r
            .iter()
            .find(|r| r.method == "random" && r.benchmark == "nb101")
            .unwrap();
        assert_eq!(rs.unit, Unit::ErrorPct);
        assert!((rs.accuracy_pct() - 93.659).abs() < 1e-9);
        // NAS-Bench-201 Table 5 is unverified and flagged.
        let t5: Vec<_> = r.iter().filter(|r| r.benchmark == "nb201").collect();
        assert_eq!(t5.len(), 30);
        assert!(t5.iter().all(|r| r.flag() == "†unverified"));
        // The directory reader sees the same rows as the bundled copy.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference");
        assert_eq!(load_references(&dir).unwrap(), r);
    }

    #[test]
    fn bad_rows_name_the_file() {
        let e = parse_references(
            "benchmark,dataset,method,method_label,protocol,metric,unit,budget,value,std,source,status,note\n\
             nb101,c,m,M,incumbent,k,percent,10,1.0,,s,verified,n\n",
            "x.csv",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("x.csv"), "{e:#}");
    }

    #[test]
    fn matching_requires_the_same_protocol() {
        let r = bundled_references().unwrap();
        let key = GroupKey {
            benchmark: "nb101".into(),
            dataset: "cifar10".into(),
            method: "weaknas-mlp".into(),
            method_kind: "weaknas".into(),
            search_metric: "cifar10/valid@108".into(),
            report_metric: "cifar10/ori-test@108".into(),
            noise: "none".into(),
        };
        let n = |m, q| r.iter().filter(|r| r.matches(&key, m, q)).count();
        assert_eq!(n(Measure::PaperBestPeek, 100), 1);
        assert_eq!(n(Measure::Report, 100), 0);
        assert_eq!(n(Measure::PaperBestPeek, 120), 0);
        assert_eq!(n(Measure::PaperBestPeekRegret, 100), 0);
    }
}
