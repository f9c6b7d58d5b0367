//! Wilcoxon signed-rank test, matching `scipy.stats.wilcoxon` defaults
//! (`zero_method='wilcox'`, `correction=False`, `method='auto'`).
//!
//! `auto` (scipy 1.17): more than 50 pairs => normal approximation; otherwise exact null
//! distribution if there are no ties among |d| and no zero differences; otherwise, with at
//! most 13 pairs, the exact sign-flip permutation distribution (what scipy's permutation
//! test enumerates); otherwise the normal approximation with the tie correction (zeros are
//! dropped first, as `wilcox` does). One deliberate difference: when every difference is
//! zero the p-value is 1 (scipy gives NaN for more than 13 pairs).

use super::rank::{rank_average, tie_term};
use super::{normal_cdf, normal_sf, Alternative, PMethod, RankTest};
use anyhow::{bail, Result};

/// Paired test on `x - y`.
pub fn wilcoxon(x: &[f64], y: &[f64], alternative: Alternative) -> Result<RankTest> {
    if x.len() != y.len() {
        bail!(
            "wilcoxon: paired samples differ in length ({} vs {})",
            x.len(),
            y.len()
        );
    }
    let d: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    wilcoxon_signed_rank(&d, alternative)
}

/// One-sample signed-rank test on the differences `d` (H0: symmetric about zero).
pub fn wilcoxon_signed_rank(d: &[f64], alternative: Alternative) -> Result<RankTest> {
    if d.is_empty() {
        bail!("wilcoxon: no pairs");
    }
    if d.iter().any(|v| !v.is_finite()) {
        bail!("wilcoxon: differences must be finite");
    }
    let n_total = d.len();
    let n_zero = d.iter().filter(|v| **v == 0.0).count();
    let nz: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    let count = nz.len();
    let abs: Vec<f64> = nz.iter().map(|v| v.abs()).collect();
    let (ranks, groups) = rank_average(&abs);
    let has_ties = groups.iter().any(|&g| g > 1);
    let r_plus: f64 = nz
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    let r_minus: f64 = nz
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v < 0.0)
        .map(|(_, r)| r)
        .sum();
    let statistic = match alternative {
        Alternative::TwoSided => r_plus.min(r_minus),
        _ => r_plus,
    };
    let method = if n_total > 50 {
        PMethod::Asymptotic
    } else if !(has_ties || n_zero > 0) {
        PMethod::Exact
    } else if n_total <= 13 {
        PMethod::SignFlip
    } else {
        PMethod::Asymptotic
    };
    if count == 0 {
        return Ok(RankTest {
            statistic,
            pvalue: 1.0,
            method,
            z: f64::NAN,
        });
    }
    let mut z = f64::NAN;
    let pvalue = match method {
        PMethod::Asymptotic => {
            let c = count as f64;
            let mn = c * (c + 1.0) * 0.25;
            let se = ((c * (c + 1.0) * (2.0 * c + 1.0) - tie_term(&groups) / 2.0) / 24.0).sqrt();
            z = (r_plus - mn) / se;
            match alternative {
                Alternative::Less => normal_cdf(z),
                Alternative::Greater => normal_sf(z),
                Alternative::TwoSided => 2.0 * normal_sf(z.abs()),
            }
        }
        PMethod::Exact => {
            let counts = signed_rank_counts(count);
            let total: f64 = 2f64.powi(count as i32);
            let k = r_plus.round() as usize;
            let cdf = counts[..=k].iter().sum::<f64>() / total;
            let sf = counts[k..].iter().sum::<f64>() / total;
            match alternative {
                Alternative::Less => cdf,
                Alternative::Greater => sf,
                Alternative::TwoSided => (2.0 * cdf.min(sf)).clamp(0.0, 1.0),
            }
        }
        PMethod::SignFlip => {
            // Every sign pattern of the non-zero differences; ranks of |d| do not change.
            let eps = (r_plus * f64::EPSILON * 100.0).abs();
            let (mut le, mut ge) = (0u64, 0u64);
            let m = 1u64 << count;
            for mask in 0..m {
                let s: f64 = ranks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask >> i & 1 == 1)
                    .map(|(_, r)| r)
                    .sum();
                if s <= r_plus + eps {
                    le += 1;
                }
                if s >= r_plus - eps {
                    ge += 1;
                }
            }
            let (pl, pg) = (le as f64 / m as f64, ge as f64 / m as f64);
            match alternative {
                Alternative::Less => pl,
                Alternative::Greater => pg,
                Alternative::TwoSided => (2.0 * pl.min(pg)).clamp(0.0, 1.0),
            }
        }
    };
    Ok(RankTest {
        statistic,
        pvalue,
        method,
        z,
    })
}

/// Number of subsets of {1..n} with each sum 0..=n(n+1)/2 (the exact null distribution of
/// R+ times 2^n). Exact in f64 for n <= 50 (counts below 2^53).
fn signed_rank_counts(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut c = vec![0.0f64; max + 1];
    c[0] = 1.0;
    for r in 1..=n {
        for s in (r..=r * (r + 1) / 2).rev() {
            c[s] += c[s - r];
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-10 * b.abs().max(1e-300) || (a - b).abs() < 1e-15
    }

    // Reference values from scipy 1.17.1:
    //   from scipy.stats import wilcoxon
    //   for d, alt in CASES: r = wilcoxon(d, alternative=alt); print(r.statistic, r.pvalue)
    #[test]
    fn matches_scipy() {
        for (d, alt, stat, p, method) in super::super::fixtures::WILCOXON {
            let r = wilcoxon_signed_rank(d, *alt).unwrap();
            assert!(
                close(r.statistic, *stat),
                "{d:?} {alt:?}: stat {} vs {stat}",
                r.statistic
            );
            assert!(close(r.pvalue, *p), "{d:?} {alt:?}: p {} vs {p}", r.pvalue);
            assert_eq!(r.method, *method, "{d:?}");
        }
    }

    #[test]
    fn paired_form_and_errors() {
        let x = [1.0, 2.0, 3.0];
        let y = [0.5, 2.5, 1.0];
        let a = wilcoxon(&x, &y, Alternative::TwoSided).unwrap();
        let b = wilcoxon_signed_rank(&[0.5, -0.5, 2.0], Alternative::TwoSided).unwrap();
        assert_eq!(
            (a.statistic, a.pvalue, a.method),
            (b.statistic, b.pvalue, b.method)
        );
        assert!(wilcoxon(&x, &y[..2], Alternative::TwoSided).is_err());
        assert!(wilcoxon_signed_rank(&[], Alternative::TwoSided).is_err());
        let z = wilcoxon_signed_rank(&[0.0; 20], Alternative::TwoSided).unwrap();
        assert_eq!(z.pvalue, 1.0);
    }

    #[test]
    fn exact_counts_sum_to_two_to_the_n() {
        for n in [1usize, 5, 20, 50] {
            let c = signed_rank_counts(n);
            assert_eq!(c.iter().sum::<f64>(), 2f64.powi(n as i32));
        }
    }
}
