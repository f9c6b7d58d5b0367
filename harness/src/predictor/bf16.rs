//! bf16 GEMM kernels with f32 accumulation: Intel AMX tiles (`tdpbf16ps`) and AVX512_BF16
//! (`vdpbf16ps`), on operands packed once into the layouts both instructions read.
//!
//! Layouts (`u16` = one bf16, rounded to nearest even from f32 by [`to_bf16`]):
//! - [`PackedA`]: the left operand, row-major `rows x kp` (`kp` = k rounded up to
//!   [`K_ALIGN`], `rows` = m rounded up to [`BLOCK`]), zero padded.
//! - [`PackedB`]: the right operand in pair-interleaved ("VNNI") form: `kp / 2` rows of
//!   `np` column pairs, element `(k, j)` at `((k / 2) * np + j) * 2 + k % 2`, `np` = n rounded up
//!   to [`BLOCK`], zero padded.
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
    if x.is_nan() {
        return ((b >> 16) | 0x40) as u16;
    }
    (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16
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
    for i in 0..m {
        let row = &mut out[i * kp..i * kp + k];
        if src.cs == 1 {
            let s = &src.data[i * src.rs..i * src.rs + k];
            for (o, x) in row.iter_mut().zip(s) {
                *o = to_bf16(*x);
            }
        } else {
            for (l, o) in row.iter_mut().enumerate() {
                *o = to_bf16(src.data[i * src.rs + l * src.cs]);
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
/// element `(k0 + r, n0 + c)`. Padding is left as it is (zero from [`new_b`]).
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
    for r in 0..kr {
        let kk = k0 + r;
        let base = (kk / 2) * np * 2 + kk % 2;
        for c in 0..nr {
            out[base + (n0 + c) * 2] = to_bf16(src.data[r * src.rs + c * src.cs]);
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
    if src.cs == 1 {
        // Row pairs interleaved: the common case (contiguous reads).
        for kk in 0..k {
            let base = (kk / 2) * np * 2 + kk % 2;
            let s = &src.data[kk * src.rs..kk * src.rs + n];
            for (c, x) in s.iter().enumerate() {
                out[base + c * 2] = to_bf16(*x);
            }
        }
    } else {
        pack_b_region(src, 0, k, 0, n, k, n, out);
    }
    PackedB { data: out, kp, np }
}

/// `dst[i * ldc + j] = sum_k a[i0 + i, k] * b[k, j0 + j]` for `i < m`, `j < n` (overwrites;
/// f32 accumulation in k order).
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
        i0 + round_up(m, BLOCK) <= a.rows && j0 + round_up(n, BLOCK) <= b.np,
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
        for jb in (0..n).step_by(BLOCK) {
            for ib in (0..m).step_by(BLOCK) {
                // SAFETY: the 32 x kp rows of A from i0 + ib and the kp/2 x 32 pairs of B
                // from j0 + jb are inside the packed operands (asserted above).
                unsafe {
                    let ap = a.data.as_ptr().add((i0 + ib) * a.kp);
                    let bp = b.data.as_ptr().add((j0 + jb) * 2);
                    match kernel {
                        Bf16Kernel::Amx => amx::block(ap, a.kp, bp, b.np * 2, a.kp, &mut tile.0),
                        Bf16Kernel::Avx512Bf16 => {
                            avx512::block(ap, a.kp, bp, b.np * 2, a.kp, &mut tile.0)
                        }
                    }
                }
                let (h, w) = (BLOCK.min(m - ib), BLOCK.min(n - jb));
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
    use super::BLOCK;
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

    /// One 32 x 32 output block: `c = a[32 x kp] * b[kp x 32]` (`lda`, `ldb` in bf16
    /// elements; `kp` a positive multiple of 32), written row-major with 32 columns.
    ///
    /// # Safety
    /// Tiles configured by [`configure`]; 32 rows of `lda` from `a` and `kp / 2` rows of
    /// `ldb` from `b` readable (64 elements of each B row).
    pub(super) unsafe fn block(
        a: *const u16,
        lda: usize,
        b: *const u16,
        ldb: usize,
        kp: usize,
        c: &mut [f32; BLOCK * BLOCK],
    ) {
        debug_assert!(kp > 0 && kp.is_multiple_of(32));
        let lda_bytes = lda * 2;
        let ldb_bytes = ldb * 2;
        let ldc_bytes = BLOCK * 4;
        let cp = c.as_mut_ptr();
        // SAFETY: caller's contract; each k step reads 16 rows x 64 bytes of A (two tiles)
        // and of B (two tiles), and the stores cover the 32 x 32 f32 block at `c`.
        unsafe {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                "2:",
                "tileloadd tmm4, [{a} + {lda}*1]",
                "tileloadd tmm6, [{b} + {ldb}*1]",
                "tileloadd tmm7, [{b} + {ldb}*1 + 64]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tileloadd tmm5, [{a2} + {lda}*1]",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                "add {a}, 64",
                "add {a2}, 64",
                "add {b}, {bstep}",
                "dec {k}",
                "jnz 2b",
                "tilestored [{c} + {ldc}*1], tmm0",
                "tilestored [{c} + {ldc}*1 + 64], tmm1",
                "tilestored [{c2} + {ldc}*1], tmm2",
                "tilestored [{c2} + {ldc}*1 + 64], tmm3",
                a = inout(reg) a => _,
                a2 = inout(reg) a.add(16 * lda) => _,
                b = inout(reg) b => _,
                k = inout(reg) kp / 32 => _,
                lda = in(reg) lda_bytes,
                ldb = in(reg) ldb_bytes,
                bstep = in(reg) 16 * ldb_bytes,
                c = in(reg) cp,
                c2 = in(reg) cp.add(16 * BLOCK),
                ldc = in(reg) ldc_bytes,
                options(nostack),
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::BLOCK;
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
        lda: usize,
        b: *const u16,
        ldb: usize,
        kp: usize,
        c: &mut [f32; BLOCK * BLOCK],
    ) {
        for r0 in (0..BLOCK).step_by(MR) {
            let mut acc = [[_mm512_setzero_ps(); 2]; MR];
            for p in 0..kp / 2 {
                // SAFETY: pair row p of B, 64 elements from `b` (caller's contract).
                let (b0, b1) = unsafe {
                    let bp = b.add(p * ldb);
                    (
                        _mm512_loadu_si512(bp as *const __m512i),
                        _mm512_loadu_si512(bp.add(32) as *const __m512i),
                    )
                };
                let (b0, b1): (__m512bh, __m512bh) =
                    // SAFETY: same-size reinterpretation of 32 bf16 values.
                    unsafe { (
                        std::mem::transmute::<__m512i, __m512bh>(b0),
                        std::mem::transmute::<__m512i, __m512bh>(b1),
                    ) };
                for (r, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: elements 2p, 2p + 1 of row r0 + r of A (caller's contract).
                    let pair =
                        unsafe { (a.add((r0 + r) * lda + 2 * p) as *const i32).read_unaligned() };
                    // SAFETY: same-size reinterpretation.
                    let av = unsafe {
                        std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(pair))
                    };
                    acc[0] = _mm512_dpbf16_ps(acc[0], av, b0);
                    acc[1] = _mm512_dpbf16_ps(acc[1], av, b1);
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                let row = &mut c[(r0 + r) * BLOCK..(r0 + r + 1) * BLOCK];
                // SAFETY: 32 f32 in `row`.
                unsafe {
                    _mm512_storeu_ps(row.as_mut_ptr(), acc[0]);
                    _mm512_storeu_ps(row.as_mut_ptr().add(16), acc[1]);
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
