//! Error analysis: every error with its confidence, grouped by what kind of error it is, and
//! scores on slices of the data (length, negation, hashtags, mentions, URLs) that tell a
//! teacher where the model is weak.

use std::collections::BTreeMap;

use glassbox_model::text::decode::{bio_spans, TagSpan};
use serde::Serialize;
use serde_json::{json, Value};

use super::Predictions;
use crate::data::encode::join_words;
use crate::data::prepare::PreparedTask;
use crate::data::task::Examples;
use crate::metrics::classification::class_scores;
use crate::metrics::span::span_scores;

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "cannot", "without",
];

/// Named features of a text, for slicing.
pub fn slices(text: &str) -> Vec<&'static str> {
    let words: Vec<String> = text.split_whitespace().map(|w| w.to_lowercase()).collect();
    let mut s = vec![match words.len() {
        0..=10 => "length ≤10 words",
        11..=20 => "length 11–20 words",
        _ => "length >20 words",
    }];
    let bare = |w: &String| {
        w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
            .to_string()
    };
    if words
        .iter()
        .any(|w| NEGATIONS.contains(&bare(w).as_str()) || bare(w).ends_with("n't"))
    {
        s.push("negation");
    }
    if words.iter().any(|w| w.starts_with('#') && w.len() > 1) {
        s.push("hashtag");
    }
    if words.iter().any(|w| w.starts_with('@') && w.len() > 1) {
        s.push("mention");
    }
    if words
        .iter()
        .any(|w| w.contains("http://") || w.contains("https://"))
    {
        s.push("url");
    }
    s
}

/// How a predicted or gold entity went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanError {
    Missed,
    Spurious,
    WrongType,
    WrongBoundary,
}

fn overlaps(a: &TagSpan, b: &TagSpan) -> bool {
    a.start < b.end && b.start < a.end
}

/// Classifies the entity errors of one sentence, and fills the type confusion matrix whose
/// extra row `boundary` counts predictions that overlap a gold entity with other boundaries,
/// extra row `(none)` spurious predictions and extra column `(none)` missed entities.
pub fn span_errors(
    gold: &[TagSpan],
    pred: &[TagSpan],
    confusion: &mut BTreeMap<(String, String), usize>,
) -> Vec<(SpanError, Option<TagSpan>, Option<TagSpan>)> {
    let mut out = vec![];
    let mut gold_hit = vec![false; gold.len()];
    for p in pred {
        if let Some(gi) = gold
            .iter()
            .position(|g| g.start == p.start && g.end == p.end)
        {
            gold_hit[gi] = true;
            let g = &gold[gi];
            *confusion
                .entry((g.label.clone(), p.label.clone()))
                .or_default() += 1;
            if g.label != p.label {
                out.push((SpanError::WrongType, Some(g.clone()), Some(p.clone())));
            }
        } else if let Some(gi) = gold.iter().position(|g| overlaps(g, p)) {
            gold_hit[gi] = true;
            *confusion
                .entry(("boundary".into(), p.label.clone()))
                .or_default() += 1;
            out.push((
                SpanError::WrongBoundary,
                Some(gold[gi].clone()),
                Some(p.clone()),
            ));
        } else {
            *confusion
                .entry(("(none)".into(), p.label.clone()))
                .or_default() += 1;
            out.push((SpanError::Spurious, None, Some(p.clone())));
        }
    }
    for (g, hit) in gold.iter().zip(gold_hit) {
        if !hit {
            *confusion
                .entry((g.label.clone(), "(none)".into()))
                .or_default() += 1;
            out.push((SpanError::Missed, Some(g.clone()), None));
        }
    }
    out
}

#[derive(Debug, Serialize)]
pub struct Analysis {
    pub task: String,
    /// Error kind (or `gold→pred` pair for sentences) → count.
    pub groups: BTreeMap<String, usize>,
    /// Slice → (examples, headline metric on the slice).
    pub slices: BTreeMap<String, (usize, f64)>,
    /// Entity tasks: (gold row, predicted column) → count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub type_confusion: Vec<(String, String, usize)>,
    #[serde(skip)]
    pub errors: Vec<Value>,
}

fn words_text(words: &[String], span: &TagSpan) -> String {
    words[span.start..span.end].join(" ")
}

pub fn analyse(task: &PreparedTask, idx: &[usize], preds: &Predictions) -> Analysis {
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = vec![];
    let mut by_slice: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    let mut confusion = BTreeMap::new();
    match (&task.data.examples, preds) {
        (Examples::Sentence(ex), Predictions::Sentence { gold, pred, probs }) => {
            let labels = task.labels();
            for (k, &i) in idx.iter().enumerate() {
                let e = &ex[i];
                let sl = slices(&e.text);
                for s in &sl {
                    by_slice.entry(s).or_default().push(k);
                }
                if gold[k] != pred[k] {
                    let pair = format!("{}→{}", labels[gold[k]], labels[pred[k]]);
                    *groups.entry(pair.clone()).or_default() += 1;
                    errors.push(json!({
                        "task": task.name(), "line": e.line, "text": e.text, "error": pair,
                        "gold": labels[gold[k]], "pred": labels[pred[k]],
                        "confidence": probs[k][pred[k]], "slices": sl,
                    }));
                }
            }
            let slices = by_slice
                .into_iter()
                .map(|(s, ks)| {
                    let g: Vec<usize> = ks.iter().map(|&k| gold[k]).collect();
                    let p: Vec<usize> = ks.iter().map(|&k| pred[k]).collect();
                    (
                        s.to_string(),
                        (ks.len(), class_scores(labels, &g, &p).macro_avg.f1),
                    )
                })
                .collect();
            Analysis {
                task: task.name().into(),
                groups,
                slices,
                type_confusion: vec![],
                errors,
            }
        }
        (
            Examples::Token(ex),
            Predictions::Token {
                gold,
                pred,
                confidence,
            },
        ) => {
            for (k, &i) in idx.iter().enumerate() {
                let e = &ex[i];
                let (text, _) = join_words(&e.tokens);
                for s in slices(&text) {
                    by_slice.entry(s).or_default().push(k);
                }
                let gs = bio_spans(&gold[k]);
                let ps = bio_spans(&pred[k]);
                for (kind, g, p) in span_errors(&gs, &ps, &mut confusion) {
                    *groups
                        .entry(
                            serde_json::to_value(kind)
                                .unwrap()
                                .as_str()
                                .unwrap()
                                .to_string(),
                        )
                        .or_default() += 1;
                    let conf = p.as_ref().map(|p| {
                        confidence[k][p.start..p.end].iter().sum::<f32>() / (p.end - p.start) as f32
                    });
                    errors.push(json!({
                        "task": task.name(), "line": e.line, "text": text, "error": kind,
                        "gold": g.as_ref().map(|g| json!({"type": g.label, "text": words_text(&e.tokens, g), "words": [g.start, g.end]})),
                        "pred": p.as_ref().map(|p| json!({"type": p.label, "text": words_text(&e.tokens, p), "words": [p.start, p.end]})),
                        "confidence": conf, "slices": slices(&text),
                    }));
                }
            }
            let slices = by_slice
                .into_iter()
                .map(|(s, ks)| {
                    let g: Vec<Vec<String>> = ks.iter().map(|&k| gold[k].clone()).collect();
                    let p: Vec<Vec<String>> = ks.iter().map(|&k| pred[k].clone()).collect();
                    (s.to_string(), (ks.len(), span_scores(&g, &p).micro.f1))
                })
                .collect();
            Analysis {
                task: task.name().into(),
                groups,
                slices,
                type_confusion: confusion.into_iter().map(|((a, b), n)| (a, b, n)).collect(),
                errors,
            }
        }
        _ => unreachable!("predictions match the task kind"),
    }
}

/// The summary table as Markdown.
pub fn summary_markdown(analyses: &[Analysis]) -> String {
    let mut s = String::new();
    for a in analyses {
        s.push_str(&format!("### {}\n\n| error | count |\n|---|---|\n", a.task));
        for (g, n) in &a.groups {
            s.push_str(&format!("| {g} | {n} |\n"));
        }
        s.push_str("\n| slice | examples | score |\n|---|---|---|\n");
        for (name, (n, v)) in &a.slices {
            s.push_str(&format!("| {name} | {n} | {:.3} |\n", v));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(label: &str, start: usize, end: usize) -> TagSpan {
        TagSpan {
            label: label.into(),
            start,
            end,
        }
    }

    #[test]
    fn span_errors_are_classified_by_hand() {
        let gold = [
            sp("person", 0, 2),
            sp("geo-loc", 4, 5),
            sp("company", 7, 8),
            sp("movie", 10, 12),
        ];
        let pred = [
            sp("person", 0, 2),    // correct
            sp("company", 4, 5),   // wrong type
            sp("company", 6, 8),   // wrong boundary
            sp("product", 14, 15), // spurious
        ];
        let mut conf = BTreeMap::new();
        let e = span_errors(&gold, &pred, &mut conf);
        let kinds: Vec<SpanError> = e.iter().map(|x| x.0).collect();
        assert_eq!(
            kinds,
            [
                SpanError::WrongType,
                SpanError::WrongBoundary,
                SpanError::Spurious,
                SpanError::Missed
            ]
        );
        assert_eq!(conf[&("person".into(), "person".into())], 1);
        assert_eq!(conf[&("geo-loc".into(), "company".into())], 1);
        assert_eq!(conf[&("boundary".into(), "company".into())], 1);
        assert_eq!(conf[&("(none)".into(), "product".into())], 1);
        assert_eq!(conf[&("movie".into(), "(none)".into())], 1);
    }

    #[test]
    fn slices_find_negation_hashtags_mentions_urls() {
        let s = slices("@united I don't like this #fail http://t.co/x");
        assert_eq!(
            s,
            ["length ≤10 words", "negation", "hashtag", "mention", "url"]
        );
        assert_eq!(slices("plain happy words"), ["length ≤10 words"]);
    }
}
