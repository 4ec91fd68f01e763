//! BIO tags → entity spans, the one decoder shared by evaluation, `glassbox predict` and the
//! page, so that what is scored is exactly what is shown.
//!
//! Chunking follows conlleval and seqeval's default (non-strict) mode: an `I-X` that follows
//! `O` or a tag of another type opens a new entity instead of being dropped, and a `B-X`
//! always opens one. Real models emit such sequences; discarding them would hide errors.

use crate::text::labels::Tag;

/// One entity over tag positions `start..end` (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagSpan {
    /// Entity type (`PER`, `LOC`, …).
    pub label: String,
    /// First tag position of the entity.
    pub start: usize,
    /// One past its last tag position.
    pub end: usize,
}

/// The entities of a BIO sequence, in order.
///
/// An `I-` tag that follows `O` or another type opens an entity (conlleval's rule):
///
/// ```
/// use glassbox_model::text::decode::bio_spans;
///
/// let spans = bio_spans(&["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]);
/// let got: Vec<(&str, usize, usize)> =
///     spans.iter().map(|s| (s.label.as_str(), s.start, s.end)).collect();
/// assert_eq!(got, [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 5), ("ORG", 5, 6)]);
/// ```
pub fn bio_spans<S: AsRef<str>>(tags: &[S]) -> Vec<TagSpan> {
    let mut spans = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    for (i, tag) in tags.iter().enumerate() {
        let tag = Tag::parse(tag.as_ref());
        let continues = matches!((tag, open), (Tag::Inside(kind), Some((_, k))) if k == kind);
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
        if let Some(kind) = tag.kind() {
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

/// One wordpiece with its predicted tag, for `glassbox predict` and the page.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PieceTag {
    /// The wordpiece as the tokenizer spells it (`##ing`).
    pub piece: String,
    /// Character (Unicode scalar) offsets into the text.
    pub start: usize,
    /// One past its last character.
    pub end: usize,
    /// The most probable tag.
    pub tag: String,
    /// That tag's probability.
    pub score: f32,
}

/// One predicted entity with character offsets: `text` equals the characters
/// `start..end` of the input.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Entity {
    /// The entity's characters from the input.
    pub text: String,
    /// Entity type (`PER`, `LOC`, …).
    pub label: String,
    /// Character offset of its first character.
    pub start: usize,
    /// Character offset one past its last character.
    pub end: usize,
    /// Mean probability of the entity's word tags.
    pub score: f32,
}

/// Index and value of the largest entry (the first one on ties).
pub fn argmax(row: &[f32]) -> (usize, f32) {
    row.iter().copied().enumerate().fold(
        (0, f32::MIN),
        |best, (i, v)| if v > best.1 { (i, v) } else { best },
    )
}

/// Tags of every non-special wordpiece. `probs` is `[pieces × labels]` (softmaxed).
pub fn piece_tags(t: &crate::Tokenized, probs: &[f32], labels: &[String]) -> Vec<PieceTag> {
    let k = labels.len();
    (0..t.ids.len())
        .filter(|&p| !t.special[p])
        .map(|p| {
            let (i, score) = argmax(&probs[p * k..(p + 1) * k]);
            PieceTag {
                piece: t.tokens[p].clone(),
                start: t.offsets[p].0,
                end: t.offsets[p].1,
                tag: labels[i].clone(),
                score,
            }
        })
        .collect()
}

/// How a word's tag distribution is read from its wordpieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Aggregation {
    /// The first piece's distribution (what training scores and `glassbox predict` prints).
    First,
    /// The mean over the word's pieces.
    Mean,
    /// Per tag, the largest probability over the pieces, renormalised to sum to one.
    Max,
}

impl Aggregation {
    /// Every aggregation, in the order menus list them.
    pub const ALL: [Aggregation; 3] = [Aggregation::First, Aggregation::Mean, Aggregation::Max];

    /// The name the CLI flag, the page's menu and permalinks use.
    pub fn name(self) -> &'static str {
        match self {
            Aggregation::First => "first",
            Aggregation::Mean => "mean",
            Aggregation::Max => "max",
        }
    }
}

impl std::str::FromStr for Aggregation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Aggregation::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| format!("unknown aggregation {s:?} (expected first, mean or max)"))
    }
}

/// One word: its first and last wordpiece and its tag distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct WordProbs {
    /// Index of the word's first wordpiece.
    pub first: usize,
    /// Index of its last wordpiece.
    pub last: usize,
    /// Tag distribution of the word, pooled over its pieces.
    pub probs: Vec<f32>,
}

/// One pre-tokenizer word: its id, its first and last wordpiece, and its character span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// The pre-tokenizer's word index.
    pub id: u32,
    /// Index of the word's first wordpiece.
    pub first: usize,
    /// Index of its last wordpiece.
    pub last: usize,
    /// Character offset of its first character.
    pub start: usize,
    /// Character offset one past its last character.
    pub end: usize,
}

/// The words of `t` in order, from the wordpieces' word ids (special tokens belong to none).
pub fn words(t: &crate::Tokenized) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    for (p, w) in t.word_ids.iter().enumerate() {
        let Some(id) = *w else { continue };
        match out.last_mut() {
            Some(last) if last.id == id => {
                last.last = p;
                last.end = t.offsets[p].1;
            }
            _ => out.push(Word {
                id,
                first: p,
                last: p,
                start: t.offsets[p].0,
                end: t.offsets[p].1,
            }),
        }
    }
    out
}

/// Tag distributions per pre-tokenizer word. `probs` is `[pieces × k]` (softmaxed).
pub fn word_probs(
    t: &crate::Tokenized,
    probs: &[f32],
    k: usize,
    agg: Aggregation,
) -> Vec<WordProbs> {
    words(t)
        .into_iter()
        .map(|Word { first, last, .. }| {
            let row = |p: usize| &probs[p * k..(p + 1) * k];
            let n = (last - first + 1) as f32;
            let probs = match agg {
                Aggregation::First => row(first).to_vec(),
                Aggregation::Mean => (0..k)
                    .map(|j| (first..=last).map(|p| row(p)[j]).sum::<f32>() / n)
                    .collect(),
                Aggregation::Max => {
                    let m: Vec<f32> = (0..k)
                        .map(|j| (first..=last).map(|p| row(p)[j]).fold(0.0, f32::max))
                        .collect();
                    let total: f32 = m.iter().sum::<f32>().max(1e-12);
                    m.iter().map(|x| x / total).collect()
                }
            };
            WordProbs { first, last, probs }
        })
        .collect()
}

/// Entities decoded per word, as they are scored in training: a word takes the tag of its
/// first wordpiece, so an entity never starts or ends inside a word.
pub fn entities(t: &crate::Tokenized, probs: &[f32], labels: &[String]) -> Vec<Entity> {
    entities_by(t, probs, labels, Aggregation::First)
}

/// [`entities`] with the word distributions aggregated as `agg` says (the page's toggle).
pub fn entities_by(
    t: &crate::Tokenized,
    probs: &[f32],
    labels: &[String],
    agg: Aggregation,
) -> Vec<Entity> {
    let words = word_probs(t, probs, labels.len(), agg);
    let tagged: Vec<(usize, f32)> = words.iter().map(|w| argmax(&w.probs)).collect();
    let tags: Vec<&str> = tagged.iter().map(|&(i, _)| labels[i].as_str()).collect();
    let chars: Vec<char> = t.text.chars().collect();
    bio_spans(&tags)
        .into_iter()
        .map(|s| {
            let start = t.offsets[words[s.start].first].0;
            let end = t.offsets[words[s.end - 1].last].1;
            let score =
                tagged[s.start..s.end].iter().map(|x| x.1).sum::<f32>() / (s.end - s.start) as f32;
            Entity {
                text: chars[start..end].iter().collect(),
                label: s.label,
                start,
                end,
                score,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregation_names_round_trip() {
        for a in Aggregation::ALL {
            assert_eq!(a.name().parse::<Aggregation>(), Ok(a));
        }
        assert_eq!("mean".parse::<Aggregation>(), Ok(Aggregation::Mean));
        assert!("median"
            .parse::<Aggregation>()
            .unwrap_err()
            .contains("median"));
    }

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

    fn tokenized(text: &str, pieces: &[(&str, usize, usize, Option<u32>)]) -> crate::Tokenized {
        let mut t = crate::Tokenized {
            text: text.into(),
            ids: vec![],
            tokens: vec![],
            offsets: vec![],
            word_ids: vec![],
            special: vec![],
            truncation: None,
        };
        for (i, &(p, a, b, w)) in pieces.iter().enumerate() {
            t.ids.push(i as u32);
            t.tokens.push(p.into());
            t.offsets.push((a, b));
            t.word_ids.push(w);
            t.special.push(w.is_none());
        }
        t
    }

    fn probs(rows: &[[f32; 3]]) -> Vec<f32> {
        rows.iter().flatten().copied().collect()
    }

    #[test]
    fn entities_carry_character_offsets_and_whole_words() {
        let labels: Vec<String> = ["O", "B-loc", "I-loc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // "Ünïcode New York biebs": accents make byte and char offsets differ.
        let text = "Ünïcode New York biebs";
        let t = tokenized(
            text,
            &[
                ("[CLS]", 0, 0, None),
                ("unicode", 0, 7, Some(0)),
                ("new", 8, 11, Some(1)),
                ("york", 12, 16, Some(2)),
                ("bie", 17, 20, Some(3)),
                ("##bs", 20, 22, Some(3)),
                ("[SEP]", 0, 0, None),
            ],
        );
        let p = probs(&[
            [1.0, 0.0, 0.0],
            [0.9, 0.05, 0.05],
            [0.1, 0.8, 0.1],
            [0.2, 0.2, 0.6],
            [0.3, 0.5, 0.2],
            [0.9, 0.05, 0.05], // continuation piece says O: the word still counts whole
            [1.0, 0.0, 0.0],
        ]);
        let e = entities(&t, &p, &labels);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(
            (e[0].text.as_str(), e[0].start, e[0].end),
            ("New York", 8, 16)
        );
        assert!((e[0].score - 0.7).abs() < 1e-6);
        assert_eq!((e[1].text.as_str(), e[1].label.as_str()), ("biebs", "loc"));
        let chars: Vec<char> = text.chars().collect();
        for x in &e {
            assert_eq!(chars[x.start..x.end].iter().collect::<String>(), x.text);
        }
        let pieces = piece_tags(&t, &p, &labels);
        assert_eq!(pieces.len(), 5);
        assert_eq!(
            (pieces[4].piece.as_str(), pieces[4].tag.as_str()),
            ("##bs", "O")
        );
    }

    #[test]
    fn word_aggregation_first_mean_and_max() {
        let labels: Vec<String> = ["O", "B-loc", "I-loc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let t = tokenized(
            "biebs",
            &[
                ("[CLS]", 0, 0, None),
                ("bie", 0, 3, Some(0)),
                ("##bs", 3, 5, Some(0)),
                ("[SEP]", 0, 0, None),
            ],
        );
        let p = probs(&[
            [1.0, 0.0, 0.0],
            [0.3, 0.5, 0.2],
            [0.9, 0.05, 0.05],
            [1.0, 0.0, 0.0],
        ]);
        let w = |agg| word_probs(&t, &p, 3, agg)[0].probs.clone();
        let near = |a: Vec<f32>, b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
        assert!(near(w(Aggregation::First), [0.3, 0.5, 0.2]));
        assert!(near(w(Aggregation::Mean), [0.6, 0.275, 0.125]));
        // Max per tag: [0.9, 0.5, 0.2], renormalised by 1.6.
        assert!(near(w(Aggregation::Max), [0.5625, 0.3125, 0.125]));
        assert_eq!(word_probs(&t, &p, 3, Aggregation::First)[0].first, 1);
        assert_eq!(word_probs(&t, &p, 3, Aggregation::First)[0].last, 2);
        // The first piece makes it an entity; averaging or max over pieces does not.
        assert_eq!(entities_by(&t, &p, &labels, Aggregation::First).len(), 1);
        assert!(entities_by(&t, &p, &labels, Aggregation::Mean).is_empty());
        assert!(entities_by(&t, &p, &labels, Aggregation::Max).is_empty());
    }
}
