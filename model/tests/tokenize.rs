//! Tokenisation with the real MiniLM `tokenizer.json`: the wordpiece ↔ word ↔ character
//! alignment that the NER head and the attention views rely on.

/// Fixtures shared by the model's and the trainer's tests.
#[path = "../../tests/common/mod.rs"]
mod common;

use glassbox_model::TextTokenizer;

fn tokenizer(max_len: usize) -> TextTokenizer {
    let bytes = std::fs::read(common::minilm_dir().join("tokenizer.json")).unwrap();
    TextTokenizer::from_bytes(&bytes, max_len).unwrap()
}

/// The characters of `text` a wordpiece covers, as the tokenizer's normaliser would see them
/// (lower-cased, accents stripped), to compare with the piece itself.
fn covered(text: &str, (start, end): (usize, usize)) -> String {
    text.chars().skip(start).take(end - start).collect()
}

#[test]
fn offsets_point_at_the_characters_each_piece_came_from() {
    let t = tokenizer(256);
    let text = "Ünïcode naïveté at Zürich: playing unbelievably well!";
    let enc = t.encode(text).unwrap();
    assert_eq!(enc.tokens.first().map(String::as_str), Some("[CLS]"));
    assert_eq!(enc.tokens.last().map(String::as_str), Some("[SEP]"));
    for (i, tok) in enc.tokens.iter().enumerate() {
        if enc.special[i] {
            assert_eq!(enc.word_ids[i], None);
            continue;
        }
        let piece = tok.trim_start_matches("##");
        let src = covered(text, enc.offsets[i]);
        // Normalise the source span the way BERT uncased does: lower-case, strip accents.
        let norm: String = src
            .to_lowercase()
            .chars()
            .map(|c| match c {
                'ü' => 'u',
                'ï' => 'i',
                'é' => 'e',
                other => other,
            })
            .collect();
        assert_eq!(norm, piece, "piece {i} {tok:?} covers {src:?}");
    }
    // "unbelievably" splits into several pieces that share one word id.
    let word_of = |w: &str| {
        let start = text.find(w).unwrap();
        let start = text[..start].chars().count();
        enc.offsets
            .iter()
            .enumerate()
            .filter(|(_, o)| o.0 >= start && o.1 <= start + w.chars().count() && o.1 > o.0)
            .map(|(i, _)| enc.word_ids[i])
            .collect::<Vec<_>>()
    };
    let ids = word_of("unbelievably");
    assert!(ids.len() > 1, "unbelievably is more than one wordpiece");
    assert!(ids.iter().all(|w| *w == ids[0] && w.is_some()));
    assert_ne!(word_of("playing")[0], ids[0]);
}

#[test]
fn truncation_keeps_sep_and_reports_what_was_cut() {
    let t = tokenizer(8);
    let text = "one two three four five six seven eight nine ten";
    let enc = t.encode(text).unwrap();
    assert_eq!(enc.ids.len(), 8);
    assert_eq!(
        enc.tokens[..7],
        ["[CLS]", "one", "two", "three", "four", "five", "six"]
    );
    assert_eq!(enc.tokens[7], "[SEP]");
    let tr = enc.truncation.expect("truncation reported");
    assert_eq!(tr.total_wordpieces, 12);
    assert_eq!(tr.kept_wordpieces, 8);
    assert_eq!(tr.kept_chars, "one two three four five six".chars().count());
    assert_eq!(tr.total_chars, text.chars().count());
    assert!(
        tr.message().contains("8 of 12 wordpieces"),
        "{}",
        tr.message()
    );
}

#[test]
fn padding_from_tokenizer_json_is_switched_off() {
    // MiniLM's tokenizer.json pads to 128; glassbox pads per batch itself.
    let enc = tokenizer(256).encode("short").unwrap();
    assert_eq!(enc.tokens, ["[CLS]", "short", "[SEP]"]);
    assert!(enc.truncation.is_none());
}
