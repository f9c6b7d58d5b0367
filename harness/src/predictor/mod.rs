//! Predictors: models fitted on (encoding, search metric) pairs that rank a whole space.
//!
//! [`Predictor`] is the trait every model implements; [`PredictorConfig`] is the TOML-facing
//! description (tagged by `type`) that builds one. [`Ensemble`] wraps k models with different
//! random streams and gives the mean and population std of their predictions.
//!
//! Models: [`mlp::Mlp`] (scikit-learn `MLPRegressor` semantics, f32, on `gemm`; the default,
//! 4 x 1000 as in the paper), [`gbdt::Gbdt`] (XGBoost-style boosting on `forust-ml`),
//! [`forest::RandomForest`] (CART forest, written here) and [`ridge::Ridge`].
//!
//! Thread policy: a predictor uses at most [`Threads`] threads inside `fit`/`predict`. The
//! runner gives a predictor all cores when one run executes alone and one thread each when
//! runs execute in parallel, so the machine is never oversubscribed. With `Threads(1)` a
//! predictor never touches rayon (safe inside many parallel rayon jobs) and every `gemm` call
//! is single-threaded; with `Threads(n)`, n > 1, it runs at most n tasks at a time on the
//! current rayon pool (GBDT fitting: on a private n-thread pool that `forust-ml` builds per
//! fit). Every model gives bit-identical fits and predictions for any `Threads` value: work
//! is split into pieces whose size never depends on n, and every reduction has a fixed order.
//! The MLP's last bits do depend on the `gemm` kernel family ([`kernel_name`]), which the
//! runner records. The `predictors` benchmark shows both modes (`alone` vs
//! `2 runs x Threads(1)`).

pub mod bf16;
mod flat_tree;
pub mod forest;
pub mod gbdt;
mod kernels;
pub mod mlp;
pub mod ridge;

pub use kernels::kernel_name;

thread_local! {
    static KERNELS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Notes that a predictor fitted on this thread ran the GEMM kernel `label` (see
/// [`take_kernels`]).
pub(crate) fn record_kernel(label: String) {
    KERNELS.with(|k| {
        let mut k = k.borrow_mut();
        if !k.contains(&label) {
            k.push(label);
        }
    });
}

/// The GEMM kernels (precision and instruction family) that predictors fitted on this thread
/// ran since the last call, joined with `"; "` (empty when none), and forgets them. The
/// runner calls it around each run, whose searcher fits its predictors on the run's thread.
pub fn take_kernels() -> String {
    KERNELS.with(|k| std::mem::take(&mut *k.borrow_mut()).join("; "))
}

/// The GEMM kernels noted on this thread so far, joined like [`take_kernels`], without
/// forgetting them (a run's checkpoint saves them).
pub(crate) fn peek_kernels() -> String {
    KERNELS.with(|k| k.borrow().join("; "))
}

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
    /// Multi-layer perceptron with scikit-learn `MLPRegressor` semantics (`type = "mlp"`).
    Mlp(mlp::MlpConfig),
    /// Gradient-boosted regression trees (`type = "gbdt"`).
    Gbdt(gbdt::GbdtConfig),
    /// Random forest regressor (`type = "random-forest"`).
    RandomForest(forest::ForestConfig),
    /// Ridge regression (closed form, `type = "ridge"`).
    Ridge(ridge::RidgeConfig),
}

/// The paper's predictor: MLP 4 x 1000, 100 epochs, scikit-learn defaults otherwise.
impl Default for PredictorConfig {
    fn default() -> Self {
        PredictorConfig::Mlp(mlp::MlpConfig::default())
    }
}

impl PredictorConfig {
    /// Builds a fresh, unfitted predictor that uses at most `threads` threads per call.
    pub fn build(&self, threads: Threads) -> Box<dyn Predictor> {
        let threads = Threads(threads.0.max(1));
        match self {
            PredictorConfig::Mlp(c) => Box::new(mlp::Mlp::new(c.clone(), threads)),
            PredictorConfig::Gbdt(c) => Box::new(gbdt::Gbdt::new(c.clone(), threads)),
            PredictorConfig::RandomForest(c) => {
                Box::new(forest::RandomForest::new(c.clone(), threads))
            }
            PredictorConfig::Ridge(c) => Box::new(ridge::Ridge::new(c.clone())),
        }
    }
    /// Checks the values (e.g. positive MLP widths, at least one tree), so a method can refuse
    /// a bad predictor when it is built, before any run of an invocation starts, rather than
    /// at its first fit.
    pub fn validate(&self) -> anyhow::Result<()> {
        match self {
            PredictorConfig::Mlp(c) => c.validate(),
            PredictorConfig::Gbdt(c) => c.validate(),
            PredictorConfig::RandomForest(c) => c.validate(),
            PredictorConfig::Ridge(c) if !(c.alpha >= 0.0 && c.alpha.is_finite()) => {
                anyhow::bail!("ridge: alpha must be finite and >= 0, got {}", c.alpha)
            }
            PredictorConfig::Ridge(_) => Ok(()),
        }
    }
    /// Short label for tables, e.g. `mlp-4x1000`, `gbdt-d20-r1000`, `rf-1000x10`, `ridge`.
    pub fn label(&self) -> String {
        match self {
            PredictorConfig::Mlp(c) => {
                let h = &c.hidden;
                if h.is_empty() {
                    "mlp-linear".into()
                } else if h.iter().all(|&w| w == h[0]) {
                    format!("mlp-{}x{}", h.len(), h[0])
                } else {
                    let w: Vec<String> = h.iter().map(|w| w.to_string()).collect();
                    format!("mlp-{}", w.join("-"))
                }
            }
            PredictorConfig::Gbdt(c) => format!("gbdt-d{}-r{}", c.max_depth, c.n_rounds),
            PredictorConfig::RandomForest(c) => format!("rf-{}x{}", c.n_trees, c.max_depth),
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

/// Synthetic data for the predictor tests (named synthetic: not benchmark data).
#[cfg(test)]
pub(crate) mod testutil {
    use crate::matrix::Matrix;
    use crate::rng::SeedRng;
    use rand::seq::SliceRandom;
    use rand::Rng;

    /// All 15,625 NB201-shaped cells (6 edges x one-hot of 5 ops, feature `edge * 5 + op`) with
    /// a synthetic target: random per-(edge, op) effects, a quadratic term in the number of
    /// 3x3 convolutions, a penalty when edges 0 and 3 are both `none`, and small noise.
    pub fn nb201_like(seed: u64) -> (Matrix, Vec<f32>) {
        let mut rng = crate::rng::stream("synthetic-nb201", seed, "target");
        let effect: Vec<f64> = (0..30).map(|_| rng.random::<f64>()).collect();
        let mut x = Matrix::zeros(15_625, 30);
        let mut y = Vec::with_capacity(15_625);
        for c in 0..15_625usize {
            let mut code = c;
            let mut t = 0.0;
            let mut conv3 = 0;
            let mut ops = [0usize; 6];
            for (e, op) in ops.iter_mut().enumerate() {
                *op = code % 5;
                code /= 5;
                x.data[c * 30 + e * 5 + *op] = 1.0;
                t += effect[e * 5 + *op];
                conv3 += (*op == 3) as i32;
            }
            t += 0.15 * (conv3 * conv3) as f64;
            if ops[0] == 0 && ops[3] == 0 {
                t -= 1.5;
            }
            t += 0.05 * (rng.random::<f64>() - 0.5);
            y.push(t as f32);
        }
        (x, y)
    }

    /// Disjoint random train / test cell indices.
    pub fn split(n: usize, train: usize, test: usize, rng: &mut SeedRng) -> (Vec<u32>, Vec<u32>) {
        let mut idx: Vec<u32> = (0..n as u32).collect();
        idx.shuffle(rng);
        (idx[..train].to_vec(), idx[train..train + test].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_mlp_from_toml_and_default() {
        let c: PredictorConfig =
            toml::from_str("type = \"mlp\"\nhidden = [1000, 1000, 1000, 1000]\nmax_iter = 100\n")
                .unwrap();
        assert_eq!(c, PredictorConfig::default());
        assert_eq!(c.label(), "mlp-4x1000");
        let inline: toml::Table =
            toml::from_str("p = {type = \"mlp\", hidden = [1000,1000,1000,1000], max_iter = 100}")
                .unwrap();
        let p: PredictorConfig = inline["p"].clone().try_into().unwrap();
        assert_eq!(p, c);
    }

    #[test]
    fn every_variant_round_trips_through_toml() {
        let configs = [
            PredictorConfig::default(),
            PredictorConfig::Mlp(mlp::MlpConfig {
                hidden: vec![64, 32],
                batch_size: Some(50),
                shuffle: false,
                ..mlp::MlpConfig::default()
            }),
            PredictorConfig::Gbdt(gbdt::GbdtConfig {
                subsample: 0.8,
                ..gbdt::GbdtConfig::default()
            }),
            PredictorConfig::RandomForest(forest::ForestConfig::default()),
            PredictorConfig::RandomForest(forest::ForestConfig {
                max_features: forest::MaxFeatures::Fraction(0.5),
                ..forest::ForestConfig::default()
            }),
            PredictorConfig::RandomForest(forest::ForestConfig {
                max_features: forest::MaxFeatures::Count(7),
                bootstrap: false,
                ..forest::ForestConfig::default()
            }),
            PredictorConfig::Ridge(ridge::RidgeConfig { alpha: 0.5 }),
        ];
        for c in configs {
            let s = toml::to_string(&c).unwrap();
            let back: PredictorConfig = toml::from_str(&s).unwrap();
            assert_eq!(back, c, "{s}");
        }
        let rf: PredictorConfig =
            toml::from_str("type = \"random-forest\"\nmax_features = \"sqrt\"").unwrap();
        let PredictorConfig::RandomForest(f) = &rf else {
            panic!()
        };
        assert_eq!(f.max_features.resolve(45), 6);
        assert_eq!(rf.label(), "rf-1000x10");
        let g: PredictorConfig = toml::from_str("type = \"gbdt\"").unwrap();
        assert_eq!(g.label(), "gbdt-d20-r1000");
    }

    #[test]
    fn unknown_fields_and_types_are_errors() {
        for bad in [
            "type = \"mlp\"\nhiden = [10]",
            "type = \"gbdt\"\nmax_dept = 3",
            "type = \"random-forest\"\nn_tree = 3",
            "type = \"ridge\"\nalpah = 1.0",
            "type = \"svm\"",
        ] {
            let e = toml::from_str::<PredictorConfig>(bad);
            assert!(e.is_err(), "accepted {bad}");
        }
        let e = toml::from_str::<PredictorConfig>("type = \"mlp\"\nhiden = [10]").unwrap_err();
        assert!(e.to_string().contains("hiden"), "{e}");
    }

    #[test]
    fn every_predictor_ranks_the_synthetic_space() {
        let (x, y) = testutil::nb201_like(9);
        let mut rng = crate::rng::stream("mod-test", 0, "split");
        let (tr, te) = testutil::split(15_625, 500, 3_000, &mut rng);
        let xtr = x.gather(&tr);
        let ytr: Vec<f32> = tr.iter().map(|&i| y[i as usize]).collect();
        let xte = x.gather(&te);
        let yte: Vec<f64> = te.iter().map(|&i| y[i as usize] as f64).collect();
        let configs = [
            PredictorConfig::Mlp(mlp::MlpConfig {
                hidden: vec![64, 64],
                ..mlp::MlpConfig::default()
            }),
            PredictorConfig::Gbdt(gbdt::GbdtConfig {
                n_rounds: 200,
                max_depth: 6,
                learning_rate: 0.1,
                ..gbdt::GbdtConfig::default()
            }),
            PredictorConfig::RandomForest(forest::ForestConfig {
                n_trees: 100,
                ..forest::ForestConfig::default()
            }),
            PredictorConfig::Ridge(ridge::RidgeConfig::default()),
        ];
        for c in configs {
            let mut p = c.build(Threads::ONE);
            p.fit(xtr.view(), &ytr, &mut rng).unwrap();
            let pred: Vec<f64> = p.predict(xte.view()).iter().map(|&v| v as f64).collect();
            let tau = crate::diagnostics::kendall_tau_b(&pred, &yte);
            assert!(tau > 0.6, "{}: held-out tau {tau}", c.label());
        }
    }

    #[test]
    fn ensemble_mean_and_std() {
        let (x, y) = testutil::nb201_like(5);
        let xs = x.gather(&(0..200).collect::<Vec<u32>>());
        let c = PredictorConfig::Mlp(mlp::MlpConfig {
            hidden: vec![16],
            max_iter: 5,
            ..mlp::MlpConfig::default()
        });
        let mut e = Ensemble::new(&c, 3, Threads::ONE);
        e.fit(xs.view(), &y[..200], &mut crate::rng::stream("t", 0, "ens"))
            .unwrap();
        let (mean, std) = e.predict_mean_std(xs.view());
        assert_eq!(mean.len(), 200);
        assert!(std.iter().all(|s| s.is_finite() && *s >= 0.0));
        assert!(std.iter().any(|s| *s > 0.0), "members must differ");
    }
}
