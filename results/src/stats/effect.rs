//! Effect sizes.

use super::rank::rank_average;

/// mean(x) - mean(y); NaN if either is empty.
pub fn mean_difference(x: &[f64], y: &[f64]) -> f64 {
    super::mean(x) - super::mean(y)
}

/// Cliff's delta, P(X > Y) - P(X < Y) over all pairs, in [-1, 1]; equal to the rank-biserial
/// correlation 2 U_x / (n_x n_y) - 1 of the Mann-Whitney test. NaN if either is empty.
pub fn cliffs_delta(x: &[f64], y: &[f64]) -> f64 {
    if x.is_empty() || y.is_empty() {
        return f64::NAN;
    }
    let mut ys = y.to_vec();
    ys.sort_by(|a, b| a.total_cmp(b));
    let mut s: i64 = 0;
    for &v in x {
        let less = ys.partition_point(|w| *w < v) as i64; // y < v
        let le = ys.partition_point(|w| *w <= v) as i64;
        let greater = ys.len() as i64 - le; // y > v
        s += less - greater;
    }
    s as f64 / (x.len() * y.len()) as f64
}

/// Matched-pairs rank-biserial correlation of paired differences `d`: (R+ - R-) / (R+ + R-)
/// with zero differences dropped (Kerby 2014), in [-1, 1]; 0 when every difference is zero.
pub fn paired_rank_biserial(d: &[f64]) -> f64 {
    let nz: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    if nz.is_empty() {
        return 0.0;
    }
    let abs: Vec<f64> = nz.iter().map(|v| v.abs()).collect();
    let (r, _) = rank_average(&abs);
    let (mut p, mut m) = (0.0, 0.0);
    for (v, r) in nz.iter().zip(r) {
        if *v > 0.0 {
            p += r;
        } else {
            m += r;
        }
    }
    (p - m) / (p + m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{mann_whitney_u, Alternative};

    #[test]
    fn cliffs_delta_equals_rank_biserial() {
        let x = [1.0, 3.0, 3.0, 7.0, 9.0];
        let y = [2.0, 3.0, 4.0, 5.0];
        let u = mann_whitney_u(&x, &y, Alternative::TwoSided)
            .unwrap()
            .statistic;
        let rb = 2.0 * u / 20.0 - 1.0;
        assert!((cliffs_delta(&x, &y) - rb).abs() < 1e-12);
        assert_eq!(cliffs_delta(&[5.0], &[1.0, 2.0]), 1.0);
        assert_eq!(cliffs_delta(&[0.0], &[1.0, 2.0]), -1.0);
        assert!(cliffs_delta(&[], &[1.0]).is_nan());
    }

    #[test]
    fn paired_rank_biserial_bounds() {
        assert_eq!(paired_rank_biserial(&[1.0, 2.0, 0.0]), 1.0);
        assert_eq!(paired_rank_biserial(&[-1.0, -2.0]), -1.0);
        // ranks of |d| = [1, 2, 3]: R+ = 1 + 3 = 4, R- = 2 -> (4 - 2) / 6
        assert!((paired_rank_biserial(&[0.5, -1.0, 2.0]) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(paired_rank_biserial(&[0.0, 0.0]), 0.0);
        assert!((mean_difference(&[1.0, 3.0], &[1.0]) - 1.0).abs() < 1e-12);
    }
}
