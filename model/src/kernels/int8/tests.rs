use super::{matmul, matmul_with, Isa, PackedI8};

/// splitmix64: a tiny deterministic generator, so the tests need no `rand`.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f32 {
        let (u, v) = (1.0 - self.uniform(), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }

    fn normals(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.normal()).collect()
    }

    /// Uniform integer in `lo..=hi`.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
}

/// Every path this machine can run, the scalar reference first.
fn paths() -> Vec<Isa> {
    let mut paths: Vec<Isa> = Isa::ALL.into_iter().filter(|i| i.is_available()).collect();
    paths.reverse();
    assert_eq!(paths[0], Isa::Scalar);
    paths
}

fn run(isa: Isa, x: &[f32], m: usize, w: &PackedI8, bias: Option<&[f32]>) -> Vec<f32> {
    let mut out = vec![f32::NAN; m * w.n()];
    matmul_with(isa, x, m, w, bias, &mut out);
    out
}

/// Plain f32 `x · w` in f64 accumulators.
fn reference(x: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut out = vec![0f32; m * n];
    for (i, row) in out.chunks_exact_mut(n).enumerate() {
        for (j, o) in row.iter_mut().enumerate() {
            let dot: f64 = (0..k)
                .map(|kk| f64::from(x[i * k + kk]) * f64::from(w[kk * n + j]))
                .sum();
            *o = dot as f32;
        }
    }
    out
}

/// Shapes with odd and even sizes, one row, rows past the 64-row block, k not a multiple
/// of 4, n not a multiple of the 16-column panel.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 384, 384),
    (2, 3, 2),
    (3, 5, 7),
    (5, 31, 17),
    (7, 64, 16),
    (9, 100, 33),
    (4, 37, 70),
    (17, 384, 96),
    (67, 129, 45),
    (130, 48, 81),
];

#[test]
fn every_path_gives_exact_integer_products_when_quantization_is_lossless() {
    // Integers within ±127 with a ±127 in every row of x and every column of w: both scales
    // are exactly 1, nothing rounds, and the result must be the exact integer product.
    let mut rng = Rng(1);
    for &(m, k, n) in SHAPES {
        let mut x: Vec<f32> = (0..m * k).map(|_| rng.int(-127, 127) as f32).collect();
        let mut w: Vec<f32> = (0..k * n).map(|_| rng.int(-127, 127) as f32).collect();
        for i in 0..m {
            x[i * k + rng.int(0, k as i64 - 1) as usize] = if i % 2 == 0 { 127.0 } else { -127.0 };
        }
        for j in 0..n {
            w[rng.int(0, k as i64 - 1) as usize * n + j] = if j % 2 == 0 { -127.0 } else { 127.0 };
        }
        let expected = reference(&x, &w, m, k, n);
        let packed = PackedI8::from_f32(&w, k, n);
        for isa in paths() {
            assert_eq!(
                run(isa, &x, m, &packed, None),
                expected,
                "{isa:?} at {m}×{k}×{n}"
            );
        }
    }
}

#[test]
fn simd_paths_match_the_scalar_path_bit_for_bit_on_random_data() {
    let mut rng = Rng(2);
    for &(m, k, n) in SHAPES {
        let x = rng.normals(m * k);
        let w = rng.normals(k * n);
        let bias = rng.normals(n);
        let packed = PackedI8::from_f32(&w, k, n);
        let scalar = run(Isa::Scalar, &x, m, &packed, Some(&bias));
        for isa in paths() {
            let out = run(isa, &x, m, &packed, Some(&bias));
            let same = out
                .iter()
                .zip(&scalar)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{isa:?} differs from scalar at {m}×{k}×{n}");
        }
    }
}

#[test]
fn hand_computed_two_by_three_times_three_by_two_is_exact() {
    // Rows of x and columns of w each hold a ±127, so every scale is exactly 1.
    let x = [1.0, 2.0, 127.0, -127.0, 0.0, 3.0];
    let w = [
        127.0, 1.0, //
        -1.0, -127.0, //
        2.0, 5.0,
    ];
    // [1 2 127]·[127 -1 2] = 127 - 2 + 254 = 379;  [1 2 127]·[1 -127 5] = 1 - 254 + 635 = 382
    // [-127 0 3]·[127 -1 2] = -16129 + 6 = -16123;  [-127 0 3]·[1 -127 5] = -127 + 15 = -112
    let expected = [379.0, 382.0, -16123.0, -112.0];
    let packed = PackedI8::from_f32(&w, 3, 2);
    for isa in paths() {
        assert_eq!(run(isa, &x, 2, &packed, None), expected, "{isa:?}");
    }
}

#[test]
fn int8_result_stays_within_two_percent_of_f32_on_normal_data() {
    // Measured: 1.0–1.1 % relative error, cosine 0.99994, on these shapes.
    let mut rng = Rng(3);
    for (m, k, n) in [(16, 384, 384), (16, 384, 1536), (16, 1536, 384)] {
        let x = rng.normals(m * k);
        let w = rng.normals(k * n);
        let expected = reference(&x, &w, m, k, n);
        let mut out = vec![0f32; m * n];
        matmul(&x, m, &PackedI8::from_f32(&w, k, n), None, &mut out);

        let dot = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum::<f64>()
        };
        let err: Vec<f32> = out.iter().zip(&expected).map(|(a, b)| a - b).collect();
        let relative = (dot(&err, &err) / dot(&expected, &expected)).sqrt();
        let cosine = dot(&out, &expected) / (dot(&out, &out) * dot(&expected, &expected)).sqrt();
        assert!(relative < 0.02, "relative error {relative} at {m}×{k}×{n}");
        assert!(cosine > 0.999, "cosine {cosine} at {m}×{k}×{n}");
    }
}

#[test]
fn bias_is_added_to_every_row() {
    let (m, k, n) = (5, 40, 19);
    let mut rng = Rng(4);
    let (x, w, bias) = (rng.normals(m * k), rng.normals(k * n), rng.normals(n));
    let packed = PackedI8::from_f32(&w, k, n);
    for isa in paths() {
        let plain = run(isa, &x, m, &packed, None);
        let biased = run(isa, &x, m, &packed, Some(&bias));
        for (i, (plain, biased)) in plain.chunks(n).zip(biased.chunks(n)).enumerate() {
            for j in 0..n {
                assert_eq!(biased[j], plain[j] + bias[j], "{isa:?} row {i} column {j}");
            }
        }
    }
}

#[test]
fn zero_rows_and_zero_columns_give_the_bias_without_nan() {
    let (m, k, n) = (3, 21, 18);
    let mut rng = Rng(5);
    let mut x = rng.normals(m * k);
    let mut w = rng.normals(k * n);
    x[k..2 * k].fill(0.0); // row 1
    (0..k).for_each(|kk| w[kk * n + 4] = 0.0); // column 4
    let bias = rng.normals(n);
    let packed = PackedI8::from_f32(&w, k, n);
    for isa in paths() {
        let out = run(isa, &x, m, &packed, Some(&bias));
        assert!(out.iter().all(|v| v.is_finite()), "{isa:?}");
        assert_eq!(
            &out[n..2 * n],
            &bias[..],
            "{isa:?}: the zero row is the bias"
        );
        assert!(
            (0..m).all(|i| out[i * n + 4] == bias[4]),
            "{isa:?}: the zero column"
        );
    }
}

#[test]
fn empty_dimensions_do_not_panic() {
    let bias = [1.5, -2.0];
    let mut out = [0.0; 6];
    matmul(
        &[],
        3,
        &PackedI8::from_f32(&[], 0, 2),
        Some(&bias),
        &mut out,
    );
    assert_eq!(
        out,
        [1.5, -2.0, 1.5, -2.0, 1.5, -2.0],
        "k = 0 leaves only the bias"
    );
    matmul(&[], 0, &PackedI8::from_f32(&[1.0; 6], 3, 2), None, &mut []);
    matmul(&[1.0; 3], 1, &PackedI8::from_f32(&[], 3, 0), None, &mut []);
}

#[test]
fn packing_keeps_every_weight_at_its_column_scale() {
    let (k, n) = (13, 21);
    let mut rng = Rng(6);
    let w = rng.normals(k * n);
    let packed = PackedI8::from_f32(&w, k, n);
    for j in 0..n {
        let max = (0..k).map(|kk| w[kk * n + j].abs()).fold(0f32, f32::max);
        assert_eq!(packed.scales()[j], max / 127.0, "scale of column {j}");
        for kk in 0..k {
            let expected = (w[kk * n + j] * (127.0 / max)).round_ties_even() as i8;
            assert_eq!(packed.get(kk, j), expected, "w[{kk}][{j}]");
        }
    }
}

#[test]
fn packed_bytes_are_about_one_per_weight() {
    let packed = PackedI8::from_f32(&vec![0.5; 1536 * 384], 1536, 384);
    let weights = 1536 * 384;
    assert!(packed.bytes() >= weights);
    assert!(
        packed.bytes() < weights + 384 * 8 + 1024,
        "{} bytes",
        packed.bytes()
    );
}
