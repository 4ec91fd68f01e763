//! Text in and labels out: tokenisation with alignment, BIO tag helpers, span decoding; and
//! the edits behavioural tests make to sentences (perturbations, negation).

pub mod decode;
pub mod labels;
pub mod negate;
pub mod perturb;
pub mod tokenize;
