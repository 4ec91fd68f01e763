//! wasm32 SIMD128 path. There is no 8-bit dot product in SIMD128 (only in relaxed SIMD,
//! which browsers do not all ship), so the bytes are sign-extended to i16 and multiplied with
//! `i32x4.dot_i16x8_s`, which sums pairs: each column's four products land in two lanes,
//! summed once per tile at the end rather than once per step.

use core::arch::wasm32::*;

use super::{check_tile, epilogue, quantize_rows, w_offset, Block, PackedI8, Scratch, GROUP};

/// The SIMD128 path for one block of rows.
pub(super) fn block_simd128(w: &PackedI8, block: Block<'_>, s: &mut Scratch) {
    quantize_rows(block.x, w, false, s);
    dot_simd128(&s.q, block.rows, w, &mut s.acc);
    epilogue(w, block, s);
}

// 2 rows × 2 quarter-panels: 8 accumulators (two per row and quarter) + 4 widened weights +
// 1 row fit 16 vector registers. In Node 20 (V8) on this host, m = 16..128: 2×2 ≈ 26,
// 4×1 ≈ 26, 1×4 ≈ 21, 2×4 and 4×2 ≈ 14 GMAC/s (spilling), against 1–2 for naive f32.
sweep!(dot_simd128, rows_simd128, tile_simd128, "simd128", 2, 2, 4);

/// `R` rows × `C` quarter-panels (4 columns each). A quarter holds 4 columns × 4 bytes;
/// sign-extended, its low half pairs columns 0–1 and its high half columns 2–3 with the four
/// `x` values repeated twice, and each dot yields two partial sums per column.
#[inline]
#[target_feature(enable = "simd128")]
fn tile_simd128<const R: usize, const C: usize>(
    q: &[i8],
    r0: usize,
    w: &PackedI8,
    v0: usize,
    acc: &mut [i32],
) {
    const LANES: usize = 4;
    let (kp, ncols, col0) = (w.kp, w.padded_n(), v0 * LANES);
    check_tile(q, (r0, R), w, (col0, C * LANES), acc);
    let mut lo = [[i32x4_splat(0); C]; R];
    let mut hi = [[i32x4_splat(0); C]; R];
    let mut w_lo = [i32x4_splat(0); C];
    let mut w_hi = [i32x4_splat(0); C];
    for g in 0..kp / GROUP {
        for c in 0..C {
            // SAFETY: check_tile: 4 columns from a multiple of 4 stay in one panel of w.data.
            let v =
                unsafe { v128_load(w.data.as_ptr().add(w_offset(w, col0 + c * LANES, g)).cast()) };
            w_lo[c] = i16x8_extend_low_i8x16(v);
            w_hi[c] = i16x8_extend_high_i8x16(v);
        }
        for r in 0..R {
            // SAFETY: check_tile: (r0 + r) · kp + 4g + 4 <= (r0 + R) · kp <= q.len().
            let x = unsafe {
                q.as_ptr()
                    .add((r0 + r) * kp + g * GROUP)
                    .cast::<i32>()
                    .read_unaligned()
            };
            let x = i16x8_extend_low_i8x16(i32x4_splat(x));
            for c in 0..C {
                lo[r][c] = i32x4_add(lo[r][c], i32x4_dot_i16x8(w_lo[c], x));
                hi[r][c] = i32x4_add(hi[r][c], i32x4_dot_i16x8(w_hi[c], x));
            }
        }
    }
    for r in 0..R {
        for c in 0..C {
            let (a, b) = (lo[r][c], hi[r][c]);
            let sum = i32x4_add(
                i32x4_shuffle::<0, 2, 4, 6>(a, b),
                i32x4_shuffle::<1, 3, 5, 7>(a, b),
            );
            // SAFETY: check_tile: (r0 + r) · ncols + col0 + (c + 1) · 4 <= acc.len().
            unsafe {
                v128_store(
                    acc.as_mut_ptr()
                        .add((r0 + r) * ncols + col0 + c * LANES)
                        .cast(),
                    sum,
                )
            };
        }
    }
}
