//! Sentence-classification scores: accuracy, per-class and averaged F1, confusion matrix.

use serde::Serialize;

use super::Prf;

#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    pub labels: Vec<String>,
    pub accuracy: f64,
    /// In the order of `labels`.
    pub per_class: Vec<Prf>,
    pub macro_avg: Prf,
    /// Single-label micro F1 equals accuracy; kept explicit because reports quote both.
    pub micro_f1: f64,
    /// `confusion[true][pred]`.
    pub confusion: Vec<Vec<usize>>,
}

/// `gold` and `pred` are class indices into `labels`.
pub fn class_scores(labels: &[String], gold: &[usize], pred: &[usize]) -> ClassReport {
    assert_eq!(gold.len(), pred.len(), "gold and predicted counts");
    let k = labels.len();
    let mut confusion = vec![vec![0usize; k]; k];
    for (&g, &p) in gold.iter().zip(pred) {
        confusion[g][p] += 1;
    }
    let per_class: Vec<Prf> = (0..k)
        .map(|c| {
            let tp = confusion[c][c];
            let predicted = (0..k).map(|r| confusion[r][c]).sum();
            let gold_n = confusion[c].iter().sum();
            Prf::from_counts(tp, predicted, gold_n)
        })
        .collect();
    let right: usize = (0..k).map(|c| confusion[c][c]).sum();
    let accuracy = if gold.is_empty() {
        0.0
    } else {
        right as f64 / gold.len() as f64
    };
    ClassReport {
        labels: labels.to_vec(),
        accuracy,
        macro_avg: Prf::macro_average(&per_class),
        micro_f1: accuracy,
        per_class,
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_classes_by_hand() {
        let labels: Vec<String> = ["neg", "neu", "pos"].map(String::from).to_vec();
        // true: neg neg neg neu neu pos
        // pred: neg neu neg neu pos pos
        let gold = [0, 0, 0, 1, 1, 2];
        let pred = [0, 1, 0, 1, 2, 2];
        let r = class_scores(&labels, &gold, &pred);
        assert_eq!(
            r.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // neg: p 2/2, r 2/3 → f1 0.8; neu: p 1/2, r 1/2 → 0.5; pos: p 1/2, r 1/1 → 2/3.
        assert!((r.per_class[0].f1 - 0.8).abs() < 1e-12);
        assert!((r.per_class[1].f1 - 0.5).abs() < 1e-12);
        assert!((r.per_class[2].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.macro_avg.f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(r.micro_f1, r.accuracy);
    }
}
