//! The one glassbox model.
//!
//! Everything that decides what the model computes lives here, generic over burn's
//! [`Backend`](burn::tensor::backend::Backend), so the native trainer, the server and the wasm
//! page run the very same code. The crate does no file or network I/O: callers hand it bytes.
//!
//! A sentence goes through these steps, and the folders follow them:
//!
//! 1. **Weights in** ([`weights`]): a Hugging Face checkpoint (safetensors, keys rewritten to
//!    this crate's tree) or a glassbox bundle (Burnpack weights, every file checked against the
//!    manifest's SHA-256), int8 block quantization for small downloads.
//! 2. **Text in** ([`text`]): the checkpoint's own tokenizer with wordpiece ↔ word ↔ character
//!    alignment, truncation stated, per-batch padding with a mask ([`pad_batch`]); the BIO
//!    label helpers used by every caller.
//! 3. **Forward** ([`nn`]): BERT embeddings → encoder layers written out so every layer hands
//!    back its attention → masked mean pooling → sentence head and token head, one pass.
//! 4. **Read back** ([`view`]): output tensors into flat per-batch data ([`fn@view::read`]
//!    natively, [`view::read_async`] on WebGPU), sliced per sentence; explanations (rollout,
//!    occlusion, PCA) as pure functions.
//! 5. **Decode** ([`text::decode`]): tags → entity spans, the one decoder evaluation, the CLI
//!    and the page share, so that what is scored is what is shown.
//!
//! Beside the steps, [`kernels`] holds hand-written CPU kernels over plain slices (int8
//! matrix multiply for the linear layers), free of burn types.

#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod kernels;
pub mod nn;
pub mod text;
pub mod view;
pub mod weights;

pub use config::{BertConfig, GlassboxConfig};
pub use error::ModelError;
pub use nn::model::{Glassbox, GlassboxOutput};
pub use text::tokenize::{pad_batch, Batch, TextTokenizer, Tokenized};
pub use weights::checkpoint::LoadReport;
