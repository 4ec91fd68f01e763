//! Weights in and out: Hugging Face checkpoints, the glassbox bundle, int8 quantization.

pub mod bundle;
pub mod checkpoint;
pub mod quantize;
