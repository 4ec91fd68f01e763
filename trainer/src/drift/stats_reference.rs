//! The drift statistics against scipy and numpy (`tests/reference/drift_reference.py`), on
//! seeded samples generated here and handed to the script as JSON. Python comes from the
//! project's `.venv` when it exists, else `python3`; scipy missing is a failure, not a skip.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde_json::{json, Value};

use super::stats::{ks_test, mmd_test};

fn reference(cases: &Value) -> Value {
    crate::python_reference::run("drift_reference.py", cases)
}

fn normal(n: usize, mean: f64, sd: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let d = Normal::new(mean, sd).unwrap();
    (0..n).map(|_| d.sample(rng)).collect()
}

fn rows(n: usize, dim: usize, shift: f64, rng: &mut ChaCha8Rng) -> Vec<Vec<f32>> {
    (0..n)
        .map(|_| {
            normal(dim, shift, 1.0, rng)
                .iter()
                .map(|&v| v as f32)
                .collect()
        })
        .collect()
}

/// Pairs of samples: shifted, same distribution, heavy ties (one decimal), confidence-like.
fn ks_cases() -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let round = |v: Vec<f64>| v.iter().map(|x| (x * 10.0).round() / 10.0).collect();
    let conf = |v: Vec<f64>| v.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect();
    vec![
        (
            normal(300, 0.0, 1.0, &mut rng),
            normal(200, 0.6, 1.0, &mut rng),
        ),
        (
            normal(500, 0.0, 1.0, &mut rng),
            normal(400, 0.0, 1.0, &mut rng),
        ),
        (
            round(normal(100, 0.0, 1.0, &mut rng)),
            round(normal(150, 0.2, 1.0, &mut rng)),
        ),
        (
            conf(normal(2000, 1.5, 1.0, &mut rng)),
            conf(normal(300, 1.2, 1.2, &mut rng)),
        ),
    ]
}

#[test]
fn ks_statistic_and_p_value_match_scipy() {
    let cases = ks_cases();
    let r = reference(&json!({ "ks": cases }));
    for (i, (a, b)) in cases.iter().enumerate() {
        let ours = ks_test(a, b);
        let want = &r["ks"][i];
        let d = want["statistic"].as_f64().unwrap();
        let p = want["kolmogorov_p"].as_f64().unwrap();
        assert!(
            (ours.statistic - d).abs() < 1e-12,
            "case {i}: {ours:?} vs {want}"
        );
        assert!(
            (ours.p_value - p).abs() < 1e-9,
            "case {i}: {ours:?} vs {want}"
        );
        // scipy's own `method="asymp"` p uses the finite-n distribution kstwo(round(nm/(n+m))):
        // close, not equal (at most 0.035 apart for these sizes, computed with scipy).
        let scipy_p = want["scipy_asymp_p"].as_f64().unwrap();
        assert!(
            (ours.p_value - scipy_p).abs() < 0.04,
            "case {i}: {ours:?} vs {want}"
        );
    }
    // The shifted pair is detected, the same-distribution pair is not.
    assert!(ks_test(&cases[0].0, &cases[0].1).p_value < 0.01);
    assert!(ks_test(&cases[1].0, &cases[1].1).p_value > 0.05);
}

#[test]
fn mmd_and_bandwidth_match_numpy_and_permutations_separate_shift_from_noise() {
    let mut rng = ChaCha8Rng::seed_from_u64(61);
    let shifted = (rows(40, 8, 0.0, &mut rng), rows(50, 8, 0.5, &mut rng));
    let same = (rows(60, 8, 0.0, &mut rng), rows(45, 8, 0.0, &mut rng));
    let r = reference(&json!({ "mmd": [shifted, same] }));
    for (i, (x, y)) in [&shifted, &same].into_iter().enumerate() {
        let ours = mmd_test(x, y, 200, 3);
        let want = &r["mmd"][i];
        let (s, m) = (
            want["bandwidth"].as_f64().unwrap(),
            want["mmd2"].as_f64().unwrap(),
        );
        assert!(
            (ours.bandwidth - s).abs() < 1e-9 * s,
            "case {i}: {ours:?} vs {want}"
        );
        assert!((ours.mmd2 - m).abs() < 1e-9, "case {i}: {ours:?} vs {want}");
    }
    assert!(mmd_test(&shifted.0, &shifted.1, 200, 3).p_value < 0.01);
    assert!(mmd_test(&same.0, &same.1, 200, 3).p_value > 0.05);
}
