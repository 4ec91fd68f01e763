//! BERT input embeddings: word + absolute position + token type, then LayerNorm.

use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::prelude::*;

use crate::BertConfig;

/// Word, position and segment embeddings summed, then normalised: the encoder's input.
#[derive(Module, Debug)]
pub struct BertEmbeddings<B: Backend> {
    /// One row per wordpiece of the vocabulary.
    pub word_embeddings: Embedding<B>,
    /// One row per position up to `max_position_embeddings`.
    pub position_embeddings: Embedding<B>,
    /// One row per segment; only segment 0 is used.
    pub token_type_embeddings: Embedding<B>,
    /// Layer norm over the summed embeddings.
    pub norm: LayerNorm<B>,
    /// Dropout after the norm while training.
    pub dropout: Dropout,
}

impl BertConfig {
    /// A randomly initialised embedding block of this shape (weights come from a checkpoint).
    pub fn init_embeddings<B: Backend>(&self, device: &B::Device) -> BertEmbeddings<B> {
        BertEmbeddings {
            word_embeddings: EmbeddingConfig::new(self.vocab_size, self.hidden_size).init(device),
            position_embeddings: EmbeddingConfig::new(
                self.max_position_embeddings,
                self.hidden_size,
            )
            .init(device),
            token_type_embeddings: EmbeddingConfig::new(self.type_vocab_size, self.hidden_size)
                .init(device),
            norm: LayerNormConfig::new(self.hidden_size)
                .with_epsilon(self.layer_norm_eps)
                .init(device),
            dropout: DropoutConfig::new(self.hidden_dropout_prob).init(),
        }
    }
}

impl<B: Backend> BertEmbeddings<B> {
    /// `input_ids` is `[batch, len]`; every sentence uses token type 0 (single-segment input).
    pub fn forward(&self, input_ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [batch, len] = input_ids.dims();
        let device = input_ids.device();
        let positions = Tensor::<B, 1, Int>::arange(0..len as i64, &device)
            .reshape([1, len])
            .expand([batch, len]);
        let types = Tensor::<B, 2, Int>::zeros([batch, len], &device);
        let x = self.word_embeddings.forward(input_ids)
            + self.position_embeddings.forward(positions)
            + self.token_type_embeddings.forward(types);
        self.dropout.forward(self.norm.forward(x))
    }
}
