//! The network: BERT embeddings, the encoder with its attention exposed, pooling and the two
//! task heads, assembled into [`model::Glassbox`]. The tree mirrors the Hugging Face one so
//! checkpoints load by structure.

pub mod activation;
pub mod device_int8;
pub mod embeddings;
pub mod encoder;
pub mod heads;
pub mod model;
pub mod pooling;
pub mod projection;
pub mod smooth;
