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

/// Interleaves two rows into bf16 pairs: `dst[2c] = x0[c]`, `dst[2c + 1] = x1[c]` (0 when
/// `x1` is absent: the zero padding of an odd k).
fn pair_row(dst: &mut [u16], x0: &[f32], x1: Option<&[f32]>) {
    #[inline(always)]
    fn body(dst: &mut [u16], x0: &[f32], x1: Option<&[f32]>) {
        match x1 {
            Some(x1) => {
                for ((d, a), b) in dst.chunks_exact_mut(2).zip(x0).zip(x1) {
                    d[0] = to_bf16(*a);
                    d[1] = to_bf16(*b);
                }
            }
            None => {
                for (d, a) in dst.chunks_exact_mut(2).zip(x0) {
                    d[0] = to_bf16(*a);
                }
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn v4(dst: &mut [u16], x0: &[f32], x1: Option<&[f32]>) {
        body(dst, x0, x1)
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
    {
        // SAFETY: the CPU has the features (checked).
        return unsafe { v4(dst, x0, x1) };
    }
    body(dst, x0, x1)
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
    if src.cs == 1 {
        for i in 0..m {
            for k0 in (0..k).step_by(K_ALIGN) {
                let w = K_ALIGN.min(k - k0);
                let o = a_offset(i, k0, kp);
                let s = &src.data[i * src.rs + k0..i * src.rs + k0 + w];
                for (d, x) in out[o..o + w].iter_mut().zip(s) {
                    *d = to_bf16(*x);
                }
            }
        }
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
    PackedA {
        data: out,
        rows,
        kp,
    }
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
            for (t, c0) in (0..nr).step_by(BLOCK).enumerate() {
                let w = BLOCK.min(nr - c0);
                let o = base + t * (h / 2) * 2 * BLOCK;
                pair_row(
                    &mut out[o..o + 2 * w],
                    &row0[c0..c0 + w],
                    row1.map(|x| &x[c0..c0 + w]),
                );
            }
        }
    } else if src.rs == 1 && k0.is_multiple_of(PANEL_K) {
        // Transposed source: its rows (our columns) are contiguous; walk each down k.
        for c in 0..nr {
            let j = n0 + c;
            let col = &src.data[c * src.cs..c * src.cs + kr];
            for (q, xs) in col.chunks(PANEL_K).enumerate() {
                let (o, _) = b_strip(k0 / PANEL_K + q, j / BLOCK, kp, np);
                let o = o + (j % BLOCK) * 2;
                for (p, pair) in xs.chunks(2).enumerate() {
                    for (e, x) in pair.iter().enumerate() {
                        out[o + p * 2 * BLOCK + e] = to_bf16(*x);
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
    #[cfg(target_arch = "x86_64")]
    {
        let mut tile = Tile([0f32; BLOCK * BLOCK]);
        if kernel == Bf16Kernel::Amx {
            // SAFETY: AMX is available (caller's contract) and the tile config is valid.
            unsafe { amx::configure() };
        }
        // Strips of A outside: one strip (32 x kp) stays in L1/L2 while the B strips of the
        // block pass by.
        for ib in (0..m).step_by(BLOCK) {
            // SAFETY: strip (i0 + ib) / 32 of A is inside the packed operand (asserted).
            let ap = unsafe { a.data.as_ptr().add((i0 + ib) * a.kp) };
            for jb in (0..n).step_by(BLOCK) {
                let t = (j0 + jb) / BLOCK;
                let (h, w) = (BLOCK.min(m - ib), BLOCK.min(n - jb));
                // A whole 32 x 32 block goes straight to `dst`; an edge block via `tile`.
                let full = h == BLOCK && w == BLOCK;
                let (c, ldc_c) = if full {
                    // SAFETY: the block lies inside the caller's m x n output.
                    (unsafe { dst.add(ib * ldc + jb) }, ldc)
                } else {
                    (tile.0.as_mut_ptr(), BLOCK)
                };
                // SAFETY: strip t of every panel of B is inside the packed operand (asserted
                // above); `c` holds a 32 x 32 block with row stride `ldc_c`; the kernel was
                // checked available by the caller.
                unsafe {
                    let bp = b.data.as_ptr();
                    match kernel {
                        Bf16Kernel::Amx => amx::block(ap, bp, a.kp, b.np, t, c, ldc_c),
                        Bf16Kernel::Avx512Bf16 => avx512::block(ap, bp, a.kp, b.np, t, c, ldc_c),
                    }
                }
                if full {
                    continue;
                }
                for r in 0..h {
                    // SAFETY: row ib + r, columns jb..jb + w of the m x n block (caller).
                    let d =
                        unsafe { std::slice::from_raw_parts_mut(dst.add((ib + r) * ldc + jb), w) };
                    d.copy_from_slice(&tile.0[r * BLOCK..r * BLOCK + w]);
                }
            }
        }
        if kernel == Bf16Kernel::Amx {
            // SAFETY: releases the tile state configured above.
            unsafe { amx::release() };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (kernel, a, i0, b, j0, dst, ldc);
        unreachable!("bf16 kernels exist only on x86_64");
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
