//! Descriptive statistics and bootstrap confidence intervals.

use rand::Rng;
use weaknas_harness::rng::SeedRng;

/// Summary of one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Describe {
    /// Sample size (NaN values are excluded before describing).
    pub n: usize,
    /// Mean (NaN if empty).
    pub mean: f64,
    /// Sample standard deviation, ddof = 1 (NaN if n < 2).
    pub std: f64,
    /// Standard error of the mean, std / sqrt(n) (NaN if n < 2).
    pub sem: f64,
    /// Median (NaN if empty).
    pub median: f64,
    /// Interquartile mean: mean of the middle 50% (as rliable: `scipy.stats.trim_mean(x, 0.25)`).
    pub iqm: f64,
}

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        f64::NAN
    } else {
        x.iter().sum::<f64>() / x.len() as f64
    }
}

/// Sample standard deviation (ddof = 1); NaN if fewer than two values.
pub fn std(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    (ss / (x.len() - 1) as f64).sqrt()
}

fn sorted(x: &[f64]) -> Vec<f64> {
    let mut s = x.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s
}

/// Median (mean of the two middle values for an even count); NaN if empty.
pub fn median(x: &[f64]) -> f64 {
    median_sorted(&sorted(x))
}

fn median_sorted(s: &[f64]) -> f64 {
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Trimmed mean cutting `floor(prop * n)` values from each end of the sorted sample, exactly
/// as `scipy.stats.trim_mean(x, prop)`; NaN if empty.
pub fn trim_mean(x: &[f64], prop: f64) -> f64 {
    trim_mean_sorted(&sorted(x), prop)
}

fn trim_mean_sorted(s: &[f64], prop: f64) -> f64 {
    let n = s.len();
    let cut = (prop * n as f64).floor() as usize;
    if n == 0 || cut >= n - cut {
        return f64::NAN;
    }
    mean(&s[cut..n - cut])
}

/// Interquartile mean (rliable's IQM): `trim_mean(x, 0.25)`.
pub fn iqm(x: &[f64]) -> f64 {
    trim_mean(x, 0.25)
}

/// Describes a sample, ignoring NaN values.
pub fn describe(x: &[f64]) -> Describe {
    let v: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    let s = sorted(&v);
    let n = v.len();
    let sd = std(&v);
    Describe {
        n,
        mean: mean(&v),
        std: sd,
        sem: if n >= 2 {
            sd / (n as f64).sqrt()
        } else {
            f64::NAN
        },
        median: median_sorted(&s),
        iqm: trim_mean_sorted(&s, 0.25),
    }
}

/// A statistic computed on bootstrap resamples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    /// Arithmetic mean (across strata: the mean of the per-stratum means, so each task weighs
    /// the same).
    Mean,
    /// Interquartile mean (across strata: of the pooled values).
    Iqm,
    /// Median (across strata: of the pooled values).
    Median,
}

impl Statistic {
    /// The statistic of a stratified sample.
    pub fn of_strata(self, strata: &[Vec<f64>]) -> f64 {
        match self {
            Statistic::Mean => mean(&strata.iter().map(|s| mean(s)).collect::<Vec<_>>()),
            Statistic::Iqm => iqm(&strata.concat()),
            Statistic::Median => median(&strata.concat()),
        }
    }
}

/// Options of a bootstrap.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapOptions {
    /// Number of resamples.
    pub reps: usize,
    /// Confidence level, e.g. 0.95.
    pub confidence: f64,
    /// Seed of the resampling stream (the stream is also keyed by a label per group).
    pub seed: u64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            reps: 2000,
            confidence: 0.95,
            seed: 0,
        }
    }
}

/// Percentile of a sorted sample with linear interpolation (numpy's default `linear`).
pub fn percentile_sorted(s: &[f64], q: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// Stratified percentile bootstrap CI of `stat`: every resample draws each stratum (task)
/// with replacement at its own size, as rliable's `StratifiedBootstrap`. With one stratum it
/// is the plain percentile bootstrap. Deterministic for a given `rng`. Returns `(lo, hi)`;
/// NaN if any stratum is empty.
pub fn stratified_bootstrap_ci(
    strata: &[Vec<f64>],
    stat: Statistic,
    reps: usize,
    confidence: f64,
    rng: &mut SeedRng,
) -> (f64, f64) {
    if strata.is_empty() || strata.iter().any(|s| s.is_empty()) || reps == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut buf: Vec<Vec<f64>> = strata.iter().map(|s| vec![0.0; s.len()]).collect();
    let mut stats = Vec::with_capacity(reps);
    for _ in 0..reps {
        for (b, s) in buf.iter_mut().zip(strata) {
            for v in b.iter_mut() {
                *v = s[rng.random_range(0..s.len())];
            }
        }
        stats.push(stat.of_strata(&buf));
    }
    stats.sort_by(|a, b| a.total_cmp(b));
    let a = (1.0 - confidence) / 2.0;
    (
        percentile_sorted(&stats, a),
        percentile_sorted(&stats, 1.0 - a),
    )
}

/// Plain percentile bootstrap CI of `stat` of one sample (one stratum).
pub fn bootstrap_ci(
    x: &[f64],
    stat: Statistic,
    reps: usize,
    confidence: f64,
    rng: &mut SeedRng,
) -> (f64, f64) {
    stratified_bootstrap_ci(&[x.to_vec()], stat, reps, confidence, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use weaknas_harness::rng::stream;

    #[test]
    fn describe_matches_numpy_and_scipy() {
        // numpy/scipy reference (python):
        //   x = [3.1, 1.2, 9.9, 4.4, 4.4, 0.5, 7.25]
        //   np.mean(x), np.std(x, ddof=1), scipy.stats.sem(x), np.median(x),
        //   scipy.stats.trim_mean(x, 0.25)
        let x = [3.1, 1.2, 9.9, 4.4, 4.4, 0.5, 7.25];
        let d = describe(&x);
        assert_eq!(d.n, 7);
        assert!((d.mean - 4.392857142857143).abs() < 1e-12);
        assert!((d.std - 3.3043441824650284).abs() < 1e-12);
        assert!((d.sem - 1.2489247075665002).abs() < 1e-12);
        assert_eq!(d.median, 4.4);
        // trim 1 from each end of 7: mean of [1.2, 3.1, 4.4, 4.4, 7.25]
        assert!((d.iqm - 4.07).abs() < 1e-12);
        // n = 8 trims 2 each side
        assert!((iqm(&[1., 2., 3., 4., 5., 6., 7., 100.]) - 4.5).abs() < 1e-12);
        assert!(describe(&[]).mean.is_nan());
        assert!(describe(&[1.0]).std.is_nan());
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        // np.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = [1.075, 2.5, 3.925]
        let s = [1.0, 2.0, 3.0, 4.0];
        assert!((percentile_sorted(&s, 0.025) - 1.075).abs() < 1e-12);
        assert!((percentile_sorted(&s, 0.5) - 2.5).abs() < 1e-12);
        assert!((percentile_sorted(&s, 0.975) - 3.925).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_is_deterministic_and_covers_the_mean() {
        let x: Vec<f64> = (0..40)
            .map(|i| (i as f64 * 0.37).sin() * 3.0 + 10.0)
            .collect();
        let a = bootstrap_ci(&x, Statistic::Mean, 1000, 0.95, &mut stream("t", 1, "boot"));
        let b = bootstrap_ci(&x, Statistic::Mean, 1000, 0.95, &mut stream("t", 1, "boot"));
        assert_eq!(a, b);
        let m = mean(&x);
        assert!(a.0 < m && m < a.1, "{a:?} {m}");
        // The CI half-width is close to 1.96 SEM for a sample of 40.
        let sem = describe(&x).sem;
        let half = (a.1 - a.0) / 2.0;
        assert!((half / (1.96 * sem) - 1.0).abs() < 0.2, "{half} vs {sem}");
        // A constant sample has a degenerate CI.
        let c = bootstrap_ci(
            &[2.0; 5],
            Statistic::Iqm,
            100,
            0.95,
            &mut stream("t", 1, "b"),
        );
        assert_eq!(c, (2.0, 2.0));
    }

    #[test]
    fn stratified_bootstrap_keeps_strata_apart() {
        // Two tasks with very different levels: resampling within strata keeps the mean of
        // means fixed when each stratum is constant, whereas pooling would not.
        let strata = vec![vec![0.0; 3], vec![100.0; 9]];
        let ci = stratified_bootstrap_ci(
            &strata,
            Statistic::Mean,
            200,
            0.95,
            &mut stream("t", 2, "boot"),
        );
        assert_eq!(ci, (50.0, 50.0));
    }
}
