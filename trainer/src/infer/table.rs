//! The `table` format: each answer drawn as readable text from the same JSON object the
//! `json`/`jsonl` formats print, so the three can never disagree about a result.

use std::fmt::Write;

use serde_json::Value;

/// `[n] error: ...` for an error item, else `None`.
fn error(n: usize, v: &Value) -> Option<String> {
    let e = v.get("error")?.as_str()?;
    Some(format!("[{n}] error: {e}\n"))
}

/// The `[n] text` heading line, with the item's `id` when it has one.
fn heading(n: usize, v: &Value) -> String {
    let text = v["text"].as_str().unwrap_or("");
    match v.get("id") {
        Some(id) => format!("[{n}] ({id}) {text}\n"),
        None => format!("[{n}] {text}\n"),
    }
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// One prediction: the class with its probability, then each entity.
pub fn prediction(n: usize, v: &Value) -> String {
    if let Some(e) = error(n, v) {
        return e;
    }
    let mut s = heading(n, v);
    let label = v["sentence"]["label"].as_str().unwrap_or("?");
    let p = v["sentence"]["probs"][label].as_f64().unwrap_or(f64::NAN);
    let _ = writeln!(s, "    class: {label} ({p:.3})");
    for e in v["entities"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "    entity: {:?} {} ({:.3}) chars {}..{}",
            e["text"].as_str().unwrap_or(""),
            e["label"].as_str().unwrap_or("?"),
            e["score"].as_f64().unwrap_or(f64::NAN),
            e["start"],
            e["end"]
        );
    }
    s
}

/// One embedding: its wordpieces and the first dimensions.
pub fn embedding(n: usize, v: &Value) -> String {
    if let Some(e) = error(n, v) {
        return e;
    }
    const SHOWN: usize = 8;
    let tokens = strs(&v["tokens"]);
    let emb = v["embedding"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let head: Vec<String> = emb
        .iter()
        .take(SHOWN)
        .map(|x| format!("{:.4}", x.as_f64().unwrap_or(f64::NAN)))
        .collect();
    let mut s = heading(n, v);
    let _ = writeln!(s, "    wordpieces ({}): {}", tokens.len(), tokens.join(" "));
    let _ = writeln!(
        s,
        "    embedding ({} dims, L2-normalised): {} …",
        emb.len(),
        head.join(" ")
    );
    s
}

/// One attention map: the layer and head, then the matrix over the wordpieces.
pub fn attention(n: usize, v: &Value) -> String {
    if let Some(e) = error(n, v) {
        return e;
    }
    let mut s = format!("layer {} head {}: ", v["layer"], v["head"]);
    s.push_str(&heading(n, v));
    let tokens: Vec<String> = strs(&v["tokens"]).into_iter().map(String::from).collect();
    let rows: Vec<Vec<f32>> = v["attention"]
        .as_array()
        .into_iter()
        .flatten()
        .map(strs_f32)
        .collect();
    s.push_str(&matrix(&tokens, &rows));
    s
}

fn strs_f32(r: &Value) -> Vec<f32> {
    r.as_array()
        .into_iter()
        .flatten()
        .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
        .collect()
}

/// A labelled square matrix: rows and columns numbered, with a legend of what each number is.
pub fn matrix(labels: &[String], m: &[Vec<f32>]) -> String {
    let label = |i: usize| format!("[{}]", i + 1);
    let mut s = String::new();
    for (i, t) in labels.iter().enumerate() {
        let _ = writeln!(s, "{} {}", label(i), t);
    }
    let _ = write!(s, "{:>6}", "");
    for j in 0..labels.len() {
        let _ = write!(s, "{:>8}", label(j));
    }
    s.push('\n');
    for (i, row) in m.iter().enumerate() {
        let _ = write!(s, "{:>6}", label(i));
        for v in row {
            let _ = write!(s, "{v:>8.4}");
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_and_ids_are_shown() {
        let err = json!({"line": 3, "error": "f:3: the text is empty"});
        assert_eq!(prediction(3, &err), "[3] error: f:3: the text is empty\n");
        let v = json!({"text": "hi", "id": 7, "tokens": ["[CLS]", "hi", "[SEP]"],
                       "embedding": [0.6, 0.8]});
        assert_eq!(
            embedding(1, &v),
            "[1] (7) hi\n    wordpieces (3): [CLS] hi [SEP]\n    embedding (2 dims, L2-normalised): 0.6000 0.8000 …\n"
        );
    }

    /// Column headers end where the numbers below them end (8 characters per column after
    /// the 6-character row label).
    #[test]
    fn matrix_numbers_rows_and_columns() {
        let m = matrix(
            &["a".into(), "b".into()],
            &[vec![1.0, 0.0], vec![0.25, 0.75]],
        );
        assert_eq!(
            m,
            "[1] a\n[2] b\n           [1]     [2]\n   [1]  1.0000  0.0000\n   [2]  0.2500  0.7500\n"
        );
    }
}
