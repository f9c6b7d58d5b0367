//! Right-censored times (queries until the optimum is found).

/// Kaplan-Meier median of right-censored times: the smallest event time t with S(t) <= 0.5
/// (the convention of R's `survival` and `lifelines`). `times` holds `(time, observed)`;
/// `observed = false` means censored at `time` (still at risk at `time`). `None` when the
/// survival curve never drops to 0.5 (the median exceeds the follow-up, e.g. "> budget").
pub fn kaplan_meier_median(times: &[(f64, bool)]) -> Option<f64> {
    let mut t: Vec<(f64, bool)> = times.to_vec();
    t.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut at_risk = t.len();
    let mut s = 1.0;
    let mut i = 0;
    while i < t.len() {
        let time = t[i].0;
        let (mut d, mut c) = (0usize, 0usize);
        while i < t.len() && t[i].0 == time {
            if t[i].1 {
                d += 1;
            } else {
                c += 1;
            }
            i += 1;
        }
        if d > 0 {
            s *= 1.0 - d as f64 / at_risk as f64;
            if s <= 0.5 + 1e-12 {
                return Some(time);
            }
        }
        at_risk -= d + c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn km_median() {
        // No censoring: S = .75, .5 at t = 2 -> median 2 (lifelines: median_survival_time_ = 2).
        let all: Vec<_> = [1.0, 2.0, 3.0, 4.0].iter().map(|&t| (t, true)).collect();
        assert_eq!(kaplan_meier_median(&all), Some(2.0));
        // Censoring at the budget: 2 of 5 found -> S = 0.6 -> median beyond the budget.
        let c = [
            (10.0, true),
            (20.0, true),
            (50.0, false),
            (50.0, false),
            (50.0, false),
        ];
        assert_eq!(kaplan_meier_median(&c), None);
        // Early censoring shrinks the risk set: times 1, 2+(censored), 3, 4
        // S(1) = 3/4, S(3) = 3/4 * (1 - 1/2) = 3/8 -> median 3.
        let e = [(1.0, true), (2.0, false), (3.0, true), (4.0, true)];
        assert_eq!(kaplan_meier_median(&e), Some(3.0));
        assert_eq!(kaplan_meier_median(&[]), None);
    }
}
