//! Mann-Whitney U test, matching `scipy.stats.mannwhitneyu` defaults (`use_continuity=True`,
//! `method='auto'`: exact when either sample has at most 8 values and there are no ties,
//! otherwise the normal approximation with tie correction).

use super::rank::{rank_average, tie_term};
use super::{normal_sf, Alternative, PMethod, RankTest};
use anyhow::{bail, Result};

/// Two-sample test; the statistic is U of `x`.
pub fn mann_whitney_u(x: &[f64], y: &[f64], alternative: Alternative) -> Result<RankTest> {
    if x.is_empty() || y.is_empty() {
        bail!(
            "mann-whitney: both samples need values ({} and {})",
            x.len(),
            y.len()
        );
    }
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        bail!("mann-whitney: values must be finite");
    }
    let (n1, n2) = (x.len(), y.len());
    let all: Vec<f64> = x.iter().chain(y).copied().collect();
    let (ranks, groups) = rank_average(&all);
    let r1: f64 = ranks[..n1].iter().sum();
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u1 = r1 - f1 * (f1 + 1.0) / 2.0;
    let u2 = f1 * f2 - u1;
    let (u, factor) = match alternative {
        Alternative::Greater => (u1, 1.0),
        Alternative::Less => (u2, 1.0),
        Alternative::TwoSided => (u1.max(u2), 2.0),
    };
    let ties = groups.iter().any(|&g| g > 1);
    let method = if (n1 > 8 && n2 > 8) || ties {
        PMethod::Asymptotic
    } else {
        PMethod::Exact
    };
    let mut z = f64::NAN;
    let p = match method {
        PMethod::Exact => exact_sf(n1, n2, u.round() as usize),
        _ => {
            let n = f1 + f2;
            let s = (f1 * f2 / 12.0 * ((n + 1.0) - tie_term(&groups) / (n * (n - 1.0)))).sqrt();
            z = (u - f1 * f2 / 2.0 - 0.5) / s;
            normal_sf(z)
        }
    };
    Ok(RankTest {
        statistic: u1,
        pvalue: (p * factor).clamp(0.0, 1.0),
        method,
        z,
    })
}

/// P(U >= u) under H0 for sample sizes n1, n2 without ties: the coefficients of the Gaussian
/// binomial [n1+n2 choose n1]_q, built one factor at a time in exact integers.
fn exact_sf(n1: usize, n2: usize, u: usize) -> f64 {
    let (m, n) = (n1.min(n2), n1.max(n2));
    let max = m * n;
    let mut c = vec![0i128; max + 1];
    c[0] = 1;
    // After step i, c holds [n + i choose i]_q (non-negative integers).
    for i in 1..=m {
        let up = n + i;
        for k in (up..=max).rev() {
            c[k] -= c[k - up];
        }
        for k in i..=max {
            c[k] += c[k - i];
        }
    }
    let total: i128 = c.iter().sum();
    let tail: i128 = c[u.min(max + 1)..].iter().sum();
    tail as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipy() {
        for (x, y, alt, stat, p, method) in super::super::fixtures::MANN_WHITNEY {
            let r = mann_whitney_u(x, y, *alt).unwrap();
            assert!(
                (r.statistic - stat).abs() < 1e-9,
                "{x:?} {y:?}: U {} vs {stat}",
                r.statistic
            );
            assert!(
                (r.pvalue - p).abs() <= 1e-10 * p.max(1e-300),
                "{x:?} {y:?} {alt:?}: p {} vs {p}",
                r.pvalue
            );
            assert_eq!(r.method, *method);
        }
    }

    #[test]
    fn exact_distribution_is_symmetric_and_complete() {
        assert_eq!(exact_sf(3, 4, 0), 1.0);
        // P(U >= 12) = 1 / C(7, 3) when n1 = 3, n2 = 4.
        assert!((exact_sf(3, 4, 12) - 1.0 / 35.0).abs() < 1e-15);
        for u in 0..=12 {
            let a = exact_sf(3, 4, u);
            let b = 1.0 - exact_sf(3, 4, 13 - u); // P(U <= 12-u) by symmetry
            assert!((a - b).abs() < 1e-12);
        }
        assert!(mann_whitney_u(&[], &[1.0], Alternative::TwoSided).is_err());
    }
}
