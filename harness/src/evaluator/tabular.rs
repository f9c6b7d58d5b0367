//! The tabular evaluator: values looked up in a store column under a noise model.

use super::Evaluator;
use crate::oracle::NoiseModel;
use crate::rng::SeedRng;
use crate::space::CellId;
use crate::store::Column;
use anyhow::{bail, Result};
use rand::Rng;
use std::sync::Arc;

/// Search-metric values from a store column (NB101, NB201), drawn under a [`NoiseModel`].
pub struct TabularEvaluator {
    search: Arc<Column>,
    noise: NoiseModel,
    noise_rng: SeedRng,
    run_trial: Vec<u8>,
    cells: usize,
    present: usize,
    space_mean: f64,
    space_std: f64,
}

impl TabularEvaluator {
    /// An evaluator over a search-metric column. `noise_rng` draws trials (never the
    /// searcher's stream).
    pub fn new(search: Arc<Column>, noise: NoiseModel, noise_rng: SeedRng) -> Result<Self> {
        let n = search.values.len() / search.trials.max(1);
        let means = search.means();
        let present: Vec<f64> = means.iter().copied().filter(|v| !v.is_nan()).collect();
        if present.is_empty() {
            bail!("column {} has no value for any cell", search.key);
        }
        let mean = present.iter().sum::<f64>() / present.len() as f64;
        let var = present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / present.len() as f64;
        let mut noise_rng = noise_rng;
        let run_trial = match noise {
            NoiseModel::TrialPerRun => (0..n)
                .map(|c| {
                    let avail: Vec<u8> = (0..search.trials as u8)
                        .filter(|&t| !search.cell(c)[t as usize].is_nan())
                        .collect();
                    if avail.is_empty() {
                        0
                    } else {
                        avail[noise_rng.random_range(0..avail.len())]
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            present: present.len(),
            search,
            noise,
            noise_rng,
            run_trial,
            cells: n,
            space_mean: mean,
            space_std: var.sqrt(),
        })
    }

    /// Number of cells with a value.
    pub fn num_present(&self) -> usize {
        self.present
    }

    /// The store key of the column.
    pub fn key(&self) -> &str {
        &self.search.key
    }

    fn draw(&mut self, cell: CellId) -> f64 {
        let c = cell as usize;
        match self.noise {
            NoiseModel::Mean => self.search.mean(c),
            NoiseModel::TrialPerRun => self.search.cell(c)[self.run_trial[c] as usize],
            NoiseModel::TrialPerQuery => {
                let vals: Vec<f64> = self
                    .search
                    .cell(c)
                    .iter()
                    .copied()
                    .filter(|v| !v.is_nan())
                    .collect();
                if vals.is_empty() {
                    f64::NAN
                } else {
                    vals[self.noise_rng.random_range(0..vals.len())]
                }
            }
        }
    }
}

impl Evaluator for TabularEvaluator {
    fn num_cells(&self) -> usize {
        self.cells
    }
    fn can_evaluate(&self, cell: CellId) -> bool {
        (cell as usize) < self.cells && self.search.present(cell as usize) > 0
    }
    fn evaluate(&mut self, cells: &[CellId]) -> Vec<Result<f64, String>> {
        cells
            .iter()
            .map(|&c| {
                let v = self.draw(c);
                if v.is_nan() {
                    Err(format!("cell {c} has no value of {}", self.search.key))
                } else {
                    Ok(v)
                }
            })
            .collect()
    }
    fn repeat(&mut self, cell: CellId, first: f64) -> f64 {
        match self.noise {
            NoiseModel::TrialPerQuery => self.draw(cell),
            _ => first,
        }
    }
    fn space_statistics(&self) -> Option<(f64, f64)> {
        Some((self.space_mean, self.space_std))
    }
}
