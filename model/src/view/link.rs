//! Links that open the page on a text: the same percent-encoding the page's own permalinks use
//! (`encodeURIComponent`'s), shared so that a link the trainer writes (an `errors.jsonl` entry)
//! is read back by the page exactly as one the page wrote.

/// `s` as `encodeURIComponent` writes it: every byte of UTF-8 percent-encoded except ASCII
/// letters, digits and `-_.!~*'()`.
///
/// ```
/// use glassbox_model::view::link::encode_component;
/// assert_eq!(encode_component("a b&é"), "a%20b%26%C3%A9");
/// ```
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The page's address for `text`, relative to wherever the page is served: `?model=MODEL`
/// (a bundle folder relative to the page) when given, then the permalink hash `#s=TEXT`.
///
/// ```
/// use glassbox_model::view::link::permalink;
/// assert_eq!(permalink(Some("models/default"), "not bad"), "?model=models%2Fdefault#s=not%20bad");
/// assert_eq!(permalink(None, "#1?"), "#s=%231%3F");
/// ```
pub fn permalink(model: Option<&str>, text: &str) -> String {
    let query = model.map_or(String::new(), |m| format!("?model={}", encode_component(m)));
    format!("{query}#s={}", encode_component(text))
}
