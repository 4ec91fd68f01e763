//! The "what if" panel's logic, free of the page: which edits exist, how each changes the
//! teacher's sentence, and whether the model's answer to the edited sentence breaks the
//! invariance the edit tests. The perturbations are the model crate's, the ones
//! `glassbox robustness` applies to its templates, and the names and places swapped in come
//! from the same suite file, so the page and the CLI ask the same questions.

use std::collections::BTreeMap;

use glassbox_model::text::decode::{argmax, Entity};
use glassbox_model::text::negate::negate;
use glassbox_model::text::perturb::{most_overlapping, Filled, Lexicons, Perturbation, Piece};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

/// The CLI's default behavioural suite; the panel reads its lexicons.
const SUITE: &str = include_str!("../../configs/checklist.toml");
/// The slot name a swap gives the entity it replaces.
const SLOT: &str = "entity";

/// Whether an entity type is the kind a swap replaces.
type Fits = fn(&str) -> bool;

/// One edit of a sentence the panel offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    Typo,
    Lower,
    Upper,
    Punctuation,
    Emoji,
    Url,
    Mention,
    /// The first person entity replaced by a name from another culture (Latin script).
    NameCulture,
    /// The first person entity replaced by a name in another script.
    NameScript,
    /// The first place entity replaced by a city elsewhere in the world.
    Place,
    /// Negated, or its negation removed: the class is expected to change.
    Negate,
}

impl Edit {
    /// In the order the panel lists them.
    pub const ALL: [Edit; 11] = [
        Edit::Typo,
        Edit::Lower,
        Edit::Upper,
        Edit::Punctuation,
        Edit::Emoji,
        Edit::Url,
        Edit::Mention,
        Edit::NameCulture,
        Edit::NameScript,
        Edit::Place,
        Edit::Negate,
    ];

    /// Stable name, for the picker's values and the tests.
    pub fn name(self) -> &'static str {
        match self {
            Edit::Typo => "typo",
            Edit::Lower => "lower",
            Edit::Upper => "upper",
            Edit::Punctuation => "punctuation",
            Edit::Emoji => "emoji",
            Edit::Url => "url",
            Edit::Mention => "mention",
            Edit::NameCulture => "name-culture",
            Edit::NameScript => "name-script",
            Edit::Place => "place",
            Edit::Negate => "negate",
        }
    }

    pub fn from_name(name: &str) -> Option<Edit> {
        Edit::ALL.into_iter().find(|e| e.name() == name)
    }

    /// How the picker words it.
    pub fn label(self) -> &'static str {
        match self {
            Edit::Typo => "a typo (two letters swapped)",
            Edit::Lower => "all lower case",
            Edit::Upper => "ALL UPPER CASE",
            Edit::Punctuation => "final punctuation added or removed",
            Edit::Emoji => "a neutral emoji appended",
            Edit::Url => "a link appended",
            Edit::Mention => "an @mention prepended",
            Edit::NameCulture => "the person's name from another culture",
            Edit::NameScript => "the person's name in another script",
            Edit::Place => "the place swapped for a city elsewhere",
            Edit::Negate => "negated (or the negation removed)",
        }
    }

    /// Whether the model should answer as before: every edit but negation.
    pub fn invariant(self) -> bool {
        self != Edit::Negate
    }

    /// The lexicon a swap draws from, and which entity types it replaces.
    fn swap(self) -> Option<(&'static str, Fits)> {
        match self {
            Edit::NameCulture => Some(("name_other_cultures", is_person)),
            Edit::NameScript => Some(("name_other_scripts", is_person)),
            Edit::Place => Some(("city_other", is_place)),
            _ => None,
        }
    }

    fn perturbation(self) -> Option<Perturbation> {
        Some(match self {
            Edit::Typo => Perturbation::Typo,
            Edit::Lower => Perturbation::Lower,
            Edit::Upper => Perturbation::Upper,
            Edit::Punctuation => Perturbation::Punctuation,
            Edit::Emoji => Perturbation::Emoji,
            Edit::Url => Perturbation::Url,
            Edit::Mention => Perturbation::Mention,
            _ => return None,
        })
    }
}

/// Person types across label sets: WNUT's `person`, CoNLL's `PER`.
fn is_person(label: &str) -> bool {
    let l = label.to_lowercase();
    l == "per" || l.starts_with("person")
}

/// Place types: WNUT's `geo-loc`, CoNLL's `LOC`, OntoNotes' `GPE`.
fn is_place(label: &str) -> bool {
    matches!(
        label.to_lowercase().as_str(),
        "geo-loc" | "loc" | "location" | "gpe" | "city"
    )
}

/// The suite's word lists. The suite is compiled in and a unit test parses it, so an empty
/// map here means the file lost its `[lexicons]` table.
pub fn lexicons() -> Lexicons {
    #[derive(Deserialize)]
    struct Suite {
        #[serde(default)]
        lexicons: Lexicons,
    }
    toml::from_str::<Suite>(SUITE)
        .map(|s| s.lexicons)
        .unwrap_or_default()
}

/// A sentence after an edit. A swap also says which characters it replaced (`before`, in
/// the original) and which it put in (`after`, in the edited text).
#[derive(Clone, Debug, PartialEq)]
pub struct Edited {
    pub edit: Edit,
    pub text: String,
    pub swap: Option<Swapped>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Swapped {
    pub before: (usize, usize),
    pub after: (usize, usize),
}

/// `text` edited by `edit`; `entities` are the model's for `text` (a swap replaces the first
/// of the right type). The same `seed` edits the same way. An edit that cannot apply (no
/// person to swap, no rule to negate by, nothing it would change) says why.
pub fn apply(
    edit: Edit,
    text: &str,
    entities: &[Entity],
    lexicons: &Lexicons,
    seed: u64,
) -> Result<Edited, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (out, swap) = if let Some(p) = edit.perturbation() {
        (
            p.apply(&Filled::plain(text), lexicons, &mut rng).text(),
            None,
        )
    } else if let Some((lexicon, fits)) = edit.swap() {
        let (out, swapped) = swap_entity(text, entities, lexicon, fits, lexicons, &mut rng)?;
        (out, Some(swapped))
    } else {
        let out = negate(text).ok_or(
            "no negation rule fits this sentence (it needs a verb such as is, do, can, or a pronoun before its verb): edit it by hand",
        )?;
        (out, None)
    };
    if out == text {
        return Err(format!("{} leaves this sentence as it is", edit.label()));
    }
    Ok(Edited {
        edit,
        text: out,
        swap,
    })
}

fn swap_entity(
    text: &str,
    entities: &[Entity],
    lexicon: &str,
    fits: Fits,
    lexicons: &Lexicons,
    rng: &mut ChaCha8Rng,
) -> Result<(String, Swapped), String> {
    let kind = if lexicon == "city_other" {
        "place"
    } else {
        "person"
    };
    let e = entities.iter().find(|e| fits(&e.label)).ok_or(format!(
        "the model found no {kind} in this sentence to swap"
    ))?;
    let chars: Vec<char> = text.chars().collect();
    let piece = |a: usize, b: usize| Piece::literal(chars[a..b].iter().collect::<String>());
    let filled = Filled {
        pieces: vec![
            piece(0, e.start),
            Piece {
                text: e.text.clone(),
                slot: Some(SLOT.into()),
            },
            piece(e.end, chars.len()),
        ],
    };
    let swap = Perturbation::Swap {
        slot: SLOT.into(),
        to: lexicon.into(),
    };
    let out = swap.apply(&filled, lexicons, rng);
    let after = out.slot_span(SLOT).ok_or("the swap lost its slot")?;
    let swapped = Swapped {
        before: (e.start, e.end),
        after,
    };
    Ok((out.text(), swapped))
}

/// What the model said about one sentence: class probabilities and entities.
pub struct Answer<'a> {
    pub probs: &'a [f32],
    pub entities: &'a [Entity],
}

/// Why the edited sentence's answer breaks the edit's invariance, or `None` when it holds:
/// the class must stay; after a swap, the type over the new name (the entity overlapping it
/// most, as `glassbox robustness` reads a slot) must be the type over the old one. Negation
/// expects a change, so it never fails.
pub fn verdict(
    edited: &Edited,
    before: &Answer,
    after: &Answer,
    classes: &[String],
) -> Option<String> {
    if !edited.edit.invariant() {
        return None;
    }
    let (a, b) = (argmax(before.probs).0, argmax(after.probs).0);
    if a != b {
        let name = |i: usize| classes.get(i).cloned().unwrap_or_else(|| i.to_string());
        return Some(format!("class {} → {}", name(a), name(b)));
    }
    let s = edited.swap.as_ref()?;
    let (was, is) = (type_over(before, s.before), type_over(after, s.after));
    (was != is).then(|| format!("{was} → {is} over the swapped name"))
}

/// The entity type `glassbox robustness` reads over a slot: that of the entity overlapping
/// it most.
fn type_over(a: &Answer, span: (usize, usize)) -> String {
    most_overlapping(a.entities.iter().map(|e| (e.start, e.end)), span)
        .map_or("no entity".into(), |i| a.entities[i].label.clone())
}

/// The checks on the teacher's own sentences: every invariant edit that applies to each.
/// Each (sentence, edit) pair has its own seed, so adding a sentence changes no other's.
pub fn probes(
    texts: &[(String, Vec<Entity>)],
    lexicons: &Lexicons,
    seed: u64,
) -> Vec<(usize, Edited)> {
    let mut out = Vec::new();
    for (i, (text, ents)) in texts.iter().enumerate() {
        for (k, edit) in Edit::ALL.into_iter().enumerate() {
            let s = seed ^ ((i as u64) << 16) ^ k as u64;
            if let (true, Ok(e)) = (edit.invariant(), apply(edit, text, ents, lexicons, s)) {
                out.push((i, e));
            }
        }
    }
    out
}

/// One probe's outcome: the sentence, its edited copy, and why the check failed (`None`:
/// it held).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub original: String,
    pub edited: String,
    pub why: Option<String>,
}

/// One edit's outcomes over the teacher's sentences.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub outcomes: Vec<Outcome>,
}

impl Tally {
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.why.is_some())
    }

    pub fn failed(&self) -> usize {
        self.failures().count()
    }

    pub fn rate(&self) -> f64 {
        self.failed() as f64 / self.outcomes.len().max(1) as f64
    }
}

/// Outcomes per edit, in [`Edit::ALL`] order; `verdicts` holds one entry per probe (from
/// [`verdict`]).
pub fn tally(
    texts: &[(String, Vec<Entity>)],
    probes: &[(usize, Edited)],
    verdicts: &[Option<String>],
) -> Vec<(Edit, Tally)> {
    let mut by: BTreeMap<usize, Tally> = BTreeMap::new();
    for ((i, e), why) in probes.iter().zip(verdicts) {
        let k = Edit::ALL.iter().position(|x| *x == e.edit).unwrap_or(0);
        by.entry(k).or_default().outcomes.push(Outcome {
            original: texts[*i].0.clone(),
            edited: e.text.clone(),
            why: why.clone(),
        });
    }
    by.into_iter().map(|(k, t)| (Edit::ALL[k], t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(text: &str, label: &str, start: usize) -> Entity {
        Entity {
            text: text.into(),
            label: label.into(),
            start,
            end: start + text.chars().count(),
            score: 0.9,
        }
    }

    const SENTENCE: &str = "I met Sarah in London, great day!";

    fn ents() -> Vec<Entity> {
        vec![ent("Sarah", "person", 6), ent("London", "geo-loc", 15)]
    }

    #[test]
    fn the_compiled_in_suite_has_the_lexicons_swaps_draw_from() {
        let l = lexicons();
        for name in ["name_other_cultures", "name_other_scripts", "city_other"] {
            assert!(l.get(name).is_some_and(|w| w.len() >= 5), "{name}");
        }
    }

    #[test]
    fn every_edit_has_a_unique_name_that_reads_back() {
        for e in Edit::ALL {
            assert_eq!(Edit::from_name(e.name()), Some(e));
        }
        let names: std::collections::BTreeSet<_> = Edit::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), Edit::ALL.len());
        assert_eq!(Edit::from_name("shout"), None);
    }

    #[test]
    fn a_name_swap_replaces_the_first_person_and_tracks_both_spans() {
        let l = lexicons();
        for seed in 0..8 {
            let e = apply(Edit::NameScript, SENTENCE, &ents(), &l, seed).unwrap();
            let s = e.swap.clone().unwrap();
            assert_eq!(s.before, (6, 11));
            let chars: Vec<char> = e.text.chars().collect();
            let name: String = chars[s.after.0..s.after.1].iter().collect();
            assert!(l["name_other_scripts"].contains(&name), "{name}");
            assert_eq!(e.text, format!("I met {name} in London, great day!"));
        }
        let place = apply(Edit::Place, SENTENCE, &ents(), &l, 1).unwrap();
        assert!(place.text.starts_with("I met Sarah in ") && !place.text.contains("London"));
    }

    #[test]
    fn edits_that_cannot_apply_say_why() {
        let l = lexicons();
        let none = apply(Edit::NameCulture, SENTENCE, &[], &l, 0).unwrap_err();
        assert!(none.contains("no person"), "{none}");
        let no_place = apply(Edit::Place, SENTENCE, &ents()[..1], &l, 0).unwrap_err();
        assert!(no_place.contains("no place"), "{no_place}");
        let no_rule = apply(Edit::Negate, "Great game!", &[], &l, 0).unwrap_err();
        assert!(no_rule.contains("by hand"), "{no_rule}");
        let same = apply(Edit::Lower, "all lower", &[], &l, 0).unwrap_err();
        assert!(same.contains("as it is"), "{same}");
    }

    #[test]
    fn plain_edits_are_the_model_crates_perturbations() {
        let l = lexicons();
        let upper = apply(Edit::Upper, SENTENCE, &ents(), &l, 0).unwrap();
        assert_eq!(upper.text, SENTENCE.to_uppercase());
        let neg = apply(Edit::Negate, "The food is great.", &[], &l, 0).unwrap();
        assert_eq!(neg.text, "The food is not great.");
        let a = apply(Edit::Typo, SENTENCE, &ents(), &l, 5).unwrap();
        assert_eq!(a, apply(Edit::Typo, SENTENCE, &ents(), &l, 5).unwrap());
    }

    fn classes() -> Vec<String> {
        ["negative", "neutral", "positive"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn a_changed_class_fails_an_invariance_but_not_a_negation() {
        let l = lexicons();
        let typo = apply(Edit::Typo, SENTENCE, &ents(), &l, 0).unwrap();
        let pos: &'static [f32] = &[0.1, 0.2, 0.7];
        let neg: &'static [f32] = &[0.6, 0.3, 0.1];
        let a = |p: &'static [f32]| Answer {
            probs: p,
            entities: &[],
        };
        let why = verdict(&typo, &a(pos), &a(neg), &classes()).unwrap();
        assert_eq!(why, "class positive → negative");
        assert_eq!(
            verdict(&typo, &a(pos), &a(&[0.2, 0.1, 0.7]), &classes()),
            None
        );
        let negated = apply(Edit::Negate, "It is good", &[], &l, 0).unwrap();
        assert_eq!(verdict(&negated, &a(pos), &a(neg), &classes()), None);
    }

    #[test]
    fn a_swap_needs_the_same_type_over_the_new_name_as_the_cli_reads_it() {
        let l = lexicons();
        let e = apply(Edit::NameCulture, SENTENCE, &ents(), &l, 3).unwrap();
        let (s, t) = e.swap.clone().unwrap().after;
        let name: String = e.text.chars().skip(s).take(t - s).collect();
        let p = [0.1f32, 0.2, 0.7];
        let before = Answer {
            probs: &p,
            entities: &ents(),
        };
        let same = [ent(&name, "person", s)];
        let other = [ent(&name, "company", s)];
        // Part of the name tagged: the type over it is still a person's, as in the CLI.
        let first: String = name.chars().take(2).collect();
        let part = [ent(&first, "person", s)];
        let elsewhere = [ent("London", "person", t + 4)];
        let check = |after: &[Entity]| {
            let after = Answer {
                probs: &p,
                entities: after,
            };
            verdict(&e, &before, &after, &classes())
        };
        assert_eq!(check(&same), None);
        assert_eq!(check(&part), None);
        assert_eq!(
            check(&other).unwrap(),
            "person → company over the swapped name"
        );
        let none = "person → no entity over the swapped name";
        assert_eq!(check(&[]).unwrap(), none);
        assert_eq!(check(&elsewhere).unwrap(), none);
    }

    #[test]
    fn probes_cover_every_applicable_invariant_edit_and_tally_counts_them() {
        let l = lexicons();
        let texts = vec![
            (SENTENCE.to_string(), ents()),
            ("nothing to swap here".to_string(), vec![]),
        ];
        let probes = probes(&texts, &l, 7);
        let first: Vec<Edit> = probes
            .iter()
            .filter(|p| p.0 == 0)
            .map(|p| p.1.edit)
            .collect();
        assert_eq!(first, Edit::ALL[..10].to_vec());
        let second: Vec<Edit> = probes
            .iter()
            .filter(|p| p.0 == 1)
            .map(|p| p.1.edit)
            .collect();
        // lower case changes nothing; no person or place to swap; no negation (not invariant).
        assert_eq!(
            second,
            [
                Edit::Typo,
                Edit::Upper,
                Edit::Punctuation,
                Edit::Emoji,
                Edit::Url,
                Edit::Mention
            ]
        );
        let fails: Vec<Option<String>> = (0..probes.len())
            .map(|k| (k % 3 == 0).then(|| "x".to_string()))
            .collect();
        let t = tally(&texts, &probes, &fails);
        let total: usize = t.iter().map(|(_, t)| t.outcomes.len()).sum();
        let failed: usize = t.iter().map(|(_, t)| t.failed()).sum();
        assert_eq!((total, failed), (probes.len(), probes.len().div_ceil(3)));
        let typo = &t.iter().find(|(e, _)| *e == Edit::Typo).unwrap().1;
        assert_eq!(typo.outcomes.len(), 2);
        assert_eq!(typo.rate(), 0.5);
        assert_eq!(typo.outcomes[1].original, "nothing to swap here");
        assert_eq!(typo.outcomes[1].edited, probes[10].1.text);
    }
}
