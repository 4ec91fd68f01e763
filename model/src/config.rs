//! Architecture configs. `BertConfig` is read from a Hugging Face `config.json` so any
//! BERT-family checkpoint with the same layout can be dropped in.

use burn::config::Config;
use serde::Deserialize;

use crate::ModelError;

/// The encoder's shape, as a BERT checkpoint's `config.json` states it.
#[derive(Config, Debug, PartialEq)]
pub struct BertConfig {
    /// Wordpieces in the vocabulary (rows of the word embedding table).
    pub vocab_size: usize,
    /// Width of every hidden state and embedding.
    pub hidden_size: usize,
    /// Transformer layers stacked in the encoder.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; `hidden_size` must divide evenly among them.
    pub num_attention_heads: usize,
    /// Width of each layer's feed-forward block.
    pub intermediate_size: usize,
    /// Longest input the position embeddings cover.
    pub max_position_embeddings: usize,
    /// Segment (token type) embeddings; glassbox feeds segment 0 only.
    pub type_vocab_size: usize,
    /// Epsilon of every layer norm.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// Dropout on embeddings and sublayer outputs while training.
    #[config(default = 0.1)]
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities while training.
    #[config(default = 0.1)]
    pub attention_probs_dropout_prob: f64,
    /// Token id used for padding; its embedding row is never looked at because of the mask.
    #[config(default = 0)]
    pub pad_token_id: usize,
}

/// The subset of a Hugging Face BERT `config.json` glassbox reads.
#[derive(Deserialize)]
struct HfBertConfig {
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default = "default_act")]
    hidden_act: String,
    #[serde(default = "default_dropout")]
    hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    attention_probs_dropout_prob: f64,
    #[serde(default)]
    pad_token_id: usize,
    #[serde(default = "default_pos_type")]
    position_embedding_type: String,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}
fn default_dropout() -> f64 {
    0.1
}
fn default_pos_type() -> String {
    "absolute".into()
}

impl BertConfig {
    /// Parses an HF `config.json`, refusing settings this implementation would silently get wrong.
    pub fn from_hf_json(bytes: &[u8]) -> Result<Self, ModelError> {
        let hf: HfBertConfig =
            serde_json::from_slice(bytes).map_err(|e| ModelError::Config(e.to_string()))?;
        if let Some(t) = &hf.model_type {
            if t != "bert" {
                return Err(ModelError::Config(format!(
                    "model_type is `{t}`, only `bert` is supported"
                )));
            }
        }
        if hf.hidden_act != "gelu" {
            return Err(ModelError::Config(format!(
                "hidden_act is `{}`, only exact (erf) `gelu` is implemented",
                hf.hidden_act
            )));
        }
        if hf.position_embedding_type != "absolute" {
            return Err(ModelError::Config(format!(
                "position_embedding_type is `{}`, only `absolute` is implemented",
                hf.position_embedding_type
            )));
        }
        if hf.num_attention_heads == 0 || !hf.hidden_size.is_multiple_of(hf.num_attention_heads) {
            return Err(ModelError::Config(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                hf.hidden_size, hf.num_attention_heads
            )));
        }
        Ok(BertConfig {
            vocab_size: hf.vocab_size,
            hidden_size: hf.hidden_size,
            num_hidden_layers: hf.num_hidden_layers,
            num_attention_heads: hf.num_attention_heads,
            intermediate_size: hf.intermediate_size,
            max_position_embeddings: hf.max_position_embeddings,
            type_vocab_size: hf.type_vocab_size,
            layer_norm_eps: hf.layer_norm_eps,
            hidden_dropout_prob: hf.hidden_dropout_prob,
            attention_probs_dropout_prob: hf.attention_probs_dropout_prob,
            pad_token_id: hf.pad_token_id,
        })
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// The whole model: encoder plus the two heads and their label sets.
#[derive(Config, Debug, PartialEq)]
pub struct GlassboxConfig {
    /// The encoder's shape.
    pub bert: BertConfig,
    /// Classes of the sentence head, in logit order.
    pub sentence_labels: Vec<String>,
    /// BIO tags of the token head, in logit order (`O` first by convention).
    pub token_labels: Vec<String>,
    /// Dropout in front of both heads while training.
    #[config(default = 0.1)]
    pub head_dropout: f64,
}

impl GlassboxConfig {
    /// Classes of the default sentence task (tweet sentiment).
    pub fn default_sentence_labels() -> Vec<String> {
        ["negative", "neutral", "positive"]
            .map(String::from)
            .to_vec()
    }

    /// BIO tags of the default token task (WNUT-16's ten entity types), `O` first.
    pub fn default_token_labels() -> Vec<String> {
        let types = [
            "person",
            "geo-loc",
            "company",
            "facility",
            "product",
            "musicartist",
            "movie",
            "sportsteam",
            "tvshow",
            "other",
        ];
        crate::text::labels::bio_tags(&types)
    }

    /// The default tasks (tweet sentiment, WNUT-16 entities) on top of a given encoder.
    pub fn default_tasks(bert: BertConfig) -> Self {
        GlassboxConfig::new(
            bert,
            Self::default_sentence_labels(),
            Self::default_token_labels(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{"architectures":["BertModel"],"attention_probs_dropout_prob":0.1,
      "hidden_act":"gelu","hidden_dropout_prob":0.1,"hidden_size":384,"initializer_range":0.02,
      "intermediate_size":1536,"layer_norm_eps":1e-12,"max_position_embeddings":512,
      "model_type":"bert","num_attention_heads":12,"num_hidden_layers":6,"pad_token_id":0,
      "position_embedding_type":"absolute","type_vocab_size":2,"vocab_size":30522}"#;

    #[test]
    fn reads_minilm_config() {
        let c = BertConfig::from_hf_json(MINILM.as_bytes()).unwrap();
        assert_eq!(c.hidden_size, 384);
        assert_eq!(c.num_hidden_layers, 6);
        assert_eq!(c.head_dim(), 32);
        assert_eq!(c.layer_norm_eps, 1e-12);
    }

    #[test]
    fn refuses_unsupported_activation() {
        let json = MINILM.replace("\"gelu\"", "\"relu\"");
        let err = BertConfig::from_hf_json(json.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("relu"), "{err}");
    }

    #[test]
    fn default_tasks_have_bio_tags() {
        let c = GlassboxConfig::default_tasks(BertConfig::from_hf_json(MINILM.as_bytes()).unwrap());
        assert_eq!(c.token_labels.len(), 21);
        assert_eq!(c.token_labels[0], "O");
        assert!(c.token_labels.contains(&"I-tvshow".to_string()));
    }
}
