//! CoNLL-style token data: one token per line, the token in the first column and its BIO tag
//! in the last, sentences separated by blank (or whitespace-only) lines. WNUT-16 as shipped
//! separates tweets with a line holding a single tab.

use glassbox_model::text::labels::{self, Tag, OUTSIDE};

use super::error::{err, DataError};

#[derive(Debug, Clone, PartialEq)]
pub struct TokenExample {
    pub tokens: Vec<String>,
    pub tags: Vec<String>,
    /// 1-based line of the example's first token, for error messages and error analysis.
    pub line: usize,
}

/// Parses `text`; `source` names the file in errors.
pub fn parse_conll(text: &str, source: &str) -> Result<Vec<TokenExample>, DataError> {
    let mut out = Vec::new();
    let mut cur = TokenExample {
        tokens: vec![],
        tags: vec![],
        line: 0,
    };
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        if raw.trim().is_empty() {
            if !cur.tokens.is_empty() {
                out.push(std::mem::replace(
                    &mut cur,
                    TokenExample {
                        tokens: vec![],
                        tags: vec![],
                        line: 0,
                    },
                ));
            }
            continue;
        }
        let cols: Vec<&str> = if raw.contains('\t') {
            raw.split('\t').map(str::trim).collect()
        } else {
            raw.split_whitespace().collect()
        };
        if cols.len() < 2 || cols[0].is_empty() {
            return Err(err(
                source,
                line_no,
                format!("expected `TOKEN<tab>TAG`, found {raw:?}"),
            ));
        }
        let tag = *cols.last().unwrap();
        if tag != OUTSIDE && Tag::parse(tag) == Tag::Outside {
            return Err(err(
                source,
                line_no,
                format!("tag {tag:?} is not BIO (expected O, B-TYPE or I-TYPE)"),
            ));
        }
        if cur.tokens.is_empty() {
            cur.line = line_no;
        }
        cur.tokens.push(cols[0].to_string());
        cur.tags.push(tag.to_string());
    }
    if !cur.tokens.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Entity types (without B-/I-) in first-seen order, for building a label set from data.
pub fn entity_types(examples: &[TokenExample]) -> Vec<String> {
    labels::entity_types(examples.iter().flat_map(|e| &e.tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_separated_with_tab_only_separators() {
        let text = "@paul\tO\nEmpire\tB-facility\nState\tI-facility\n\t\nHi\tO\n";
        let ex = parse_conll(text, "x.conll").unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].tokens, ["@paul", "Empire", "State"]);
        assert_eq!(ex[0].tags, ["O", "B-facility", "I-facility"]);
        assert_eq!(ex[0].line, 1);
        assert_eq!(ex[1].tokens, ["Hi"]);
        assert_eq!(ex[1].line, 5);
        assert_eq!(entity_types(&ex), ["facility"]);
    }

    #[test]
    fn space_separated_multi_column_takes_first_and_last() {
        let ex = parse_conll("EU NNP B-ORG\nrejects VBZ O\n", "c.txt").unwrap();
        assert_eq!(ex[0].tokens, ["EU", "rejects"]);
        assert_eq!(ex[0].tags, ["B-ORG", "O"]);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let e = parse_conll("a\tO\nlonely\n", "data/bad.conll").unwrap_err();
        assert_eq!((e.source.as_str(), e.line), ("data/bad.conll", 2));
        assert!(e.to_string().starts_with("data/bad.conll:2:"), "{e}");
        let e = parse_conll("a\tO\n\nb\tPERSON\n", "t.conll").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("not BIO"), "{e}");
    }
}
