//! Request and response types of every route, with the examples `/openapi.json` shows.
//!
//! Requests follow text-embeddings-inference: `{"inputs": "text" | ["text", …], …options}`;
//! `/v1/embeddings` follows OpenAI. Each answer is one object per input, in input order, and
//! carries `truncated` so a cut text is visible in the response itself. `/predict`'s objects
//! are built by the CLI's own code (`glassbox predict --json`); [`Prediction`] documents them.

use std::collections::BTreeMap;

use glassbox_model::text::decode::Aggregation;
use glassbox_model::text::tokenize::Truncation;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::examples;
use super::input::Inputs;

/// `POST /predict`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"inputs": ["Justin Bieber played Madison Square Garden", "what a day"], "aggregate": "first"}))]
pub(crate) struct PredictRequest {
    pub inputs: Inputs,
    /// How a word's tag is read from its wordpieces (as `glassbox predict --aggregate`).
    #[serde(default)]
    pub aggregate: AggregateName,
}

/// A word's tag from its wordpieces: the first piece (as training scores it), the mean, or
/// the per-tag max.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AggregateName {
    #[default]
    First,
    Mean,
    Max,
}

impl From<AggregateName> for Aggregation {
    fn from(a: AggregateName) -> Self {
        match a {
            AggregateName::First => Aggregation::First,
            AggregateName::Mean => Aggregation::Mean,
            AggregateName::Max => Aggregation::Max,
        }
    }
}

/// One input's prediction: exactly the object `glassbox predict --json` prints, plus
/// `truncated`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::prediction)]
pub(crate) struct Prediction {
    pub text: String,
    pub sentence: SentenceClass,
    pub entities: Vec<EntityDoc>,
    /// Every non-special wordpiece with its most probable BIO tag.
    pub tokens: Vec<PieceTagDoc>,
    /// Present only when the text was cut to the model's maximum length.
    pub truncation: Option<TruncationNote>,
    pub truncated: bool,
}

/// The sentence class and the distribution over every class.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SentenceClass {
    pub label: String,
    pub probs: BTreeMap<String, f32>,
}

/// An entity; `text` is the characters `start..end` (Unicode scalar values) of the input.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntityDoc {
    pub text: String,
    pub label: String,
    pub start: usize,
    pub end: usize,
    /// Mean probability of the entity's word tags.
    pub score: f32,
}

/// One wordpiece and its tag.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PieceTagDoc {
    pub piece: String,
    pub start: usize,
    pub end: usize,
    pub tag: String,
    pub score: f32,
}

/// What truncation cut (`/predict` wraps it with a readable message).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TruncationNote {
    pub message: String,
    pub detail: TruncationDoc,
}

/// Wordpieces and characters kept of a text longer than the model's maximum.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"total_wordpieces": 5003, "kept_wordpieces": 256, "kept_chars": 1270, "total_chars": 24890}))]
pub(crate) struct TruncationDoc {
    pub total_wordpieces: usize,
    pub kept_wordpieces: usize,
    pub kept_chars: usize,
    pub total_chars: usize,
}

/// `POST /embed`, `POST /tokenize`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"inputs": ["Hello world!", "A man is eating food."]}))]
pub(crate) struct TextsRequest {
    pub inputs: Inputs,
}

/// One input's embedding: the object `glassbox embed --json` prints, plus `truncated`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::embedding)]
pub(crate) struct EmbeddingDoc {
    pub text: String,
    /// Wordpieces with [CLS] and [SEP].
    pub tokens: Vec<String>,
    pub truncation: Option<TruncationDoc>,
    /// L2-normalised mean-pooled sentence embedding.
    pub embedding: Vec<f32>,
    pub truncated: bool,
}

/// `POST /similarity`: text-embeddings-inference's `{"inputs": {"source_sentence",
/// "sentences"}}`; the same two fields at the top level are accepted too.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"inputs": {"source_sentence": "A man is eating food.", "sentences": ["A man is eating a piece of bread.", "The stock market fell sharply."]}}))]
pub(crate) struct SimilarityRequest {
    pub inputs: SimilarityInputs,
}

/// The sentence to compare and the sentences to compare it with.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct SimilarityInputs {
    pub source_sentence: String,
    pub sentences: Inputs,
}

impl<'de> Deserialize<'de> for SimilarityRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut v = serde_json::Value::deserialize(d)?;
        let inner = match v.get_mut("inputs") {
            Some(inputs) => inputs.take(),
            None => v,
        };
        serde_json::from_value(inner)
            .map(|inputs| SimilarityRequest { inputs })
            .map_err(serde::de::Error::custom)
    }
}

/// `POST /attention`: one layer and head (0-based) per input.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"inputs": "The cat sat on the mat.", "layer": 2, "head": 5}))]
pub(crate) struct AttentionRequest {
    pub inputs: Inputs,
    pub layer: usize,
    pub head: usize,
}

/// One input's attention: the object `glassbox attention --json` prints, plus `truncated`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::attention)]
pub(crate) struct AttentionDoc {
    pub text: String,
    pub layer: usize,
    pub head: usize,
    pub tokens: Vec<String>,
    pub truncation: Option<TruncationDoc>,
    /// `n` rows (queries) of `n` probabilities (keys), `n` = wordpieces.
    pub attention: Vec<Vec<f32>>,
    pub truncated: bool,
}

/// One input's wordpieces (`POST /tokenize`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::tokens)]
pub(crate) struct Tokens {
    pub text: String,
    pub tokens: Vec<Token>,
    #[schema(value_type = Option<TruncationDoc>)]
    pub truncation: Option<Truncation>,
    pub truncated: bool,
}

/// A wordpiece with its vocabulary id and character offsets (`(0, 0)` for special tokens).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Token {
    pub id: u32,
    pub piece: String,
    pub start: usize,
    pub end: usize,
    pub special: bool,
}

/// `POST /v1/embeddings` (OpenAI).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"input": ["Hello world!"], "model": "glassbox-minilm-tweets"}))]
pub(crate) struct OpenAiRequest {
    pub input: Inputs,
    /// Accepted for compatibility; the server answers with the model it serves.
    #[serde(default)]
    #[allow(dead_code)] // read by serde and documented, not used
    pub model: Option<String>,
    /// Only `float` is supported.
    #[serde(default)]
    #[schema(value_type = Option<EncodingFormat>)]
    pub encoding_format: Option<String>,
    /// Accepted for compatibility and ignored (never logged).
    #[serde(default)]
    #[allow(dead_code)] // read by serde and documented, not used
    pub user: Option<String>,
}

/// `encoding_format` values: only `float` (OpenAI's `base64` is refused with 422).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documents the accepted values; requests keep the raw string
pub(crate) enum EncodingFormat {
    Float,
}

/// OpenAI's embeddings list.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::openai)]
pub(crate) struct OpenAiResponse {
    pub object: &'static str,
    pub data: Vec<OpenAiEmbedding>,
    pub model: String,
    pub usage: OpenAiUsage,
}

/// One input's embedding in OpenAI's shape (`truncated` is glassbox's addition).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OpenAiEmbedding {
    pub object: &'static str,
    pub index: usize,
    pub embedding: Vec<f32>,
    pub truncated: bool,
}

/// Wordpieces the inputs took ([CLS]/[SEP] included).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OpenAiUsage {
    pub prompt_tokens: usize,
    pub total_tokens: usize,
}

/// `GET /info`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = examples::info)]
pub(crate) struct Info {
    pub model_name: String,
    pub model_version: String,
    /// The version this model was fine-tuned from (absent: a pretrained checkpoint, or a
    /// bundle from before versions were tracked).
    pub parent_version: Option<String>,
    /// Git commit of the code that trained it (`-dirty`: with uncommitted changes).
    pub code_commit: Option<String>,
    /// The registry alias being served (`--registry`), e.g. `champion`.
    pub registry_alias: Option<String>,
    /// SHA-256 of `manifest.json`, which lists the SHA-256 of every other bundle file.
    pub manifest_sha256: String,
    pub quantization: String,
    pub heads_trained: bool,
    pub sentence_labels: Vec<String>,
    pub token_labels: Vec<String>,
    /// Wordpieces (with [CLS]/[SEP]) the model reads; longer texts are truncated.
    pub max_input_length: usize,
    pub kernels: String,
    pub backend: String,
    pub attention_enabled: bool,
    pub max_batch_tokens: usize,
    pub max_batch_requests: usize,
    pub max_concurrent_requests: usize,
    pub max_client_batch_size: usize,
    pub cache_bytes: u64,
    pub glassbox_version: String,
}

/// `GET /health`, `GET /ready`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ready"}))]
pub(crate) struct Status {
    /// `ok` (alive) or `ready` (model loaded and warmed).
    pub status: &'static str,
}

/// `POST /admin/reload`; an empty body (or no `bundle`) re-reads the bundle being served, or
/// with `--registry` the bundle its alias points at now.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"bundle": "public/models/default"}))]
pub(crate) struct ReloadRequest {
    /// A bundle directory on the server's filesystem.
    #[serde(default)]
    pub bundle: Option<String>,
}

/// What a reload swapped in.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::reloaded)]
pub(crate) struct ReloadResponse {
    /// `reloaded`.
    pub status: &'static str,
    pub bundle: String,
    pub model_name: String,
    pub model_version: String,
    /// The new bundle's manifest hash (what `/info` shows from now on).
    pub manifest_sha256: String,
    pub previous_manifest_sha256: String,
    /// Time to check, load and warm the new bundle.
    pub seconds: f64,
}
