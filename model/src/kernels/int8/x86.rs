//! x86_64 paths: AVX-512 VNNI, AVX-VNNI and plain AVX2.
//!
//! Each tile keeps `R × C` accumulator registers of 16 (or 8) output columns. Per group of
//! four `k` it loads `C` weight vectors, broadcasts four bytes of each row and does `R · C`
//! multiply-accumulates, so every weight byte loaded serves `R` rows.

use core::arch::x86_64::*;

use super::{check_tile, epilogue, quantize_rows, w_offset, Block, PackedI8, Scratch, GROUP};

/// The AVX-512 VNNI path for one block of rows.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) fn block_avx512_vnni(w: &PackedI8, block: Block<'_>, s: &mut Scratch) {
    quantize_rows(block.x, w, true, s);
    dot_avx512_vnni(&s.q, block.rows, w, &mut s.acc);
    epilogue(w, block, s);
}

/// The AVX-VNNI (256-bit) path for one block of rows.
#[target_feature(enable = "avx2,avxvnni")]
pub(super) fn block_avx_vnni(w: &PackedI8, block: Block<'_>, s: &mut Scratch) {
    quantize_rows(block.x, w, true, s);
    dot_avx_vnni(&s.q, block.rows, w, &mut s.acc);
    epilogue(w, block, s);
}

/// The AVX2 path for one block of rows.
#[target_feature(enable = "avx2")]
pub(super) fn block_avx2(w: &PackedI8, block: Block<'_>, s: &mut Scratch) {
    quantize_rows(block.x, w, false, s);
    dot_avx2(&s.q, block.rows, w, &mut s.acc);
    epilogue(w, block, s);
}

// Tile shapes measured on this Sapphire Rapids host, m = 128 (GMAC/s, CPU time):
// AVX-512 VNNI 4×4 205, 6×4 225, 8×2 215, 8×3 240: 24 zmm accumulators + 3 weights + 1
// broadcast of the 32 registers.
sweep!(
    dot_avx512_vnni,
    rows_avx512_vnni,
    tile_avx512_vnni,
    "avx512f,avx512bw,avx512vnni",
    8,
    3,
    16
);
// AVX-VNNI has 16 ymm registers: 4×2 120, 4×3 105, 3×4 100, 6×2 135 (12 accumulators +
// 2 weights + 1 broadcast).
sweep!(
    dot_avx_vnni,
    rows_avx_vnni,
    tile_avx_vnni,
    "avx2,avxvnni",
    6,
    2,
    8
);
// AVX2 needs temporaries per product: 4×2 55, 6×2 55, 3×3 61, 2×4 62 (8 accumulators +
// 4 weights + x, |x| and two products).
sweep!(dot_avx2, rows_avx2, tile_avx2, "avx2", 2, 4, 8);

/// A VNNI tile: `R` rows × `C` vectors of `$lanes` columns with `vpdpbusd` (u8 · i8, four
/// products per i32 lane). `q` holds `x + 128` as u8; the accumulators start at
/// `-128 · Σ_k w`, which cancels it. The 512- and 256-bit tiles differ only in their
/// intrinsics, so one body serves both.
macro_rules! vnni_tile {
    ($(#[$doc:meta])* $name:ident, $features:literal, $lanes:literal, $zero:ident, $load:ident,
     $set1:ident, $dpbusd:ident, $store:ident) => {
        $(#[$doc])*
        #[inline]
        #[target_feature(enable = $features)]
        fn $name<const R: usize, const C: usize>(
            q: &[i8],
            r0: usize,
            w: &PackedI8,
            v0: usize,
            acc: &mut [i32],
        ) {
            const LANES: usize = $lanes;
            let (kp, ncols, col0) = (w.kp, w.padded_n(), v0 * LANES);
            check_tile(q, (r0, R), w, (col0, C * LANES), acc);
            let mut sums = [[$zero(); C]; R];
            for c in 0..C {
                // SAFETY: check_tile: col0 + C·LANES <= padded_n = offset_init.len().
                let init = unsafe { $load(w.offset_init.as_ptr().add(col0 + c * LANES).cast()) };
                for row in sums.iter_mut() {
                    row[c] = init;
                }
            }
            let mut wv = [$zero(); C];
            for g in 0..kp / GROUP {
                for (c, wv) in wv.iter_mut().enumerate() {
                    // SAFETY: check_tile: LANES columns from a multiple of LANES stay in one
                    // panel of w.data, g < kp / 4.
                    *wv = unsafe {
                        $load(w.data.as_ptr().add(w_offset(w, col0 + c * LANES, g)).cast())
                    };
                }
                for (r, row) in sums.iter_mut().enumerate() {
                    // SAFETY: check_tile: (r0 + r) · kp + 4g + 4 <= (r0 + R) · kp <= q.len().
                    let x = unsafe {
                        q.as_ptr()
                            .add((r0 + r) * kp + g * GROUP)
                            .cast::<i32>()
                            .read_unaligned()
                    };
                    let x = $set1(x);
                    for (sum, &wv) in row.iter_mut().zip(&wv) {
                        *sum = $dpbusd(*sum, x, wv);
                    }
                }
            }
            for (r, row) in sums.iter().enumerate() {
                for (c, &sum) in row.iter().enumerate() {
                    // SAFETY: check_tile: (r0 + r) · ncols + col0 + (c + 1) · LANES <= acc.len().
                    unsafe {
                        $store(
                            acc.as_mut_ptr()
                                .add((r0 + r) * ncols + col0 + c * LANES)
                                .cast(),
                            sum,
                        )
                    };
                }
            }
        }
    };
}

vnni_tile!(
    /// 512-bit VNNI: a tile spans `C` whole panels of 16 columns.
    tile_avx512_vnni,
    "avx512f,avx512bw,avx512vnni",
    16,
    _mm512_setzero_si512,
    _mm512_loadu_si512,
    _mm512_set1_epi32,
    _mm512_dpbusd_epi32,
    _mm512_storeu_si512
);
vnni_tile!(
    /// 256-bit AVX-VNNI: a tile spans `C` half-panels of 8 columns.
    tile_avx_vnni,
    "avx2,avxvnni",
    8,
    _mm256_setzero_si256,
    _mm256_loadu_si256,
    _mm256_set1_epi32,
    _mm256_dpbusd_avx_epi32,
    _mm256_storeu_si256
);

/// `R` rows × `C` half-panels with AVX2 only. `vpmaddubsw` multiplies u8 by i8 and adds
/// pairs into a saturating i16; feeding it `|x|` and `sign(w, x)` (both within ±127) keeps
/// each pair under 2 · 127² = 32 258, so it never saturates and the sums stay exact.
#[inline]
#[target_feature(enable = "avx2")]
fn tile_avx2<const R: usize, const C: usize>(
    q: &[i8],
    r0: usize,
    w: &PackedI8,
    v0: usize,
    acc: &mut [i32],
) {
    const LANES: usize = 8;
    let (kp, ncols, col0) = (w.kp, w.padded_n(), v0 * LANES);
    check_tile(q, (r0, R), w, (col0, C * LANES), acc);
    let ones = _mm256_set1_epi16(1);
    let mut sums = [[_mm256_setzero_si256(); C]; R];
    let mut wv = [_mm256_setzero_si256(); C];
    for g in 0..kp / GROUP {
        for (c, wv) in wv.iter_mut().enumerate() {
            // SAFETY: check_tile: 8 columns from a multiple of 8 stay in one panel of w.data.
            *wv = unsafe {
                _mm256_loadu_si256(w.data.as_ptr().add(w_offset(w, col0 + c * LANES, g)).cast())
            };
        }
        for (r, row) in sums.iter_mut().enumerate() {
            // SAFETY: check_tile: (r0 + r) · kp + 4g + 4 <= (r0 + R) · kp <= q.len().
            let x = unsafe {
                q.as_ptr()
                    .add((r0 + r) * kp + g * GROUP)
                    .cast::<i32>()
                    .read_unaligned()
            };
            let x = _mm256_set1_epi32(x);
            let x_abs = _mm256_abs_epi8(x);
            for (sum, &wv) in row.iter_mut().zip(&wv) {
                let pairs = _mm256_maddubs_epi16(x_abs, _mm256_sign_epi8(wv, x));
                *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(pairs, ones));
            }
        }
    }
    store_256::<R, C>(&sums, acc, (r0, ncols, col0));
}

/// Stores a tile of 256-bit accumulators at row `r0`, column `col0` of `acc`.
#[inline]
#[target_feature(enable = "avx2")]
fn store_256<const R: usize, const C: usize>(
    sums: &[[__m256i; C]; R],
    acc: &mut [i32],
    (r0, ncols, col0): (usize, usize, usize),
) {
    assert!((r0 + R - 1) * ncols + col0 + C * 8 <= acc.len());
    for (r, row) in sums.iter().enumerate() {
        for (c, &sum) in row.iter().enumerate() {
            // SAFETY: asserted above: (r0 + r) · ncols + col0 + (c + 1) · 8 <= acc.len().
            unsafe {
                _mm256_storeu_si256(
                    acc.as_mut_ptr().add((r0 + r) * ncols + col0 + c * 8).cast(),
                    sum,
                )
            };
        }
    }
}
