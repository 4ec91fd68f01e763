//! Evaluation metrics, each checked against hand-computed cases.

pub mod bootstrap;
pub mod classification;
pub mod span;

use serde::Serialize;

/// Precision, recall and F1 of one class or entity type (0 where undefined, as seqeval and
/// scikit-learn report by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold instances.
    pub support: usize,
}

impl Prf {
    pub fn from_counts(tp: usize, predicted: usize, gold: usize) -> Prf {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(tp, predicted);
        let recall = ratio(tp, gold);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Prf {
            precision,
            recall,
            f1,
            support: gold,
        }
    }

    /// Unweighted mean over classes.
    pub fn macro_average(items: &[Prf]) -> Prf {
        let n = items.len().max(1) as f64;
        Prf {
            precision: items.iter().map(|p| p.precision).sum::<f64>() / n,
            recall: items.iter().map(|p| p.recall).sum::<f64>() / n,
            f1: items.iter().map(|p| p.f1).sum::<f64>() / n,
            support: items.iter().map(|p| p.support).sum(),
        }
    }
}
