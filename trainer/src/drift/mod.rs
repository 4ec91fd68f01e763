//! Drift monitoring: is the model still seeing the kind of text it was trained on?
//!
//! 1. **Observe** ([`observe`]): each answer reduces to its predicted class, top-class
//!    confidence, sentence embedding and wordpiece counts.
//! 2. **Profile** ([`profile`]): over (a seeded sample of) the training texts, those become
//!    `drift_profile.json`, a hashed file of the bundle (`glassbox export`, `glassbox profile`).
//! 3. **Compare** ([`stats`], [`compare`]): current answers against the profile — PSI on
//!    classes, Kolmogorov–Smirnov on confidence, MMD² with a permutation p-value on
//!    embeddings — each with a verdict.
//! 4. **Report** ([`offline`], [`texts`]): `glassbox drift` reads a file or a config's split
//!    and writes JSON, Markdown and charts; `glassbox serve` keeps a rolling window instead
//!    (`serve::drift`).

pub mod compare;
pub mod observe;
pub mod offline;
pub mod profile;
pub mod stats;
#[cfg(test)]
mod stats_reference;
pub mod texts;
