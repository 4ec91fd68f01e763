//! int8 matrix multiply for CPU inference: `out = x · W + bias` with `W` quantized once
//! (symmetric, one scale per output column) and each row of `x` quantized at every call
//! (symmetric, one scale per row), so the dot products run on i8 and accumulate exactly
//! in i32. One output is `sx[row] · sw[col] · acc + bias[col]`.
//!
//! Why: one `vpdpbusd` does 64 multiply-adds where an f32 FMA does 16 (512-bit) or 8
//! (AVX2, what burn-flex's `gemm` uses), and the weights take a quarter of the memory.
//! Measured with `model/examples/int8_gemm.rs` on one Sapphire Rapids core, MiniLM shapes
//! (m = 16 and 128; k, n ∈ {384, 1536}; two runs): burn f32 21–44 G multiply-adds/s,
//! AVX-512 VNNI 155–240 (5–10×), AVX-VNNI 115–160 (3.5–6.5×), AVX2 55–63 (1.4–2.8×). In
//! Node 20 the SIMD128 path does about 25 against 2–7.5 for a naive f32 loop (burn's wasm
//! f32 not measured). The scalar path does about 3.5: slower than burn's f32, so callers
//! should take the int8 route only where [`Isa::best`] is not [`Isa::Scalar`].
//!
//! Every path ([`Isa`]) computes the same i32 accumulators, bit for bit, and shares the
//! quantization and the f32 epilogue, so all paths give identical outputs; the scalar path
//! is the reference the others are tested against.
//!
//! Weights are packed in panels of 16 output columns; inside a panel, each group of four
//! consecutive `k` is stored as 16 × 4 bytes (column-major within the group). One 4-byte
//! value of `x`, broadcast, then meets 16 columns at once, and each 32-bit lane accumulates
//! one output column: no horizontal sums, and the same layout serves 512-bit (one panel per
//! register), 256-bit (half a panel) and 128-bit SIMD (a quarter).

/// Defines a SIMD path's `dot`: every `$r`-row × `$c`-vector tile of `$tile::<R, C>`, with
/// vectors of `$lanes` columns. Blocks of `$c` vectors are the outer loop, so their weights
/// (`k · $c · $lanes` bytes: 18 KB for AVX-512 at k = 384) stay in cache while all row tiles
/// stream past; leftover vectors go one at a time, leftover rows in tiles of 4, 2 and 1 (so
/// `$tile` must accept R ∈ {`$r`, 4, 2, 1}).
#[allow(unused_macros)] // no SIMD path on some targets
macro_rules! sweep {
    ($dot:ident, $rows:ident, $tile:ident, $features:literal, $r:literal, $c:literal, $lanes:literal) => {
        /// `acc[r][j] = Σ_k q[r][k] · W_q[k][j]` over all padded columns, one tile at a time.
        #[target_feature(enable = $features)]
        fn $dot(q: &[i8], rows: usize, w: &PackedI8, acc: &mut [i32]) {
            let vectors = w.padded_n() / $lanes;
            let mut v = 0;
            while v + $c <= vectors {
                $rows::<$c>(q, rows, w, v, acc);
                v += $c;
            }
            while v < vectors {
                $rows::<1>(q, rows, w, v, acc);
                v += 1;
            }
        }

        /// All rows against `C` vectors of columns starting at vector `v`.
        #[inline]
        #[target_feature(enable = $features)]
        fn $rows<const C: usize>(q: &[i8], rows: usize, w: &PackedI8, v: usize, acc: &mut [i32]) {
            let mut r = 0;
            while r + $r <= rows {
                $tile::<$r, C>(q, r, w, v, acc);
                r += $r;
            }
            while r < rows {
                let step = match rows - r {
                    1 => 1,
                    2 | 3 => 2,
                    _ => 4,
                };
                match step {
                    1 => $tile::<1, C>(q, r, w, v, acc),
                    2 => $tile::<2, C>(q, r, w, v, acc),
                    _ => $tile::<4, C>(q, r, w, v, acc),
                }
                r += step;
            }
        }
    };
}

mod pack;
mod scalar;
#[cfg(test)]
mod tests;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use pack::PackedI8;

/// Output columns per packed panel: one 512-bit register of i32 lanes.
const PANEL: usize = 16;
/// Consecutive `k` values per packed group: the four bytes one VNNI lane sums.
const GROUP: usize = 4;
/// Rows quantized and multiplied per step. Bounds the scratch memory (64 × 1536 bytes of
/// quantized rows, 64 × 1536 i32 accumulators) so it stays in L2 whatever `m` is.
const ROW_BLOCK: usize = 64;

/// An instruction-set path for [`matmul_with`]. [`Isa::best`] picks one at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust; the reference every other path must match exactly.
    Scalar,
    /// x86_64 AVX2 without VNNI: `|x| · sign(w, x)` through `vpmaddubsw`, which cannot
    /// saturate because both factors stay within ±127.
    Avx2,
    /// x86_64 AVX-VNNI (256-bit `vpdpbusd`), e.g. Alder Lake and later client cores.
    AvxVnni,
    /// x86_64 AVX-512 VNNI (512-bit `vpdpbusd`), e.g. Ice Lake / Sapphire Rapids servers.
    Avx512Vnni,
    /// wasm32 SIMD128 (`i32x4.dot_i16x8_s` on sign-extended bytes); compiled in when the
    /// build enables `simd128`, as the page's build does.
    Simd128,
}

impl Isa {
    /// Every path, fastest first.
    pub const ALL: [Isa; 5] = [
        Isa::Avx512Vnni,
        Isa::AvxVnni,
        Isa::Avx2,
        Isa::Simd128,
        Isa::Scalar,
    ];

    /// Whether this build and this CPU can run the path.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Isa::AvxVnni => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("avxvnni")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Isa::Simd128 => true,
            #[allow(unreachable_patterns)] // every arm above is cfg'd out on some target
            _ => false,
        }
    }

    /// The fastest available path (the feature checks are cached by std, so this is cheap).
    pub fn best() -> Isa {
        Isa::ALL
            .into_iter()
            .find(|isa| isa.is_available())
            .unwrap_or(Isa::Scalar)
    }
}

/// `out[m][n] = x[m][k] · W[k][n] + bias[n]` in int8 on the fastest path ([`Isa::best`]).
///
/// Each row of `x` is quantized symmetrically (scale `max|row| / 127`, round to nearest);
/// an all-zero row gives `bias` (or zeros). Single-threaded: split rows across threads
/// outside if wanted, the packed weights are shared read-only.
///
/// # Panics
/// If `x.len() != m · k`, `out.len() != m · n` or `bias` is not `n` long.
pub fn matmul(x: &[f32], m: usize, w: &PackedI8, bias: Option<&[f32]>, out: &mut [f32]) {
    matmul_with(Isa::best(), x, m, w, bias, out);
}

/// [`matmul`] on a chosen path; the output is identical on every path. For tests and
/// benchmarks.
///
/// # Panics
/// As [`matmul`], and if the path is not available ([`Isa::is_available`]).
pub fn matmul_with(
    isa: Isa,
    x: &[f32],
    m: usize,
    w: &PackedI8,
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let (k, n) = (w.k(), w.n());
    assert!(
        isa.is_available(),
        "{isa:?} is not available on this CPU or build"
    );
    assert_eq!(x.len(), m * k, "x must be m × k = {m} × {k}");
    assert_eq!(out.len(), m * n, "out must be m × n = {m} × {n}");
    if let Some(bias) = bias {
        assert_eq!(bias.len(), n, "bias must have n = {n} values");
    }
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: only the bias remains (and `chunks(0)` below would panic).
        match bias {
            Some(bias) => out
                .chunks_exact_mut(n)
                .for_each(|o| o.copy_from_slice(bias)),
            None => out.fill(0.0),
        }
        return;
    }
    let mut scratch = Scratch::new(m.min(ROW_BLOCK), w);
    for (x, out) in x.chunks(ROW_BLOCK * k).zip(out.chunks_mut(ROW_BLOCK * n)) {
        let rows = out.len() / n;
        let block = Block { x, rows, bias, out };
        run_block(isa, w, block, &mut scratch);
    }
}

/// One block of at most [`ROW_BLOCK`] rows: its inputs and where its outputs go.
struct Block<'a> {
    x: &'a [f32],
    rows: usize,
    bias: Option<&'a [f32]>,
    out: &'a mut [f32],
}

/// Buffers reused across the row blocks of one call.
struct Scratch {
    /// Quantized rows, `kp` bytes each (zero-point padded).
    q: Vec<i8>,
    /// Per-row scales of `q`.
    sx: Vec<f32>,
    /// i32 accumulators, one row of `panels · PANEL` per row.
    acc: Vec<i32>,
}

impl Scratch {
    fn new(rows: usize, w: &PackedI8) -> Self {
        Scratch {
            q: vec![0; rows * w.kp],
            sx: vec![0.0; rows],
            acc: vec![0; rows * w.padded_n()],
        }
    }
}

fn run_block(isa: Isa, w: &PackedI8, block: Block<'_>, s: &mut Scratch) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            // SAFETY: `matmul_with` asserted `Isa::Avx2.is_available()`, i.e. AVX2.
            unsafe { x86::block_avx2(w, block, s) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::AvxVnni => {
            // SAFETY: `matmul_with` asserted `Isa::AvxVnni.is_available()`: AVX2, AVX-VNNI.
            unsafe { x86::block_avx_vnni(w, block, s) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Vnni => {
            // SAFETY: `matmul_with` asserted `Isa::Avx512Vnni.is_available()`:
            // AVX-512 F, BW and VNNI.
            unsafe { x86::block_avx512_vnni(w, block, s) }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Isa::Simd128 => wasm::block_simd128(w, block, s),
        _ => {
            quantize_rows(block.x, w, false, s);
            scalar::dot(&s.q, block.rows, w, &mut s.acc);
            epilogue(w, block, s);
        }
    }
}

/// Quantizes every row of `x` into `s.q` / `s.sx`. Portable code, but `#[inline(always)]`
/// so each SIMD path compiles it with its own target features (about 8 % of a 16 × 384 ×
/// 384 multiply on AVX-512 VNNI, after [`max_abs`] and [`round_to_i8`] were made to
/// vectorize). The float operations are the same on every path, so all paths round alike.
#[inline(always)]
fn quantize_rows(x: &[f32], w: &PackedI8, offset: bool, s: &mut Scratch) {
    let flip = if offset { i8::MIN } else { 0 };
    let rows = x.chunks_exact(w.k()).zip(s.q.chunks_exact_mut(w.kp));
    for ((x, q), sx) in rows.zip(&mut s.sx) {
        *sx = quantize_row(x, q, flip);
    }
}

/// Quantizes one row to `q` (padded past `x.len()` with the zero point) and returns its
/// scale. `flip = i8::MIN` stores `q + 128` as u8 bits (the VNNI paths' offset form).
#[inline(always)]
fn quantize_row(x: &[f32], q: &mut [i8], flip: i8) -> f32 {
    let max = max_abs(x);
    if max <= 0.0 {
        q.fill(flip);
        return 0.0;
    }
    let inv = 127.0 / max;
    let (body, pad) = q.split_at_mut(x.len());
    for (q, &x) in body.iter_mut().zip(x) {
        *q = round_to_i8(x * inv) ^ flip;
    }
    pad.fill(flip);
    max / 127.0
}

/// `max |x|` (NaN ignored) in 4 × 16 independent lanes: a single running maximum is one
/// long dependency chain, and `f32::max`'s NaN rules cost two more ops per step; together
/// they made this loop as slow as the multiply at m = 16.
#[inline(always)]
fn max_abs(x: &[f32]) -> f32 {
    let mut lanes = [[0f32; 16]; 4];
    let mut chunks = x.chunks_exact(64);
    for chunk in &mut chunks {
        for (lanes, chunk) in lanes.iter_mut().zip(chunk.chunks_exact(16)) {
            for (lane, &v) in lanes.iter_mut().zip(chunk) {
                *lane = greater(*lane, v.abs());
            }
        }
    }
    let [mut lanes, b, c, d] = lanes;
    for (((lane, b), c), d) in lanes.iter_mut().zip(b).zip(c).zip(d) {
        *lane = greater(greater(*lane, b), greater(c, d));
    }
    for &v in chunks.remainder() {
        lanes[0] = greater(lanes[0], v.abs());
    }
    let mut width = 8;
    while width > 0 {
        for i in 0..width {
            lanes[i] = greater(lanes[i], lanes[i + width]);
        }
        width /= 2;
    }
    lanes[0]
}

/// The larger of `a` and `b`, `a` if `b` is NaN: exactly x86's `maxps`, one instruction.
#[inline(always)]
fn greater(a: f32, b: f32) -> f32 {
    if b > a {
        b
    } else {
        a
    }
}

/// `v` rounded half to even, as i8, for `|v| <= 127`. Adding 1.5 · 2^23 pushes the fraction
/// bits out under the FPU's round-to-nearest-even and leaves the integer, two's complement,
/// in the low bits of the sum (whose bit pattern is `0x4B40_0000 + round(v)`). Pure float
/// and integer ops, so it vectorizes; `f32::round` is a libm call per value without SSE4.1
/// and a saturating `as i32` was scalarized: quantization then took 56 % of a 128 × 384 ×
/// 384 multiply on AVX-512 VNNI.
#[inline(always)]
fn round_to_i8(v: f32) -> i8 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23, bits 0x4B40_0000
    (v + MAGIC).to_bits() as i8
}

/// Writes `out = sx[row] · sw[col] · acc + bias[col]` for one block. The order of the f32
/// operations is fixed here (no fused multiply-add), so every path rounds identically.
/// About 10 % of a 16 × 384 × 384 multiply on AVX-512 VNNI; fusing it into the tiles'
/// stores would save most of that, at the price of one epilogue per path.
#[inline(always)]
fn epilogue(w: &PackedI8, block: Block<'_>, s: &Scratch) {
    let n = w.n();
    let rows = block.out.chunks_exact_mut(n);
    let rows = rows.zip(s.acc.chunks_exact(w.padded_n())).zip(&s.sx);
    for ((out, acc), &sx) in rows {
        let cols = out.iter_mut().zip(&acc[..n]).zip(w.scales());
        match block.bias {
            Some(bias) => {
                for (((o, &a), &sw), &b) in cols.zip(bias) {
                    *o = a as f32 * (sx * sw) + b;
                }
            }
            None => {
                for ((o, &a), &sw) in cols {
                    *o = a as f32 * (sx * sw);
                }
            }
        }
    }
}

/// Asserts that a tile of `rows` rows from `r0` and `cols` columns from `col0` lies inside
/// `q`, `w` and `acc`. The SIMD tiles check this once, then read and write through raw
/// pointers in their inner loops.
#[allow(dead_code)] // no SIMD path on some targets
#[inline(always)]
fn check_tile(
    q: &[i8],
    (r0, rows): (usize, usize),
    w: &PackedI8,
    (col0, cols): (usize, usize),
    acc: &[i32],
) {
    let fits = rows > 0
        && (r0 + rows) * w.kp <= q.len()
        && col0 + cols <= w.padded_n()
        && (r0 + rows - 1) * w.padded_n() + col0 + cols <= acc.len()
        && w.data.len() == w.panels * w.kp * PANEL
        && w.offset_init.len() == w.padded_n();
    assert!(fits, "int8 tile out of bounds");
}

/// Byte offset in `w.data` of group `g` (k = 4g..4g+4) for the columns from `col`, which
/// must not cross a panel: panel, then group, then column within the panel.
#[allow(dead_code)] // no SIMD path on some targets
#[inline(always)]
fn w_offset(w: &PackedI8, col: usize, g: usize) -> usize {
    (col / PANEL) * w.kp * PANEL + g * GROUP * PANEL + (col % PANEL) * GROUP
}
