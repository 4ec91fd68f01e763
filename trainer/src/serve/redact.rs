//! Redaction of users' texts before they reach the sampled input/output log
//! (`--log-io-sample`): what identifies a person is replaced by a placeholder, what the model
//! saw otherwise stays readable so a log line can still explain a prediction.
//!
//! Replaced: URLs (`<URL>`), e-mail addresses (`<EMAIL>`), @mentions (`<MENTION>`) and
//! phone-like runs of at least seven digits with separators (`<PHONE>`; dates such as
//! 2016-11-29 look the same and are redacted too: better one date too many than a phone
//! number in a log). With `--redact-entities` the predicted entities go as well (`<PERSON>`).
//!
//! Every pattern is matched against the original text and the first claim on a stretch of
//! characters wins (entities, then URLs, e-mails, mentions, phones), so an e-mail inside a URL
//! or a mention inside an e-mail is replaced once, by the wider placeholder.

use std::sync::LazyLock;

use regex::Regex;

/// A predicted entity: characters `start..end` (Unicode scalar values, as `/predict` counts
/// them) of the text, and its type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntitySpan {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

/// The patterns, in the order they claim text.
static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    // A URL ends before trailing punctuation: "see www.x.org." keeps its full stop.
    let url = r#"(?i)\b(?:https?://|www\.)[^\s<>"]*[^\s<>".,;:!?)\]']"#;
    let email = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}";
    let mention = r"@\w+";
    let phone = r"\+?\(?\d(?:[ .()\-]{0,2}\d){6,}";
    [
        (url, "<URL>"),
        (email, "<EMAIL>"),
        (mention, "<MENTION>"),
        (phone, "<PHONE>"),
    ]
    .into_iter()
    .map(|(p, name)| (Regex::new(p).expect("a valid built-in pattern"), name))
    .collect()
});

/// A stretch of bytes of the text and what replaces it.
struct Claim {
    start: usize,
    end: usize,
    placeholder: String,
}

/// `text` with the patterns and the given `entities` replaced by placeholders (pass no
/// entities unless `--redact-entities` is on).
pub(crate) fn redact(text: &str, entities: &[EntitySpan]) -> String {
    let mut claims: Vec<Claim> = Vec::new();
    let mut claim = |start: usize, end: usize, placeholder: String| {
        let free = claims.iter().all(|c| end <= c.start || start >= c.end);
        if free && start < end {
            claims.push(Claim {
                start,
                end,
                placeholder,
            });
        }
    };
    for e in entities {
        if let Some((start, end)) = byte_range(text, e.start, e.end) {
            claim(start, end, placeholder(&e.label));
        }
    }
    for (re, name) in PATTERNS.iter() {
        for m in re.find_iter(text) {
            claim(m.start(), m.end(), (*name).to_string());
        }
    }
    claims.sort_by_key(|c| c.start);
    splice(text, &claims)
}

/// `<PERSON>` for `person`, `<GEO-LOC>` for `geo-loc`.
fn placeholder(label: &str) -> String {
    format!("<{}>", label.to_uppercase())
}

/// Byte offsets of characters `start..end`; `None` for a span outside the text.
fn byte_range(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    if end < start {
        return None;
    }
    let mut bytes = text.char_indices().map(|(b, _)| b).chain([text.len()]);
    let first = bytes.nth(start)?;
    let last = if end == start {
        first
    } else {
        bytes.nth(end - start - 1)?
    };
    Some((first, last))
}

/// The text with each claimed stretch (sorted, disjoint) replaced.
fn splice(text: &str, claims: &[Claim]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for c in claims {
        out.push_str(&text[at..c.start]);
        out.push_str(&c.placeholder);
        at = c.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> String {
        redact(text, &[])
    }

    #[test]
    fn emails_urls_mentions_and_phones_become_placeholders() {
        assert_eq!(
            r("mail jane.doe+x@mail.example.co.uk now"),
            "mail <EMAIL> now"
        );
        assert_eq!(
            r("see https://t.co/AbC?x=1&y=2, or www.example.org."),
            "see <URL>, or <URL>."
        );
        assert_eq!(
            r("thanks @bob_99 and @Alice!"),
            "thanks <MENTION> and <MENTION>!"
        );
        assert_eq!(r("call +1 (555) 123-4567 today"), "call <PHONE> today");
        assert_eq!(r("or 555.123.4567"), "or <PHONE>");
        assert_eq!(r("text 07700900123"), "text <PHONE>");
    }

    #[test]
    fn short_numbers_and_plain_words_stay() {
        let plain = "Justin Bieber played Madison Square Garden in 2016, 3-1 win, room 12345";
        assert_eq!(r(plain), plain);
        assert_eq!(r("a@b is not an address"), "a<MENTION> is not an address");
    }

    #[test]
    fn the_wider_match_wins_over_what_it_contains() {
        // The mention inside the e-mail and the digits inside the URL are not replaced again.
        assert_eq!(r("bob@example.com"), "<EMAIL>");
        assert_eq!(r("https://x.com/@bob/status/123456789"), "<URL>");
    }

    #[test]
    fn entities_are_replaced_by_their_type() {
        let text = "Justin Bieber played Madison Square Garden";
        let ents = [
            EntitySpan {
                start: 0,
                end: 13,
                label: "person".into(),
            },
            EntitySpan {
                start: 21,
                end: 42,
                label: "geo-loc".into(),
            },
        ];
        assert_eq!(redact(text, &ents), "<PERSON> played <GEO-LOC>");
    }

    #[test]
    fn entity_offsets_count_characters_not_bytes() {
        // "é" and "🎉" are two and four bytes; the entity is characters 7..12.
        let text = "café 🎉 Paris rocks";
        let paris = EntitySpan {
            start: 7,
            end: 12,
            label: "geo-loc".into(),
        };
        assert_eq!(redact(text, &[paris]), "café 🎉 <GEO-LOC> rocks");
        let outside = EntitySpan {
            start: 50,
            end: 60,
            label: "person".into(),
        };
        assert_eq!(
            redact(text, &[outside]),
            text,
            "a span past the end is ignored"
        );
    }
}
