//! Span-level NER scores: an entity counts only when its type and both boundaries match
//! exactly (seqeval's default mode over BIO, which is conlleval's definition).

use std::collections::{BTreeMap, BTreeSet};

use glassbox_model::text::decode::{bio_spans, TagSpan};
use serde::Serialize;

use super::Prf;

#[derive(Debug, Clone, Serialize)]
pub struct SpanReport {
    /// Per entity type, over every type seen in gold or predictions.
    pub per_type: BTreeMap<String, Prf>,
    pub micro: Prf,
    pub macro_avg: Prf,
    /// Share of tags (outside padding) predicted exactly.
    pub token_accuracy: f64,
}

/// Scores predicted tag sequences against gold ones, sentence by sentence.
///
/// # Panics
/// When the two lists, or any sentence pair, differ in length: that is a caller bug, and a
/// score computed over misaligned tags would be meaningless.
pub fn span_scores<S: AsRef<str>>(gold: &[Vec<S>], pred: &[Vec<S>]) -> SpanReport {
    assert_eq!(gold.len(), pred.len(), "gold and predicted sentence counts");
    let mut gold_n: BTreeMap<String, usize> = BTreeMap::new();
    let mut pred_n: BTreeMap<String, usize> = BTreeMap::new();
    let mut tp: BTreeMap<String, usize> = BTreeMap::new();
    let (mut tags, mut right) = (0usize, 0usize);
    for (g, p) in gold.iter().zip(pred) {
        assert_eq!(g.len(), p.len(), "gold and predicted tag counts");
        tags += g.len();
        right += g
            .iter()
            .zip(p)
            .filter(|(a, b)| a.as_ref() == b.as_ref())
            .count();
        let gs: BTreeSet<TagSpan> = bio_spans(g).into_iter().collect();
        let ps: BTreeSet<TagSpan> = bio_spans(p).into_iter().collect();
        for s in &gs {
            *gold_n.entry(s.label.clone()).or_default() += 1;
        }
        for s in &ps {
            *pred_n.entry(s.label.clone()).or_default() += 1;
            if gs.contains(s) {
                *tp.entry(s.label.clone()).or_default() += 1;
            }
        }
    }
    let types: BTreeSet<&String> = gold_n.keys().chain(pred_n.keys()).collect();
    let count = |m: &BTreeMap<String, usize>, k: &str| m.get(k).copied().unwrap_or(0);
    let per_type: BTreeMap<String, Prf> = types
        .into_iter()
        .map(|t| {
            let prf = Prf::from_counts(count(&tp, t), count(&pred_n, t), count(&gold_n, t));
            (t.clone(), prf)
        })
        .collect();
    let sum = |m: &BTreeMap<String, usize>| m.values().sum::<usize>();
    SpanReport {
        micro: Prf::from_counts(sum(&tp), sum(&pred_n), sum(&gold_n)),
        macro_avg: Prf::macro_average(&per_type.values().copied().collect::<Vec<_>>()),
        per_type,
        token_accuracy: if tags == 0 {
            0.0
        } else {
            right as f64 / tags as f64
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(tags: &str) -> Vec<String> {
        tags.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn seqeval_readme_example() {
        // The example in seqeval's README: f1 = 0.50.
        let gold = vec![v("O O O B-MISC I-MISC I-MISC O"), v("B-PER I-PER O")];
        let pred = vec![v("O O B-MISC I-MISC I-MISC I-MISC O"), v("B-PER I-PER O")];
        let r = span_scores(&gold, &pred);
        assert_eq!(r.micro.precision, 0.5);
        assert_eq!(r.micro.recall, 0.5);
        assert_eq!(r.micro.f1, 0.5);
        assert_eq!(r.per_type["PER"].f1, 1.0);
        assert_eq!(r.per_type["MISC"].f1, 0.0);
        assert_eq!(r.macro_avg.f1, 0.5);
        // Two of ten tags differ (positions 2 and 3 of the first sentence).
        assert!((r.token_accuracy - 8.0 / 10.0).abs() < 1e-12);
    }

    #[test]
    fn boundary_type_and_orphan_inside_errors_by_hand() {
        // gold: person[0,2) company[3,4) geo-loc[5,7)
        // pred: person[0,1)   (boundary error)
        //       product[3,4)  (type error)
        //       geo-loc[5,7)  (right)
        //       person[8,9)   (I- without B-: still an entity, spurious)
        let gold = vec![v("B-person I-person O B-company O B-geo-loc I-geo-loc O O")];
        let pred = vec![v("B-person O O B-product O B-geo-loc I-geo-loc O I-person")];
        let r = span_scores(&gold, &pred);
        // tp = 1 (geo-loc); predicted = 4; gold = 3.
        assert!((r.micro.precision - 0.25).abs() < 1e-12);
        assert!((r.micro.recall - 1.0 / 3.0).abs() < 1e-12);
        let f1 = 2.0 * 0.25 * (1.0 / 3.0) / (0.25 + 1.0 / 3.0);
        assert!((r.micro.f1 - f1).abs() < 1e-12);
        // person: 0 tp of 2 predicted, 1 gold; product: 0 of 1, 0 gold.
        assert_eq!(r.per_type["person"].precision, 0.0);
        assert_eq!(r.per_type["person"].support, 1);
        assert_eq!(r.per_type["product"].support, 0);
        assert_eq!(r.per_type["geo-loc"].f1, 1.0);
        // Macro over the four types seen: person 0, company 0, geo-loc 1, product 0.
        assert!((r.macro_avg.f1 - 0.25).abs() < 1e-12);
    }

    #[test]
    fn no_entities_anywhere_scores_zero_not_nan() {
        let r = span_scores(&[v("O O")], &[v("O O")]);
        assert_eq!(r.micro.f1, 0.0);
        assert!(r.per_type.is_empty());
        assert_eq!(r.token_accuracy, 1.0);
    }
}
