//! Perturbations for invariance tests: changes that should not change the prediction.
//! `glassbox robustness` applies them to its templates, the page's "what if" panel to the
//! teacher's own sentences: one implementation, so both ask the same question.
//!
//! Each works on a sentence's pieces, so a slot's characters can still be found afterwards
//! (a prepended @mention shifts them, a swap replaces them), and each takes its randomness
//! from the generator it is given: the same seed perturbs the same way.

use std::collections::BTreeMap;

use rand::seq::IndexedRandom;
use rand::Rng;

/// Named word lists (`[lexicons]` of a behavioural suite).
pub type Lexicons = BTreeMap<String, Vec<String>>;

/// One part of a sentence: literal text, or the value of the slot named `slot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The characters.
    pub text: String,
    /// The slot (lexicon) this piece's text was filled from, if any.
    pub slot: Option<String>,
}

impl Piece {
    /// Text that belongs to no slot.
    pub fn literal(text: impl Into<String>) -> Self {
        Piece {
            text: text.into(),
            slot: None,
        }
    }
}

/// A sentence as pieces; its text is their concatenation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    /// The pieces in order.
    pub pieces: Vec<Piece>,
}

impl Filled {
    /// A sentence with no slots.
    pub fn plain(text: impl Into<String>) -> Self {
        Filled {
            pieces: vec![Piece::literal(text)],
        }
    }

    /// The sentence: its pieces concatenated.
    pub fn text(&self) -> String {
        self.pieces.iter().map(|p| p.text.as_str()).collect()
    }

    /// Character offsets `start..end` of the first piece filled from `slot`.
    pub fn slot_span(&self, slot: &str) -> Option<(usize, usize)> {
        let mut start = 0;
        for p in &self.pieces {
            let len = p.text.chars().count();
            if p.slot.as_deref() == Some(slot) {
                return Some((start, start + len));
            }
            start += len;
        }
        None
    }
}

/// Emoji with no sentiment of their own, appended by [`Perturbation::Emoji`].
const NEUTRAL_EMOJI: [&str; 6] = ["📷", "☕", "🚗", "📅", "🎧", "📦"];
/// Handles prepended by [`Perturbation::Mention`].
const HANDLES: [&str; 6] = [
    "@alex_k",
    "@newsdesk",
    "@mike_t77",
    "@jen_reads",
    "@city_updates",
    "@sam_r",
];
const URL_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// What ends a sentence, for [`Perturbation::Punctuation`] and DIR's appended clauses.
const SENTENCE_END: [char; 3] = ['.', '!', '?'];

/// The names a suite's `perturb` field accepts.
pub const NAMES: &str = "none, lower, upper, typo, punctuation, emoji, url, mention, swap";

/// Which of `spans` (character ranges `start..end`) overlaps `span` the most: the entity an
/// invariance test reads a slot's type from, before and after a perturbation (ties: the
/// later span). `None` when none overlaps it.
pub fn most_overlapping(
    spans: impl IntoIterator<Item = (usize, usize)>,
    (start, end): (usize, usize),
) -> Option<usize> {
    spans
        .into_iter()
        .map(|(s, e)| e.min(end).saturating_sub(s.max(start)))
        .enumerate()
        .filter(|(_, overlap)| *overlap > 0)
        .max_by_key(|&(_, overlap)| overlap)
        .map(|(i, _)| i)
}

/// One change to a sentence that should not change what the model says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Perturbation {
    /// The sentence unchanged (a control: an invariance test on it must fail 0 %).
    None,
    /// Every letter lower-cased.
    Lower,
    /// Every letter upper-cased.
    Upper,
    /// Two adjacent, different letters of one word swapped.
    Typo,
    /// Trailing `.`/`!`/`?` removed, or a `.` added where there is none.
    Punctuation,
    /// A neutral emoji appended.
    Emoji,
    /// A short link appended.
    Url,
    /// An @mention prepended.
    Mention,
    /// The value of `slot` replaced by a different word of lexicon `to`.
    Swap {
        /// The slot whose value is replaced.
        slot: String,
        /// The lexicon the new value is drawn from.
        to: String,
    },
}

impl Perturbation {
    /// From a suite's `perturb = NAME` (with `slot` and `to` for `swap`); the error says
    /// what is missing or which names exist.
    pub fn parse(name: &str, slot: Option<&str>, to: Option<&str>) -> Result<Self, String> {
        Ok(match name {
            "none" => Perturbation::None,
            "lower" => Perturbation::Lower,
            "upper" => Perturbation::Upper,
            "typo" => Perturbation::Typo,
            "punctuation" => Perturbation::Punctuation,
            "emoji" => Perturbation::Emoji,
            "url" => Perturbation::Url,
            "mention" => Perturbation::Mention,
            "swap" => Perturbation::Swap {
                slot: slot.ok_or("perturb = \"swap\" needs `slot`")?.to_string(),
                to: to
                    .ok_or("perturb = \"swap\" needs `to` (a lexicon)")?
                    .to_string(),
            },
            other => return Err(format!("unknown perturbation {other:?} (one of: {NAMES})")),
        })
    }

    /// How reports name it.
    pub fn describe(&self) -> String {
        match self {
            Perturbation::None => "none".into(),
            Perturbation::Lower => "lower case".into(),
            Perturbation::Upper => "upper case".into(),
            Perturbation::Typo => "typo".into(),
            Perturbation::Punctuation => "punctuation added/removed".into(),
            Perturbation::Emoji => "emoji appended".into(),
            Perturbation::Url => "URL appended".into(),
            Perturbation::Mention => "@mention prepended".into(),
            Perturbation::Swap { slot, to } => format!("{{{slot}}} → {to}"),
        }
    }

    /// The perturbed sentence. A swap whose lexicon `to` is missing from `lexicons`, or whose
    /// slot the sentence lacks, leaves the sentence as it is (suites are checked for both
    /// when they load).
    pub fn apply(&self, f: &Filled, lexicons: &Lexicons, rng: &mut impl Rng) -> Filled {
        match self {
            Perturbation::None => f.clone(),
            Perturbation::Lower => map_pieces(f, str::to_lowercase),
            Perturbation::Upper => map_pieces(f, str::to_uppercase),
            Perturbation::Typo => typo(f, rng),
            Perturbation::Punctuation => toggle_end(f),
            Perturbation::Emoji => {
                let e = NEUTRAL_EMOJI.choose(rng).expect("non-empty");
                append(f, &format!(" {e}"))
            }
            Perturbation::Url => append(f, &format!(" https://t.co/{}", url_id(rng))),
            Perturbation::Mention => {
                let h = HANDLES.choose(rng).expect("non-empty");
                let mut out = f.clone();
                out.pieces.insert(0, Piece::literal(format!("{h} ")));
                out
            }
            Perturbation::Swap { slot, to } => match lexicons.get(to) {
                Some(words) => swap(f, slot, words, rng),
                None => f.clone(),
            },
        }
    }
}

fn map_pieces(f: &Filled, op: impl Fn(&str) -> String) -> Filled {
    Filled {
        pieces: f
            .pieces
            .iter()
            .map(|p| Piece {
                text: op(&p.text),
                slot: p.slot.clone(),
            })
            .collect(),
    }
}

fn url_id(rng: &mut impl Rng) -> String {
    (0..10)
        .map(|_| URL_CHARS[rng.random_range(0..URL_CHARS.len())] as char)
        .collect()
}

/// Swaps one pair of adjacent, different letters, drawn uniformly from all such pairs of the
/// sentence (both letters, so both lie in one word). A sentence without one is left as is.
fn typo(f: &Filled, rng: &mut impl Rng) -> Filled {
    let pairs: Vec<(usize, usize)> = f
        .pieces
        .iter()
        .enumerate()
        .flat_map(|(p, piece)| {
            let c: Vec<char> = piece.text.chars().collect();
            (0..c.len().saturating_sub(1))
                .filter(move |&i| {
                    c[i].is_alphabetic() && c[i + 1].is_alphabetic() && c[i] != c[i + 1]
                })
                .map(move |i| (p, i))
        })
        .collect();
    let mut out = f.clone();
    if let Some(&(p, i)) = pairs.choose(rng) {
        let mut c: Vec<char> = out.pieces[p].text.chars().collect();
        c.swap(i, i + 1);
        out.pieces[p].text = c.into_iter().collect();
    }
    out
}

/// CheckList's punctuation perturbation: removes the sentence's final `.`/`!`/`?` run if it
/// has one, else adds a `.`.
fn toggle_end(f: &Filled) -> Filled {
    let mut out = f.clone();
    if let Some(last) = out.pieces.last_mut().filter(|p| p.slot.is_none()) {
        let kept = last
            .text
            .trim_end()
            .trim_end_matches(SENTENCE_END)
            .to_string();
        if kept.len() < last.text.trim_end().len() {
            last.text = kept;
            return out;
        }
    }
    append(f, ".")
}

fn append(f: &Filled, tail: &str) -> Filled {
    let mut out = f.clone();
    out.pieces.push(Piece::literal(tail));
    out
}

/// The sentence without its final `.`/`!`/`?` run, then `clause` (DIR tests: "I love it."
/// + ", but the service was awful." → "I love it, but the service was awful.").
pub fn append_clause(f: &Filled, clause: &str) -> Filled {
    let mut out = f.clone();
    if let Some(last) = out.pieces.last_mut().filter(|p| p.slot.is_none()) {
        last.text = last
            .text
            .trim_end()
            .trim_end_matches(SENTENCE_END)
            .to_string();
    }
    out.pieces.push(Piece::literal(clause));
    out
}

/// The first piece filled from `slot` gets a word of `words` other than its own; the piece
/// keeps its slot name, so the test finds the new value where the old one was.
fn swap(f: &Filled, slot: &str, words: &[String], rng: &mut impl Rng) -> Filled {
    let mut out = f.clone();
    if let Some(p) = out
        .pieces
        .iter_mut()
        .find(|p| p.slot.as_deref() == Some(slot))
    {
        let others: Vec<&String> = words.iter().filter(|w| **w != p.text).collect();
        if let Some(w) = others.choose(rng) {
            p.text = (*w).clone();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn sentence() -> Filled {
        Filled {
            pieces: vec![
                Piece::literal("Yesterday I met "),
                Piece {
                    text: "John Smith".into(),
                    slot: Some("name_en".into()),
                },
                Piece::literal(" at the station."),
            ],
        }
    }

    fn lexicons() -> Lexicons {
        let mut l = Lexicons::new();
        l.insert(
            "other".into(),
            vec!["王伟".into(), "Иван Петров".into(), "Chinedu Okafor".into()],
        );
        l.insert("same".into(), vec!["John Smith".into()]);
        l
    }

    fn all() -> Vec<Perturbation> {
        let swap = Perturbation::parse("swap", Some("name_en"), Some("other")).unwrap();
        NAMES
            .split(", ")
            .filter(|n| *n != "swap")
            .map(|n| Perturbation::parse(n, None, None).unwrap())
            .chain([swap])
            .collect()
    }

    fn apply_with(p: &Perturbation, seed: u64) -> String {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        p.apply(&sentence(), &lexicons(), &mut rng).text()
    }

    #[test]
    fn every_perturbation_is_deterministic_per_seed() {
        for p in all() {
            assert_eq!(apply_with(&p, 3), apply_with(&p, 3), "{p:?}");
        }
        let typos: std::collections::BTreeSet<String> = (0..20)
            .map(|s| apply_with(&Perturbation::Typo, s))
            .collect();
        assert!(typos.len() > 5, "seeds give different typos: {typos:?}");
    }

    #[test]
    fn a_typo_swaps_two_adjacent_letters_of_exactly_one_word() {
        let before: Vec<String> = sentence()
            .text()
            .split_whitespace()
            .map(String::from)
            .collect();
        for seed in 0..50 {
            let after = apply_with(&Perturbation::Typo, seed);
            let after: Vec<&str> = after.split_whitespace().collect();
            assert_eq!(after.len(), before.len());
            let changed: Vec<usize> = (0..before.len())
                .filter(|&i| before[i] != after[i])
                .collect();
            assert_eq!(changed.len(), 1, "seed {seed}: {after:?}");
            let (b, a): (Vec<char>, Vec<char>) = (
                before[changed[0]].chars().collect(),
                after[changed[0]].chars().collect(),
            );
            let diff: Vec<usize> = (0..b.len()).filter(|&i| b[i] != a[i]).collect();
            assert_eq!(diff.len(), 2, "seed {seed}: {a:?}");
            assert_eq!(diff[1], diff[0] + 1);
            assert_eq!((b[diff[0]], b[diff[1]]), (a[diff[1]], a[diff[0]]));
        }
    }

    #[test]
    fn a_word_without_two_different_adjacent_letters_gets_no_typo() {
        let f = Filled {
            pieces: vec![Piece::literal("a bb 1, 22!")],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(Perturbation::Typo.apply(&f, &Lexicons::new(), &mut rng), f);
    }

    #[test]
    fn a_name_swap_replaces_exactly_the_slot() {
        let p = Perturbation::parse("swap", Some("name_en"), Some("other")).unwrap();
        for seed in 0..10 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let out = p.apply(&sentence(), &lexicons(), &mut rng);
            let name = &out.pieces[1].text;
            assert!(lexicons()["other"].contains(name), "{name}");
            assert_eq!(
                out.text(),
                format!("Yesterday I met {name} at the station.")
            );
            let (s, e) = out.slot_span("name_en").unwrap();
            assert_eq!((s, e), (16, 16 + name.chars().count()));
        }
    }

    #[test]
    fn a_swap_never_picks_the_value_already_there() {
        let p = Perturbation::parse("swap", Some("name_en"), Some("same")).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(p.apply(&sentence(), &lexicons(), &mut rng), sentence());
    }

    #[test]
    fn fixed_perturbations_give_the_hand_written_sentences() {
        let cases = [
            (
                Perturbation::None,
                "Yesterday I met John Smith at the station.",
            ),
            (
                Perturbation::Lower,
                "yesterday i met john smith at the station.",
            ),
            (
                Perturbation::Upper,
                "YESTERDAY I MET JOHN SMITH AT THE STATION.",
            ),
            (
                Perturbation::Punctuation,
                "Yesterday I met John Smith at the station",
            ),
        ];
        for (p, want) in cases {
            assert_eq!(apply_with(&p, 0), want, "{p:?}");
        }
        let no_end = Filled {
            pieces: vec![Piece::literal("so tired")],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let added = Perturbation::Punctuation.apply(&no_end, &Lexicons::new(), &mut rng);
        assert_eq!(added.text(), "so tired.");
    }

    #[test]
    fn additions_keep_the_sentence_and_move_the_slot_with_it() {
        let base = sentence().text();
        let mention = apply_with(&Perturbation::Mention, 1);
        let (handle, rest) = mention.split_once(' ').unwrap();
        assert!(HANDLES.contains(&handle) && rest == base, "{mention}");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let shifted = Perturbation::Mention.apply(&sentence(), &lexicons(), &mut rng);
        let n = handle.chars().count() + 1;
        assert_eq!(shifted.slot_span("name_en"), Some((16 + n, 26 + n)));
        let url = apply_with(&Perturbation::Url, 1);
        let id = url.strip_prefix(&format!("{base} https://t.co/")).unwrap();
        assert_eq!(id.len(), 10);
        let emoji = apply_with(&Perturbation::Emoji, 1);
        let e = emoji.strip_prefix(&format!("{base} ")).unwrap();
        assert!(NEUTRAL_EMOJI.contains(&e), "{emoji}");
    }

    #[test]
    fn a_clause_replaces_the_final_punctuation() {
        let f = append_clause(&sentence(), ", but the service was awful.");
        assert_eq!(
            f.text(),
            "Yesterday I met John Smith at the station, but the service was awful."
        );
    }

    #[test]
    fn the_most_overlapping_span_wins_and_ties_go_to_the_later() {
        let spans = [(0, 4), (6, 11), (12, 20)];
        assert_eq!(most_overlapping(spans, (7, 14)), Some(1));
        assert_eq!(most_overlapping(spans, (9, 14)), Some(2));
        assert_eq!(most_overlapping(spans, (10, 20)), Some(2));
        assert_eq!(most_overlapping(spans, (2, 8)), Some(1));
        assert_eq!(most_overlapping(spans, (4, 6)), None);
        assert_eq!(most_overlapping([], (0, 9)), None);
    }

    #[test]
    fn unknown_names_and_incomplete_swaps_are_errors() {
        let e = Perturbation::parse("shout", None, None).unwrap_err();
        assert!(e.to_string().contains("one of: none"), "{e}");
        assert!(Perturbation::parse("swap", Some("name"), None).is_err());
        assert!(Perturbation::parse("swap", None, Some("x")).is_err());
    }
}
