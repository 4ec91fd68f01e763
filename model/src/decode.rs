//! BIO tags → entity spans, the one decoder shared by evaluation, `glassbox predict` and the
//! page, so that what is scored is exactly what is shown.
//!
//! Chunking follows conlleval and seqeval's default (non-strict) mode: an `I-X` that follows
//! `O` or a tag of another type opens a new entity instead of being dropped, and a `B-X`
//! always opens one. Real models emit such sequences; discarding them would hide errors.

/// One entity over tag positions `start..end` (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagSpan {
    pub label: String,
    pub start: usize,
    pub end: usize,
}

/// Splits a tag into its prefix (`B`, `I` or `O`) and entity type; anything unknown is `O`.
pub fn parse_tag(tag: &str) -> (char, &str) {
    match tag.split_once('-') {
        Some(("B", t)) if !t.is_empty() => ('B', t),
        Some(("I", t)) if !t.is_empty() => ('I', t),
        _ => ('O', ""),
    }
}

/// The entities of a BIO sequence, in order.
pub fn bio_spans<S: AsRef<str>>(tags: &[S]) -> Vec<TagSpan> {
    let mut spans = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    for (i, tag) in tags.iter().enumerate() {
        let (prefix, kind) = parse_tag(tag.as_ref());
        let continues = prefix == 'I' && matches!(open, Some((_, k)) if k == kind);
        if continues {
            continue;
        }
        if let Some((start, k)) = open.take() {
            spans.push(TagSpan {
                label: k.to_string(),
                start,
                end: i,
            });
        }
        if prefix != 'O' {
            open = Some((i, kind));
        }
    }
    if let Some((start, k)) = open {
        spans.push(TagSpan {
            label: k.to_string(),
            start,
            end: tags.len(),
        });
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(label: &str, start: usize, end: usize) -> TagSpan {
        TagSpan {
            label: label.into(),
            start,
            end,
        }
    }

    #[test]
    fn plain_sequences() {
        let tags = [
            "B-person",
            "I-person",
            "O",
            "B-geo-loc",
            "B-geo-loc",
            "I-geo-loc",
        ];
        assert_eq!(
            bio_spans(&tags),
            vec![s("person", 0, 2), s("geo-loc", 3, 4), s("geo-loc", 4, 6)]
        );
        assert_eq!(bio_spans::<&str>(&[]), vec![]);
        assert_eq!(bio_spans(&["O", "O"]), vec![]);
    }

    #[test]
    fn inside_without_begin_opens_an_entity() {
        // conlleval: I- after O, or after another type, starts a chunk.
        let tags = [
            "I-person",
            "I-person",
            "O",
            "I-company",
            "B-person",
            "I-company",
        ];
        assert_eq!(
            bio_spans(&tags),
            vec![
                s("person", 0, 2),
                s("company", 3, 4),
                s("person", 4, 5),
                s("company", 5, 6)
            ]
        );
    }

    #[test]
    fn type_names_with_dashes_survive() {
        assert_eq!(parse_tag("B-geo-loc"), ('B', "geo-loc"));
        assert_eq!(parse_tag("O"), ('O', ""));
        assert_eq!(parse_tag("X-foo"), ('O', ""));
        assert_eq!(parse_tag("B-"), ('O', ""));
    }
}
