//! Lesson mode: a few guided steps a teacher walks a class through, over the class's own
//! sentences. Each step points at one panel and says in two or three sentences what to look
//! at there and why.
//!
//! The text is data, in one table here, so it can be read, reordered and tested in one place
//! instead of being scattered through the views; the views only ask which panel the current
//! step highlights. Steps are 0-based here and 1-based in the address (`?lesson=2`), as a
//! teacher would say them.

/// A part of the page a step can highlight; its [`id`](Panel::id) is the `data-lesson`
/// attribute of that part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// The result cards: class, probability bars, entity marks.
    Results,
    /// The wordpiece table of the inspected sentence.
    Pieces,
    /// The attention maps of the inspected sentence.
    Attention,
    /// The occlusion chart of the inspected sentence.
    Occlusion,
    /// Similarity heatmap and PCA of all sentences.
    Corpus,
}

impl Panel {
    /// Every panel a step may point at.
    pub const ALL: [Panel; 5] = [
        Panel::Results,
        Panel::Pieces,
        Panel::Attention,
        Panel::Occlusion,
        Panel::Corpus,
    ];

    /// The `data-lesson` value that marks this panel in the page.
    pub fn id(self) -> &'static str {
        match self {
            Panel::Results => "results",
            Panel::Pieces => "pieces",
            Panel::Attention => "attention",
            Panel::Occlusion => "occlusion",
            Panel::Corpus => "corpus",
        }
    }
}

/// One step: the panel it highlights, a short title and what to look at.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub panel: Panel,
    pub title: &'static str,
    pub text: &'static str,
}

/// The lesson, in order.
pub const STEPS: &[Step] = &[
    Step {
        panel: Panel::Results,
        title: "The class, and how sure the model is",
        text: "Each card shows the sentence class the model picked and one bar per class: the \
               bars are probabilities and add up to 1. A label printed at 51% and one at 99% \
               look the same, so read the bars, not only the word.",
    },
    Step {
        panel: Panel::Pieces,
        title: "From wordpieces to words to entities",
        text: "The model never sees words: the tokenizer cuts them into wordpieces (## marks a \
               continuation) and the token head tags every piece with a BIO label. A word takes \
               the tag of its first piece (or the mean or max, in the \u{201c}Word tags\u{201d} menu), and \
               consecutive words of one type become the entity marked in the card.",
    },
    Step {
        panel: Panel::Attention,
        title: "What attention shows, and what it does not",
        text: "Each thumbnail is one head of one layer: row i is how much token i reads from \
               every other token. Compare one head with the mean over heads and with rollout, \
               which chains the layers together. Attention shows where information flows, not \
               why the model decided: a word it attends to need not change the answer.",
    },
    Step {
        panel: Panel::Occlusion,
        title: "Occlusion versus attention",
        text: "Press \u{201c}Compute occlusion\u{201d}: the model runs again with each word left out, and \
               each bar is how much the probability of the predicted class drops. This measures \
               what a word changes, so compare its tallest bars with the brightest columns of \
               the attention maps: they often disagree.",
    },
    Step {
        panel: Panel::Corpus,
        title: "Similar sentences cluster",
        text: "Every sentence becomes one embedding, the mean of its token vectors. The heatmap \
               shows the cosine similarity of each pair and the scatter projects them to two \
               dimensions with PCA: sentences with the same topic or tone land close together.",
    },
];

/// What the lesson runs on when the input is empty: two pairs that should cluster (praise of
/// a product, complaints about service) and a neutral sentence with entities.
pub const DEFAULT_SENTENCES: &str = "I love my new phone, the camera is amazing!\n\
This camera takes fantastic photos, best thing I bought this year.\n\
Apple support kept me on hold for an hour. Never again.\n\
Worst customer service ever, my flight to Paris was cancelled twice.\n\
The meeting with Microsoft in Seattle is moved to Tuesday.";

/// The step a 1-based number from the address names, clamped to the lesson (0 and
/// anything past the end open the first and the last step).
pub fn step_from_number(n: usize) -> usize {
    n.clamp(1, STEPS.len()) - 1
}

/// The step after `i`, staying on the last.
pub fn next(i: usize) -> usize {
    (i + 1).min(STEPS.len() - 1)
}

/// The step before `i`, staying on the first.
pub fn prev(i: usize) -> usize {
    i.saturating_sub(1).min(STEPS.len() - 1)
}

/// "Step 2 of 5".
pub fn counter(i: usize) -> String {
    format!("Step {} of {}", i + 1, STEPS.len())
}

/// The sentences a lesson starts on: the teacher's own, else [`DEFAULT_SENTENCES`].
pub fn sentences_for(input: &str) -> Option<&'static str> {
    input.trim().is_empty().then_some(DEFAULT_SENTENCES)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sentence ends: `.`, `!` or `?` followed by a space or the end of the text.
    fn sentences(text: &str) -> usize {
        let chars: Vec<char> = text.chars().collect();
        (0..chars.len())
            .filter(|&i| ".!?".contains(chars[i]) && chars.get(i + 1).is_none_or(|c| *c == ' '))
            .count()
    }

    #[test]
    fn every_panel_is_highlighted_by_exactly_one_step_in_page_order() {
        let panels: Vec<Panel> = STEPS.iter().map(|s| s.panel).collect();
        assert_eq!(panels, Panel::ALL.to_vec());
        let ids: Vec<&str> = Panel::ALL.iter().map(|p| p.id()).collect();
        assert_eq!(
            ids,
            ["results", "pieces", "attention", "occlusion", "corpus"]
        );
    }

    #[test]
    fn each_step_says_what_to_look_at_in_two_or_three_sentences() {
        for s in STEPS {
            let n = sentences(s.text);
            assert!((2..=3).contains(&n), "{:?} has {n} sentences", s.title);
            assert!(!s.title.is_empty() && !s.text.contains("  "), "{}", s.title);
        }
        assert_eq!(sentences("One. Two! Three? 3.5 stays one"), 3);
    }

    #[test]
    fn steps_from_the_address_are_one_based_and_clamped() {
        assert_eq!(step_from_number(1), 0);
        assert_eq!(step_from_number(3), 2);
        assert_eq!(step_from_number(0), 0);
        assert_eq!(step_from_number(99), STEPS.len() - 1);
    }

    #[test]
    fn next_and_previous_stop_at_the_ends() {
        let last = STEPS.len() - 1;
        assert_eq!(next(0), 1);
        assert_eq!(next(last), last);
        assert_eq!(prev(1), 0);
        assert_eq!(prev(0), 0);
        assert_eq!(prev(last + 5), last);
        assert_eq!(counter(1), "Step 2 of 5");
    }

    #[test]
    fn an_empty_input_gets_the_default_sentences_and_a_teachers_own_are_kept() {
        assert_eq!(sentences_for(" \n\t"), Some(DEFAULT_SENTENCES));
        assert_eq!(sentences_for("my own sentence"), None);
        assert_eq!(DEFAULT_SENTENCES.lines().count(), 5);
    }
}
