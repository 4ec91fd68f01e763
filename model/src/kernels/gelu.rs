//! GELU and its derivative over slices, for the int8 feed-forward block that already holds
//! its activations on the host and for burn-flex tensors ([`crate::nn::activation`]).
//! burn-flex computes `erf` with scalar libm calls: 18 % of an int8 forward and 16 % of a
//! training step in `perf`. Here erf is Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7) over an
//! exp written with plain float and bit operations, so the loop has no calls and the compiler
//! vectorises it (SSE/AVX natively, SIMD128 in wasm).

/// `x ← x · ½(1 + erf(x/√2))`, the exact-erf GELU BERT uses, to within 1e-6 absolute.
pub fn gelu_in_place(xs: &mut [f32]) {
    for x in xs {
        *x = gelu(*x);
    }
}

/// `g ← g · GELU′(x)` elementwise, the backward pass of [`gelu_in_place`]:
/// GELU′(x) = Φ(x) + x·φ(x), with Φ from the same erf and φ(x) = e^(−x²/2)/√(2π), whose
/// exponential erf has already computed.
pub fn gelu_backward_in_place(xs: &[f32], grads: &mut [f32]) {
    assert_eq!(xs.len(), grads.len(), "one gradient per input");
    for (g, &x) in grads.iter_mut().zip(xs) {
        *g *= gelu_derivative(x);
    }
}

/// GELU′(x) (see [`gelu_backward_in_place`]).
#[inline(always)]
pub fn gelu_derivative(x: f32) -> f32 {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let (erf, gauss) = erf_and_gauss(x * std::f32::consts::FRAC_1_SQRT_2);
    0.5 * (1.0 + erf) + x * INV_SQRT_2PI * gauss
}

/// One value of the exact-erf GELU (see [`gelu_in_place`]).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// erf by Abramowitz & Stegun 7.1.26 on |x|, sign restored; absolute error ≤ 1.5e-7.
#[inline(always)]
fn erf(x: f32) -> f32 {
    erf_and_gauss(x).0
}

/// erf(x) and the e^(−x²) it is built on.
#[inline(always)]
fn erf_and_gauss(x: f32) -> (f32, f32) {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        0.254_829_6,
        -0.284_496_74,
        1.421_413_7,
        -1.453_152,
        1.061_405_4,
    ];
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let gauss = exp(-a * a);
    ((1.0 - poly * gauss).copysign(x), gauss)
}

/// e^x for x ≤ 0 (what erf needs), to a few ulp: x = k·ln2 + r with |r| ≤ ½ln2, a degree-6
/// polynomial for e^r, and 2^k built in the exponent bits. Below -87 the result is 0.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5·2^23 rounds to the nearest integer in plain float
    // arithmetic; `f32::round` is a libm call on baseline x86_64 and stops vectorisation.
    const ROUND: f32 = 12_582_912.0;
    let x = x.max(-87.0);
    let k = (x * LOG2E + ROUND) - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let scale = f32::from_bits(((k as i32 + 127) as u32) << 23);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf in f64 by its Taylor series (converges fast for |x| ≤ 3), an independent oracle.
    fn erf_series(x: f64) -> f64 {
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn gelu_matches_the_exact_erf_definition() {
        let mut worst = 0.0f64;
        for i in -400..=400 {
            let x = i as f64 / 100.0;
            let exact = 0.5 * x * (1.0 + erf_series(x / std::f64::consts::SQRT_2));
            worst = worst.max((gelu(x as f32) as f64 - exact).abs());
        }
        assert!(worst < 1e-6, "worst |Δ| {worst}");
    }

    #[test]
    fn the_derivative_matches_the_analytic_one_and_a_finite_difference() {
        let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut worst = 0.0f64;
        for i in -400..=400 {
            let x = i as f64 / 100.0;
            let exact = 0.5 * (1.0 + erf_series(x / std::f64::consts::SQRT_2)) + x * pdf(x);
            worst = worst.max((gelu_derivative(x as f32) as f64 - exact).abs());
            let h = 1e-3f32;
            let fd = (gelu(x as f32 + h) - gelu(x as f32 - h)) as f64 / (2.0 * h as f64);
            assert!(
                (fd - exact).abs() < 2e-3,
                "x {x}: finite difference {fd}, exact {exact}"
            );
        }
        assert!(worst < 1e-6, "worst |Δ| {worst}");
        let mut g = [2.0f32, -3.0, 1.0];
        gelu_backward_in_place(&[0.0, 1.0, -50.0], &mut g);
        assert_eq!(g[0], 1.0); // GELU′(0) = ½
        assert!((g[1] as f64 + 3.0 * (0.841_344_75 + pdf(1.0))).abs() < 1e-5);
        assert!(
            g[2].abs() < 1e-30,
            "far left the gradient vanishes: {}",
            g[2]
        );
    }

    #[test]
    fn gelu_saturates_without_overflow() {
        let mut xs = [-100.0f32, -10.0, 0.0, 10.0, 100.0, 1e30];
        gelu_in_place(&mut xs);
        assert_eq!(xs[0], 0.0);
        assert!(xs[1].abs() < 1e-20);
        assert_eq!(xs[2], 0.0);
        assert_eq!(&xs[3..], &[10.0, 100.0, 1e30]);
    }

    #[test]
    fn exp_is_accurate_where_erf_uses_it() {
        for i in 0..=870 {
            let x = -(i as f32) / 10.0;
            let rel = ((exp(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs();
            assert!(rel < 1e-6, "exp({x}) relative error {rel}");
        }
    }
}
