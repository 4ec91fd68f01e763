//! Invariants of tokenisation, alignment and span decoding over generated inputs (proptest):
//! whatever the text and whatever the model answers, offsets index the text, spans never
//! overlap and lie on whole words, and decoding the tags written for a set of spans gives back
//! those spans. Case counts are bounded so the suite stays fast in CI.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::sync::OnceLock;

use glassbox_model::text::decode::{bio_spans, entities_by, words, Aggregation, TagSpan};
use glassbox_model::text::labels::{begin, inside};
use glassbox_model::TextTokenizer;
use proptest::prelude::*;

fn tokenizer() -> &'static TextTokenizer {
    static T: OnceLock<TextTokenizer> = OnceLock::new();
    T.get_or_init(|| {
        let bytes = std::fs::read(common::minilm_dir().join("tokenizer.json")).unwrap();
        TextTokenizer::from_bytes(&bytes, 64).unwrap()
    })
}

/// Text mixing ASCII words, accents, other scripts, emoji, punctuation, spaces and controls.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z]{1,12}",
        "[ \t\n]{1,3}",
        "[.,!?;:'\"@#()-]{1,2}",
        "[àéïöüßçñ]{1,4}",
        "[王伟李娜東京]{1,3}",
        "[Дмитрийعربي]{1,5}",
        "[😀🎉👍]{1,2}",
        "[0-9]{1,4}",
        "[\u{0}-\u{1f}\u{200b}\u{fe0f}]",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

const LABELS: [&str; 5] = ["O", "B-person", "I-person", "B-loc", "I-loc"];

fn tags() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::collection::vec(proptest::sample::select(&LABELS[..]), 0..30)
}

/// Non-overlapping spans over `0..n`, as (gap before, length, type) runs.
fn spans() -> impl Strategy<Value = (usize, Vec<TagSpan>)> {
    let run = (
        0usize..3,
        1usize..4,
        proptest::sample::select(vec!["person", "loc"]),
    );
    (proptest::collection::vec(run, 0..8), 0usize..3).prop_map(|(runs, tail)| {
        let mut at = 0;
        let mut out = Vec::new();
        for (gap, len, label) in runs {
            at += gap;
            out.push(TagSpan {
                label: label.into(),
                start: at,
                end: at + len,
            });
            at += len;
        }
        (at + tail, out)
    })
}

fn assert_ordered_and_disjoint(spans: &[(usize, usize)]) {
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlap: {w:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn offsets_index_the_text_and_words_ascend(s in text()) {
        let Ok(t) = tokenizer().encode(&s) else {
            // Only text with nothing to encode is refused: never one with a Latin letter or digit.
            prop_assert!(!s.chars().any(|c| c.is_ascii_alphanumeric()), "{s:?} refused");
            return Ok(());
        };
        let n = s.chars().count();
        prop_assert_eq!(t.ids.len(), t.offsets.len());
        prop_assert_eq!(t.ids.len(), t.word_ids.len());
        prop_assert!(t.ids.len() <= 64);
        let pieces: Vec<usize> = (0..t.ids.len()).filter(|&i| !t.special[i]).collect();
        for &i in &pieces {
            let (a, b) = t.offsets[i];
            prop_assert!(a < b && b <= n, "piece {i} at {a}..{b} in {n} chars");
        }
        for w in pieces.windows(2) {
            prop_assert!(t.offsets[w[0]].1 <= t.offsets[w[1]].0, "pieces overlap");
            prop_assert!(t.word_ids[w[0]] <= t.word_ids[w[1]], "word ids go back");
        }
        let ws: Vec<(usize, usize)> = words(&t).iter().map(|w| (w.start, w.end)).collect();
        assert_ordered_and_disjoint(&ws);
    }

    #[test]
    fn spans_are_disjoint_and_cover_exactly_the_entity_tags(tags in tags()) {
        let spans = bio_spans(&tags);
        assert_ordered_and_disjoint(&spans.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>());
        let mut covered = vec![false; tags.len()];
        for s in &spans {
            prop_assert!(s.start < s.end && s.end <= tags.len());
            for (i, c) in covered.iter_mut().enumerate().take(s.end).skip(s.start) {
                prop_assert!(tags[i].ends_with(&format!("-{}", s.label)), "{} in {:?}", tags[i], s);
                *c = true;
            }
        }
        for (i, t) in tags.iter().enumerate() {
            prop_assert_eq!(covered[i], *t != "O", "position {} ({})", i, t);
        }
    }

    #[test]
    fn decoding_the_tags_of_spans_gives_the_spans_back((n, spans) in spans()) {
        let mut tags = vec!["O".to_string(); n];
        for s in &spans {
            tags[s.start] = begin(&s.label);
            for t in &mut tags[s.start + 1..s.end] {
                *t = inside(&s.label);
            }
        }
        prop_assert_eq!(bio_spans(&tags), spans);
    }

    #[test]
    fn entities_lie_on_whole_words_of_the_text(s in text(), seed in any::<u64>()) {
        let Ok(t) = tokenizer().encode(&s) else { return Ok(()) };
        let labels: Vec<String> = LABELS.iter().map(|l| l.to_string()).collect();
        // Any answer the token head could give: a pseudo-random distribution per piece.
        let mut x = seed | 1;
        let probs: Vec<f32> = (0..t.ids.len() * labels.len())
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 1000) as f32 / 1000.0
            })
            .collect();
        let chars: Vec<char> = s.chars().collect();
        let ws = words(&t);
        for agg in Aggregation::ALL {
            let es = entities_by(&t, &probs, &labels, agg);
            assert_ordered_and_disjoint(&es.iter().map(|e| (e.start, e.end)).collect::<Vec<_>>());
            for e in &es {
                prop_assert_eq!(&e.text, &chars[e.start..e.end].iter().collect::<String>());
                prop_assert!(ws.iter().any(|w| w.start == e.start), "{e:?} starts inside a word");
                prop_assert!(ws.iter().any(|w| w.end == e.end), "{e:?} ends inside a word");
            }
        }
    }
}
