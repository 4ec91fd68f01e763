//! EDA augmentation (Wei & Zou 2019) of the training split: synonym replacement, random
//! insertion, random swap, random deletion. Seeded per (seed, example, copy).
//!
//! Token tasks are augmented label-aware: only words tagged `O` are replaced, swapped or
//! deleted; an insertion never lands inside an entity (before an `I-` word); every tag moves
//! with its word. Entities therefore come out exactly as they went in, in the same order.
//!
//! Back-translation, the other common text augmentation, is in [`super::backtranslate`]
//! (sentence tasks, Apertium); [`augment_tasks`] runs both.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use glassbox_model::TextTokenizer;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::conll::TokenExample;
use super::encode::{encode_sentence, encode_tokens, Encoded};
use super::prepare::PreparedTask;
use super::sentence::SentenceExample;
use super::task::Examples;
use super::wordnet::Lexicon;
use crate::config::AugmentConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Synonym,
    Insert,
    Swap,
    Delete,
    /// English → pivot → English ([`super::backtranslate`]).
    BackTranslation,
}

/// Words EDA leaves alone when picking words to replace (function words, from the usual
/// English stop lists).
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
    "by", "can", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how",
    "i", "if", "in", "into", "is", "it", "its", "just", "me", "more", "most", "my", "no", "nor",
    "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "out", "over", "own",
    "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why",
    "will", "with", "you", "your",
];

/// Whether `w` is a function word (case-insensitive); `glassbox attack` leaves these alone too.
pub(crate) fn is_stopword(w: &str) -> bool {
    STOPWORDS.contains(&w.to_lowercase().as_str())
}

/// A sentence as words, with tags for token tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct Words {
    pub words: Vec<String>,
    pub tags: Option<Vec<String>>,
}

impl Words {
    fn editable(&self, i: usize) -> bool {
        self.tags.as_ref().is_none_or(|t| t[i] == "O")
    }

    fn len(&self) -> usize {
        self.words.len()
    }

    /// Words that may be replaced or used as an insertion source: editable, not a stop word,
    /// with at least one synonym.
    fn replaceable(&self, lex: &Lexicon) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| {
                self.editable(i)
                    && !is_stopword(&self.words[i])
                    && !lex.synonyms(&self.words[i]).is_empty()
            })
            .collect()
    }

    fn splice(&mut self, at: usize, remove: usize, words: Vec<String>) {
        let n = words.len();
        self.words.splice(at..at + remove, words);
        if let Some(t) = &mut self.tags {
            t.splice(at..at + remove, std::iter::repeat_n("O".to_string(), n));
        }
    }
}

/// Keeps a capital first letter when the replaced word had one.
fn match_case(original: &str, synonym: &str) -> Vec<String> {
    let cap = original.chars().next().is_some_and(|c| c.is_uppercase());
    synonym
        .split(' ')
        .enumerate()
        .map(|(i, w)| {
            if cap && i == 0 {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            } else {
                w.to_string()
            }
        })
        .collect()
}

/// Applies `op` at `rate` (a fraction of the length; for deletion the per-word probability).
pub fn eda(input: &Words, op: Op, rate: f64, lex: &Lexicon, rng: &mut ChaCha8Rng) -> Words {
    let mut w = input.clone();
    let n = ((rate * w.len() as f64).round() as usize).max(1);
    match op {
        Op::Synonym => replace_with_synonyms(&mut w, n, lex, rng),
        Op::Insert => insert_synonyms(&mut w, n, lex, rng),
        Op::Swap => swap_words(&mut w, n, rng),
        Op::Delete => delete_words(&mut w, rate, rng),
        // Not a word operation: `enabled_ops` never draws it; the back-translation module
        // only names its copies with it in the report.
        Op::BackTranslation => {}
    }
    w
}

/// A random synonym of `word`, which must have one.
fn random_synonym(lex: &Lexicon, word: &str, rng: &mut ChaCha8Rng) -> String {
    lex.synonyms(word)
        .choose(rng)
        .expect("has synonyms")
        .clone()
}

/// Synonym replacement: up to `n` distinct replaceable words each become a synonym (which may
/// be a phrase), keeping a capital first letter.
fn replace_with_synonyms(w: &mut Words, n: usize, lex: &Lexicon, rng: &mut ChaCha8Rng) {
    let mut cand = w.replaceable(lex);
    cand.shuffle(rng);
    cand.truncate(n);
    // Right to left, so earlier positions stay valid when a phrase is spliced in.
    cand.sort_unstable_by(|a, b| b.cmp(a));
    for i in cand {
        let syn = random_synonym(lex, &w.words[i], rng);
        let words = match_case(&w.words[i], &syn);
        w.splice(i, 1, words);
    }
}

/// Random insertion: `n` times, a synonym of a random replaceable word goes into a random gap
/// outside any entity; stops early when no word is replaceable.
fn insert_synonyms(w: &mut Words, n: usize, lex: &Lexicon, rng: &mut ChaCha8Rng) {
    for _ in 0..n {
        let cand = w.replaceable(lex);
        let Some(&src) = cand.choose(rng) else { break };
        let syn = random_synonym(lex, &w.words[src], rng);
        let gaps = insertion_gaps(w);
        let at = *gaps.choose(rng).expect("the end is always a gap");
        w.splice(at, 0, syn.split(' ').map(str::to_string).collect());
    }
}

/// Positions where inserted words cannot land inside an entity: any gap that is not just
/// before an `I-` word, the end included.
fn insertion_gaps(w: &Words) -> Vec<usize> {
    (0..=w.len())
        .filter(|&p| p == w.len() || w.tags.as_ref().is_none_or(|t| !t[p].starts_with("I-")))
        .collect()
}

/// Random swap: `n` times, two distinct editable words trade places; stops early when fewer
/// than two are editable.
fn swap_words(w: &mut Words, n: usize, rng: &mut ChaCha8Rng) {
    for _ in 0..n {
        let cand: Vec<usize> = (0..w.len()).filter(|&i| w.editable(i)).collect();
        if cand.len() < 2 {
            break;
        }
        let pair: Vec<usize> = cand.choose_multiple(rng, 2).copied().collect();
        // Both are O words, so their tags are equal and stay put.
        w.words.swap(pair[0], pair[1]);
    }
}

/// Random deletion: each editable word goes with probability `rate`; a sentence that would
/// lose every word keeps one at random instead.
fn delete_words(w: &mut Words, rate: f64, rng: &mut ChaCha8Rng) {
    let keep: Vec<bool> = (0..w.len())
        .map(|i| !w.editable(i) || rng.random::<f64>() >= rate)
        .collect();
    if keep.iter().any(|&k| k) {
        retain_marked(&mut w.words, &keep);
        if let Some(t) = &mut w.tags {
            retain_marked(t, &keep);
        }
    } else {
        // EDA keeps one random word rather than emptying the sentence.
        let j = rng.random_range(0..w.len());
        w.words = vec![w.words[j].clone()];
        w.tags = w.tags.take().map(|t| vec![t[j].clone()]);
    }
}

/// Keeps the items whose flag in `keep` (one per item) is set.
fn retain_marked(items: &mut Vec<String>, keep: &[bool]) {
    let mut i = 0;
    items.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

#[derive(Debug, Clone, Serialize)]
pub struct AugmentReport {
    pub task: String,
    pub originals: usize,
    pub added: usize,
    /// Copies identical to their original (nothing to replace, one word), not added.
    pub unchanged: usize,
    pub by_op: BTreeMap<Op, usize>,
}

fn example_seed(seed: u64, i: usize, copy: usize) -> u64 {
    let mut h = seed ^ 0x6564_6100_0000_0000;
    for v in [i as u64, copy as u64] {
        h = (h ^ v).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 29;
    }
    h
}

/// Adds augmented copies of the training examples of the tasks named in `cfg.tasks`: to the
/// task's examples, its encodings and its train split (dev and test never see them).
pub fn augment_tasks(
    tasks: &mut [PreparedTask],
    cfg: &AugmentConfig,
    tok: &TextTokenizer,
    seed: u64,
) -> Result<Vec<AugmentReport>> {
    let originals: Vec<Vec<usize>> = tasks.iter().map(|t| t.split.train.clone()).collect();
    let mut reports = eda_tasks(tasks, cfg, tok, seed)?;
    reports.extend(super::backtranslate::backtranslate_tasks(
        tasks, cfg, tok, &originals,
    )?);
    Ok(reports)
}

/// EDA copies of every task `cfg.tasks` names.
fn eda_tasks(
    tasks: &mut [PreparedTask],
    cfg: &AugmentConfig,
    tok: &TextTokenizer,
    seed: u64,
) -> Result<Vec<AugmentReport>> {
    if cfg.tasks.is_empty() || cfg.copies == 0 {
        return Ok(vec![]);
    }
    let lex = Lexicon::load(&cfg.wordnet)?;
    let aug = Augmenter {
        ops: enabled_ops(cfg)?,
        lex: &lex,
        tok,
        copies: cfg.copies,
        seed,
    };
    tasks
        .iter_mut()
        .filter(|t| cfg.tasks.iter().any(|n| n == t.name()))
        .map(|task| augment_task(task, &aug))
        .collect()
}

/// Everything an augmented copy depends on besides the example itself.
struct Augmenter<'a> {
    /// The operations with a rate above 0, one drawn per copy.
    ops: Vec<(Op, f64)>,
    lex: &'a Lexicon,
    tok: &'a TextTokenizer,
    /// Copies attempted per training example.
    copies: usize,
    seed: u64,
}

/// The EDA operations the config enables, with their rates; an error when none is.
fn enabled_ops(cfg: &AugmentConfig) -> Result<Vec<(Op, f64)>> {
    let ops: Vec<(Op, f64)> = [
        (Op::Synonym, cfg.synonym),
        (Op::Insert, cfg.insert),
        (Op::Swap, cfg.swap),
        (Op::Delete, cfg.delete),
    ]
    .into_iter()
    .filter(|(_, r)| *r > 0.0)
    .collect();
    if ops.is_empty() {
        anyhow::bail!("augment: every operation's rate is 0");
    }
    Ok(ops)
}

/// Augments one task: `copies` attempts per original training example, each with its own
/// seeded draw of operation; copies that change nothing are counted, not added.
fn augment_task(task: &mut PreparedTask, aug: &Augmenter) -> Result<AugmentReport> {
    let mut report = AugmentReport {
        task: task.name().to_string(),
        originals: task.split.train.len(),
        added: 0,
        unchanged: 0,
        by_op: BTreeMap::new(),
    };
    let train = task.split.train.clone();
    for &i in &train {
        for copy in 0..aug.copies {
            let mut rng = ChaCha8Rng::seed_from_u64(example_seed(aug.seed, i, copy));
            let &(op, rate) = aug.ops.choose(&mut rng).expect("ops not empty");
            let Some(encoded) = add_augmented(task, i, (op, rate), aug, &mut rng)? else {
                report.unchanged += 1;
                continue;
            };
            let next = task.encoded.len();
            task.encoded.push(encoded);
            task.split.train.push(next);
            report.added += 1;
            *report.by_op.entry(op).or_default() += 1;
        }
    }
    Ok(report)
}

/// Appends an augmented copy of example `i` to the task's examples and returns its encoding,
/// or `None` (adding nothing) when the operation left the example as it was.
fn add_augmented(
    task: &mut PreparedTask,
    i: usize,
    (op, rate): (Op, f64),
    aug: &Augmenter,
    rng: &mut ChaCha8Rng,
) -> Result<Option<Encoded>> {
    let labels = &task.data.labels;
    let weight_by_confidence = task.data.config.weight_by_confidence;
    let encoded = match &mut task.data.examples {
        Examples::Sentence(v) => {
            let Some(new) = augmented_sentence(&v[i], op, rate, aug.lex, rng) else {
                return Ok(None);
            };
            let e = encode_sentence(aug.tok, &new, labels, weight_by_confidence);
            v.push(new);
            e
        }
        Examples::Token(v) => {
            let Some(new) = augmented_tokens(&v[i], op, rate, aug.lex, rng) else {
                return Ok(None);
            };
            let e = encode_tokens(aug.tok, &new, labels);
            v.push(new);
            e
        }
    };
    let encoded = encoded
        .with_context(|| format!("task {:?}: encoding an augmented example", task.name()))?;
    Ok(Some(encoded))
}

/// The sentence with `op` applied to its whitespace-separated words, or `None` when it has no
/// words or came out unchanged.
fn augmented_sentence(
    ex: &SentenceExample,
    op: Op,
    rate: f64,
    lex: &Lexicon,
    rng: &mut ChaCha8Rng,
) -> Option<SentenceExample> {
    let words = Words {
        words: ex.text.split_whitespace().map(str::to_string).collect(),
        tags: None,
    };
    if words.words.is_empty() {
        return None;
    }
    let out = eda(&words, op, rate, lex, rng);
    (out != words).then(|| SentenceExample {
        text: out.words.join(" "),
        ..ex.clone()
    })
}

/// The tagged sentence with `op` applied label-aware, or `None` when it came out unchanged.
fn augmented_tokens(
    ex: &TokenExample,
    op: Op,
    rate: f64,
    lex: &Lexicon,
    rng: &mut ChaCha8Rng,
) -> Option<TokenExample> {
    let words = Words {
        words: ex.tokens.clone(),
        tags: Some(ex.tags.clone()),
    };
    let out = eda(&words, op, rate, lex, rng);
    (out != words).then(|| TokenExample {
        tokens: out.words,
        tags: out.tags.expect("token task keeps tags"),
        line: ex.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        Lexicon::from_groups(&[
            &["great", "outstanding", "bang-up"],
            &["movie", "film", "picture show"],
            &["watched", "viewed"],
            &["love", "adore"],
        ])
    }

    fn words(s: &str, tags: Option<&str>) -> Words {
        Words {
            words: s.split(' ').map(str::to_string).collect(),
            tags: tags.map(|t| t.split(' ').map(str::to_string).collect()),
        }
    }

    /// (words, type) of each entity, in order.
    fn entities(w: &Words) -> Vec<(Vec<String>, String)> {
        let tags = w.tags.as_ref().unwrap();
        let mut out: Vec<(Vec<String>, String)> = vec![];
        for (i, t) in tags.iter().enumerate() {
            if let Some(k) = t.strip_prefix("B-") {
                out.push((vec![w.words[i].clone()], k.to_string()));
            } else if let Some(k) = t.strip_prefix("I-") {
                let last = out.last_mut().expect("I- continues an entity");
                assert_eq!(last.1, k, "I- of another type: {tags:?}");
                assert!(tags[i - 1] != "O", "I- after O: {tags:?}");
                last.0.push(w.words[i].clone());
            }
        }
        out
    }

    #[test]
    fn token_augmentation_never_touches_or_splits_entities() {
        let lex = lex();
        let base = words(
            "we watched the great movie Star Wars at AMC Lincoln Square and love it",
            Some("O O O O O B-movie I-movie O B-facility I-facility I-facility O O O"),
        );
        let want = entities(&base);
        for op in [Op::Synonym, Op::Insert, Op::Swap, Op::Delete] {
            let mut changed = 0;
            for s in 0..200 {
                let mut rng = ChaCha8Rng::seed_from_u64(s);
                let out = eda(&base, op, 0.3, &lex, &mut rng);
                assert_eq!(out.words.len(), out.tags.as_ref().unwrap().len());
                assert_eq!(entities(&out), want, "{op:?} seed {s}: {:?}", out.words);
                changed += (out != base) as usize;
            }
            assert!(changed > 150, "{op:?} changed only {changed} of 200");
        }
    }

    #[test]
    fn each_operation_does_what_its_name_says() {
        let lex = lex();
        let base = words("i love this great movie", None);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // Synonym replacement: same length (single-word synonyms aside), replaced words are
        // synonyms of the originals, stop words untouched.
        let s = eda(&base, Op::Synonym, 0.4, &lex, &mut rng);
        let replaced: Vec<(&String, &String)> = base
            .words
            .iter()
            .zip(&s.words)
            .filter(|(a, b)| a != b)
            .collect();
        assert!(!replaced.is_empty());
        for (a, b) in replaced {
            assert!(
                lex.synonyms(a).iter().any(|x| x.starts_with(b.as_str())),
                "{a} → {b}"
            );
        }
        assert_eq!(s.words[0], "i");
        // Insertion adds words, all synonyms of words in the sentence.
        let i = eda(&base, Op::Insert, 0.4, &lex, &mut rng);
        assert!(i.words.len() > base.words.len());
        // Swap keeps the multiset of words.
        let w = eda(&base, Op::Swap, 0.4, &lex, &mut rng);
        let (mut a, mut b) = (base.words.clone(), w.words.clone());
        a.sort();
        b.sort();
        assert_eq!(a, b);
        // Deletion keeps an ordered subsequence, never nothing.
        for s in 0..50 {
            let mut rng = ChaCha8Rng::seed_from_u64(s);
            let d = eda(&base, Op::Delete, 0.9, &lex, &mut rng);
            assert!(!d.words.is_empty());
            let mut it = base.words.iter();
            assert!(d.words.iter().all(|x| it.any(|y| y == x)), "{:?}", d.words);
        }
    }

    #[test]
    fn capitalisation_is_kept_on_replacement() {
        assert_eq!(match_case("Movie", "picture show"), vec!["Picture", "show"]);
        assert_eq!(match_case("movie", "film"), vec!["film"]);
    }
}
