//! The three drift statistics, each comparing a reference sample with a current one:
//!
//! - **PSI** (population stability index) on predicted-class counts: Σ (q − p) ln(q / p)
//!   over classes. Common reading: < 0.1 stable, 0.1–0.2 moderate, > 0.2 a shift.
//! - **Two-sample Kolmogorov–Smirnov** on top-class confidence: the largest gap between the
//!   two empirical CDFs, with the asymptotic (Kolmogorov distribution) p-value.
//! - **MMD²** (maximum mean discrepancy, unbiased estimate) between embedding samples with a
//!   Gaussian kernel whose bandwidth is the median pairwise distance, and a permutation
//!   p-value: MMD sees a shift in any direction of the 384-dimensional space, where PSI and KS
//!   only see what the heads make of it.
//!
//! `tests/reference/drift_reference.py` computes the same numbers with scipy and numpy; the
//! unit tests below compare against it and against hand-computed PSI cases.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Floor for a class share in PSI: a class absent from one sample would otherwise make the
/// index infinite. 1e-4 keeps a truly vanished class visible (it adds ≈ p·9.2) without
/// letting one missing rare class dominate.
pub const PSI_EPSILON: f64 = 1e-4;

/// Shares of `counts`, each floored at [`PSI_EPSILON`] (all zero → uniform).
fn shares(counts: &[u64]) -> Vec<f64> {
    let n: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&c| match n {
            0 => 1.0 / counts.len() as f64,
            n => (c as f64 / n as f64).max(PSI_EPSILON),
        })
        .collect()
}

/// Population stability index of `current` against `reference` (same classes, same order).
pub fn psi(reference: &[u64], current: &[u64]) -> f64 {
    assert_eq!(reference.len(), current.len(), "PSI needs the same classes");
    shares(reference)
        .iter()
        .zip(shares(current))
        .map(|(p, q)| (q - p) * (q / p).ln())
        .sum()
}

/// A two-sample Kolmogorov–Smirnov test's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsTest {
    /// sup |F_ref(x) − F_cur(x)|.
    pub statistic: f64,
    /// Asymptotic two-sided p-value: Q_KS(√(nm/(n+m)) · D).
    pub p_value: f64,
}

/// The KS statistic of two samples (ties handled: both CDFs step at a shared value at once).
pub fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    d
}

/// Survival function of the Kolmogorov distribution, Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}
/// (scipy's `kstwobign.sf`). The series converges fast for λ ≳ 0.3; below, Q is 1 to double
/// precision (Q(0.3) = 0.99999...), where the alternating series would need many terms.
pub fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = k as f64;
        let term = (-2.0 * k * k * lambda * lambda).exp();
        sum += if k as u64 % 2 == 1 { term } else { -term };
        if term < 1e-16 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Two-sample KS test; both samples must be non-empty.
pub fn ks_test(reference: &[f64], current: &[f64]) -> KsTest {
    assert!(
        !reference.is_empty() && !current.is_empty(),
        "KS needs data"
    );
    let statistic = ks_statistic(reference, current);
    let (n, m) = (reference.len() as f64, current.len() as f64);
    let en = (n * m / (n + m)).sqrt();
    KsTest {
        statistic,
        p_value: kolmogorov_sf(en * statistic),
    }
}

/// An MMD permutation test's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmdTest {
    /// Unbiased MMD² estimate (can be slightly negative when the samples agree).
    pub mmd2: f64,
    /// Kernel bandwidth σ (median pairwise distance of the pooled samples).
    pub bandwidth: f64,
    /// (1 + #{permutations with MMD² ≥ observed}) / (1 + permutations).
    pub p_value: f64,
    pub permutations: usize,
}

fn squared_distance(x: &[f32], y: &[f32]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(a, b)| {
            let d = f64::from(*a) - f64::from(*b);
            d * d
        })
        .sum()
}

/// Pairwise squared distances of the pooled rows, row-major `n × n`.
fn distances(rows: &[&[f32]]) -> Vec<f64> {
    let n = rows.len();
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let v = squared_distance(rows[i], rows[j]);
            d[i * n + j] = v;
            d[j * n + i] = v;
        }
    }
    d
}

/// Median of the pairwise distances (not squared) over i < j: Gretton et al.'s heuristic.
fn median_distance(d2: &[f64], n: usize) -> f64 {
    let mut v: Vec<f64> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| d2[i * n + j].sqrt())
        .collect();
    v.sort_by(f64::total_cmp);
    let h = v.len() / 2;
    if v.len() % 2 == 1 {
        v[h]
    } else {
        (v[h - 1] + v[h]) / 2.0
    }
}

/// Unbiased MMD² of the split `first` | rest of a pooled kernel matrix `k` (`n × n`), with
/// `order` mapping positions to pooled rows.
fn mmd2_of(k: &[f64], n: usize, order: &[usize], first: usize) -> f64 {
    let (m, r) = (first as f64, (n - first) as f64);
    let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
    for (a, &i) in order.iter().enumerate() {
        for (b, &j) in order.iter().enumerate().skip(a + 1) {
            let v = k[i * n + j];
            match (a < first, b < first) {
                (true, true) => xx += v,
                (false, false) => yy += v,
                _ => xy += v,
            }
        }
    }
    2.0 * xx / (m * (m - 1.0)) + 2.0 * yy / (r * (r - 1.0)) - 2.0 * xy / (m * r)
}

/// MMD² between `x` and `y` (rows of equal length, at least 2 each) with a Gaussian kernel
/// exp(−‖a−b‖² / 2σ²), σ the median pairwise distance, and a permutation p-value over
/// `permutations` seeded shuffles of the pooled rows.
pub fn mmd_test(x: &[Vec<f32>], y: &[Vec<f32>], permutations: usize, seed: u64) -> MmdTest {
    assert!(
        x.len() >= 2 && y.len() >= 2,
        "MMD needs two rows per sample"
    );
    let rows: Vec<&[f32]> = x.iter().chain(y).map(Vec::as_slice).collect();
    let n = rows.len();
    let d2 = distances(&rows);
    let bandwidth = median_distance(&d2, n).max(1e-12);
    let k: Vec<f64> = d2
        .iter()
        .map(|v| (-v / (2.0 * bandwidth * bandwidth)).exp())
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mmd2 = mmd2_of(&k, n, &order, x.len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut above = 0usize;
    for _ in 0..permutations {
        order.shuffle(&mut rng);
        if mmd2_of(&k, n, &order, x.len()) >= mmd2 {
            above += 1;
        }
    }
    MmdTest {
        mmd2,
        bandwidth,
        p_value: (1 + above) as f64 / (1 + permutations) as f64,
        permutations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_of_identical_distributions_is_zero() {
        assert_eq!(psi(&[10, 20, 70], &[1, 2, 7]), 0.0);
    }

    #[test]
    fn psi_matches_hand_computation() {
        // p = (.5, .5), q = (.25, .75): (−.25)·ln(.5) + (.25)·ln(1.5)
        let expected = 0.25 * 2f64.ln() + 0.25 * 1.5f64.ln();
        assert!((psi(&[50, 50], &[25, 75]) - expected).abs() < 1e-12);
        assert!((expected - 0.274_653_072).abs() < 1e-9);
        // p = (.2, .3, .5), q = (.3, .3, .4): .1·ln(1.5) + 0 + (−.1)·ln(.8)
        let expected = 0.1 * 1.5f64.ln() - 0.1 * 0.8f64.ln();
        assert!((psi(&[20, 30, 50], &[30, 30, 40]) - expected).abs() < 1e-12);
    }

    #[test]
    fn psi_floors_an_empty_class_at_epsilon() {
        // q = (1, 0) vs p = (.5, .5): (.5)·ln(2) + (1e-4 − .5)·ln(1e-4 / .5)
        let expected = 0.5 * 2f64.ln() + (1e-4 - 0.5) * (1e-4f64 / 0.5).ln();
        assert!((psi(&[5, 5], &[8, 0]) - expected).abs() < 1e-12);
        assert!(psi(&[5, 5], &[8, 0]).is_finite());
    }

    #[test]
    fn psi_is_symmetric_in_its_arguments() {
        let (a, b) = ([30, 50, 20], [10, 60, 30]);
        assert!((psi(&a, &b) - psi(&b, &a)).abs() < 1e-12);
    }

    #[test]
    fn ks_statistic_of_disjoint_samples_is_one_and_of_equal_samples_zero() {
        assert_eq!(ks_statistic(&[1.0, 2.0], &[3.0, 4.0, 5.0]), 1.0);
        assert_eq!(ks_statistic(&[1.0, 2.0, 2.0], &[2.0, 1.0, 2.0]), 0.0);
    }

    #[test]
    fn ks_statistic_by_hand_with_ties() {
        // F_a steps 1/3 at 1, 2, 3; F_b steps 1/2 at 2 and 4. At x = 1: 1/3 − 0; at 2:
        // 2/3 − 1/2; at 3: 1 − 1/2 = 1/2 (largest).
        let d = ks_statistic(&[1.0, 2.0, 3.0], &[2.0, 4.0]);
        assert!((d - 0.5).abs() < 1e-12, "{d}");
    }

    #[test]
    fn kolmogorov_survival_at_known_points() {
        // Q(1.36) ≈ 0.049 and Q(1.63) ≈ 0.010: the textbook 5% and 1% critical values.
        assert!((kolmogorov_sf(1.358_099) - 0.05).abs() < 1e-5);
        assert!((kolmogorov_sf(1.627_624) - 0.01).abs() < 1e-5);
        assert_eq!(kolmogorov_sf(0.0), 1.0);
    }

    #[test]
    fn mmd_p_value_is_seeded() {
        let x: Vec<Vec<f32>> = (0..20).map(|i| vec![i as f32 * 0.1, 1.0]).collect();
        let y: Vec<Vec<f32>> = (0..20).map(|i| vec![i as f32 * 0.1 + 0.05, 1.0]).collect();
        assert_eq!(mmd_test(&x, &y, 50, 7), mmd_test(&x, &y, 50, 7));
    }
}
