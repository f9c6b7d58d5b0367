//! The runner's observer: turns a searcher's rankings into predictor diagnostics using the
//! truth, which only the runner holds.

use crate::diagnostics;
use crate::searcher::SearchObserver;
use crate::space::CellId;
use crate::trace::RankedCell;

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
    record_top: usize,
    spread: Vec<CellId>,
    /// Records, in call order.
    pub records: Vec<RankingRecord>,
    /// Recorded cells of each ranking (when `record_top > 0`).
    pub ranked: Vec<RankedCell>,
}

impl<'a> DiagnosticsObserver<'a> {
    /// An observer over the truth; with `enabled = false` only the top-1 is recorded.
    pub fn new(truth: &'a [f64], enabled: bool) -> Self {
        Self {
            truth,
            enabled,
            record_top: 0,
            spread: Vec::new(),
            records: Vec::new(),
            ranked: Vec::new(),
        }
    }
    /// Also records the predicted top-`k` of every ranking and `spread` cells evenly spaced
    /// along the true ranking (for predicted-vs-true figures).
    pub fn record(mut self, k: usize, spread: usize) -> Self {
        self.record_top = k;
        if spread > 0 {
            let truth32: Vec<f32> = self.truth.iter().map(|&v| v as f32).collect();
            let order = crate::weaknas::rank_desc(&truth32);
            let n = order.len();
            self.spread = (0..spread.min(n))
                .map(|i| order[i * n / spread.min(n)])
                .collect();
        }
        self
    }
}

/// A ranking record as a checkpoint saves it: iteration, queries, top-1, bits of the three
/// Kendall taus, true rank of the top-1.
type SavedRecord = (u32, usize, CellId, [u64; 3], u32);
/// A recorded ranked cell as saved: iteration, predicted rank, cell, bits of predicted and
/// truth.
type SavedRanked = (u32, u32, CellId, u64, u64);

impl SearchObserver for DiagnosticsObserver<'_> {
    fn save_state(&self) -> serde_json::Value {
        let records: Vec<SavedRecord> = self
            .records
            .iter()
            .map(|r| {
                (
                    r.iteration,
                    r.num_queried,
                    r.top1,
                    r.kendall.map(f64::to_bits),
                    r.top1_true_rank,
                )
            })
            .collect();
        let ranked: Vec<SavedRanked> = self
            .ranked
            .iter()
            .map(|r| {
                (
                    r.iteration,
                    r.predicted_rank,
                    r.cell,
                    r.predicted.to_bits(),
                    r.truth.to_bits(),
                )
            })
            .collect();
        serde_json::json!({ "records": records, "ranked": ranked })
    }

    fn restore_state(&mut self, state: &serde_json::Value) -> anyhow::Result<()> {
        #[derive(serde::Deserialize)]
        struct Saved {
            records: Vec<SavedRecord>,
            ranked: Vec<SavedRanked>,
        }
        let s: Saved = serde_json::from_value(state.clone())?;
        self.records = s
            .records
            .into_iter()
            .map(
                |(iteration, num_queried, top1, k, top1_true_rank)| RankingRecord {
                    iteration,
                    num_queried,
                    top1,
                    kendall: k.map(f64::from_bits),
                    top1_true_rank,
                },
            )
            .collect();
        self.ranked = s
            .ranked
            .into_iter()
            .map(|(iteration, predicted_rank, cell, p, t)| RankedCell {
                iteration,
                predicted_rank,
                cell,
                predicted: f64::from_bits(p),
                truth: f64::from_bits(t),
            })
            .collect();
        Ok(())
    }

    fn on_ranking(&mut self, iteration: u32, num_queried: usize, scores: &[f32]) {
        let pred: Vec<f64> = scores
            .iter()
            .map(|&s| {
                if s.is_nan() {
                    f64::NEG_INFINITY
                } else {
                    s as f64
                }
            })
            .collect();
        let order = crate::weaknas::rank_desc(scores);
        let top1 = order.first().copied().unwrap_or(0);
        if self.record_top > 0 {
            for (r, &c) in order.iter().take(self.record_top).enumerate() {
                self.ranked.push(RankedCell {
                    iteration,
                    predicted_rank: r as u32 + 1,
                    cell: c,
                    predicted: scores[c as usize] as f64,
                    truth: self.truth[c as usize],
                });
            }
            for &c in &self.spread {
                self.ranked.push(RankedCell {
                    iteration,
                    predicted_rank: 0,
                    cell: c,
                    predicted: scores[c as usize] as f64,
                    truth: self.truth[c as usize],
                });
            }
        }
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
        self.records.push(RankingRecord {
            iteration,
            num_queried,
            top1,
            kendall,
            top1_true_rank: rank,
        });
    }
}
