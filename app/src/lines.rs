//! Which lines of the input a run analyses, and the notes that say what was left out.
//!
//! The limits keep one paste from tying up the worker for minutes (a class of 3,000 tweets
//! pasted by mistake) while never dropping text silently: whatever is not analysed is named.
//! Pure, so the limits are tested natively.

/// Characters of input analysed; the rest is cut with a visible note.
pub const MAX_CHARS: usize = 100_000;
/// Lines analysed per run; the rest are listed as not analysed.
pub const MAX_LINES: usize = 64;

/// The lines to analyse, numbered from 1 as in the input, blank ones skipped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub lines: Vec<(usize, String)>,
    /// What was cut, in words, for the warnings list.
    pub notes: Vec<String>,
}

/// `input` cut to [`MAX_CHARS`] characters, with the note that says so when it was cut.
fn capped(input: &str) -> (&str, Option<String>) {
    let total = input.chars().count();
    if total <= MAX_CHARS {
        return (input, None);
    }
    let end = input
        .char_indices()
        .nth(MAX_CHARS)
        .map_or(input.len(), |(i, _)| i);
    let note =
        format!("The input has {total} characters; only the first {MAX_CHARS} were analysed.");
    (&input[..end], Some(note))
}

/// The lines a run analyses, with the notes that say what was left out.
pub fn plan(input: &str) -> Plan {
    let (text, cut) = capped(input);
    let mut notes: Vec<String> = cut.into_iter().collect();
    let mut lines: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect();
    if lines.len() > MAX_LINES {
        let rest = lines.len() - MAX_LINES;
        notes.push(format!(
            "{} lines were pasted; the first {MAX_LINES} were analysed and {rest} were not (from line {} on).",
            lines.len(),
            lines[MAX_LINES].0
        ));
        lines.truncate(MAX_LINES);
    }
    Plan { lines, notes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_skipped_and_numbers_stay_those_of_the_input() {
        let p = plan("first\n\n  \t\nsecond\r\nthird");
        assert_eq!(
            p.lines,
            vec![
                (1, "first".to_string()),
                (4, "second".to_string()),
                (5, "third".to_string())
            ]
        );
        assert!(p.notes.is_empty());
    }

    #[test]
    fn only_whitespace_gives_nothing_to_analyse() {
        assert_eq!(plan(""), Plan::default());
        assert_eq!(plan("  \n\t \n "), Plan::default());
    }

    #[test]
    fn exactly_max_lines_is_not_cut() {
        let input: Vec<String> = (0..MAX_LINES).map(|i| format!("l{i}")).collect();
        let p = plan(&input.join("\n"));
        assert_eq!(p.lines.len(), 64);
        assert!(p.notes.is_empty());
    }

    #[test]
    fn lines_past_the_limit_are_named_from_the_first_one_left_out() {
        // 3000 lines, one blank line after line 10: line numbers shift by one from there,
        // so the 65th non-blank line is input line 66.
        let mut input: Vec<String> = (0..3000).map(|i| format!("line number {i}")).collect();
        input.insert(10, String::new());
        let p = plan(&input.join("\n"));
        assert_eq!(p.lines.len(), 64);
        assert_eq!(p.lines[63], (65, "line number 63".to_string()));
        assert_eq!(
            p.notes,
            vec![
                "3000 lines were pasted; the first 64 were analysed and 2936 were not (from line 66 on)."
                    .to_string()
            ]
        );
    }

    #[test]
    fn over_long_input_is_cut_at_max_chars_counting_characters_not_bytes() {
        // 'é' is two bytes: a byte cut would land elsewhere (or panic mid-character).
        let input = "é".repeat(MAX_CHARS + 5);
        let p = plan(&input);
        assert_eq!(p.lines.len(), 1);
        assert_eq!(p.lines[0].1.chars().count(), MAX_CHARS);
        assert_eq!(
            p.notes,
            vec![
                "The input has 100005 characters; only the first 100000 were analysed.".to_string()
            ]
        );
    }

    #[test]
    fn the_character_cap_applies_before_lines_are_counted() {
        // 2 lines of 60,000 characters: the cap keeps line 1 whole and 40,000 of line 2
        // (100,000 minus the 60,000 of line 1, the newline counting as one more character:
        // 39,999 of them).
        let long = "a".repeat(60_000);
        let p = plan(&format!("{long}\n{long}"));
        assert_eq!(p.lines.len(), 2);
        assert_eq!(p.lines[0].1.len(), 60_000);
        assert_eq!(p.lines[1].1.len(), 39_999);
        assert_eq!(p.notes.len(), 1);
    }

    #[test]
    fn input_of_exactly_max_chars_is_not_cut() {
        let p = plan(&"x".repeat(MAX_CHARS));
        assert_eq!(p.lines[0].1.len(), MAX_CHARS);
        assert!(p.notes.is_empty());
    }
}
