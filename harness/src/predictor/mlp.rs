//! Multi-layer perceptron with the training semantics of scikit-learn's `MLPRegressor`
//! (solver `adam`, activation `relu`, no validation-based early stopping), in f32.
//!
//! Per batch of `b` rows: forward pass `a_{l+1} = relu(a_l W_l + b_l)` (identity output);
//! loss `mean((p - y)^2) / 2 + alpha / (2 b) * sum_l |W_l|^2`; output delta `p - y`;
//! gradients `(a_l^T delta + alpha W_l) / b` and `sum(delta) / b`; ReLU derivative
//! `delta[a == 0] = 0`; Adam with `lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)` and update
//! `w += -lr_t m / (sqrt(v) + eps)`. Batches are `min(200, n)` rows (or `batch_size` clipped to
//! `[1, n]`) taken in order from a permutation reshuffled every epoch. The epoch loss is
//! `sum(batch_loss * batch_rows) / n`; training stops after `max_iter` epochs or as soon as the
//! epoch loss has failed to fall below `best - tol` on more than `n_iter_no_change`
//! consecutive epochs. Weights and biases start uniform in `±sqrt(6 / (fan_in + fan_out))`
//! (Glorot), drawn layer by layer, weights (row-major `fan_in x fan_out`) before biases.
//!
//! Speed: every product is a single-threaded `gemm` call (AVX-512 when present) on a fixed
//! block of the work, and up to `Threads` workers take blocks. In `fit`, the forward products
//! are cut into column blocks of 128 with bias + ReLU applied while each block is in cache;
//! backward, one task per block of 128 rows of `W` computes that block's columns of the
//! back-propagated delta (before the rows change), the block's weight gradient into a
//! per-worker buffer, and its Adam update, so the gradient never goes to memory and the rows
//! are read from cache twice. `predict` runs chunks of [`PREDICT_CHUNK`] rows, each in column
//! blocks with bias + ReLU fused (one chunk: its blocks spread over the workers). Block and
//! chunk sizes never depend on the thread count and every reduction has a fixed order, so
//! results are bit-identical for any [`Threads`]; with `Threads(1)` nothing touches rayon.
//!
//! bf16 ([`Precision`]): the weights live in two packed bf16 copies, the forward product's
//! right operand and (after the first layer) the back-propagation's left operand, both
//! rewritten from the f32 master rows inside each Adam task. Each hidden layer's finished
//! 32 x 32 output blocks are biased and activated in L1 and written, in one pass, to the f32
//! activations (the ReLU derivative's mask), to the next layer's packed input and, transposed,
//! to the next layer's weight-gradient operand; prediction writes only the packed input. The
//! back-propagated delta is computed transposed, `W delta^T`, from the weights' packed rows,
//! and stored back transposed through the mask, so no transposed copy of `W` is ever made.

use super::bf16::{self, Bf16Kernel, PackedA, PackedB};
use super::kernels::{self, AdamStep, ColumnBlocks, Epilogue, Operand};
use super::{Predictor, Threads};
use crate::matrix::MatRef;
use crate::rng::SeedRng;
use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Rows per prediction chunk (fixed: it never depends on the thread count). With column
/// blocks of 128, a 2048-row chunk keeps each block's output (1 MiB) in L2; measured faster
/// than 1024, 4096 and 8192 rows.
pub const PREDICT_CHUNK: usize = 2048;

/// MLP settings; names and defaults follow scikit-learn's `MLPRegressor` except `max_iter`
/// (100, the WeakNAS setting; scikit-learn's default is 200).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlpConfig {
    /// Hidden layer widths (`hidden_layer_sizes`); default `[1000, 1000, 1000, 1000]`.
    pub hidden: Vec<usize>,
    /// L2 penalty (`alpha`); default 1e-4.
    pub alpha: f64,
    /// Mini-batch size; absent = scikit-learn's `"auto"`, i.e. `min(200, n)`. A given value
    /// is clipped to `[1, n]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Adam step size (`learning_rate_init`); default 1e-3.
    pub learning_rate_init: f64,
    /// Adam `beta_1`; default 0.9.
    pub beta_1: f64,
    /// Adam `beta_2`; default 0.999.
    pub beta_2: f64,
    /// Adam `epsilon`; default 1e-8.
    pub epsilon: f64,
    /// Maximum number of epochs (`max_iter`); default 100; 0 only initialises the weights.
    pub max_iter: usize,
    /// Minimum loss improvement (`tol`); default 1e-4.
    pub tol: f64,
    /// Epochs without improvement tolerated before stopping (`n_iter_no_change`); default 10.
    pub n_iter_no_change: usize,
    /// Reshuffle the samples every epoch (`shuffle`); default true.
    pub shuffle: bool,
    /// Arithmetic of the GEMMs (`"f32"`, the default, or `"bf16"`; see [`Precision`]).
    #[serde(skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

/// Arithmetic of the MLP's GEMMs. With bf16 the weights stay f32 for Adam (master copy),
/// bf16 copies of weights, activations and deltas feed the forward and backward products,
/// which accumulate in f32; biases, activations, losses and updates are f32. Prediction uses
/// the same bf16 products.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// f32 everywhere (scikit-learn's float32 arithmetic; the reproduction setting).
    #[default]
    F32,
    /// bf16 products on the fastest kernel present (AMX, then AVX512_BF16); f32, with one
    /// warning in the log, where the CPU has neither.
    Bf16,
    /// bf16 on AMX tiles only (an error where absent; for benchmarks and tests).
    Bf16Amx,
    /// bf16 on AVX512_BF16 only (an error where absent; for benchmarks and tests).
    Bf16Avx512,
}

impl Precision {
    fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
    /// Errors when a forced kernel is absent on this machine.
    pub fn validate(self) -> Result<()> {
        for (p, k, name) in [
            (Precision::Bf16Amx, Bf16Kernel::Amx, "bf16-amx"),
            (Precision::Bf16Avx512, Bf16Kernel::Avx512Bf16, "bf16-avx512"),
        ] {
            if self == p && !k.available() {
                bail!(
                    "mlp: precision = \"{name}\" needs {}, which this machine lacks; use \
                     precision = \"bf16\" (falls back to f32) or \"f32\"",
                    k.name()
                );
            }
        }
        Ok(())
    }
    /// The bf16 kernel this precision runs on this machine (`None`: f32).
    pub fn kernel(self) -> Option<Bf16Kernel> {
        match self {
            Precision::F32 => None,
            Precision::Bf16Amx => Some(Bf16Kernel::Amx),
            Precision::Bf16Avx512 => Some(Bf16Kernel::Avx512Bf16),
            Precision::Bf16 => {
                let k = Bf16Kernel::best();
                if k.is_none() {
                    static ONCE: std::sync::Once = std::sync::Once::new();
                    ONCE.call_once(|| {
                        tracing::warn!(
                            "mlp: precision = \"bf16\" requested but this CPU has neither AMX nor \
                             AVX512_BF16; the MLP runs in f32"
                        )
                    });
                }
                k
            }
        }
    }
    /// The label of the arithmetic and kernel this precision runs here (recorded with runs).
    pub fn kernel_label(self) -> String {
        match self.kernel() {
            Some(k) => k.name().to_string(),
            None if self == Precision::F32 => super::kernel_name().to_string(),
            None => format!("{} (bf16 unavailable)", super::kernel_name()),
        }
    }
}

impl Default for MlpConfig {
    fn default() -> Self {
        Self {
            hidden: vec![1000; 4],
            alpha: 1e-4,
            batch_size: None,
            learning_rate_init: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            max_iter: 100,
            tol: 1e-4,
            n_iter_no_change: 10,
            shuffle: true,
            precision: Precision::F32,
        }
    }
}

impl MlpConfig {
    /// The batch size used for `n` training rows.
    pub fn effective_batch(&self, n: usize) -> usize {
        match self.batch_size {
            None => n.min(200),
            Some(b) => b.clamp(1, n.max(1)),
        }
    }
    /// Checks the values (positive widths, finite non-negative rates, betas in [0, 1)).
    pub fn validate(&self) -> Result<()> {
        if self.hidden.contains(&0) {
            bail!(
                "mlp: hidden layer widths must be positive, got {:?}",
                self.hidden
            );
        }
        if !(self.alpha >= 0.0 && self.alpha.is_finite()) {
            bail!("mlp: alpha must be finite and >= 0, got {}", self.alpha);
        }
        if !(self.learning_rate_init > 0.0 && self.learning_rate_init.is_finite()) {
            bail!(
                "mlp: learning_rate_init must be > 0, got {}",
                self.learning_rate_init
            );
        }
        for (name, b) in [("beta_1", self.beta_1), ("beta_2", self.beta_2)] {
            if !(0.0..1.0).contains(&b) {
                bail!("mlp: {name} must be in [0, 1), got {b}");
            }
        }
        if self.epsilon.is_nan() || self.epsilon <= 0.0 {
            bail!("mlp: epsilon must be > 0, got {}", self.epsilon);
        }
        if self.batch_size == Some(0) {
            bail!("mlp: batch_size must be >= 1");
        }
        if self.tol.is_nan() || self.tol < 0.0 {
            bail!("mlp: tol must be >= 0, got {}", self.tol);
        }
        self.precision.validate()
    }
    /// Multiply-adds of one forward pass of one row with `inputs` features.
    pub fn forward_macs_per_row(&self, inputs: usize) -> u64 {
        let mut units = vec![inputs];
        units.extend(&self.hidden);
        units.push(1);
        units.windows(2).map(|w| (w[0] * w[1]) as u64).sum()
    }
    /// Multiply-adds of one training step on one row (forward, weight gradients and the
    /// back-propagated deltas, which skip the input layer).
    pub fn train_macs_per_row(&self, inputs: usize) -> u64 {
        let f = self.forward_macs_per_row(inputs);
        3 * f - (inputs * self.hidden.first().copied().unwrap_or(1)) as u64
    }
}

#[derive(Clone, Debug)]
struct Layer {
    fan_in: usize,
    fan_out: usize,
    /// Row-major `fan_in x fan_out`.
    w: Vec<f32>,
    b: Vec<f32>,
}

/// A scikit-learn-equivalent MLP regressor (see the module docs).
pub struct Mlp {
    config: MlpConfig,
    threads: Threads,
    layers: Vec<Layer>,
    /// With a bf16 kernel: each layer's weights in bf16, packed as the right operand of the
    /// forward product (kept in step with the f32 weights during the fit).
    packed: Vec<Vec<u16>>,
    /// The bf16 kernel of the last fit (`None`: f32).
    kernel: Option<Bf16Kernel>,
    loss_curve: Vec<f64>,
    steps: u64,
}

/// Per-call buffers of the forward pass: two f32 activation buffers (f32) or two packed bf16
/// ones (bf16: each layer's output goes straight into the next layer's packed operand).
#[derive(Default)]
struct Scratch {
    f: [Vec<f32>; 2],
    a: [Vec<u16>; 2],
}

/// `dst[rows x fan_out] = act(src[rows x fan_in] W + b)` in f32 (ReLU unless `last`).
fn layer_forward(
    layer: &Layer,
    last: bool,
    src: &[f32],
    dst: &mut [f32],
    rows: usize,
    threads: usize,
) {
    let (fi, fo) = (layer.fan_in, layer.fan_out);
    kernels::matmul_blocked(
        dst,
        rows,
        fo,
        fi,
        Operand::row_major(src, fi),
        Operand::row_major(&layer.w, fo),
        Epilogue::BiasAct(&layer.b, !last),
        threads,
    )
}

impl Mlp {
    /// An unfitted model using at most `threads` threads per call.
    pub fn new(config: MlpConfig, threads: Threads) -> Self {
        Self {
            config,
            threads,
            layers: Vec::new(),
            packed: Vec::new(),
            kernel: None,
            loss_curve: Vec::new(),
            steps: 0,
        }
    }
    /// The bf16 kernel the last fit ran on (`None`: f32).
    pub fn bf16_kernel(&self) -> Option<Bf16Kernel> {
        self.kernel
    }
    /// Adam steps (mini-batches) run by the last fit (scikit-learn's `_optimizer.t`).
    pub fn n_steps(&self) -> u64 {
        self.steps
    }
    /// The configuration.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }
    /// Epoch losses of the last fit (scikit-learn's `loss_curve_`).
    pub fn loss_curve(&self) -> &[f64] {
        &self.loss_curve
    }
    /// Epochs run by the last fit (scikit-learn's `n_iter_`).
    pub fn n_iter(&self) -> usize {
        self.loss_curve.len()
    }
    /// Weights (row-major `fan_in x fan_out`) and biases of each layer, input layer first.
    pub fn parameters(&self) -> Vec<(&[f32], &[f32])> {
        self.layers
            .iter()
            .map(|l| (l.w.as_slice(), l.b.as_slice()))
            .collect()
    }

    fn init_layers(&mut self, inputs: usize, rng: &mut SeedRng) {
        let mut units = vec![inputs];
        units.extend(&self.config.hidden);
        units.push(1);
        self.layers = units
            .windows(2)
            .map(|u| {
                let (fan_in, fan_out) = (u[0], u[1]);
                let bound = (6.0f64 / (fan_in + fan_out) as f64).sqrt();
                let mut draw = || (-bound + 2.0 * bound * rng.random::<f64>()) as f32;
                let w = (0..fan_in * fan_out).map(|_| draw()).collect();
                let b = (0..fan_out).map(|_| draw()).collect();
                Layer {
                    fan_in,
                    fan_out,
                    w,
                    b,
                }
            })
            .collect();
    }

    /// Forward pass of `rows` rows of `input` (row-major, `fan_in` of layer 0 columns) into
    /// `out` using two scratch buffers.
    fn forward_chunk(
        &self,
        input: &[f32],
        rows: usize,
        out: &mut [f32],
        scratch: &mut Scratch,
        threads: usize,
    ) {
        let nl = self.layers.len();
        if let Some(kernel) = self.kernel {
            let io = ForwardIo::Predict { input, out };
            return self.forward_bf16(kernel, io, rows, &mut scratch.a, threads);
        }
        let Scratch { f: [s0, s1], .. } = scratch;
        let (mut cur, mut next): (&mut Vec<f32>, &mut Vec<f32>) = (s0, s1);
        for (l, layer) in self.layers.iter().enumerate() {
            let need = rows * layer.fan_out;
            let src: &[f32] = if l == 0 {
                input
            } else {
                &cur[..rows * layer.fan_in]
            };
            let dst: &mut [f32] = if l + 1 == nl {
                &mut out[..need]
            } else {
                if next.len() < need {
                    next.resize(need, 0.0);
                }
                &mut next[..need]
            };
            layer_forward(layer, l + 1 == nl, src, dst, rows, threads);
            std::mem::swap(&mut cur, &mut next);
        }
    }

    /// The bf16 forward pass of `rows` rows: the input is packed once, then every hidden
    /// layer's finished blocks are biased, activated and rounded into the next layer's packed
    /// operand (`pa`, two buffers used in turn) while in L1 (the same numbers as packing an
    /// f32 output, bit for bit), and written wherever `io` asks besides; the output layer
    /// writes f32 through its bias epilogue.
    fn forward_bf16(
        &self,
        kernel: Bf16Kernel,
        mut io: ForwardIo<'_>,
        rows: usize,
        pa: &mut [Vec<u16>; 2],
        threads: usize,
    ) {
        let nl = self.layers.len();
        let d = self.layers[0].fan_in;
        let [p0, p1] = pa;
        let (mut cur, mut next) = (p0, p1);
        match &mut io {
            ForwardIo::Predict { input, .. } => {
                bf16::pack_a(Operand::row_major(input, d), rows, d, cur);
            }
            ForwardIo::Train { acts, pats } => {
                let x = &acts[0][..rows * d];
                bf16::pack_a(Operand::row_major(x, d), rows, d, cur);
                bf16::pack_a(Operand::transposed(x, d), d, rows, &mut pats[0]);
            }
        }
        for (l, layer) in self.layers.iter().enumerate() {
            let fo = layer.fan_out;
            let (a, w) = self.bf16_operands(l, cur, rows);
            if l + 1 == nl {
                let out = match io {
                    ForwardIo::Predict { out, .. } => &mut out[..rows * fo],
                    ForwardIo::Train { acts, .. } => &mut acts[l + 1][..rows * fo],
                };
                let epi = Epilogue::BiasAct(&layer.b, false);
                kernels::matmul_blocked_bf16(out, rows, fo, kernel, a, w, epi, threads);
                return;
            }
            let (orows, okp) = bf16::a_shape(rows, fo);
            next.resize(orows * okp, 0);
            // Training: the f32 activations (the ReLU derivative's mask) and, transposed,
            // the next layer's weight-gradient operand.
            let (f32_out, packed_t) = match &mut io {
                ForwardIo::Predict { .. } => (None, None),
                ForwardIo::Train { acts, pats } => {
                    let (trows, tkp) = bf16::a_shape(fo, rows);
                    let pat = &mut pats[l + 1];
                    pat.resize(trows * tkp, 0);
                    let out = &mut acts[l + 1][..rows * fo];
                    (
                        Some((bf16::SharedMut(out.as_mut_ptr()), fo)),
                        Some(bf16::SharedMut(pat.as_mut_ptr())),
                    )
                }
            };
            let fused = bf16::FusedOut {
                bias: &layer.b,
                relu: true,
                f32_out,
                packed: Some(bf16::SharedMut(next.as_mut_ptr())),
                packed_t,
            };
            // SAFETY: `next` holds the packed rows x fo output and, when training, the
            // activations and `pats[l + 1]` the f32 and packed transposed ones; the kernel was
            // checked by `Precision::kernel`.
            unsafe { kernels::matmul_blocked_bf16_fused(rows, fo, kernel, a, w, fused, threads) };
            std::mem::swap(&mut cur, &mut next);
        }
    }

    /// Layer `l`'s bf16 operands: its packed input `input` of `rows` rows and its packed
    /// weights.
    fn bf16_operands<'a>(
        &'a self,
        l: usize,
        input: &'a [u16],
        rows: usize,
    ) -> (PackedA<'a>, PackedB<'a>) {
        let (fi, fo) = (self.layers[l].fan_in, self.layers[l].fan_out);
        let (rp, kp) = bf16::a_shape(rows, fi);
        let (bkp, np) = bf16::b_shape(fi, fo);
        (
            PackedA {
                data: input,
                rows: rp,
                kp,
            },
            PackedB {
                data: &self.packed[l],
                kp: bkp,
                np,
            },
        )
    }
}

/// Where the bf16 forward pass reads its input and writes its outputs, besides each hidden
/// layer's packed output (the next layer's input).
enum ForwardIo<'a> {
    /// Prediction: `input` (row-major) in, the output layer's values to `out`.
    Predict {
        input: &'a [f32],
        out: &'a mut [f32],
    },
    /// Training: the batch in `acts[0]`; every layer's f32 activations to `acts[l + 1]` and
    /// each layer's input, packed transposed, to `pats[l]` (the weight gradient's operand).
    Train {
        acts: &'a mut [Vec<f32>],
        pats: &'a mut [Vec<u16>],
    },
}

impl Mlp {
    /// bf16: packs every layer's weights as the forward product's right operand and (layers
    /// after the first) as the back-propagation's left operand.
    fn pack_all(&mut self, tr: &mut Trainer) {
        self.packed.clear();
        tr.wa.clear();
        for (l, layer) in self.layers.iter().enumerate() {
            let (fi, fo) = (layer.fan_in, layer.fan_out);
            let mut wf = bf16::new_b(fi, fo);
            bf16::pack_b_region(
                Operand::row_major(&layer.w, fo),
                0,
                fi,
                0,
                fo,
                fi,
                fo,
                &mut wf,
            );
            let mut wa = Vec::new();
            if l > 0 {
                bf16::pack_a(Operand::row_major(&layer.w, fo), fi, fo, &mut wa);
            }
            self.packed.push(wf);
            tr.wa.push(wa);
        }
    }
}

// A block of COL_BLOCK rows of W is exactly one contiguous panel of its packed bf16 copy.
const _: () = assert!(kernels::COL_BLOCK == bf16::PANEL_K);

/// bf16: the Adam update of a block of rows of a layer's weights `w` (row-major, `fo`
/// columns; moments `m`, `v`, raw gradient `g`), two rows at a time, each pair rewritten while
/// in L1 into `wf`, the block's part of the packed forward operand (k = the block's rows),
/// and into `wa` (when given), its strips of the back-propagation's packed left operand.
/// Returns the sum of squares of the weights before the update, as [`kernels::adam`].
#[allow(clippy::too_many_arguments)]
fn adam_repack(
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g: &[f32],
    step: AdamStep,
    fo: usize,
    wf: &mut [u16],
    mut wa: Option<&mut [u16]>,
) -> f64 {
    let rows = w.len() / fo;
    let mut sumsq = 0f64;
    for r in (0..rows).step_by(2) {
        let span = r * fo..(r + 2).min(rows) * fo;
        let h = span.len() / fo;
        sumsq += kernels::adam::<true>(
            &mut w[span.clone()],
            &mut m[span.clone()],
            &mut v[span.clone()],
            &g[span.clone()],
            step,
        );
        let src = Operand::row_major(&w[span], fo);
        bf16::pack_b_region(src, r, h, 0, fo, rows, fo, wf);
        if let Some(wa) = wa.as_deref_mut() {
            bf16::pack_a_rows(src, r, h, fo, wa);
        }
    }
    sumsq
}

/// A zero vector whose pages are written now. `vec![0.0; n]` maps large buffers to the shared
/// zero page; Adam's first read-then-write of each page would then take a copy-on-write fault
/// with a TLB shootdown to the other threads (measured: ~5% of a 100-sample fit).
fn written_zeros(n: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    v.resize(n, 0f32);
    v
}

/// Buffers and optimiser state of one training run.
struct Trainer {
    /// `acts[l]`: input of layer l (`batch x units[l]`); `acts[L]`: output.
    acts: Vec<Vec<f32>>,
    delta: [Vec<f32>; 2],
    /// One gradient panel buffer per worker.
    panels: Vec<std::sync::Mutex<Vec<f32>>>,
    grad_b: Vec<f32>,
    /// bf16 only: the packed input of the layer being run forward (two, alternating); per
    /// layer its input transposed as the weight gradient's left operand (written by the
    /// previous layer's forward epilogue); the delta as the weight gradient's right operand
    /// and, transposed, as the back-propagation's; per layer (after the first) the weights as
    /// the back-propagation's left operand.
    pa: [Vec<u16>; 2],
    pats: Vec<Vec<u16>>,
    pd_b: Vec<u16>,
    pdt: Vec<u16>,
    wa: Vec<Vec<u16>>,
    m_w: Vec<Vec<f32>>,
    v_w: Vec<Vec<f32>>,
    m_b: Vec<Vec<f32>>,
    v_b: Vec<Vec<f32>>,
    t: u64,
}

impl Predictor for Mlp {
    fn fit(&mut self, x: MatRef<'_>, y: &[f32], rng: &mut SeedRng) -> Result<()> {
        // A failed fit leaves the model unfitted, never the previous fit.
        self.layers.clear();
        self.packed.clear();
        self.loss_curve.clear();
        self.steps = 0;
        self.config.validate()?;
        self.kernel = self.config.precision.kernel();
        super::record_kernel(self.config.precision.kernel_label());
        let (n, d) = (x.rows, x.cols);
        if n == 0 || y.len() != n {
            bail!("mlp: {} rows but {} targets", n, y.len());
        }
        if d == 0 {
            bail!("mlp: feature matrix has no columns");
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            bail!("mlp: target {i} is not finite ({})", y[i]);
        }
        if let Some(i) = x.data.iter().position(|v| !v.is_finite()) {
            bail!(
                "mlp: feature value at row {}, column {} is not finite",
                i / d,
                i % d
            );
        }
        let cfg = self.config.clone();
        self.init_layers(d, rng);
        self.loss_curve.clear();
        let threads = self.threads.0.max(1);
        let batch = cfg.effective_batch(n);
        let nl = self.layers.len();
        let widest = self.layers.iter().map(|l| l.fan_out).max().unwrap_or(1);
        let mut tr = Trainer {
            acts: std::iter::once(d)
                .chain(self.layers.iter().map(|l| l.fan_out))
                .map(|u| vec![0f32; batch * u])
                .collect(),
            delta: [vec![0f32; batch * widest], vec![0f32; batch * widest]],
            panels: (0..threads)
                .map(|_| std::sync::Mutex::new(vec![0f32; kernels::COL_BLOCK * widest]))
                .collect(),
            grad_b: vec![0f32; widest],
            pa: [Vec::new(), Vec::new()],
            pats: vec![Vec::new(); nl],
            pd_b: Vec::new(),
            pdt: Vec::new(),
            wa: Vec::new(),
            m_w: self
                .layers
                .iter()
                .map(|l| written_zeros(l.w.len()))
                .collect(),
            v_w: self
                .layers
                .iter()
                .map(|l| written_zeros(l.w.len()))
                .collect(),
            m_b: self.layers.iter().map(|l| vec![0f32; l.b.len()]).collect(),
            v_b: self.layers.iter().map(|l| vec![0f32; l.b.len()]).collect(),
            t: 0,
        };
        if self.kernel.is_some() {
            self.pack_all(&mut tr);
        }
        let mut idx: Vec<usize> = (0..n).collect();
        let mut yb = vec![0f32; batch];
        let mut best_loss = f64::INFINITY;
        let mut no_improvement = 0usize;
        for _epoch in 0..cfg.max_iter {
            if cfg.shuffle {
                idx.shuffle(rng);
            }
            let mut accumulated = 0f64;
            for start in (0..n).step_by(batch) {
                let bs = batch.min(n - start);
                let rows = &idx[start..start + bs];
                for (k, &r) in rows.iter().enumerate() {
                    tr.acts[0][k * d..(k + 1) * d].copy_from_slice(x.row(r));
                    yb[k] = y[r];
                }
                // Forward.
                match self.kernel {
                    // bf16: every hidden layer's finished blocks go, biased and activated, to
                    // the f32 activations (the ReLU mask), the next layer's packed input and,
                    // transposed, its weight-gradient operand, while in L1.
                    Some(kernel) => {
                        let Trainer { acts, pa, pats, .. } = &mut tr;
                        let io = ForwardIo::Train { acts, pats };
                        self.forward_bf16(kernel, io, bs, pa, threads);
                    }
                    None => {
                        for l in 0..nl {
                            let layer = &self.layers[l];
                            let (lo, hi) = tr.acts.split_at_mut(l + 1);
                            layer_forward(
                                layer,
                                l + 1 == nl,
                                &lo[l][..bs * layer.fan_in],
                                &mut hi[0][..bs * layer.fan_out],
                                bs,
                                threads,
                            );
                        }
                    }
                }
                // Squared loss and output delta.
                let pred = &tr.acts[nl][..bs];
                let mut sq = 0f64;
                for k in 0..bs {
                    let e = pred[k] - yb[k];
                    sq += (e as f64) * (e as f64);
                    tr.delta[0][k] = e;
                }
                let mut batch_loss = 0.5 * sq / bs as f64;
                // Backward with the Adam update of each layer fused in once its delta has
                // been propagated (equivalent to scikit-learn's update after the full pass:
                // a layer's weights are not read again in this step).
                tr.t += 1;
                let t = tr.t as f64;
                let step = AdamStep {
                    alpha: cfg.alpha as f32,
                    batch: bs as f32,
                    beta1: cfg.beta_1 as f32,
                    one_minus_beta1: (1.0 - cfg.beta_1) as f32,
                    beta2: cfg.beta_2 as f32,
                    one_minus_beta2: (1.0 - cfg.beta_2) as f32,
                    neg_lr_t: (-(cfg.learning_rate_init * (1.0 - cfg.beta_2.powf(t)).sqrt()
                        / (1.0 - cfg.beta_1.powf(t)))) as f32,
                    eps: cfg.epsilon as f32,
                };
                let mut sumsq = 0f64;
                let mut cur = 0usize;
                let kernel = self.kernel;
                for l in (0..nl).rev() {
                    let layer = &mut self.layers[l];
                    let (fi, fo) = (layer.fan_in, layer.fan_out);
                    let (d0, d1) = tr.delta.split_at_mut(1);
                    let (dcur, dprev) = if cur == 0 {
                        (&mut d0[0], &mut d1[0])
                    } else {
                        (&mut d1[0], &mut d0[0])
                    };
                    let dcur = &dcur[..bs * fo];
                    let act = &tr.acts[l][..bs * fi];
                    kernels::col_mean(dcur, &mut tr.grad_b[..fo], bs as f32);
                    // One task per block of COL_BLOCK rows of W (fixed by the shape, never by
                    // the thread count), all three steps on the same rows while in cache:
                    //  1. delta_prev[:, rows] = relu'(a) * (delta W[rows, :]^T), which needs
                    //     these rows before their update (no other task reads them);
                    //  2. the weight gradient a[:, rows]^T delta into a per-worker buffer;
                    //  3. the Adam update of these rows from that buffer (the gradient never
                    //     goes to memory).
                    let rb = kernels::COL_BLOCK;
                    let nblocks = fi.div_ceil(rb);
                    // f32: delta_prev in column blocks; bf16: its transpose's blocks written
                    // through a raw pointer (each task its own columns r0..r0 + rows).
                    let (dprev_blocks, dprev_ptr) = match (l > 0, kernel) {
                        (false, _) => (None, None),
                        (true, None) => {
                            (Some(ColumnBlocks::new(&mut dprev[..bs * fi], bs, fi)), None)
                        }
                        (true, Some(_)) => (None, Some(bf16::SharedMut(dprev.as_mut_ptr()))),
                    };
                    // bf16: the delta as the weight gradient's right operand (k = batch
                    // rows) and, transposed, as the back-propagation's (k = outputs); the
                    // layer input transposed (from the forward epilogue).
                    let packs = kernel.map(|k| {
                        let pdt = (l > 0).then(|| {
                            bf16::pack_b(Operand::transposed(dcur, fo), fo, bs, &mut tr.pdt)
                        });
                        let pd_b = bf16::pack_b(Operand::row_major(dcur, fo), bs, fo, &mut tr.pd_b);
                        let (rows, kp) = bf16::a_shape(fi, bs);
                        let pat = PackedA {
                            data: &tr.pats[l],
                            rows,
                            kp,
                        };
                        (k, pdt, pd_b, pat)
                    });
                    // bf16: per block of rows of W, its part of the forward operand and (after
                    // the first layer) its strips of the back-propagation's.
                    type BfPart<'a> = Option<(&'a mut [u16], Option<&'a mut [u16]>)>;
                    let mut bf_parts: Vec<BfPart<'_>> = match kernel {
                        Some(_) => {
                            let np = bf16::b_shape(fi, fo).1;
                            let kpa = bf16::a_shape(fi, fo).1;
                            let mut wa = tr.wa[l].chunks_mut(rb * kpa);
                            self.packed[l]
                                .chunks_mut(rb * np)
                                .map(|wf| Some((wf, wa.next())))
                                .collect()
                        }
                        None => (0..nblocks).map(|_| None).collect(),
                    };
                    assert_eq!(bf_parts.len(), nblocks, "packed weight blocks");
                    let items: Vec<_> = layer
                        .w
                        .chunks_mut(rb * fo)
                        .zip(tr.m_w[l].chunks_mut(rb * fo))
                        .zip(tr.v_w[l].chunks_mut(rb * fo))
                        .zip(bf_parts.drain(..))
                        .enumerate()
                        .collect();
                    let parts = kernels::map_tasks(
                        threads,
                        items,
                        |w| tr.panels[w].lock().unwrap(),
                        |buf, (p, (((w, m), v), mut bf))| {
                            let (r0, rows) = (p * rb, w.len() / fo);
                            let g = &mut buf[..rows * fo];
                            match (&packs, &bf) {
                                (Some((k, pdt, pd_b, pat)), Some((_, wa))) => {
                                    if let (Some(dp), Some(pdt), Some(wa)) = (dprev_ptr, pdt, wa) {
                                        let kp = bf16::a_shape(fi, fo).1;
                                        let wa = PackedA {
                                            data: wa,
                                            rows: wa.len() / kp,
                                            kp,
                                        };
                                        // SAFETY: only this task writes columns r0..r0 + rows
                                        // of delta_prev (bs x fi); the kernel was checked by
                                        // `Precision::kernel`.
                                        unsafe {
                                            bf16::gemm_t_masked(
                                                *k,
                                                wa,
                                                0,
                                                *pdt,
                                                rows,
                                                bs,
                                                bf16::SharedMut(dp.0.add(r0)),
                                                fi,
                                                &act[r0..],
                                            )
                                        };
                                    }
                                    // SAFETY: g holds rows x fo values; kernel available.
                                    unsafe {
                                        bf16::gemm(
                                            *k,
                                            *pat,
                                            r0,
                                            *pd_b,
                                            0,
                                            rows,
                                            fo,
                                            g.as_mut_ptr(),
                                            fo,
                                        )
                                    };
                                }
                                _ => {
                                    if let Some(db) = &dprev_blocks {
                                        // SAFETY: only this task writes columns r0..r0 + rows.
                                        unsafe {
                                            db.matmul(
                                                r0,
                                                rows,
                                                fo,
                                                Operand::row_major(dcur, fo),
                                                Operand::transposed(w, fo),
                                                Epilogue::ReluMask(act),
                                            )
                                        };
                                    }
                                    kernels::matmul(
                                        g,
                                        rows,
                                        fo,
                                        bs,
                                        Operand::transposed(&act[r0..], fi),
                                        Operand::row_major(dcur, fo),
                                        gemm::Parallelism::None,
                                    );
                                }
                            }
                            match bf.as_mut() {
                                Some((wf, wa)) => {
                                    adam_repack(w, m, v, g, step, fo, wf, wa.as_deref_mut())
                                }
                                None => kernels::adam::<true>(w, m, v, g, step),
                            }
                        },
                    );
                    for p in parts {
                        sumsq += p;
                    }
                    kernels::adam::<false>(
                        &mut layer.b,
                        &mut tr.m_b[l],
                        &mut tr.v_b[l],
                        &tr.grad_b[..fo],
                        step,
                    );
                    cur ^= 1;
                }
                batch_loss += 0.5 * cfg.alpha * sumsq / bs as f64;
                accumulated += batch_loss * bs as f64;
            }
            let loss = accumulated / n as f64;
            self.loss_curve.push(loss);
            if loss > best_loss - cfg.tol {
                no_improvement += 1;
            } else {
                no_improvement = 0;
            }
            if loss < best_loss {
                best_loss = loss;
            }
            if no_improvement > cfg.n_iter_no_change {
                break;
            }
        }
        self.steps = tr.t;
        Ok(())
    }

    fn predict(&self, x: MatRef<'_>) -> Vec<f32> {
        assert!(!self.layers.is_empty(), "mlp: predict called before fit");
        let d = self.layers[0].fan_in;
        assert_eq!(x.cols, d, "mlp: fitted on {d} features, got {}", x.cols);
        let mut out = vec![0f32; x.rows];
        if x.rows == 0 {
            return out;
        }
        let threads = self.threads.0.max(1);
        let new_scratch = |_| Scratch::default();
        if x.rows <= PREDICT_CHUNK {
            let mut s = new_scratch(0);
            self.forward_chunk(x.data, x.rows, &mut out, &mut s, threads);
            return out;
        }
        let items: Vec<_> = out
            .chunks_mut(PREDICT_CHUNK)
            .zip(x.data.chunks(PREDICT_CHUNK * d))
            .collect();
        kernels::map_tasks(threads, items, new_scratch, |s, (o, xs)| {
            let rows = o.len();
            self.forward_chunk(xs, rows, o, s, 1);
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::kendall_tau_b;
    use crate::matrix::Matrix;
    use crate::predictor::testutil::{nb201_like, split};
    use rand::seq::SliceRandom;

    fn small(hidden: Vec<usize>, max_iter: usize) -> MlpConfig {
        MlpConfig {
            hidden,
            max_iter,
            ..MlpConfig::default()
        }
    }

    type Split = (Matrix, Vec<f32>, Matrix, Vec<f64>, Matrix, SeedRng);

    /// The synthetic space of `seed` (also returned whole) split into 400 training and 2,000
    /// held-out cells, with the split's random stream.
    fn synthetic_split(seed: u64) -> Split {
        let (x, y) = nb201_like(seed);
        let mut rng = crate::rng::stream("mlp-test", seed, "split");
        let (tr, te) = split(15_625, 400, 2_000, &mut rng);
        let ytr = tr.iter().map(|&i| y[i as usize]).collect::<Vec<_>>();
        let yte: Vec<f64> = te.iter().map(|&i| y[i as usize] as f64).collect();
        (x.gather(&tr), ytr, x.gather(&te), yte, x, rng)
    }

    #[test]
    fn learns_a_synthetic_nb201_like_target() {
        let (xtr, ytr, xte, yte, _, mut rng) = synthetic_split(0);
        let mut m = Mlp::new(small(vec![64, 64], 100), Threads::ONE);
        m.fit(xtr.view(), &ytr, &mut rng).unwrap();
        let p: Vec<f64> = m.predict(xte.view()).iter().map(|&v| v as f64).collect();
        let tau = kendall_tau_b(&p, &yte);
        // The additive part alone explains most of the ranking; 400 samples should reach it.
        assert!(tau > 0.75, "held-out Kendall tau {tau}");
        assert!(m.loss_curve().windows(2).filter(|w| w[1] < w[0]).count() > m.n_iter() / 2);
    }

    type RefParams = (Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>, Vec<f64>);

    /// A plain f64 transcription of scikit-learn's `_fit_stochastic` / `_backprop` /
    /// `AdamOptimizer` (loops, no gemm), drawing the same random numbers in the same order.
    fn reference_fit(cfg: &MlpConfig, x: &Matrix, y: &[f32], rng: &mut SeedRng) -> RefParams {
        let (n, d) = (x.rows, x.cols);
        let mut units = vec![d];
        units.extend(&cfg.hidden);
        units.push(1);
        let nl = units.len() - 1;
        let mut w: Vec<Vec<Vec<f64>>> = Vec::new(); // w[l][i][j]
        let mut b: Vec<Vec<f64>> = Vec::new();
        for l in 0..nl {
            let bound = (6.0 / (units[l] + units[l + 1]) as f64).sqrt();
            let mut draw = || (-bound + 2.0 * bound * rng.random::<f64>()) as f32 as f64;
            w.push(
                (0..units[l])
                    .map(|_| (0..units[l + 1]).map(|_| draw()).collect())
                    .collect(),
            );
            b.push((0..units[l + 1]).map(|_| draw()).collect());
        }
        let zeros_w = |w: &Vec<Vec<Vec<f64>>>| -> Vec<Vec<Vec<f64>>> {
            w.iter()
                .map(|m| m.iter().map(|r| vec![0.0; r.len()]).collect())
                .collect()
        };
        let (mut mw, mut vw) = (zeros_w(&w), zeros_w(&w));
        let (mut mb, mut vb): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (
            b.iter().map(|r| vec![0.0; r.len()]).collect(),
            b.iter().map(|r| vec![0.0; r.len()]).collect(),
        );
        let batch = cfg.effective_batch(n);
        let mut idx: Vec<usize> = (0..n).collect();
        let mut t = 0f64;
        let mut curve = Vec::new();
        for _ in 0..cfg.max_iter {
            idx.shuffle(rng);
            let mut acc = 0.0;
            for start in (0..n).step_by(batch) {
                let rows = &idx[start..(start + batch).min(n)];
                let bs = rows.len() as f64;
                // Forward: acts[l][k][j].
                let mut acts: Vec<Vec<Vec<f64>>> = vec![rows
                    .iter()
                    .map(|&r| x.row(r).iter().map(|&v| v as f64).collect())
                    .collect()];
                for l in 0..nl {
                    let a: Vec<Vec<f64>> = acts[l]
                        .iter()
                        .map(|inp| {
                            (0..units[l + 1])
                                .map(|j| {
                                    let z: f64 =
                                        (0..units[l]).map(|i| inp[i] * w[l][i][j]).sum::<f64>()
                                            + b[l][j];
                                    if l + 1 < nl {
                                        z.max(0.0)
                                    } else {
                                        z
                                    }
                                })
                                .collect()
                        })
                        .collect();
                    acts.push(a);
                }
                let mut loss: f64 = rows
                    .iter()
                    .enumerate()
                    .map(|(k, &r)| (y[r] as f64 - acts[nl][k][0]).powi(2))
                    .sum::<f64>()
                    / bs
                    / 2.0;
                let ss: f64 = w.iter().flatten().flatten().map(|v| v * v).sum();
                loss += 0.5 * cfg.alpha * ss / bs;
                acc += loss * bs;
                let mut delta: Vec<Vec<f64>> = rows
                    .iter()
                    .enumerate()
                    .map(|(k, &r)| vec![acts[nl][k][0] - y[r] as f64])
                    .collect();
                let mut gw = zeros_w(&w);
                let mut gb: Vec<Vec<f64>> = b.iter().map(|r| vec![0.0; r.len()]).collect();
                for l in (0..nl).rev() {
                    for i in 0..units[l] {
                        for j in 0..units[l + 1] {
                            let s: f64 = (0..rows.len()).map(|k| acts[l][k][i] * delta[k][j]).sum();
                            gw[l][i][j] = (s + cfg.alpha * w[l][i][j]) / bs;
                        }
                    }
                    for j in 0..units[l + 1] {
                        gb[l][j] = (0..rows.len()).map(|k| delta[k][j]).sum::<f64>() / bs;
                    }
                    if l > 0 {
                        delta = (0..rows.len())
                            .map(|k| {
                                (0..units[l])
                                    .map(|i| {
                                        if acts[l][k][i] == 0.0 {
                                            0.0
                                        } else {
                                            (0..units[l + 1])
                                                .map(|j| delta[k][j] * w[l][i][j])
                                                .sum()
                                        }
                                    })
                                    .collect()
                            })
                            .collect();
                    }
                }
                t += 1.0;
                let lr = cfg.learning_rate_init * (1.0 - cfg.beta_2.powf(t)).sqrt()
                    / (1.0 - cfg.beta_1.powf(t));
                let upd = |p: &mut f64, g: f64, m: &mut f64, v: &mut f64| {
                    *m = cfg.beta_1 * *m + (1.0 - cfg.beta_1) * g;
                    *v = cfg.beta_2 * *v + (1.0 - cfg.beta_2) * g * g;
                    *p += -lr * *m / (v.sqrt() + cfg.epsilon);
                };
                for l in 0..nl {
                    for i in 0..units[l] {
                        for j in 0..units[l + 1] {
                            upd(
                                &mut w[l][i][j],
                                gw[l][i][j],
                                &mut mw[l][i][j],
                                &mut vw[l][i][j],
                            );
                        }
                    }
                    for j in 0..units[l + 1] {
                        upd(&mut b[l][j], gb[l][j], &mut mb[l][j], &mut vb[l][j]);
                    }
                }
            }
            curve.push(acc / n as f64);
        }
        (w, b, curve)
    }

    #[test]
    fn matches_a_plain_transcription_of_sklearn() {
        let (x, y) = nb201_like(5);
        let xs = x.gather(&(0..50).collect::<Vec<u32>>());
        let cfg = MlpConfig {
            hidden: vec![6, 4],
            alpha: 0.05,          // large, so a wrong L2 scaling shows
            batch_size: Some(16), // 16, 16, 16, 2: uneven last batch
            max_iter: 15,
            tol: 0.0,
            n_iter_no_change: 100,
            ..MlpConfig::default()
        };
        let mut m = Mlp::new(cfg.clone(), Threads::ONE);
        m.fit(xs.view(), &y[..50], &mut crate::rng::stream("t", 0, "ref"))
            .unwrap();
        let (rw, rb, rcurve) =
            reference_fit(&cfg, &xs, &y[..50], &mut crate::rng::stream("t", 0, "ref"));
        assert_eq!(m.n_iter(), 15);
        for (a, b) in m.loss_curve().iter().zip(&rcurve) {
            assert!((a - b).abs() <= 1e-4 * b.abs(), "loss {a} vs reference {b}");
        }
        for (l, (w, b)) in m.parameters().into_iter().enumerate() {
            let cols = rb[l].len();
            for (k, v) in w.iter().enumerate() {
                let r = rw[l][k / cols][k % cols];
                assert!((*v as f64 - r).abs() < 2e-5, "w[{l}][{k}] {v} vs {r}");
            }
            for (k, v) in b.iter().enumerate() {
                assert!(
                    (*v as f64 - rb[l][k]).abs() < 2e-5,
                    "b[{l}][{k}] {v} vs {}",
                    rb[l][k]
                );
            }
        }
        // The weights moved: the comparison is not between two initialisations.
        let mut m0 = Mlp::new(MlpConfig { max_iter: 0, ..cfg }, Threads::ONE);
        m0.fit(xs.view(), &y[..50], &mut crate::rng::stream("t", 0, "ref"))
            .unwrap();
        let moved = m0.parameters()[0]
            .0
            .iter()
            .zip(m.parameters()[0].0)
            .filter(|(a, b)| (*a - *b).abs() > 1e-3)
            .count();
        assert!(moved > 20, "{moved} weights moved");
    }

    #[test]
    fn stops_early_on_a_constant_target_by_sklearns_rule() {
        let (x, _) = nb201_like(1);
        let x = x.gather(&(0..150).collect::<Vec<u32>>());
        let y = vec![0.25f32; 150];
        let cfg = small(vec![16], 500);
        let mut m = Mlp::new(cfg.clone(), Threads::ONE);
        m.fit(x.view(), &y, &mut crate::rng::stream("t", 0, "es"))
            .unwrap();
        let curve = m.loss_curve();
        assert!(curve.len() < 500, "ran all {} epochs", curve.len());
        // Replay scikit-learn's rule on the curve: it must fire exactly at the last epoch.
        let (mut best, mut count) = (f64::INFINITY, 0usize);
        for (e, &l) in curve.iter().enumerate() {
            count = if l > best - cfg.tol { count + 1 } else { 0 };
            best = best.min(l);
            assert_eq!(
                count > cfg.n_iter_no_change,
                e + 1 == curve.len(),
                "epoch {e}"
            );
        }
    }

    #[test]
    fn batch_size_rule() {
        let c = MlpConfig::default();
        assert_eq!(c.effective_batch(50), 50);
        assert_eq!(c.effective_batch(1000), 200);
        let f = MlpConfig {
            batch_size: Some(32),
            ..MlpConfig::default()
        };
        assert_eq!(f.effective_batch(100), 32);
        assert_eq!(f.effective_batch(10), 10);
        // Steps per epoch follow: ceil(n / batch).
        let (x, y) = nb201_like(2);
        for (n, batch, steps_per_epoch) in
            [(250usize, None, 2u64), (100, None, 1), (100, Some(30), 4)]
        {
            let xs = x.gather(&(0..n as u32).collect::<Vec<_>>());
            let cfg = MlpConfig {
                batch_size: batch,
                ..small(vec![8], 3)
            };
            let mut m = Mlp::new(cfg, Threads::ONE);
            m.fit(xs.view(), &y[..n], &mut crate::rng::stream("t", 0, "b"))
                .unwrap();
            assert_eq!(m.n_iter(), 3);
            assert_eq!(m.n_steps(), 3 * steps_per_epoch, "n {n}, batch {batch:?}");
        }
    }

    #[test]
    fn glorot_uniform_init_for_weights_and_biases() {
        let x = Matrix::from_vec(4, 30, vec![0.0; 120]);
        let mut m = Mlp::new(small(vec![200, 50], 0), Threads::ONE);
        m.fit(x.view(), &[0.0; 4], &mut crate::rng::stream("t", 0, "init"))
            .unwrap();
        let units = [30usize, 200, 50, 1];
        for (l, (w, b)) in m.parameters().into_iter().enumerate() {
            let bound = (6.0 / (units[l] + units[l + 1]) as f64).sqrt() as f32;
            for vals in [w, b] {
                assert!(
                    vals.iter().all(|v| v.abs() <= bound),
                    "layer {l} out of bound"
                );
                let max = vals.iter().fold(0f32, |a, v| a.max(v.abs()));
                if vals.len() >= 50 {
                    assert!(max > 0.9 * bound, "layer {l}: max {max} vs bound {bound}");
                    let mean = vals.iter().map(|&v| v as f64).sum::<f64>() / vals.len() as f64;
                    assert!(mean.abs() < 0.2 * bound as f64, "layer {l}: mean {mean}");
                }
            }
        }
    }

    #[test]
    fn bit_identical_for_any_thread_count() {
        let (x, y) = nb201_like(3);
        let xs = x.gather(&(0..300).collect::<Vec<u32>>());
        // Wide enough that gemm really threads (work above its threshold).
        let cfg = small(vec![128, 128], 4);
        let run = |t: usize| {
            let mut m = Mlp::new(cfg.clone(), Threads(t));
            m.fit(xs.view(), &y[..300], &mut crate::rng::stream("t", 0, "thr"))
                .unwrap();
            // 15,625 rows: eight chunks over the workers; 1,000 rows: one chunk, blocks spread.
            let big = m.predict(x.view());
            let one = m.predict(x.view().slice_rows(0, 1000));
            (big, one, m.loss_curve().to_vec())
        };
        let a = run(1);
        let b = run(2);
        assert!(a
            .0
            .iter()
            .zip(&b.0)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
        assert!(a
            .1
            .iter()
            .zip(&b.1)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
        assert_eq!(a.2, b.2);
        let c = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(|| run(3));
        assert!(a
            .0
            .iter()
            .zip(&c.0)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
    }

    /// bf16 on each kernel this machine has (skipped with a message otherwise): fits and ranks
    /// the synthetic space about as well as f32, its weights stay close to the f32 fit's, and
    /// fit and prediction are bit-identical for 1 and 2 threads. Without any bf16 kernel,
    /// `precision = "bf16"` must give exactly the f32 results (the fallback).
    #[test]
    fn bf16_fits_ranks_and_is_thread_independent() {
        let (xtr, ytr, xte, yte, x, _) = synthetic_split(6);
        let fit = |precision: Precision, t: usize| {
            let cfg = MlpConfig {
                precision,
                ..small(vec![64, 64], 60)
            };
            let mut m = Mlp::new(cfg, Threads(t));
            m.fit(xtr.view(), &ytr, &mut crate::rng::stream("t", 0, "bf16"))
                .unwrap();
            m
        };
        let tau_of = |m: &Mlp| {
            let p: Vec<f64> = m.predict(xte.view()).iter().map(|&v| v as f64).collect();
            kendall_tau_b(&p, &yte)
        };
        let f32_model = fit(Precision::F32, 1);
        let tau32 = tau_of(&f32_model);
        let mut ran = 0;
        for (precision, kernel) in [
            (Precision::Bf16Amx, Bf16Kernel::Amx),
            (Precision::Bf16Avx512, Bf16Kernel::Avx512Bf16),
        ] {
            if !kernel.available() {
                eprintln!("SKIPPED: {} not available on this machine", kernel.name());
                continue;
            }
            ran += 1;
            let m1 = fit(precision, 1);
            assert_eq!(m1.bf16_kernel(), Some(kernel));
            let tau = tau_of(&m1);
            eprintln!("{}: held-out tau {tau:.4} (f32 {tau32:.4})", kernel.name());
            assert!(tau > 0.6, "{}: held-out Kendall tau {tau}", kernel.name());
            assert!(
                (tau - tau32).abs() < 0.05,
                "{}: tau {tau} vs f32 {tau32}",
                kernel.name()
            );
            // The first layer's weights moved like the f32 fit's (same seed, same batches).
            let (w16, w32) = (m1.parameters()[0].0, f32_model.parameters()[0].0);
            let diff = w16
                .iter()
                .zip(w32)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                diff < 0.1,
                "{}: max weight difference {diff}",
                kernel.name()
            );
            let m2 = fit(precision, 2);
            assert_eq!(m1.loss_curve(), m2.loss_curve());
            // More than one prediction chunk, spread over the workers.
            let big = x.view().slice_rows(0, 5_000);
            let (p1, p2) = (m1.predict(big), m2.predict(big));
            assert!(p1.iter().zip(&p2).all(|(a, b)| a.to_bits() == b.to_bits()));
            // Prediction really ran in bf16: not the f32 forward pass of the same weights.
            let mut as_f32 = Mlp::new(small(vec![64, 64], 60), Threads::ONE);
            as_f32.layers = m1.layers.clone();
            assert_ne!(as_f32.predict(big), p1);
            // The fused forward pass equals the unfused one (f32 output of each layer, then
            // packed for the next), bit for bit.
            let mut cur = big.data.to_vec();
            for (l, layer) in m1.layers.iter().enumerate() {
                let (fi, fo) = (layer.fan_in, layer.fan_out);
                let mut pa = Vec::new();
                let a = bf16::pack_a(Operand::row_major(&cur, fi), big.rows, fi, &mut pa);
                let (kp, np) = bf16::b_shape(fi, fo);
                let w = PackedB {
                    data: &m1.packed[l],
                    kp,
                    np,
                };
                let mut out = vec![0f32; big.rows * fo];
                let last = l + 1 == m1.layers.len();
                let epi = Epilogue::BiasAct(&layer.b, !last);
                kernels::matmul_blocked_bf16(&mut out, big.rows, fo, kernel, a, w, epi, 1);
                cur = out;
            }
            assert!(cur.iter().zip(&p1).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        if Bf16Kernel::best().is_none() {
            let m = fit(Precision::Bf16, 1);
            assert_eq!(m.bf16_kernel(), None);
            assert_eq!(m.loss_curve(), f32_model.loss_curve());
            assert_eq!(m.predict(xte.view()), f32_model.predict(xte.view()));
            eprintln!("no bf16 kernel: checked the f32 fallback only");
        } else {
            assert!(ran > 0);
        }
    }

    #[test]
    fn precision_parses_and_defaults_to_f32() {
        let c: MlpConfig = toml::from_str("precision = \"bf16\"").unwrap();
        assert_eq!(c.precision, Precision::Bf16);
        assert!(
            c.validate().is_ok(),
            "plain bf16 never fails: it falls back"
        );
        let d = MlpConfig::default();
        assert_eq!(d.precision, Precision::F32);
        // f32 is not written out, so specs and run ids from before the option are unchanged.
        assert!(!toml::to_string(&d).unwrap().contains("precision"));
        let e = toml::from_str::<MlpConfig>("precision = \"fp16\"").unwrap_err();
        assert!(e.to_string().contains("fp16"), "{e}");
        for (p, k) in [
            (Precision::Bf16Amx, Bf16Kernel::Amx),
            (Precision::Bf16Avx512, Bf16Kernel::Avx512Bf16),
        ] {
            match p.validate() {
                Ok(()) => assert!(k.available()),
                Err(e) => {
                    assert!(!k.available());
                    assert!(e.to_string().contains("lacks"), "{e}");
                }
            }
        }
    }

    #[test]
    fn seeds_matter_and_refit_starts_from_scratch() {
        let (x, y) = nb201_like(4);
        let xs = x.gather(&(0..100).collect::<Vec<u32>>());
        let mut m = Mlp::new(small(vec![16], 5), Threads::ONE);
        m.fit(xs.view(), &y[..100], &mut crate::rng::stream("t", 0, "s"))
            .unwrap();
        let p1 = m.predict(xs.view());
        m.fit(xs.view(), &y[..100], &mut crate::rng::stream("t", 1, "s"))
            .unwrap();
        let p2 = m.predict(xs.view());
        m.fit(xs.view(), &y[..100], &mut crate::rng::stream("t", 0, "s"))
            .unwrap();
        assert_ne!(p1, p2);
        assert_eq!(p1, m.predict(xs.view()));
    }

    #[test]
    fn rejects_bad_input() {
        let x = Matrix::from_vec(2, 2, vec![0.0, 1.0, 1.0, 0.0]);
        let mut m = Mlp::new(small(vec![4], 2), Threads::ONE);
        let mut r = crate::rng::stream("t", 0, "bad");
        assert!(m.fit(x.view(), &[1.0], &mut r).is_err());
        assert!(m.fit(x.view(), &[1.0, f32::NAN], &mut r).is_err());
        let mut z = Mlp::new(small(vec![0], 2), Threads::ONE);
        assert!(z.fit(x.view(), &[1.0, 2.0], &mut r).is_err());
    }
}
