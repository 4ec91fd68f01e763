//! The two task heads on top of the shared encoder. They are deliberately small (one linear
//! layer each) so that what the encoder learned stays what people look at.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;

/// Sentence classification: a linear layer over the pooled embedding.
#[derive(Module, Debug)]
pub struct SentenceHead<B: Backend> {
    /// Dropout in front of the classifier while training.
    pub dropout: Dropout,
    /// Pooled embedding to class logits.
    pub classifier: Linear<B>,
}

/// Token classification (NER): a linear layer over every hidden state.
#[derive(Module, Debug)]
pub struct TokenHead<B: Backend> {
    /// Dropout in front of the classifier while training.
    pub dropout: Dropout,
    /// Hidden state to BIO tag logits.
    pub classifier: Linear<B>,
}

impl<B: Backend> SentenceHead<B> {
    /// A randomly initialised head over `hidden`-wide embeddings with `classes` outputs.
    pub fn new(hidden: usize, classes: usize, dropout: f64, device: &B::Device) -> Self {
        Self {
            dropout: DropoutConfig::new(dropout).init(),
            classifier: LinearConfig::new(hidden, classes).init(device),
        }
    }

    /// `pooled` `[batch, hidden]` (mean-pooled, not normalised) → logits `[batch, classes]`.
    pub fn forward(&self, pooled: Tensor<B, 2>) -> Tensor<B, 2> {
        self.classifier.forward(self.dropout.forward(pooled))
    }
}

impl<B: Backend> TokenHead<B> {
    /// A randomly initialised head over `hidden`-wide states with `tags` outputs.
    pub fn new(hidden: usize, tags: usize, dropout: f64, device: &B::Device) -> Self {
        Self {
            dropout: DropoutConfig::new(dropout).init(),
            classifier: LinearConfig::new(hidden, tags).init(device),
        }
    }

    /// `hidden` `[batch, len, hidden]` → tag logits `[batch, len, tags]`.
    pub fn forward(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        self.classifier.forward(self.dropout.forward(hidden))
    }
}
