//! Training one network and measuring its accuracy.

use crate::data::{Digits, Split, CLASSES, PIXELS};
use crate::genotype::Genotype;
use crate::model::{Network, ParamInit};
use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use serde::Serialize;
use std::time::Instant;

/// Default number of epochs (one evaluation takes about 1-3 s on one core, see README).
pub const DEFAULT_EPOCHS: usize = 3;
/// Default width of the first cell.
pub const DEFAULT_CHANNELS: usize = 8;

/// Training settings.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Seeds parameter initialisation and minibatch order.
    pub seed: u64,
    /// Passes over the training split.
    pub epochs: usize,
    /// Width of the first cell (even, >= 2).
    pub channels: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Peak learning rate of AdamW (cosine decay to zero).
    pub lr: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            epochs: DEFAULT_EPOCHS,
            channels: DEFAULT_CHANNELS,
            batch_size: 32,
            lr: 0.01,
            weight_decay: 1e-4,
        }
    }
}

/// What one evaluation reports (the result JSON).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EvalResult {
    /// Validation accuracy after the final epoch, as a fraction.
    pub valid_accuracy: f64,
    /// Test accuracy after the final epoch, as a fraction.
    pub test_accuracy: f64,
    /// Wall-clock seconds of training (excluding data loading and evaluation).
    pub train_seconds: f64,
    /// Number of trainable parameters.
    pub params: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// The seed.
    pub seed: u64,
    /// The genotype's text form.
    pub genotype: String,
}

fn images(d: &Digits, idx: &[usize]) -> Result<(Tensor, Tensor)> {
    let mut px = Vec::with_capacity(idx.len() * PIXELS);
    let mut lb = Vec::with_capacity(idx.len());
    for &i in idx {
        px.extend_from_slice(&d.pixels[i * PIXELS..(i + 1) * PIXELS]);
        lb.push(d.labels[i]);
    }
    let n = idx.len();
    Ok((
        Tensor::from_vec(px, (n, 1, 8, 8), &Device::Cpu)?,
        Tensor::from_vec(lb, n, &Device::Cpu)?,
    ))
}

/// Accuracy of `net` (evaluation mode) on `d`.
pub fn accuracy(net: &mut Network, d: &Digits) -> Result<f64> {
    let mut correct = 0usize;
    let all: Vec<usize> = (0..d.len()).collect();
    for chunk in all.chunks(200) {
        let (x, _) = images(d, chunk)?;
        let pred = net.predict(&x)?;
        correct += chunk
            .iter()
            .zip(pred)
            .filter(|(&i, p)| d.labels[i] == *p)
            .count();
    }
    Ok(correct as f64 / d.len().max(1) as f64)
}

/// Trains a network for `genotype` on `data.train` and reports its final-epoch validation
/// and test accuracy. Bit-for-bit deterministic for a given configuration (single thread).
pub fn evaluate(genotype: &Genotype, data: &Split, cfg: &TrainConfig) -> Result<EvalResult> {
    if cfg.channels < 2 || !cfg.channels.is_multiple_of(2) {
        bail!(
            "--channels must be even and at least 2, got {}",
            cfg.channels
        );
    }
    if cfg.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let init = weaknas_harness::rng::stream("digits", cfg.seed, "init");
    let mut order_rng = weaknas_harness::rng::stream("digits", cfg.seed, "minibatches");
    let (mut net, vars) = Network::new(genotype, cfg.channels, CLASSES, ParamInit::new(init))?;
    let params = vars.iter().map(|v| v.elem_count()).sum();
    let mut opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: cfg.weight_decay,
            ..Default::default()
        },
    )?;
    let n = data.train.len();
    let steps_per_epoch = n.div_ceil(cfg.batch_size);
    let total = (steps_per_epoch * cfg.epochs) as f64;
    let mut order: Vec<usize> = (0..n).collect();
    let start = Instant::now();
    let mut step = 0usize;
    for _ in 0..cfg.epochs {
        order.shuffle(&mut order_rng);
        for batch in order.chunks(cfg.batch_size) {
            let lr = 0.5 * cfg.lr * (1.0 + (std::f64::consts::PI * step as f64 / total).cos());
            opt.set_learning_rate(lr);
            let (x, y) = images(&data.train, batch)?;
            let logits = net.forward(&x, true)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
            opt.backward_step(&loss)?;
            step += 1;
        }
    }
    let train_seconds = start.elapsed().as_secs_f64();
    Ok(EvalResult {
        valid_accuracy: accuracy(&mut net, &data.valid)?,
        test_accuracy: accuracy(&mut net, &data.test)?,
        train_seconds,
        params,
        epochs: cfg.epochs,
        seed: cfg.seed,
        genotype: genotype.text.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{split, N_IMAGES};
    use crate::genotype::tests::{DARTS_V2, NASNET_A};
    use rand::SeedableRng;

    fn synthetic_split() -> Split {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        split(&Digits::synthetic(N_IMAGES, &mut rng)).unwrap()
    }

    fn quick(seed: u64) -> TrainConfig {
        TrainConfig {
            seed,
            epochs: 1,
            channels: 4,
            ..Default::default()
        }
    }

    /// Same seed, same genotype: identical results (all but the timing), bit for bit; another
    /// seed changes the trained network. SYNTHETIC data (random pixels and labels).
    #[test]
    fn training_is_deterministic() {
        crate::single_thread();
        let data = synthetic_split();
        for json in [DARTS_V2, NASNET_A] {
            let g = Genotype::from_json(json).unwrap();
            let mut a = evaluate(&g, &data, &quick(5)).unwrap();
            let mut b = evaluate(&g, &data, &quick(5)).unwrap();
            a.train_seconds = 0.0;
            b.train_seconds = 0.0;
            assert_eq!(a.valid_accuracy.to_bits(), b.valid_accuracy.to_bits());
            assert_eq!(a.test_accuracy.to_bits(), b.test_accuracy.to_bits());
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&b).unwrap()
            );
        }
    }

    /// The trained weights themselves are identical for a seed and differ between seeds.
    #[test]
    fn trained_logits_are_reproducible() {
        crate::single_thread();
        let data = synthetic_split();
        let g = Genotype::from_json(DARTS_V2).unwrap();
        let logits = |seed: u64| {
            let cfg = quick(seed);
            let init = weaknas_harness::rng::stream("digits", seed, "init");
            let (mut net, vars) =
                Network::new(&g, cfg.channels, CLASSES, ParamInit::new(init)).unwrap();
            let mut opt = AdamW::new(vars, ParamsAdamW::default()).unwrap();
            let idx: Vec<usize> = (0..64).collect();
            let (x, y) = images(&data.train, &idx).unwrap();
            for _ in 0..3 {
                let loss =
                    candle_nn::loss::cross_entropy(&net.forward(&x, true).unwrap(), &y).unwrap();
                opt.backward_step(&loss).unwrap();
            }
            net.forward(&x, false)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
        assert_eq!(bits(logits(1)), bits(logits(1)));
        assert_ne!(bits(logits(1)), bits(logits(2)));
    }

    #[test]
    fn rejects_bad_settings() {
        let data = synthetic_split();
        let g = Genotype::from_json(DARTS_V2).unwrap();
        let mut cfg = quick(0);
        cfg.channels = 3;
        assert!(evaluate(&g, &data, &cfg)
            .unwrap_err()
            .to_string()
            .contains("even"));
        cfg.channels = 4;
        cfg.epochs = 0;
        assert!(evaluate(&g, &data, &cfg).is_err());
    }
}
