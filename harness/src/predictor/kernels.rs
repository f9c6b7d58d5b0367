//! Low-level numeric kernels shared by the predictors: a checked wrapper around `gemm`, the
//! fused Adam update, bias + ReLU passes, and a deterministic task runner bounded by
//! [`Threads`](super::Threads).
//!
//! Every elementwise kernel is written so that each output element depends only on its own
//! inputs, and every reduction has a fixed association order (fixed lanes, fixed chunks), so
//! results are bit-identical for any thread count and any SIMD width: Rust never contracts
//! `a * b + c` into an FMA, and IEEE add/mul/div/sqrt are correctly rounded at every width.

use super::bf16::{self, Bf16Kernel, PackedA, PackedB};
use gemm::Parallelism;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The `gemm` micro-kernel family this process uses for f32 (decides the last bits of every
/// product; record it next to results).
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "gemm-0.19 f32 avx512f";
        }
        if std::arch::is_x86_feature_detected!("fma") {
            return "gemm-0.19 f32 fma (avx2)";
        }
        "gemm-0.19 f32 scalar/sse"
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "gemm-0.19 f32 generic"
    }
}

/// A strided read-only f32 matrix operand (`rs`: distance between rows, `cs`: between columns).
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Operand<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn row_major(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            rs: 1,
            cs: cols,
        }
    }
    fn check(&self, rows: usize, cols: usize, what: &str) {
        if rows == 0 || cols == 0 {
            return;
        }
        let last = (rows - 1) * self.rs + (cols - 1) * self.cs;
        assert!(
            last < self.data.len(),
            "gemm {what}: {rows}x{cols} (rs {}, cs {}) exceeds {} values",
            self.rs,
            self.cs,
            self.data.len()
        );
    }
}

/// `dst[m x n, row-major] = lhs[m x k] * rhs[k x n]` (overwrites `dst`).
pub(crate) fn matmul(
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    lhs: Operand<'_>,
    rhs: Operand<'_>,
    par: Parallelism,
) {
    assert!(
        dst.len() >= m * n,
        "gemm dst: {m}x{n} exceeds {}",
        dst.len()
    );
    lhs.check(m, k, "lhs");
    rhs.check(k, n, "rhs");
    // SAFETY: every index touched is inside the slices (checked above); dst does not alias
    // lhs or rhs (a `&mut` and `&` borrow cannot overlap).
    unsafe { gemm_into(dst.as_mut_ptr(), n, m, n, k, lhs, rhs, par) }
}

/// `gemm` writing the `m x n` product into a row-major output at `dst` whose rows are
/// `row_stride` values apart (overwrites, no accumulation; zeros when `k == 0`).
///
/// # Safety
/// `dst` must be valid for writes of the whole `m x n` block with that row stride, must not
/// overlap the operands, and the operands must hold `m x k` and `k x n` values (see
/// [`Operand::check`]).
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_into(
    dst: *mut f32,
    row_stride: usize,
    m: usize,
    n: usize,
    k: usize,
    lhs: Operand<'_>,
    rhs: Operand<'_>,
    par: Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for i in 0..m {
            // SAFETY: row i of the block is inside the output (caller's contract).
            unsafe { std::slice::from_raw_parts_mut(dst.add(i * row_stride), n).fill(0.0) };
        }
        return;
    }
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            row_stride as isize,
            false,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

/// Width of the column blocks of [`matmul_blocked`] (fixed: never depends on threads).
pub(crate) const COL_BLOCK: usize = 128;

/// What [`matmul_blocked`] applies to each finished block of `dst`.
#[derive(Clone, Copy)]
pub(crate) enum Epilogue<'a> {
    /// `dst += bias` per row, then ReLU when the flag is set.
    BiasAct(&'a [f32], bool),
    /// `dst[act == 0] = 0` (`act` has the shape of `dst`).
    ReluMask(&'a [f32]),
}

#[derive(Clone, Copy)]
struct SyncPtr(*mut f32);
// SAFETY: only used through `ColumnBlocks`, whose callers write disjoint column blocks.
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}

/// A row-major `m x n` output whose disjoint column blocks may be computed from several
/// workers at once.
pub(crate) struct ColumnBlocks<'a> {
    ptr: SyncPtr,
    m: usize,
    n: usize,
    _borrow: std::marker::PhantomData<&'a mut [f32]>,
}

impl<'a> ColumnBlocks<'a> {
    /// Wraps `dst` (at least `m * n` values).
    pub fn new(dst: &'a mut [f32], m: usize, n: usize) -> Self {
        assert!(
            dst.len() >= m * n,
            "gemm dst: {m}x{n} exceeds {}",
            dst.len()
        );
        Self {
            ptr: SyncPtr(dst.as_mut_ptr()),
            m,
            n,
            _borrow: std::marker::PhantomData,
        }
    }

    /// Columns `j0..j0 + w` of the output = `lhs[m x k] * rhs[k x w]` (single-threaded
    /// `gemm`), then `epi` on that block while it is in cache (`epi` is indexed like the whole
    /// output).
    ///
    /// # Safety
    /// No other call may write an overlapping column range at the same time.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn matmul(
        &self,
        j0: usize,
        w: usize,
        k: usize,
        lhs: Operand<'_>,
        rhs: Operand<'_>,
        epi: Epilogue<'_>,
    ) {
        let (m, n) = (self.m, self.n);
        assert!(j0 + w <= n, "column block {j0}+{w} outside {n} columns");
        lhs.check(m, k, "lhs");
        rhs.check(k, w, "rhs");
        if m == 0 || w == 0 {
            return;
        }
        // SAFETY: the block lies inside the m x n buffer (checked above and in `new`), the
        // caller guarantees no concurrent writer of these columns, and the operands are in
        // bounds and cannot alias the output (it is mutably borrowed for 'a).
        unsafe {
            gemm_into(self.ptr.0.add(j0), n, m, w, k, lhs, rhs, Parallelism::None);
            self.finish(j0, w, epi);
        }
    }

    /// As [`matmul`](Self::matmul) with the bf16 `kernel` on packed operands: columns
    /// `j0..j0 + w` = `a[m x kp] * b[kp x (b_col..b_col + w)]`, then `epi`.
    ///
    /// # Safety
    /// As [`matmul`](Self::matmul); `kernel` must be available.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn matmul_bf16(
        &self,
        j0: usize,
        w: usize,
        kernel: Bf16Kernel,
        a: PackedA<'_>,
        b: PackedB<'_>,
        b_col: usize,
        epi: Epilogue<'_>,
    ) {
        assert!(
            j0 + w <= self.n,
            "column block {j0}+{w} outside {} columns",
            self.n
        );
        if self.m == 0 || w == 0 {
            return;
        }
        // SAFETY: as in `matmul`; `bf16::gemm` checks the packed operands' bounds.
        unsafe {
            bf16::gemm(
                kernel,
                a,
                0,
                b,
                b_col,
                self.m,
                w,
                self.ptr.0.add(j0),
                self.n,
            );
            self.finish(j0, w, epi);
        }
    }

    /// Applies `epi` to the finished columns `j0..j0 + w`.
    ///
    /// # Safety
    /// No other call may write an overlapping column range at the same time.
    unsafe fn finish(&self, j0: usize, w: usize, epi: Epilogue<'_>) {
        let (m, n) = (self.m, self.n);
        match epi {
            Epilogue::BiasAct(b, _) => assert_eq!(b.len(), n, "bias length"),
            Epilogue::ReluMask(a) => assert!(a.len() >= m * n, "mask shape"),
        }
        for i in 0..m {
            // SAFETY: row i, columns j0..j0 + w lie inside the buffer (checked by callers);
            // the caller guarantees exclusive access to them.
            let row = unsafe { std::slice::from_raw_parts_mut(self.ptr.0.add(i * n + j0), w) };
            match epi {
                Epilogue::BiasAct(b, relu) => bias_act(row, &b[j0..j0 + w], relu),
                Epilogue::ReluMask(a) => relu_mask(row, &a[i * n + j0..i * n + j0 + w]),
            }
        }
    }
}

/// `dst[m x n, row-major] = lhs[m x k] * rhs[k x n]`, computed as independent column blocks
/// of [`COL_BLOCK`] columns (single-threaded `gemm` each, spread over at most `threads`
/// workers), each followed by `epi` while it is still in cache. For the MLP's shapes
/// (200 x 1000 x 1000) a 200 x 128 block runs faster on one core than `gemm`'s own threading
/// of the whole product, and the blocks make the work split explicit and thread-independent.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_blocked(
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    lhs: Operand<'_>,
    rhs: Operand<'_>,
    epi: Epilogue<'_>,
    threads: usize,
) {
    rhs.check(k, n, "rhs");
    let out = ColumnBlocks::new(dst, m, n);
    each_column_block(n, threads, |j0, w| {
        let rb = Operand {
            data: &rhs.data[j0 * rhs.cs..],
            rs: rhs.rs,
            cs: rhs.cs,
        };
        // SAFETY: each task writes its own column block [j0, j0 + w).
        unsafe { out.matmul(j0, w, k, lhs, rb, epi) };
    });
}

/// [`matmul_blocked`] with the bf16 `kernel` on packed operands (`a`: m rows; `b`: n columns).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_blocked_bf16(
    dst: &mut [f32],
    m: usize,
    n: usize,
    kernel: Bf16Kernel,
    a: PackedA<'_>,
    b: PackedB<'_>,
    epi: Epilogue<'_>,
    threads: usize,
) {
    let out = ColumnBlocks::new(dst, m, n);
    // SAFETY: each task writes its own column block [j0, j0 + w).
    each_column_block(n, threads, |j0, w| unsafe {
        out.matmul_bf16(j0, w, kernel, a, b, j0, epi)
    });
}

/// The `m x n` product `a * b` (bf16 `kernel`, packed operands) in [`COL_BLOCK`]-column
/// blocks on at most `threads` workers, each finished 32 x 32 block going straight to the
/// bias, the activation and the outputs `out` names (see [`bf16::FusedOut`]).
///
/// # Safety
/// `out` holds the `m x n` output as [`bf16::FusedOut`] describes and nothing else accesses
/// it meanwhile; `kernel` is [available](Bf16Kernel::available).
pub(crate) unsafe fn matmul_blocked_bf16_fused(
    m: usize,
    n: usize,
    kernel: Bf16Kernel,
    a: PackedA<'_>,
    b: PackedB<'_>,
    out: bf16::FusedOut<'_>,
    threads: usize,
) {
    // SAFETY: each task writes its own column block [j0, j0 + w) of every output (caller's
    // contract for the rest).
    each_column_block(n, threads, |j0, w| unsafe {
        bf16::gemm_fused(kernel, a, b, j0, w, m, n, &out)
    });
}

/// Runs `f(j0, width)` for the [`COL_BLOCK`]-column blocks of `n` columns on at most
/// `threads` workers.
fn each_column_block(n: usize, threads: usize, f: impl Fn(usize, usize) + Sync) {
    let blocks: Vec<usize> = (0..n).step_by(COL_BLOCK).collect();
    map_tasks(
        threads,
        blocks,
        |_| (),
        |_, j0| f(j0, COL_BLOCK.min(n - j0)),
    );
}

/// Runs `f(scratch, item)` over `items` with at most `threads` workers and returns the results
/// in item order. Worker `w` (0-based, `w < threads`) makes its scratch with `init(w)`. With one thread (or one item)
/// it is a plain loop on the calling thread and never touches rayon, so it is safe to call
/// from inside many parallel rayon jobs. Which worker handles which item does not change any
/// result, so outputs are identical for any thread count.
pub(crate) fn map_tasks<T: Send, R: Send, S>(
    threads: usize,
    items: Vec<T>,
    init: impl Fn(usize) -> S + Sync,
    f: impl Fn(&mut S, T) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 || items.len() <= 1 {
        let mut s = init(0);
        return items.into_iter().map(|t| f(&mut s, t)).collect();
    }
    let n = items.len();
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let out: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    rayon::scope(|sc| {
        for w in 0..threads.min(n) {
            let (init, f, next, slots, out) = (&init, &f, &next, &slots, &out);
            sc.spawn(move |_| {
                let mut s = init(w);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let t = slots[i].lock().unwrap().take().expect("task taken twice");
                    let r = f(&mut s, t);
                    *out[i].lock().unwrap() = Some(r);
                }
            });
        }
    });
    out.into_iter()
        .map(|m| m.into_inner().unwrap().expect("task not run"))
        .collect()
}

/// Constants of one Adam step (all f32, as scikit-learn's float32 arithmetic).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamStep {
    /// L2 penalty `alpha` (weights only).
    pub alpha: f32,
    /// Batch size (the gradient and the penalty are divided by it).
    pub batch: f32,
    pub beta1: f32,
    pub one_minus_beta1: f32,
    pub beta2: f32,
    pub one_minus_beta2: f32,
    /// `-lr * sqrt(1 - beta2^t) / (1 - beta1^t)`.
    pub neg_lr_t: f32,
    pub eps: f32,
}

const LANES: usize = 16;

/// One Adam step over a block of parameters, in scikit-learn's order of operations:
/// `g = (raw + alpha * w) / batch` (weights) or `g = raw` (biases, `raw` already averaged);
/// `m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w += (-lr_t m) / (sqrt(v) + eps)`.
/// Returns the sum of squares of `w` before the update (f64, fixed lane order).
#[inline(always)]
fn adam_body<const WEIGHTS: bool>(
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    raw: &[f32],
    s: AdamStep,
) -> f64 {
    let n = w.len();
    assert!(m.len() == n && v.len() == n && raw.len() == n);
    let mut acc = [0f64; LANES];
    #[inline(always)]
    fn one<const WEIGHTS: bool>(
        w: &mut f32,
        m: &mut f32,
        v: &mut f32,
        raw: f32,
        s: AdamStep,
        acc: &mut f64,
    ) {
        let w0 = *w;
        let g = if WEIGHTS {
            *acc += (w0 as f64) * (w0 as f64);
            (raw + s.alpha * w0) / s.batch
        } else {
            raw
        };
        let mm = s.beta1 * *m + s.one_minus_beta1 * g;
        let vv = s.beta2 * *v + s.one_minus_beta2 * (g * g);
        *m = mm;
        *v = vv;
        *w = w0 + (s.neg_lr_t * mm) / (vv.sqrt() + s.eps);
    }
    let main = n / LANES * LANES;
    {
        let (w1, m1, v1, r1) = (&mut w[..main], &mut m[..main], &mut v[..main], &raw[..main]);
        for (((wc, mc), vc), rc) in w1
            .chunks_exact_mut(LANES)
            .zip(m1.chunks_exact_mut(LANES))
            .zip(v1.chunks_exact_mut(LANES))
            .zip(r1.chunks_exact(LANES))
        {
            for j in 0..LANES {
                one::<WEIGHTS>(&mut wc[j], &mut mc[j], &mut vc[j], rc[j], s, &mut acc[j]);
            }
        }
    }
    for j in main..n {
        one::<WEIGHTS>(
            &mut w[j],
            &mut m[j],
            &mut v[j],
            raw[j],
            s,
            &mut acc[j - main],
        );
    }
    let mut total = 0f64;
    for a in acc {
        total += a;
    }
    total
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn adam_avx512<const WEIGHTS: bool>(
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    raw: &[f32],
    s: AdamStep,
) -> f64 {
    adam_body::<WEIGHTS>(w, m, v, raw, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn adam_avx2<const WEIGHTS: bool>(
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    raw: &[f32],
    s: AdamStep,
) -> f64 {
    adam_body::<WEIGHTS>(w, m, v, raw, s)
}

/// Fused Adam step on one block (see `adam_body`), dispatched to the widest SIMD available;
/// the result does not depend on which one runs.
pub(crate) fn adam<const WEIGHTS: bool>(
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    raw: &[f32],
    s: AdamStep,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports avx512f (checked above).
            return unsafe { adam_avx512::<WEIGHTS>(w, m, v, raw, s) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports avx2 (checked above).
            return unsafe { adam_avx2::<WEIGHTS>(w, m, v, raw, s) };
        }
    }
    adam_body::<WEIGHTS>(w, m, v, raw, s)
}

/// Defines a function whose body is compiled for AVX-512, AVX2 and the baseline, picking the
/// widest the CPU has at run time. Bodies are elementwise with IEEE-exact operations, so every
/// version gives the same bits.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$m])* $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            fn v4($($arg: $ty),*) {
                body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            fn v3($($arg: $ty),*) {
                body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports avx512f (checked).
                    return unsafe { v4($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports avx2 (checked).
                    return unsafe { v3($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

multiversion! {
    /// Adds `bias` to every row of `z` (row-major, `bias.len()` columns) and applies ReLU when
    /// `relu` (scikit-learn: `z += b; np.maximum(z, 0, out=z)`).
    pub(crate) fn bias_act(z: &mut [f32], bias: &[f32], relu: bool) {
        let c = bias.len();
        for row in z.chunks_exact_mut(c) {
            if relu {
                for (x, b) in row.iter_mut().zip(bias) {
                    let t = *x + *b;
                    *x = if t > 0.0 { t } else { 0.0 };
                }
            } else {
                for (x, b) in row.iter_mut().zip(bias) {
                    *x += *b;
                }
            }
        }
    }
}

multiversion! {
    /// ReLU derivative applied in place: `delta[act == 0] = 0` (scikit-learn's rule).
    pub(crate) fn relu_mask(delta: &mut [f32], act: &[f32]) {
        for (d, a) in delta.iter_mut().zip(act) {
            *d = if *a == 0.0 { 0.0 } else { *d };
        }
    }
}

/// Column sums of a row-major matrix with `out.len()` columns, divided by `div`, written to
/// `out` (rows summed in order).
pub(crate) fn col_mean(m: &[f32], out: &mut [f32], div: f32) {
    out.fill(0.0);
    for row in m.chunks_exact(out.len()) {
        for (o, x) in out.iter_mut().zip(row) {
            *o += *x;
        }
    }
    for o in out.iter_mut() {
        *o /= div;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step() -> AdamStep {
        AdamStep {
            alpha: 1e-4,
            batch: 7.0,
            beta1: 0.9,
            one_minus_beta1: (1.0f64 - 0.9) as f32,
            beta2: 0.999,
            one_minus_beta2: (1.0f64 - 0.999) as f32,
            neg_lr_t: -1e-3,
            eps: 1e-8,
        }
    }

    #[test]
    fn adam_paths_agree_with_scalar_reference() {
        let n = 1000 + 7;
        let w0: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 77.0)
            .collect();
        let raw: Vec<f32> = (0..n)
            .map(|i| ((i * 13 % 97) as f32 - 48.0) / 31.0)
            .collect();
        let s = step();
        let (mut w, mut m, mut v) = (w0.clone(), vec![0.01f32; n], vec![0.02f32; n]);
        let ss = adam::<true>(&mut w, &mut m, &mut v, &raw, s);
        let mut ref_ss = 0f64;
        for i in 0..n {
            ref_ss += (w0[i] as f64).powi(2);
            let g = (raw[i] + s.alpha * w0[i]) / s.batch;
            let mm = s.beta1 * 0.01 + s.one_minus_beta1 * g;
            let vv = s.beta2 * 0.02 + s.one_minus_beta2 * (g * g);
            assert_eq!(m[i].to_bits(), mm.to_bits());
            assert_eq!(v[i].to_bits(), vv.to_bits());
            let wn = w0[i] + (s.neg_lr_t * mm) / (vv.sqrt() + s.eps);
            assert_eq!(w[i].to_bits(), wn.to_bits());
        }
        assert!((ss - ref_ss).abs() < 1e-9 * ref_ss);
        // The portable body gives the same bits as the dispatched SIMD path.
        let (mut w2, mut m2, mut v2) = (w0.clone(), vec![0.01f32; n], vec![0.02f32; n]);
        let ss2 = adam_body::<true>(&mut w2, &mut m2, &mut v2, &raw, s);
        assert_eq!(w, w2);
        assert_eq!(ss.to_bits(), ss2.to_bits());
    }

    #[test]
    fn map_tasks_keeps_order_for_any_thread_count() {
        let items: Vec<usize> = (0..37).collect();
        let a = map_tasks(1, items.clone(), |_| 0usize, |_, i| i * i);
        let b = map_tasks(3, items, |_| 0usize, |_, i| i * i);
        assert_eq!(a, b);
        assert_eq!(a[6], 36);
    }

    #[test]
    fn blocked_matmul_matches_naive_and_is_thread_independent() {
        let (m, n, k) = (7, 300, 19);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 31 % 17) as f32 - 8.0) / 5.0)
            .collect();
        let bt: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 3.0)
            .collect();
        let bias: Vec<f32> = (0..n).map(|j| (j % 5) as f32 - 2.0).collect();
        let run = |t: usize| {
            let mut d = vec![f32::NAN; m * n];
            matmul_blocked(
                &mut d,
                m,
                n,
                k,
                Operand::row_major(&a, k),
                Operand::transposed(&bt, k),
                Epilogue::BiasAct(&bias, true),
                t,
            );
            d
        };
        let d1 = run(1);
        assert_eq!(d1, run(2));
        for i in 0..m {
            for j in 0..n {
                let e: f32 = (0..k).map(|l| a[i * k + l] * bt[j * k + l]).sum::<f32>() + bias[j];
                assert!((d1[i * n + j] - e.max(0.0)).abs() < 1e-4, "{i},{j}");
            }
        }
        let mut masked = vec![1f32; m * n];
        matmul_blocked(
            &mut masked,
            m,
            n,
            k,
            Operand::row_major(&a, k),
            Operand::transposed(&bt, k),
            Epilogue::ReluMask(&d1),
            2,
        );
        for (x, act) in masked.iter().zip(&d1) {
            assert!(*act != 0.0 || *x == 0.0);
        }
    }

    #[test]
    fn matmul_matches_naive_with_transposes() {
        let (m, n, k) = (5, 4, 3);
        let a: Vec<f32> = (0..m * k).map(|i| i as f32 * 0.5 - 2.0).collect(); // m x k
        let bt: Vec<f32> = (0..n * k).map(|i| 1.0 - i as f32 * 0.25).collect(); // n x k
        let mut d = vec![9f32; m * n];
        matmul(
            &mut d,
            m,
            n,
            k,
            Operand::row_major(&a, k),
            Operand::transposed(&bt, k),
            Parallelism::None,
        );
        for i in 0..m {
            for j in 0..n {
                let e: f32 = (0..k).map(|l| a[i * k + l] * bt[j * k + l]).sum();
                assert!((d[i * n + j] - e).abs() < 1e-5);
            }
        }
    }
}
