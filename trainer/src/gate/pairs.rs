//! Both models' predictions on the same gate items, and the paired statistics computed from
//! them: sentence correctness for McNemar, metric differences on a resample for the bootstrap.

use serde::Serialize;

use super::mcnemar::McNemar;
use crate::metrics::classification::class_scores;
use crate::metrics::span::span_scores;

/// Which model's predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Champion,
    Challenger,
}

/// Sentence classes of the gate items: gold and each model's prediction, index-aligned.
#[derive(Debug, Clone, Serialize)]
pub struct PairedSentences {
    pub labels: Vec<String>,
    pub gold: Vec<usize>,
    pub champion: Vec<usize>,
    pub challenger: Vec<usize>,
}

impl PairedSentences {
    pub fn len(&self) -> usize {
        self.gold.len()
    }

    /// Per item: was each model right?
    pub fn mcnemar(&self) -> McNemar {
        let right = |pred: &[usize]| -> Vec<bool> {
            self.gold.iter().zip(pred).map(|(g, p)| g == p).collect()
        };
        McNemar::from_correct(&right(&self.champion), &right(&self.challenger))
    }

    /// Macro-F1 of `side` on the items `idx` (repeats count).
    pub fn macro_f1(&self, side: Side, idx: &[usize]) -> f64 {
        let pick = |v: &[usize]| -> Vec<usize> { idx.iter().map(|&i| v[i]).collect() };
        let pred = match side {
            Side::Champion => &self.champion,
            Side::Challenger => &self.challenger,
        };
        class_scores(&self.labels, &pick(&self.gold), &pick(pred))
            .macro_avg
            .f1
    }

    /// Macro-F1 of the challenger minus the champion's, on the items `idx`.
    pub fn macro_f1_difference(&self, idx: &[usize]) -> f64 {
        self.macro_f1(Side::Challenger, idx) - self.macro_f1(Side::Champion, idx)
    }
}

/// BIO tags per word of the gate's token-task sentences (tweets), index-aligned.
#[derive(Debug, Clone, Serialize)]
pub struct PairedSpans {
    pub gold: Vec<Vec<String>>,
    pub champion: Vec<Vec<String>>,
    pub challenger: Vec<Vec<String>>,
}

impl PairedSpans {
    pub fn len(&self) -> usize {
        self.gold.len()
    }

    /// Span micro-F1 of `side` on the sentences `idx`: a resample draws whole sentences,
    /// so the spans of one tweet stay together.
    pub fn span_f1(&self, side: Side, idx: &[usize]) -> f64 {
        fn pick<'a>(v: &'a [Vec<String>], idx: &[usize]) -> Vec<Vec<&'a str>> {
            idx.iter()
                .map(|&i| v[i].iter().map(String::as_str).collect())
                .collect()
        }
        let pred = match side {
            Side::Champion => &self.champion,
            Side::Challenger => &self.challenger,
        };
        span_scores(&pick(&self.gold, idx), &pick(pred, idx))
            .micro
            .f1
    }

    /// Span micro-F1 of the challenger minus the champion's, on the sentences `idx`.
    pub fn span_f1_difference(&self, idx: &[usize]) -> f64 {
        self.span_f1(Side::Challenger, idx) - self.span_f1(Side::Champion, idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn macro_f1_difference_on_an_explicit_resample() {
        let p = PairedSentences {
            labels: vec!["a".into(), "b".into()],
            gold: vec![0, 1, 1, 0],
            champion: vec![0, 0, 1, 1],
            challenger: vec![0, 1, 1, 1],
        };
        // Resample [0, 1, 1, 3]: gold a b b a.
        // Champion predicts a a a b: a p 1/3 r 1/2 f1 0.4; b p 0 → 0. Macro 0.2.
        // Challenger predicts a b b b: a p 1 r 1/2 f1 2/3; b p 2/3 r 1 f1 0.8. Macro 11/15.
        let d = p.macro_f1_difference(&[0, 1, 1, 3]);
        assert!((d - (11.0 / 15.0 - 0.2)).abs() < 1e-12, "d = {d}");
        let m = p.mcnemar();
        assert_eq!((m.champion_only, m.challenger_only), (0, 1));
    }

    #[test]
    fn span_f1_difference_on_an_explicit_resample() {
        let p = PairedSpans {
            gold: vec![tags("B-person I-person O"), tags("O B-geo-loc")],
            champion: vec![tags("B-person O O"), tags("O B-geo-loc")],
            challenger: vec![tags("B-person I-person O"), tags("O O")],
        };
        // Resample [0, 0, 1]: 3 gold spans.
        // Champion: predicts person(0..1) twice (wrong boundary) and geo-loc (right):
        //   tp 1, predicted 3, gold 3 → F1 1/3.
        // Challenger: person right twice, geo-loc missed: tp 2, predicted 2, gold 3 → 0.8.
        let d = p.span_f1_difference(&[0, 0, 1]);
        assert!((d - (0.8 - 1.0 / 3.0)).abs() < 1e-12, "d = {d}");
    }
}
