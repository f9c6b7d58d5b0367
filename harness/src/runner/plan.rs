//! Planning a spec before running it (`weaknas run SPEC --plan`): the CPU time of a WeakNAS run
//! with an MLP predictor from its fit schedule and a quick calibration of the MLP on this
//! machine, the CPU time this process has used (to time other methods by one real run), and
//! the number of `--shard`s whose runs fit a wall-clock target.
//!
//! The MLP cost model counts the GEMM FLOPs of every fit at `max_iter` epochs (an upper bound:
//! early stopping only shortens fits) and of every whole-space prediction, and divides them by
//! the single-thread rates measured here, so estimates are CPU-seconds.

use crate::matrix::Matrix;
use crate::predictor::mlp::{Mlp, MlpConfig};
use crate::predictor::{Predictor, PredictorConfig, Threads};
use crate::searcher::parse_params;
use crate::weaknas::{Sampling, WeakNasConfig};
use anyhow::{bail, Result};
use std::time::Instant;

/// Single-thread MLP throughput on this machine (FLOPs per CPU-second).
#[derive(Clone, Copy, Debug)]
pub struct MlpRates {
    /// Training (forward, back-propagation, weight gradients).
    pub train: f64,
    /// Prediction (forward only).
    pub predict: f64,
}

/// Times one epoch of `cfg` on 200 synthetic rows of `inputs` features and a prediction of
/// 4,096 rows, on one thread (best of two), and returns the rates.
pub fn calibrate_mlp(cfg: &MlpConfig, inputs: usize) -> Result<MlpRates> {
    let rows = 200;
    let mut rng = crate::rng::stream("plan-calibration", 0, "synthetic");
    let data: Vec<f32> = (0..rows * inputs)
        .map(|_| rand::Rng::random::<f32>(&mut rng))
        .collect();
    let x = Matrix::from_vec(rows, inputs, data);
    let y: Vec<f32> = (0..rows).map(|i| (i % 7) as f32 / 7.0).collect();
    let one_epoch = MlpConfig {
        max_iter: 1,
        ..cfg.clone()
    };
    let train_flops = 2.0 * (one_epoch.train_macs_per_row(inputs) * rows as u64) as f64;
    let big = Matrix::from_vec(
        4096,
        inputs,
        x.data.iter().copied().cycle().take(4096 * inputs).collect(),
    );
    let predict_flops = 2.0 * (cfg.forward_macs_per_row(inputs) * 4096) as f64;
    let (mut train_s, mut predict_s) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..2 {
        let mut m = Mlp::new(one_epoch.clone(), Threads::ONE);
        let t = Instant::now();
        m.fit(x.view(), &y, &mut rng)?;
        train_s = train_s.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        std::hint::black_box(m.predict(big.view()));
        predict_s = predict_s.min(t.elapsed().as_secs_f64());
    }
    Ok(MlpRates {
        train: train_flops / train_s.max(1e-9),
        predict: predict_flops / predict_s.max(1e-9),
    })
}

/// The MLP work of one run of a WeakNAS method: its predictor settings, ensemble members and
/// the training-set size of every fit (each fit is followed by a whole-space prediction).
#[derive(Clone, Debug)]
pub struct MlpWork {
    pub mlp: MlpConfig,
    pub members: usize,
    pub fits: Vec<usize>,
}

/// For `method` (`weaknas` or `weaknas-ei`) with an MLP predictor: the fits of one run with
/// `budget` queries on `space` (`None` for other methods or predictors). Fits happen at
/// `init`, `init + per_iter`, ... up to the budget, as in [`crate::weaknas`].
pub fn weaknas_mlp_work(
    method: &str,
    params: &toml::Table,
    space: &str,
    budget: usize,
) -> Result<Option<MlpWork>> {
    if method != "weaknas" && method != "weaknas-ei" {
        return Ok(None);
    }
    let cfg: WeakNasConfig = parse_params(method, params)?;
    let PredictorConfig::Mlp(mlp) = &cfg.predictor else {
        return Ok(None);
    };
    let init = cfg
        .init
        .unwrap_or(if space.starts_with("nb101") { 100 } else { 10 })
        .min(budget);
    if init == 0 || cfg.per_iter == 0 {
        bail!("weaknas: init and per_iter must be positive");
    }
    let ei = method == "weaknas-ei" || cfg.sampling == Sampling::Ei;
    let mut fits = vec![init];
    while *fits.last().unwrap() < budget {
        fits.push((fits.last().unwrap() + cfg.per_iter).min(budget));
    }
    Ok(Some(MlpWork {
        mlp: mlp.clone(),
        members: if ei { cfg.ensemble.max(1) } else { 1 },
        fits,
    }))
}

impl MlpWork {
    /// FLOPs of training (at `max_iter` epochs) and of prediction over `space_rows` rows.
    pub fn flops(&self, inputs: usize, space_rows: usize) -> (f64, f64) {
        let per_epoch_row = 2.0 * self.mlp.train_macs_per_row(inputs) as f64;
        let epochs = self.mlp.max_iter as f64;
        let train: f64 = self
            .fits
            .iter()
            .map(|&n| per_epoch_row * n as f64 * epochs)
            .sum();
        let predict = 2.0
            * self.mlp.forward_macs_per_row(inputs) as f64
            * space_rows as f64
            * self.fits.len() as f64;
        let m = self.members as f64;
        (train * m, predict * m)
    }
    /// Estimated CPU-seconds of the run's MLP work at `rates`.
    pub fn cpu_s(&self, inputs: usize, space_rows: usize, rates: MlpRates) -> f64 {
        let (t, p) = self.flops(inputs, space_rows);
        t / rates.train + p / rates.predict
    }
}

/// CPU time this process has used so far (user + system, all threads), seconds.
pub fn process_cpu_s() -> f64 {
    // SAFETY: getrusage writes one `rusage` struct, which we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return f64::NAN;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// CPU-seconds of each of `n` shards when job `k` (runner order) goes to shard `k % n`.
pub fn shard_loads(costs: &[f64], n: usize) -> Vec<f64> {
    let mut loads = vec![0.0; n.max(1)];
    for (k, c) in costs.iter().enumerate() {
        loads[k % n.max(1)] += c;
    }
    loads
}

/// The fewest shards whose busiest one finishes within `wall_s` on `cores` cores (its
/// CPU-seconds / cores), or `None` when even one run per shard would not.
pub fn shards_for(costs: &[f64], cores: usize, wall_s: f64) -> Option<usize> {
    let cap = wall_s * cores.max(1) as f64;
    if costs.iter().any(|&c| c > cap) {
        return None;
    }
    (1..=costs.len().max(1)).find(|&n| shard_loads(costs, n).iter().all(|&l| l <= cap))
}

/// Parses a duration such as `90s`, `45m`, `12h`, `1.5h` or `2d` (a bare number is hours)
/// into seconds.
pub fn parse_duration(s: &str) -> Result<f64> {
    let t = s.trim();
    let (num, mul) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1.0),
        Some((i, 'm')) => (&t[..i], 60.0),
        Some((i, 'h')) => (&t[..i], 3600.0),
        Some((i, 'd')) => (&t[..i], 86400.0),
        _ => (t, 3600.0),
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v * mul),
        _ => bail!("invalid duration {s:?}: expected e.g. 90m, 12h, 1.5h or 2d"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weaknas_fit_schedule_and_flops() {
        let params: toml::Table =
            toml::from_str("per_iter = 10\npredictor = { type = \"mlp\", hidden = [8] }").unwrap();
        let w = weaknas_mlp_work("weaknas", &params, "nb201", 35)
            .unwrap()
            .unwrap();
        assert_eq!(w.fits, vec![10, 20, 30, 35]);
        assert_eq!(w.members, 1);
        // One hidden layer of 8 on 30 inputs: forward 30*8 + 8 = 248 MACs per row; training
        // 3 * 248 - 240 = 504 per row and epoch; 100 epochs.
        let (t, p) = w.flops(30, 1000);
        assert_eq!(t, 2.0 * 504.0 * 95.0 * 100.0);
        assert_eq!(p, 2.0 * 248.0 * 1000.0 * 4.0);
        let ei: toml::Table = toml::from_str("ensemble = 3").unwrap();
        let e = weaknas_mlp_work("weaknas-ei", &ei, "nb101", 300)
            .unwrap()
            .unwrap();
        assert_eq!((e.members, e.fits[0], e.fits.len()), (3, 100, 21));
        assert!(weaknas_mlp_work("random", &toml::Table::new(), "nb201", 10)
            .unwrap()
            .is_none());
        let gbdt: toml::Table = toml::from_str("predictor = { type = \"gbdt\" }").unwrap();
        assert!(weaknas_mlp_work("weaknas", &gbdt, "nb201", 10)
            .unwrap()
            .is_none());
    }

    #[test]
    fn shards_fit_the_target() {
        let costs = [10.0, 10.0, 10.0, 30.0];
        // 2 cores, 10 s wall: 20 CPU-s per shard; the 30 s run never fits.
        assert_eq!(shards_for(&costs, 2, 10.0), None);
        // 4 cores, 10 s: 40 CPU-s per shard; one shard holds 60: two shards (10+10, 10+30).
        assert_eq!(shards_for(&costs, 4, 10.0), Some(2));
        assert_eq!(shard_loads(&costs, 2), vec![20.0, 40.0]);
        assert_eq!(shards_for(&costs, 4, 100.0), Some(1));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90m").unwrap(), 5400.0);
        assert_eq!(parse_duration("1.5h").unwrap(), 5400.0);
        assert_eq!(parse_duration("12").unwrap(), 43200.0);
        assert_eq!(parse_duration("2d").unwrap(), 172800.0);
        assert_eq!(parse_duration("30s").unwrap(), 30.0);
        for bad in ["", "h", "-1h", "abc", "0m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn calibration_gives_positive_rates_and_cpu_time_advances() {
        let cfg = MlpConfig {
            hidden: vec![32, 32],
            ..MlpConfig::default()
        };
        let before = process_cpu_s();
        let r = calibrate_mlp(&cfg, 30).unwrap();
        assert!(r.train > 0.0 && r.train.is_finite() && r.predict > 0.0);
        assert!(process_cpu_s() >= before);
    }
}
