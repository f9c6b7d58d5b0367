//! Ranking diagnostics of a predictor against the truth: Kendall tau-b (tie-aware,
//! O(n log n), Knight's algorithm as in scipy), Spearman rho (average ranks for ties),
//! precision@k, top-k hit rate, the true rank of the predicted top-1, and Kendall tau-b on the
//! true top-k.
//!
//! Conventions, shared by every function here:
//! - "higher is better" for both predictions and truth;
//! - the **true rank** of a cell is `1 + #{cells with strictly higher truth}` (1 = best; tied
//!   cells share the best rank of their group), and a cell is **in the true top-k** when its
//!   true rank is `<= k` (ties at the boundary are all in);
//! - when exactly k cells must be chosen by a score (the predicted top-k, the k cells with the
//!   highest truth), ties are broken by the lower index, and NaN scores rank last;
//! - correlations return NaN when undefined (fewer than 2 values, a constant input, or a NaN
//!   input), as scipy does.

use std::cmp::Ordering;

/// Descending order by score, NaN last, ties by lower index.
fn desc_cmp(s: &[f64], a: usize, b: usize) -> Ordering {
    let (x, y) = (s[a], s[b]);
    match (x.is_nan(), y.is_nan()) {
        (true, true) => a.cmp(&b),
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => y.partial_cmp(&x).unwrap().then(a.cmp(&b)),
    }
}

/// Indices of the `k` highest scores (NaN last, ties by lower index), best first.
pub fn top_k_indices(scores: &[f64], k: usize) -> Vec<usize> {
    let k = k.min(scores.len());
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    if k == 0 {
        return Vec::new();
    }
    if k < idx.len() {
        idx.select_nth_unstable_by(k - 1, |&a, &b| desc_cmp(scores, a, b));
        idx.truncate(k);
    }
    idx.sort_by(|&a, &b| desc_cmp(scores, a, b));
    idx
}

/// The true rank of every cell: `1 + #{j : truth[j] > truth[i]}` (1 = best, ties share the
/// best rank; NaN truths rank after every number).
pub fn true_ranks(truth: &[f64]) -> Vec<u32> {
    let n = truth.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| desc_cmp(truth, a, b));
    let mut ranks = vec![0u32; n];
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && same(truth[idx[j]], truth[idx[i]]) {
            j += 1;
        }
        for &c in &idx[i..j] {
            ranks[c] = i as u32 + 1;
        }
        i = j;
    }
    ranks
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Number of pairs within groups of equal values of an already sorted key sequence.
fn tie_pairs<T: PartialEq>(sorted: impl Iterator<Item = T>) -> u64 {
    let mut total = 0u64;
    let mut run = 0u64;
    let mut prev: Option<T> = None;
    for v in sorted {
        if prev.as_ref() == Some(&v) {
            run += 1;
        } else {
            total += run * (run.saturating_sub(1)) / 2;
            run = 1;
        }
        prev = Some(v);
    }
    total + run * (run.saturating_sub(1)) / 2
}

/// Counts pairs i < j with `v[i] > v[j]` (merge sort; `v` is sorted on return).
fn inversions(v: &mut [u32], buf: &mut [u32]) -> u64 {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut inv = {
        let (a, b) = v.split_at_mut(mid);
        let (ba, bb) = buf.split_at_mut(mid);
        inversions(a, ba) + inversions(b, bb)
    };
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < mid && j < n {
        if v[i] <= v[j] {
            buf[k] = v[i];
            i += 1;
        } else {
            buf[k] = v[j];
            inv += (mid - i) as u64;
            j += 1;
        }
        k += 1;
    }
    buf[k..k + mid - i].copy_from_slice(&v[i..mid]);
    k += mid - i;
    buf[k..k + n - j].copy_from_slice(&v[j..n]);
    v.copy_from_slice(&buf[..n]);
    inv
}

/// Dense ranks (0-based, ascending) of `v`.
fn dense_ranks(v: &[f64]) -> Vec<u32> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].partial_cmp(&v[b]).unwrap());
    let mut r = vec![0u32; v.len()];
    let mut cur = 0u32;
    for w in 0..idx.len() {
        if w > 0 && v[idx[w]] != v[idx[w - 1]] {
            cur += 1;
        }
        r[idx[w]] = cur;
    }
    r
}

/// Kendall's tau-b between `x` and `y` (ties in either handled as in
/// `scipy.stats.kendalltau`), in O(n log n) (Knight, 1966). NaN when fewer than 2 values,
/// either input is constant, or any value is NaN. Panics if the lengths differ.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "kendall_tau_b: lengths differ");
    let n = x.len();
    if n < 2 || x.iter().chain(y).any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let rx = dense_ranks(x);
    let ry = dense_ranks(y);
    // Sort by (x, y); discordant pairs are then the strict inversions of y.
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_unstable_by_key(|&i| (rx[i], ry[i]));
    let xtie = tie_pairs(idx.iter().map(|&i| rx[i]));
    let ntie = tie_pairs(idx.iter().map(|&i| (rx[i], ry[i])));
    let mut ys: Vec<u32> = idx.iter().map(|&i| ry[i]).collect();
    let mut buf = vec![0u32; n];
    let dis = inversions(&mut ys, &mut buf);
    let ytie = tie_pairs(ys.iter().copied()); // ys is sorted now
    let tot = (n as u64) * (n as u64 - 1) / 2;
    if xtie == tot || ytie == tot {
        return f64::NAN;
    }
    let con_minus_dis = tot as f64 - xtie as f64 - ytie as f64 + ntie as f64 - 2.0 * dis as f64;
    let tau = con_minus_dis / ((tot - xtie) as f64).sqrt() / ((tot - ytie) as f64).sqrt();
    tau.clamp(-1.0, 1.0)
}

/// Average ranks (1-based; ties get the mean of their positions), as `scipy.stats.rankdata`.
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0f64; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i + 1;
        while j < idx.len() && v[idx[j]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0; // mean of positions i+1 ..= j
        for &c in &idx[i..j] {
            r[c] = avg;
        }
        i = j;
    }
    r
}

/// Spearman's rho: Pearson correlation of average ranks. NaN when fewer than 2 values, a
/// constant input, or any NaN. Panics if the lengths differ.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "spearman: lengths differ");
    let n = x.len();
    if n < 2 || x.iter().chain(y).any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let (rx, ry) = (average_ranks(x), average_ranks(y));
    let m = (n as f64 + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0f64, 0f64, 0f64);
    for i in 0..n {
        let (a, b) = (rx[i] - m, ry[i] - m);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}

/// Fraction of the predicted top-k (k highest predictions, ties by lower index) that is in
/// the true top-k (true rank <= k). NaN when `k == 0`. Panics if the lengths differ.
pub fn precision_at_k(pred: &[f64], truth: &[f64], k: usize) -> f64 {
    assert_eq!(pred.len(), truth.len(), "precision_at_k: lengths differ");
    if k == 0 || pred.is_empty() {
        return f64::NAN;
    }
    let ranks = true_ranks(truth);
    let top = top_k_indices(pred, k);
    top.iter().filter(|&&c| ranks[c] as usize <= k).count() as f64 / top.len() as f64
}

/// Fraction of the `selected` cells whose true rank is <= k (e.g. the probability that a
/// sampled architecture is in the true top-k). NaN when nothing is selected. Panics on a
/// cell index out of range.
pub fn top_k_hit_rate(selected: &[u32], truth: &[f64], k: usize) -> f64 {
    if selected.is_empty() {
        return f64::NAN;
    }
    let ranks = true_ranks(truth);
    selected
        .iter()
        .filter(|&&c| ranks[c as usize] as usize <= k)
        .count() as f64
        / selected.len() as f64
}

/// The true rank (1 = best, ties share the best rank) of the cell with the highest
/// prediction (ties by lower index). 0 for empty input. Panics if the lengths differ.
pub fn true_rank_of_predicted_top1(pred: &[f64], truth: &[f64]) -> u32 {
    assert_eq!(
        pred.len(),
        truth.len(),
        "true_rank_of_predicted_top1: lengths differ"
    );
    let Some(&best) = top_k_indices(pred, 1).first() else {
        return 0;
    };
    let t = truth[best];
    if t.is_nan() {
        return 1 + truth.iter().filter(|v| !v.is_nan()).count() as u32;
    }
    1 + truth.iter().filter(|&&v| v > t).count() as u32
}

/// Kendall tau-b between predictions and truth restricted to the k cells with the highest
/// truth (ties by lower index); `k >= n` is the whole space.
pub fn kendall_on_true_top_k(pred: &[f64], truth: &[f64], k: usize) -> f64 {
    assert_eq!(
        pred.len(),
        truth.len(),
        "kendall_on_true_top_k: lengths differ"
    );
    let top = top_k_indices(truth, k);
    let p: Vec<f64> = top.iter().map(|&c| pred[c]).collect();
    let t: Vec<f64> = top.iter().map(|&c| truth[c]).collect();
    kendall_tau_b(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// O(n^2) tau-b straight from the definition, to cross-check the fast path.
    fn naive_tau_b(x: &[f64], y: &[f64]) -> f64 {
        let (mut c, mut d, mut tx, mut ty) = (0f64, 0f64, 0f64, 0f64);
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                let a = (x[i] - x[j]).signum() * if x[i] == x[j] { 0.0 } else { 1.0 };
                let b = (y[i] - y[j]).signum() * if y[i] == y[j] { 0.0 } else { 1.0 };
                if a == 0.0 && b == 0.0 {
                } else if a == 0.0 {
                    tx += 1.0;
                } else if b == 0.0 {
                    ty += 1.0;
                } else if a == b {
                    c += 1.0;
                } else {
                    d += 1.0;
                }
            }
        }
        (c - d) / ((c + d + tx) * (c + d + ty)).sqrt()
    }

    // Fixtures computed with scipy 1.17.1 (numpy 2.4.6):
    //
    // import numpy as np; from scipy import stats
    // x = [1, 2, 2, 3, 5, 5, 5, 8, 9, 9, 0.5, 4]
    // y = [2, 1, 3, 3, 4, 6, 6, 7, 9, 8, 2, 5]
    // stats.kendalltau(x, y).statistic      # variant 'b'
    // stats.spearmanr(x, y).statistic
    // rng = np.random.default_rng(7)
    // a = rng.integers(0, 6, 40).astype(float); b = a + rng.integers(-3, 4, 40)
    // print(list(a), list(b)); stats.kendalltau(a, b).statistic; stats.spearmanr(a, b).statistic
    const X1: [f64; 12] = [1., 2., 2., 3., 5., 5., 5., 8., 9., 9., 0.5, 4.];
    const Y1: [f64; 12] = [2., 1., 3., 3., 4., 6., 6., 7., 9., 8., 2., 5.];
    const TAU1: f64 = 0.8549499226759615;
    const RHO1: f64 = 0.943175024427431;
    const A2: [f64; 40] = [
        5., 3., 4., 5., 3., 4., 5., 1., 0., 1., 1., 5., 5., 0., 2., 4., 0., 4., 0., 2., 4., 1., 2.,
        1., 4., 1., 5., 2., 2., 3., 3., 3., 3., 5., 4., 4., 4., 3., 2., 5.,
    ];
    const B2: [f64; 40] = [
        5., 1., 6., 3., 6., 5., 2., -2., 0., -2., -2., 5., 8., 0., 4., 7., 2., 5., 0., 2., 2., 1.,
        1., -1., 7., -2., 2., 0., 5., 4., 6., 1., 5., 4., 4., 1., 5., 5., 3., 3.,
    ];
    const TAU2: f64 = 0.46734571906502803;
    const RHO2: f64 = 0.618507250152629;

    #[test]
    fn kendall_matches_scipy_with_ties() {
        assert!((kendall_tau_b(&X1, &Y1) - TAU1).abs() < 1e-12);
        assert!((kendall_tau_b(&A2, &B2) - TAU2).abs() < 1e-12);
    }

    #[test]
    fn spearman_matches_scipy_with_ties() {
        assert!((spearman(&X1, &Y1) - RHO1).abs() < 1e-12);
        assert!((spearman(&A2, &B2) - RHO2).abs() < 1e-12);
    }

    #[test]
    fn kendall_fast_equals_naive_on_many_tied_inputs() {
        use rand::Rng;
        let mut rng = crate::rng::stream("diag", 0, "kendall");
        for trial in 0..200 {
            let n = 2 + trial % 60;
            let x: Vec<f64> = (0..n).map(|_| rng.random_range(0..5) as f64).collect();
            let y: Vec<f64> = (0..n)
                .map(|i| x[i] * 0.5 + rng.random_range(0..4) as f64)
                .collect();
            let (f, s) = (kendall_tau_b(&x, &y), naive_tau_b(&x, &y));
            assert!(
                f.is_nan() && s.is_nan() || (f - s).abs() < 1e-12,
                "{f} vs {s}"
            );
        }
    }

    #[test]
    fn degenerate_correlations_are_nan() {
        assert!(kendall_tau_b(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
        assert!(kendall_tau_b(&[1.0], &[1.0]).is_nan());
        assert!(spearman(&[1.0, 2.0], &[3.0, 3.0]).is_nan());
        assert!(kendall_tau_b(&[1.0, f64::NAN], &[1.0, 2.0]).is_nan());
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
    }

    #[test]
    fn top_k_metrics() {
        let truth = [0.9, 0.1, 0.5, 0.7, 0.7, 0.3];
        // true ranks: 1, 6, 4, 2, 2, 5
        assert_eq!(true_ranks(&truth), vec![1, 6, 4, 2, 2, 5]);
        let pred = [0.2, 0.9, 0.8, 0.1, 0.7, 0.0];
        // predicted top-3: cells 1, 2, 4 -> true ranks 6, 4, 2 -> one in the true top-3.
        assert!((precision_at_k(&pred, &truth, 3) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(precision_at_k(&truth, &truth, 3), 1.0);
        assert_eq!(true_rank_of_predicted_top1(&pred, &truth), 6);
        assert_eq!(true_rank_of_predicted_top1(&truth, &truth), 1);
        // cells 3 and 4 tie at rank 2: both are in the top-2.
        assert_eq!(top_k_hit_rate(&[3, 4, 1, 0], &truth, 2), 0.75);
        // NaN predictions rank last.
        let p = [f64::NAN, 0.0, 1.0, 0.5, 0.2, 0.1];
        assert_eq!(top_k_indices(&p, 2), vec![2, 3]);
        // Kendall on the true top-3 (cells 0, 3, 4): pred 0.2, 0.1, 0.7 vs truth .9, .7, .7.
        let k = kendall_on_true_top_k(&pred, &truth, 3);
        assert!((k - naive_tau_b(&[0.2, 0.1, 0.7], &[0.9, 0.7, 0.7])).abs() < 1e-12);
        assert!(
            (kendall_on_true_top_k(&pred, &truth, 100) - kendall_tau_b(&pred, &truth)).abs()
                < 1e-15
        );
    }

    #[test]
    fn kendall_scales_to_a_large_space() {
        // O(n log n): 423,624 values in well under a second in release builds.
        let n = 423_624;
        let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f64 + (i % 3) as f64)
            .collect();
        let t = kendall_tau_b(&x, &y);
        assert!(t > 0.9 && t < 1.0, "{t}");
    }
}
