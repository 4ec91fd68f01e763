//! Cleaning tweet text that went through a broken encoding round-trip (the sentiment corpus
//! was UTF-8 read as Mac Roman, re-saved, and read as Latin-1). The damage is lossy, so the
//! cleaner repairs the sequences whose meaning is unambiguous (quotes, apostrophes, dashes),
//! removes the rest (they were emoji, which MiniLM's tokenizer maps to [UNK] anyway), and
//! counts everything so the run folder can say what was changed.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::sentence::SentenceExample;

/// Damaged sequence → what it stood for, longest first so a prefix never wins.
const REPAIRS: &[(&str, &str)] = &[
    ("\u{d5}\u{a2}_\u{8a}\u{ce}\u{81}\u{d0}", "\""),
    ("\u{d5}\u{a2}_\u{8a}\u{ce}\u{eb}\u{9d}", "\""),
    ("\u{d5}\u{a2}_\u{8a}\u{ce}_\u{86}\u{a2}", "'"),
    ("\u{d5}\u{a2}_\u{8a}\u{ce}_\u{d1}\u{9d}", " - "),
    ("\u{e4}\u{f3}\u{bb}", "'"),
    ("\u{e4}\u{f3}\u{ec}", "\""),
    ("\u{e4}\u{f3}\u{9d}", "\""),
    ("\u{e4}\u{f3}_", "..."),
    ("\u{8a}\u{97}\u{c8}", "'"),
    ("\u{8a}\u{97}\u{93}", "\""),
    ("\u{8a}\u{97}\u{9d}", "\""),
    ("\u{8a}\u{97}_", " - "),
];

/// Characters that only occur in this corpus as pieces of broken sequences.
fn is_debris(c: char) -> bool {
    ('\u{80}'..='\u{9f}').contains(&c) || matches!(c, '\u{d5}' | '\u{f4}' | '\u{a2}' | '\u{d1}')
}

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct CleanReport {
    pub input: usize,
    /// Repaired sequence (as written in the repair table's output) → occurrences.
    pub repaired: BTreeMap<String, usize>,
    /// Unrepairable sequences removed.
    pub removed_sequences: usize,
    /// Examples whose text was changed at all.
    pub texts_changed: usize,
    pub dropped_empty: usize,
    pub dropped_duplicates: usize,
    /// Duplicated texts whose copies disagreed on the label (the first copy is kept).
    pub duplicate_label_conflicts: usize,
    pub dropped_low_confidence: usize,
    pub kept: usize,
}

/// Repairs and strips damaged sequences in one text; returns the text and the counts.
pub fn clean_text(text: &str, report: &mut CleanReport) -> String {
    let mut s = text.to_string();
    for (bad, good) in REPAIRS {
        let n = s.matches(bad).count();
        if n > 0 {
            s = s.replace(bad, good);
            *report.repaired.entry(good.trim().to_string()).or_default() += n;
        }
    }
    // Remove maximal non-ASCII runs that contain debris, with the `_` glue around them.
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_ascii() {
            i += 1;
        }
        let run = &chars[start..i];
        if run.iter().any(|&c| is_debris(c)) {
            report.removed_sequences += 1;
            if out.ends_with('_') {
                out.pop();
            }
            if chars.get(i) == Some(&'_') {
                i += 1;
            }
            out.push(' ');
        } else {
            out.extend(run);
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.replace("&amp;", "&")
}

/// With `repair`, cleans the text and drops empty texts and exact duplicates (after
/// cleaning, first occurrence kept); drops low-confidence examples when `min_confidence` is
/// set. Without `repair` the text is left exactly as read.
pub fn clean_examples(
    examples: Vec<SentenceExample>,
    repair: bool,
    min_confidence: Option<f64>,
) -> (Vec<SentenceExample>, CleanReport) {
    let mut report = CleanReport {
        input: examples.len(),
        ..Default::default()
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for mut ex in examples {
        if let (Some(min), Some(c)) = (min_confidence, ex.confidence) {
            if c < min {
                report.dropped_low_confidence += 1;
                continue;
            }
        }
        if !repair {
            out.push(ex);
            continue;
        }
        let cleaned = clean_text(&ex.text, &mut report);
        if cleaned != ex.text {
            report.texts_changed += 1;
        }
        ex.text = cleaned;
        if ex.text.is_empty() {
            report.dropped_empty += 1;
            continue;
        }
        if let Some(label) = seen.get(&ex.text) {
            report.dropped_duplicates += 1;
            if *label != ex.label {
                report.duplicate_label_conflicts += 1;
            }
            continue;
        }
        seen.insert(ex.text.clone(), ex.label.clone());
        out.push(ex);
    }
    report.kept = out.len();
    (out, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, label: &str, confidence: Option<f64>) -> SentenceExample {
        SentenceExample {
            text: text.into(),
            label: label.into(),
            confidence,
            line: 1,
        }
    }

    #[test]
    fn repairs_quotes_and_apostrophes() {
        let mut r = CleanReport::default();
        let t = clean_text(
            "you\u{e4}\u{f3}\u{bb}d think \u{e4}\u{f3}\u{ec}hi\u{e4}\u{f3}\u{9d}",
            &mut r,
        );
        assert_eq!(t, "you'd think \"hi\"");
        assert_eq!(r.repaired.get("'"), Some(&1));
        assert_eq!(r.repaired.get("\""), Some(&2));
        let t = clean_text("Google\u{d5}\u{a2}_\u{8a}\u{ce}_\u{86}\u{a2}s cars", &mut r);
        assert_eq!(t, "Google's cars");
    }

    #[test]
    fn removes_emoji_debris_with_its_glue_but_keeps_real_accents() {
        let mut r = CleanReport::default();
        let t = clean_text("lineup FML _\u{f4}\u{d6}\u{89} http://t.co/x", &mut r);
        assert_eq!(t, "lineup FML http://t.co/x");
        assert_eq!(r.removed_sequences, 1);
        let t = clean_text("Mas info aqu\u{ed} caf\u{e9} &amp; more", &mut r);
        assert_eq!(t, "Mas info aqu\u{ed} caf\u{e9} & more");
        assert_eq!(r.removed_sequences, 1);
    }

    #[test]
    fn drops_duplicates_empties_and_low_confidence_and_counts_them() {
        let data = vec![
            ex("good day", "positive", Some(1.0)),
            ex("good  day", "negative", Some(1.0)),
            ex("\u{f4}\u{d6}\u{89}", "neutral", Some(1.0)),
            ex("meh", "neutral", Some(0.3)),
            ex("fine", "neutral", None),
        ];
        let raw = data.clone();
        let (kept, r) = clean_examples(data, true, Some(0.5));
        let texts: Vec<&str> = kept.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["good day", "fine"]);
        assert_eq!(
            (r.input, r.dropped_duplicates, r.duplicate_label_conflicts),
            (5, 1, 1)
        );
        assert_eq!(
            (r.dropped_empty, r.dropped_low_confidence, r.kept),
            (1, 1, 2)
        );
        // Without repair only the confidence filter applies; texts stay byte for byte.
        let (kept, r) = clean_examples(raw, false, Some(0.5));
        let texts: Vec<&str> = kept.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            ["good day", "good  day", "\u{f4}\u{d6}\u{89}", "fine"]
        );
        assert_eq!(
            (
                r.texts_changed,
                r.dropped_duplicates,
                r.dropped_low_confidence
            ),
            (0, 0, 1)
        );
    }
}
