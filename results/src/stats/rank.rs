//! Ranking helpers shared by the rank tests.

/// Average ranks (1-based; ties get the mean of their ranks), as `scipy.stats.rankdata`.
/// Also returns the sizes of the tie groups (every group, including singletons).
pub fn rank_average(x: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut groups = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i + 1;
        while j < idx.len() && x[idx[j]] == x[idx[i]] {
            j += 1;
        }
        // ordinal ranks i+1..=j; average = (i + 1 + j) / 2
        let r = (i + 1 + j) as f64 / 2.0;
        for &k in &idx[i..j] {
            ranks[k] = r;
        }
        groups.push(j - i);
        i = j;
    }
    (ranks, groups)
}

/// Sum of `t^3 - t` over tie groups (the usual tie-correction term).
pub fn tie_term(groups: &[usize]) -> f64 {
    groups
        .iter()
        .map(|&t| {
            let t = t as f64;
            t * t * t - t
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        // scipy.stats.rankdata([3, 2, 1, 2, 2, 2, 1]) = [7. , 4.5, 1.5, 4.5, 4.5, 4.5, 1.5]
        let (r, g) = rank_average(&[3.0, 2.0, 1.0, 2.0, 2.0, 2.0, 1.0]);
        assert_eq!(r, vec![7.0, 4.5, 1.5, 4.5, 4.5, 4.5, 1.5]);
        assert_eq!(g, vec![2, 4, 1]);
        assert_eq!(tie_term(&g), 6.0 + 60.0);
    }
}
