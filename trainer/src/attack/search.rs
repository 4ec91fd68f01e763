//! The greedy search of TextAttack's `GreedyWordSwapWIR` (Jin et al. 2020's TextFooler order,
//! Gao et al. 2018's DeepWordBug edits): visit the words most important first; at each, try
//! every candidate in one scoring call and keep the one that lowers p(target) most, if it
//! lowers it at all; stop as soon as the predicted class is no longer the target (success)
//! or when `max_changes` words are changed (failure).
//!
//! A constraint may veto candidate texts before they are scored (TextFooler's semantic
//! similarity, [`super::similarity`]): a vetoed candidate is never taken, however much it
//! would lower p(target).
//!
//! The search sees the model only through closures (texts in, class distributions or
//! verdicts out), so it is unit-tested on hand-made scores without a model, and what it
//! scores is exactly the text it writes out.

use anyhow::{ensure, Result};
use glassbox_model::text::decode::argmax;
use serde::Serialize;

/// A text as alternating gaps and words, so one word can be replaced while every other
/// character (spacing, punctuation between words) stays as it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    /// `gaps[i]` precedes `words[i]`; the last gap follows the last word.
    gaps: Vec<String>,
    words: Vec<String>,
}

impl Sentence {
    /// Splits `text` at the words' character spans (ascending, non-overlapping, within the
    /// text — as the tokenizer's offsets are).
    pub fn new(text: &str, spans: &[(usize, usize)]) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let cut = |a: usize, b: usize| {
            chars[a.min(chars.len())..b.min(chars.len())]
                .iter()
                .collect()
        };
        let (mut gaps, mut words, mut at) = (Vec::new(), Vec::new(), 0);
        for &(start, end) in spans {
            gaps.push(cut(at, start));
            words.push(cut(start, end));
            at = end;
        }
        gaps.push(cut(at, chars.len()));
        Sentence { gaps, words }
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The sentence with word `i` replaced by `word`.
    pub fn with_word(&self, i: usize, word: &str) -> Self {
        let mut s = self.clone();
        s.words[i] = word.to_string();
        s
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for (g, w) in self.gaps.iter().zip(&self.words) {
            out.push_str(g);
            out.push_str(w);
        }
        out.push_str(self.gaps.last().map_or("", String::as_str));
        out
    }
}

/// One word the search may replace, and what it may replace it with.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// Index of the word in the sentence.
    pub position: usize,
    pub candidates: Vec<String>,
}

/// One accepted replacement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Index of the word in the sentence.
    pub position: usize,
    pub original: String,
    pub replacement: String,
    /// p(target) once this replacement (and those before it) are made.
    pub p_target: f32,
}

/// Where the search ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub sentence: Sentence,
    /// Accepted replacements, in the order made.
    pub changes: Vec<Change>,
    /// The class distribution of `sentence`.
    pub probs: Vec<f32>,
    /// Texts scored by the search.
    pub queries: usize,
    /// Candidate texts the constraint vetoed (never scored).
    pub rejected: usize,
}

impl Outcome {
    /// Whether the predicted class is no longer `target`.
    pub fn flipped(&self, target: usize) -> bool {
        argmax(&self.probs).0 != target
    }
}

/// What the search asks about candidate texts: `score` maps texts to their class
/// distributions, `allow` to whether each may be taken at all; one answer per text.
pub struct Judges<S, A> {
    pub score: S,
    pub allow: A,
}

/// Judges without a constraint: every candidate may be taken.
pub fn allow_all(texts: &[String]) -> Result<Vec<bool>> {
    Ok(vec![true; texts.len()])
}

/// Greedy word substitution against class `target`, starting from `sentence` (whose class
/// distribution is `probs`), visiting `slots` in the order given (most important first).
pub fn greedy<S, A>(
    sentence: Sentence,
    probs: Vec<f32>,
    target: usize,
    slots: &[Slot],
    max_changes: usize,
    mut judges: Judges<S, A>,
) -> Result<Outcome>
where
    S: FnMut(&[String]) -> Result<Vec<Vec<f32>>>,
    A: FnMut(&[String]) -> Result<Vec<bool>>,
{
    let mut cur = Outcome {
        sentence,
        changes: Vec::new(),
        probs,
        queries: 0,
        rejected: 0,
    };
    for slot in slots {
        if cur.changes.len() >= max_changes || cur.flipped(target) {
            break;
        }
        let (words, tried) = allowed(&mut cur, slot, &mut judges.allow)?;
        if tried.is_empty() {
            continue;
        }
        let texts: Vec<String> = tried.iter().map(Sentence::text).collect();
        let rows = (judges.score)(&texts)?;
        ensure!(
            rows.len() == texts.len(),
            "the scorer answered {} rows for {} texts",
            rows.len(),
            texts.len()
        );
        cur.queries += texts.len();
        let best = lowest(&rows, target);
        if rows[best][target] < cur.probs[target] {
            cur.changes.push(Change {
                position: slot.position,
                original: cur.sentence.words[slot.position].clone(),
                replacement: words[best].clone(),
                p_target: rows[best][target],
            });
            cur.sentence = tried[best].clone();
            cur.probs = rows[best].clone();
        }
    }
    Ok(cur)
}

/// The candidates of `slot` that `allow` lets through, as (replacement words, sentences);
/// the vetoed ones are counted in `cur.rejected`.
fn allowed<A>(cur: &mut Outcome, slot: &Slot, allow: &mut A) -> Result<(Vec<String>, Vec<Sentence>)>
where
    A: FnMut(&[String]) -> Result<Vec<bool>>,
{
    if slot.candidates.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let tried: Vec<Sentence> = slot
        .candidates
        .iter()
        .map(|c| cur.sentence.with_word(slot.position, c))
        .collect();
    let texts: Vec<String> = tried.iter().map(Sentence::text).collect();
    let keep = allow(&texts)?;
    ensure!(
        keep.len() == texts.len(),
        "the constraint answered {} verdicts for {} texts",
        keep.len(),
        texts.len()
    );
    cur.rejected += keep.iter().filter(|k| !**k).count();
    Ok(slot
        .candidates
        .iter()
        .cloned()
        .zip(tried)
        .zip(keep)
        .filter_map(|(pair, k)| k.then_some(pair))
        .unzip())
}

/// Index of the row with the lowest p(target); the first of equals.
fn lowest(rows: &[Vec<f32>], target: usize) -> usize {
    (1..rows.len()).fold(0, |best, i| {
        if rows[i][target] < rows[best][target] {
            i
        } else {
            best
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_keeps_every_character_between_its_words() {
        let text = "Well,  I'm happy!";
        // Pre-tokenizer words: Well | , | I | ' | m | happy | !
        let spans = [(0, 4), (4, 5), (7, 8), (8, 9), (9, 10), (11, 16), (16, 17)];
        let s = Sentence::new(text, &spans);
        assert_eq!(s.text(), text);
        assert_eq!(s.words()[5], "happy");
        assert_eq!(s.with_word(5, "glad").text(), "Well,  I'm glad!");
        assert_eq!(s.with_word(0, "Oh").text(), "Oh,  I'm happy!");
    }

    #[test]
    fn a_sentence_counts_characters_not_bytes() {
        let s = Sentence::new("café au lait", &[(0, 4), (5, 7), (8, 12)]);
        assert_eq!(s.words(), ["café", "au", "lait"]);
        assert_eq!(s.with_word(2, "thé").text(), "café au thé");
    }

    /// Two classes; p(class 0) = 0.9 minus the sum of each word's weight (unknown words 0),
    /// clamped to [0, 1].
    fn toy(texts: &[String]) -> Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let drop: f32 = t
                    .split(' ')
                    .map(|w| match w {
                        "dull" => 0.2,
                        "bland" => 0.3,
                        "flat" => 0.1,
                        "awful" => 0.45,
                        "bad" => 0.35,
                        "fine" => -0.05,
                        _ => 0.0,
                    })
                    .sum();
                let p = (0.9 - drop).clamp(0.0, 1.0);
                vec![p, 1.0 - p]
            })
            .collect())
    }

    type Scorer = fn(&[String]) -> Result<Vec<Vec<f32>>>;
    type Verdicts = fn(&[String]) -> Result<Vec<bool>>;

    fn unconstrained(score: Scorer) -> Judges<Scorer, Verdicts> {
        Judges {
            score,
            allow: allow_all,
        }
    }

    fn start() -> (Sentence, Vec<f32>) {
        let text = "the film was good and long";
        let spans = [(0, 3), (4, 8), (9, 12), (13, 17), (18, 21), (22, 26)];
        let s = Sentence::new(text, &spans);
        let p = toy(&[s.text()]).unwrap().remove(0);
        (s, p)
    }

    fn slots() -> Vec<Slot> {
        let slot = |position: usize, c: &[&str]| Slot {
            position,
            candidates: c.iter().map(|s| s.to_string()).collect(),
        };
        // Importance order: "long" (5), "film" (1), "good" (3).
        vec![
            slot(5, &["fine"]),
            slot(1, &["flat", "dull", "bland"]),
            slot(3, &["bad", "awful"]),
        ]
    }

    #[test]
    fn greedy_takes_the_strongest_candidate_of_each_word_until_the_class_flips() {
        // p0 starts at 0.9. "long": "fine" would raise p0 to 0.95 → not taken.
        // "film": flat 0.8, dull 0.7, bland 0.6 → "bland" (p0 0.6, still class 0).
        // "good": bad 0.25, awful 0.15 → "awful" (p0 0.15 < 0.5: class 1, success).
        let (s, p) = start();
        let out = greedy(s, p, 0, &slots(), 3, unconstrained(toy)).unwrap();
        let made: Vec<(usize, &str)> = out
            .changes
            .iter()
            .map(|c| (c.position, c.replacement.as_str()))
            .collect();
        assert_eq!(made, [(1, "bland"), (3, "awful")]);
        assert_eq!(out.sentence.text(), "the bland was awful and long");
        assert!((out.changes[0].p_target - 0.6).abs() < 1e-6);
        assert!((out.probs[0] - 0.15).abs() < 1e-6);
        assert!(out.flipped(0));
        assert_eq!(out.queries, 1 + 3 + 2);
    }

    #[test]
    fn a_vetoed_candidate_is_never_scored_or_taken() {
        // As above, but the constraint vetoes "bland" and "awful": "film" → "dull" (p0 0.7),
        // then "good" → "bad" (p0 0.35: success with the weaker candidates).
        let (s, p) = start();
        let judges = Judges {
            score: |texts: &[String]| {
                assert!(texts
                    .iter()
                    .all(|t| !t.contains("bland") && !t.contains("awful")));
                toy(texts)
            },
            allow: |texts: &[String]| {
                Ok(texts
                    .iter()
                    .map(|t| !t.contains("bland") && !t.contains("awful"))
                    .collect())
            },
        };
        let out = greedy(s, p, 0, &slots(), 3, judges).unwrap();
        assert_eq!(out.sentence.text(), "the dull was bad and long");
        assert!((out.probs[0] - 0.35).abs() < 1e-6);
        assert_eq!((out.queries, out.rejected), (1 + 2 + 1, 2));
    }

    #[test]
    fn greedy_stops_after_max_changes_words() {
        let (s, p) = start();
        let out = greedy(s, p, 0, &slots(), 1, unconstrained(toy)).unwrap();
        assert_eq!(out.changes.len(), 1);
        assert_eq!(out.sentence.text(), "the bland was good and long");
        assert!(!out.flipped(0));
        // The third word is never scored once the budget is spent.
        assert_eq!(out.queries, 1 + 3);
    }

    #[test]
    fn greedy_with_no_budget_changes_nothing_and_scores_nothing() {
        let (s, p) = start();
        let out = greedy(s.clone(), p.clone(), 0, &slots(), 0, unconstrained(toy)).unwrap();
        assert_eq!((out.sentence, out.probs, out.queries), (s, p, 0));
        assert!(out.changes.is_empty());
    }

    #[test]
    fn a_scorer_that_answers_too_few_rows_is_an_error() {
        let (s, p) = start();
        let short = |_: &[String]| Ok(vec![vec![0.5, 0.5]]);
        let e = greedy(s, p, 0, &slots()[1..], 3, unconstrained(short)).unwrap_err();
        assert!(e.to_string().contains("1 rows for 3 texts"), "{e}");
    }
}
