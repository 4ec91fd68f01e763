//! Error analysis: every error with its confidence, grouped by what kind of error it is, and
//! scores on slices of the data (length, negation, hashtags, mentions, URLs) that tell a
//! teacher where the model is weak.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use glassbox_model::text::decode::{bio_spans, TagSpan};
use serde::Serialize;
use serde_json::{json, Value};

use super::Predictions;
use crate::data::conll::TokenExample;
use crate::data::encode::join_words;
use crate::data::prepare::PreparedTask;
use crate::data::sentence::SentenceExample;
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

/// Error analysis of the examples `idx` of `task`, whose predictions are `preds` (one per
/// index, in the same order). Fails, rather than panicking, when the predictions are of the
/// other kind than the task's examples.
pub fn analyse(task: &PreparedTask, idx: &[usize], preds: &Predictions) -> Result<Analysis> {
    match (preds, &task.data.examples) {
        (Predictions::Sentence { gold, pred, probs }, Examples::Sentence(ex)) => {
            let sentences = SentencePredictions { gold, pred, probs };
            Ok(analyse_sentences(task, ex, idx, &sentences))
        }
        (
            Predictions::Token {
                gold,
                pred,
                confidence,
            },
            Examples::Token(ex),
        ) => {
            let tokens = TokenPredictions {
                gold,
                pred,
                confidence,
            };
            Ok(analyse_tokens(task, ex, idx, &tokens))
        }
        (Predictions::Sentence { .. }, Examples::Token(_)) => bail!(
            "task {:?}: sentence predictions for a token task's examples",
            task.name()
        ),
        (Predictions::Token { .. }, Examples::Sentence(_)) => bail!(
            "task {:?}: token predictions for a sentence task's examples",
            task.name()
        ),
    }
}

/// The fields of [`Predictions::Sentence`], borrowed, so the sentence analysis can take them
/// as one argument.
struct SentencePredictions<'a> {
    gold: &'a [usize],
    pred: &'a [usize],
    probs: &'a [Vec<f32>],
}

/// The fields of [`Predictions::Token`], borrowed, so the entity analysis can take them as one
/// argument.
struct TokenPredictions<'a> {
    gold: &'a [Vec<String>],
    pred: &'a [Vec<String>],
    confidence: &'a [Vec<f32>],
}

/// Slice name → positions (into `idx`) of the examples that fall in it.
type SliceMembers = BTreeMap<&'static str, Vec<usize>>;

/// Records that the example at position `k` belongs to each of `names`.
fn add_to_slices(by_slice: &mut SliceMembers, names: &[&'static str], k: usize) {
    for s in names {
        by_slice.entry(s).or_default().push(k);
    }
}

/// Sentence task: errors grouped by `gold→pred` label pair, slices scored by macro-F1.
fn analyse_sentences(
    task: &PreparedTask,
    ex: &[SentenceExample],
    idx: &[usize],
    preds: &SentencePredictions,
) -> Analysis {
    let labels = task.labels();
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = vec![];
    let mut by_slice = SliceMembers::new();
    for (k, &i) in idx.iter().enumerate() {
        let e = &ex[i];
        let sl = slices(&e.text);
        add_to_slices(&mut by_slice, &sl, k);
        let (gold, pred) = (preds.gold[k], preds.pred[k]);
        if gold != pred {
            let pair = format!("{}→{}", labels[gold], labels[pred]);
            *groups.entry(pair.clone()).or_default() += 1;
            errors.push(json!({
                "task": task.name(), "line": e.line, "text": e.text, "error": pair,
                "gold": labels[gold], "pred": labels[pred],
                "confidence": preds.probs[k][pred], "slices": sl,
            }));
        }
    }
    Analysis {
        task: task.name().into(),
        groups,
        slices: sentence_slice_scores(labels, by_slice, preds),
        type_confusion: vec![],
        errors,
    }
}

/// Each slice's size and the macro-F1 of the sentence predictions in it.
fn sentence_slice_scores(
    labels: &[String],
    by_slice: SliceMembers,
    preds: &SentencePredictions,
) -> BTreeMap<String, (usize, f64)> {
    by_slice
        .into_iter()
        .map(|(s, ks)| {
            let g: Vec<usize> = ks.iter().map(|&k| preds.gold[k]).collect();
            let p: Vec<usize> = ks.iter().map(|&k| preds.pred[k]).collect();
            (
                s.to_string(),
                (ks.len(), class_scores(labels, &g, &p).macro_avg.f1),
            )
        })
        .collect()
}

/// Entity task: errors grouped by [`SpanError`] kind, the entity type confusion, and slices
/// scored by span micro-F1.
fn analyse_tokens(
    task: &PreparedTask,
    ex: &[TokenExample],
    idx: &[usize],
    preds: &TokenPredictions,
) -> Analysis {
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = vec![];
    let mut by_slice = SliceMembers::new();
    let mut confusion = BTreeMap::new();
    for (k, &i) in idx.iter().enumerate() {
        let e = &ex[i];
        let (text, _) = join_words(&e.tokens);
        let sl = slices(&text);
        add_to_slices(&mut by_slice, &sl, k);
        let gs = bio_spans(&preds.gold[k]);
        let ps = bio_spans(&preds.pred[k]);
        for (kind, g, p) in span_errors(&gs, &ps, &mut confusion) {
            *groups.entry(span_error_name(kind)).or_default() += 1;
            errors.push(json!({
                "task": task.name(), "line": e.line, "text": text, "error": kind,
                "gold": g.as_ref().map(|g| span_json(&e.tokens, g)),
                "pred": p.as_ref().map(|p| span_json(&e.tokens, p)),
                "confidence": p.as_ref().map(|p| mean_confidence(&preds.confidence[k], p)),
                "slices": sl,
            }));
        }
    }
    Analysis {
        task: task.name().into(),
        groups,
        slices: token_slice_scores(by_slice, preds),
        type_confusion: confusion.into_iter().map(|((a, b), n)| (a, b, n)).collect(),
        errors,
    }
}

/// The name an error kind is grouped (and serialised) under, e.g. `wrong_type`.
fn span_error_name(kind: SpanError) -> String {
    serde_json::to_value(kind)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// An entity as it appears in an error record: its type, its words and their range.
fn span_json(words: &[String], span: &TagSpan) -> Value {
    json!({"type": span.label, "text": words_text(words, span), "words": [span.start, span.end]})
}

/// How sure the model was of a predicted entity: the mean confidence over its words.
fn mean_confidence(confidence: &[f32], span: &TagSpan) -> f32 {
    confidence[span.start..span.end].iter().sum::<f32>() / (span.end - span.start) as f32
}

/// Each slice's size and the span micro-F1 of the entity predictions in it.
fn token_slice_scores(
    by_slice: SliceMembers,
    preds: &TokenPredictions,
) -> BTreeMap<String, (usize, f64)> {
    by_slice
        .into_iter()
        .map(|(s, ks)| {
            let g: Vec<Vec<String>> = ks.iter().map(|&k| preds.gold[k].clone()).collect();
            let p: Vec<Vec<String>> = ks.iter().map(|&k| preds.pred[k].clone()).collect();
            (s.to_string(), (ks.len(), span_scores(&g, &p).micro.f1))
        })
        .collect()
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

    fn task(examples: Examples, labels: &[&str]) -> PreparedTask {
        crate::data::prepare::testing::task(examples, labels)
    }

    fn sentence(text: &str, label: &str, line: usize) -> SentenceExample {
        SentenceExample {
            text: text.into(),
            label: label.into(),
            confidence: None,
            line,
        }
    }

    fn strings(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn sentence_errors_are_grouped_by_label_pair() {
        let ex = vec![
            sentence("i love it", "pos", 2),
            sentence("not good", "neg", 3),
        ];
        let t = task(Examples::Sentence(ex), &["neg", "pos"]);
        let preds = Predictions::Sentence {
            gold: vec![0, 1],
            pred: vec![1, 1],
            probs: vec![vec![0.25, 0.75], vec![0.5, 0.5]],
        };
        let a = analyse(&t, &[1, 0], &preds).unwrap();
        assert_eq!(a.groups, BTreeMap::from([("neg→pos".to_string(), 1)]));
        assert_eq!(a.slices["length ≤10 words"].0, 2);
        assert_eq!(a.slices["negation"].0, 1);
        assert!(a.type_confusion.is_empty());
        assert_eq!(
            a.errors,
            [json!({
                "task": "t", "line": 3, "text": "not good", "error": "neg→pos",
                "gold": "neg", "pred": "pos", "confidence": 0.75,
                "slices": ["length ≤10 words", "negation"],
            })]
        );
    }

    #[test]
    fn token_errors_carry_both_entities_and_the_mean_confidence() {
        let ex = vec![TokenExample {
            tokens: strings("Star Wars rocks"),
            tags: strings("B-movie I-movie O"),
            line: 5,
        }];
        let t = task(Examples::Token(ex), &["O", "B-movie", "I-movie"]);
        let preds = Predictions::Token {
            gold: vec![strings("B-movie I-movie O")],
            pred: vec![strings("B-movie I-movie B-movie")],
            confidence: vec![vec![0.5, 0.5, 0.75]],
        };
        let a = analyse(&t, &[0], &preds).unwrap();
        assert_eq!(a.groups, BTreeMap::from([("spurious".to_string(), 1)]));
        assert_eq!(
            a.type_confusion,
            [
                ("(none)".to_string(), "movie".to_string(), 1),
                ("movie".to_string(), "movie".to_string(), 1)
            ]
        );
        assert_eq!(
            a.errors,
            [json!({
                "task": "t", "line": 5, "text": "Star Wars rocks", "error": "spurious",
                "gold": null,
                "pred": {"type": "movie", "text": "rocks", "words": [2, 3]},
                "confidence": 0.75, "slices": ["length ≤10 words"],
            })]
        );
    }

    #[test]
    fn predictions_of_the_other_kind_are_an_error_not_a_panic() {
        let t = task(
            Examples::Sentence(vec![sentence("hi", "a", 1)]),
            &["a", "b"],
        );
        let preds = Predictions::Token {
            gold: vec![],
            pred: vec![],
            confidence: vec![],
        };
        let e = analyse(&t, &[], &preds).unwrap_err().to_string();
        assert!(e.contains("token predictions for a sentence task"), "{e}");
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
