//! Predictors: models fitted on (encoding, search metric) pairs that rank a whole space.
//!
//! [`Predictor`] is the trait every model implements; [`PredictorConfig`] is the TOML-facing
//! description (tagged by `type`) that builds one. [`Ensemble`] wraps k models with different
//! random streams and gives the mean and population std of their predictions.
//!
//! Thread policy: a predictor uses at most [`Threads`] threads inside `fit`/`predict`. The
//! runner gives a predictor all cores when one run executes alone and one thread each when
//! runs execute in parallel, so the machine is never oversubscribed.

pub mod ridge;

use crate::matrix::MatRef;
use crate::rng::SeedRng;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// How many threads a predictor may use inside one fit or predict call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threads(pub usize);

impl Threads {
    /// One thread.
    pub const ONE: Threads = Threads(1);
    /// Every core rayon knows of.
    pub fn all() -> Threads {
        Threads(rayon::current_num_threads().max(1))
    }
}

/// A regression model used to rank architectures.
pub trait Predictor: Send {
    /// Fits from scratch (re-initialising any previous state) on rows of `x` with targets `y`,
    /// drawing every random choice from `rng`.
    fn fit(&mut self, x: MatRef<'_>, y: &[f32], rng: &mut SeedRng) -> Result<()>;
    /// Predicts every row of `x` (any number of rows) in one call.
    fn predict(&self, x: MatRef<'_>) -> Vec<f32>;
}

/// A predictor description, as written in specs (`type = "mlp"`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum PredictorConfig {
    /// Ridge regression (closed form).
    Ridge(ridge::RidgeConfig),
}

impl PredictorConfig {
    /// Builds a fresh, unfitted predictor.
    pub fn build(&self, threads: Threads) -> Box<dyn Predictor> {
        let _ = threads;
        match self {
            PredictorConfig::Ridge(c) => Box::new(ridge::Ridge::new(c.clone())),
        }
    }
    /// Short label for tables, e.g. `ridge`.
    pub fn label(&self) -> String {
        match self {
            PredictorConfig::Ridge(_) => "ridge".into(),
        }
    }
}

/// k predictors of one configuration fitted with different random streams.
pub struct Ensemble {
    members: Vec<Box<dyn Predictor>>,
}

impl Ensemble {
    /// k fresh members.
    pub fn new(config: &PredictorConfig, k: usize, threads: Threads) -> Self {
        Self {
            members: (0..k).map(|_| config.build(threads)).collect(),
        }
    }
    /// Fits every member on the same data, member i with the i-th child stream of `rng`.
    pub fn fit(&mut self, x: MatRef<'_>, y: &[f32], rng: &mut SeedRng) -> Result<()> {
        for (i, m) in self.members.iter_mut().enumerate() {
            let mut r = crate::rng::child(rng, i as u64);
            m.fit(x, y, &mut r)?;
        }
        Ok(())
    }
    /// Per row: mean and population std over the members' predictions.
    pub fn predict_mean_std(&self, x: MatRef<'_>) -> (Vec<f32>, Vec<f32>) {
        let preds: Vec<Vec<f32>> = self.members.iter().map(|m| m.predict(x)).collect();
        let k = preds.len() as f64;
        let mut mean = vec![0f32; x.rows];
        let mut std = vec![0f32; x.rows];
        for i in 0..x.rows {
            let m = preds.iter().map(|p| p[i] as f64).sum::<f64>() / k;
            let v = preds.iter().map(|p| (p[i] as f64 - m).powi(2)).sum::<f64>() / k;
            mean[i] = m as f32;
            std[i] = v.sqrt() as f32;
        }
        (mean, std)
    }
}
