//! Negation by rule, for the page's "what if" panel: the teacher types a sentence, one click
//! shows the model the same sentence negated (or, when it already holds a negation, with the
//! negation taken out). Rules, not a parser: they cover the common English shapes of short
//! posts and say so when none applies, rather than produce broken grammar.
//!
//! In order of preference:
//! 1. A negation already there is removed: `don't` → `do`, `isn't` → `is`, `can't` → `can`,
//!    `won't` → `will`, `not`/`never` dropped.
//! 2. An auxiliary or copula gets `not` after it: `is` → `is not`, `I'm` → `I'm not`.
//! 3. A pronoun followed by a verb gets `don't`/`doesn't`: `I love` → `I don't love`,
//!    `she loves` → `she doesn't love`.

/// Auxiliaries and copulas that take `not` right after them.
const AUXILIARIES: [&str; 13] = [
    "am", "is", "are", "was", "were", "do", "does", "did", "will", "would", "should", "could",
    "must",
];
/// Contracted copulas (`I'm`, `it's`, …) that take ` not` after them.
const CONTRACTED: [&str; 8] = [
    "i'm", "it's", "that's", "he's", "she's", "we're", "you're", "they're",
];
/// `n't` forms whose positive is not the word without `n't`.
const IRREGULAR_NT: [(&str, &str); 3] = [("won't", "will"), ("can't", "can"), ("shan't", "shall")];
/// Subjects that take `don't`, and those that take `doesn't`.
const PLURAL_SUBJECTS: [&str; 4] = ["i", "we", "you", "they"];
const SINGULAR_SUBJECTS: [&str; 3] = ["he", "she", "it"];

/// `text` negated, or with its first negation removed; `None` when no rule applies.
pub fn negate(text: &str) -> Option<String> {
    let words = words(text);
    remove_negation(text, &words)
        .or_else(|| after_auxiliary(text, &words))
        .or_else(|| before_verb(text, &words))
}

/// A word of the text: its byte range and its lower-cased letters (curly apostrophes read
/// as straight ones), without surrounding punctuation.
#[derive(Debug)]
struct Word {
    start: usize,
    end: usize,
    key: String,
}

fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive(char::is_whitespace) {
        let core = raw.trim_end();
        let lead = core.len() - core.trim_start_matches(is_edge).len();
        let inner = core.trim_matches(is_edge);
        if !inner.is_empty() {
            let start = offset + lead;
            out.push(Word {
                start,
                end: start + inner.len(),
                key: inner.to_lowercase().replace('’', "'"),
            });
        }
        offset += raw.len();
    }
    out
}

/// Punctuation around a word (not the apostrophe inside `don't`).
fn is_edge(c: char) -> bool {
    !c.is_alphanumeric() && c != '\'' && c != '’'
}

fn replace(text: &str, w: &Word, with: &str) -> String {
    format!("{}{with}{}", &text[..w.start], &text[w.end..])
}

/// Rule 1: the first `n't`, `not` or `never` taken out.
fn remove_negation(text: &str, words: &[Word]) -> Option<String> {
    let w = words
        .iter()
        .find(|w| w.key.ends_with("n't") || w.key == "not" || w.key == "never")?;
    if w.key == "not" || w.key == "never" {
        let end = text[w.end..]
            .find(|c: char| !c.is_whitespace())
            .map_or(text.len(), |i| w.end + i);
        return Some(format!("{}{}", &text[..w.start], &text[end..]));
    }
    let original = &text[w.start..w.end];
    let positive = match IRREGULAR_NT.iter().find(|(nt, _)| *nt == w.key) {
        Some((_, base)) => same_case(original, base),
        None => original[..original.len() - "n't".len()].to_string(),
    };
    Some(replace(text, w, &positive))
}

/// `base` with the first letter's case of `like`.
fn same_case(like: &str, base: &str) -> String {
    let upper = like.chars().next().is_some_and(char::is_uppercase);
    let mut c = base.chars();
    match c.next() {
        Some(f) if upper => f.to_uppercase().chain(c).collect(),
        _ => base.to_string(),
    }
}

/// Rule 2: `not` after the first auxiliary, copula or contracted copula; a question's
/// leading auxiliary takes `n't` instead (`Is it …?` → `Isn't it …?`).
fn after_auxiliary(text: &str, words: &[Word]) -> Option<String> {
    let (i, w) = words.iter().enumerate().find(|(_, w)| {
        AUXILIARIES.contains(&w.key.as_str()) || CONTRACTED.contains(&w.key.as_str())
    })?;
    let original = &text[w.start..w.end];
    let leads = i == 0 && AUXILIARIES.contains(&w.key.as_str()) && w.key != "am";
    let negated = match (leads, w.key.as_str()) {
        (true, "will") => same_case(original, "won't"),
        (true, _) => format!("{original}n't"),
        (false, _) => format!("{original} not"),
    };
    Some(replace(text, w, &negated))
}

/// Rule 3: `don't`/`doesn't` between a subject pronoun and the word after it, which for
/// `doesn't` loses its third-person `-s`.
fn before_verb(text: &str, words: &[Word]) -> Option<String> {
    words.windows(2).find_map(|pair| {
        let (subject, verb) = (&pair[0], &pair[1]);
        let original = &text[verb.start..verb.end];
        if PLURAL_SUBJECTS.contains(&subject.key.as_str()) {
            Some(replace(text, verb, &format!("don't {original}")))
        } else if SINGULAR_SUBJECTS.contains(&subject.key.as_str()) {
            let base = base_form(original)?;
            Some(replace(text, verb, &format!("doesn't {base}")))
        } else {
            None
        }
    })
}

/// The infinitive of a third-person verb (`loves` → `love`, `watches` → `watch`, `tries` →
/// `try`); `None` for a word that does not end in `s`.
fn base_form(verb: &str) -> Option<String> {
    if verb.eq_ignore_ascii_case("has") {
        return Some(same_case(verb, "have"));
    }
    if let Some(stem) = verb.strip_suffix("ies") {
        return Some(format!("{stem}y"));
    }
    for ending in ["ches", "shes", "sses", "xes", "oes"] {
        if verb.ends_with(ending) {
            return Some(verb[..verb.len() - 2].to_string());
        }
    }
    verb.strip_suffix('s')
        .filter(|stem| !stem.ends_with('s'))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::negate;

    fn n(text: &str) -> Option<String> {
        negate(text)
    }

    #[test]
    fn a_negation_already_there_is_taken_out() {
        let cases = [
            ("I don't like this phone.", "I do like this phone."),
            ("The food isn't good", "The food is good"),
            ("Won't buy it again!", "Will buy it again!"),
            ("I can’t stand it", "I can stand it"),
            ("This is not bad at all.", "This is bad at all."),
            ("I never liked it", "I liked it"),
        ];
        for (text, want) in cases {
            assert_eq!(n(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn an_auxiliary_or_copula_gets_not() {
        let cases = [
            ("This movie is great!", "This movie is not great!"),
            ("The staff were friendly.", "The staff were not friendly."),
            ("I'm happy with it", "I'm not happy with it"),
            ("It’s a good day", "It’s not a good day"),
            ("We will come back.", "We will not come back."),
            ("Is it raining?", "Isn't it raining?"),
            ("Will you come?", "Won't you come?"),
        ];
        for (text, want) in cases {
            assert_eq!(n(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn a_pronoun_and_its_verb_get_do_or_does() {
        let cases = [
            ("I love this phone.", "I don't love this phone."),
            ("They hate the new update", "They don't hate the new update"),
            ("She loves London.", "She doesn't love London."),
            ("He watches every game", "He doesn't watch every game"),
            ("It tries hard.", "It doesn't try hard."),
            ("He has a new job", "He doesn't have a new job"),
        ];
        for (text, want) in cases {
            assert_eq!(n(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn no_rule_no_guess() {
        for text in [
            "Great game last night!",
            "Meeting moved to Tuesday.",
            "",
            "😀",
        ] {
            assert_eq!(n(text), None, "{text}");
        }
        // A singular subject before a word that is no third-person verb: no guess either.
        assert_eq!(n("He already left"), None);
    }

    #[test]
    fn negating_twice_restores_the_copula_sentences() {
        for text in [
            "The service is awful.",
            "We were late again",
            "I'm so tired",
            "Is it over?",
        ] {
            let twice = n(&n(text).unwrap()).unwrap();
            assert_eq!(twice, text);
        }
    }

    #[test]
    fn multibyte_text_around_the_change_is_kept() {
        assert_eq!(
            n("Café in München is great ☕").as_deref(),
            Some("Café in München is not great ☕")
        );
    }
}
