//! Hand-written CPU kernels (candle custom ops) for what candle lacks or does slowly:
//! depthwise convolution with stride and dilation, pointwise (1x1) convolution, padded max /
//! average pooling with any stride (candle's pooling has no padding and no backward pass when
//! stride != kernel), and a fused batch normalisation (a dozen small candle ops and their
//! strided reductions otherwise dominate the training time).
//!
//! All kernels are single-threaded plain loops over `f32` in NCHW layout with a fixed order
//! of summation, so their results are bit-for-bit reproducible.
//!
//! Window operations work on a "wide grid" (see [`Grid`]): each input plane is copied into a
//! padded plane, and the stride-1 output is computed at every padded column, so that every tap
//! of the window is one long contiguous (vectorisable) run instead of many 4- or 8-wide rows;
//! the extra columns, and for stride 2 the skipped positions, are discarded.

use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Result, Shape, Storage, Tensor,
};

/// Output size of a window operation along one axis.
pub fn out_size(input: usize, k: usize, stride: usize, pad: usize, dil: usize) -> usize {
    (input + 2 * pad - dil * (k - 1) - 1) / stride + 1
}

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let data = match s {
        CpuStorage::F32(v) => v.as_slice(),
        _ => bail!("{what}: only f32 is supported"),
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => bail!("{what}: input must be contiguous"),
    }
}

fn dims4(shape: &Shape, what: &str) -> Result<(usize, usize, usize, usize)> {
    match shape.dims() {
        &[b, c, h, w] => Ok((b, c, h, w)),
        d => bail!("{what}: expected a 4-d NCHW tensor, got {d:?}"),
    }
}

/// Calls `f` with the contiguous `f32` data of the tensors, without copying what is already
/// contiguous.
fn with_slices<R>(ts: &[&Tensor], f: impl FnOnce(&[&[f32]]) -> Result<R>) -> Result<R> {
    let owned: Vec<Tensor> = ts.iter().map(|t| t.contiguous()).collect::<Result<_>>()?;
    let guards: Vec<_> = owned.iter().map(|t| t.storage_and_layout()).collect();
    let mut slices = Vec::with_capacity(guards.len());
    for (st, l) in &guards {
        match &**st {
            Storage::Cpu(c) => slices.push(f32_slice(c, l, "kernel")?),
            _ => bail!("the digits kernels run on the CPU only"),
        }
    }
    f(&slices)
}

/// `sum(a[i] * b[i])` with eight fixed partial sums (vectorises, same order every time).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = acc.iter().sum::<f32>();
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s
}

/// `out[j] += a * x[start + j]` for every `j`.
#[inline]
fn axpy_from(out: &mut [f32], a: f32, x: &[f32], start: usize) {
    let n = out.len();
    for (o, &v) in out.iter_mut().zip(&x[start..start + n]) {
        *o += a * v;
    }
}

/// `out[start + j] += a * g[j]` for every `j`.
#[inline]
fn axpy_to(out: &mut [f32], start: usize, a: f32, g: &[f32]) {
    for (o, &v) in out[start..start + g.len()].iter_mut().zip(g) {
        *o += a * v;
    }
}

/// Geometry of a window operation on the wide grid of one plane.
#[derive(Clone, Copy, Debug)]
pub struct Grid {
    h: usize,
    w: usize,
    ph: usize,
    pw: usize,
    wp: usize,
    /// Padded plane size `hp * wp`.
    plane: usize,
    /// Output size (with the stride).
    pub ho: usize,
    /// Output width (with the stride).
    pub wo: usize,
    s: usize,
    /// Length of the wide stride-1 output: `(ho1 - 1) * wp + wo1`.
    len: usize,
    /// Tap offsets in the padded plane, row-major over the window.
    offs: [usize; 49],
    taps: usize,
}

impl Grid {
    /// The grid of a `kh x kw` window with dilation `d`, padding `(ph, pw)` and stride `s` on
    /// an `h x w` plane; an error if the window does not fit.
    pub fn new(
        what: &str,
        (h, w): (usize, usize),
        (kh, kw): (usize, usize),
        (ph, pw): (usize, usize),
        d: usize,
        s: usize,
    ) -> Result<Grid> {
        let (span_h, span_w) = (d * (kh - 1) + 1, d * (kw - 1) + 1);
        if h + 2 * ph < span_h || w + 2 * pw < span_w || s == 0 || kh * kw > 49 {
            bail!(
                "{what}: a {kh}x{kw} window (dilation {d}, padding {ph},{pw}) does not fit {h}x{w}"
            );
        }
        let (hp, wp) = (h + 2 * ph, w + 2 * pw);
        let (ho1, wo1) = (hp - span_h + 1, wp - span_w + 1);
        let mut offs = [0usize; 49];
        for (t, o) in offs.iter_mut().take(kh * kw).enumerate() {
            *o = (t / kw) * d * wp + (t % kw) * d;
        }
        Ok(Grid {
            h,
            w,
            ph,
            pw,
            wp,
            plane: hp * wp,
            ho: (ho1 - 1) / s + 1,
            wo: (wo1 - 1) / s + 1,
            s,
            len: (ho1 - 1) * wp + wo1,
            offs,
            taps: kh * kw,
        })
    }

    fn offsets(&self) -> &[usize] {
        &self.offs[..self.taps]
    }

    /// Copies an `h x w` plane into the interior of `out` (a padded plane filled with `fill`).
    fn pad(&self, plane: &[f32], fill: f32, out: &mut [f32]) {
        out.fill(fill);
        for (iy, row) in plane.chunks_exact(self.w).enumerate() {
            let at = (iy + self.ph) * self.wp + self.pw;
            out[at..at + self.w].copy_from_slice(row);
        }
    }

    /// Adds the interior of a padded plane to an `h x w` plane.
    fn unpad_add(&self, padded: &[f32], plane: &mut [f32]) {
        for (iy, row) in plane.chunks_exact_mut(self.w).enumerate() {
            let at = (iy + self.ph) * self.wp + self.pw;
            for (o, &v) in row.iter_mut().zip(&padded[at..at + self.w]) {
                *o += v;
            }
        }
    }

    /// The wide-grid index of output `(oy, ox)`.
    #[inline]
    fn at(&self, oy: usize, ox: usize) -> usize {
        oy * self.s * self.wp + ox * self.s
    }

    /// Picks the outputs out of a wide buffer.
    fn extract(&self, wide: &[f32], out: &mut [f32]) {
        for (oy, row) in out.chunks_exact_mut(self.wo).enumerate() {
            for (ox, o) in row.iter_mut().enumerate() {
                *o = wide[self.at(oy, ox)];
            }
        }
    }

    /// Spreads an output gradient onto a (zeroed) wide buffer.
    fn spread(&self, g: &[f32], wide: &mut [f32]) {
        wide.fill(0.0);
        for (oy, row) in g.chunks_exact(self.wo).enumerate() {
            for (ox, &v) in row.iter().enumerate() {
                wide[self.at(oy, ox)] = v;
            }
        }
    }
}

/// 2-d convolution with a `kh x kw` window, padding `(ph, pw)`, a stride and a dilation,
/// either dense (`x` is `[B, Ci, H, W]`, the weight `[Co, Ci, kh, kw]`) or depthwise (one
/// filter per channel: the weight is `[C, 1, kh, kw]` and the output has `C` channels).
#[derive(Clone, Copy, Debug)]
pub struct Conv2d {
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Stride (both axes).
    pub stride: usize,
    /// Zero padding above and below.
    pub ph: usize,
    /// Zero padding left and right.
    pub pw: usize,
    /// Dilation (both axes).
    pub dil: usize,
    /// One filter per channel instead of one per (output, input) channel pair.
    pub depthwise: bool,
}

impl Conv2d {
    /// A dense convolution without dilation.
    pub fn dense(kh: usize, kw: usize, stride: usize, ph: usize, pw: usize) -> Self {
        Conv2d {
            kh,
            kw,
            stride,
            ph,
            pw,
            dil: 1,
            depthwise: false,
        }
    }

    /// A depthwise convolution with a square `k x k` window and the same padding, stride and
    /// dilation on both axes.
    pub fn depthwise(k: usize, stride: usize, pad: usize, dil: usize) -> Self {
        Conv2d {
            kh: k,
            kw: k,
            stride,
            ph: pad,
            pw: pad,
            dil,
            depthwise: true,
        }
    }

    /// Applies the convolution (with a backward pass) to `x` and the weight `w`.
    pub fn apply(self, x: &Tensor, w: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op2(&w.contiguous()?, self)
    }

    fn grid(&self, h: usize, w: usize) -> Result<Grid> {
        Grid::new(
            self.name(),
            (h, w),
            (self.kh, self.kw),
            (self.ph, self.pw),
            self.dil,
            self.stride,
        )
    }

    /// Input channels each output channel reads (`ci`, or 1 when depthwise).
    fn group(&self, ci: usize) -> usize {
        if self.depthwise {
            1
        } else {
            ci
        }
    }

    /// The first input channel output channel `o` reads.
    fn first_input(&self, o: usize) -> usize {
        if self.depthwise {
            o
        } else {
            0
        }
    }

    /// All `ci` planes of one image, padded.
    fn pad_image(&self, g: &Grid, x: &[f32], out: &mut [f32]) {
        for (plane, dst) in x.chunks_exact(g.h * g.w).zip(out.chunks_exact_mut(g.plane)) {
            g.pad(plane, 0.0, dst);
        }
    }
}

impl CustomOp2 for Conv2d {
    fn name(&self) -> &'static str {
        if self.depthwise {
            "depthwise-conv2d"
        } else {
            "conv2d"
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (b, ci, h, w) = dims4(l1.shape(), self.name())?;
        let (co, wci, kh, kw) = dims4(l2.shape(), self.name())?;
        let cig = self.group(ci);
        if wci != cig || kh != self.kh || kw != self.kw || (self.depthwise && co != ci) {
            bail!(
                "{}: weight {:?} does not fit {ci} input channels, window {}x{}",
                self.name(),
                l2.shape().dims(),
                self.kh,
                self.kw
            );
        }
        let g = self.grid(h, w)?;
        let x = f32_slice(s1, l1, self.name())?;
        let wt = f32_slice(s2, l2, self.name())?;
        let taps = g.taps;
        let mut padded = vec![0f32; ci * g.plane];
        let mut wide = vec![0f32; g.len];
        let mut out = vec![0f32; b * co * g.ho * g.wo];
        for (bi, ob) in out.chunks_exact_mut(co * g.ho * g.wo).enumerate() {
            self.pad_image(&g, &x[bi * ci * h * w..(bi + 1) * ci * h * w], &mut padded);
            for (o, dst) in ob.chunks_exact_mut(g.ho * g.wo).enumerate() {
                wide.fill(0.0);
                let first = self.first_input(o);
                for i in 0..cig {
                    let src = &padded[(first + i) * g.plane..(first + i + 1) * g.plane];
                    let wrow = &wt[(o * cig + i) * taps..(o * cig + i + 1) * taps];
                    for (&wv, &off) in wrow.iter().zip(g.offsets()) {
                        axpy_from(&mut wide, wv, src, off);
                    }
                }
                g.extract(&wide, dst);
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((b, co, g.ho, g.wo))))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (_, ci, h, w) = arg1.dims4()?;
        let co = arg2.dim(0)?;
        let cig = self.group(ci);
        let g = self.grid(h, w)?;
        let taps = g.taps;
        let (gx, gw) = with_slices(&[arg1, arg2, grad_res], |v| {
            let (x, wt, gr) = (v[0], v[1], v[2]);
            let mut padded = vec![0f32; ci * g.plane];
            let mut gpad = vec![0f32; ci * g.plane];
            let mut gwide = vec![0f32; g.len];
            let mut gx = vec![0f32; x.len()];
            let mut gw = vec![0f32; wt.len()];
            let img = ci * h * w;
            for (bi, gxb) in gx.chunks_exact_mut(img).enumerate() {
                self.pad_image(&g, &x[bi * img..(bi + 1) * img], &mut padded);
                gpad.fill(0.0);
                let gb = &gr[bi * co * g.ho * g.wo..(bi + 1) * co * g.ho * g.wo];
                for (o, go) in gb.chunks_exact(g.ho * g.wo).enumerate() {
                    g.spread(go, &mut gwide);
                    let first = self.first_input(o);
                    for i in 0..cig {
                        let ch = first + i;
                        let src = &padded[ch * g.plane..(ch + 1) * g.plane];
                        let gdst = &mut gpad[ch * g.plane..(ch + 1) * g.plane];
                        let wi = (o * cig + i) * taps;
                        for (t, &off) in g.offsets().iter().enumerate() {
                            gw[wi + t] += dot(&gwide, &src[off..off + g.len]);
                            axpy_to(gdst, off, wt[wi + t], &gwide);
                        }
                    }
                }
                for (gp, plane) in gpad.chunks_exact(g.plane).zip(gxb.chunks_exact_mut(h * w)) {
                    g.unpad_add(gp, plane);
                }
            }
            Ok((gx, gw))
        })?;
        Ok((
            Some(Tensor::from_vec(gx, arg1.shape(), arg1.device())?),
            Some(Tensor::from_vec(gw, arg2.shape(), arg2.device())?),
        ))
    }
}

/// Which pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// Maximum over the window (padding never wins).
    Max,
    /// Mean over the window's in-bounds values (PyTorch `count_include_pad=False`).
    Avg,
}

/// Padded 2-d pooling with a square window and any stride.
#[derive(Clone, Copy, Debug)]
pub struct Pool {
    /// Max or average.
    pub kind: PoolKind,
    /// Window size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Padding on every side (at most `k / 2`, so every window holds a real value).
    pub pad: usize,
}

impl Pool {
    /// Applies the pooling (with a backward pass) to `x`.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op1(self)
    }

    fn grid(&self, h: usize, w: usize) -> Result<Grid> {
        if self.pad > self.k / 2 {
            bail!(
                "{}: padding {} exceeds half the window {}",
                self.name(),
                self.pad,
                self.k
            );
        }
        Grid::new(
            self.name(),
            (h, w),
            (self.k, self.k),
            (self.pad, self.pad),
            1,
            self.stride,
        )
    }

    /// Number of in-bounds values in the window of output `(oy, ox)`.
    fn count(&self, g: &Grid, oy: usize, ox: usize) -> f32 {
        let inside = |o: usize, n: usize| {
            let lo = (o * self.stride).max(self.pad);
            let hi = (o * self.stride + self.k).min(n + self.pad);
            hi.saturating_sub(lo)
        };
        (inside(oy, g.h) * inside(ox, g.w)) as f32
    }

    /// Offset of the first maximal tap of the window at wide index `j` of a padded plane.
    fn argmax(g: &Grid, padded: &[f32], j: usize) -> usize {
        let offs = g.offsets();
        let mut best = offs[0];
        for &off in &offs[1..] {
            if padded[j + off] > padded[j + best] {
                best = off;
            }
        }
        best
    }
}

impl CustomOp1 for Pool {
    fn name(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "padded-max-pool2d",
            PoolKind::Avg => "padded-avg-pool2d",
        }
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, c, h, w) = dims4(layout.shape(), self.name())?;
        let g = self.grid(h, w)?;
        let x = f32_slice(storage, layout, self.name())?;
        let mut padded = vec![0f32; g.plane];
        let mut wide = vec![0f32; g.len];
        let mut out = vec![0f32; b * c * g.ho * g.wo];
        for (bc, o) in out.chunks_exact_mut(g.ho * g.wo).enumerate() {
            let plane = &x[bc * h * w..(bc + 1) * h * w];
            match self.kind {
                PoolKind::Max => {
                    g.pad(plane, f32::NEG_INFINITY, &mut padded);
                    wide.fill(f32::NEG_INFINITY);
                    for &off in g.offsets() {
                        for (m, &v) in wide.iter_mut().zip(&padded[off..off + g.len]) {
                            *m = m.max(v);
                        }
                    }
                    g.extract(&wide, o);
                }
                PoolKind::Avg => {
                    g.pad(plane, 0.0, &mut padded);
                    wide.fill(0.0);
                    for &off in g.offsets() {
                        axpy_from(&mut wide, 1.0, &padded, off);
                    }
                    g.extract(&wide, o);
                    for (oy, row) in o.chunks_exact_mut(g.wo).enumerate() {
                        for (ox, v) in row.iter_mut().enumerate() {
                            *v /= self.count(&g, oy, ox);
                        }
                    }
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((b, c, g.ho, g.wo))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let (_, _, h, w) = arg.dims4()?;
        let g = self.grid(h, w)?;
        let gx = with_slices(&[arg, grad_res], |v| {
            let (x, gr) = (v[0], v[1]);
            let mut padded = vec![0f32; g.plane];
            let mut gpad = vec![0f32; g.plane];
            let mut gx = vec![0f32; x.len()];
            for (bc, gxi) in gx.chunks_exact_mut(h * w).enumerate() {
                let gi = &gr[bc * g.ho * g.wo..(bc + 1) * g.ho * g.wo];
                gpad.fill(0.0);
                match self.kind {
                    PoolKind::Max => {
                        // The gradient goes to the first maximum of the window.
                        g.pad(
                            &x[bc * h * w..(bc + 1) * h * w],
                            f32::NEG_INFINITY,
                            &mut padded,
                        );
                        for oy in 0..g.ho {
                            for ox in 0..g.wo {
                                let j = g.at(oy, ox);
                                gpad[j + Pool::argmax(&g, &padded, j)] += gi[oy * g.wo + ox];
                            }
                        }
                    }
                    PoolKind::Avg => {
                        for oy in 0..g.ho {
                            for ox in 0..g.wo {
                                let j = g.at(oy, ox);
                                let share = gi[oy * g.wo + ox] / self.count(&g, oy, ox);
                                for &off in g.offsets() {
                                    gpad[j + off] += share;
                                }
                            }
                        }
                    }
                }
                g.unpad_add(&gpad, gxi);
            }
            Ok(gx)
        })?;
        Ok(Some(Tensor::from_vec(gx, arg.shape(), arg.device())?))
    }
}

/// Pointwise (1x1) convolution with a stride: `x` is `[B, Ci, H, W]`, the weight
/// `[Co, Ci, 1, 1]`; output position `(y, x)` reads input `(y * stride, x * stride)`.
#[derive(Clone, Copy, Debug)]
pub struct PointwiseConv {
    /// Stride (1 or 2).
    pub stride: usize,
}

impl PointwiseConv {
    /// Applies the convolution (with a backward pass) to `x` and the weight `w`.
    pub fn apply(self, x: &Tensor, w: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op2(&w.contiguous()?, self)
    }

    /// The input subsampled by the stride, `[B * Ci, Ho * Wo]` (borrowed at stride 1).
    fn gather<'a>(
        &self,
        x: &'a [f32],
        h: usize,
        w: usize,
    ) -> (std::borrow::Cow<'a, [f32]>, usize, usize) {
        let s = self.stride;
        let (ho, wo) = (out_size(h, 1, s, 0, 1), out_size(w, 1, s, 0, 1));
        if s == 1 {
            return (std::borrow::Cow::Borrowed(x), ho, wo);
        }
        let mut out = Vec::with_capacity(x.len() / (h * w) * ho * wo);
        for plane in x.chunks_exact(h * w) {
            for oy in 0..ho {
                out.extend((0..wo).map(|ox| plane[oy * s * w + ox * s]));
            }
        }
        (std::borrow::Cow::Owned(out), ho, wo)
    }
}

impl CustomOp2 for PointwiseConv {
    fn name(&self) -> &'static str {
        "pointwise-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (b, ci, h, w) = dims4(l1.shape(), self.name())?;
        let (co, wci, k1, k2) = dims4(l2.shape(), self.name())?;
        if wci != ci || k1 != 1 || k2 != 1 {
            bail!(
                "pointwise-conv2d: weight {:?} does not fit {ci} input channels",
                l2.shape().dims()
            );
        }
        let x = f32_slice(s1, l1, self.name())?;
        let wt = f32_slice(s2, l2, self.name())?;
        let (xs, ho, wo) = self.gather(x, h, w);
        let p = ho * wo;
        let mut out = vec![0f32; b * co * p];
        for (bo, dst) in out.chunks_exact_mut(p).enumerate() {
            let (bi, o) = (bo / co, bo % co);
            for i in 0..ci {
                axpy_from(dst, wt[o * ci + i], &xs, (bi * ci + i) * p);
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((b, co, ho, wo))))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (b, ci, h, w) = arg1.dims4()?;
        let co = arg2.dim(0)?;
        let s = self.stride;
        let (gx, gw) = with_slices(&[arg1, arg2, grad_res], |v| {
            let (x, wt, g) = (v[0], v[1], v[2]);
            let (xs, ho, wo) = self.gather(x, h, w);
            let p = ho * wo;
            let mut gxs = vec![0f32; b * ci * p];
            let mut gw = vec![0f32; co * ci];
            for bi in 0..b {
                for o in 0..co {
                    let go = &g[(bi * co + o) * p..(bi * co + o + 1) * p];
                    for i in 0..ci {
                        let at = (bi * ci + i) * p;
                        gw[o * ci + i] += dot(go, &xs[at..at + p]);
                        axpy_to(&mut gxs, at, wt[o * ci + i], go);
                    }
                }
            }
            if s == 1 {
                return Ok((gxs, gw));
            }
            let mut gx = vec![0f32; x.len()];
            for (plane, src) in gx.chunks_exact_mut(h * w).zip(gxs.chunks_exact(p)) {
                for oy in 0..ho {
                    for ox in 0..wo {
                        plane[oy * s * w + ox * s] = src[oy * wo + ox];
                    }
                }
            }
            Ok((gx, gw))
        })?;
        Ok((
            Some(Tensor::from_vec(gx, arg1.shape(), arg1.device())?),
            Some(Tensor::from_vec(gw, arg2.shape(), arg2.device())?),
        ))
    }
}

/// Per-channel mean and variance (biased) of a contiguous `[B, C, H, W]` buffer, in `f64`.
pub fn channel_stats(x: &[f32], b: usize, c: usize, hw: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (b * hw) as f64;
    let mut mean = vec![0f64; c];
    for (i, plane) in x.chunks_exact(hw).enumerate() {
        mean[i % c] += plane.iter().map(|&v| v as f64).sum::<f64>();
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0f64; c];
    for (i, plane) in x.chunks_exact(hw).enumerate() {
        let m = mean[i % c];
        var[i % c] += plane.iter().map(|&e| (e as f64 - m).powi(2)).sum::<f64>();
    }
    var.iter_mut().for_each(|v| *v /= n);
    (mean, var)
}

/// Per-channel mean and variance of a `[B, C, H, W]` tensor.
pub fn tensor_channel_stats(x: &Tensor) -> Result<(Vec<f64>, Vec<f64>)> {
    let (b, c, h, w) = x.dims4()?;
    with_slices(&[x], |v| Ok(channel_stats(v[0], b, c, h * w)))
}

/// Batch normalisation `y = gamma * (x - mean) * invstd + beta` of `x` (`[B, C, H, W]`) with
/// `gamma`, `beta` of shape `[C]` and given per-channel statistics. With `batch_stats` the
/// statistics are those of `x` itself (training mode) and the backward pass accounts for
/// them; otherwise they are constants (running statistics).
#[derive(Clone, Debug)]
pub struct BatchNormOp {
    /// Per-channel mean.
    pub mean: Vec<f32>,
    /// Per-channel `1 / sqrt(var + eps)`.
    pub invstd: Vec<f32>,
    /// Whether `mean` and `invstd` are the statistics of this batch.
    pub batch_stats: bool,
}

impl BatchNormOp {
    /// Applies it (with a backward pass).
    pub fn apply(self, x: &Tensor, gamma: &Tensor, beta: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op3(gamma, beta, self)
    }
}

impl CustomOp3 for BatchNormOp {
    fn name(&self) -> &'static str {
        "batch-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (_, c, h, w) = dims4(l1.shape(), self.name())?;
        let x = f32_slice(s1, l1, self.name())?;
        let gamma = f32_slice(s2, l2, self.name())?;
        let beta = f32_slice(s3, l3, self.name())?;
        if gamma.len() != c || beta.len() != c || self.mean.len() != c || self.invstd.len() != c {
            bail!("batch-norm: parameters or statistics do not fit {c} channels");
        }
        let hw = h * w;
        let mut out = vec![0f32; x.len()];
        for (i, (o, xp)) in out.chunks_exact_mut(hw).zip(x.chunks_exact(hw)).enumerate() {
            let ch = i % c;
            let scale = gamma[ch] * self.invstd[ch];
            let shift = beta[ch] - self.mean[ch] * scale;
            for (o, &v) in o.iter_mut().zip(xp) {
                *o = v * scale + shift;
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        _arg3: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, c, h, w) = arg1.dims4()?;
        let hw = h * w;
        let n = (b * hw) as f32;
        let (gx, ggamma, gbeta) = with_slices(&[arg1, arg2, grad_res], |v| {
            let (x, gamma, g) = (v[0], v[1], v[2]);
            // Per channel: sum(g) and sum(g * xhat).
            let mut gbeta = vec![0f32; c];
            let mut ggamma = vec![0f32; c];
            for (i, (gp, xp)) in g.chunks_exact(hw).zip(x.chunks_exact(hw)).enumerate() {
                let ch = i % c;
                let (m, is) = (self.mean[ch], self.invstd[ch]);
                let (mut sg, mut sgx) = (0f32, 0f32);
                for (&gv, &xv) in gp.iter().zip(xp) {
                    sg += gv;
                    sgx += gv * (xv - m) * is;
                }
                gbeta[ch] += sg;
                ggamma[ch] += sgx;
            }
            let mut gx = vec![0f32; x.len()];
            for (i, ((o, gp), xp)) in gx
                .chunks_exact_mut(hw)
                .zip(g.chunks_exact(hw))
                .zip(x.chunks_exact(hw))
                .enumerate()
            {
                let ch = i % c;
                let (m, is) = (self.mean[ch], self.invstd[ch]);
                let k = gamma[ch] * is;
                if self.batch_stats {
                    let (mb, mg) = (gbeta[ch] / n, ggamma[ch] / n);
                    for ((o, &gv), &xv) in o.iter_mut().zip(gp).zip(xp) {
                        *o = k * (gv - mb - (xv - m) * is * mg);
                    }
                } else {
                    for (o, &gv) in o.iter_mut().zip(gp) {
                        *o = k * gv;
                    }
                }
            }
            Ok((gx, ggamma, gbeta))
        })?;
        let dev = arg1.device();
        Ok((
            Some(Tensor::from_vec(gx, arg1.shape(), dev)?),
            Some(Tensor::from_vec(ggamma, c, dev)?),
            Some(Tensor::from_vec(gbeta, c, dev)?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};

    fn random(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// Asserts that `ours` and `theirs` (the same function of `vars`, computed two ways)
    /// agree within `fwd` and that the gradients of `sum(out * up)` with respect to every
    /// var agree within `grad` (`up` random from `seed`).
    fn assert_agree(
        ours: &Tensor,
        theirs: &Tensor,
        vars: &[&Var],
        seed: u64,
        fwd: f32,
        grad: f32,
        what: &str,
    ) {
        let d = max_abs_diff(ours, theirs);
        assert!(d < fwd, "forward {what}: {d}");
        let up = random(ours.dims(), seed);
        let grads = |out: &Tensor| (out * &up).unwrap().sum_all().unwrap().backward().unwrap();
        let (g1, g2) = (grads(ours), grads(theirs));
        for v in vars {
            let d = max_abs_diff(g1.get(v).unwrap(), g2.get(v).unwrap());
            assert!(d < grad, "grad {what}: {d}");
        }
    }

    /// Forward and backward agree with candle's own grouped convolution.
    #[test]
    fn depthwise_matches_candle_grouped_conv() {
        let cases = [
            (3, 1, 1),
            (3, 2, 1),
            (5, 1, 1),
            (5, 2, 2),
            (3, 1, 2),
            (5, 1, 2),
            (7, 1, 1),
            (7, 2, 1),
        ];
        for (h, w) in [(8, 8), (4, 4), (7, 5)] {
            for (k, stride, dil) in cases {
                let pad = dil * (k - 1) / 2;
                let c = 3;
                let x = Var::from_tensor(&random(&[2, c, h, w], 1)).unwrap();
                let wt = Var::from_tensor(&random(&[c, 1, k, k], 2)).unwrap();
                let ours = Conv2d::depthwise(k, stride, pad, dil)
                    .apply(&x, &wt)
                    .unwrap();
                let theirs = x.conv2d(&wt, pad, stride, dil, c).unwrap();
                let what = format!("{h}x{w} k={k} s={stride} d={dil}");
                assert_agree(&ours, &theirs, &[&x, &wt], 3, 1e-5, 1e-4, &what);
            }
        }
    }

    /// Where candle supports pooling (window = stride, no padding), ours agrees with its
    /// forward pass, and with its backward pass for average pooling. (candle 0.11.1's max-pool
    /// backward scales the gradient of a window's maximum by the share of maxima in the window,
    /// 1/4 here, instead of passing it through; ours is checked by finite differences below.)
    #[test]
    fn pooling_matches_candle_without_padding() {
        let x = Var::from_tensor(&random(&[2, 3, 8, 8], 4)).unwrap();
        for (kind, theirs) in [
            (PoolKind::Max, x.max_pool2d(2).unwrap()),
            (PoolKind::Avg, x.avg_pool2d(2).unwrap()),
        ] {
            let ours = Pool {
                kind,
                k: 2,
                stride: 2,
                pad: 0,
            }
            .apply(&x)
            .unwrap();
            assert!(max_abs_diff(&ours, &theirs) < 1e-6);
            if kind == PoolKind::Avg {
                assert_agree(&ours, &theirs, &[&x], 5, 1e-6, 1e-6, "avg pool");
            }
        }
    }

    /// Padded pooling against a direct definition, and its gradient against finite differences.
    #[test]
    fn padded_pooling_is_right() {
        let x = random(&[1, 2, 5, 5], 6);
        let xv = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for kind in [PoolKind::Max, PoolKind::Avg] {
            for (k, stride, pad) in [(3, 1, 1), (3, 2, 1), (5, 1, 2), (7, 2, 3), (2, 2, 0)] {
                let pool = Pool {
                    kind,
                    k,
                    stride,
                    pad,
                };
                let y = pool.apply(&x).unwrap();
                let ho = out_size(5, k, stride, pad, 1);
                assert_eq!(y.dims(), &[1, 2, ho, ho]);
                let yv = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                for c in 0..2 {
                    for oy in 0..ho {
                        for ox in 0..ho {
                            let mut vals = vec![];
                            let y0 = (oy * stride) as isize - pad as isize;
                            let x0 = (ox * stride) as isize - pad as isize;
                            for iy in y0..y0 + k as isize {
                                for ix in x0..x0 + k as isize {
                                    if (0..5).contains(&iy) && (0..5).contains(&ix) {
                                        vals.push(xv[c * 25 + iy as usize * 5 + ix as usize]);
                                    }
                                }
                            }
                            let want = match kind {
                                PoolKind::Max => vals.iter().cloned().fold(f32::MIN, f32::max),
                                PoolKind::Avg => vals.iter().sum::<f32>() / vals.len() as f32,
                            };
                            let got = yv[(c * ho + oy) * ho + ox];
                            assert!((got - want).abs() < 1e-6, "{kind:?} k={k} s={stride}");
                        }
                    }
                }
                // Gradient of sum(y * up) against central differences.
                let up = random(&[1, 2, ho, ho], 7);
                let xvar = Var::from_tensor(&x).unwrap();
                let loss = |t: &Tensor| {
                    (pool.apply(t).unwrap() * &up)
                        .unwrap()
                        .sum_all()
                        .unwrap()
                        .to_scalar::<f32>()
                        .unwrap()
                };
                let g = (pool.apply(&xvar).unwrap() * &up)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                let gv = g
                    .get(&xvar)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                for i in 0..xv.len() {
                    let eps = 1e-3;
                    let mut a = xv.clone();
                    a[i] += eps;
                    let mut b = xv.clone();
                    b[i] -= eps;
                    let fa = loss(&Tensor::from_vec(a, x.shape(), &Device::Cpu).unwrap());
                    let fb = loss(&Tensor::from_vec(b, x.shape(), &Device::Cpu).unwrap());
                    let num = (fa - fb) / (2.0 * eps);
                    assert!(
                        (num - gv[i]).abs() < 2e-2,
                        "{kind:?} k={k} s={stride} i={i}"
                    );
                }
            }
        }
    }

    /// The fused batch norm agrees with the same computation in plain candle ops, forward
    /// and backward, with batch statistics.
    #[test]
    fn batch_norm_matches_plain_ops() {
        let (b, c, h, w) = (3, 4, 5, 5);
        let x = Var::from_tensor(&random(&[b, c, h, w], 8)).unwrap();
        let gamma = Var::from_tensor(&random(&[c], 9)).unwrap();
        let beta = Var::from_tensor(&random(&[c], 10)).unwrap();
        let xv = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let (mean, var) = channel_stats(&xv, b, c, h * w);
        let eps = 1e-5;
        let op = BatchNormOp {
            mean: mean.iter().map(|&m| m as f32).collect(),
            invstd: var
                .iter()
                .map(|&v| 1.0 / ((v + eps) as f32).sqrt())
                .collect(),
            batch_stats: true,
        };
        let ours = op.apply(&x, &gamma, &beta).unwrap();
        let m = x.mean_keepdim((0, 2, 3)).unwrap();
        let xc = x.broadcast_sub(&m).unwrap();
        let v = xc.sqr().unwrap().mean_keepdim((0, 2, 3)).unwrap();
        let g4 = gamma.reshape((1, c, 1, 1)).unwrap();
        let b4 = beta.reshape((1, c, 1, 1)).unwrap();
        let theirs = xc
            .broadcast_div(&(v + eps).unwrap().sqrt().unwrap())
            .unwrap()
            .broadcast_mul(&g4)
            .unwrap()
            .broadcast_add(&b4)
            .unwrap();
        assert_agree(
            &ours,
            &theirs,
            &[&x, &gamma, &beta],
            11,
            1e-5,
            1e-4,
            "batch norm",
        );
    }

    /// Forward and backward agree with candle's 1x1 convolution, at strides 1 and 2.
    #[test]
    fn pointwise_matches_candle_conv() {
        for (stride, size) in [(1, 8), (2, 8), (2, 7)] {
            let x = Var::from_tensor(&random(&[2, 5, size, size], 12)).unwrap();
            let w = Var::from_tensor(&random(&[3, 5, 1, 1], 13)).unwrap();
            let ours = PointwiseConv { stride }.apply(&x, &w).unwrap();
            let theirs = x.conv2d(&w, 0, stride, 1, 1).unwrap();
            let what = format!("stride {stride} size {size}");
            assert_agree(&ours, &theirs, &[&x, &w], 14, 1e-5, 1e-4, &what);
        }
    }

    /// Forward and backward agree with candle's convolution, including non-square windows
    /// with their own padding (candle's input padded explicitly) and stride 2.
    #[test]
    fn dense_conv_matches_candle_conv() {
        for (h, w) in [(8, 8), (4, 4), (7, 5)] {
            for (kh, kw, stride) in [
                (3, 3, 1),
                (3, 3, 2),
                (1, 7, 1),
                (1, 7, 2),
                (7, 1, 1),
                (1, 3, 2),
                (3, 1, 1),
            ] {
                let (ph, pw) = (kh / 2, kw / 2);
                let x = Var::from_tensor(&random(&[2, 3, h, w], 15)).unwrap();
                let wt = Var::from_tensor(&random(&[4, 3, kh, kw], 16)).unwrap();
                let ours = Conv2d::dense(kh, kw, stride, ph, pw)
                    .apply(&x, &wt)
                    .unwrap();
                let theirs = x
                    .pad_with_zeros(2, ph, ph)
                    .unwrap()
                    .pad_with_zeros(3, pw, pw)
                    .unwrap()
                    .conv2d(&wt, 0, stride, 1, 1)
                    .unwrap();
                let what = format!("{h}x{w} {kh}x{kw} s={stride}");
                assert_agree(&ours, &theirs, &[&x, &wt], 17, 1e-5, 1e-4, &what);
            }
        }
    }
}
