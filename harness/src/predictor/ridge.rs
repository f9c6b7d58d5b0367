//! Ridge regression in closed form (normal equations, Cholesky), with an unpenalised intercept.

use super::Predictor;
use crate::matrix::MatRef;
use crate::rng::SeedRng;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Ridge settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RidgeConfig {
    /// L2 penalty on the weights (not the intercept).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
}

fn default_alpha() -> f64 {
    1.0
}

impl Default for RidgeConfig {
    fn default() -> Self {
        Self {
            alpha: default_alpha(),
        }
    }
}

/// A fitted (or unfitted) ridge model.
pub struct Ridge {
    config: RidgeConfig,
    w: Vec<f64>,
    b: f64,
}

impl Ridge {
    /// An unfitted model.
    pub fn new(config: RidgeConfig) -> Self {
        Self {
            config,
            w: Vec::new(),
            b: 0.0,
        }
    }
}

impl Predictor for Ridge {
    fn fit(&mut self, x: MatRef<'_>, y: &[f32], _rng: &mut SeedRng) -> Result<()> {
        let (n, d) = (x.rows, x.cols);
        if n == 0 || y.len() != n {
            bail!("ridge: {} rows but {} targets", n, y.len());
        }
        let xm: Vec<f64> = (0..d)
            .map(|j| (0..n).map(|i| x.row(i)[j] as f64).sum::<f64>() / n as f64)
            .collect();
        let ym = y.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let mut a = vec![0f64; d * d];
        let mut rhs = vec![0f64; d];
        for (i, &yi) in y.iter().enumerate() {
            let r = x.row(i);
            let yc = yi as f64 - ym;
            for j in 0..d {
                let xj = r[j] as f64 - xm[j];
                rhs[j] += xj * yc;
                for k in 0..=j {
                    a[j * d + k] += xj * (r[k] as f64 - xm[k]);
                }
            }
        }
        for j in 0..d {
            a[j * d + j] += self.config.alpha.max(1e-12);
        }
        // Cholesky (lower) in place.
        for j in 0..d {
            let mut s = a[j * d + j];
            for k in 0..j {
                s -= a[j * d + k] * a[j * d + k];
            }
            if s <= 0.0 {
                bail!("ridge: matrix not positive definite (alpha too small?)");
            }
            let l = s.sqrt();
            a[j * d + j] = l;
            for i in j + 1..d {
                let mut s = a[i * d + j];
                for k in 0..j {
                    s -= a[i * d + k] * a[j * d + k];
                }
                a[i * d + j] = s / l;
            }
        }
        let mut z = rhs;
        for i in 0..d {
            for k in 0..i {
                z[i] -= a[i * d + k] * z[k];
            }
            z[i] /= a[i * d + i];
        }
        for i in (0..d).rev() {
            for k in i + 1..d {
                z[i] -= a[k * d + i] * z[k];
            }
            z[i] /= a[i * d + i];
        }
        self.b = ym - z.iter().zip(&xm).map(|(w, m)| w * m).sum::<f64>();
        self.w = z;
        Ok(())
    }

    fn predict(&self, x: MatRef<'_>) -> Vec<f32> {
        (0..x.rows)
            .map(|i| {
                (self.b
                    + x.row(i)
                        .iter()
                        .zip(&self.w)
                        .map(|(&a, w)| a as f64 * w)
                        .sum::<f64>()) as f32
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Matrix;

    #[test]
    fn recovers_a_linear_function() {
        let n = 200;
        let mut rng = crate::rng::stream("t", 0, "x");
        use rand::Rng;
        let x = Matrix::from_vec(n, 3, (0..n * 3).map(|_| rng.random::<f32>()).collect());
        let y: Vec<f32> = (0..n)
            .map(|i| 2.0 * x.row(i)[0] - x.row(i)[1] + 0.5 * x.row(i)[2] + 3.0)
            .collect();
        let mut r = Ridge::new(RidgeConfig { alpha: 1e-6 });
        r.fit(x.view(), &y, &mut rng).unwrap();
        for (p, t) in r.predict(x.view()).iter().zip(&y) {
            assert!((p - t).abs() < 1e-3, "{p} vs {t}");
        }
    }
}
