//! A behavioural test suite as data: the TOML file users write (`configs/checklist.toml` is
//! the default), read into checked, typed tests. Every mistake a user can make in the file is
//! an error naming the file and the test; labels are checked against a bundle separately
//! ([`Suite::check_labels`]), since the file is read before the model is loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use super::template::{Lexicons, Template};
use glassbox_model::text::perturb::Perturbation;

/// Cases per test when neither the test nor the suite says.
pub const DEFAULT_MAX_CASES: usize = 100;
/// DIR tests: how far p(label) may move the wrong way before a case fails. CheckList's own
/// sentiment suite uses 0.1: smaller moves are within what rewording alone does.
pub const DEFAULT_TOLERANCE: f32 = 0.1;

/// The suite compiled into the binary: `configs/checklist.toml`.
const BUILTIN: &str = include_str!("../../../configs/checklist.toml");
pub const BUILTIN_NAME: &str = "built-in suite (configs/checklist.toml)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Minimum functionality: each case has a known answer.
    Mft,
    /// Invariance: a perturbation must not change the prediction.
    Inv,
    /// Directional: an addition must move a probability one way, not the other.
    Dir,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Head {
    Sentence,
    Token,
}

/// Which way an appended clause should move p(label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// p(label) must not rise by more than the tolerance.
    Down,
    /// p(label) must not fall by more than the tolerance.
    Up,
}

/// What a test checks, with everything it needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// MFT, sentence head: the class is one of `expect` (when given) and none of `expect_not`.
    Label {
        expect: Vec<String>,
        expect_not: Vec<String>,
    },
    /// MFT, token head: an entity of type `label` covers exactly the value of `slot`.
    Entity { label: String, slot: String },
    /// INV: the class (sentence head) or the entity type over `watch` (token head) stays.
    Invariant {
        perturb: Perturbation,
        watch: Option<String>,
    },
    /// DIR: each clause appended moves p(label) in `direction` (within `tolerance`).
    Directional {
        append: Vec<String>,
        label: String,
        direction: Direction,
        tolerance: f32,
    },
}

#[derive(Debug, Clone)]
pub struct Test {
    pub name: String,
    pub capability: String,
    pub head: Head,
    pub templates: Vec<Template>,
    pub max_cases: usize,
    pub check: Check,
}

impl Test {
    pub fn kind(&self) -> Kind {
        match self.check {
            Check::Label { .. } | Check::Entity { .. } => Kind::Mft,
            Check::Invariant { .. } => Kind::Inv,
            Check::Directional { .. } => Kind::Dir,
        }
    }

    /// What passing means, in a few words, for the reports.
    pub fn expectation(&self) -> String {
        match &self.check {
            Check::Label { expect, expect_not } => {
                let mut parts = Vec::new();
                if !expect.is_empty() {
                    parts.push(expect.join(" or "));
                }
                if !expect_not.is_empty() {
                    parts.push(format!("not {}", expect_not.join(", not ")));
                }
                parts.join(", ")
            }
            Check::Entity { label, slot } => format!("{label} on {{{slot}}}"),
            Check::Invariant { perturb, .. } => format!("same under {}", perturb.describe()),
            Check::Directional {
                label,
                direction,
                tolerance,
                ..
            } => {
                let way = match direction {
                    Direction::Down => "up",
                    Direction::Up => "down",
                };
                format!("p({label}) not {way} by > {tolerance}")
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Suite {
    /// Where it was read from (a path, or [`BUILTIN_NAME`]).
    pub source: String,
    pub lexicons: Lexicons,
    pub tests: Vec<Test>,
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    max_cases: Option<usize>,
    #[serde(default)]
    lexicons: Lexicons,
    /// Named lists of base sentences (templates) that tests share with `sentences = NAME`.
    #[serde(default)]
    sentences: BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "test")]
    tests: Vec<TestSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestSpec {
    name: String,
    capability: String,
    kind: Kind,
    head: Option<Head>,
    #[serde(default, alias = "template", deserialize_with = "one_or_many")]
    templates: Vec<String>,
    sentences: Option<String>,
    max_cases: Option<usize>,
    #[serde(default, deserialize_with = "one_or_many")]
    expect: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    expect_not: Vec<String>,
    entity: Option<String>,
    slot: Option<String>,
    perturb: Option<String>,
    to: Option<String>,
    #[serde(default)]
    append: Vec<String>,
    label: Option<String>,
    direction: Option<Direction>,
    tolerance: Option<f32>,
}

/// A string or a list of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl Suite {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read suite {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn builtin() -> Result<Self> {
        Self::parse(BUILTIN, BUILTIN_NAME)
    }

    /// Parses and checks `text`; `source` names it in errors (toml's carry line and column).
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let file: SuiteFile =
            toml::from_str(text).with_context(|| format!("suite {source} does not parse"))?;
        Self::from_spec(file, source).with_context(|| format!("suite {source}"))
    }

    fn from_spec(file: SuiteFile, source: &str) -> Result<Self> {
        for (name, words) in &file.lexicons {
            ensure!(!words.is_empty(), "lexicon {name:?} is empty");
        }
        ensure!(!file.tests.is_empty(), "no [[test]] in the suite");
        let mut seen = BTreeSet::new();
        let mut tests = Vec::with_capacity(file.tests.len());
        for (i, spec) in file.tests.iter().enumerate() {
            ensure!(
                seen.insert(spec.name.as_str()),
                "two tests are named {:?}",
                spec.name
            );
            let test = build_test(spec, &file)
                .with_context(|| format!("test #{} {:?}", i + 1, spec.name))?;
            tests.push(test);
        }
        Ok(Suite {
            source: source.to_string(),
            lexicons: file.lexicons,
            tests,
        })
    }

    /// Every label a test names must be one of the bundle's sentence labels or entity types.
    pub fn check_labels(&self, sentence_labels: &[String], entity_types: &[String]) -> Result<()> {
        for t in &self.tests {
            let (wanted, known, what): (Vec<&String>, &[String], &str) = match &t.check {
                Check::Label { expect, expect_not } => (
                    expect.iter().chain(expect_not).collect(),
                    sentence_labels,
                    "sentence label",
                ),
                Check::Directional { label, .. } => {
                    (vec![label], sentence_labels, "sentence label")
                }
                Check::Entity { label, .. } => (vec![label], entity_types, "entity type"),
                Check::Invariant { .. } => continue,
            };
            if let Some(missing) = wanted.into_iter().find(|l| !known.contains(l)) {
                bail!(
                    "suite {}: test {:?} names {what} {missing:?}, which the bundle does not have \
                     (its {what}s: {})",
                    self.source,
                    t.name,
                    known.join(", ")
                );
            }
        }
        Ok(())
    }
}

fn build_test(spec: &TestSpec, file: &SuiteFile) -> Result<Test> {
    check_fields(spec)?;
    let templates = templates_of(spec, file)?;
    let head = head_of(spec)?;
    let check = match spec.kind {
        Kind::Mft => mft_check(spec, &templates)?,
        Kind::Inv => inv_check(spec, head, &templates, &file.lexicons)?,
        Kind::Dir => dir_check(spec)?,
    };
    let max_cases = spec
        .max_cases
        .or(file.max_cases)
        .unwrap_or(DEFAULT_MAX_CASES);
    ensure!(max_cases > 0, "max_cases must be at least 1");
    Ok(Test {
        name: spec.name.clone(),
        capability: spec.capability.clone(),
        head,
        templates,
        max_cases,
        check,
    })
}

/// A field that belongs to another kind of test is a mistake worth reporting, not ignoring.
fn check_fields(spec: &TestSpec) -> Result<()> {
    use Kind::*;
    let fields: [(&str, bool, &[Kind]); 9] = [
        ("expect", !spec.expect.is_empty(), &[Mft]),
        ("expect_not", !spec.expect_not.is_empty(), &[Mft]),
        ("entity", spec.entity.is_some(), &[Mft]),
        ("slot", spec.slot.is_some(), &[Mft, Inv]),
        ("perturb", spec.perturb.is_some(), &[Inv]),
        ("to", spec.to.is_some(), &[Inv]),
        ("append", !spec.append.is_empty(), &[Dir]),
        ("label", spec.label.is_some(), &[Dir]),
        (
            "direction/tolerance",
            spec.direction.is_some() || spec.tolerance.is_some(),
            &[Dir],
        ),
    ];
    for (name, present, kinds) in fields {
        if present && !kinds.contains(&spec.kind) {
            bail!("`{name}` does not apply to a {:?} test", spec.kind);
        }
    }
    Ok(())
}

/// The test's own templates, then those of its named `sentences` set; every slot must name a
/// lexicon.
fn templates_of(spec: &TestSpec, file: &SuiteFile) -> Result<Vec<Template>> {
    let mut sources: Vec<&String> = spec.templates.iter().collect();
    if let Some(set) = &spec.sentences {
        let named = file.sentences.get(set).with_context(|| {
            let known: Vec<&String> = file.sentences.keys().collect();
            format!("no [sentences] list named {set:?} (there are: {known:?})")
        })?;
        sources.extend(named);
    }
    ensure!(!sources.is_empty(), "no `templates` and no `sentences`");
    sources
        .into_iter()
        .map(|s| {
            let t = Template::parse(s)?;
            if let Some(slot) = t.slots().find(|s| !file.lexicons.contains_key(*s)) {
                let known: Vec<&String> = file.lexicons.keys().collect();
                bail!("template {s:?}: no lexicon named {slot:?} (there are: {known:?})");
            }
            Ok(t)
        })
        .collect()
}

fn head_of(spec: &TestSpec) -> Result<Head> {
    let implied = match (spec.kind, spec.entity.is_some()) {
        (Kind::Mft, true) => Head::Token,
        _ => Head::Sentence,
    };
    let head = spec.head.unwrap_or(implied);
    ensure!(
        spec.kind == Kind::Inv || head == implied,
        "head = {head:?} does not fit a {:?} test{}",
        spec.kind,
        match spec.kind {
            Kind::Mft => " (`entity` makes it a token test, `expect` a sentence test)",
            _ => " (DIR tests move a sentence probability)",
        }
    );
    Ok(head)
}

fn mft_check(spec: &TestSpec, templates: &[Template]) -> Result<Check> {
    let labels = !spec.expect.is_empty() || !spec.expect_not.is_empty();
    match (&spec.entity, labels) {
        (Some(_), true) => bail!("give `entity` (token head) or `expect`/`expect_not`, not both"),
        (None, false) => bail!("an mft test needs `expect`, `expect_not` or `entity`"),
        (None, true) => {
            ensure!(spec.slot.is_none(), "`slot` goes with `entity`");
            Ok(Check::Label {
                expect: spec.expect.clone(),
                expect_not: spec.expect_not.clone(),
            })
        }
        (Some(label), false) => Ok(Check::Entity {
            label: label.clone(),
            slot: entity_slot(spec.slot.as_deref(), templates)?,
        }),
    }
}

/// The slot named, or the templates' only slot; it must occur in every template.
fn entity_slot(slot: Option<&str>, templates: &[Template]) -> Result<String> {
    let slot = match slot {
        Some(s) => s.to_string(),
        None => {
            let all: BTreeSet<&str> = templates.iter().flat_map(Template::slots).collect();
            ensure!(
                all.len() == 1,
                "name the `slot` the entity must cover (the templates have {all:?})"
            );
            all.into_iter().next().unwrap_or_default().to_string()
        }
    };
    in_every_template(&slot, templates)?;
    Ok(slot)
}

fn in_every_template(slot: &str, templates: &[Template]) -> Result<()> {
    if let Some(t) = templates.iter().find(|t| !t.slots().any(|s| s == slot)) {
        bail!("template {:?} has no {{{slot}}} slot", t.source());
    }
    Ok(())
}

fn inv_check(
    spec: &TestSpec,
    head: Head,
    templates: &[Template],
    lexicons: &Lexicons,
) -> Result<Check> {
    let name = spec.perturb.as_deref().with_context(|| {
        format!(
            "an inv test needs `perturb` (one of: {})",
            glassbox_model::text::perturb::NAMES
        )
    })?;
    let perturb = Perturbation::parse(name, spec.slot.as_deref(), spec.to.as_deref())
        .map_err(anyhow::Error::msg)?;
    if let Perturbation::Swap { slot, to } = &perturb {
        ensure!(lexicons.contains_key(to), "`to`: no lexicon named {to:?}");
        in_every_template(slot, templates)?;
    } else {
        ensure!(spec.to.is_none(), "`to` goes with perturb = \"swap\"");
    }
    let watch = match head {
        Head::Sentence => None,
        Head::Token => {
            let slot = spec
                .slot
                .clone()
                .context("a token inv test needs the `slot` whose entity type must not change")?;
            in_every_template(&slot, templates)?;
            Some(slot)
        }
    };
    Ok(Check::Invariant { perturb, watch })
}

fn dir_check(spec: &TestSpec) -> Result<Check> {
    ensure!(
        !spec.append.is_empty(),
        "a dir test needs `append` (clauses)"
    );
    let label = spec
        .label
        .clone()
        .context("a dir test needs the `label` whose probability it watches")?;
    let tolerance = spec.tolerance.unwrap_or(DEFAULT_TOLERANCE);
    ensure!(
        tolerance.is_finite() && tolerance >= 0.0,
        "tolerance must be ≥ 0, got {tolerance}"
    );
    Ok(Check::Directional {
        append: spec.append.clone(),
        label,
        direction: spec.direction.unwrap_or(Direction::Down),
        tolerance,
    })
}

/// Entity types of BIO tags (`B-person`, `I-person` → `person`), in first-seen order.
pub fn entity_types(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        if let Some(kind) = t.strip_prefix("B-").or_else(|| t.strip_prefix("I-")) {
            if !out.iter().any(|k| k == kind) {
                out.push(kind.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::GlassboxConfig;

    const BASE: &str = r#"
[lexicons]
thing = ["phone", "movie"]
name = ["John Smith", "Emily Clark"]
other = ["王伟"]

[sentences]
everyday = ["I bought a {thing}.", "Lunch was fine."]
"#;

    fn with(test: &str) -> Result<Suite> {
        Suite::parse(&format!("{BASE}\n[[test]]\n{test}"), "suite.toml")
    }

    fn err(test: &str) -> String {
        format!("{:#}", with(test).unwrap_err())
    }

    #[test]
    fn the_builtin_suite_is_valid_for_the_default_labels() {
        let s = Suite::builtin().unwrap();
        assert!(s.tests.len() >= 15, "{} tests", s.tests.len());
        let tags = GlassboxConfig::default_token_labels();
        s.check_labels(
            &GlassboxConfig::default_sentence_labels(),
            &entity_types(&tags),
        )
        .unwrap();
        for kind in [Kind::Mft, Kind::Inv, Kind::Dir] {
            assert!(s.tests.iter().any(|t| t.kind() == kind), "{kind:?}");
        }
        assert!(s.tests.iter().any(|t| t.head == Head::Token));
    }

    #[test]
    fn entity_types_strip_the_bio_prefixes() {
        let tags: Vec<String> = ["O", "B-person", "I-person", "B-geo-loc", "I-geo-loc"]
            .map(String::from)
            .to_vec();
        assert_eq!(entity_types(&tags), ["person", "geo-loc"]);
    }

    #[test]
    fn an_entity_test_finds_its_only_slot_and_implies_the_token_head() {
        let s = with(
            r#"name = "ner"
capability = "NER"
kind = "mft"
template = ["I met {name}.", "{name} called."]
entity = "person""#,
        )
        .unwrap();
        let t = &s.tests[0];
        assert_eq!(t.head, Head::Token);
        assert_eq!(t.templates.len(), 2);
        assert_eq!(
            t.check,
            Check::Entity {
                label: "person".into(),
                slot: "name".into()
            }
        );
    }

    #[test]
    fn named_sentences_and_templates_are_combined() {
        let s = with(
            r#"name = "typo"
capability = "Robustness"
kind = "inv"
perturb = "typo"
templates = ["Extra one."]
sentences = "everyday""#,
        )
        .unwrap();
        assert_eq!(s.tests[0].templates.len(), 3);
        assert_eq!(s.tests[0].max_cases, DEFAULT_MAX_CASES);
    }

    #[test]
    fn mistakes_name_the_test_and_what_is_wrong() {
        let head = "name = \"t\"\ncapability = \"c\"\n";
        let cases = [
            ("kind = \"mft\"\ntemplate = \"{nope} x\"\nexpect = \"positive\"", "no lexicon named \"nope\""),
            ("kind = \"mft\"\ntemplate = \"x\"", "needs `expect`"),
            ("kind = \"mft\"\ntemplate = \"{thing}\"\nexpect = \"positive\"\nperturb = \"typo\"", "`perturb` does not apply"),
            ("kind = \"inv\"\ntemplate = \"x\"", "needs `perturb`"),
            ("kind = \"inv\"\ntemplate = \"x\"\nperturb = \"shout\"", "unknown perturbation"),
            ("kind = \"inv\"\ntemplate = \"x {thing}\"\nperturb = \"swap\"\nslot = \"name\"\nto = \"other\"", "has no {name} slot"),
            ("kind = \"inv\"\nhead = \"token\"\ntemplate = \"x\"\nperturb = \"typo\"", "needs the `slot`"),
            ("kind = \"dir\"\ntemplate = \"x\"\nlabel = \"positive\"", "needs `append`"),
            ("kind = \"mft\"\nsentences = \"nope\"\nexpect = \"positive\"", "no [sentences] list named \"nope\""),
        ];
        for (body, want) in cases {
            let e = err(&format!("{head}{body}"));
            assert!(
                e.contains("suite suite.toml") && e.contains("test #1 \"t\""),
                "{e}"
            );
            assert!(e.contains(want), "want {want:?} in: {e}");
        }
    }

    #[test]
    fn malformed_toml_names_the_file_and_line() {
        let e = format!(
            "{:#}",
            Suite::parse("[lexicons]\nthing = [\"a\"\n", "my.toml").unwrap_err()
        );
        assert!(
            e.contains("suite my.toml does not parse") && e.contains("line"),
            "{e}"
        );
    }

    #[test]
    fn a_label_the_bundle_lacks_names_the_test_and_the_bundles_labels() {
        let s = with("name = \"joy\"\ncapability = \"c\"\nkind = \"mft\"\ntemplate = \"x\"\nexpect = \"joy\"")
            .unwrap();
        let labels: Vec<String> = ["negative", "positive"].map(String::from).to_vec();
        let e = s.check_labels(&labels, &[]).unwrap_err().to_string();
        assert!(e.contains("test \"joy\"") && e.contains("\"joy\""), "{e}");
        assert!(e.contains("negative, positive"), "{e}");
    }
}
