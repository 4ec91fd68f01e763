//! Reading training data: token tasks from CoNLL-style columns, sentence tasks from CSV or
//! JSONL. A malformed line is an error naming the file and line, never a silent skip.

pub mod augment;
pub mod backtranslate;
pub mod batch;
pub mod clean;
pub mod conll;
pub mod encode;
pub mod prepare;
pub mod sentence;
pub mod split;
pub mod task;
pub mod wordnet;

mod error;

pub use error::DataError;
