//! The BERT encoder, written out layer by layer.
//!
//! burn's own `TransformerEncoderLayer` drops the attention weights, uses LayerNorm eps 1e-5
//! and places dropout differently from BERT, so the layer is spelled out here with burn_nn
//! parts. Every layer hands back its attention probabilities: looking inside is the point.

use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::nn::projection::Projector;
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
    /// `key_bias` is `[batch, 1, 1, len]`: 0 on real keys, a large negative number on padding
    /// (see [`key_bias`]); `at` computes the projections of this layer.
    pub fn forward<P: Projector<B>>(
        &self,
        x: Tensor<B, 3>,
        key_bias: Tensor<B, 4>,
        at: At<'_, P>,
    ) -> LayerOutput<B> {
        let [batch, len, hidden] = x.dims();
        let head_dim = hidden / self.heads;
        let split = |t: Tensor<B, 3>| {
            t.reshape([batch, len, self.heads, head_dim])
                .swap_dims(1, 2)
        };
        // Scaling q (len × head_dim) rather than the scores (len × len) is the cheaper pass
        // once sentences are longer than a head is wide (32 wordpieces for MiniLM).
        let [q, k, v] = at.projector.qkv(at.layer, self, x.clone());
        let (q, k, v) = (split(q / (head_dim as f64).sqrt()), split(k), split(v));

        let probs = softmax(q.matmul(k.swap_dims(2, 3)) + key_bias, 3);
        let context = self
            .attn_dropout
            .forward(probs.clone())
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, len, hidden]);
        let out = self
            .dropout
            .forward(at.projector.attention_out(at.layer, &self.output, context));
        LayerOutput {
            hidden: self.norm.forward(out + x),
            attention: probs,
        }
    }
}

/// What padding adds to the attention scores, built once per forward for every layer:
/// `[batch, 1, 1, len]`, 0 on real keys and -1e9 on padded ones. After softmax a padded key
/// gets exactly zero probability (exp underflows), so a sentence's numbers do not depend on
/// what else is in its batch.
pub fn key_bias<B: Backend>(pad_mask: Tensor<B, 2, Bool>) -> Tensor<B, 4> {
    let [batch, len] = pad_mask.dims();
    pad_mask
        .float()
        .mul_scalar(-1.0e9)
        .reshape([batch, 1, 1, len])
}

impl<B: Backend> BertLayer<B> {
    /// One layer over `x` `[batch, len, hidden]`; padding positions (by [`key_bias`]) are
    /// never attended to.
    pub fn forward<P: Projector<B>>(
        &self,
        x: Tensor<B, 3>,
        key_bias: Tensor<B, 4>,
        at: At<'_, P>,
    ) -> LayerOutput<B> {
        let LayerOutput { hidden, attention } = self.attention.forward(x, key_bias, at);
        let ff = at.projector.feed_forward(at.layer, self, hidden.clone());
        LayerOutput {
            hidden: self.norm.forward(self.dropout.forward(ff) + hidden),
            attention,
        }
    }
}

impl<B: Backend> BertEncoder<B> {
    /// Every layer in turn, keeping each layer's attention probabilities; `projector`
    /// computes the linear layers ([`crate::nn::projection::Dense`] is burn's own).
    pub fn forward<P: Projector<B>>(
        &self,
        mut x: Tensor<B, 3>,
        pad_mask: Tensor<B, 2, Bool>,
        projector: &P,
    ) -> EncoderOutput<B> {
        let mut attentions = Vec::with_capacity(self.layers.len());
        let bias = key_bias(pad_mask);
        for (layer, l) in self.layers.iter().enumerate() {
            let out = l.forward(x, bias.clone(), At { layer, projector });
            x = out.hidden;
            attentions.push(out.attention);
        }
        EncoderOutput {
            hidden: x,
            attentions,
        }
    }
}

/// A projector pointed at one layer: what a layer needs to compute its linear projections.
#[derive(Debug)]
pub struct At<'a, P> {
    /// 0-based layer index.
    pub layer: usize,
    /// The kernels chosen for the forward pass.
    pub projector: &'a P,
}

impl<P> Clone for At<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for At<'_, P> {}
