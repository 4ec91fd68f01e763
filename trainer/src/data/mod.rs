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

use std::fmt;

/// Where in which file something went wrong, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    pub source: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.source, self.line, self.message)
    }
}

impl std::error::Error for DataError {}

fn err(source: &str, line: usize, message: impl Into<String>) -> DataError {
    DataError {
        source: source.to_string(),
        line,
        message: message.into(),
    }
}
