//! The one glassbox model.
//!
//! Everything that decides what the model computes lives here, generic over burn's
//! [`Backend`](burn::tensor::backend::Backend), so the native trainer and the wasm page run
//! the very same code. The crate does no file or network I/O: callers hand it bytes.

pub mod bundle;
pub mod checkpoint;
pub mod config;
pub mod decode;
pub mod embeddings;
pub mod encoder;
pub mod error;
pub mod explain;
pub mod heads;
pub mod model;
pub mod pooling;
pub mod quantize;
pub mod readout;
pub mod tokenize;

pub use checkpoint::LoadReport;
pub use config::{BertConfig, GlassboxConfig};
pub use error::ModelError;
pub use model::{Glassbox, GlassboxOutput};
pub use tokenize::{pad_batch, Batch, TextTokenizer, Tokenized};
