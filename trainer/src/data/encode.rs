//! Turning examples into wordpiece ids and per-piece targets.
//!
//! Token tasks come as words with one tag each. Every wordpiece of a word is trained: the
//! first piece carries the word's tag and continuation pieces carry `I-type` (or `O`), so the
//! page can colour every piece it shows. Scoring is per word, from the word's first piece,
//! as seqeval scores word-level tags.

use anyhow::{anyhow, Result};
use glassbox_model::text::labels::Tag;
use glassbox_model::TextTokenizer;

use super::conll::TokenExample;
use super::sentence::SentenceExample;

/// Ignored position in a token target (special tokens).
pub const IGNORE: i64 = -1;

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Class(usize),
    /// One tag index per wordpiece, [`IGNORE`] on [CLS]/[SEP].
    Tags(Vec<i64>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub target: Target,
    pub weight: f32,
    /// Token tasks: the first wordpiece of each word, `None` where truncation cut the word
    /// (its prediction is then `O`, which scores as a miss).
    pub first_piece: Vec<Option<usize>>,
    pub truncated: bool,
}

fn index_of(labels: &[String], label: &str) -> Option<usize> {
    labels.iter().position(|l| l == label)
}

pub fn encode_sentence(
    tok: &TextTokenizer,
    ex: &SentenceExample,
    labels: &[String],
    weight_by_confidence: bool,
) -> Result<Encoded> {
    let t = tok
        .encode(&ex.text)
        .map_err(|e| anyhow!("line {}: {e}", ex.line))?;
    let class = index_of(labels, &ex.label)
        .ok_or_else(|| anyhow!("line {}: unknown label {:?}", ex.line, ex.label))?;
    let weight = if weight_by_confidence {
        ex.confidence.unwrap_or(1.0) as f32
    } else {
        1.0
    };
    Ok(Encoded {
        truncated: t.truncation.is_some(),
        ids: t.ids,
        target: Target::Class(class),
        weight,
        first_piece: vec![],
    })
}

/// The text a token example is shown and tokenised as, and each word's first character.
pub fn join_words(words: &[String]) -> (String, Vec<usize>) {
    let mut text = String::new();
    let mut starts = Vec::with_capacity(words.len());
    let mut pos = 0;
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            text.push(' ');
            pos += 1;
        }
        starts.push(pos);
        text.push_str(w);
        pos += w.chars().count();
    }
    (text, starts)
}

pub fn encode_tokens(tok: &TextTokenizer, ex: &TokenExample, tags: &[String]) -> Result<Encoded> {
    let (text, starts) = join_words(&ex.tokens);
    let t = tok
        .encode(&text)
        .map_err(|e| anyhow!("line {}: {e}", ex.line))?;
    let tag_id = |tag: &str| {
        index_of(tags, tag)
            .map(|i| i as i64)
            .ok_or_else(|| anyhow!("line {}: tag {tag:?} is not in the label set", ex.line))
    };
    let mut first_piece = vec![None; ex.tokens.len()];
    let mut target = Vec::with_capacity(t.ids.len());
    for (p, &(start, _)) in t.offsets.iter().enumerate() {
        if t.special[p] {
            target.push(IGNORE);
            continue;
        }
        let w = starts.partition_point(|&s| s <= start).saturating_sub(1);
        let tag = &ex.tags[w];
        if first_piece[w].is_none() {
            first_piece[w] = Some(p);
            target.push(tag_id(tag)?);
        } else {
            target.push(tag_id(&Tag::parse(tag).continuation())?);
        }
    }
    Ok(Encoded {
        truncated: t.truncation.is_some(),
        ids: t.ids,
        target: Target::Tags(target),
        weight: 1.0,
        first_piece,
    })
}

/// Word-level tags from per-piece predictions (argmax indices).
pub fn word_tags(
    first_piece: &[Option<usize>],
    piece_pred: &[usize],
    tags: &[String],
) -> Vec<String> {
    first_piece
        .iter()
        .map(|p| match p {
            Some(p) => tags[piece_pred[*p]].clone(),
            None => "O".to_string(),
        })
        .collect()
}
