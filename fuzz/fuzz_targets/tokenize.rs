//! Tokenisation, alignment and span decoding on any text, with any answer the token head
//! could give: no panic, offsets index the text, words and entities lie in order on it.
#![no_main]

use std::sync::OnceLock;

use glassbox_model::text::decode::{entities_by, words, Aggregation};
use glassbox_model::TextTokenizer;
use libfuzzer_sys::fuzz_target;

const LABELS: [&str; 5] = ["O", "B-person", "I-person", "B-loc", "I-loc"];

fn tokenizer() -> &'static TextTokenizer {
    static T: OnceLock<TextTokenizer> = OnceLock::new();
    T.get_or_init(|| {
        let bytes = include_bytes!("../../public/models/default/tokenizer.json");
        // Short, so that truncation (a word cut at the limit) is exercised often.
        TextTokenizer::from_bytes(bytes, 24).expect("the committed tokenizer loads")
    })
}

fuzz_target!(|data: &[u8]| {
    // The first bytes are the token head's answer, the rest is the text.
    let (head, text) = data.split_at(data.len().min(16));
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(t) = tokenizer().encode(text) else {
        return;
    };
    let n = text.chars().count();
    assert!(t.ids.len() <= 24);
    assert_eq!(t.ids.len(), t.offsets.len());
    assert_eq!(t.ids.len(), t.word_ids.len());
    for (i, &(a, b)) in t.offsets.iter().enumerate() {
        if !t.special[i] {
            assert!(a < b && b <= n, "piece {i} at {a}..{b} of {n} chars");
        }
    }
    let ws = words(&t);
    for w in ws.windows(2) {
        assert!(w[0].end <= w[1].start, "words overlap");
    }
    let labels: Vec<String> = LABELS.iter().map(|l| l.to_string()).collect();
    // The fuzzer's own bytes are the head's answer, cycled over every piece and label.
    let probs: Vec<f32> = (0..t.ids.len() * labels.len())
        .map(|i| {
            head.get(i % head.len().max(1))
                .map_or(0.0, |&b| b as f32 / 255.0)
        })
        .collect();
    for agg in Aggregation::ALL {
        let ents = entities_by(&t, &probs, &labels, agg);
        for e in &ents {
            assert!(e.start < e.end && e.end <= n, "entity {e:?} of {n} chars");
            let cut: String = text.chars().skip(e.start).take(e.end - e.start).collect();
            assert_eq!(cut, e.text);
        }
        for p in ents.windows(2) {
            assert!(p[0].end <= p[1].start, "entities overlap");
        }
    }
});
