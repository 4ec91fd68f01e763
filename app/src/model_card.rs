//! What the page reads from a bundle's MODEL_CARD.md (which the worker has verified against
//! the manifest): the sections that say where the model fails, shown beside its predictions.

/// The "## Limitations" and "## Ethical considerations" sections of a model card.
pub fn caveats(card: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in card.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            out.extend(current.take());
            if title.starts_with("Limitations") || title.starts_with("Ethical") {
                current = Some((title.to_string(), String::new()));
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out.extend(current);
    out.into_iter()
        .map(|(t, b)| (t, b.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_limitations_and_ethics_sections_are_kept_trimmed() {
        let card = "# Card\n## Intended use\nteaching\n## Limitations\n\nTweets only.\nEnglish.\n\n## Ethical considerations\nBias.\n## Metrics\nF1";
        assert_eq!(
            caveats(card),
            vec![
                (
                    "Limitations".to_string(),
                    "Tweets only.\nEnglish.".to_string()
                ),
                ("Ethical considerations".to_string(), "Bias.".to_string()),
            ]
        );
        assert!(caveats("").is_empty());
    }
}
