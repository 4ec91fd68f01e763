//! Pass or fail for one case, judged on the prediction users see: the object
//! `glassbox predict` prints (class, its probabilities, entity spans with character offsets),
//! read back from the model crate's `prediction_json`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use glassbox_model::text::perturb::most_overlapping;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::suite::{Check, Direction};
use super::template::Filled;

/// One sentence's prediction, as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub label: String,
    pub probs: BTreeMap<String, f32>,
    pub entities: Vec<Span>,
}

/// A predicted entity; `start..end` are character offsets into the sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub text: String,
    pub label: String,
    pub start: usize,
    pub end: usize,
    pub score: f32,
}

impl Prediction {
    /// From a `prediction_json` answer (`sentence.label`, `sentence.probs`, `entities`).
    pub fn from_answer(v: &Value) -> Result<Self> {
        #[derive(Deserialize)]
        struct Sentence {
            label: String,
            probs: BTreeMap<String, f32>,
        }
        #[derive(Deserialize)]
        struct Answer {
            sentence: Sentence,
            entities: Vec<Span>,
        }
        let a: Answer = serde_json::from_value(v.clone()).context("reading a prediction")?;
        Ok(Prediction {
            label: a.sentence.label,
            probs: a.sentence.probs,
            entities: a.entities,
        })
    }

    fn p(&self, label: &str) -> f32 {
        self.probs.get(label).copied().unwrap_or(0.0)
    }

    fn shown(&self) -> String {
        format!("{} ({:.2})", self.label, self.p(&self.label))
    }

    /// The entity overlapping `span` the most, if any does.
    fn type_over(&self, span: (usize, usize)) -> Option<&Span> {
        let spans = self.entities.iter().map(|e| (e.start, e.end));
        most_overlapping(spans, span).map(|i| &self.entities[i])
    }
}

/// A sentence and its prediction.
pub type Seen<'a> = (&'a Filled, &'a Prediction);

/// Why the case fails, or `None` when it passes. `changed` is the perturbed or extended
/// sentence of INV and DIR tests.
pub fn judge(check: &Check, base: Seen, changed: Option<Seen>) -> Option<String> {
    match (check, changed) {
        (Check::Label { expect, expect_not }, _) => label(expect, expect_not, base.1),
        (Check::Entity { label, slot }, _) => entity(label, slot, base),
        (Check::Invariant { watch, .. }, Some(after)) => match watch {
            None => same_class(base.1, after.1),
            Some(slot) => same_entity_type(slot, base, after),
        },
        (
            Check::Directional {
                label,
                direction,
                tolerance,
                ..
            },
            Some(after),
        ) => moved(label, *direction, *tolerance, base.1, after.1),
        (_, None) => Some("internal: no changed sentence for an inv/dir case".into()),
    }
}

fn label(expect: &[String], expect_not: &[String], p: &Prediction) -> Option<String> {
    if !expect.is_empty() && !expect.contains(&p.label) {
        return Some(format!(
            "expected {}, got {}",
            expect.join(" or "),
            p.shown()
        ));
    }
    if expect_not.contains(&p.label) {
        return Some(format!("got {}, which it must not be", p.shown()));
    }
    None
}

fn entity(label: &str, slot: &str, (f, p): Seen) -> Option<String> {
    let span = f.slot_span(slot)?;
    let exact = p
        .entities
        .iter()
        .any(|e| e.label == label && (e.start, e.end) == span);
    if exact {
        return None;
    }
    let value: String = f
        .text()
        .chars()
        .skip(span.0)
        .take(span.1 - span.0)
        .collect();
    let found = match p.type_over(span) {
        Some(e) => format!("{} “{}”", e.label, e.text),
        None => "no entity".into(),
    };
    Some(format!("expected {label} on “{value}”, found {found}"))
}

fn same_class(a: &Prediction, b: &Prediction) -> Option<String> {
    (a.label != b.label).then(|| format!("{} → {}", a.shown(), b.shown()))
}

fn same_entity_type(slot: &str, (fa, a): Seen, (fb, b): Seen) -> Option<String> {
    let (sa, sb) = (fa.slot_span(slot)?, fb.slot_span(slot)?);
    let (ta, tb) = (a.type_over(sa), b.type_over(sb));
    let name = |e: Option<&Span>| e.map_or("no entity".to_string(), |e| e.label.clone());
    (name(ta) != name(tb)).then(|| {
        let value = |f: &Filled, (s, e): (usize, usize)| -> String {
            f.text().chars().skip(s).take(e - s).collect()
        };
        format!(
            "{} over “{}” → {} over “{}”",
            name(ta),
            value(fa, sa),
            name(tb),
            value(fb, sb)
        )
    })
}

fn moved(
    label: &str,
    direction: Direction,
    tolerance: f32,
    a: &Prediction,
    b: &Prediction,
) -> Option<String> {
    let delta = b.p(label) - a.p(label);
    let wrong_way = match direction {
        Direction::Down => delta,
        Direction::Up => -delta,
    };
    (wrong_way > tolerance).then(|| {
        format!(
            "p({label}) {:.2} → {:.2} ({delta:+.2}, tolerance {tolerance})",
            a.p(label),
            b.p(label)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::robustness::template::Piece;
    use glassbox_model::text::perturb::Perturbation;

    fn pred(label: &str, p: [f32; 3], entities: &[(&str, usize, usize)]) -> Prediction {
        Prediction {
            label: label.into(),
            probs: ["negative", "neutral", "positive"]
                .iter()
                .map(|s| s.to_string())
                .zip(p)
                .collect(),
            entities: entities
                .iter()
                .map(|&(l, start, end)| Span {
                    text: "x".repeat(end - start),
                    label: l.into(),
                    start,
                    end,
                    score: 0.9,
                })
                .collect(),
        }
    }

    /// "I met John Smith." with {name} at 6..16.
    fn met(name: &str) -> Filled {
        Filled {
            pieces: vec![
                Piece::literal("I met "),
                Piece {
                    text: name.into(),
                    slot: Some("name".into()),
                },
                Piece::literal("."),
            ],
        }
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_prediction_is_read_from_the_answer_object() {
        let v = serde_json::json!({
            "text": "I met Ann", "tokens": [],
            "sentence": {"label": "neutral", "probs": {"negative": 0.1, "neutral": 0.7, "positive": 0.2}},
            "entities": [{"text": "Ann", "label": "person", "start": 6, "end": 9, "score": 0.8}]
        });
        let p = Prediction::from_answer(&v).unwrap();
        assert_eq!(p.label, "neutral");
        assert_eq!(p.entities[0].start, 6);
        assert!((p.p("positive") - 0.2).abs() < 1e-6);
    }

    #[test]
    fn label_checks_follow_expect_and_expect_not() {
        let f = met("Ann");
        let p = pred("neutral", [0.1, 0.7, 0.2], &[]);
        let check = |expect: &[&str], not: &[&str]| {
            let c = Check::Label {
                expect: strings(expect),
                expect_not: strings(not),
            };
            judge(&c, (&f, &p), None)
        };
        assert_eq!(check(&["neutral"], &[]), None);
        assert_eq!(
            check(&["positive"], &[]).unwrap(),
            "expected positive, got neutral (0.70)"
        );
        assert_eq!(check(&[], &["positive"]), None);
        assert!(check(&[], &["neutral"]).is_some());
        assert_eq!(check(&["neutral", "positive"], &["negative"]), None);
    }

    #[test]
    fn an_entity_must_cover_exactly_the_slot() {
        let f = met("John Smith");
        let c = Check::Entity {
            label: "person".into(),
            slot: "name".into(),
        };
        let ok = pred("neutral", [0.1, 0.8, 0.1], &[("person", 6, 16)]);
        assert_eq!(judge(&c, (&f, &ok), None), None);
        let part = pred("neutral", [0.1, 0.8, 0.1], &[("person", 6, 10)]);
        assert!(judge(&c, (&f, &part), None)
            .unwrap()
            .contains("found person"));
        let wrong = pred("neutral", [0.1, 0.8, 0.1], &[("geo-loc", 6, 16)]);
        assert!(judge(&c, (&f, &wrong), None)
            .unwrap()
            .contains("found geo-loc"));
        let none = pred("neutral", [0.1, 0.8, 0.1], &[]);
        assert_eq!(
            judge(&c, (&f, &none), None).unwrap(),
            "expected person on “John Smith”, found no entity"
        );
    }

    #[test]
    fn invariance_compares_the_class_or_the_type_over_the_slot() {
        let (a, b) = (met("John Smith"), met("王伟"));
        let sentence = Check::Invariant {
            perturb: Perturbation::None,
            watch: None,
        };
        let pa = pred("neutral", [0.1, 0.8, 0.1], &[("person", 6, 16)]);
        let pb = pred("positive", [0.1, 0.3, 0.6], &[]);
        assert_eq!(judge(&sentence, (&a, &pa), Some((&a, &pa))), None);
        assert_eq!(
            judge(&sentence, (&a, &pa), Some((&b, &pb))).unwrap(),
            "neutral (0.80) → positive (0.60)"
        );
        let token = Check::Invariant {
            perturb: Perturbation::None,
            watch: Some("name".into()),
        };
        assert_eq!(
            judge(&token, (&a, &pa), Some((&b, &pb))).unwrap(),
            "person over “John Smith” → no entity over “王伟”"
        );
        // 王伟 is 6..8: a person span there keeps the type.
        let pb_person = pred("neutral", [0.1, 0.8, 0.1], &[("person", 6, 8)]);
        assert_eq!(judge(&token, (&a, &pa), Some((&b, &pb_person))), None);
    }

    #[test]
    fn direction_fails_only_beyond_the_tolerance() {
        let f = met("Ann");
        let c = |direction| Check::Directional {
            append: vec![],
            label: "positive".into(),
            direction,
            tolerance: 0.1,
        };
        let before = pred("positive", [0.1, 0.3, 0.6], &[]);
        let slightly_up = pred("positive", [0.1, 0.25, 0.65], &[]);
        let far_up = pred("positive", [0.05, 0.15, 0.8], &[]);
        let down = pred("negative", [0.7, 0.2, 0.1], &[]);
        let down_check = c(Direction::Down);
        assert_eq!(
            judge(&down_check, (&f, &before), Some((&f, &slightly_up))),
            None
        );
        assert_eq!(judge(&down_check, (&f, &before), Some((&f, &down))), None);
        assert_eq!(
            judge(&down_check, (&f, &before), Some((&f, &far_up))).unwrap(),
            "p(positive) 0.60 → 0.80 (+0.20, tolerance 0.1)"
        );
        let up_check = c(Direction::Up);
        assert!(judge(&up_check, (&f, &before), Some((&f, &down))).is_some());
        assert_eq!(judge(&up_check, (&f, &before), Some((&f, &far_up))), None);
    }
}
