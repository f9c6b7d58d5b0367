//! The runner's observer: turns a searcher's rankings into predictor diagnostics using the
//! truth, which only the runner holds.

use crate::diagnostics;
use crate::searcher::SearchObserver;
use crate::space::CellId;

/// What is kept of one ranking (the full scores are not stored).
#[derive(Clone, Debug)]
pub struct RankingRecord {
    /// Iteration of the predictor.
    pub iteration: u32,
    /// Charged queries when it was fitted.
    pub num_queried: usize,
    /// Predicted top-1 cell.
    pub top1: CellId,
    /// Kendall tau-b on the true top-50, top-100 and the whole space.
    pub kendall: [f64; 3],
    /// True rank of the predicted top-1 (1 = best).
    pub top1_true_rank: u32,
}

/// Computes diagnostics of every ranking against the truth (per-cell search-metric means).
pub struct DiagnosticsObserver<'a> {
    truth: &'a [f64],
    enabled: bool,
    /// Records, in call order.
    pub records: Vec<RankingRecord>,
}

impl<'a> DiagnosticsObserver<'a> {
    /// An observer over the truth; with `enabled = false` only the top-1 is recorded.
    pub fn new(truth: &'a [f64], enabled: bool) -> Self {
        Self { truth, enabled, records: Vec::new() }
    }
}

impl SearchObserver for DiagnosticsObserver<'_> {
    fn on_ranking(&mut self, iteration: u32, num_queried: usize, scores: &[f32]) {
        let pred: Vec<f64> = scores.iter().map(|&s| if s.is_nan() { f64::NEG_INFINITY } else { s as f64 }).collect();
        let top1 = crate::weaknas::rank_desc(scores).first().copied().unwrap_or(0);
        let (kendall, rank) = if self.enabled {
            (
                [
                    diagnostics::kendall_on_true_top_k(&pred, self.truth, 50),
                    diagnostics::kendall_on_true_top_k(&pred, self.truth, 100),
                    diagnostics::kendall_tau_b(&pred, self.truth),
                ],
                diagnostics::true_rank_of_predicted_top1(&pred, self.truth),
            )
        } else {
            ([f64::NAN; 3], 0)
        };
        self.records.push(RankingRecord { iteration, num_queried, top1, kendall, top1_true_rank: rank });
    }
}
