//! A DARTS-style network for 8x8 inputs, built from a [`Genotype`]: a 3x3 stem, then a normal,
//! a reduction and a normal cell, global average pooling and a linear classifier.
//!
//! Every parameter is drawn from one ChaCha stream (candle's CPU device cannot be seeded), so a
//! network is a pure function of the genotype, the width and the seed.

use crate::genotype::{CellSpec, Genotype, OpKind};
use crate::kernels::{
    out_size, tensor_channel_stats, BatchNormOp, Conv2d, PointwiseConv, Pool, PoolKind,
};
use candle_core::{DType, Device, Result, Tensor, Var, D};
use rand::Rng;
use weaknas_harness::rng::SeedRng;

/// Creates parameters from a seeded stream and remembers them for the optimiser.
pub struct ParamInit {
    rng: SeedRng,
    vars: Vec<Var>,
    device: Device,
}

impl ParamInit {
    /// A builder drawing from `rng`.
    pub fn new(rng: SeedRng) -> Self {
        Self {
            rng,
            vars: Vec::new(),
            device: Device::Cpu,
        }
    }

    /// A parameter with entries uniform in `[-bound, bound)`.
    pub fn uniform(&mut self, shape: &[usize], bound: f32) -> Result<Var> {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| (self.rng.random::<f32>() * 2.0 - 1.0) * bound)
            .collect();
        self.push(Tensor::from_vec(v, shape, &self.device)?)
    }

    /// A parameter filled with `value`.
    pub fn constant(&mut self, shape: &[usize], value: f32) -> Result<Var> {
        let n: usize = shape.iter().product();
        self.push(Tensor::from_vec(vec![value; n], shape, &self.device)?)
    }

    /// A convolution weight `[c_out, c_in, kh, kw]`, He-uniform for the fan-in.
    pub fn conv(&mut self, c_out: usize, c_in: usize, kh: usize, kw: usize) -> Result<Var> {
        let fan_in = (c_in * kh * kw) as f32;
        self.uniform(&[c_out, c_in, kh, kw], (6.0 / fan_in).sqrt())
    }

    fn push(&mut self, t: Tensor) -> Result<Var> {
        let v = Var::from_tensor(&t)?;
        self.vars.push(v.clone());
        Ok(v)
    }

    /// All parameters created so far, in creation order.
    pub fn into_vars(self) -> Vec<Var> {
        self.vars
    }
}

/// Batch normalisation with affine parameters; batch statistics in training, running
/// statistics (momentum 0.1, unbiased variance) in evaluation.
pub struct BatchNorm {
    gamma: Var,
    beta: Var,
    mean: Vec<f64>,
    var: Vec<f64>,
}

const BN_EPS: f64 = 1e-5;
const BN_MOMENTUM: f64 = 0.1;

impl BatchNorm {
    /// Batch normalisation over `c` channels.
    pub fn new(p: &mut ParamInit, c: usize) -> Result<Self> {
        Ok(Self {
            gamma: p.constant(&[c], 1.0)?,
            beta: p.constant(&[c], 0.0)?,
            mean: vec![0.0; c],
            var: vec![1.0; c],
        })
    }

    /// Normalises `x` (`[B, C, H, W]`).
    pub fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = x.contiguous()?;
        let invstd = |v: &[f64]| {
            v.iter()
                .map(|&v| (1.0 / (v + BN_EPS).sqrt()) as f32)
                .collect()
        };
        let op = if train {
            let (b, c, h, w) = x.dims4()?;
            let (mean, var) = tensor_channel_stats(&x)?;
            let n = (b * h * w) as f64;
            let unbias = n / (n - 1.0).max(1.0);
            for ch in 0..c {
                self.mean[ch] = (1.0 - BN_MOMENTUM) * self.mean[ch] + BN_MOMENTUM * mean[ch];
                self.var[ch] = (1.0 - BN_MOMENTUM) * self.var[ch] + BN_MOMENTUM * var[ch] * unbias;
            }
            BatchNormOp {
                mean: mean.iter().map(|&m| m as f32).collect(),
                invstd: invstd(&var),
                batch_stats: true,
            }
        } else {
            BatchNormOp {
                mean: self.mean.iter().map(|&m| m as f32).collect(),
                invstd: invstd(&self.var),
                batch_stats: false,
            }
        };
        op.apply(&x, &self.gamma, &self.beta)
    }
}

/// A plain convolution with explicit (possibly different) padding on the two axes.
pub struct Conv {
    w: Var,
    stride: usize,
    pad: (usize, usize),
}

impl Conv {
    /// A `kh x kw` convolution from `c_in` to `c_out` channels, padding `(kh / 2, kw / 2)`.
    pub fn new(
        p: &mut ParamInit,
        c_in: usize,
        c_out: usize,
        (kh, kw): (usize, usize),
        stride: usize,
    ) -> Result<Self> {
        Ok(Self {
            w: p.conv(c_out, c_in, kh, kw)?,
            stride,
            pad: (kh / 2, kw / 2),
        })
    }

    /// Applies the convolution.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (ph, pw) = self.pad;
        let (kh, kw) = (self.w.dim(2)?, self.w.dim(3)?);
        if (kh, kw) == (1, 1) {
            PointwiseConv {
                stride: self.stride,
            }
            .apply(x, &self.w)
        } else {
            Conv2d::dense(kh, kw, self.stride, ph, pw).apply(x, &self.w)
        }
    }
}

/// ReLU, a convolution, BN (DARTS `ReLUConvBN`).
pub struct ReluConvBn {
    conv: Conv,
    bn: BatchNorm,
}

impl ReluConvBn {
    /// A `k x k` ReLU-conv-BN.
    pub fn new(
        p: &mut ParamInit,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
    ) -> Result<Self> {
        Ok(Self {
            conv: Conv::new(p, c_in, c_out, (k, k), stride)?,
            bn: BatchNorm::new(p, c_out)?,
        })
    }

    /// Applies it.
    pub fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.bn.forward(&self.conv.forward(&x.relu()?)?, train)
    }
}

/// DARTS `FactorizedReduce`: ReLU, two 1x1 stride-2 convolutions on `x` and on `x` shifted by
/// one pixel, concatenated, BN. Halves the spatial size.
pub struct FactorizedReduce {
    c1: Conv,
    c2: Conv,
    bn: BatchNorm,
}

impl FactorizedReduce {
    /// From `c_in` to `c_out` (even) channels.
    pub fn new(p: &mut ParamInit, c_in: usize, c_out: usize) -> Result<Self> {
        Ok(Self {
            c1: Conv::new(p, c_in, c_out / 2, (1, 1), 2)?,
            c2: Conv::new(p, c_in, c_out - c_out / 2, (1, 1), 2)?,
            bn: BatchNorm::new(p, c_out)?,
        })
    }

    /// Applies it.
    pub fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = x.relu()?;
        let (_, _, h, w) = x.dims4()?;
        let a = self.c1.forward(&x)?;
        let b = self
            .c2
            .forward(&x.narrow(2, 1, h - 1)?.narrow(3, 1, w - 1)?)?;
        let (ha, wa) = (a.dim(2)?, a.dim(3)?);
        // For odd sizes the shifted branch is one smaller; pad it back.
        let b = b
            .pad_with_zeros(2, 0, ha - b.dim(2)?)?
            .pad_with_zeros(3, 0, wa - b.dim(3)?)?;
        self.bn.forward(&Tensor::cat(&[a, b], 1)?, train)
    }
}

/// ReLU, depthwise `k x k` (stride, dilation), pointwise 1x1, BN.
pub struct DwPwBn {
    dw: Var,
    dw_op: Conv2d,
    pw: Conv,
    bn: BatchNorm,
}

impl DwPwBn {
    fn new(p: &mut ParamInit, c: usize, k: usize, stride: usize, dil: usize) -> Result<Self> {
        Ok(Self {
            dw: p.conv(c, 1, k, k)?,
            dw_op: Conv2d::depthwise(k, stride, dil * (k - 1) / 2, dil),
            pw: Conv::new(p, c, c, (1, 1), 1)?,
            bn: BatchNorm::new(p, c)?,
        })
    }

    fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor> {
        let y = self.dw_op.apply(&x.relu()?, &self.dw)?;
        self.bn.forward(&self.pw.forward(&y)?, train)
    }
}

/// One candidate operation, instantiated for `C` channels and a stride.
pub enum Op {
    /// Zero output (spatial size divided by the stride).
    Zero {
        /// 1 or 2.
        stride: usize,
    },
    /// Identity (stride 1).
    Identity,
    /// Identity with stride 2.
    Reduce(FactorizedReduce),
    /// Padded max or average pooling.
    Pool(Pool),
    /// Separable convolution (two stacks) or dilated convolution (one stack).
    DwStack(Vec<DwPwBn>),
    /// ReLU, `1 x k` convolution (with the stride), `k x 1` convolution, BN.
    Factorized {
        /// The `1 x k` convolution.
        a: Conv,
        /// The `k x 1` convolution.
        b: Conv,
        /// Batch norm.
        bn: BatchNorm,
    },
    /// ReLU, `k x k` convolution, BN.
    Conv(ReluConvBn),
}

impl Op {
    /// Instantiates `kind` for `c` channels with `stride` 1 or 2.
    pub fn new(p: &mut ParamInit, kind: OpKind, c: usize, stride: usize) -> Result<Op> {
        Ok(match kind {
            OpKind::Zero => Op::Zero { stride },
            OpKind::Identity if stride == 1 => Op::Identity,
            OpKind::Identity => Op::Reduce(FactorizedReduce::new(p, c, c)?),
            OpKind::MaxPool(k) | OpKind::AvgPool(k) => Op::Pool(Pool {
                kind: if matches!(kind, OpKind::MaxPool(_)) {
                    PoolKind::Max
                } else {
                    PoolKind::Avg
                },
                k,
                stride,
                pad: k / 2,
            }),
            OpKind::SepConv(k) => Op::DwStack(vec![
                DwPwBn::new(p, c, k, stride, 1)?,
                DwPwBn::new(p, c, k, 1, 1)?,
            ]),
            OpKind::DilConv(k) => Op::DwStack(vec![DwPwBn::new(p, c, k, stride, 2)?]),
            OpKind::ConvFactorized(k) => Op::Factorized {
                a: Conv::new(p, c, c, (1, k), stride)?,
                b: Conv::new(p, c, c, (k, 1), 1)?,
                bn: BatchNorm::new(p, c)?,
            },
            OpKind::Conv(k) => Op::Conv(ReluConvBn::new(p, c, c, k, stride)?),
        })
    }

    /// Applies the operation; `None` for the zero operation.
    pub fn forward(&mut self, x: &Tensor, train: bool) -> Result<Option<Tensor>> {
        Ok(Some(match self {
            Op::Zero { .. } => return Ok(None),
            Op::Identity => x.clone(),
            Op::Reduce(r) => r.forward(x, train)?,
            Op::Pool(pool) => pool.apply(x)?,
            Op::DwStack(stack) => {
                let mut y = x.clone();
                for s in stack.iter_mut() {
                    y = s.forward(&y, train)?;
                }
                y
            }
            Op::Factorized { a, b, bn } => {
                bn.forward(&b.forward(&a.forward(&x.relu()?)?)?, train)?
            }
            Op::Conv(c) => c.forward(x, train)?,
        }))
    }
}

/// How a cell input is brought to the cell's width.
enum Preprocess {
    Plain(ReluConvBn),
    Reduce(FactorizedReduce),
}

impl Preprocess {
    fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            Preprocess::Plain(m) => m.forward(x, train),
            Preprocess::Reduce(m) => m.forward(x, train),
        }
    }
}

/// One cell of the network.
pub struct Cell {
    pre0: Preprocess,
    pre1: Preprocess,
    /// Per node, its two (operation, input) edges; `None` for nodes the output ignores.
    nodes: Vec<Option<[(Op, usize); 2]>>,
    concat: Vec<usize>,
    /// In a reduction cell, a FactorizedReduce for a concatenated cell input (state 0 or 1).
    concat_reduce: Vec<Option<FactorizedReduce>>,
    reduction: bool,
    c: usize,
}

impl Cell {
    /// A cell of width `c` reading `c_pp`- and `c_p`-channel inputs; `reduction_prev` when
    /// its first input has twice the spatial size of the second.
    pub fn new(
        p: &mut ParamInit,
        spec: &CellSpec,
        (c_pp, c_p, c): (usize, usize, usize),
        reduction: bool,
        reduction_prev: bool,
    ) -> Result<Self> {
        let pre0 = if reduction_prev {
            Preprocess::Reduce(FactorizedReduce::new(p, c_pp, c)?)
        } else {
            Preprocess::Plain(ReluConvBn::new(p, c_pp, c, 1, 1)?)
        };
        let pre1 = Preprocess::Plain(ReluConvBn::new(p, c_p, c, 1, 1)?);
        let live = spec.live_states();
        let mut nodes = Vec::with_capacity(spec.nodes());
        for i in 0..spec.nodes() {
            if !live[i + 2] {
                nodes.push(None);
                continue;
            }
            let mut edge = |e: &crate::genotype::Edge| -> Result<(Op, usize)> {
                let stride = if reduction && e.input < 2 { 2 } else { 1 };
                Ok((Op::new(p, e.op, c, stride)?, e.input))
            };
            let a = edge(&spec.edges[2 * i])?;
            let b = edge(&spec.edges[2 * i + 1])?;
            nodes.push(Some([a, b]));
        }
        let concat_reduce = spec
            .concat
            .iter()
            .map(|&s| {
                if reduction && s < 2 {
                    FactorizedReduce::new(p, c, c).map(Some)
                } else {
                    Ok(None)
                }
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            pre0,
            pre1,
            nodes,
            concat: spec.concat.clone(),
            concat_reduce,
            reduction,
            c,
        })
    }

    /// Output channels: `c` per concatenated state.
    pub fn out_channels(&self) -> usize {
        self.c * self.concat.len()
    }

    /// Applies the cell to its two inputs.
    pub fn forward(&mut self, s0: &Tensor, s1: &Tensor, train: bool) -> Result<Tensor> {
        let s0 = self.pre0.forward(s0, train)?;
        let s1 = self.pre1.forward(s1, train)?;
        let (b, _, h, w) = s1.dims4()?;
        let (ho, wo) = if self.reduction {
            (out_size(h, 1, 2, 0, 1), out_size(w, 1, 2, 0, 1))
        } else {
            (h, w)
        };
        let mut states: Vec<Option<Tensor>> = vec![Some(s0), Some(s1)];
        for node in self.nodes.iter_mut() {
            let Some(edges) = node else {
                states.push(None);
                continue;
            };
            let mut sum: Option<Tensor> = None;
            for (op, input) in edges.iter_mut() {
                let x = states[*input]
                    .as_ref()
                    .expect("inputs of live nodes are live");
                if let Some(y) = op.forward(x, train)? {
                    sum = Some(match sum {
                        None => y,
                        Some(s) => (s + y)?,
                    });
                }
            }
            let out = match sum {
                Some(s) => s,
                None => Tensor::zeros((b, self.c, ho, wo), DType::F32, &Device::Cpu)?,
            };
            states.push(Some(out));
        }
        let mut parts = Vec::with_capacity(self.concat.len());
        for (&s, red) in self.concat.iter().zip(self.concat_reduce.iter_mut()) {
            let t = states[s].as_ref().expect("concatenated states are live");
            parts.push(match red {
                Some(r) => r.forward(t, train)?,
                None => t.clone(),
            });
        }
        Tensor::cat(&parts, 1)
    }
}

/// Stem channels are `STEM_MULTIPLIER * C` (DARTS uses 3; 1 is enough for 8x8 digits).
pub const STEM_MULTIPLIER: usize = 1;

/// The whole network.
pub struct Network {
    stem: Conv,
    stem_bn: BatchNorm,
    cells: Vec<Cell>,
    fc_w: Var,
    fc_b: Var,
}

impl Network {
    /// Builds the network for `genotype` with `c` channels in the first cell (doubled at the
    /// reduction) and `classes` outputs; returns it with its parameters.
    pub fn new(
        genotype: &Genotype,
        c: usize,
        classes: usize,
        mut p: ParamInit,
    ) -> Result<(Network, Vec<Var>)> {
        let c_stem = STEM_MULTIPLIER * c;
        let stem = Conv::new(&mut p, 1, c_stem, (3, 3), 1)?;
        let stem_bn = BatchNorm::new(&mut p, c_stem)?;
        let layout = [(false, c), (true, 2 * c), (false, 2 * c)];
        let (mut c_pp, mut c_p) = (c_stem, c_stem);
        let mut reduction_prev = false;
        let mut cells = Vec::with_capacity(layout.len());
        for (reduction, cc) in layout {
            let spec = if reduction {
                &genotype.reduce
            } else {
                &genotype.normal
            };
            let cell = Cell::new(&mut p, spec, (c_pp, c_p, cc), reduction, reduction_prev)?;
            (c_pp, c_p) = (c_p, cell.out_channels());
            reduction_prev = reduction;
            cells.push(cell);
        }
        let bound = 1.0 / (c_p as f32).sqrt();
        let fc_w = p.uniform(&[classes, c_p], bound)?;
        let fc_b = p.constant(&[classes], 0.0)?;
        let net = Network {
            stem,
            stem_bn,
            cells,
            fc_w,
            fc_b,
        };
        Ok((net, p.into_vars()))
    }

    /// Logits `[B, classes]` for images `[B, 1, 8, 8]`.
    pub fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor> {
        let s = self.stem_bn.forward(&self.stem.forward(x)?, train)?;
        let (mut s0, mut s1) = (s.clone(), s);
        for cell in self.cells.iter_mut() {
            let out = cell.forward(&s0, &s1, train)?;
            (s0, s1) = (s1, out);
        }
        let pooled = s1.mean((2, 3))?;
        pooled.matmul(&self.fc_w.t()?)?.broadcast_add(&self.fc_b)
    }

    /// Predicted classes for images `[B, 1, 8, 8]` (evaluation mode).
    pub fn predict(&mut self, x: &Tensor) -> Result<Vec<u32>> {
        self.forward(x, false)?.argmax(D::Minus1)?.to_vec1::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genotype::{tests::DARTS_V2, tests::NASNET_A, Space};
    use rand::SeedableRng;

    fn init() -> ParamInit {
        ParamInit::new(SeedRng::seed_from_u64(9))
    }

    fn random(shape: &[usize]) -> Tensor {
        let mut p = init();
        p.uniform(shape, 1.0).unwrap().as_tensor().clone()
    }

    /// Every operation of both spaces keeps the shape at stride 1 and halves it at stride 2,
    /// in training and evaluation mode, and passes a gradient back (except `none`).
    #[test]
    fn every_op_has_the_right_shape() {
        let c = 4;
        for space in [Space::Darts, Space::Nasnet] {
            for name in space.ops().iter().map(|o| o.name()) {
                let kind = OpKind::parse(space, name).unwrap();
                for (size, stride) in [(8, 1), (8, 2), (4, 1), (4, 2), (2, 1)] {
                    let mut p = init();
                    let mut op = Op::new(&mut p, kind, c, stride).unwrap();
                    let x = Var::from_tensor(&random(&[3, c, size, size])).unwrap();
                    for train in [true, false] {
                        let y = op.forward(&x, train).unwrap();
                        let want = [3, c, size / stride, size / stride];
                        match y {
                            None => assert_eq!(kind, OpKind::Zero),
                            Some(y) => {
                                assert_eq!(y.dims(), &want, "{name} size {size} stride {stride}");
                                if train {
                                    let g = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
                                    let gx = g.get(&x).expect("input gradient");
                                    assert_eq!(gx.dims(), x.dims());
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn factorized_reduce_and_preprocessing_shapes() {
        let mut p = init();
        let mut fr = FactorizedReduce::new(&mut p, 6, 4).unwrap();
        let y = fr.forward(&random(&[2, 6, 8, 8]), true).unwrap();
        assert_eq!(y.dims(), &[2, 4, 4, 4]);
        let y = fr.forward(&random(&[2, 6, 5, 5]), true).unwrap();
        assert_eq!(y.dims(), &[2, 4, 3, 3]);
    }

    #[test]
    fn networks_give_logits_and_count_parameters() {
        for json in [DARTS_V2, NASNET_A] {
            let g = Genotype::from_json(json).unwrap();
            let (mut net, vars) = Network::new(&g, 8, 10, init()).unwrap();
            let x = random(&[5, 1, 8, 8]);
            assert_eq!(net.forward(&x, true).unwrap().dims(), &[5, 10]);
            assert_eq!(net.predict(&x).unwrap().len(), 5);
            let params: usize = vars.iter().map(|v| v.elem_count()).sum();
            assert!(params > 1000, "{params}");
        }
    }

    #[test]
    fn cells_with_zero_nodes_and_concatenated_inputs_work() {
        let json = r#"{"space":"darts",
          "normal":[["none",0],["none",1],["skip_connect",2],["none",0],
                    ["avg_pool_3x3",3],["none",1],["none",0],["none",1]],
          "normal_concat":[1,2,3,4,5],
          "reduce":[["none",0],["none",1],["skip_connect",2],["max_pool_3x3",1],
                    ["none",0],["none",1],["none",0],["none",1]],
          "reduce_concat":[0,3]}"#;
        let g = Genotype::from_json(json).unwrap();
        let (mut net, _) = Network::new(&g, 4, 10, init()).unwrap();
        let y = net.forward(&random(&[2, 1, 8, 8]), true).unwrap();
        assert_eq!(y.dims(), &[2, 10]);
    }

    /// Dead nodes get no parameters.
    #[test]
    fn dead_nodes_have_no_parameters() {
        let count = |json: &str| {
            let g = Genotype::from_json(json).unwrap();
            let (_, vars) = Network::new(&g, 4, 10, init()).unwrap();
            vars.iter().map(|v| v.elem_count()).sum::<usize>()
        };
        let full = count(DARTS_V2);
        let fewer =
            count(&DARTS_V2.replace(r#""normal_concat":[2,3,4,5]"#, r#""normal_concat":[2,3,4]"#));
        assert!(fewer < full);
    }
}
