//! Experiment specs (TOML): methods x benchmarks/datasets x seeds, with a query budget.
//!
//! ```toml
//! name = "nb201-quick"
//! description = "..."
//! seeds = "0..10"            # or an explicit list [0, 1, 2]
//! budget = 200
//! report_budgets = [100, 150, 200]
//!
//! [[benchmark]]
//! benchmark = "nb201"
//! dataset = "cifar10"
//! search = "cifar10-valid/x-valid@200"
//! report = "cifar10/ori-test@200"
//! noise = "mean"
//!
//! [[method]]
//! name = "weaknas"            # label in tables
//! method = "weaknas"          # registry kind
//! params = { top_n = 100 }
//! ```

use crate::oracle::MetricContract;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Seeds of a spec: `"A..B"` (half-open) or an explicit list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Seeds {
    /// `"0..100"`.
    Range(String),
    /// `[0, 1, 2]`.
    List(Vec<u64>),
}

impl Seeds {
    /// The seeds as a list.
    pub fn to_vec(&self) -> Result<Vec<u64>> {
        match self {
            Seeds::List(v) => Ok(v.clone()),
            Seeds::Range(s) => parse_seed_range(s),
        }
    }
}

/// Parses `"A..B"` into `A, A+1, ..., B-1`.
pub fn parse_seed_range(s: &str) -> Result<Vec<u64>> {
    let Some((a, b)) = s.split_once("..") else {
        bail!("invalid seed range {s:?}: expected A..B")
    };
    let a: u64 = a
        .trim()
        .parse()
        .with_context(|| format!("invalid seed range {s:?}"))?;
    let b: u64 = b
        .trim()
        .parse()
        .with_context(|| format!("invalid seed range {s:?}"))?;
    if b <= a {
        bail!("invalid seed range {s:?}: empty");
    }
    Ok((a..b).collect())
}

/// When a run ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopRule {
    /// When the query budget is spent (default).
    #[default]
    Budget,
    /// As soon as a cell with the best search-metric mean of the space is queried
    /// (`"optimum"` is the same rule).
    #[serde(alias = "optimum")]
    SearchOptimum,
    /// As soon as a cell with the best report-metric mean of the space is queried.
    ReportOptimum,
}

impl StopRule {
    /// Whether this is the default rule (spent budget).
    pub fn is_budget(&self) -> bool {
        *self == StopRule::Budget
    }
    /// Name as written in specs.
    pub fn name(self) -> &'static str {
        match self {
            StopRule::Budget => "budget",
            StopRule::SearchOptimum => "search-optimum",
            StopRule::ReportOptimum => "report-optimum",
        }
    }
}

/// One benchmark/dataset entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkEntry {
    /// Benchmark name (`nb201`, `nb101`, `nb101-synthetic`).
    pub benchmark: String,
    /// The metric contract.
    #[serde(flatten)]
    pub contract: MetricContract,
    /// Store directory (default: `$WEAKNAS_HOME/stores/<benchmark>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<PathBuf>,
    /// Open-domain entries: the candidate pool (see [`super::open_domain`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<super::open_domain::PoolSpec>,
    /// Open-domain entries: the command that trains a candidate. Its presence makes the
    /// entry open-domain; `search`/`report` then name fields of the command's result JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluator: Option<crate::evaluator::command::CommandConfig>,
}

impl BenchmarkEntry {
    /// Whether the entry is evaluated by a command (open-domain).
    pub fn is_open_domain(&self) -> bool {
        self.evaluator.is_some()
    }
    /// The name the entry's loaded benchmark is kept under: the benchmark name for tabular
    /// entries, `<benchmark>-<dataset>` for open-domain ones.
    pub fn key(&self) -> String {
        if self.is_open_domain() {
            format!("{}-{}", self.benchmark, self.contract.dataset)
        } else {
            self.benchmark.clone()
        }
    }
}

/// One method entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodEntry {
    /// Label in tables and figures.
    pub name: String,
    /// Registry kind.
    pub method: String,
    /// Method parameters.
    #[serde(default)]
    pub params: toml::Table,
    /// Only run on these benchmarks (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmarks: Option<Vec<String>>,
}

/// An experiment spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Spec name (default output directory `runs/<name>`).
    pub name: String,
    /// What the spec reproduces.
    #[serde(default)]
    pub description: String,
    /// Seeds.
    pub seeds: Seeds,
    /// Query budget of every run.
    pub budget: usize,
    /// Query counts reported in tables (default: the budget).
    #[serde(default)]
    pub report_budgets: Vec<usize>,
    /// Benchmarks/datasets.
    #[serde(rename = "benchmark")]
    pub benchmarks: Vec<BenchmarkEntry>,
    /// Methods.
    #[serde(rename = "method")]
    pub methods: Vec<MethodEntry>,
    /// When a run ends (default: when its budget is spent). With `stop = "optimum"` a run
    /// ends as soon as it has queried a global optimum; set the budget up to the space size
    /// so that no run is censored.
    #[serde(default, skip_serializing_if = "StopRule::is_budget")]
    pub stop: StopRule,
    /// Outputs to render (tables, figures); read by `weaknas reproduce`.
    #[serde(default)]
    pub outputs: Outputs,
}

/// The `[outputs]` table of a spec: what `weaknas reproduce` records and how it renders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Outputs {
    /// Decimal places of the tables, 0..=8 (default 2, for accuracies in percent; e.g. 4
    /// for metrics that are fractions).
    pub decimals: usize,
    /// Cells of the predicted top-k recorded per iteration for the predicted-vs-true figures
    /// (0 = none).
    pub record_rankings: usize,
    /// Claims of the paper these runs test, for `weaknas claims` (`nb201-table`, `figure1`,
    /// `search-dynamics`, `samples-to-optimum`, `ablation-predictor`, `ablation-topn`).
    pub claims: Vec<String>,
}

impl Default for Outputs {
    fn default() -> Self {
        Self {
            decimals: 2,
            record_rankings: 0,
            claims: Vec::new(),
        }
    }
}

impl Spec {
    /// Parses a spec file, naming the file in every error.
    pub fn load(path: &Path) -> Result<Spec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading spec {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid spec {}", path.display()))
    }
    /// Parses spec text and checks it.
    pub fn parse(text: &str) -> Result<Spec> {
        let spec: Spec = toml::from_str(text)?;
        spec.check()?;
        Ok(spec)
    }
    fn check(&self) -> Result<()> {
        if self.budget == 0 {
            bail!("budget must be positive");
        }
        if self.benchmarks.is_empty() || self.methods.is_empty() {
            bail!("a spec needs at least one [[benchmark]] and one [[method]]");
        }
        self.seeds.to_vec()?;
        let mut names: Vec<&str> = self.methods.iter().map(|m| m.name.as_str()).collect();
        names.sort();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!("method name {:?} is used twice", w[0]);
        }
        for b in &self.benchmarks {
            match &b.evaluator {
                Some(e) => {
                    super::open_domain::variant_of(&b.benchmark)?;
                    e.validate()
                        .with_context(|| format!("benchmark {}", b.benchmark))?;
                    if b.contract.noise != crate::oracle::NoiseModel::Mean {
                        bail!(
                            "benchmark {}: noise models apply to tabular benchmarks; an \
                             evaluator's command returns one value per evaluation",
                            b.benchmark
                        );
                    }
                    if b.store.is_some() {
                        bail!(
                            "benchmark {}: an open-domain entry has no store",
                            b.benchmark
                        );
                    }
                    if !self.stop.is_budget() {
                        bail!(
                            "benchmark {}: stop = {:?} needs a tabular benchmark (the optimum \
                             of an open-domain space is unknown)",
                            b.benchmark,
                            self.stop.name()
                        );
                    }
                    if let Some(p) = &b.pool {
                        if p.size < self.budget {
                            bail!(
                                "benchmark {}: budget {} is larger than the pool ({} candidates)",
                                b.benchmark,
                                self.budget,
                                p.size
                            );
                        }
                    }
                }
                None if b.pool.is_some() => bail!(
                    "benchmark {}: a pool needs an [evaluator] (open-domain search)",
                    b.benchmark
                ),
                None => {}
            }
        }
        let mut keys: Vec<String> = self
            .benchmarks
            .iter()
            .filter(|b| b.is_open_domain())
            .map(|b| b.key())
            .collect();
        keys.sort();
        if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
            bail!(
                "open-domain entry {:?} (benchmark-dataset) appears twice",
                w[0]
            );
        }
        if self.outputs.decimals > 8 {
            bail!(
                "outputs.decimals = {} is outside 0..=8",
                self.outputs.decimals
            );
        }
        if let Some(b) = self
            .report_budgets
            .iter()
            .find(|&&b| b > self.budget || b == 0)
        {
            bail!("report budget {b} is outside 1..={}", self.budget);
        }
        Ok(())
    }
    /// Query counts for tables.
    pub fn report_grid(&self) -> Vec<usize> {
        if self.report_budgets.is_empty() {
            vec![self.budget]
        } else {
            self.report_budgets.clone()
        }
    }
    /// sha256 of the spec's canonical JSON form (for provenance).
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(
            serde_json::to_vec(self).expect("spec serialises"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
name = "t"
seeds = "0..3"
budget = 50
report_budgets = [10, 50]
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid@200"
report = "cifar10/ori-test@200"
[[method]]
name = "rs"
method = "random"
"#;

    #[test]
    fn parses_and_checks() {
        let s = Spec::parse(SPEC).unwrap();
        assert_eq!(s.seeds.to_vec().unwrap(), vec![0, 1, 2]);
        assert_eq!(s.report_grid(), vec![10, 50]);
        assert_eq!(
            s.benchmarks[0].contract.noise,
            crate::oracle::NoiseModel::Mean
        );
        let bad = SPEC.replace("budget = 50", "budget = 5");
        assert!(Spec::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("report budget"));
        let bad = SPEC.replace("seeds = \"0..3\"", "seeds = \"3..0\"");
        assert!(Spec::parse(&bad).is_err());
        let bad = SPEC.replace("dataset =", "datset =");
        assert!(Spec::parse(&bad).is_err());
    }

    #[test]
    fn stop_rule_parses_with_alias_and_rejects_unknown() {
        assert_eq!(Spec::parse(SPEC).unwrap().stop, StopRule::Budget);
        let s = Spec::parse(&format!("stop = \"optimum\"\n{SPEC}")).unwrap();
        assert_eq!(s.stop, StopRule::SearchOptimum);
        let s = Spec::parse(&format!("stop = \"report-optimum\"\n{SPEC}")).unwrap();
        assert_eq!(s.stop, StopRule::ReportOptimum);
        assert!(Spec::parse(&format!("stop = \"never\"\n{SPEC}")).is_err());
    }

    #[test]
    fn outputs_are_typed() {
        let s = Spec::parse(SPEC).unwrap();
        assert_eq!(s.outputs, Outputs::default());
        assert_eq!(s.outputs.decimals, 2);
        let with = |o: &str| Spec::parse(&format!("{SPEC}[outputs]\n{o}\n"));
        let s = with("decimals = 4\nrecord_rankings = 20").unwrap();
        assert_eq!((s.outputs.decimals, s.outputs.record_rankings), (4, 20));
        let e = format!("{:#}", with("decimal = 4").unwrap_err());
        assert!(e.contains("decimal"), "{e}");
        assert!(with("record_rankings = -1").is_err());
        let e = format!("{:#}", with("decimals = 9").unwrap_err());
        assert!(e.contains("outputs.decimals"), "{e}");
    }
}
