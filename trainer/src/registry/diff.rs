//! `glassbox registry diff A B`: what differs between two versions — metrics (with the
//! change), the architecture and training config (every differing setting), the data (files
//! whose hash differs) and lineage.

use std::collections::BTreeMap;
use std::fmt::Write;

use glassbox_model::weights::bundle::Manifest;
use serde_json::{json, Value};

/// The differences, as JSON (for `--format json`) and Markdown.
pub struct Diff {
    pub json: Value,
    pub markdown: String,
}

/// Compares manifest `a` (version `va`) with `b`.
pub fn diff(va: &str, a: &Manifest, vb: &str, b: &Manifest) -> Diff {
    let metrics = metric_rows(a, b);
    let settings = changed(&settings(a), &settings(b));
    let data = changed(&data(a), &data(b));
    let mut md = format!("# {va} → {vb}\n\n## Metrics\n\n");
    md.push_str("| task | metric | split | ");
    let _ = writeln!(md, "{va} | {vb} | change |\n|---|---|---|---:|---:|---:|");
    for r in &metrics {
        let cell = |v: &Value| v.as_f64().map_or("–".into(), |x| format!("{x:.4}"));
        let delta = r["change"]
            .as_f64()
            .map_or("–".into(), |d| format!("{d:+.4}"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {delta} |",
            r["task"].as_str().unwrap_or(""),
            r["metric"].as_str().unwrap_or(""),
            r["split"].as_str().unwrap_or(""),
            cell(&r["a"]),
            cell(&r["b"]),
        );
    }
    section(&mut md, "Config", &settings);
    section(&mut md, "Data", &data);
    let json = json!({ "a": va, "b": vb, "metrics": metrics, "config": settings, "data": data });
    Diff { json, markdown: md }
}

fn section(md: &mut String, title: &str, rows: &[Value]) {
    let _ = writeln!(md, "\n## {title}\n");
    if rows.is_empty() {
        md.push_str("No differences.\n");
        return;
    }
    for r in rows {
        let _ = writeln!(
            md,
            "- `{}`: {} → {}",
            r["key"].as_str().unwrap_or(""),
            r["a"],
            r["b"]
        );
    }
}

/// One row per (task, metric, split) present in either manifest.
fn metric_rows(a: &Manifest, b: &Manifest) -> Vec<Value> {
    let index = |m: &Manifest| -> BTreeMap<(String, String, String), f64> {
        m.metrics
            .iter()
            .map(|x| ((x.task.clone(), x.name.clone(), x.split.clone()), x.value))
            .collect()
    };
    let (ia, ib) = (index(a), index(b));
    let mut keys: Vec<_> = ia.keys().chain(ib.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|k| {
            let (va, vb) = (ia.get(&k).copied(), ib.get(&k).copied());
            let change = va.zip(vb).map(|(x, y)| y - x);
            json!({"task": k.0, "metric": k.1, "split": k.2, "a": va, "b": vb, "change": change})
        })
        .collect()
}

/// Every architecture and training setting, flattened to `path.to.key → value`.
fn settings(m: &Manifest) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    flatten("config", &json!(m.config), &mut out);
    if let Some(t) = m.training.as_ref().and_then(|t| t.get("config")) {
        flatten("training", t, &mut out);
    }
    out.insert("quantization".into(), json!(m.quantization));
    out.insert("max_seq_len".into(), json!(m.max_seq_len));
    out.insert("base_checkpoint".into(), json!(m.base_checkpoint));
    if let Some(l) = &m.lineage {
        flatten("lineage", &json!(l), &mut out);
    }
    out
}

/// Data files by name → SHA-256.
fn data(m: &Manifest) -> BTreeMap<String, Value> {
    m.data
        .iter()
        .map(|p| (p.name.clone(), json!(p.sha256)))
        .collect()
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                flatten(&format!("{prefix}.{k}"), x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// Keys whose value differs (or exists on one side only).
fn changed(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Vec<Value> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| json!({"key": k, "a": a.get(k), "b": b.get(k)}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_settings_show_only_real_changes() {
        let a = BTreeMap::from([
            ("x.lr".to_string(), json!(1e-4)),
            ("x.seed".into(), json!(1)),
        ]);
        let b = BTreeMap::from([
            ("x.lr".to_string(), json!(2e-4)),
            ("x.seed".into(), json!(1)),
            ("x.new".into(), json!(true)),
        ]);
        let c = changed(&a, &b);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0]["key"], "x.lr");
        assert_eq!(c[1], json!({"key": "x.new", "a": null, "b": true}));
        let mut flat = BTreeMap::new();
        flatten("t", &json!({"a": {"b": [1, 2]}, "c": "d"}), &mut flat);
        assert_eq!(flat.keys().collect::<Vec<_>>(), vec!["t.a.b", "t.c"]);
    }
}
