//! One attack per text: the model's class and its distribution, each word's occlusion
//! importance (`infer::occlusion`, the numbers `glassbox explain` shows), candidates for the
//! content words, and the greedy search ([`super::search`]) scoring candidates through the
//! same batched forward pass as `glassbox predict`. A text that cannot be attacked becomes an
//! error result; the others go on.

use anyhow::{anyhow, Result};
use burn::prelude::*;
use glassbox_model::text::decode::{argmax, words, Word};
use glassbox_model::view::ReadBack;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::candidates::Candidates;
use super::search::{allow_all, greedy, Change, Judges, Outcome, Sentence, Slot};
use super::similarity::Judge;
use crate::infer::occlusion::occluded_probs;
use crate::infer::{forward_batch, run, tokenize_all};
use crate::load::Loaded;
use crate::seeds::mix;

/// Texts per forward pass when scoring candidates.
const BATCH: usize = 32;

/// A text to attack.
#[derive(Debug, Clone)]
pub struct Target {
    /// How messages name it: `FILE:LINE` or `test #N`.
    pub at: String,
    pub text: Result<String, String>,
    /// The true class, when known: a text the model already gets wrong is skipped.
    pub gold: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The class changed within the budget.
    Succeeded,
    /// It did not.
    Failed,
    /// The model was wrong to begin with (TextAttack's "skipped").
    Skipped,
    /// The text could not be attacked (see `error`).
    Error,
}

/// What the attack did to one text.
#[derive(Debug, Clone, Serialize)]
pub struct AttackResult {
    pub at: String,
    pub text: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gold: Option<String>,
    /// The model's class for `text`, and its probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_label: Option<f32>,
    /// Where the search ended, its class, and p(`label`) there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adversarial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adversarial_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_label_after: Option<f32>,
    pub changes: Vec<Change>,
    /// Words in the text (as the tokenizer splits it).
    pub words: usize,
    /// Texts the model scored for this attack (occlusion included).
    pub queries: usize,
    /// Candidate texts the similarity constraint vetoed.
    pub rejected: usize,
    /// Cosine similarity of the adversarial text to the original, by the constraint's
    /// encoder (when there is a constraint and a change was made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AttackResult {
    fn bare(t: &Target, status: Status) -> Self {
        AttackResult {
            at: t.at.clone(),
            text: t.text.clone().unwrap_or_default(),
            status,
            gold: t.gold.clone(),
            label: None,
            p_label: None,
            adversarial: None,
            adversarial_label: None,
            p_label_after: None,
            changes: Vec::new(),
            words: 0,
            queries: 0,
            rejected: 0,
            similarity: None,
            error: None,
        }
    }
}

/// The search's settings.
pub struct Attack<'a> {
    pub candidates: Candidates<'a>,
    pub max_changes: usize,
    pub seed: u64,
}

impl Attack<'_> {
    /// Attacks target number `index`, under `judge`'s similarity constraint when given;
    /// failures become an error result.
    pub fn one<B: Backend>(
        &self,
        loaded: &Loaded<B>,
        judge: Option<&Judge<B>>,
        t: &Target,
        index: usize,
        device: &B::Device,
    ) -> AttackResult {
        match self.try_one(loaded, judge, t, index, device) {
            Ok(r) => r,
            Err(e) => AttackResult {
                error: Some(format!("{}: {e:#}", t.at)),
                ..AttackResult::bare(t, Status::Error)
            },
        }
    }

    fn try_one<B: Backend>(
        &self,
        loaded: &Loaded<B>,
        judge: Option<&Judge<B>>,
        t: &Target,
        index: usize,
        device: &B::Device,
    ) -> Result<AttackResult> {
        let text = t.text.clone().map_err(|e| anyhow!("{e}"))?;
        let tok = tokenize_all(loaded, std::slice::from_ref(&text))?.remove(0);
        let probs = forward_batch(loaded, vec![tok.clone()], &ReadBack::Outputs, device)?
            .remove(0)
            .sentence_probs;
        let labels = &loaded.config.sentence_labels;
        let (class, p) = argmax(&probs);
        let ws = words(&tok);
        let mut r = AttackResult {
            label: Some(labels[class].clone()),
            p_label: Some(p),
            words: ws.len(),
            queries: 1,
            ..AttackResult::bare(t, Status::Skipped)
        };
        if t.gold.as_ref().is_some_and(|g| *g != labels[class]) || ws.is_empty() {
            return Ok(r);
        }
        let dropped = occluded_probs(loaded, &tok, &ws, class, device)?;
        r.queries += ws.len();
        let sentence = Sentence::new(
            &text,
            &ws.iter().map(|w| (w.start, w.end)).collect::<Vec<_>>(),
        );
        let chars: Vec<char> = text.chars().collect();
        let slots = self.slots(&sentence, &ws, &dropped, p, index, &chars);
        let search = Search::new(loaded, judge, &text, device)?;
        let out = search.greedy(sentence, probs, class, &slots, self.max_changes)?;
        r.similarity = search.similarity_after(&out)?;
        r.rejected = out.rejected;
        r.status = if out.flipped(class) {
            Status::Succeeded
        } else {
            Status::Failed
        };
        r.queries += out.queries;
        r.adversarial = Some(out.sentence.text());
        r.adversarial_label = Some(labels[argmax(&out.probs).0].clone());
        r.p_label_after = Some(out.probs[class]);
        r.changes = out.changes;
        Ok(r)
    }

    /// The attackable words, most important first: the largest drop in p(class) when the
    /// word is left out (ties: leftmost first). Words of @handles, URLs and contractions stay.
    fn slots(
        &self,
        s: &Sentence,
        ws: &[Word],
        dropped: &[f32],
        p: f32,
        index: usize,
        text: &[char],
    ) -> Vec<Slot> {
        let mut order: Vec<usize> = (0..ws.len())
            .filter(|&i| !protected(text, &ws[i]))
            .collect();
        order.sort_by(|&a, &b| {
            (p - dropped[b])
                .total_cmp(&(p - dropped[a]))
                .then(a.cmp(&b))
        });
        order
            .into_iter()
            .map(|position| {
                let mut rng =
                    ChaCha8Rng::seed_from_u64(mix(self.seed, index as u64, position as u64));
                let candidates = self.candidates.of(&s.words()[position], &mut rng);
                Slot {
                    position,
                    candidates,
                }
            })
            .filter(|s| !s.candidates.is_empty())
            .collect()
    }
}

/// One text's search: the attacked model scores candidates, the judge (if any) vetoes those
/// too far in meaning from the original text, whose embedding it computes once.
struct Search<'a, B: Backend> {
    loaded: &'a Loaded<B>,
    /// The judge and the original text's embedding by it.
    judge: Option<(&'a Judge<B>, Vec<f32>)>,
    device: &'a B::Device,
}

impl<'a, B: Backend> Search<'a, B> {
    fn new(
        loaded: &'a Loaded<B>,
        judge: Option<&'a Judge<B>>,
        original: &str,
        device: &'a B::Device,
    ) -> Result<Self> {
        let judge = match judge {
            Some(j) => Some((j, j.embed(&[original.to_string()], device)?.remove(0))),
            None => None,
        };
        Ok(Search {
            loaded,
            judge,
            device,
        })
    }

    fn greedy(
        &self,
        sentence: Sentence,
        probs: Vec<f32>,
        class: usize,
        slots: &[Slot],
        max_changes: usize,
    ) -> Result<Outcome> {
        let score = |texts: &[String]| scores(self.loaded, texts, self.device);
        let Some((judge, reference)) = &self.judge else {
            let judges = Judges {
                score,
                allow: allow_all,
            };
            return greedy(sentence, probs, class, slots, max_changes, judges);
        };
        let allow = |texts: &[String]| {
            let sims = judge.similarities(reference, texts, self.device)?;
            Ok(sims.into_iter().map(|s| s >= judge.min).collect())
        };
        greedy(
            sentence,
            probs,
            class,
            slots,
            max_changes,
            Judges { score, allow },
        )
    }

    /// How close the search's final text stays to the original, when it changed anything and
    /// there is a judge to ask.
    fn similarity_after(&self, out: &Outcome) -> Result<Option<f32>> {
        let Some((judge, reference)) = self.judge.as_ref().filter(|_| !out.changes.is_empty())
        else {
            return Ok(None);
        };
        Ok(judge
            .similarities(reference, &[out.sentence.text()], self.device)?
            .first()
            .copied())
    }
}

/// The class distribution of each text, through `glassbox predict`'s batched forward pass.
fn scores<B: Backend>(
    loaded: &Loaded<B>,
    texts: &[String],
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    let items = tokenize_all(loaded, texts)?;
    Ok(run(loaded, items, BATCH, false, device)?
        .into_iter()
        .map(|s| s.sentence_probs)
        .collect())
}

/// Whether `w` is part of an @handle, a URL or a contraction: changing "@united" or "don't"
/// piecewise would change who is addressed or make a non-word, not swap a word.
fn protected(text: &[char], w: &Word) -> bool {
    let is_space = |i: &usize| text[*i].is_whitespace();
    let from = (0..w.start.min(text.len()))
        .rev()
        .find(is_space)
        .map_or(0, |i| i + 1);
    let to = (w.end.min(text.len())..text.len())
        .find(is_space)
        .unwrap_or(text.len());
    let chunk: String = text[from..to].iter().collect();
    chunk.starts_with('@')
        || chunk.contains("://")
        || chunk.starts_with("www.")
        || chunk.contains(['\'', '’'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_urls_and_contractions_are_protected() {
        let text: Vec<char> = "Thanks @united, don't see http://t.co/x great"
            .chars()
            .collect();
        let word = |s: &str| {
            let at = text.iter().collect::<String>().find(s).unwrap();
            Word {
                id: 0,
                first: 0,
                last: 0,
                start: at,
                end: at + s.len(),
            }
        };
        for w in ["united", "don", "http", "co"] {
            assert!(protected(&text, &word(w)), "{w}");
        }
        for w in ["Thanks", "see", "great"] {
            assert!(!protected(&text, &word(w)), "{w}");
        }
    }
}
