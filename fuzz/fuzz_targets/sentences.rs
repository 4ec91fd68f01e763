//! The sentence-task readers (trainer/src/data/sentence.rs, compiled as it is) on any bytes,
//! as CSV and as JSONL: an error naming a line, or examples with a label; JSONL examples
//! written back read again unchanged.
#![no_main]

use glassbox_fuzz::assert_line_within;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../trainer/src/data/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../trainer/src/data/sentence.rs"]
mod sentence;

use sentence::{parse_csv, parse_jsonl, CsvColumns};

fuzz_target!(|data: &[u8]| {
    let cols = CsvColumns {
        text: "text",
        label: "label",
        confidence: Some("confidence"),
    };
    if let Ok(examples) = parse_csv(data, "fuzz.csv", &cols) {
        for ex in &examples {
            assert!(!ex.label.is_empty() && ex.label.trim() == ex.label);
            assert!(ex.line >= 2, "a record on the header's line {}", ex.line);
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let examples = match parse_jsonl(text, "fuzz.jsonl") {
        Ok(ex) => ex,
        Err(e) => return assert_line_within(e.line, text),
    };
    let written: String = examples
        .iter()
        .map(|ex| {
            let mut v = serde_json::json!({"text": ex.text, "label": ex.label});
            if let Some(c) = ex.confidence {
                v["confidence"] = c.into();
            }
            format!("{v}\n")
        })
        .collect();
    let again = parse_jsonl(&written, "written.jsonl").expect("written JSONL parses");
    assert_eq!(again.len(), examples.len());
    for (a, b) in again.iter().zip(&examples) {
        assert_eq!(
            (&a.text, &a.label, a.confidence),
            (&b.text, &b.label, b.confidence)
        );
    }
});
