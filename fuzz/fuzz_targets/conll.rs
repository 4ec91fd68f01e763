//! The CoNLL reader (trainer/src/data/conll.rs, compiled as it is) on any text: an error
//! naming a line of the input, or examples that are written back and read again unchanged.
#![no_main]

use glassbox_fuzz::assert_line_within;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../trainer/src/data/conll.rs"]
mod conll;
#[allow(dead_code)]
#[path = "../../trainer/src/data/error.rs"]
mod error;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let examples = match conll::parse_conll(text, "fuzz.conll") {
        Ok(ex) => ex,
        Err(e) => return assert_line_within(e.line, text),
    };
    let lines = text.lines().count();
    let mut written = String::new();
    let mut last = 0;
    for ex in &examples {
        assert!(!ex.tokens.is_empty() && ex.tokens.len() == ex.tags.len());
        assert!(
            ex.line > last && ex.line <= lines,
            "example line {}",
            ex.line
        );
        last = ex.line;
        for (tok, tag) in ex.tokens.iter().zip(&ex.tags) {
            assert!(!tok.is_empty() && !tok.contains(['\t', '\n']));
            written.push_str(&format!("{tok}\t{tag}\n"));
        }
        written.push('\n');
    }
    let again = conll::parse_conll(&written, "written.conll").expect("written CoNLL parses");
    assert_eq!(again.len(), examples.len());
    for (a, b) in again.iter().zip(&examples) {
        assert_eq!((&a.tokens, &a.tags), (&b.tokens, &b.tags));
    }
});
