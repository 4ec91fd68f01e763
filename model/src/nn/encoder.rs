//! The BERT encoder, written out layer by layer.
//!
//! burn's own `TransformerEncoderLayer` drops the attention weights, uses LayerNorm eps 1e-5
//! and places dropout differently from BERT, so the layer is spelled out here with burn_nn
//! parts. Every layer hands back its attention probabilities: looking inside is the point.

use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{gelu, softmax};

use crate::BertConfig;

/// Multi-head self-attention with its output projection and residual norm.
#[derive(Module, Debug)]
pub struct SelfAttention<B: Backend> {
    /// Query projection, all heads at once.
    pub query: Linear<B>,
    /// Key projection, all heads at once.
    pub key: Linear<B>,
    /// Value projection, all heads at once.
    pub value: Linear<B>,
    /// Projection of the concatenated heads back to the hidden width.
    pub output: Linear<B>,
    /// Layer norm after the residual connection.
    pub norm: LayerNorm<B>,
    /// Dropout on the attention probabilities while training.
    pub attn_dropout: Dropout,
    /// Dropout on the projected output while training.
    pub dropout: Dropout,
    /// Number of heads the projections are split into.
    pub heads: usize,
}

/// One transformer layer: self-attention, then the feed-forward block, each with residual and norm.
#[derive(Module, Debug)]
pub struct BertLayer<B: Backend> {
    /// The self-attention sublayer.
    pub attention: SelfAttention<B>,
    /// Feed-forward expansion to `intermediate_size`.
    pub intermediate: Linear<B>,
    /// Feed-forward projection back to the hidden width.
    pub output: Linear<B>,
    /// Layer norm after the feed-forward residual.
    pub norm: LayerNorm<B>,
    /// Dropout on the feed-forward output while training.
    pub dropout: Dropout,
}

/// The stack of transformer layers.
#[derive(Module, Debug)]
pub struct BertEncoder<B: Backend> {
    /// Layers, bottom first.
    pub layers: Vec<BertLayer<B>>,
}

/// Hidden states after the last layer and every layer's attention probabilities.
#[derive(Debug, Clone)]
pub struct EncoderOutput<B: Backend> {
    /// `[batch, len, hidden]`
    pub hidden: Tensor<B, 3>,
    /// One `[batch, heads, len, len]` tensor per layer, rows sum to one over unmasked keys.
    pub attentions: Vec<Tensor<B, 4>>,
}

impl BertConfig {
    /// A randomly initialised encoder of this shape (weights come from a checkpoint).
    pub fn init_encoder<B: Backend>(&self, device: &B::Device) -> BertEncoder<B> {
        let layers = (0..self.num_hidden_layers)
            .map(|_| self.init_layer(device))
            .collect();
        BertEncoder { layers }
    }

    fn init_layer<B: Backend>(&self, device: &B::Device) -> BertLayer<B> {
        let h = self.hidden_size;
        let norm = || {
            LayerNormConfig::new(h)
                .with_epsilon(self.layer_norm_eps)
                .init(device)
        };
        BertLayer {
            attention: SelfAttention {
                query: LinearConfig::new(h, h).init(device),
                key: LinearConfig::new(h, h).init(device),
                value: LinearConfig::new(h, h).init(device),
                output: LinearConfig::new(h, h).init(device),
                norm: norm(),
                attn_dropout: DropoutConfig::new(self.attention_probs_dropout_prob).init(),
                dropout: DropoutConfig::new(self.hidden_dropout_prob).init(),
                heads: self.num_attention_heads,
            },
            intermediate: LinearConfig::new(h, self.intermediate_size).init(device),
            output: LinearConfig::new(self.intermediate_size, h).init(device),
            norm: norm(),
            dropout: DropoutConfig::new(self.hidden_dropout_prob).init(),
        }
    }
}

/// What one sublayer or layer hands on: its hidden states and the attention it computed.
#[derive(Debug, Clone)]
pub struct LayerOutput<B: Backend> {
    /// `[batch, len, hidden]`
    pub hidden: Tensor<B, 3>,
    /// `[batch, heads, len, len]` attention probabilities.
    pub attention: Tensor<B, 4>,
}

impl<B: Backend> SelfAttention<B> {
    /// `pad_mask` is `[batch, len]`, true where the position is padding.
    pub fn forward(&self, x: Tensor<B, 3>, pad_mask: Tensor<B, 2, Bool>) -> LayerOutput<B> {
        let [batch, len, hidden] = x.dims();
        let head_dim = hidden / self.heads;
        let split = |t: Tensor<B, 3>| {
            t.reshape([batch, len, self.heads, head_dim])
                .swap_dims(1, 2)
        };
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x.clone()));

        let scores = q.matmul(k.swap_dims(2, 3)) / (head_dim as f64).sqrt();
        // Padded keys get -inf-like scores so they receive exactly zero probability; a
        // sentence's numbers then do not depend on what else is in its batch.
        let key_mask = pad_mask
            .reshape([batch, 1, 1, len])
            .expand([batch, self.heads, len, len]);
        let scores = scores.mask_fill(key_mask, -1.0e9);
        let probs = softmax(scores, 3);

        let context = self
            .attn_dropout
            .forward(probs.clone())
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, len, hidden]);
        let out = self.dropout.forward(self.output.forward(context));
        LayerOutput {
            hidden: self.norm.forward(out + x),
            attention: probs,
        }
    }
}

impl<B: Backend> BertLayer<B> {
    /// One layer over `x` `[batch, len, hidden]`; padding positions are never attended to.
    pub fn forward(&self, x: Tensor<B, 3>, pad_mask: Tensor<B, 2, Bool>) -> LayerOutput<B> {
        let LayerOutput { hidden, attention } = self.attention.forward(x, pad_mask);
        let ff = self
            .output
            .forward(gelu(self.intermediate.forward(hidden.clone())));
        LayerOutput {
            hidden: self.norm.forward(self.dropout.forward(ff) + hidden),
            attention,
        }
    }
}

impl<B: Backend> BertEncoder<B> {
    /// Every layer in turn, keeping each layer's attention probabilities.
    pub fn forward(&self, mut x: Tensor<B, 3>, pad_mask: Tensor<B, 2, Bool>) -> EncoderOutput<B> {
        let mut attentions = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let out = layer.forward(x, pad_mask.clone());
            x = out.hidden;
            attentions.push(out.attention);
        }
        EncoderOutput {
            hidden: x,
            attentions,
        }
    }
}
