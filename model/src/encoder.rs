//! The BERT encoder, written out layer by layer.
//!
//! burn's own `TransformerEncoderLayer` drops the attention weights, uses LayerNorm eps 1e-5
//! and places dropout differently from BERT, so the layer is spelled out here with burn_nn
//! parts. Every layer hands back its attention probabilities: looking inside is the point.

use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{gelu, softmax};

use crate::BertConfig;

#[derive(Module, Debug)]
pub struct SelfAttention<B: Backend> {
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    pub output: Linear<B>,
    pub norm: LayerNorm<B>,
    pub attn_dropout: Dropout,
    pub dropout: Dropout,
    pub heads: usize,
}

#[derive(Module, Debug)]
pub struct BertLayer<B: Backend> {
    pub attention: SelfAttention<B>,
    pub intermediate: Linear<B>,
    pub output: Linear<B>,
    pub norm: LayerNorm<B>,
    pub dropout: Dropout,
}

#[derive(Module, Debug)]
pub struct BertEncoder<B: Backend> {
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

impl<B: Backend> SelfAttention<B> {
    /// `pad_mask` is `[batch, len]`, true where the position is padding.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        pad_mask: Tensor<B, 2, Bool>,
    ) -> (Tensor<B, 3>, Tensor<B, 4>) {
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
        (self.norm.forward(out + x), probs)
    }
}

impl<B: Backend> BertLayer<B> {
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        pad_mask: Tensor<B, 2, Bool>,
    ) -> (Tensor<B, 3>, Tensor<B, 4>) {
        let (x, probs) = self.attention.forward(x, pad_mask);
        let ff = self
            .output
            .forward(gelu(self.intermediate.forward(x.clone())));
        let x = self.norm.forward(self.dropout.forward(ff) + x);
        (x, probs)
    }
}

impl<B: Backend> BertEncoder<B> {
    pub fn forward(&self, mut x: Tensor<B, 3>, pad_mask: Tensor<B, 2, Bool>) -> EncoderOutput<B> {
        let mut attentions = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let (next, probs) = layer.forward(x, pad_mask.clone());
            x = next;
            attentions.push(probs);
        }
        EncoderOutput {
            hidden: x,
            attentions,
        }
    }
}
