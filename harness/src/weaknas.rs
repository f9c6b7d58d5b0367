//! WeakNAS ("Stronger NAS with Weaker Predictors", Wu et al., NeurIPS 2021), as the official
//! code (`WeakNAS.py`) runs it; where paper and code differ the code is the default and the
//! difference is an option.
//!
//! ```text
//! S = I cells drawn uniformly without replacement
//! k = 0
//! loop:
//!     P_k = fresh predictor fitted on the training set T (targets normalised)
//!     rank all cells by P_k, descending            (queried ones included)
//!     if |S| = B: stop                              (the last fit only feeds diagnostics)
//!     pool = rank[:N_k] \ S
//!     uniform: |pool| >= M ? M uniform from pool : pool + best-ranked unqueried outside top-N
//!     ei:      the M unqueried cells with the highest expected improvement (ensemble of E)
//!     T = keep_old(T, rank[:N_k]) + new            (all: T = S; top: T ∩ top-N; none: new only)
//! ```
//!
//! Differences from the official code, by design: the pool excludes every queried cell
//! (the code excludes only the kept training set, so with `keep_old = none|top` it may pay
//! twice for a cell); the EI improvement threshold is the best training target (the code uses
//! `-min(y_train)` through a sign slip — available as `ei_threshold = "official"`).

use crate::predictor::{Ensemble, PredictorConfig};
use crate::searcher::{parse_params, BuildInfo, SearchContext, Searcher};
use crate::space::CellId;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// Top-N schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TopN {
    /// The same N every iteration (`top_n = 100`).
    Constant(usize),
    /// The official code's decaying schedule
    /// `N_k = int(end + (start - end) * (d^x_k - min) / (max - min))`, x_k = linspace(0, 99, K)
    /// (`top_n = { start = 80000, end = 500, decay = 0.96 }`).
    Decay {
        /// N at the first iteration.
        start: usize,
        /// N at the last iteration.
        end: usize,
        /// Decay base d.
        decay: f64,
    },
}

impl TopN {
    /// N for each of `k_total` iterations.
    pub fn schedule(&self, k_total: usize) -> Vec<usize> {
        match *self {
            TopN::Constant(n) => vec![n; k_total],
            TopN::Decay { start, end, decay } => {
                if k_total <= 1 {
                    return vec![start; k_total];
                }
                let y: Vec<f64> = (0..k_total)
                    .map(|i| decay.powf(99.0 * i as f64 / (k_total - 1) as f64))
                    .collect();
                let (mn, mx) = y
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                        (a.min(v), b.max(v))
                    });
                y.iter()
                    .map(|v| {
                        let t = if mx > mn { (v - mn) / (mx - mn) } else { 1.0 };
                        (t * (start as f64 - end as f64) + end as f64) as usize
                    })
                    .collect()
            }
        }
    }
}

/// Which previous training samples the next predictor keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeepOld {
    /// Every queried cell (default).
    #[default]
    All,
    /// Training cells still inside the current top-N.
    Top,
    /// Only the newest samples.
    None,
}

/// How targets are normalised before fitting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalize {
    /// Mean and population std of the search metric over the whole space (official code;
    /// a documented peek at space-wide statistics).
    #[default]
    Space,
    /// Mean and std of the training targets only.
    Queried,
}

/// How the next samples are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sampling {
    /// Uniform inside the predicted top-N minus the queried set (default).
    #[default]
    Uniform,
    /// Highest expected improvement from an ensemble (no top-N, no random draw).
    Ei,
}

/// Improvement threshold of the EI variant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EiThreshold {
    /// Best training target (textbook EI; default).
    #[default]
    Best,
    /// `-min(training targets)`, what the official code computes.
    Official,
}

/// WeakNAS settings. Missing fields take the paper's defaults for the benchmark.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeakNasConfig {
    /// Initial uniform samples I (default: 100 on NB101, 10 elsewhere).
    pub init: Option<usize>,
    /// Samples per iteration M.
    pub per_iter: usize,
    /// Top-N schedule.
    pub top_n: TopN,
    /// Training-set policy.
    pub keep_old: KeepOld,
    /// The (weak) predictor.
    pub predictor: PredictorConfig,
    /// Target normalisation.
    pub normalize: Normalize,
    /// Sampling rule.
    pub sampling: Sampling,
    /// Ensemble size for `sampling = "ei"` (1 for uniform sampling).
    pub ensemble: usize,
    /// EI calibration: sigma' = sigma / this.
    pub ei_calibration: f64,
    /// EI improvement threshold.
    pub ei_threshold: EiThreshold,
    /// Fit once more when the budget is spent (feeds the last diagnostics and `paper_best`,
    /// as the official code does).
    pub final_fit: bool,
}

impl Default for WeakNasConfig {
    fn default() -> Self {
        Self {
            init: None,
            per_iter: 10,
            top_n: TopN::Constant(100),
            keep_old: KeepOld::All,
            predictor: PredictorConfig::default(),
            normalize: Normalize::Space,
            sampling: Sampling::Uniform,
            ensemble: 5,
            ei_calibration: 5.0,
            ei_threshold: EiThreshold::Best,
            final_fit: true,
        }
    }
}

/// The WeakNAS searcher.
pub struct WeakNas {
    config: WeakNasConfig,
    init: usize,
}

/// Registry builder for `method = "weaknas"`.
pub fn build(params: &toml::Table, info: &BuildInfo) -> Result<Box<dyn Searcher>> {
    let config: WeakNasConfig = parse_params("weaknas", params)?;
    Ok(Box::new(WeakNas::new(config, info)?))
}

/// Registry builder for `method = "weaknas-ei"` (WeakNAS with `sampling = "ei"`).
pub fn build_ei(params: &toml::Table, info: &BuildInfo) -> Result<Box<dyn Searcher>> {
    let mut config: WeakNasConfig = parse_params("weaknas-ei", params)?;
    config.sampling = Sampling::Ei;
    Ok(Box::new(WeakNas::new(config, info)?))
}

impl WeakNas {
    /// A searcher; checks the settings against the run's budget.
    pub fn new(config: WeakNasConfig, info: &BuildInfo) -> Result<Self> {
        let init = config.init.unwrap_or(if info.space.starts_with("nb101") {
            100
        } else {
            10
        });
        if init == 0 || config.per_iter == 0 {
            bail!("weaknas: init and per_iter must be positive");
        }
        if init > info.budget {
            bail!(
                "weaknas: init ({init}) is larger than the budget ({})",
                info.budget
            );
        }
        if config.sampling == Sampling::Ei && config.ensemble < 2 {
            bail!("weaknas: the EI variant needs an ensemble of at least 2 predictors");
        }
        if let TopN::Constant(0) = config.top_n {
            bail!("weaknas: top_n must be positive");
        }
        config.predictor.validate().context("weaknas: predictor")?;
        Ok(Self { config, init })
    }

    /// Number of predictor fits before the budget is spent (the official code's K).
    fn iterations(&self, budget: usize) -> usize {
        1 + (budget - self.init).div_ceil(self.config.per_iter)
    }
}

fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

fn normal_cdf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// Cells sorted by score, descending (NaN last, ties by cell id).
pub fn rank_desc(scores: &[f32]) -> Vec<CellId> {
    let mut idx: Vec<CellId> = (0..scores.len() as CellId).collect();
    let key = |c: CellId| {
        let s = scores[c as usize];
        if s.is_nan() {
            f32::NEG_INFINITY
        } else {
            s
        }
    };
    idx.sort_unstable_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    idx
}

/// What WeakNAS saves at a checkpoint (the top of its loop): the iteration and its training
/// set, values as bits.
#[derive(Serialize, Deserialize)]
struct SavedState {
    k: usize,
    train: Vec<(CellId, u64)>,
}

impl SavedState {
    fn of(k: usize, train: &[(CellId, f64)]) -> serde_json::Value {
        let s = SavedState {
            k,
            train: train.iter().map(|&(c, v)| (c, v.to_bits())).collect(),
        };
        serde_json::to_value(s).expect("integers serialise")
    }
    fn train(&self) -> Vec<(CellId, f64)> {
        self.train
            .iter()
            .map(|&(c, b)| (c, f64::from_bits(b)))
            .collect()
    }
}

impl Searcher for WeakNas {
    fn run(&mut self, ctx: &mut SearchContext<'_>) -> Result<()> {
        use rand::seq::index::sample;
        let cfg = self.config.clone();
        let budget = ctx.oracle.budget();
        let schedule = cfg.top_n.schedule(self.iterations(budget));
        let candidates: Vec<CellId> = (0..ctx.oracle.num_cells() as CellId)
            .filter(|&c| ctx.oracle.has_value(c))
            .collect();
        let space_stats = ctx.oracle.space_statistics();
        if cfg.normalize == Normalize::Space && space_stats.is_none() {
            bail!(
                "weaknas: normalize = \"space\" needs space-wide statistics of the search \
                 metric, which only tabular benchmarks have; use normalize = \"queried\""
            );
        }
        let (space_mean, space_std) = space_stats.unwrap_or((0.0, 1.0));
        let members = if cfg.sampling == Sampling::Ei {
            cfg.ensemble
        } else {
            1
        };
        let mut ensemble = Ensemble::new(&cfg.predictor, members, ctx.threads);

        let (mut train, mut k) = match ctx.resume.take() {
            // A run continued from its checkpoint: the oracle and the stream are restored.
            Some(state) => {
                let s: SavedState = serde_json::from_value(state)
                    .context("weaknas: the searcher state in the run's checkpoint")?;
                (s.train(), s.k)
            }
            None => {
                // Iteration 0: I uniform samples.
                ctx.oracle.set_iteration(0);
                let mut train: Vec<(CellId, f64)> = Vec::with_capacity(budget);
                let first: Vec<CellId> =
                    sample(ctx.rng, candidates.len(), self.init.min(candidates.len()))
                        .into_iter()
                        .map(|i| candidates[i])
                        .collect();
                for (c, v) in first.iter().zip(ctx.try_query_many(&first)?) {
                    if let Some(v) = v {
                        train.push((*c, v));
                    }
                }
                if train.is_empty() {
                    bail!("weaknas: every evaluation of the initial sample failed");
                }
                (train, 0usize)
            }
        };
        loop {
            // An iteration boundary: the training set, k and the stream are the whole state.
            ctx.checkpoint(|| SavedState::of(k, &train))?;
            // Fit a fresh predictor (ensemble) on the training set.
            let cells: Vec<CellId> = train.iter().map(|t| t.0).collect();
            let (mu, sd) = match cfg.normalize {
                Normalize::Space => (space_mean, space_std),
                Normalize::Queried => {
                    let n = train.len() as f64;
                    let m = train.iter().map(|t| t.1).sum::<f64>() / n;
                    let v = train.iter().map(|t| (t.1 - m).powi(2)).sum::<f64>() / n;
                    (m, v.sqrt())
                }
            };
            let sd = if sd > 0.0 { sd } else { 1.0 };
            let y: Vec<f32> = train.iter().map(|t| ((t.1 - mu) / sd) as f32).collect();
            let x = ctx.features.gather(&cells);
            ensemble.fit(x.view(), &y, ctx.rng)?;
            let (mean, std) = ensemble.predict_mean_std(ctx.features.view());
            ctx.report_ranking(k as u32, &mean);
            if ctx.oracle.remaining() == 0 {
                break;
            }
            let rank = rank_desc(&mean);
            let n_top = schedule
                .get(k)
                .copied()
                .unwrap_or(*schedule.last().unwrap())
                .max(1);
            let top = &rank[..n_top.min(rank.len())];
            let m = cfg.per_iter.min(ctx.oracle.remaining());
            k += 1;
            ctx.oracle.set_iteration(k as u32);
            let chosen: Vec<CellId> = match cfg.sampling {
                Sampling::Uniform => {
                    let pool: Vec<CellId> = top
                        .iter()
                        .copied()
                        .filter(|&c| !ctx.oracle.is_queried(c) && ctx.oracle.has_value(c))
                        .collect();
                    if pool.len() >= m {
                        sample(ctx.rng, pool.len(), m)
                            .into_iter()
                            .map(|i| pool[i])
                            .collect()
                    } else {
                        let mut out = pool;
                        out.extend(
                            rank[top.len()..]
                                .iter()
                                .copied()
                                .filter(|&c| !ctx.oracle.is_queried(c) && ctx.oracle.has_value(c))
                                .take(m - out.len()),
                        );
                        out
                    }
                }
                Sampling::Ei => {
                    let best = match cfg.ei_threshold {
                        EiThreshold::Best => {
                            y.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64
                        }
                        EiThreshold::Official => {
                            -(y.iter().fold(f32::INFINITY, |a, &b| a.min(b)) as f64)
                        }
                    };
                    let ei: Vec<f32> = mean
                        .iter()
                        .zip(&std)
                        .map(|(&mu, &s)| {
                            let s = s as f64 / cfg.ei_calibration;
                            let d = mu as f64 - best;
                            if s <= 0.0 {
                                d.max(0.0) as f32
                            } else {
                                let g = d / s;
                                (s * (g * normal_cdf(g) + normal_pdf(g))) as f32
                            }
                        })
                        .collect();
                    rank_desc(&ei)
                        .into_iter()
                        .filter(|&c| !ctx.oracle.is_queried(c) && ctx.oracle.has_value(c))
                        .take(m)
                        .collect()
                }
            };
            if chosen.is_empty() {
                bail!("weaknas: no unqueried cell left to sample");
            }
            let mut new = Vec::with_capacity(chosen.len());
            for (c, v) in chosen.iter().zip(ctx.try_query_many(&chosen)?) {
                if let Some(v) = v {
                    new.push((*c, v));
                }
            }
            train = match cfg.keep_old {
                KeepOld::All => {
                    train.extend(new);
                    train
                }
                KeepOld::Top => {
                    let in_top: std::collections::HashSet<CellId> = top.iter().copied().collect();
                    let mut t: Vec<(CellId, f64)> = train
                        .into_iter()
                        .filter(|t| in_top.contains(&t.0))
                        .collect();
                    t.extend(new);
                    t
                }
                KeepOld::None => new,
            };
            if ctx.oracle.remaining() == 0 && !cfg.final_fit {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_schedule_matches_official_formula() {
        // numpy: y = 0.96**linspace(0, 99, 100); y = (y-min)/(max-min); int(y*(80000-500)+500)
        let s = TopN::Decay {
            start: 80000,
            end: 500,
            decay: 0.96,
        }
        .schedule(100);
        assert_eq!(s.len(), 100);
        assert_eq!(s[0], 80000);
        assert_eq!(s[99], 500);
        assert!(s.windows(2).all(|w| w[0] >= w[1]));
        // 0.96^1 = 0.96, min = 0.96^99 = 0.017577..., (0.96-m)/(1-m)*79500+500
        let m = 0.96f64.powi(99);
        assert_eq!(s[1], ((0.96 - m) / (1.0 - m) * 79500.0 + 500.0) as usize);
        assert_eq!(TopN::Constant(100).schedule(3), vec![100, 100, 100]);
    }

    #[test]
    fn iteration_count_matches_official_list() {
        let info = BuildInfo {
            space: "nb201".into(),
            budget: 1000,
        };
        let w = WeakNas::new(WeakNasConfig::default(), &info).unwrap();
        assert_eq!(w.init, 10);
        assert_eq!(w.iterations(1000), 100);
        let info = BuildInfo {
            space: "nb101".into(),
            budget: 1000,
        };
        let w = WeakNas::new(WeakNasConfig::default(), &info).unwrap();
        assert_eq!(w.init, 100);
        assert_eq!(w.iterations(1000), 91);
    }

    #[test]
    fn config_parses_and_rejects_typos() {
        let t: toml::Table = toml::from_str(
            "top_n = { start = 80000, end = 500, decay = 0.96 }\nkeep_old = \"top\"",
        )
        .unwrap();
        let c: WeakNasConfig = parse_params("weaknas", &t).unwrap();
        assert_eq!(c.keep_old, KeepOld::Top);
        assert!(matches!(c.top_n, TopN::Decay { start: 80000, .. }));
        let t: toml::Table = toml::from_str("topn = 5").unwrap();
        assert!(parse_params::<WeakNasConfig>("weaknas", &t)
            .unwrap_err()
            .to_string()
            .contains("topn"));
    }

    #[test]
    fn rank_is_descending_with_stable_ties() {
        assert_eq!(
            rank_desc(&[0.5, 2.0, f32::NAN, 2.0, -1.0]),
            vec![1, 3, 0, 4, 2]
        );
    }
}
