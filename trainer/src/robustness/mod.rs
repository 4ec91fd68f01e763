//! Behavioural testing in the manner of CheckList (Ribeiro et al., ACL 2020): instead of one
//! accuracy on a held-out split, many small tests of one capability each, for both heads.
//! A held-out score hides what a model cannot do when the split rarely asks for it (negation,
//! names from other cultures and scripts, a typo); these tests ask on purpose.
//!
//! 1. **Suite** ([`suite`], [`template`]): a TOML file of lexicons and tests. MFT (minimum
//!    functionality) tests expand templates such as `"I love this {thing}."` over their
//!    lexicons and expect a class (or not a class), or an entity type on a slot's value. INV
//!    tests perturb sentences ([`glassbox_model::text::perturb`], shared with the page's
//!    "what if" panel: typo, case, punctuation, emoji, URL, @mention, a slot swapped for a
//!    word of another lexicon) and expect no change. DIR tests append a clause and expect a
//!    probability not to move the wrong way.
//! 2. **Run** ([`run`]): the cases are built from the seed, the suite's distinct sentences go
//!    through the model together, and every case is judged ([`judge`]) on the prediction
//!    `glassbox predict` would print for it.
//! 3. **Report** ([`report`], [`chart`]): `robustness.json`, `robustness.md`,
//!    `robustness.svg` and a table on stdout. The command measures; it does not gate.

pub mod chart;
pub mod judge;
pub mod report;
pub mod run;
pub mod suite;
pub mod template;
