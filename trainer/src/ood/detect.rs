//! Telling out-of-distribution inputs apart by the sentence head alone: two scores that are
//! higher on inputs like the training data, and the AUROC of separating the held-out test
//! split from an external set with each.
//!
//! - Maximum softmax probability (Hendrycks & Gimpel 2017): the baseline everyone reports.
//! - Negative energy, `logsumexp(logits)` (Liu et al. 2020): uses the logits' scale, which
//!   softmax throws away, and usually separates better.

use serde::Serialize;

/// Highest class probability of one row of logits.
pub fn max_softmax(logits: &[f32]) -> f64 {
    let m = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let z: f64 = logits.iter().map(|&x| (x as f64 - m).exp()).sum();
    1.0 / z
}

/// Negative energy at temperature 1: `log Σ exp(logit)`.
pub fn neg_energy(logits: &[f32]) -> f64 {
    let m = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    m + logits
        .iter()
        .map(|&x| (x as f64 - m).exp())
        .sum::<f64>()
        .ln()
}

/// P(score of an in-distribution input > score of an outside one), ties counting one half:
/// the Mann–Whitney U statistic over the pooled ranks (average ranks for ties).
pub fn auroc(inside: &[f64], outside: &[f64]) -> f64 {
    let (n_in, n_out) = (inside.len() as f64, outside.len() as f64);
    if inside.is_empty() || outside.is_empty() {
        return f64::NAN;
    }
    let mut pooled: Vec<(f64, bool)> = inside.iter().map(|&s| (s, true)).collect();
    pooled.extend(outside.iter().map(|&s| (s, false)));
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pooled.len() {
        let j = (i..pooled.len())
            .find(|&j| pooled[j].0 != pooled[i].0)
            .unwrap_or(pooled.len());
        // Ranks i+1 ..= j share their mean.
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += mean_rank * pooled[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    (rank_sum - n_in * (n_in + 1.0) / 2.0) / (n_in * n_out)
}

/// AUROC of both scores for one external set against the in-distribution test split.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    pub auroc_max_softmax: f64,
    pub auroc_energy: f64,
    /// Means, to show which way the scores moved.
    pub mean_max_softmax: f64,
    pub mean_neg_energy: f64,
}

/// Scores of one set's rows of sentence logits.
pub struct Scores {
    pub msp: Vec<f64>,
    pub energy: Vec<f64>,
}

impl Scores {
    pub fn of(logits: &[Vec<f32>]) -> Self {
        Scores {
            msp: logits.iter().map(|l| max_softmax(l)).collect(),
            energy: logits.iter().map(|l| neg_energy(l)).collect(),
        }
    }

    /// How well these scores (in-distribution) separate from `outside`'s.
    pub fn against(&self, outside: &Scores) -> Detection {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        Detection {
            auroc_max_softmax: auroc(&self.msp, &outside.msp),
            auroc_energy: auroc(&self.energy, &outside.energy),
            mean_max_softmax: mean(&outside.msp),
            mean_neg_energy: mean(&outside.energy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_counts_pairs_by_hand() {
        // 0.9 and 0.8 beat both outside scores, 0.7 beats only 0.1: 5 of 6 pairs.
        let a = auroc(&[0.9, 0.8, 0.7], &[0.75, 0.1]);
        assert!((a - 5.0 / 6.0).abs() < 1e-12, "{a}");
        // A tie counts one half: (1 + 0.5 + 0) / 3.
        let a = auroc(&[0.5], &[0.4, 0.5, 0.6]);
        assert!((a - 0.5).abs() < 1e-12, "{a}");
        assert_eq!(auroc(&[1.0, 2.0], &[3.0, 4.0]), 0.0);
        assert_eq!(auroc(&[3.0, 3.0], &[3.0]), 0.5);
        assert!(auroc(&[], &[1.0]).is_nan());
    }

    #[test]
    fn scores_match_hand_computed_values() {
        // Logits (0, ln 3): softmax (1/4, 3/4), logsumexp ln 4.
        let l = [0.0f32, 3f32.ln()];
        assert!((max_softmax(&l) - 0.75).abs() < 1e-6);
        assert!((neg_energy(&l) - 4f64.ln()).abs() < 1e-6);
        // Shifting logits keeps softmax and shifts energy.
        let s = [10.0f32, 10.0 + 3f32.ln()];
        assert!((max_softmax(&s) - 0.75).abs() < 1e-6);
        assert!((neg_energy(&s) - (10.0 + 4f64.ln())).abs() < 1e-5);
    }
}
