//! Adversarial search against the sentence head (`glassbox attack`): how few word changes
//! flip the class, found greedily as TextAttack's `GreedyWordSwapWIR` does.
//!
//! 1. **Importance** ([`run`]): each word's occlusion score, the drop in p(class) when the
//!    word is left out; the search visits words from the most important down.
//! 2. **Candidates** ([`candidates`]): WordNet synonyms and DeepWordBug-style one-character
//!    edits, never for function words, numbers or punctuation.
//! 3. **Search** ([`search`]): at each word, the candidate that lowers p(class) most, if any
//!    does, until the class changes or the word budget is spent.
//! 4. **Constraint** ([`similarity`]): a candidate whose text drifts too far in meaning
//!    from the original (by an independent sentence encoder) is never taken.
//! 5. **Report** ([`report`]): success rate, accuracy under attack, words changed per
//!    success, queries, and every text's result.

pub mod candidates;
pub mod report;
pub mod run;
pub mod search;
pub mod similarity;
