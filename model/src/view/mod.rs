//! Looking inside: output tensors read back into plain data, sliced per sentence, and the
//! explanations derived from them.

pub mod answer;
pub mod attention;
pub mod explain;
pub mod link;
pub mod read;
pub mod readout;

pub use read::{read, read_async, ReadBack};
