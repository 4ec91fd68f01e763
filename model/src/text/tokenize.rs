//! Tokenisation with the checkpoint's own `tokenizer.json`, keeping the wordpiece ↔ word ↔
//! character alignment the NER head and the attention views need.
//!
//! MiniLM's `tokenizer.json` ships with padding to 128 switched on; glassbox pads per batch
//! itself (with a mask), so tokenizer padding and truncation are switched off and truncation
//! is done here, where it can be reported instead of happening silently.

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::ModelError;

/// A wordpiece tokenizer that truncates to the model's length and says when it did.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    max_len: usize,
    sep_id: u32,
    pad_id: u32,
}

/// What truncation cut, so every caller can show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truncation {
    /// Wordpieces (with `[CLS]`/`[SEP]`) the full text would have needed.
    pub total_wordpieces: usize,
    /// Wordpieces kept, equal to the model's maximum.
    pub kept_wordpieces: usize,
    /// Characters of the text that reached the model; the rest was cut.
    pub kept_chars: usize,
    /// Characters of the whole text.
    pub total_chars: usize,
}

/// One text, encoded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tokenized {
    /// The text as given.
    pub text: String,
    /// Wordpiece ids, `[CLS]` and `[SEP]` included.
    pub ids: Vec<u32>,
    /// Wordpieces as the vocabulary spells them.
    pub tokens: Vec<String>,
    /// Character (Unicode scalar) offsets into `text`; special tokens have `(0, 0)`.
    pub offsets: Vec<(usize, usize)>,
    /// Index of the word each wordpiece belongs to; `None` for special tokens.
    pub word_ids: Vec<Option<u32>>,
    /// True for `[CLS]`, `[SEP]` and other special tokens.
    pub special: Vec<bool>,
    /// Set when the text did not fit and was cut.
    pub truncation: Option<Truncation>,
}

/// Padded ids and mask for a batch, ready for [`crate::Glassbox::forward`].
pub struct Batch<B: Backend> {
    /// `[batch, len]` wordpiece ids, padded with the pad id.
    pub input_ids: Tensor<B, 2, Int>,
    /// True on padding positions.
    pub pad_mask: Tensor<B, 2, Bool>,
    /// Real length of each row.
    pub lengths: Vec<usize>,
}

impl TextTokenizer {
    /// `max_len` is the longest input (special tokens included) the model will see.
    pub fn from_bytes(bytes: &[u8], max_len: usize) -> Result<Self, ModelError> {
        // wasm has no threads for rayon to use; ask tokenizers not to try.
        #[cfg(target_arch = "wasm32")]
        tokenizers::utils::parallelism::set_parallelism(false);
        let mut inner =
            Tokenizer::from_bytes(bytes).map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let id = |t: &str| {
            inner
                .token_to_id(t)
                .ok_or_else(|| ModelError::Tokenizer(format!("vocabulary has no `{t}` token")))
        };
        let sep_id = id("[SEP]")?;
        let pad_id = id("[PAD]")?;
        if max_len < 3 {
            return Err(ModelError::Tokenizer(format!(
                "max_len {max_len} leaves no room for text between [CLS] and [SEP]"
            )));
        }
        Ok(Self {
            inner,
            max_len,
            sep_id,
            pad_id,
        })
    }

    /// Longest encoding produced, special tokens included.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Id used to pad a batch to its longest row.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Encodes one text. Empty or whitespace-only text is an error, not a silent `[CLS]``[SEP]`.
    pub fn encode(&self, text: &str) -> Result<Tokenized, ModelError> {
        let enc = self
            .inner
            .encode_char_offsets(text, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let special: Vec<bool> = enc
            .get_special_tokens_mask()
            .iter()
            .map(|&m| m == 1)
            .collect();
        if special.iter().all(|&s| s) {
            return Err(ModelError::EmptyText {
                what: "the text".into(),
            });
        }
        let mut t = Tokenized {
            text: text.to_string(),
            ids: enc.get_ids().to_vec(),
            tokens: enc.get_tokens().to_vec(),
            offsets: enc.get_offsets().to_vec(),
            word_ids: enc.get_word_ids().to_vec(),
            special,
            truncation: None,
        };
        if t.ids.len() > self.max_len {
            let total = t.ids.len();
            let keep = self.max_len - 1;
            t.ids.truncate(keep);
            t.tokens.truncate(keep);
            t.offsets.truncate(keep);
            t.word_ids.truncate(keep);
            t.special.truncate(keep);
            t.ids.push(self.sep_id);
            t.tokens.push("[SEP]".into());
            t.offsets.push((0, 0));
            t.word_ids.push(None);
            t.special.push(true);
            let kept_chars = t
                .offsets
                .iter()
                .zip(&t.special)
                .filter(|(_, &s)| !s)
                .map(|(o, _)| o.1)
                .max()
                .unwrap_or(0);
            t.truncation = Some(Truncation {
                total_wordpieces: total,
                kept_wordpieces: self.max_len,
                kept_chars,
                total_chars: text.chars().count(),
            });
        }
        Ok(t)
    }

    /// Pads a batch to its longest member and builds the padding mask.
    pub fn batch<B: Backend>(&self, items: &[Tokenized], device: &B::Device) -> Batch<B> {
        let ids: Vec<&[u32]> = items.iter().map(|t| t.ids.as_slice()).collect();
        pad_batch(&ids, self.pad_id, device)
    }
}

/// Pads id sequences to the longest one with `pad_id` and marks the padding; shared by
/// inference (tokenised texts) and training (pre-encoded examples).
pub fn pad_batch<B: Backend>(rows: &[&[u32]], pad_id: u32, device: &B::Device) -> Batch<B> {
    let len = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(rows.len() * len);
    let mut mask = Vec::with_capacity(rows.len() * len);
    for r in rows {
        for i in 0..len {
            let real = i < r.len();
            ids.push(if real { r[i] as i64 } else { pad_id as i64 });
            mask.push(!real);
        }
    }
    let shape = [rows.len(), len];
    Batch {
        input_ids: Tensor::from_data(TensorData::new(ids, shape), device),
        pad_mask: Tensor::from_data(TensorData::new(mask, shape), device),
        lengths: rows.iter().map(|r| r.len()).collect(),
    }
}

impl Truncation {
    /// One sentence a user can read: what was cut and how much was kept.
    pub fn message(&self) -> String {
        format!(
            "text was truncated to the model's maximum of {} wordpieces: {} of {} wordpieces and {} of {} characters were used",
            self.kept_wordpieces,
            self.kept_wordpieces,
            self.total_wordpieces,
            self.kept_chars,
            self.total_chars
        )
    }
}
