//! Text in and labels out: tokenisation with alignment, BIO tag helpers, span decoding.

pub mod decode;
pub mod labels;
pub mod tokenize;
