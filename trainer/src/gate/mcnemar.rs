//! The exact McNemar test on paired sentence predictions: of the items exactly one model got
//! right, did the challenger win more often than a fair coin would explain?

use serde::Serialize;

/// The 2×2 table of paired correctness and its exact two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct McNemar {
    /// Items both models got right.
    pub both_right: usize,
    /// `b`: the champion right, the challenger wrong.
    pub champion_only: usize,
    /// `c`: the challenger right, the champion wrong.
    pub challenger_only: usize,
    /// Items both models got wrong.
    pub both_wrong: usize,
    /// Exact two-sided p-value under H0 "the discordant items split 50/50".
    pub p_value: f64,
}

impl McNemar {
    /// Tabulates paired correctness (`champion[i]`, `challenger[i]` for item `i`).
    ///
    /// # Panics
    /// When the two slices differ in length: they are built from the same items.
    pub fn from_correct(champion: &[bool], challenger: &[bool]) -> McNemar {
        assert_eq!(champion.len(), challenger.len(), "paired item counts");
        let mut t = [[0usize; 2]; 2];
        for (&a, &b) in champion.iter().zip(challenger) {
            t[a as usize][b as usize] += 1;
        }
        let (b, c) = (t[1][0], t[0][1]);
        McNemar {
            both_right: t[1][1],
            champion_only: b,
            challenger_only: c,
            both_wrong: t[0][0],
            p_value: exact_p_value(b, c),
        }
    }

    /// Whether the challenger wins more discordant items, significantly at level `alpha`.
    pub fn challenger_better(&self, alpha: f64) -> bool {
        self.challenger_only > self.champion_only && self.p_value <= alpha
    }
}

/// `min(1, 2·P(X ≤ min(b, c)))` with `X ~ Bin(b + c, 1/2)`; 1 when there are no discordant
/// items. The binomial terms are summed in log space so that tens of thousands of discordant
/// items neither overflow the coefficients nor underflow `2^-n`.
pub fn exact_p_value(b: usize, c: usize) -> f64 {
    let n = b + c;
    let k = b.min(c);
    // Balanced to within one item: P(X ≤ k) ≥ 1/2 by symmetry, so p is exactly 1 (this
    // also covers n = 0), not a sum that rounds to just below it.
    if 2 * k + 1 >= n {
        return 1.0;
    }
    // ln P(X = i) for i = 0..=k, by the ratio of successive binomial coefficients.
    let mut log_pmf = Vec::with_capacity(k + 1);
    let mut lp = -(n as f64) * std::f64::consts::LN_2;
    log_pmf.push(lp);
    for i in 0..k {
        lp += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
        log_pmf.push(lp);
    }
    // k ≤ n/2, so the largest term is the last one: factor it out (log-sum-exp).
    let top = log_pmf[k];
    let sum: f64 = log_pmf.iter().map(|&l| (l - top).exp()).sum();
    (2.0 * (top + sum.ln()).exp()).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_tails() {
        // b=1, c=9: n=10, P(X ≤ 1) = (1 + 10)/1024.
        assert!((exact_p_value(1, 9) - 2.0 * 11.0 / 1024.0).abs() < 1e-15);
        assert!((exact_p_value(9, 1) - 0.021484375).abs() < 1e-15);
        // b=0, c=5: 2 · 1/32.
        assert!((exact_p_value(0, 5) - 0.0625).abs() < 1e-15);
        // b=2, c=8: 2 · (1 + 10 + 45)/1024.
        assert!((exact_p_value(2, 8) - 112.0 / 1024.0).abs() < 1e-15);
    }

    #[test]
    fn no_or_balanced_discordance_is_one() {
        assert_eq!(exact_p_value(0, 0), 1.0);
        assert_eq!(exact_p_value(7, 7), 1.0);
        // b=1, c=2: 2 · (1 + 3)/8 = 1 exactly.
        assert_eq!(exact_p_value(1, 2), 1.0);
        assert_eq!(exact_p_value(124, 123), 1.0);
    }

    #[test]
    fn huge_counts_stay_finite() {
        // 40 000 discordant items, nearly balanced: a moderate p-value, not NaN or 0.
        let p = exact_p_value(19_900, 20_100);
        assert!(p.is_finite() && p > 0.1 && p < 0.4, "p = {p}");
        // Far from balanced: tiny but representable, and symmetric in b and c.
        let q = exact_p_value(9_000, 11_000);
        assert!(q > 0.0 && q < 1e-40, "q = {q}");
        assert_eq!(q, exact_p_value(11_000, 9_000));
    }

    #[test]
    fn table_from_paired_correctness() {
        let champion = [true, true, false, false, true, false];
        let challenger = [true, false, true, true, true, false];
        let m = McNemar::from_correct(&champion, &challenger);
        assert_eq!(
            (
                m.both_right,
                m.champion_only,
                m.challenger_only,
                m.both_wrong
            ),
            (2, 1, 2, 1)
        );
        assert_eq!(m.p_value, 1.0);
        assert!(!m.challenger_better(0.05));
    }
}
