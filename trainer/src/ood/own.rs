//! The bundle's own test split, kept so that every external set is compared with it under
//! the set's own terms: the same classes (a binary set's two), or the same coarse entity
//! types. A span F1 over WNUT-16's ten fine types next to one over four coarse types would
//! compare two different tasks.

use super::detect::Scores;
use super::read::map_tags;
use super::restricted_argmax;
use super::sets::ExternalSet;
use crate::metrics::classification::class_scores;
use crate::metrics::span::span_scores;

/// The sentence head's test-split logits with their gold classes.
pub struct OwnSentences {
    pub labels: Vec<String>,
    pub gold: Vec<usize>,
    pub logits: Vec<Vec<f32>>,
}

/// The token head's test-split tags, gold and predicted, in the model's types.
pub struct OwnTags {
    pub gold: Vec<Vec<String>>,
    pub pred: Vec<Vec<String>>,
}

#[derive(Default)]
pub struct OwnTest {
    pub sentences: Option<OwnSentences>,
    pub tags: Option<OwnTags>,
}

impl OwnTest {
    /// Max-softmax and energy scores of the sentence head on the test split.
    pub fn detection(&self) -> Option<Scores> {
        self.sentences.as_ref().map(|s| Scores::of(&s.logits))
    }

    /// The test split's headline scored as `set` is: macro-F1 over the set's classes (the
    /// examples of other classes left out, the answer the likelier of the set's classes), or
    /// span micro-F1 with gold and predicted tags both mapped by the set's `model_types`.
    pub fn under(&self, set: &ExternalSet) -> Option<f64> {
        if set.is_token() {
            let t = self.tags.as_ref()?;
            let map = |v: &[Vec<String>]| -> Vec<Vec<String>> {
                v.iter()
                    .map(|tags| map_tags(tags, &set.model_types))
                    .collect()
            };
            return Some(span_scores(&map(&t.gold), &map(&t.pred)).micro.f1);
        }
        let s = self.sentences.as_ref()?;
        let classes = set.classes(&s.labels).ok()?;
        let allowed: Vec<usize> = classes
            .iter()
            .filter_map(|c| s.labels.iter().position(|l| l == c))
            .collect();
        let (mut gold, mut pred) = (Vec::new(), Vec::new());
        for (g, row) in s.gold.iter().zip(&s.logits) {
            if let Some(k) = allowed.iter().position(|a| a == g) {
                gold.push(k);
                pred.push(restricted_argmax(row, &allowed));
            }
        }
        Some(class_scores(&classes, &gold, &pred).macro_avg.f1)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ood::sets::ExternalFormat;

    fn set(labels: &[(&str, &str)], model_types: &[(&str, &str)]) -> ExternalSet {
        let map = |v: &[(&str, &str)]| -> BTreeMap<String, String> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        ExternalSet {
            name: "s".into(),
            task: "t".into(),
            file: "f".into(),
            format: if model_types.is_empty() {
                ExternalFormat::Csv
            } else {
                ExternalFormat::Conll
            },
            text_column: "text".into(),
            label_column: "label".into(),
            labels: map(labels),
            thresholds: vec![],
            bands: vec![],
            gold_types: map(model_types),
            model_types: map(model_types),
            max_examples: None,
        }
    }

    #[test]
    fn a_binary_set_compares_with_the_binary_part_of_the_test_split() {
        let own = OwnTest {
            sentences: Some(OwnSentences {
                labels: vec!["negative".into(), "neutral".into(), "positive".into()],
                // neutral gold is left out; the second row says neutral, but of the two
                // classes the set knows, positive is likelier: right. The third is wrong.
                gold: vec![0, 1, 2, 0],
                logits: vec![
                    vec![3.0, 0.0, 1.0],
                    vec![0.0, 5.0, 0.0],
                    vec![0.0, 5.0, 1.0],
                    vec![0.0, 0.0, 2.0],
                ],
            }),
            tags: None,
        };
        let binary = set(&[("0", "negative"), ("1", "positive")], &[]);
        // negative: P = 1, R = 1/2, F1 = 2/3; positive: P = 1/2, R = 1, F1 = 2/3.
        let f1 = own.under(&binary).unwrap();
        assert!((f1 - 2.0 / 3.0).abs() < 1e-9, "{f1}");
    }

    #[test]
    fn fine_types_merged_by_the_mapping_count_as_one() {
        let tags = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let own = OwnTest {
            sentences: None,
            tags: Some(OwnTags {
                gold: vec![tags(&["B-geo-loc", "O", "B-company"])],
                pred: vec![tags(&["B-facility", "O", "B-other"])],
            }),
        };
        let coarse = set(
            &[],
            &[
                ("geo-loc", "location"),
                ("facility", "location"),
                ("company", "org"),
            ],
        );
        // location matches; the company is missed (`other` is dropped): P = 1, R = 1/2.
        let f1 = own.under(&coarse).unwrap();
        assert!((f1 - 2.0 / 3.0).abs() < 1e-9, "{f1}");
    }
}
