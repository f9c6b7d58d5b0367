//! Random forest regressor (CART trees on bootstrap samples, scikit-learn semantics), written
//! here because no maintained pure-Rust crate exposes the needed knobs: smartcore 0.7's
//! `RandomForestRegressor` always bootstraps (its `bootstrap` flag is private) and fits trees
//! one after another (see the `predictors` benchmark for its speed next to this one).
//!
//! Each tree: a bootstrap sample of `n` rows drawn with replacement (duplicates become
//! weights), or every row once when `bootstrap = false`; best split by weighted squared error
//! over `max_features` features drawn without replacement at every node (more are visited
//! while the drawn ones are constant in the node, as scikit-learn does); thresholds halfway
//! between consecutive distinct values (`x <= t` goes left); stops at `max_depth`, below
//! `min_samples_split` rows, or when no split leaves `min_samples_leaf` rows on each side or
//! the node is pure. Leaves predict the weighted mean; the forest averages its trees.
//!
//! Exact splits in O(features x rows) per tree level: every feature's row order is sorted
//! once per fit and stably partitioned at each split. Tree i uses its own random stream, drawn
//! from the fit's stream before any tree is built, so trees are identical for any `Threads`;
//! trees are built in parallel, and prediction runs on row chunks (trees summed in order).

use super::flat_tree::{self, FlatNode, FlatTree};
use super::kernels;
use super::{Predictor, Threads};
use crate::matrix::MatRef;
use crate::rng::SeedRng;
use anyhow::{bail, Result};
use rand::{Rng, RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

/// A named rule for the number of features tried at each split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureRule {
    /// Every feature (scikit-learn's regressor default, `max_features = 1.0`).
    All,
    /// `floor(sqrt(d))`.
    Sqrt,
    /// `floor(log2(d))`.
    Log2,
}

/// Features tried at each split: a count (`5`), a fraction of the features (`0.5`) or a rule
/// (`"all"`, `"sqrt"`, `"log2"`). Always at least one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MaxFeatures {
    /// An absolute number of features (capped at the number of features).
    Count(usize),
    /// `max(1, floor(f * d))`, `f` in (0, 1].
    Fraction(f64),
    /// A named rule.
    Rule(FeatureRule),
}

impl MaxFeatures {
    /// The number of features tried out of `d`.
    pub fn resolve(&self, d: usize) -> usize {
        let k = match *self {
            MaxFeatures::Count(c) => c,
            MaxFeatures::Fraction(f) => (f * d as f64).floor() as usize,
            MaxFeatures::Rule(FeatureRule::All) => d,
            MaxFeatures::Rule(FeatureRule::Sqrt) => (d as f64).sqrt().floor() as usize,
            MaxFeatures::Rule(FeatureRule::Log2) => (d as f64).log2().floor() as usize,
        };
        k.clamp(1, d.max(1))
    }
}

/// Random forest settings. Defaults: the WeakNAS ablation (1000 trees, `max_depth` 10) with
/// scikit-learn's `RandomForestRegressor` defaults elsewhere.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForestConfig {
    /// Number of trees; default 1000.
    pub n_trees: usize,
    /// Maximum depth (root = 0); 0 = unlimited; default 10.
    pub max_depth: usize,
    /// Features tried per split; default `"all"`.
    pub max_features: MaxFeatures,
    /// Bootstrap sample per tree; default true.
    pub bootstrap: bool,
    /// Minimum rows to split a node; default 2.
    pub min_samples_split: usize,
    /// Minimum rows in each child; default 1.
    pub min_samples_leaf: usize,
}

impl Default for ForestConfig {
    fn default() -> Self {
        Self {
            n_trees: 1000,
            max_depth: 10,
            max_features: MaxFeatures::Rule(FeatureRule::All),
            bootstrap: true,
            min_samples_split: 2,
            min_samples_leaf: 1,
        }
    }
}

impl ForestConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.n_trees == 0 {
            bail!("random-forest: n_trees must be >= 1");
        }
        match self.max_features {
            MaxFeatures::Count(0) => bail!("random-forest: max_features must be >= 1"),
            MaxFeatures::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                bail!("random-forest: a fractional max_features must be in (0, 1], got {f}")
            }
            _ => {}
        }
        if self.min_samples_split < 2 || self.min_samples_leaf < 1 {
            bail!("random-forest: min_samples_split must be >= 2 and min_samples_leaf >= 1");
        }
        Ok(())
    }
}

/// A random forest regressor.
pub struct RandomForest {
    config: ForestConfig,
    threads: Threads,
    trees: Vec<FlatTree>,
    cols: usize,
}

impl RandomForest {
    /// An unfitted model using at most `threads` threads per call.
    pub fn new(config: ForestConfig, threads: Threads) -> Self {
        Self {
            config,
            threads,
            trees: Vec::new(),
            cols: 0,
        }
    }
    /// Number of nodes of each fitted tree.
    pub fn tree_sizes(&self) -> Vec<usize> {
        self.trees.iter().map(|t| t.nodes.len()).collect()
    }
}

/// Shared read-only data of one fit.
struct FitData<'a> {
    x: MatRef<'a>,
    y: &'a [f32],
    /// `order[f * n..(f + 1) * n]`: rows sorted by feature f (ties by row).
    order: Vec<u32>,
    max_features: usize,
}

/// Per-worker buffers.
#[derive(Default)]
struct Scratch {
    weight: Vec<u32>,
    ord: Vec<u32>,
    tmp: Vec<u32>,
    go_left: Vec<bool>,
    features: Vec<usize>,
}

fn build_tree(c: &ForestConfig, fd: &FitData<'_>, seed: [u8; 32], s: &mut Scratch) -> FlatTree {
    let (n, d) = (fd.x.rows, fd.x.cols);
    let x = fd.x.data;
    let mut rng = SeedRng::from_seed(seed);
    s.weight.clear();
    s.weight.resize(n, 0);
    if c.bootstrap {
        for _ in 0..n {
            s.weight[rng.random_range(0..n)] += 1;
        }
    } else {
        s.weight.fill(1);
    }
    let m = s.weight.iter().filter(|&&w| w > 0).count();
    s.ord.clear();
    for f in 0..d {
        let w = &s.weight;
        s.ord.extend(
            fd.order[f * n..(f + 1) * n]
                .iter()
                .copied()
                .filter(|&r| w[r as usize] > 0),
        );
    }
    s.tmp.resize(m, 0);
    s.go_left.resize(n, false);
    s.features.clear();
    s.features.extend(0..d);

    let mut nodes: Vec<FlatNode> = Vec::new();
    let mut value: Vec<f64> = Vec::new();
    let mut max_seen = 0usize;
    // (node id, lo, hi, depth)
    let mut stack = vec![(0u32, 0usize, m, 0usize)];
    nodes.push(FlatNode::leaf(0));
    value.push(0.0);
    while let Some((id, lo, hi, depth)) = stack.pop() {
        max_seen = max_seen.max(depth);
        let rows = &s.ord[lo..hi]; // feature 0's order: any order works for sums
        let (mut sw, mut sy, mut syy) = (0f64, 0f64, 0f64);
        for &r in rows {
            let w = s.weight[r as usize] as f64;
            let v = fd.y[r as usize] as f64;
            sw += w;
            sy += w * v;
            syy += w * v * v;
        }
        value[id as usize] = sy / sw;
        let count = hi - lo;
        let impurity = syy / sw - (sy / sw) * (sy / sw);
        let leaf = (c.max_depth > 0 && depth >= c.max_depth)
            || count < c.min_samples_split
            || count < 2 * c.min_samples_leaf
            || impurity <= f64::EPSILON;
        if leaf {
            continue;
        }
        // Best split: maximise sum_l^2 / w_l + sum_r^2 / w_r.
        let mut best: Option<(usize, usize, f64, f32)> = None; // (feature, n_left, proxy, thr)
        let mut visited = 0usize;
        let mut remaining = d;
        while remaining > 0 && visited < fd.max_features {
            let pick = rng.random_range(0..remaining);
            remaining -= 1;
            s.features.swap(pick, remaining);
            let f = s.features[remaining];
            let o = &s.ord[f * m + lo..f * m + hi];
            let first = x[o[0] as usize * d + f];
            let last = x[o[count - 1] as usize * d + f];
            if first == last {
                continue; // constant here: does not count as visited
            }
            visited += 1;
            let (mut lw, mut ls) = (0f64, 0f64);
            for i in 0..count - 1 {
                let r = o[i] as usize;
                let w = s.weight[r] as f64;
                lw += w;
                ls += w * fd.y[r] as f64;
                let a = x[r * d + f];
                let b = x[o[i + 1] as usize * d + f];
                if a < b && i + 1 >= c.min_samples_leaf && count - i > c.min_samples_leaf {
                    let (rw, rs) = (sw - lw, sy - ls);
                    let proxy = ls * ls / lw + rs * rs / rw;
                    if best.is_none_or(|bb| proxy > bb.2) {
                        let mut t = ((a as f64) / 2.0 + (b as f64) / 2.0) as f32;
                        if t >= b || !t.is_finite() {
                            t = a;
                        }
                        best = Some((f, i + 1, proxy, t));
                    }
                }
            }
        }
        let Some((bf, n_left, _, thr)) = best else {
            continue;
        };
        // Rows going left are the first n_left of feature bf's order.
        {
            let o = &s.ord[bf * m + lo..bf * m + hi];
            for (i, &r) in o.iter().enumerate() {
                s.go_left[r as usize] = i < n_left;
            }
        }
        for g in 0..d {
            if g == bf {
                continue;
            }
            let seg = &mut s.ord[g * m + lo..g * m + hi];
            let (mut li, mut ri) = (0usize, n_left);
            for &r in seg.iter() {
                if s.go_left[r as usize] {
                    s.tmp[li] = r;
                    li += 1;
                } else {
                    s.tmp[ri] = r;
                    ri += 1;
                }
            }
            seg.copy_from_slice(&s.tmp[..count]);
        }
        let left = nodes.len() as u32;
        for _ in 0..2 {
            nodes.push(FlatNode::leaf(nodes.len() as u32));
            value.push(0.0);
        }
        nodes[id as usize] = FlatNode {
            feature: bf as u32,
            thr,
            left,
            right: left + 1,
        };
        stack.push((left + 1, lo + n_left, hi, depth + 1));
        stack.push((left, lo, lo + n_left, depth + 1));
    }
    FlatTree {
        nodes,
        value,
        depth: max_seen,
    }
}

impl Predictor for RandomForest {
    fn fit(&mut self, x: MatRef<'_>, y: &[f32], rng: &mut SeedRng) -> Result<()> {
        self.trees.clear();
        self.cols = 0;
        self.config.validate()?;
        let (n, d) = (x.rows, x.cols);
        if n == 0 || y.len() != n || d == 0 {
            bail!("random-forest: {n}x{d} features but {} targets", y.len());
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            bail!("random-forest: target {i} is not finite ({})", y[i]);
        }
        if let Some(i) = x.data.iter().position(|v| !v.is_finite()) {
            bail!(
                "random-forest: feature at row {}, column {} is not finite",
                i / d,
                i % d
            );
        }
        let mut order = Vec::with_capacity(n * d);
        for f in 0..d {
            let mut o: Vec<u32> = (0..n as u32).collect();
            o.sort_by(|&a, &b| {
                x.data[a as usize * d + f]
                    .total_cmp(&x.data[b as usize * d + f])
                    .then(a.cmp(&b))
            });
            order.extend(o);
        }
        let fd = FitData {
            x,
            y,
            order,
            max_features: self.config.max_features.resolve(d),
        };
        let seeds: Vec<[u8; 32]> = (0..self.config.n_trees)
            .map(|_| {
                let mut s = [0u8; 32];
                rng.fill_bytes(&mut s);
                s
            })
            .collect();
        let c = &self.config;
        self.trees = kernels::map_tasks(
            self.threads.0,
            seeds,
            |_| Scratch::default(),
            |s, seed| build_tree(c, &fd, seed, s),
        );
        self.cols = d;
        Ok(())
    }

    fn predict(&self, x: MatRef<'_>) -> Vec<f32> {
        assert!(
            !self.trees.is_empty(),
            "random-forest: predict called before fit"
        );
        assert_eq!(
            x.cols, self.cols,
            "random-forest: fitted on {} features, got {}",
            self.cols, x.cols
        );
        flat_tree::predict(&self.trees, x, self.threads.0, 0.0, self.trees.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Matrix;
    use crate::predictor::testutil::nb201_like;

    #[test]
    fn unbootstrapped_deep_trees_interpolate_distinct_rows() {
        let (x, y) = nb201_like(21);
        let xs = x.gather(&(0..400).collect::<Vec<u32>>());
        let c = ForestConfig {
            n_trees: 3,
            max_depth: 0,
            bootstrap: false,
            ..ForestConfig::default()
        };
        let mut f = RandomForest::new(c, Threads::ONE);
        f.fit(xs.view(), &y[..400], &mut crate::rng::stream("t", 0, "rf"))
            .unwrap();
        let p = f.predict(xs.view());
        for i in 0..400 {
            assert!((p[i] - y[i]).abs() < 1e-5, "row {i}: {} vs {}", p[i], y[i]);
        }
    }

    #[test]
    fn thresholds_split_continuous_features_halfway() {
        // y = step at x = 0.5; a single stump must put the threshold between 0.4 and 0.6.
        let x = Matrix::from_vec(4, 1, vec![0.2, 0.4, 0.6, 0.8]);
        let y = [1.0f32, 1.0, 3.0, 3.0];
        let c = ForestConfig {
            n_trees: 1,
            max_depth: 1,
            bootstrap: false,
            ..ForestConfig::default()
        };
        let mut f = RandomForest::new(c, Threads::ONE);
        f.fit(x.view(), &y, &mut crate::rng::stream("t", 0, "stump"))
            .unwrap();
        let q = Matrix::from_vec(4, 1, vec![0.49, 0.51, -5.0, 5.0]);
        assert_eq!(f.predict(q.view()), vec![1.0, 3.0, 1.0, 3.0]);
        assert_eq!(f.tree_sizes(), vec![3]);
    }

    #[test]
    fn depth_limit_and_thread_independence() {
        let (x, y) = nb201_like(22);
        let xs = x.gather(&(0..500).collect::<Vec<u32>>());
        let c = ForestConfig {
            n_trees: 40,
            max_depth: 4,
            max_features: MaxFeatures::Rule(FeatureRule::Sqrt),
            ..ForestConfig::default()
        };
        let run = |t: usize| {
            let mut f = RandomForest::new(c.clone(), Threads(t));
            f.fit(xs.view(), &y[..500], &mut crate::rng::stream("t", 0, "rf2"))
                .unwrap();
            assert!(f.trees.iter().all(|t| t.depth <= 4 && t.nodes.len() < 32));
            f.predict(x.view())
        };
        let a = run(1);
        let b = run(2);
        assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
    }

    #[test]
    fn max_features_resolution() {
        assert_eq!(MaxFeatures::Rule(FeatureRule::All).resolve(30), 30);
        assert_eq!(MaxFeatures::Rule(FeatureRule::Log2).resolve(30), 4);
        assert_eq!(MaxFeatures::Fraction(0.5).resolve(45), 22);
        assert_eq!(MaxFeatures::Fraction(0.01).resolve(45), 1);
        assert_eq!(MaxFeatures::Count(100).resolve(45), 45);
    }
}
