//! Exact expectations for random search, from order statistics of the whole space.
//!
//! Random search queries q of the N cells uniformly without replacement; its incumbent is the
//! queried cell with the best search value (ties: the earliest queried, i.e. uniformly one of
//! the tied cells in the sample). Sorting cells by search value into tie groups G_1 (best),
//! G_2, ..., with r_j cells strictly better than G_j and g_j = |G_j|, the incumbent lies in G_j
//! with probability [C(N - r_j, q) - C(N - r_j - g_j, q)] / C(N, q), and is then uniform over
//! G_j. This gives the exact mean and variance of any function of the incumbent — a check of
//! the whole pipeline (oracle, searcher, traces) against the data, independent of simulation.

use statrs::function::gamma::ln_gamma;

fn ln_choose(n: usize, k: usize) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// Mean and variance of `value[incumbent]` after `q` random-search queries over the cells
/// with a finite `search` value.
pub fn random_search_incumbent(search: &[f64], value: &[f64], q: usize) -> (f64, f64) {
    let mut cells: Vec<usize> = (0..search.len())
        .filter(|&i| search[i].is_finite())
        .collect();
    cells.sort_by(|&a, &b| search[b].total_cmp(&search[a]));
    let n = cells.len();
    assert!(q >= 1 && q <= n, "q must be in 1..={n}");
    let ln_total = ln_choose(n, q);
    let (mut m1, mut m2) = (0.0, 0.0);
    let mut r = 0;
    while r < n {
        let mut g = 1;
        while r + g < n && search[cells[r + g]] == search[cells[r]] {
            g += 1;
        }
        let p = (ln_choose(n - r, q) - ln_total).exp() - (ln_choose(n - r - g, q) - ln_total).exp();
        if p > 0.0 {
            let group = &cells[r..r + g];
            let mean = group.iter().map(|&c| value[c]).sum::<f64>() / g as f64;
            let sq = group.iter().map(|&c| value[c] * value[c]).sum::<f64>() / g as f64;
            m1 += p * mean;
            m2 += p * sq;
        }
        r += g;
    }
    (m1, (m2 - m1 * m1).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_brute_force_enumeration() {
        // 6 cells with a tie; enumerate every ordered sample of size q.
        let search = [3.0, 1.0, 3.0, 2.0, 0.5, 2.0];
        let value = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0];
        for q in 1..=6 {
            let (mut s, mut s2, mut count) = (0.0, 0.0, 0.0);
            // all permutations; the first q are the sample, in query order
            let mut perm: Vec<usize> = (0..6).collect();
            permute(&mut perm, 0, &mut |p: &[usize]| {
                let mut best = p[0];
                for &c in &p[1..q] {
                    if search[c] > search[best] {
                        best = c;
                    }
                }
                s += value[best];
                s2 += value[best] * value[best];
                count += 1.0;
            });
            let (m, v) = random_search_incumbent(&search, &value, q);
            let bm = s / count;
            assert!((m - bm).abs() < 1e-9, "q={q}: {m} vs {bm}");
            assert!((v - (s2 / count - bm * bm)).abs() < 1e-7, "q={q}");
        }
    }

    fn permute(p: &mut Vec<usize>, k: usize, f: &mut dyn FnMut(&[usize])) {
        if k == p.len() {
            f(p);
            return;
        }
        for i in k..p.len() {
            p.swap(k, i);
            permute(p, k + 1, f);
            p.swap(k, i);
        }
    }
}
