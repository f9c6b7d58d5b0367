//! bf16 GEMM kernels with f32 accumulation: Intel AMX tiles (`tdpbf16ps`) and AVX512_BF16
//! (`vdpbf16ps`), on operands packed once into the layouts both instructions read.
//!
//! Layouts (`u16` = one bf16, rounded to nearest even from f32 by [`to_bf16`]), chosen so
//! that every tile and vector the kernels load is contiguous (no cache or TLB misses on long
//! strides):
//! - [`PackedA`], the left operand (`rows` = m rounded up to [`BLOCK`], `kp` = k rounded up to
//!   [`K_ALIGN`]): strips of 32 rows; within a strip, blocks of 32 rows x 32 k, row-major.
//!   Element `(i, k)` is at `((i / 32 * kp / 32 + k / 32) * 32 + i % 32) * 32 + k % 32`.
//! - [`PackedB`], the right operand (`np` = n rounded up to [`BLOCK`]): panels of [`PANEL_K`]
//!   rows of k (the last one shorter, `h` rows); within a panel, strips of 32 columns; within a
//!   strip, `h / 2` rows of 32 interleaved pairs `(k, k + 1)` (the "VNNI" form `tdpbf16ps` and
//!   `vdpbf16ps` read). A panel of k rows is contiguous, so blocks of rows can be rewritten
//!   independently.
//!
//! Every output element is the sum over k in the same order whatever the block, the thread or
//! the thread count, so results are bit-identical for any `Threads`; they differ between the two
//! instruction families in the last bits (record [`Bf16Kernel::name`] next to results).
//!
//! AMX needs the tile state: Linux grants it per process after
//! `arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, requested once by
//! [`Bf16Kernel::available`]. AMX intrinsics are not stable Rust, so the tile code is `asm!`.

use super::kernels::Operand;
use std::sync::OnceLock;

/// Rows and columns of one output block (2 x 2 AMX tiles of 16 x 16).
pub(crate) const BLOCK: usize = 32;
/// Alignment of k in packed operands (one AMX tile row: 32 bf16).
pub(crate) const K_ALIGN: usize = 32;
/// Rows of k per panel of a [`PackedB`] (a multiple of [`K_ALIGN`]).
pub(crate) const PANEL_K: usize = 128;

/// A bf16 GEMM instruction family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bf16Kernel {
    /// Intel AMX tile multiply (`amx_bf16`, `amx_tile`).
    Amx,
    /// AVX-512 bf16 dot products (`avx512_bf16`).
    Avx512Bf16,
}

impl Bf16Kernel {
    /// Label recorded with results.
    pub fn name(self) -> &'static str {
        match self {
            Bf16Kernel::Amx => "bf16 amx (tdpbf16ps, f32 accumulate)",
            Bf16Kernel::Avx512Bf16 => "bf16 avx512_bf16 (vdpbf16ps, f32 accumulate)",
        }
    }
    /// Whether this CPU (and, for AMX, the OS's grant of the tile state) allows the kernel.
    pub fn available(self) -> bool {
        match self {
            Bf16Kernel::Amx => amx_ready(),
            Bf16Kernel::Avx512Bf16 => avx512_bf16_ready(),
        }
    }
    /// The fastest kernel this machine has (AMX, then AVX512_BF16), or none.
    pub fn best() -> Option<Bf16Kernel> {
        [Bf16Kernel::Amx, Bf16Kernel::Avx512Bf16]
            .into_iter()
            .find(|k| k.available())
    }
}

fn avx512_bf16_ready() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// CPUID says AMX-BF16 and AMX-TILE, and Linux granted the tile data state to this process.
fn amx_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        {
            let max = std::arch::x86_64::__cpuid(0).eax;
            if max < 7 {
                return false;
            }
            let l7 = std::arch::x86_64::__cpuid_count(7, 0);
            let (amx_bf16, amx_tile) = (l7.edx >> 22 & 1 == 1, l7.edx >> 24 & 1 == 1);
            if !(amx_bf16 && amx_tile) {
                return false;
            }
            const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
            const XFEATURE_XTILEDATA: libc::c_long = 18;
            // SAFETY: a plain syscall with integer arguments; it changes only this process's
            // permission to use the AMX tile state.
            let rc =
                unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) };
            if rc != 0 {
                tracing::warn!(
                    "CPU has AMX but the kernel refused the tile state (arch_prctl: {}); AMX unused",
                    std::io::Error::last_os_error()
                );
            }
            rc == 0
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        {
            false
        }
    })
}

/// f32 to bf16, rounded to nearest even (NaN stays NaN).
#[inline(always)]
pub(crate) fn to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    let rounded = (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16;
    // Branch-free so that packing loops vectorise.
    if b & 0x7fff_ffff > 0x7f80_0000 {
        ((b >> 16) | 0x40) as u16
    } else {
        rounded
    }
}

/// Interleaves two rows into bf16 pairs, strip by strip: the 32 columns of strip `t` go to
/// `out[t * stride..]` as `[x0[c], x1[c]]` pairs (`x1` absent: the zero padding of an odd k).
/// One dispatch for the whole pair of rows (AVX-512 where the CPU has it).
fn pair_strips(out: &mut [u16], stride: usize, x0: &[f32], x1: Option<&[f32]>) {
    #[inline(always)]
    fn body(out: &mut [u16], stride: usize, x0: &[f32], x1: Option<&[f32]>) {
        for (t, c0) in (0..x0.len()).step_by(BLOCK).enumerate() {
            let w = BLOCK.min(x0.len() - c0);
            let dst = &mut out[t * stride..t * stride + 2 * w];
            let a = &x0[c0..c0 + w];
            match x1 {
                Some(x1) => {
                    for ((d, a), b) in dst.chunks_exact_mut(2).zip(a).zip(&x1[c0..c0 + w]) {
                        d[0] = to_bf16(*a);
                        d[1] = to_bf16(*b);
                    }
                }
                None => {
                    for (d, a) in dst.chunks_exact_mut(2).zip(a) {
                        d[0] = to_bf16(*a);
                    }
                }
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn v4(out: &mut [u16], stride: usize, x0: &[f32], x1: Option<&[f32]>) {
        body(out, stride, x0, x1)
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
    {
        // SAFETY: the CPU has the features (checked).
        return unsafe { v4(out, stride, x0, x1) };
    }
    body(out, stride, x0, x1)
}

/// `dst[c] = to_bf16(src[c])` (AVX-512 where the CPU has it).
fn convert_row(dst: &mut [u16], src: &[f32]) {
    #[inline(always)]
    fn body(dst: &mut [u16], src: &[f32]) {
        for (d, x) in dst.iter_mut().zip(src) {
            *d = to_bf16(*x);
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn v4(dst: &mut [u16], src: &[f32]) {
        body(dst, src)
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
    {
        // SAFETY: the CPU has the features (checked).
        return unsafe { v4(dst, src) };
    }
    body(dst, src)
}

/// bf16 to f32 (exact).
#[cfg(test)]
fn from_bf16(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

fn round_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// A packed left operand (see the module docs).
#[derive(Clone, Copy)]
pub(crate) struct PackedA<'a> {
    pub data: &'a [u16],
    pub rows: usize,
    pub kp: usize,
}

/// A packed right operand (see the module docs).
#[derive(Clone, Copy)]
pub(crate) struct PackedB<'a> {
    pub data: &'a [u16],
    pub kp: usize,
    pub np: usize,
}

/// Padded sizes of a packed `m x k` left operand: `(rows, kp)`.
pub(crate) fn a_shape(m: usize, k: usize) -> (usize, usize) {
    (round_up(m.max(1), BLOCK), round_up(k.max(1), K_ALIGN))
}

/// Padded sizes of a packed `k x n` right operand: `(kp, np)`.
pub(crate) fn b_shape(k: usize, n: usize) -> (usize, usize) {
    (round_up(k.max(1), K_ALIGN), round_up(n.max(1), BLOCK))
}

/// Offset of element `(i, k)` in a [`PackedA`] with `kp` columns.
#[inline(always)]
fn a_offset(i: usize, k: usize, kp: usize) -> usize {
    ((i / BLOCK * (kp / K_ALIGN) + k / K_ALIGN) * BLOCK + i % BLOCK) * K_ALIGN + k % K_ALIGN
}

/// Offset of panel `kb` (k rows `kb * PANEL_K..`), strip `t` (columns `32 t..`) of a
/// [`PackedB`], and the panel's height.
#[inline(always)]
fn b_strip(kb: usize, t: usize, kp: usize, np: usize) -> (usize, usize) {
    let h = PANEL_K.min(kp - kb * PANEL_K);
    (kb * PANEL_K * np + t * (h / 2) * 2 * BLOCK, h)
}

/// Offset of element `(k, j)` in a [`PackedB`] of `kp x np`.
#[inline(always)]
fn b_offset(k: usize, j: usize, kp: usize, np: usize) -> usize {
    let (strip, _) = b_strip(k / PANEL_K, j / BLOCK, kp, np);
    strip + (k % PANEL_K / 2) * 2 * BLOCK + (j % BLOCK) * 2 + k % 2
}

/// Packs the `m x k` operand `src` into `out` (resized; padding zeroed) as a [`PackedA`].
pub(crate) fn pack_a<'a>(
    src: Operand<'_>,
    m: usize,
    k: usize,
    out: &'a mut Vec<u16>,
) -> PackedA<'a> {
    let (rows, kp) = a_shape(m, k);
    out.clear();
    out.resize(rows * kp, 0);
    pack_a_into(src, m, k, out);
    PackedA {
        data: out,
        rows,
        kp,
    }
}

/// Writes the `m x k` operand `src` into `out`, laid out as a [`PackedA`] of [`a_shape`]`(m,
/// k)` (at least `m` rounded up to 32 rows). The padding is not written: `out`'s must already
/// be zero. Strips are contiguous, so `out` may be the strips of rows `32 s..` of a larger
/// operand with the same `k`.
fn pack_a_into(src: Operand<'_>, m: usize, k: usize, out: &mut [u16]) {
    let (rows, kp) = a_shape(m, k);
    assert!(
        out.len() >= rows * kp,
        "pack_a: {m} x {k} into {} values",
        out.len()
    );
    if src.cs == 1 {
        pack_a_rows(src, 0, m, k, out);
    } else {
        // A transposed source: 32 x 32 blocks, reading along the source's rows.
        for i0 in (0..m).step_by(BLOCK) {
            let h = BLOCK.min(m - i0);
            for k0 in (0..k).step_by(K_ALIGN) {
                let o = a_offset(i0, k0, kp);
                let blk = &mut out[o..o + BLOCK * K_ALIGN];
                for l in 0..K_ALIGN.min(k - k0) {
                    let base = (k0 + l) * src.cs + i0 * src.rs;
                    for r in 0..h {
                        blk[r * K_ALIGN + l] = to_bf16(src.data[base + r * src.rs]);
                    }
                }
            }
        }
    }
}

/// Writes rows `i0..i0 + m` of a packed left operand with `k` columns from the row-major
/// `src` (its row `i` is the operand's row `i0 + i`); padding is not written. One dispatch
/// for the whole block (AVX-512 where the CPU has it).
pub(crate) fn pack_a_rows(src: Operand<'_>, i0: usize, m: usize, k: usize, out: &mut [u16]) {
    assert_eq!(src.cs, 1, "pack_a_rows: row-major source");
    #[inline(always)]
    fn body(src: Operand<'_>, i0: usize, m: usize, k: usize, out: &mut [u16]) {
        let kp = round_up(k.max(1), K_ALIGN);
        for i in 0..m {
            for k0 in (0..k).step_by(K_ALIGN) {
                let w = K_ALIGN.min(k - k0);
                let o = a_offset(i0 + i, k0, kp);
                let s = &src.data[i * src.rs + k0..i * src.rs + k0 + w];
                for (d, x) in out[o..o + w].iter_mut().zip(s) {
                    *d = to_bf16(*x);
                }
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn v4(src: Operand<'_>, i0: usize, m: usize, k: usize, out: &mut [u16]) {
        body(src, i0, m, k, out)
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
    {
        // SAFETY: the CPU has the features (checked).
        return unsafe { v4(src, i0, m, k, out) };
    }
    body(src, i0, m, k, out)
}

/// Allocates a zeroed packed right operand for a `k x n` matrix (fill it with [`pack_b_region`]).
pub(crate) fn new_b(k: usize, n: usize) -> Vec<u16> {
    let (kp, np) = b_shape(k, n);
    vec![0u16; kp * np]
}

/// Writes rows `k0..k0 + kr` and columns `n0..n0 + nr` of a `k x n` right operand (packed
/// with [`b_shape`]`(k, n)` into `out`) from `src`, whose element `(r, c)` is that operand's
/// element `(k0 + r, n0 + c)`. Padding is left as it is (zero from [`new_b`]). A panel of
/// [`PANEL_K`] rows is contiguous: rows `kb * PANEL_K..` of a larger operand are this
/// function's whole output with `k` = that block's rows, written into the panel's slice.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_b_region(
    src: Operand<'_>,
    k0: usize,
    kr: usize,
    n0: usize,
    nr: usize,
    k: usize,
    n: usize,
    out: &mut [u16],
) {
    let (kp, np) = b_shape(k, n);
    assert!(
        k0 + kr <= k && n0 + nr <= n && out.len() >= kp * np,
        "pack_b region"
    );
    if src.cs == 1 && n0.is_multiple_of(BLOCK) && k0.is_multiple_of(2) {
        // Row-major source: two rows at a time, written as whole pairs.
        for r in (0..kr).step_by(2) {
            let kk = k0 + r;
            let (panel, h) = b_strip(kk / PANEL_K, n0 / BLOCK, kp, np);
            let base = panel + (kk % PANEL_K / 2) * 2 * BLOCK;
            let row0 = &src.data[r * src.rs..r * src.rs + nr];
            let row1 = (r + 1 < kr).then(|| &src.data[(r + 1) * src.rs..(r + 1) * src.rs + nr]);
            pair_strips(&mut out[base..], (h / 2) * 2 * BLOCK, row0, row1);
        }
    } else if src.rs == 1 && k0.is_multiple_of(PANEL_K) {
        // Transposed source: its rows (our columns) are contiguous, and so is each pair
        // (k, k + 1) of a column; convert a column, then place its pairs down k.
        let mut col16 = vec![0u16; kr];
        for c in 0..nr {
            let j = n0 + c;
            convert_row(&mut col16, &src.data[c * src.cs..c * src.cs + kr]);
            for (q, xs) in col16.chunks(PANEL_K).enumerate() {
                let (o, _) = b_strip(k0 / PANEL_K + q, j / BLOCK, kp, np);
                let o = o + (j % BLOCK) * 2;
                for (p, pair) in xs.chunks(2).enumerate() {
                    for (e, x) in pair.iter().enumerate() {
                        out[o + p * 2 * BLOCK + e] = *x;
                    }
                }
            }
        }
    } else {
        for r in 0..kr {
            for c in 0..nr {
                out[b_offset(k0 + r, n0 + c, kp, np)] = to_bf16(src.data[r * src.rs + c * src.cs]);
            }
        }
    }
}

/// Packs the whole `k x n` operand `src` into `out` (resized) as a [`PackedB`].
pub(crate) fn pack_b<'a>(
    src: Operand<'_>,
    k: usize,
    n: usize,
    out: &'a mut Vec<u16>,
) -> PackedB<'a> {
    let (kp, np) = b_shape(k, n);
    out.clear();
    out.resize(kp * np, 0);
    pack_b_region(src, 0, k, 0, n, k, n, out);
    PackedB { data: out, kp, np }
}

/// `dst[i * ldc + j] = sum_k a[i0 + i, k] * b[k, j0 + j]` for `i < m`, `j < n` (overwrites;
/// f32 accumulation in k order). `i0` and `j0` must be multiples of [`BLOCK`].
///
/// # Safety
/// `dst` must be valid for writes of the `m x n` block with row stride `ldc` and must not be
/// read or written by anyone else meanwhile; `kernel` must be [available](Bf16Kernel::available).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm(
    kernel: Bf16Kernel,
    a: PackedA<'_>,
    i0: usize,
    b: PackedB<'_>,
    j0: usize,
    m: usize,
    n: usize,
    dst: *mut f32,
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    check(a, i0, b, j0, m, n);
    // SAFETY: a whole 32 x 32 block goes straight to `dst` (inside the caller's m x n
    // output); an edge block comes back in the tile and its inside is copied there.
    unsafe {
        for_each_block(
            kernel,
            a,
            i0,
            b,
            j0,
            m,
            n,
            |ib, jb, h, w| (h == BLOCK && w == BLOCK).then(|| (dst.add(ib * ldc + jb), ldc)),
            |tile, ib, jb, h, w| {
                for r in 0..h {
                    let d = std::slice::from_raw_parts_mut(dst.add((ib + r) * ldc + jb), w);
                    d.copy_from_slice(&tile[r * BLOCK..r * BLOCK + w]);
                }
            },
        )
    }
}

/// The block loop every bf16 product shares: the 32 x 32 blocks of the `m x n` product of
/// rows `i0..` of `a` and columns `j0..` of `b`, strips of A outside (one strip, 32 x kp,
/// stays in L1/L2 while the B strips pass by), each computed with `kernel` into
/// `direct(ib, jb, h, w)` when it names a destination (pointer, row stride), else into a tile
/// handed to `done(tile, ib, jb, h, w)` (`h` x `w` of it inside the product).
///
/// # Safety
/// `kernel` is available, the operands were [`check`]ed for this block range, and every
/// destination `direct` names holds a 32 x 32 block with its row stride.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn for_each_block(
    kernel: Bf16Kernel,
    a: PackedA<'_>,
    i0: usize,
    b: PackedB<'_>,
    j0: usize,
    m: usize,
    n: usize,
    direct: impl Fn(usize, usize, usize, usize) -> Option<(*mut f32, usize)>,
    mut done: impl FnMut(&mut [f32; BLOCK * BLOCK], usize, usize, usize, usize),
) {
    #[cfg(target_arch = "x86_64")]
    {
        let mut tile = Tile([0f32; BLOCK * BLOCK]);
        // SAFETY: the kernel is available (caller's contract).
        unsafe { begin(kernel) };
        for ib in (0..m).step_by(BLOCK) {
            // SAFETY: strip (i0 + ib) / 32 of A is inside the packed operand (checked).
            let ap = unsafe { a.data.as_ptr().add((i0 + ib) * a.kp) };
            for jb in (0..n).step_by(BLOCK) {
                let (h, w) = (BLOCK.min(m - ib), BLOCK.min(n - jb));
                let t = (j0 + jb) / BLOCK;
                match direct(ib, jb, h, w) {
                    // SAFETY: strip t of B is inside the operand (checked); the destination
                    // holds the block (caller's contract).
                    Some((c, ldc)) => unsafe { block(kernel, ap, b, t, c, ldc) },
                    None => {
                        // SAFETY: as above, into the tile.
                        unsafe { block(kernel, ap, b, t, tile.0.as_mut_ptr(), BLOCK) };
                        done(&mut tile.0, ib, jb, h, w);
                    }
                }
            }
        }
        // SAFETY: releases what `begin` took.
        unsafe { end(kernel) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (kernel, a, i0, b, j0, m, n, direct, &mut done);
        unreachable!("bf16 kernels exist only on x86_64");
    }
}

/// A raw output pointer that several tasks write at disjoint places.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(pub *mut T);
// SAFETY: only used by `FusedOut`, whose writers (column blocks of one product) never write
// the same elements.
unsafe impl<T> Send for SharedMut<T> {}
unsafe impl<T> Sync for SharedMut<T> {}

/// Where [`gemm_fused`] writes each finished 32 x 32 block of an `m x n` product, after adding
/// `bias` (`n` values) and, with `relu`, ReLU (scikit-learn's `z += b; max(z, 0)`): any of
/// - `f32_out`: the row-major f32 output (base of the whole `m x n` matrix, row stride);
/// - `packed`: the output as a packed left operand ([`a_shape`]`(m, n)`: the next layer's input);
/// - `packed_t`: its transpose as a packed left operand ([`a_shape`]`(n, m)`: the weight
///   gradient's left operand).
///
/// The packed copies are written whole, their padding as zeros, so they need no clearing; the
/// values are those a later [`pack_a`] of `f32_out` would give, bit for bit.
#[derive(Clone, Copy)]
pub(crate) struct FusedOut<'a> {
    pub bias: &'a [f32],
    pub relu: bool,
    pub f32_out: Option<(SharedMut<f32>, usize)>,
    pub packed: Option<SharedMut<u16>>,
    pub packed_t: Option<SharedMut<u16>>,
}

/// Bias and activation of a finished block in place; rows `>= h` and columns `>= w` become 0.
#[inline(always)]
fn finish_tile(t: &mut [f32; BLOCK * BLOCK], h: usize, w: usize, bias: &[f32], relu: bool) {
    let mut b = [0f32; BLOCK];
    b[..w].copy_from_slice(&bias[..w]);
    for (r, row) in t.chunks_exact_mut(BLOCK).enumerate() {
        if r >= h {
            row.fill(0.0);
            continue;
        }
        for (c, (x, b)) in row.iter_mut().zip(&b).enumerate() {
            let s = *x + *b;
            // scikit-learn's max(z, 0) as `bias_act` computes it (NaN becomes 0).
            let s = if !relu || s > 0.0 { s } else { 0.0 };
            *x = if c < w { s } else { 0.0 };
        }
    }
}

/// Where a finished block lies: rows `i..i + 32`, columns `j..j + 32` of an `m x n` output,
/// of which `h` x `w` are inside it.
#[derive(Clone, Copy)]
struct BlockAt {
    i: usize,
    j: usize,
    h: usize,
    w: usize,
    m: usize,
    n: usize,
}

/// Writes a finished block where `out` asks.
///
/// # Safety
/// `out`'s pointers hold the `m x n` output as [`FusedOut`] describes, and no one else writes
/// this block.
#[inline(always)]
unsafe fn store_block(t: &[f32; BLOCK * BLOCK], at: BlockAt, out: &FusedOut<'_>) {
    let BlockAt { i, j, h, w, m, n } = at;
    if let Some((dst, ldc)) = out.f32_out {
        for r in 0..h {
            // SAFETY: row i + r, columns j..j + w are inside the output (caller).
            let d = unsafe { std::slice::from_raw_parts_mut(dst.0.add((i + r) * ldc + j), w) };
            let row = &t[r * BLOCK..r * BLOCK + w];
            if let (Ok(d), Ok(row)) = (
                <&mut [f32; BLOCK]>::try_from(&mut *d),
                <&[f32; BLOCK]>::try_from(row),
            ) {
                // A whole row as a fixed-size copy (inline vector moves, not a memmove call).
                *d = *row;
            } else {
                d.copy_from_slice(row);
            }
        }
    }
    if let Some(p) = out.packed {
        let kp = a_shape(m, n).1;
        // SAFETY: block (i, j) of a packed m x n left operand: 1,024 contiguous values.
        let d =
            unsafe { std::slice::from_raw_parts_mut(p.0.add(a_offset(i, j, kp)), BLOCK * BLOCK) };
        for (d, x) in d.iter_mut().zip(t.iter()) {
            *d = to_bf16(*x);
        }
    }
    if let Some(p) = out.packed_t {
        let kp = a_shape(n, m).1;
        // SAFETY: block (j, i) of the packed n x m transpose: 1,024 contiguous values.
        let d =
            unsafe { std::slice::from_raw_parts_mut(p.0.add(a_offset(j, i, kp)), BLOCK * BLOCK) };
        for (c, d) in d.chunks_exact_mut(BLOCK).enumerate() {
            for (r, d) in d.iter_mut().enumerate() {
                *d = to_bf16(t[r * BLOCK + c]);
            }
        }
    }
}

/// The epilogue of [`gemm_fused`] (bias, activation, stores), compiled for AVX-512 where the
/// CPU has it.
///
/// # Safety
/// As [`store_block`].
unsafe fn epilogue(t: &mut [f32; BLOCK * BLOCK], at: BlockAt, out: &FusedOut<'_>) {
    #[inline(always)]
    unsafe fn body(t: &mut [f32; BLOCK * BLOCK], at: BlockAt, out: &FusedOut<'_>) {
        finish_tile(t, at.h, at.w, &out.bias[at.j..at.j + at.w], out.relu);
        // SAFETY: forwarded (caller).
        unsafe { store_block(t, at, out) }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn v4(t: &mut [f32; BLOCK * BLOCK], at: BlockAt, out: &FusedOut<'_>) {
        // SAFETY: forwarded (caller).
        unsafe { body(t, at, out) }
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
    {
        // SAFETY: the CPU has the features (checked); the rest is the caller's contract.
        return unsafe { v4(t, at, out) };
    }
    // SAFETY: the caller's contract.
    unsafe { body(t, at, out) }
}

/// Columns `j0..j0 + w` of the `m x n` product `a[m x kp] * b[kp x n]`, each finished block
/// going through the bias, the activation and the stores of `out` while it is in L1 (no f32
/// round trip through memory before the next layer's packing). `j0` is a multiple of
/// [`BLOCK`]; `a` has `m` rows from row 0; `b` has `n` columns.
///
/// # Safety
/// `out` holds the `m x n` output as [`FusedOut`] describes, no one else writes columns
/// `j0..j0 + w` of it meanwhile, and `kernel` is [available](Bf16Kernel::available).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_fused(
    kernel: Bf16Kernel,
    a: PackedA<'_>,
    b: PackedB<'_>,
    j0: usize,
    w: usize,
    m: usize,
    n: usize,
    out: &FusedOut<'_>,
) {
    if m == 0 || w == 0 {
        return;
    }
    check(a, 0, b, j0, m, w);
    assert!(
        j0 + w <= n && out.bias.len() >= n,
        "bf16 gemm_fused: output {m} x {n}"
    );
    // SAFETY: every block goes through the tile to the epilogue; the caller owns columns
    // j0..j0 + w of `out`.
    unsafe {
        for_each_block(
            kernel,
            a,
            0,
            b,
            j0,
            m,
            w,
            |_, _, _, _| None,
            |tile, ib, jb, h, wb| {
                let at = BlockAt {
                    i: ib,
                    j: j0 + jb,
                    h,
                    w: wb,
                    m,
                    n,
                };
                epilogue(tile, at, out)
            },
        )
    }
}

/// The transposed product through scikit-learn's ReLU derivative: for `i < m`, `j < n`,
/// `dst[j * ldd + i0 + i] = 0` where `mask` (same indexing) is 0, else
/// `a[i0 + i, :] . b[:, j]`. With `a` = a layer's packed weights (rows = its inputs) and `b` =
/// the packed transpose of its output delta, this is the back-propagated delta for inputs
/// `i0..i0 + m`, without a transposed copy of the weights.
///
/// # Safety
/// `dst` is valid for writes at every index above and no one else writes those elements
/// meanwhile; `kernel` is [available](Bf16Kernel::available).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_t_masked(
    kernel: Bf16Kernel,
    a: PackedA<'_>,
    i0: usize,
    b: PackedB<'_>,
    m: usize,
    n: usize,
    dst: SharedMut<f32>,
    ldd: usize,
    mask: &[f32],
) {
    if m == 0 || n == 0 {
        return;
    }
    check(a, i0, b, 0, m, n);
    assert!(
        i0 + m <= ldd && mask.len() >= (n - 1) * ldd + i0 + m,
        "bf16 gemm_t_masked: mask of {} values for {n} x {ldd}",
        mask.len()
    );
    // SAFETY: each block goes through the tile to rows jb..jb + w, columns i0 + ib..+h of
    // `dst` (caller's contract).
    unsafe {
        for_each_block(
            kernel,
            a,
            i0,
            b,
            0,
            m,
            n,
            |_, _, _, _| None,
            |tile, ib, jb, h, w| {
                let o = jb * ldd + i0 + ib;
                store_t_masked(tile, h, w, dst.0.add(o), ldd, &mask[o..])
            },
        )
    }
}

/// `dst[c * ldd + r] = mask[c * ldd + r] == 0 ? 0 : t[r][c]` for `r < h`, `c < w`: a finished
/// block stored transposed through the ReLU derivative (AVX-512 where the CPU has it).
///
/// # Safety
/// `dst` is valid for writes at those indices and `mask` holds them.
unsafe fn store_t_masked(
    t: &[f32; BLOCK * BLOCK],
    h: usize,
    w: usize,
    dst: *mut f32,
    ldd: usize,
    mask: &[f32],
) {
    #[inline(always)]
    unsafe fn body(
        t: &[f32; BLOCK * BLOCK],
        h: usize,
        w: usize,
        dst: *mut f32,
        ldd: usize,
        mask: &[f32],
    ) {
        let mut tt = [0f32; BLOCK * BLOCK];
        for r in 0..BLOCK {
            for c in 0..BLOCK {
                tt[c * BLOCK + r] = t[r * BLOCK + c];
            }
        }
        for c in 0..w {
            // SAFETY: row c of the block (caller's contract).
            let d = unsafe { std::slice::from_raw_parts_mut(dst.add(c * ldd), h) };
            let mk = &mask[c * ldd..c * ldd + h];
            for ((d, mk), x) in d.iter_mut().zip(mk).zip(&tt[c * BLOCK..]) {
                *d = if *mk == 0.0 { 0.0 } else { *x };
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn v4(
        t: &[f32; BLOCK * BLOCK],
        h: usize,
        w: usize,
        dst: *mut f32,
        ldd: usize,
        mask: &[f32],
    ) {
        // SAFETY: forwarded (caller).
        unsafe { body(t, h, w, dst, ldd, mask) }
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
    {
        // SAFETY: the CPU has the features (checked); the rest is the caller's contract.
        return unsafe { v4(t, h, w, dst, ldd, mask) };
    }
    // SAFETY: the caller's contract.
    unsafe { body(t, h, w, dst, ldd, mask) }
}

/// Checks that block `i0 + m` x `j0 + n` of the product lies inside the packed operands.
fn check(a: PackedA<'_>, i0: usize, b: PackedB<'_>, j0: usize, m: usize, n: usize) {
    assert_eq!(a.kp, b.kp, "bf16 gemm: k of the packed operands differs");
    assert!(
        a.kp.is_multiple_of(K_ALIGN)
            && a.data.len() >= a.rows * a.kp
            && b.data.len() >= b.kp * b.np,
        "bf16 gemm: malformed packed operand"
    );
    assert!(
        i0.is_multiple_of(BLOCK)
            && j0.is_multiple_of(BLOCK)
            && i0 + round_up(m, BLOCK) <= a.rows
            && j0 + round_up(n, BLOCK) <= b.np,
        "bf16 gemm: block {i0}+{m} x {j0}+{n} outside the packed {} x {}",
        a.rows,
        b.np
    );
}

/// Prepares the kernel's state on this thread (AMX: the tile configuration).
///
/// # Safety
/// `kernel` is available.
#[cfg(target_arch = "x86_64")]
unsafe fn begin(kernel: Bf16Kernel) {
    if kernel == Bf16Kernel::Amx {
        // SAFETY: caller's contract.
        unsafe { amx::configure() };
    }
}

/// Releases what [`begin`] took.
///
/// # Safety
/// After [`begin`] of the same kernel on this thread.
#[cfg(target_arch = "x86_64")]
unsafe fn end(kernel: Bf16Kernel) {
    if kernel == Bf16Kernel::Amx {
        // SAFETY: caller's contract.
        unsafe { amx::release() };
    }
}

/// One 32 x 32 block: strip `ap` of a packed A times strip `t` of `b`, to `c` (row stride `ldc`).
///
/// # Safety
/// As the kernels' `block` functions; [`begin`] ran on this thread.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn block(
    kernel: Bf16Kernel,
    ap: *const u16,
    b: PackedB<'_>,
    t: usize,
    c: *mut f32,
    ldc: usize,
) {
    let bp = b.data.as_ptr();
    // SAFETY: caller's contract.
    unsafe {
        match kernel {
            Bf16Kernel::Amx => amx::block(ap, bp, b.kp, b.np, t, c, ldc),
            Bf16Kernel::Avx512Bf16 => avx512::block(ap, bp, b.kp, b.np, t, c, ldc),
        }
    }
}

#[repr(C, align(64))]
struct Tile([f32; BLOCK * BLOCK]);

#[cfg(target_arch = "x86_64")]
mod amx {
    use super::{b_strip, BLOCK, PANEL_K};
    use std::arch::asm;

    #[repr(C, align(64))]
    struct TileConfig([u8; 64]);

    /// Palette 1; tiles 0-7 all 16 rows x 64 bytes (C: tmm0-3, A: tmm4-5, B: tmm6-7).
    fn config() -> TileConfig {
        let mut c = [0u8; 64];
        c[0] = 1;
        for t in 0..8 {
            c[16 + 2 * t..18 + 2 * t].copy_from_slice(&64u16.to_le_bytes());
            c[48 + t] = 16;
        }
        TileConfig(c)
    }

    /// Loads the tile configuration on this thread.
    ///
    /// # Safety
    /// The CPU has AMX and the process holds the tile state permission.
    pub(super) unsafe fn configure() {
        let cfg = config();
        // SAFETY: a valid 64-byte palette-1 configuration (caller: AMX usable).
        unsafe { asm!("ldtilecfg [{}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly)) };
    }

    /// Releases the tile state of this thread.
    ///
    /// # Safety
    /// As [`configure`].
    pub(super) unsafe fn release() {
        // SAFETY: caller's contract.
        unsafe { asm!("tilerelease", options(nostack, nomem)) };
    }

    /// One 32 x 32 output block: strip `a` of a packed A (32 x `kp`) times strip `t` of the
    /// packed B at `b` (`kp` x `np`), written row-major to `c` (rows `ldc` apart).
    ///
    /// # Safety
    /// Tiles configured by [`configure`]; `a` points at a whole strip of a packed A and `b` at
    /// a packed B with strip `t` (module docs' layouts, `kp` a positive multiple of 32).
    pub(super) unsafe fn block(
        a: *const u16,
        b: *const u16,
        kp: usize,
        np: usize,
        t: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        debug_assert!(kp > 0 && kp.is_multiple_of(32));
        // SAFETY: zeroes the accumulator tiles (no memory access).
        unsafe {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem)
            )
        };
        for kb in 0..kp.div_ceil(PANEL_K) {
            let (off, h) = b_strip(kb, t, kp, np);
            // SAFETY: per k step of 32: A's 32 x 32 block (2 KiB, rows 64 bytes apart) as two
            // 16-row tiles, and B's 16 pair rows of the strip (rows 128 bytes apart) as two
            // 16-column tiles, all inside the operands (caller's contract).
            unsafe {
                asm!(
                    "2:",
                    "tileloadd tmm4, [{a} + {s64}*1]",
                    "tileloadd tmm6, [{b} + {s128}*1]",
                    "tileloadd tmm7, [{b} + {s128}*1 + 64]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tileloadd tmm5, [{a} + {s64}*1 + 1024]",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    "add {a}, 2048",
                    "add {b}, 2048",
                    "dec {k}",
                    "jnz 2b",
                    a = inout(reg) a.add(kb * PANEL_K * BLOCK) => _,
                    b = inout(reg) b.add(off) => _,
                    k = inout(reg) h / 32 => _,
                    s64 = in(reg) 64usize,
                    s128 = in(reg) 128usize,
                    options(nostack, readonly),
                );
            }
        }
        // SAFETY: the four 16 x 16 f32 tiles go to the 32 x 32 block at `c` (caller).
        unsafe {
            asm!(
                "tilestored [{c} + {s}*1], tmm0",
                "tilestored [{c} + {s}*1 + 64], tmm1",
                "tilestored [{c2} + {s}*1], tmm2",
                "tilestored [{c2} + {s}*1 + 64], tmm3",
                c = in(reg) c,
                c2 = in(reg) c.add(16 * ldc),
                s = in(reg) ldc * 4,
                options(nostack),
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{b_strip, BLOCK, K_ALIGN, PANEL_K};
    use std::arch::x86_64::*;

    /// Rows of one register block (8 x 32 outputs in 16 accumulators).
    const MR: usize = 8;

    /// As [`super::amx::block`], with `vdpbf16ps`.
    ///
    /// # Safety
    /// The CPU has avx512f and avx512bf16; operands as for the AMX block.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn block(
        a: *const u16,
        b: *const u16,
        kp: usize,
        np: usize,
        t: usize,
        c: *mut f32,
        ldc: usize,
    ) {
        for r0 in (0..BLOCK).step_by(MR) {
            let mut acc = [[_mm512_setzero_ps(); 2]; MR];
            for kb in 0..kp.div_ceil(PANEL_K) {
                let (off, h) = b_strip(kb, t, kp, np);
                for q in 0..h / 2 {
                    let p = kb * PANEL_K / 2 + q;
                    // SAFETY: pair row q of strip t of panel kb: 64 elements (caller).
                    let (b0, b1) = unsafe {
                        let bp = b.add(off + q * 2 * BLOCK);
                        (
                            std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                                bp as *const __m512i,
                            )),
                            std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                                bp.add(32) as *const __m512i,
                            )),
                        )
                    };
                    // Elements 2p, 2p + 1 of row r of the strip's k block p / 16.
                    let a_pair = (p * 2 / K_ALIGN) * BLOCK * K_ALIGN + (p * 2) % K_ALIGN;
                    for (r, acc) in acc.iter_mut().enumerate() {
                        // SAFETY: inside the strip (caller's contract).
                        let pair = unsafe {
                            (a.add(a_pair + (r0 + r) * K_ALIGN) as *const i32).read_unaligned()
                        };
                        // SAFETY: same-size reinterpretation.
                        let av = unsafe {
                            std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(pair))
                        };
                        acc[0] = _mm512_dpbf16_ps(acc[0], av, b0);
                        acc[1] = _mm512_dpbf16_ps(acc[1], av, b1);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                // SAFETY: row r0 + r of the 32 x 32 block at `c` (caller's contract).
                unsafe {
                    let row = c.add((r0 + r) * ldc);
                    _mm512_storeu_ps(row, acc[0]);
                    _mm512_storeu_ps(row.add(16), acc[1]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f32 reference GEMM `a[m x k] * b[k x n]` (plain loops, f64 accumulation).
    fn reference(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
        let mut d = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|l| a[i * k + l] as f64 * b[l * n + j] as f64)
                    .sum();
                d[i * n + j] = s as f32;
            }
        }
        d
    }

    fn synthetic(len: usize, mul: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * mul + seed) % 211) as f32 - 105.0) / 97.0)
            .collect()
    }

    #[test]
    fn bf16_rounding_is_nearest_even() {
        assert_eq!(from_bf16(to_bf16(1.0)), 1.0);
        // 1 + 2^-8 is halfway between bf16 1.0 and 1 + 2^-7: ties to even (1.0).
        assert_eq!(from_bf16(to_bf16(1.0 + 1.0 / 256.0)), 1.0);
        assert_eq!(from_bf16(to_bf16(1.0 + 3.0 / 256.0)), 1.0 + 4.0 / 256.0);
        assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
        assert_eq!(from_bf16(to_bf16(-0.5)), -0.5);
    }

    /// Each kernel against the f32 reference within bf16 tolerance, on shapes with every edge
    /// (m, n, k not multiples of the block), both operand layouts and block offsets; skipped
    /// with a message where the instruction is absent.
    #[test]
    fn kernels_match_the_f32_reference_gemm() {
        for kernel in [Bf16Kernel::Amx, Bf16Kernel::Avx512Bf16] {
            if !kernel.available() {
                eprintln!("SKIPPED: {} not available on this machine", kernel.name());
                continue;
            }
            for (m, n, k) in [(1, 1, 1), (37, 45, 70), (64, 96, 1000), (200, 130, 33)] {
                let a = synthetic(m * k, 31, 3);
                let b = synthetic(k * n, 17, 5);
                let want = reference(&a, &b, m, n, k);
                let (mut pa, mut pb) = (Vec::new(), Vec::new());
                let pa = pack_a(Operand::row_major(&a, k), m, k, &mut pa);
                let pb = pack_b(Operand::row_major(&b, n), k, n, &mut pb);
                let mut got = vec![f32::NAN; m * n];
                // SAFETY: got holds m x n; kernel available.
                unsafe { gemm(kernel, pa, 0, pb, 0, m, n, got.as_mut_ptr(), n) };
                // bf16 keeps 8 significant bits: each product is off by at most ~2^-8
                // relative, so the error is bounded by 2^-7 * sum |a||b|.
                for i in 0..m {
                    for j in 0..n {
                        let abs: f64 = (0..k)
                            .map(|l| (a[i * k + l] as f64 * b[l * n + j] as f64).abs())
                            .sum();
                        let err = (got[i * n + j] - want[i * n + j]).abs() as f64;
                        assert!(
                            err <= abs / 128.0 + 1e-6,
                            "{}: {m}x{n}x{k} at {i},{j}: {} vs {}",
                            kernel.name(),
                            got[i * n + j],
                            want[i * n + j]
                        );
                    }
                }
                // Exact on bf16-representable inputs up to the f32 sum: compare with the
                // reference on the rounded operands, much tighter.
                let ar: Vec<f32> = a.iter().map(|&x| from_bf16(to_bf16(x))).collect();
                let br: Vec<f32> = b.iter().map(|&x| from_bf16(to_bf16(x))).collect();
                let exact = reference(&ar, &br, m, n, k);
                for (g, e) in got.iter().zip(&exact) {
                    assert!((g - e).abs() <= 1e-4 * (1.0 + e.abs()), "{g} vs {e}");
                }
            }
            // Transposed operands and a block at an offset give the same numbers as packing
            // the plain layout.
            let (m, n, k) = (40, 70, 50);
            let at = synthetic(k * m, 7, 1); // k x m: a = at^T
            let bt = synthetic(n * k, 11, 2); // n x k: b = bt^T
            let (mut pa, mut pb) = (Vec::new(), Vec::new());
            let pa = pack_a(Operand::transposed(&at, m), m, k, &mut pa);
            let pb = pack_b(Operand::transposed(&bt, k), k, n, &mut pb);
            let mut whole = vec![0f32; m * n];
            let mut part = vec![0f32; 8 * 6];
            // SAFETY: buffers hold the blocks written; kernel available.
            unsafe {
                gemm(kernel, pa, 0, pb, 0, m, n, whole.as_mut_ptr(), n);
                gemm(kernel, pa, 32, pb, 64, 8, 6, part.as_mut_ptr(), 6);
            }
            for i in 0..8 {
                for j in 0..6 {
                    assert_eq!(
                        part[i * 6 + j].to_bits(),
                        whole[(32 + i) * n + 64 + j].to_bits()
                    );
                    let e: f32 = (0..k)
                        .map(|l| at[l * m + 32 + i] * bt[(64 + j) * k + l])
                        .sum();
                    assert!((part[i * 6 + j] - e).abs() < 0.05 * (1.0 + e.abs()));
                }
            }
        }
    }

    /// The fused epilogue gives exactly what the unfused path gives: the f32 output equals the
    /// plain product plus bias and ReLU, and both packed copies equal packing that output
    /// (padding included), on edge shapes and in column blocks as the MLP runs them.
    #[test]
    fn fused_outputs_equal_packing_the_plain_product() {
        for kernel in [Bf16Kernel::Amx, Bf16Kernel::Avx512Bf16] {
            if !kernel.available() {
                eprintln!("SKIPPED: {} not available on this machine", kernel.name());
                continue;
            }
            for (m, n, k, relu) in [(37, 45, 70, true), (200, 300, 33, true), (64, 1, 96, false)] {
                let a = synthetic(m * k, 31, 3);
                let b = synthetic(k * n, 17, 5);
                let bias = synthetic(n, 7, 1);
                let (mut pa, mut pb) = (Vec::new(), Vec::new());
                let pa = pack_a(Operand::row_major(&a, k), m, k, &mut pa);
                let pb = pack_b(Operand::row_major(&b, n), k, n, &mut pb);
                let mut want = vec![0f32; m * n];
                // SAFETY: want holds m x n; kernel available.
                unsafe { gemm(kernel, pa, 0, pb, 0, m, n, want.as_mut_ptr(), n) };
                for row in want.chunks_exact_mut(n) {
                    for (x, b) in row.iter_mut().zip(&bias) {
                        let t = *x + *b;
                        *x = if !relu || t > 0.0 { t } else { 0.0 };
                    }
                }
                let (mut want_p, mut want_t) = (Vec::new(), Vec::new());
                pack_a(Operand::row_major(&want, n), m, n, &mut want_p);
                pack_a(Operand::transposed(&want, n), n, m, &mut want_t);
                let mut got = vec![f32::NAN; m * n];
                // Garbage in the packed outputs: the fused stores must write every value.
                let mut got_p = vec![0xffffu16; want_p.len()];
                let mut got_t = vec![0xffffu16; want_t.len()];
                let out = FusedOut {
                    bias: &bias,
                    relu,
                    f32_out: Some((SharedMut(got.as_mut_ptr()), n)),
                    packed: Some(SharedMut(got_p.as_mut_ptr())),
                    packed_t: Some(SharedMut(got_t.as_mut_ptr())),
                };
                for j0 in (0..n).step_by(128) {
                    // SAFETY: the outputs hold m x n as FusedOut describes; kernel available.
                    unsafe { gemm_fused(kernel, pa, pb, j0, 128.min(n - j0), m, n, &out) };
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "{}: f32 output {m}x{n}",
                    kernel.name()
                );
                assert_eq!(got_p, want_p, "{}: packed output {m}x{n}", kernel.name());
                assert_eq!(got_t, want_t, "{}: packed transpose {m}x{n}", kernel.name());
            }
        }
    }

    /// The transposed, masked product (the back-propagated delta from the weights' packed
    /// rows) against the plain one: within bf16 tolerance of the f32 reference, zero exactly
    /// where the mask is, and only the requested block written.
    #[test]
    fn transposed_masked_product_matches_the_reference() {
        for kernel in [Bf16Kernel::Amx, Bf16Kernel::Avx512Bf16] {
            if !kernel.available() {
                eprintln!("SKIPPED: {} not available on this machine", kernel.name());
                continue;
            }
            // w: fi x fo (the layer's weights), d: bs x fo (its output delta); the result
            // is d w^T (bs x fi), here for rows 32..32 + 70 of w only.
            let (fi, fo, bs) = (130, 75, 45);
            let (i0, mrows) = (32, 70);
            let w = synthetic(fi * fo, 31, 3);
            let d = synthetic(bs * fo, 17, 5);
            let mask: Vec<f32> = (0..bs * fi).map(|i| (i % 3) as f32).collect();
            let (mut pw, mut pd) = (Vec::new(), Vec::new());
            let pw = pack_a(Operand::row_major(&w, fo), fi, fo, &mut pw);
            let pd = pack_b(Operand::transposed(&d, fo), fo, bs, &mut pd);
            let mut got = vec![f32::NAN; bs * fi];
            // SAFETY: got holds bs x fi; kernel available.
            unsafe {
                gemm_t_masked(
                    kernel,
                    pw,
                    i0,
                    pd,
                    mrows,
                    bs,
                    SharedMut(got.as_mut_ptr()),
                    fi,
                    &mask,
                )
            };
            for j in 0..bs {
                for i in 0..fi {
                    let g = got[j * fi + i];
                    if !(i0..i0 + mrows).contains(&i) {
                        assert!(g.is_nan(), "wrote outside the block at {j},{i}");
                        continue;
                    }
                    if mask[j * fi + i] == 0.0 {
                        assert_eq!(g.to_bits(), 0f32.to_bits());
                        continue;
                    }
                    let (e, abs) = (0..fo).fold((0f64, 0f64), |(e, abs), l| {
                        let p = w[i * fo + l] as f64 * d[j * fo + l] as f64;
                        (e + p, abs + p.abs())
                    });
                    assert!(
                        (g as f64 - e).abs() <= abs / 128.0 + 1e-6,
                        "{}: {g} vs {e} at {j},{i}",
                        kernel.name()
                    );
                }
            }
        }
    }

    #[test]
    fn region_packing_equals_whole_packing() {
        let (k, n) = (45, 70);
        let w = synthetic(k * n, 13, 4);
        let mut whole = Vec::new();
        pack_b(Operand::row_major(&w, n), k, n, &mut whole);
        let mut parts = new_b(k, n);
        // Rows in two pieces (the first of even length), columns in two pieces.
        for (k0, kr) in [(0usize, 20usize), (20, 25)] {
            for (n0, nr) in [(0usize, 33usize), (33, 37)] {
                let src = Operand {
                    data: &w[k0 * n + n0..],
                    rs: n,
                    cs: 1,
                };
                pack_b_region(src, k0, kr, n0, nr, k, n, &mut parts);
            }
        }
        assert_eq!(whole, parts);
    }
}
