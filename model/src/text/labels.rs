//! BIO tag labels: building a tag set from entity types, reading a tag, and the entity types
//! of a tag set. The trainer, the CLI and the page all go through these, so a tag like
//! `B-geo-loc` (a type with a dash) is read the same way everywhere.

/// One BIO tag, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag<'a> {
    /// `O`: outside any entity (also what any unreadable tag counts as).
    Outside,
    /// `B-TYPE`: the first token of an entity.
    Begin(&'a str),
    /// `I-TYPE`: a token continuing an entity.
    Inside(&'a str),
}

impl<'a> Tag<'a> {
    /// Reads a tag; anything that is not `B-TYPE` or `I-TYPE` with a non-empty type is
    /// [`Tag::Outside`].
    pub fn parse(tag: &'a str) -> Self {
        match tag.split_once('-') {
            Some(("B", t)) if !t.is_empty() => Tag::Begin(t),
            Some(("I", t)) if !t.is_empty() => Tag::Inside(t),
            _ => Tag::Outside,
        }
    }

    /// The entity type, `None` for `O`.
    pub fn kind(self) -> Option<&'a str> {
        match self {
            Tag::Outside => None,
            Tag::Begin(t) | Tag::Inside(t) => Some(t),
        }
    }

    /// The tag a later wordpiece of the same word carries: `I-TYPE` for an entity, else `O`.
    pub fn continuation(self) -> String {
        self.kind().map_or_else(|| OUTSIDE.to_string(), inside)
    }
}

/// The outside tag.
pub const OUTSIDE: &str = "O";

/// `B-TYPE`.
pub fn begin(kind: &str) -> String {
    format!("B-{kind}")
}

/// `I-TYPE`.
pub fn inside(kind: &str) -> String {
    format!("I-{kind}")
}

/// The tag set of a token head over `types`: `O`, then `B-` and `I-` of each type in order.
pub fn bio_tags<S: AsRef<str>>(types: &[S]) -> Vec<String> {
    let mut tags = vec![OUTSIDE.to_string()];
    for t in types {
        tags.push(begin(t.as_ref()));
        tags.push(inside(t.as_ref()));
    }
    tags
}

/// The entity types named by `tags`, without prefixes, in first-seen order.
pub fn entity_types<S: AsRef<str>>(tags: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for tag in tags {
        if let Some(kind) = Tag::parse(tag.as_ref()).kind() {
            if !seen.iter().any(|s| s == kind) {
                seen.push(kind.to_string());
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_with_dashes_in_the_type() {
        assert_eq!(Tag::parse("B-geo-loc"), Tag::Begin("geo-loc"));
        assert_eq!(Tag::parse("I-PER"), Tag::Inside("PER"));
        assert_eq!(Tag::parse("O"), Tag::Outside);
        assert_eq!(Tag::parse("X-foo"), Tag::Outside);
        assert_eq!(Tag::parse("B-"), Tag::Outside);
        assert_eq!(Tag::parse("B-geo-loc").kind(), Some("geo-loc"));
        assert_eq!(Tag::Outside.kind(), None);
    }

    #[test]
    fn continuation_keeps_the_type_inside() {
        assert_eq!(Tag::parse("B-PER").continuation(), "I-PER");
        assert_eq!(Tag::parse("I-PER").continuation(), "I-PER");
        assert_eq!(Tag::parse("O").continuation(), "O");
    }

    #[test]
    fn tag_set_and_types_round_trip() {
        let tags = bio_tags(&["person", "geo-loc"]);
        assert_eq!(
            tags,
            ["O", "B-person", "I-person", "B-geo-loc", "I-geo-loc"]
        );
        assert_eq!(entity_types(&tags), ["person", "geo-loc"]);
        assert_eq!(entity_types(["I-b", "O", "B-a", "B-b"]), ["b", "a"]);
    }
}
