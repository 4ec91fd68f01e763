//! What the page and the inference worker say to each other.
//!
//! Messages cross the thread boundary through gloo-worker's bincode codec, so these types
//! stay plain (no internally tagged enums, no skipped fields): bincode cannot decode those.

use serde::{Deserialize, Serialize};

/// A request from the page; the `u64` beside it in the envelope pairs it with its reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Download, verify and load the first bundle of `candidates` (absolute URLs ending in
    /// `/`) that serves a manifest.
    Load {
        candidates: Vec<String>,
        force_cpu: bool,
    },
    /// Encode `texts` and run them through the model as one batch.
    Run { texts: Vec<String> },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    Loaded(LoadInfo),
    Ran(RunOutput),
    Failed(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadInfo {
    /// Human-readable backend, e.g. "WebGPU — burn-wgpu on SwiftShader (Vulkan)".
    pub backend: String,
    pub on_gpu: bool,
    /// Why WebGPU is not used, when it is not.
    pub fallback_reason: Option<String>,
    pub model_name: String,
    /// The bundle's URL.
    pub base: String,
    pub heads_trained: bool,
    /// Wall time the worker spent downloading, verifying and building the model.
    pub load_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunOutput {
    /// One entry per requested text, in order: the encoded result or why it was not run.
    pub sentences: Vec<Result<SentenceOut, String>>,
    /// Wall time of the forward pass and its read-back, measured in the worker.
    pub forward_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentenceOut {
    pub tokens: Vec<String>,
    /// Pooled, L2-normalised sentence embedding.
    pub embedding: Vec<f32>,
    pub sentence_probs: Vec<f32>,
    /// Set when the text was longer than the model's maximum: says what was cut.
    pub truncation: Option<String>,
}
