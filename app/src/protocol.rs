//! What the page and the inference worker say to each other.
//!
//! Messages cross the thread boundary through gloo-worker's bincode codec, so these types
//! stay plain (no internally tagged enums, no skipped fields, no `serde_json::Value`): bincode
//! cannot decode those. That is why the manifest travels as its JSON text.

use glassbox_model::Tokenized;
use serde::{Deserialize, Serialize};

/// How the CPU fallback is named in the backend panel.
pub const CPU_BACKEND: &str = "CPU — burn-flex in wasm (SIMD128)";

/// A request from the page; the `u64` beside it in the envelope pairs it with its reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Download (or read from the Cache API), verify and load the first bundle of
    /// `candidates` (absolute URLs ending in `/`) that serves a manifest.
    Load {
        candidates: Vec<String>,
        force_cpu: bool,
    },
    /// Encode `texts` and run them through the model as one batch; texts seen before with
    /// the same model are answered from the worker's cache unless `fresh` (benchmarks).
    Run { texts: Vec<String>, fresh: bool },
    /// The sentence class of `text` with each word left out in turn, as one batch.
    Occlude { text: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    /// Bytes of the bundle read so far; sent while a `Load` is in flight, unpaired.
    Progress(Progress),
    Loaded(LoadInfo),
    Ran(RunOutput),
    Occluded(Occlusion),
    Failed(String),
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    pub loaded: u64,
    /// 0 while the server has not said how large the files are.
    pub total: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadInfo {
    /// Human-readable backend, e.g. "WebGPU — burn-wgpu on SwiftShader (Vulkan)".
    pub backend: String,
    /// Why WebGPU is not used, when it is not.
    pub fallback_reason: Option<String>,
    /// The bundle's URL.
    pub base: String,
    /// `manifest.json` as served (verified against the files it lists).
    pub manifest_json: String,
    /// SHA-256 of the weights: names the model in result caches and permalinks.
    pub model_key: String,
    /// Where the bundle's bytes came from: "network" or "browser cache (offline copy)".
    pub source: String,
    pub bytes: u64,
    /// Wall time the worker spent downloading, verifying and building the model.
    pub load_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunOutput {
    /// One entry per requested text, in order: the result or why it was not run.
    pub sentences: Vec<Result<SentenceOut, String>>,
    /// Wall time of the forward pass and its read-back (0 when every text was cached).
    pub forward_ms: f64,
    /// Set when the backend changed during this run (WebGPU device lost → CPU).
    pub backend_change: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentenceOut {
    pub tokenized: Tokenized,
    /// Pooled, L2-normalised sentence embedding.
    pub embedding: Vec<f32>,
    pub sentence_probs: Vec<f32>,
    /// `[pieces × tags]`, softmaxed.
    pub token_probs: Vec<f32>,
    pub heads: usize,
    /// Per layer `[heads × n × n]`, each weight as round(p·255): a quarter of the bytes of
    /// f32 and finer than any colour scale can show.
    pub attentions: Vec<Vec<u8>>,
    /// Answered from the worker's cache rather than computed.
    pub cached: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Occlusion {
    pub text: String,
    /// Character span of each word, in order.
    pub words: Vec<(usize, usize)>,
    pub base_probs: Vec<f32>,
    /// Sentence distribution with word i left out.
    pub dropped_probs: Vec<Vec<f32>>,
}
