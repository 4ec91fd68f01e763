//! The glassbox model: encoder + sentence head + token head, one forward pass for all.

use burn::prelude::*;

use crate::embeddings::BertEmbeddings;
use crate::encoder::BertEncoder;
use crate::heads::{SentenceHead, TokenHead};
use crate::pooling::{l2_normalize, masked_mean};
use crate::GlassboxConfig;

#[derive(Module, Debug)]
pub struct Glassbox<B: Backend> {
    pub embeddings: BertEmbeddings<B>,
    pub encoder: BertEncoder<B>,
    pub sentence_head: SentenceHead<B>,
    pub token_head: TokenHead<B>,
}

/// Everything one forward pass exposes.
#[derive(Debug, Clone)]
pub struct GlassboxOutput<B: Backend> {
    /// `[batch, len, hidden]` last-layer hidden states.
    pub hidden: Tensor<B, 3>,
    /// Per layer `[batch, heads, len, len]`.
    pub attentions: Vec<Tensor<B, 4>>,
    /// `[batch, hidden]` L2-normalised sentence embedding.
    pub embedding: Tensor<B, 2>,
    /// `[batch, sentence classes]`
    pub sentence_logits: Tensor<B, 2>,
    /// `[batch, len, token tags]`
    pub token_logits: Tensor<B, 3>,
}

impl GlassboxConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Glassbox<B> {
        let h = self.bert.hidden_size;
        Glassbox {
            embeddings: self.bert.init_embeddings(device),
            encoder: self.bert.init_encoder(device),
            sentence_head: SentenceHead::new(h, self.sentence_labels.len(), self.head_dropout, device),
            token_head: TokenHead::new(h, self.token_labels.len(), self.head_dropout, device),
        }
    }
}

impl<B: Backend> Glassbox<B> {
    /// `input_ids` `[batch, len]`; `pad_mask` `[batch, len]` true on padding positions.
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        pad_mask: Tensor<B, 2, Bool>,
    ) -> GlassboxOutput<B> {
        let x = self.embeddings.forward(input_ids);
        let enc = self.encoder.forward(x, pad_mask.clone());
        let pooled = masked_mean(enc.hidden.clone(), pad_mask);
        GlassboxOutput {
            embedding: l2_normalize(pooled.clone()),
            sentence_logits: self.sentence_head.forward(pooled),
            token_logits: self.token_head.forward(enc.hidden.clone()),
            hidden: enc.hidden,
            attentions: enc.attentions,
        }
    }
}

impl<B: Backend> Glassbox<B> {
    /// Tokenised texts in, outputs and the padded batch (for its lengths) out.
    pub fn forward_texts(
        &self,
        tokenizer: &crate::TextTokenizer,
        items: &[crate::Tokenized],
        device: &B::Device,
    ) -> GlassboxOutput<B> {
        let batch = tokenizer.batch::<B>(items, device);
        self.forward(batch.input_ids, batch.pad_mask)
    }
}
