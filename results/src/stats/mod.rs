//! Statistics in pure Rust (no polars): descriptive statistics and bootstrap CIs, paired
//! Wilcoxon signed-rank and Mann-Whitney U tests matching `scipy.stats` defaults, Holm
//! correction, Friedman test with average ranks and the Nemenyi critical difference, and
//! effect sizes. Every test has scipy-computed fixtures.

pub mod describe;
pub mod effect;
pub mod mann_whitney;
pub mod multiple;
pub mod rank;
pub mod survival;
pub mod wilcoxon;

pub use describe::{
    bootstrap_ci, describe, iqm, mean, median, percentile_sorted, std, stratified_bootstrap_ci,
    trim_mean, BootstrapOptions, Describe, Statistic,
};
pub use effect::{cliffs_delta, mean_difference, paired_rank_biserial};
pub use mann_whitney::mann_whitney_u;
pub use multiple::{friedman, holm, nemenyi_cd, nemenyi_q05, Friedman};
pub use survival::kaplan_meier_median;
pub use wilcoxon::{wilcoxon, wilcoxon_signed_rank};

#[cfg(test)]
mod fixtures;

/// Alternative hypothesis of a test (as scipy's `alternative`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Alternative {
    /// `two-sided` (scipy's default).
    #[default]
    TwoSided,
    /// `greater`: the first sample (or the differences) tends to be larger.
    Greater,
    /// `less`: the first sample (or the differences) tends to be smaller.
    Less,
}

/// How a p-value was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PMethod {
    /// Exact null distribution (no ties, no zeros).
    Exact,
    /// Exact enumeration of all sign flips (scipy's permutation test for small samples with
    /// ties or zeros).
    SignFlip,
    /// Normal approximation (with tie correction).
    Asymptotic,
}

/// Result of a rank test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RankTest {
    /// The statistic scipy returns (Wilcoxon: min(R+, R-) two-sided, else R+; Mann-Whitney:
    /// U of the first sample).
    pub statistic: f64,
    /// p-value.
    pub pvalue: f64,
    /// How the p-value was computed.
    pub method: PMethod,
    /// Standardised statistic when `method` is asymptotic, NaN otherwise.
    pub z: f64,
}

pub(crate) fn normal_sf(z: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(z / std::f64::consts::SQRT_2)
}

pub(crate) fn normal_cdf(z: f64) -> f64 {
    normal_sf(-z)
}
