//! The one error every data reader returns: which file, which line, what. Its own module so
//! the readers (conll, sentence) stand alone: the fuzz targets (fuzz/) compile them as they are.

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

pub(crate) fn err(source: &str, line: usize, message: impl Into<String>) -> DataError {
    DataError {
        source: source.to_string(),
        line,
        message: message.into(),
    }
}
