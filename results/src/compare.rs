//! Comparing two result directories (e.g. before and after a change): per (group, budget) a
//! verdict with effect size, CI of the difference and a Holm-corrected p-value.

use crate::aggregate::group_curves;
use crate::curves::{run_curves, GroupKey, Measure, RunCurve};
use crate::sink::load_traces;
use crate::stats::{
    cliffs_delta, holm, mann_whitney_u, mean, paired_rank_biserial, percentile_sorted,
    wilcoxon_signed_rank, Alternative, BootstrapOptions,
};
use crate::table::Table;
use anyhow::{bail, Result};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use weaknas_harness::rng::stream;
use weaknas_harness::trace::RunTrace;

/// Options of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareOptions {
    /// Measure compared (default: the incumbent's report value).
    pub measure: Measure,
    /// Query counts compared; empty = for each group, the largest q every run of both sides
    /// reached.
    pub budgets: Vec<usize>,
    /// Family-wise significance level (Holm across the whole report).
    pub alpha: f64,
    /// Smallest |mean difference| (in the measure's units) that counts as a change.
    pub min_effect: f64,
    /// Bootstrap for the CI of the difference.
    pub bootstrap: BootstrapOptions,
    /// Whether a group or budget the baseline has and the candidate lacks is acceptable;
    /// by default it is a regression ("missing").
    pub allow_missing: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            measure: Measure::Report,
            budgets: Vec::new(),
            alpha: 0.05,
            min_effect: 0.0,
            bootstrap: BootstrapOptions::default(),
            allow_missing: false,
        }
    }
}

/// Outcome for one (group, budget).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The candidate is significantly better.
    Better,
    /// The candidate is significantly worse: a regression.
    Worse,
    /// No significant difference.
    NoDifference,
    /// Too few runs on a side to test (fewer than two).
    Insufficient,
}

impl Verdict {
    /// Lower-case label.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "WORSE",
            Verdict::NoDifference => "no difference",
            Verdict::Insufficient => "insufficient runs",
        }
    }
}

/// Which test produced the p-value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestUsed {
    /// Paired Wilcoxon signed-rank on the seeds both sides ran.
    PairedWilcoxon,
    /// Mann-Whitney U on all runs (too few common seeds).
    MannWhitney,
    /// No test (insufficient runs).
    None,
}

/// Comparison of one group at one budget.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonRow {
    /// Group.
    pub key: GroupKey,
    /// Query count.
    pub q: usize,
    /// Baseline runs with a value at q.
    pub n_baseline: usize,
    /// Candidate runs with a value at q.
    pub n_candidate: usize,
    /// Test used.
    pub test: TestUsed,
    /// Pairs used by the paired test (0 otherwise).
    pub n_pairs: usize,
    /// Baseline mean.
    pub mean_baseline: f64,
    /// Candidate mean.
    pub mean_candidate: f64,
    /// Mean difference candidate - baseline (paired: mean of the paired differences).
    pub diff: f64,
    /// Bootstrap CI of `diff`.
    pub diff_ci: (f64, f64),
    /// Effect size oriented so that positive = candidate better: matched-pairs rank-biserial
    /// (paired) or Cliff's delta (unpaired), in [-1, 1].
    pub effect: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Holm-adjusted p-value across every row of the report.
    pub p_holm: f64,
    /// Verdict.
    pub verdict: Verdict,
}

/// A whole comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonReport {
    /// Options used.
    pub options: CompareOptions,
    /// One row per (group, budget) present on both sides.
    pub rows: Vec<ComparisonRow>,
    /// Groups only the baseline has (missing from the candidate).
    pub only_baseline: Vec<GroupKey>,
    /// Groups only the candidate has (new).
    pub only_candidate: Vec<GroupKey>,
    /// Budgets of groups both sides have at which the baseline has values and the
    /// candidate none (missing from the candidate).
    pub missing_budgets: Vec<(GroupKey, usize)>,
}

impl ComparisonReport {
    /// Whether any row is a significant regression, or (unless `allow_missing`) something
    /// of the baseline is missing from the candidate (the CLI exits with 1).
    pub fn has_regression(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Worse)
            || (!self.options.allow_missing && self.has_missing())
    }
    /// Whether a group or budget of the baseline is missing from the candidate.
    pub fn has_missing(&self) -> bool {
        !self.only_baseline.is_empty() || !self.missing_budgets.is_empty()
    }
    /// What the candidate lacks, one line each: `benchmark / dataset / method (protocol)`,
    /// with ` at q = N` for a missing budget.
    pub fn missing_lines(&self) -> Vec<String> {
        let m = self.options.measure;
        let line = |k: &GroupKey| {
            format!(
                "{} / {} / {} ({})",
                k.benchmark,
                k.dataset,
                k.method,
                k.protocol(m)
            )
        };
        self.only_baseline
            .iter()
            .map(line)
            .chain(
                self.missing_budgets
                    .iter()
                    .map(|(k, q)| format!("{} at q = {q}", line(k))),
            )
            .collect()
    }
    /// What only the candidate has, one line each (new groups).
    pub fn new_lines(&self) -> Vec<String> {
        let m = self.options.measure;
        self.only_candidate
            .iter()
            .map(|k| {
                format!(
                    "{} / {} / {} ({})",
                    k.benchmark,
                    k.dataset,
                    k.method,
                    k.protocol(m)
                )
            })
            .collect()
    }
    /// Number of rows with a verdict.
    pub fn count(&self, v: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == v).count()
    }
    /// The rows as a table.
    pub fn table(&self) -> Table {
        let m = self.options.measure;
        let header = [
            "benchmark",
            "dataset",
            "method",
            "protocol",
            "q",
            "n (base/cand)",
            "test",
            "baseline",
            "candidate",
            "Δ [95% CI]",
            "effect",
            "p",
            "p (Holm)",
            "verdict",
        ]
        .map(String::from)
        .to_vec();
        let g = |v: f64| {
            if v.is_nan() {
                "–".to_string()
            } else {
                format!("{v:.4}")
            }
        };
        let p = |v: f64| {
            if v.is_nan() {
                "–".to_string()
            } else {
                format!("{v:.3e}")
            }
        };
        let rows = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.key.benchmark.clone(),
                    r.key.dataset.clone(),
                    r.key.method.clone(),
                    r.key.protocol(m),
                    r.q.to_string(),
                    format!("{}/{}", r.n_baseline, r.n_candidate),
                    match r.test {
                        TestUsed::PairedWilcoxon => format!("Wilcoxon ({} pairs)", r.n_pairs),
                        TestUsed::MannWhitney => "Mann-Whitney".into(),
                        TestUsed::None => "–".into(),
                    },
                    g(r.mean_baseline),
                    g(r.mean_candidate),
                    format!("{:+.4} [{}, {}]", r.diff, g(r.diff_ci.0), g(r.diff_ci.1)),
                    format!("{:+.2}", r.effect),
                    p(r.p),
                    p(r.p_holm),
                    r.verdict.label().into(),
                ]
            })
            .collect();
        let mut notes = vec![format!(
            "measure: {} ({}); Δ = candidate - baseline; effect > 0 means the candidate is better; Holm correction over {} tests at alpha = {}{}.",
            m.name(),
            if m.higher_is_better() { "higher is better" } else { "lower is better" },
            self.rows.iter().filter(|r| !r.p.is_nan()).count(),
            self.options.alpha,
            if self.options.min_effect > 0.0 {
                format!(", minimum |Δ| {}", self.options.min_effect)
            } else {
                String::new()
            }
        )];
        let missing_label = if self.options.allow_missing {
            "missing from the candidate (allowed)"
        } else {
            "MISSING from the candidate (a regression)"
        };
        for l in self.missing_lines() {
            notes.push(format!("{missing_label}: {l}"));
        }
        for l in self.new_lines() {
            notes.push(format!("new in the candidate: {l}"));
        }
        Table {
            title: format!(
                "Comparison: {} better, {} worse, {} no difference, {} insufficient, {} missing, {} new",
                self.count(Verdict::Better),
                self.count(Verdict::Worse),
                self.count(Verdict::NoDifference),
                self.count(Verdict::Insufficient),
                self.missing_lines().len(),
                self.only_candidate.len()
            ),
            header,
            rows,
            notes,
            csv: Some(self.csv_data()),
        }
    }
    /// The comparison's numbers for its CSV file (one numeric column per quantity).
    fn csv_data(&self) -> crate::table::CsvData {
        use crate::table::num;
        let mut d = crate::table::CsvData::new(&[
            "benchmark",
            "dataset",
            "method",
            "protocol",
            "q",
            "n_baseline",
            "n_candidate",
            "n_pairs",
            "test",
            "mean_baseline",
            "mean_candidate",
            "diff",
            "diff_ci_lo",
            "diff_ci_hi",
            "effect",
            "p",
            "p_holm",
            "verdict",
        ]);
        let m = self.options.measure;
        for r in &self.rows {
            d.rows.push(vec![
                r.key.benchmark.clone(),
                r.key.dataset.clone(),
                r.key.method.clone(),
                r.key.protocol(m),
                r.q.to_string(),
                r.n_baseline.to_string(),
                r.n_candidate.to_string(),
                r.n_pairs.to_string(),
                match r.test {
                    TestUsed::PairedWilcoxon => "wilcoxon",
                    TestUsed::MannWhitney => "mann-whitney",
                    TestUsed::None => "",
                }
                .into(),
                num(r.mean_baseline),
                num(r.mean_candidate),
                num(r.diff),
                num(r.diff_ci.0),
                num(r.diff_ci.1),
                num(r.effect),
                num(r.p),
                num(r.p_holm),
                r.verdict.label().into(),
            ]);
        }
        d
    }
    /// Markdown rendering of [`ComparisonReport::table`].
    pub fn to_markdown(&self) -> String {
        self.table().to_markdown()
    }
}

/// Compares the runs stored in two result directories.
pub fn compare(
    baseline_dir: &Path,
    candidate_dir: &Path,
    opts: &CompareOptions,
) -> Result<ComparisonReport> {
    let b = load_traces(baseline_dir)?;
    if b.is_empty() {
        bail!("{}: no stored runs to compare", baseline_dir.display());
    }
    let c = load_traces(candidate_dir)?;
    if c.is_empty() {
        bail!("{}: no stored runs to compare", candidate_dir.display());
    }
    Ok(compare_traces(&b, &c, opts))
}

/// Compares two sets of traces (see [`compare`]).
pub fn compare_traces(
    baseline: &[RunTrace],
    candidate: &[RunTrace],
    opts: &CompareOptions,
) -> ComparisonReport {
    let bc = run_curves(baseline);
    let cc = run_curves(candidate);
    let bg = group_curves(&bc);
    let cg = group_curves(&cc);
    let mut rows = Vec::new();
    let mut missing_budgets = Vec::new();
    for (key, bruns) in &bg {
        let Some(cruns) = cg.get(key) else { continue };
        let budgets = if opts.budgets.is_empty() {
            let q = bruns
                .iter()
                .chain(cruns)
                .map(|r| r.len())
                .min()
                .unwrap_or(0);
            if q == 0 {
                vec![]
            } else {
                vec![q]
            }
        } else {
            opts.budgets.clone()
        };
        for q in budgets {
            if let Some(r) = compare_group(key, bruns, cruns, q, opts) {
                rows.push(r);
            } else if !values_by_seed(bruns, opts.measure, q).is_empty() {
                missing_budgets.push((key.clone(), q));
            }
        }
    }
    let adj = holm(&rows.iter().map(|r| r.p).collect::<Vec<_>>());
    let sign = if opts.measure.higher_is_better() {
        1.0
    } else {
        -1.0
    };
    for (r, p) in rows.iter_mut().zip(adj) {
        r.p_holm = p;
        r.verdict = verdict(r.test, p, sign * r.diff, opts.alpha, opts.min_effect);
    }
    let bk: BTreeSet<_> = bg.keys().cloned().collect();
    let ck: BTreeSet<_> = cg.keys().cloned().collect();
    ComparisonReport {
        options: opts.clone(),
        rows,
        only_baseline: bk.difference(&ck).cloned().collect(),
        only_candidate: ck.difference(&bk).cloned().collect(),
        missing_budgets,
    }
}

/// Two samples of a measure, one value per seed, tested by the rule every comparison of this
/// crate and the reports share: the paired Wilcoxon signed-rank test on the seeds both sides
/// ran when there are at least two of them, else Mann-Whitney U when each side has at least
/// two runs, else no test.
#[derive(Clone, Debug, PartialEq)]
pub struct TwoSample {
    /// Test used.
    pub test: TestUsed,
    /// Paired differences candidate - baseline (empty unless the test is paired).
    pub pairs: Vec<f64>,
    /// Baseline values.
    pub baseline: Vec<f64>,
    /// Candidate values.
    pub candidate: Vec<f64>,
    /// Mean difference candidate - baseline (paired: mean of the paired differences).
    pub diff: f64,
    /// Rank effect size, positive = candidate higher: matched-pairs rank-biserial (paired) or
    /// Cliff's delta (unpaired); NaN without a test.
    pub effect: f64,
    /// Two-sided p-value (NaN without a test).
    pub p: f64,
}

/// Tests `candidate` against `baseline` (values by seed) by the shared rule of [`TwoSample`];
/// `None` when a side is empty.
pub fn two_sample(
    baseline: &BTreeMap<u64, f64>,
    candidate: &BTreeMap<u64, f64>,
) -> Option<TwoSample> {
    if baseline.is_empty() || candidate.is_empty() {
        return None;
    }
    let bv: Vec<f64> = baseline.values().copied().collect();
    let cv: Vec<f64> = candidate.values().copied().collect();
    let pairs: Vec<f64> = baseline
        .iter()
        .filter_map(|(s, b)| candidate.get(s).map(|c| c - b))
        .collect();
    let mut t = TwoSample {
        test: TestUsed::None,
        pairs: Vec::new(),
        diff: mean(&cv) - mean(&bv),
        effect: f64::NAN,
        p: f64::NAN,
        baseline: bv,
        candidate: cv,
    };
    if pairs.len() >= 2 {
        t.test = TestUsed::PairedWilcoxon;
        t.diff = mean(&pairs);
        t.effect = paired_rank_biserial(&pairs);
        t.p = wilcoxon_signed_rank(&pairs, Alternative::TwoSided)
            .map(|r| r.pvalue)
            .unwrap_or(f64::NAN);
        t.pairs = pairs;
    } else if t.baseline.len() >= 2 && t.candidate.len() >= 2 {
        t.test = TestUsed::MannWhitney;
        t.effect = cliffs_delta(&t.candidate, &t.baseline);
        t.p = mann_whitney_u(&t.candidate, &t.baseline, Alternative::TwoSided)
            .map(|r| r.pvalue)
            .unwrap_or(f64::NAN);
    }
    Some(t)
}

/// The verdict of a tested row from its Holm-adjusted p-value and its gain (the difference
/// oriented so that positive = candidate better); `Insufficient` without a test.
pub fn verdict(test: TestUsed, p_holm: f64, gain: f64, alpha: f64, min_effect: f64) -> Verdict {
    if test == TestUsed::None {
        Verdict::Insufficient
    } else if p_holm < alpha && gain > min_effect {
        Verdict::Better
    } else if p_holm < alpha && gain < -min_effect {
        Verdict::Worse
    } else {
        Verdict::NoDifference
    }
}

/// Values of `runs` at `q` by seed (the first run of a seed wins).
pub fn values_by_seed(runs: &[&RunCurve], m: Measure, q: usize) -> BTreeMap<u64, f64> {
    let mut s: BTreeMap<u64, f64> = BTreeMap::new();
    for r in runs {
        if let Some(v) = r.value(m, q) {
            s.entry(r.seed).or_insert(v);
        }
    }
    s
}

fn compare_group(
    key: &GroupKey,
    bruns: &[&RunCurve],
    cruns: &[&RunCurve],
    q: usize,
    opts: &CompareOptions,
) -> Option<ComparisonRow> {
    let m = opts.measure;
    let t = two_sample(&values_by_seed(bruns, m, q), &values_by_seed(cruns, m, q))?;
    let sign = if m.higher_is_better() { 1.0 } else { -1.0 };
    let label = format!("compare/{key:?}/{m}");
    let mut rng = stream(&label, opts.bootstrap.seed, &format!("bootstrap-q{q}"));
    let reps = opts.bootstrap.reps;
    let a = (1.0 - opts.bootstrap.confidence) / 2.0;
    let ci = |mut s: Vec<f64>| {
        if s.is_empty() {
            return (f64::NAN, f64::NAN);
        }
        s.sort_by(|x, y| x.total_cmp(y));
        (percentile_sorted(&s, a), percentile_sorted(&s, 1.0 - a))
    };
    let mut resample_mean = |v: &[f64]| {
        (0..v.len())
            .map(|_| v[rng.random_range(0..v.len())])
            .sum::<f64>()
            / v.len() as f64
    };
    let diff_ci = match t.test {
        TestUsed::PairedWilcoxon => ci((0..reps).map(|_| resample_mean(&t.pairs)).collect()),
        TestUsed::MannWhitney => ci((0..reps)
            .map(|_| resample_mean(&t.candidate) - resample_mean(&t.baseline))
            .collect()),
        TestUsed::None => (f64::NAN, f64::NAN),
    };
    Some(ComparisonRow {
        key: key.clone(),
        q,
        n_baseline: t.baseline.len(),
        n_candidate: t.candidate.len(),
        test: t.test,
        n_pairs: t.pairs.len(),
        mean_baseline: mean(&t.baseline),
        mean_candidate: mean(&t.candidate),
        diff: t.diff,
        diff_ci,
        effect: sign * t.effect,
        p: t.p,
        p_holm: f64::NAN,
        verdict: Verdict::Insufficient,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::synthetic::{trace, values};
    use crate::sink::ParquetTraceSink;
    use weaknas_harness::trace::TraceSink;

    fn runs(method: &str, dataset: &str, seeds: std::ops::Range<u64>, shift: f64) -> Vec<RunTrace> {
        seeds
            .map(|s| {
                let v: Vec<f64> = values(s * 7 + 3, 60, 85.0, 95.0)
                    .into_iter()
                    .map(|x| x + shift)
                    .collect();
                trace(method, dataset, s, &v)
            })
            .collect()
    }

    #[test]
    fn identical_runs_show_no_difference() {
        let b = [runs("a", "d1", 0..20, 0.0), runs("b", "d1", 0..20, 0.0)].concat();
        let rep = compare_traces(&b, &b, &CompareOptions::default());
        assert_eq!(rep.rows.len(), 2);
        assert!(!rep.has_regression());
        assert_eq!(rep.count(Verdict::NoDifference), 2);
        assert!(rep
            .rows
            .iter()
            .all(|r| r.test == TestUsed::PairedWilcoxon && r.p == 1.0));
    }

    #[test]
    fn same_distribution_different_seeds_passes() {
        // Independent seeds from the same synthetic distribution: Mann-Whitney, no verdict.
        let b = runs("a", "d1", 0..20, 0.0);
        let c = runs("a", "d1", 100..120, 0.0);
        let rep = compare_traces(&b, &c, &CompareOptions::default());
        assert_eq!(rep.rows[0].test, TestUsed::MannWhitney);
        assert!(!rep.has_regression(), "{}", rep.to_markdown());
    }

    #[test]
    fn injected_regression_is_flagged_through_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let (bd, cd) = (dir.path().join("base"), dir.path().join("cand"));
        let base = [runs("a", "d1", 0..15, 0.0), runs("b", "d1", 0..15, 0.0)].concat();
        // Candidate: method a gets 0.5 worse at every query (a regression); b unchanged.
        let cand = [runs("a", "d1", 0..15, -0.5), runs("b", "d1", 0..15, 0.0)].concat();
        let (bs, cs) = (ParquetTraceSink::new(&bd), ParquetTraceSink::new(&cd));
        for t in &base {
            bs.write(t).unwrap();
        }
        for t in &cand {
            cs.write(t).unwrap();
        }
        let rep = compare(&bd, &cd, &CompareOptions::default()).unwrap();
        assert!(rep.has_regression(), "{}", rep.to_markdown());
        let a = rep.rows.iter().find(|r| r.key.method == "a").unwrap();
        assert_eq!(a.verdict, Verdict::Worse);
        assert!((a.diff + 0.5).abs() < 1e-9);
        assert!(a.diff_ci.1 < 0.0);
        assert_eq!(a.effect, -1.0);
        let b = rep.rows.iter().find(|r| r.key.method == "b").unwrap();
        assert_eq!(b.verdict, Verdict::NoDifference);
        // Regret: lower is better, the same regression is still "worse".
        let r = compare(
            &bd,
            &cd,
            &CompareOptions {
                measure: Measure::ReportRegret,
                budgets: vec![10, 60],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r.rows.len(), 4);
        assert!(r
            .rows
            .iter()
            .filter(|r| r.key.method == "a")
            .all(|r| r.verdict == Verdict::Worse && r.effect == -1.0));
        // The reverse comparison sees an improvement, not a regression.
        let rev = compare(&cd, &bd, &CompareOptions::default()).unwrap();
        assert!(!rev.has_regression());
        assert_eq!(rev.count(Verdict::Better), 1);
        let md = rep.to_markdown();
        assert!(
            md.contains("WORSE") && md.contains("Wilcoxon (15 pairs)"),
            "{md}"
        );
    }

    #[test]
    fn unmatched_groups_and_tiny_samples() {
        let b = [runs("a", "d1", 0..1, 0.0), runs("x", "d1", 0..3, 0.0)].concat();
        let c = [runs("a", "d1", 5..6, -1.0), runs("y", "d1", 0..3, 0.0)].concat();
        let rep = compare_traces(&b, &c, &CompareOptions::default());
        assert_eq!(rep.rows.len(), 1);
        assert_eq!(rep.rows[0].verdict, Verdict::Insufficient);
        assert!(!rep.rows.iter().any(|r| r.verdict == Verdict::Worse));
        assert_eq!(rep.only_baseline.len(), 1);
        assert_eq!(rep.only_candidate.len(), 1);
        // x is missing from the candidate: a regression unless allowed; y is listed as new.
        assert!(rep.has_regression() && rep.has_missing());
        let md = rep.to_markdown();
        assert!(
            md.contains("MISSING from the candidate (a regression): synthetic / d1 / x"),
            "{md}"
        );
        assert!(
            md.contains("new in the candidate: synthetic / d1 / y"),
            "{md}"
        );
        assert!(md.contains("1 missing, 1 new"), "{md}");
        let allowed = compare_traces(
            &b,
            &c,
            &CompareOptions {
                allow_missing: true,
                ..Default::default()
            },
        );
        assert!(!allowed.has_regression());
        assert!(allowed
            .to_markdown()
            .contains("missing from the candidate (allowed)"));
    }

    #[test]
    fn a_budget_the_candidate_never_reached_is_missing() {
        let b = runs("a", "d1", 0..5, 0.0);
        // The candidate's runs stop at 30 queries.
        let c: Vec<RunTrace> = (0..5)
            .map(|s| trace("a", "d1", s, &values(s * 7 + 3, 30, 85.0, 95.0)))
            .collect();
        let opts = CompareOptions {
            budgets: vec![30, 60],
            ..Default::default()
        };
        let rep = compare_traces(&b, &c, &opts);
        assert_eq!(rep.rows.len(), 1);
        assert_eq!(rep.missing_budgets.len(), 1);
        assert_eq!(rep.missing_budgets[0].1, 60);
        assert!(rep.has_regression());
        assert!(rep.missing_lines()[0].ends_with("at q = 60"));
    }
}
