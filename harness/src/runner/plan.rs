//! Planning a spec before running it (`weaknas run SPEC --plan`): the CPU time of a WeakNAS run
//! with an MLP predictor from its fit schedule and a quick calibration of the MLP on this
//! machine, the CPU time this process has used (to time other methods by one real run), and
//! the number of `--shard`s whose runs fit a wall-clock target.
//!
//! The MLP cost model counts the GEMM FLOPs of every fit and of every whole-space prediction,
//! and divides them by the single-thread rates measured here, so estimates are CPU-seconds.
//! A fit runs `max_iter` epochs at most; how many it really runs (early stopping) is measured
//! by [`calibrate_epochs`] on the benchmark itself, else the bound is used.

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

/// Training-set sizes above this are not fitted by [`calibrate_epochs`]: the epochs measured
/// at the largest size fitted stand for them.
pub const CALIBRATION_MAX_ROWS: usize = 1000;

/// The epochs the MLP `cfg` runs (scikit-learn's early stopping) when fitted on `n` rows, for
/// every `n` of `fits`: fitted on one thread on uniform samples of the benchmark (`features`,
/// and `targets` standardised as WeakNAS does) at up to three sizes of the schedule (its
/// first, middle and last, capped at [`CALIBRATION_MAX_ROWS`]), then interpolated linearly in
/// `n` between them and held constant beyond. WeakNAS fits on its queried cells, mostly the
/// predicted top, not on uniform samples, so this is an estimate, not a bound.
pub fn calibrate_epochs(
    cfg: &MlpConfig,
    features: &Matrix,
    targets: &[f64],
    fits: &[usize],
) -> Result<Vec<f64>> {
    if fits.is_empty() {
        return Ok(Vec::new());
    }
    if features.rows != targets.len() || features.rows == 0 {
        bail!(
            "plan: {} feature rows but {} target values",
            features.rows,
            targets.len()
        );
    }
    let cap = CALIBRATION_MAX_ROWS.min(features.rows);
    let mut sizes: Vec<usize> = [fits[0], fits[fits.len() / 2], fits[fits.len() - 1]]
        .iter()
        .map(|&n| n.clamp(1, cap))
        .collect();
    sizes.dedup();
    let mut measured = Vec::with_capacity(sizes.len());
    for &n in &sizes {
        let mut rng = crate::rng::stream("plan-calibration", n as u64, "epochs");
        let rows: Vec<u32> = rand::seq::index::sample(&mut rng, features.rows, n)
            .into_iter()
            .map(|r| r as u32)
            .collect();
        let y: Vec<f64> = rows.iter().map(|&r| targets[r as usize]).collect();
        let mean = y.iter().sum::<f64>() / n as f64;
        let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        let sd = if sd > 0.0 { sd } else { 1.0 };
        let y: Vec<f32> = y.iter().map(|v| ((v - mean) / sd) as f32).collect();
        let x = features.gather(&rows);
        let mut m = Mlp::new(cfg.clone(), Threads::ONE);
        m.fit(x.view(), &y, &mut rng)?;
        measured.push((n as f64, m.n_iter() as f64));
    }
    Ok(fits
        .iter()
        .map(|&n| interpolate(&measured, n as f64))
        .collect())
}

/// Piecewise-linear through `points` (sorted by x), constant beyond the ends.
fn interpolate(points: &[(f64, f64)], x: f64) -> f64 {
    let (first, last) = (points[0], points[points.len() - 1]);
    if x <= first.0 {
        return first.1;
    }
    if x >= last.0 {
        return last.1;
    }
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if x <= x1 {
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        }
    }
    last.1
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
    /// FLOPs of training and of prediction over `space_rows` rows, each fit at `epochs[i]`
    /// epochs (`None`: at `max_iter`, the upper bound).
    pub fn flops(&self, inputs: usize, space_rows: usize, epochs: Option<&[f64]>) -> (f64, f64) {
        let per_epoch_row = 2.0 * self.mlp.train_macs_per_row(inputs) as f64;
        let bound = self.mlp.max_iter as f64;
        let train: f64 = self
            .fits
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let e = epochs.map_or(bound, |e| e[i].min(bound));
                per_epoch_row * n as f64 * e
            })
            .sum();
        let predict = 2.0
            * self.mlp.forward_macs_per_row(inputs) as f64
            * space_rows as f64
            * self.fits.len() as f64;
        let m = self.members as f64;
        (train * m, predict * m)
    }
    /// Estimated CPU-seconds of the run's MLP work at `rates` (fits at `epochs`, as in
    /// [`flops`](Self::flops)).
    pub fn cpu_s(
        &self,
        inputs: usize,
        space_rows: usize,
        rates: MlpRates,
        epochs: Option<&[f64]>,
    ) -> f64 {
        let (t, p) = self.flops(inputs, space_rows, epochs);
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
        let (t, p) = w.flops(30, 1000, None);
        assert_eq!(t, 2.0 * 504.0 * 95.0 * 100.0);
        assert_eq!(p, 2.0 * 248.0 * 1000.0 * 4.0);
        // Measured epochs replace the bound fit by fit (and never exceed it).
        let (t, p2) = w.flops(30, 1000, Some(&[10.0, 20.0, 30.0, 500.0]));
        assert_eq!(
            t,
            2.0 * 504.0 * (10.0 * 10.0 + 20.0 * 20.0 + 30.0 * 30.0 + 35.0 * 100.0)
        );
        assert_eq!(p2, p);
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
    fn interpolation_is_linear_inside_and_constant_outside() {
        let pts = [(10.0, 40.0), (100.0, 22.0), (1000.0, 13.0)];
        assert_eq!(interpolate(&pts, 5.0), 40.0);
        assert_eq!(interpolate(&pts, 55.0), 31.0);
        assert_eq!(interpolate(&pts, 550.0), 17.5);
        assert_eq!(interpolate(&pts, 5000.0), 13.0);
        assert_eq!(interpolate(&[(7.0, 3.0)], 100.0), 3.0);
    }

    /// Early stopping is measured, not assumed: on a SYNTHETIC learnable target with a
    /// tolerance that stops fits early, every fit of the schedule gets a measured epoch count
    /// below the bound, sizes beyond the cap reuse the largest size fitted, and it is
    /// deterministic.
    #[test]
    fn epochs_are_measured_on_the_benchmark_and_interpolated() {
        let (rows, inputs) = (3000, 6);
        let mut rng = crate::rng::stream("t", 0, "plan");
        let data: Vec<f32> = (0..rows * inputs)
            .map(|_| rand::Rng::random::<f32>(&mut rng))
            .collect();
        let targets: Vec<f64> = data
            .chunks(inputs)
            .map(|r| (r[0] * 2.0 + r[1] - r[2] * r[3]) as f64)
            .collect();
        let x = Matrix::from_vec(rows, inputs, data);
        let cfg = MlpConfig {
            hidden: vec![16],
            max_iter: 60,
            tol: 1e-2,
            ..MlpConfig::default()
        };
        let fits = [10, 510, 1010, 2000];
        let e = calibrate_epochs(&cfg, &x, &targets, &fits).unwrap();
        assert_eq!(e.len(), fits.len());
        assert!(e.iter().all(|&v| (1.0..=60.0).contains(&v)), "{e:?}");
        assert!(e.iter().any(|&v| v < 60.0), "no fit stopped early: {e:?}");
        // 1010 and 2000 are both fitted at the cap (1000 rows).
        assert_eq!(e[2], e[3]);
        assert_eq!(e, calibrate_epochs(&cfg, &x, &targets, &fits).unwrap());
        assert!(calibrate_epochs(&cfg, &x, &targets[..10], &fits).is_err());
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
