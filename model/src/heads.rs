//! The two task heads on top of the shared encoder. They are deliberately small (one linear
//! layer each) so that what the encoder learned stays what people look at.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct SentenceHead<B: Backend> {
    pub dropout: Dropout,
    pub classifier: Linear<B>,
}

#[derive(Module, Debug)]
pub struct TokenHead<B: Backend> {
    pub dropout: Dropout,
    pub classifier: Linear<B>,
}

impl<B: Backend> SentenceHead<B> {
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
