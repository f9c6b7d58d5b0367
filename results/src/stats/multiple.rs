//! Multiple comparisons: Holm's step-down correction, the Friedman test with average ranks
//! and the Nemenyi critical difference (Demsar 2006).

use super::rank::{rank_average, tie_term};
use anyhow::{bail, Result};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Holm-adjusted p-values (as `statsmodels.stats.multitest.multipletests(p, method='holm')`),
/// in the input order. NaN entries stay NaN and do not count towards the number of tests.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = idx.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running: f64 = 0.0;
    for (j, &i) in idx.iter().enumerate() {
        running = running.max(((m - j) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// Critical values q_0.05 of the Nemenyi test for k = 2..=20 methods: the studentized range
/// quantile divided by sqrt(2). Computed with scipy 1.17.1 (matches Demsar 2006, Table 5(a)):
/// `studentized_range.ppf(0.95, k, np.inf) / np.sqrt(2)`.
const Q05: [f64; 19] = [
    1.9599639845400534,
    2.343700586378409,
    2.569031772546482,
    2.7277743708703763,
    2.8497054196100016,
    2.9483200175296744,
    3.030878449614413,
    3.1017303413033805,
    3.163683577053373,
    3.2186536073291525,
    3.268003924466142,
    3.31273859335082,
    3.3536177518523043,
    3.391230283765257,
    3.4260413793706097,
    3.4584247073473247,
    3.4886847993791976,
    3.517073008691811,
    3.5437991315177815,
];

/// The Nemenyi q_0.05 for `k` methods (2..=20), `None` outside the table.
pub fn nemenyi_q05(k: usize) -> Option<f64> {
    (2..=20).contains(&k).then(|| Q05[k - 2])
}

/// Nemenyi critical difference at alpha = 0.05: q_0.05 * sqrt(k (k + 1) / (6 N)) for `k`
/// methods ranked over `n` blocks (seeds x tasks). `None` if k is outside 2..=20 or n = 0.
pub fn nemenyi_cd(k: usize, n: usize) -> Option<f64> {
    if n == 0 {
        return None;
    }
    nemenyi_q05(k).map(|q| q * ((k * (k + 1)) as f64 / (6.0 * n as f64)).sqrt())
}

/// Result of a Friedman test.
#[derive(Clone, Debug, PartialEq)]
pub struct Friedman {
    /// Number of methods.
    pub k: usize,
    /// Number of blocks (e.g. seeds x tasks).
    pub n: usize,
    /// Average rank of each method over the blocks (1 = best; ties share the mean rank).
    pub avg_ranks: Vec<f64>,
    /// Friedman chi-square statistic with the tie correction (as
    /// `scipy.stats.friedmanchisquare`); NaN if k < 3 (scipy requires three methods).
    pub statistic: f64,
    /// p-value from the chi-square distribution with k - 1 degrees of freedom; NaN if k < 3.
    pub pvalue: f64,
    /// Nemenyi critical difference at alpha = 0.05 (`None` if k > 20).
    pub cd: Option<f64>,
}

/// Friedman test over `blocks`, each holding one score per method (same method order in every
/// block). `higher_is_better` chooses which end gets rank 1.
pub fn friedman(blocks: &[Vec<f64>], higher_is_better: bool) -> Result<Friedman> {
    let n = blocks.len();
    if n == 0 {
        bail!("friedman: no blocks");
    }
    let k = blocks[0].len();
    if k < 2 {
        bail!("friedman: need at least two methods, got {k}");
    }
    let mut sums = vec![0.0; k];
    let mut ties = 0.0;
    for (b, row) in blocks.iter().enumerate() {
        if row.len() != k {
            bail!("friedman: block {b} has {} scores, expected {k}", row.len());
        }
        if row.iter().any(|v| !v.is_finite()) {
            bail!("friedman: block {b} has a non-finite score");
        }
        let keyed: Vec<f64> = if higher_is_better {
            row.iter().map(|v| -v).collect()
        } else {
            row.clone()
        };
        let (r, g) = rank_average(&keyed);
        ties += tie_term(&g);
        for (s, v) in sums.iter_mut().zip(r) {
            *s += v;
        }
    }
    let (fk, fn_) = (k as f64, n as f64);
    let (statistic, pvalue) = if k >= 3 {
        let c = 1.0 - ties / (fk * (fk * fk - 1.0) * fn_);
        let ssbn: f64 = sums.iter().map(|s| s * s).sum();
        let chi2 = (12.0 / (fk * fn_ * (fk + 1.0)) * ssbn - 3.0 * fn_ * (fk + 1.0)) / c;
        let p = ChiSquared::new(fk - 1.0)
            .map(|d| d.sf(chi2))
            .unwrap_or(f64::NAN);
        (chi2, p)
    } else {
        (f64::NAN, f64::NAN)
    };
    Ok(Friedman {
        k,
        n,
        avg_ranks: sums.iter().map(|s| s / fn_).collect(),
        statistic,
        pvalue,
        cd: nemenyi_cd(k, n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_matches_statsmodels() {
        // from statsmodels.stats.multitest import multipletests
        // multipletests([0.01, 0.04, 0.03, 0.005, 0.5], method='holm')[1]
        //   = [0.04, 0.09, 0.09, 0.025, 0.5]
        let p = holm(&[0.01, 0.04, 0.03, 0.005, 0.5]);
        let want = [0.04, 0.09, 0.09, 0.025, 0.5];
        for (a, b) in p.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{p:?}");
        }
        let q = holm(&[0.2, f64::NAN, 0.6]);
        assert_eq!(q[0], 0.4);
        assert!(q[1].is_nan());
        assert_eq!(q[2], 0.6);
    }

    #[test]
    fn friedman_matches_scipy() {
        for (blocks, stat, p, ranks) in super::super::fixtures::FRIEDMAN {
            let b: Vec<Vec<f64>> = blocks.iter().map(|r| r.to_vec()).collect();
            // scipy ranks ascending; rank 1 = smallest = best when lower is better.
            let f = friedman(&b, false).unwrap();
            assert!(
                (f.statistic - stat).abs() < 1e-10,
                "{} vs {stat}",
                f.statistic
            );
            assert!(
                (f.pvalue - p).abs() < 1e-10 * p.max(1e-12),
                "{} vs {p}",
                f.pvalue
            );
            for (a, r) in f.avg_ranks.iter().zip(ranks.iter()) {
                assert!((a - r).abs() < 1e-12);
            }
            // Reversing the direction mirrors the ranks: r -> k + 1 - r.
            let g = friedman(&b, true).unwrap();
            for (a, r) in g.avg_ranks.iter().zip(ranks.iter()) {
                assert!((a - (f.k as f64 + 1.0 - r)).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn nemenyi_cd_demsar_example() {
        // Demsar (2006), section 3.2.1: k = 4 classifiers, N = 14 data sets, CD = 1.25.
        let cd = nemenyi_cd(4, 14).unwrap();
        assert!((cd - 1.2536).abs() < 1e-3, "{cd}");
        assert!(nemenyi_cd(21, 10).is_none());
        assert!(nemenyi_cd(3, 0).is_none());
        assert!(friedman(&[vec![1.0, 2.0], vec![1.0]], true).is_err());
    }
}
