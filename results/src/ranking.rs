//! Ranking methods across seeds and tasks: Friedman test, average ranks and the Nemenyi
//! critical difference (Demsar 2006).

use crate::curves::{Measure, RunCurve, TaskKey};
use crate::stats::{friedman, Friedman};
use crate::table::Table;
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};

/// Average ranks of methods at one budget.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodRanking {
    /// Measure ranked (rank 1 = best in the measure's direction).
    pub measure: Measure,
    /// Query count.
    pub q: usize,
    /// Methods, in the order of `friedman.avg_ranks`.
    pub methods: Vec<String>,
    /// Blocks (task, seed) in which every method has a value; other blocks are dropped.
    pub blocks: Vec<(TaskKey, u64)>,
    /// Friedman test, average ranks and Nemenyi CD.
    pub friedman: Friedman,
}

/// Ranks every method (by label) in each (task, seed) block at query count `q`.
pub fn rank_methods(curves: &[RunCurve], measure: Measure, q: usize) -> Result<MethodRanking> {
    let methods: Vec<String> = curves
        .iter()
        .map(|c| c.key.method.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if methods.len() < 2 {
        bail!(
            "ranking needs at least two methods, found {}",
            methods.len()
        );
    }
    let mut cells: BTreeMap<(TaskKey, u64), BTreeMap<&str, f64>> = BTreeMap::new();
    for c in curves {
        if let Some(v) = c.value(measure, q) {
            cells
                .entry((c.key.task(), c.seed))
                .or_default()
                .entry(c.key.method.as_str())
                .or_insert(v);
        }
    }
    let mut blocks = Vec::new();
    let mut data = Vec::new();
    for (b, vals) in cells {
        if vals.len() == methods.len() {
            data.push(methods.iter().map(|m| vals[m.as_str()]).collect());
            blocks.push(b);
        }
    }
    if data.is_empty() {
        bail!("no (task, seed) block has a {measure} value at q = {q} for every method");
    }
    let friedman = friedman(&data, measure.higher_is_better())?;
    Ok(MethodRanking {
        measure,
        q,
        methods,
        blocks,
        friedman,
    })
}

/// Average-rank table (best first) with the Friedman p-value and the Nemenyi CD.
pub fn ranking_table(r: &MethodRanking) -> Table {
    let mut order: Vec<usize> = (0..r.methods.len()).collect();
    order.sort_by(|&a, &b| r.friedman.avg_ranks[a].total_cmp(&r.friedman.avg_ranks[b]));
    let rows = order
        .iter()
        .map(|&i| {
            vec![
                r.methods[i].clone(),
                format!("{:.3}", r.friedman.avg_ranks[i]),
            ]
        })
        .collect();
    let mut notes = vec![format!(
        "{} blocks (task x seed); Friedman chi2 = {:.3}, p = {:.3e}",
        r.blocks.len(),
        r.friedman.statistic,
        r.friedman.pvalue
    )];
    if let Some(cd) = r.friedman.cd {
        notes.push(format!(
            "Nemenyi critical difference (alpha 0.05): {cd:.3}; methods whose average ranks differ by less are not significantly different."
        ));
    }
    Table {
        title: format!("Average rank by {} at q = {} (1 = best)", r.measure, r.q),
        header: vec!["method".into(), "average rank".into()],
        rows,
        notes,
        csv: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::run_curves;
    use crate::curves::synthetic::{trace, values};

    #[test]
    fn ranks_follow_a_consistent_shift() {
        let mut t = Vec::new();
        for s in 0..8 {
            let v = values(s, 20, 80.0, 90.0);
            for (m, shift) in [("good", 2.0), ("mid", 1.0), ("bad", 0.0)] {
                t.push(trace(
                    m,
                    "d",
                    s,
                    &v.iter().map(|x| x + shift).collect::<Vec<_>>(),
                ));
            }
        }
        let curves = run_curves(&t);
        let r = rank_methods(&curves, Measure::Report, 20).unwrap();
        assert_eq!(r.methods, ["bad", "good", "mid"]);
        assert_eq!(r.friedman.avg_ranks, vec![3.0, 1.0, 2.0]);
        assert_eq!(r.blocks.len(), 8);
        assert!(r.friedman.pvalue < 0.01);
        // regret ranks the same way (lower regret is better)
        let g = rank_methods(&curves, Measure::ReportRegret, 20).unwrap();
        assert_eq!(g.friedman.avg_ranks, vec![3.0, 1.0, 2.0]);
        let tab = ranking_table(&r);
        assert_eq!(tab.rows[0][0], "good");
        assert!(tab.notes[1].contains("Nemenyi"));
        assert!(rank_methods(&curves, Measure::Report, 21).is_err());
    }
}
