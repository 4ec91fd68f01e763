//! What the page and the inference worker say to each other.
//!
//! Messages cross the thread boundary through gloo-worker's bincode codec, so these types
//! stay plain (no internally tagged enums, no skipped fields, no `serde_json::Value`): bincode
//! cannot decode those. That is why the manifest travels as its JSON text.
//!
//! The module needs nothing else from the page's crate, so the fuzz target for the protocol
//! (fuzz/) compiles it as it is and decodes arbitrary bytes through the same bincode.

use std::fmt;

use glassbox_model::view::attention::Attention;
use glassbox_model::{ModelError, Tokenized};
use serde::{Deserialize, Serialize};

/// How the CPU fallback is named in the backend panel.
pub const CPU_BACKEND: &str = "CPU — burn-flex in wasm (SIMD128), int8 kernels";

/// Which backend the page asks the worker for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendChoice {
    /// WebGPU on a hardware adapter, else the CPU: a software adapter (SwiftShader,
    /// llvmpipe) is slower than the page's own wasm CPU path.
    #[default]
    Auto,
    /// `?backend=cpu` or the switch: the CPU even when WebGPU is available.
    Cpu,
    /// `?backend=webgpu`: WebGPU whenever there is an adapter, software ones included.
    WebGpu,
}

impl BackendChoice {
    /// The choice a `?backend=` value names; anything else (or nothing) is [`Auto`](Self::Auto).
    pub fn from_param(v: Option<&str>) -> Self {
        match v.map(str::to_ascii_lowercase).as_deref() {
            Some("cpu") => BackendChoice::Cpu,
            Some("webgpu") => BackendChoice::WebGpu,
            _ => BackendChoice::Auto,
        }
    }

    /// What the "force the CPU" switch turns this into: the CPU when on, and when off what
    /// the address asked for unless that was the CPU itself.
    pub fn with_cpu_forced(self, on: bool) -> Self {
        match (on, self) {
            (true, _) => BackendChoice::Cpu,
            (false, BackendChoice::Cpu) => BackendChoice::Auto,
            (false, other) => other,
        }
    }
}

/// A request from the page; the `u64` beside it in the envelope pairs it with its reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Download (or read from the Cache API), verify and load the first bundle of
    /// `candidates` (absolute URLs ending in `/`) that serves a manifest, on `backend`.
    Load {
        candidates: Vec<String>,
        backend: BackendChoice,
    },
    /// Encode `texts` and run them through the model as one batch; texts seen before with
    /// the same model are answered from the worker's cache unless `fresh` (benchmarks).
    /// Only `texts[attention]` comes back with its attention maps (the page shows one
    /// sentence's; reading every sentence's back is most of a run on WebGPU); the others,
    /// and all of them when `attention` is `None` or out of range, come back without.
    Run {
        texts: Vec<String>,
        fresh: bool,
        attention: Option<usize>,
    },
    /// The sentence class of `text` with each word left out in turn, as one batch.
    Occlude { text: String },
    /// Like `Load`, into a second slot beside the model `Load` loaded (which stays): the
    /// peer a comparison runs the same sentences on. A plain `Load` drops the peer too.
    LoadPeer {
        candidates: Vec<String>,
        backend: BackendChoice,
    },
    /// Like `Run`, on the peer.
    RunPeer {
        texts: Vec<String>,
        attention: Option<usize>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    /// Bytes of the bundle read so far; sent while a `Load` is in flight, unpaired.
    Progress(Progress),
    Loaded(LoadInfo),
    Ran(RunOutput),
    Occluded(Occlusion),
    Failed(WorkerError),
}

/// Why the worker could not do what was asked. One enum instead of strings so the page can
/// tell "no model yet" from "the bundle is corrupt", and every message is phrased once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WorkerError {
    /// None of the candidate URLs served a manifest (one reason per candidate).
    NoBundle(Vec<String>),
    /// A fetch or a read of a response failed.
    Network(String),
    /// A file's SHA-256 differs from the manifest's: the bundle is refused.
    Corrupt {
        file: String,
        expected: String,
        actual: String,
    },
    /// The model crate refused the bundle or the input (bad manifest, empty text, …).
    Model(String),
    /// A `Run` or `Occlude` arrived while no model was loaded.
    NotLoaded,
    /// The worker is gone (crashed or never started).
    Gone,
    /// The worker answered with a reply of the wrong kind: a bug, not a user error.
    Protocol(String),
}

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerError::NoBundle(tried) => {
                write!(f, "no model bundle found: {}", tried.join("; "))
            }
            WorkerError::Network(e) | WorkerError::Model(e) => f.write_str(e),
            // The model crate's wording, so the page and the CLI say the same thing.
            WorkerError::Corrupt {
                file,
                expected,
                actual,
            } => write!(
                f,
                "{}",
                ModelError::HashMismatch {
                    file: file.clone(),
                    expected: expected.clone(),
                    actual: actual.clone(),
                }
            ),
            WorkerError::NotLoaded => f.write_str("no model is loaded"),
            WorkerError::Gone => f.write_str("the inference worker went away"),
            WorkerError::Protocol(what) => write!(f, "unexpected reply from the worker: {what}"),
        }
    }
}

impl std::error::Error for WorkerError {}

impl From<ModelError> for WorkerError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::HashMismatch {
                file,
                expected,
                actual,
            } => WorkerError::Corrupt {
                file,
                expected,
                actual,
            },
            other => WorkerError::Model(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    pub loaded: u64,
    /// 0 while the server has not said how large the files are.
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadInfo {
    /// Human-readable backend, e.g. "WebGPU — burn-wgpu on SwiftShader (Vulkan)".
    pub backend: String,
    /// Why WebGPU is not used, when it is not.
    pub fallback_reason: Option<String>,
    /// The bundle's URL.
    pub base: String,
    /// `manifest.json` as served (verified against the files it lists).
    pub manifest_json: String,
    /// `MODEL_CARD.md`, hash-checked like every other file, when the manifest lists one.
    pub model_card: Option<String>,
    /// SHA-256 of the weights: names the model in result caches and permalinks.
    pub model_key: String,
    /// Where the bundle's bytes came from: "network" or "browser cache (offline copy)".
    pub source: String,
    /// Why the bundle is not kept for offline use (storage quota, private mode); `None`
    /// when every file is in the browser's cache.
    pub not_kept: Option<String>,
    /// Every file of the bundle, manifest included.
    pub bytes: u64,
    /// Wall time the worker spent downloading, verifying and building the model.
    pub load_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunOutput {
    /// One entry per requested text, in order: the result or why it was not run.
    pub sentences: Vec<Result<SentenceOut, WorkerError>>,
    /// Wall time of the forward pass and its read-back (0 when every text was cached).
    pub forward_ms: f64,
    /// Set when the backend changed during this run (WebGPU device lost → CPU).
    pub backend_change: Option<String>,
    /// The worker's wasm memory after the run, in bytes (the benchmark's memory samples).
    pub worker_memory: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentenceOut {
    pub tokenized: Tokenized,
    /// Pooled, L2-normalised sentence embedding.
    pub embedding: Vec<f32>,
    pub sentence_probs: Vec<f32>,
    /// `[pieces × tags]`, softmaxed.
    pub token_probs: Vec<f32>,
    /// One per layer, quantised to bytes by the worker (a quarter of the f32 size, finer
    /// than any colour scale can show); empty when the request did not ask for this
    /// sentence's attention.
    pub attentions: Vec<Attention>,
    /// Answered from the worker's cache rather than computed.
    pub cached: bool,
}

impl SentenceOut {
    /// Whether its attention maps came back (only the sentence a request names gets them).
    pub fn has_attention(&self) -> bool {
        !self.attentions.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Occlusion {
    pub text: String,
    /// Character span of each word, in order.
    pub words: Vec<(usize, usize)>,
    pub base_probs: Vec<f32>,
    /// Sentence distribution with word i left out.
    pub dropped_probs: Vec<Vec<f32>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_mismatch_keeps_the_model_crates_wording_and_its_fields() {
        let e = WorkerError::from(ModelError::HashMismatch {
            file: "model.bpk".into(),
            expected: "aa".into(),
            actual: "bb".into(),
        });
        assert_eq!(
            e,
            WorkerError::Corrupt {
                file: "model.bpk".into(),
                expected: "aa".into(),
                actual: "bb".into()
            }
        );
        assert!(e.to_string().starts_with(
            "bundle file `model.bpk` is corrupt or was modified: SHA-256 is bb, manifest says aa"
        ));
    }

    #[test]
    fn other_model_errors_keep_their_message() {
        let e = WorkerError::from(ModelError::EmptyText {
            what: "line 2".into(),
        });
        assert!(matches!(e, WorkerError::Model(_)));
        assert!(e.to_string().contains("line 2 is empty"), "{e}");
    }

    #[test]
    fn no_bundle_names_every_candidate_tried() {
        let e = WorkerError::NoBundle(vec!["a: HTTP 404".into(), "b: HTTP 404".into()]);
        assert_eq!(
            e.to_string(),
            "no model bundle found: a: HTTP 404; b: HTTP 404"
        );
    }
}
