//! `index.json`: the registry as the page's model picker reads it — every version with its
//! aliases, headline metrics and bundle path relative to the registry. Derived from the
//! history and rewritten after every change (atomically), so it is never the source of truth.

use anyhow::Result;
use glassbox_model::weights::bundle::{self, Manifest};
use serde_json::{json, Value};

use super::{Registry, State};
use crate::io::write_json;

/// The index file's name.
pub const INDEX: &str = "index.json";

/// The index of `state`.
pub fn build(registry: &Registry, state: &State) -> Value {
    let versions: Vec<Value> = state
        .versions
        .iter()
        .map(|v| {
            let dir = registry.bundle_dir(v);
            // The manifest only: its files were checked when the version was stored.
            let metrics = std::fs::read(dir.join(bundle::MANIFEST))
                .ok()
                .and_then(|b| Manifest::from_json(&b).ok())
                .map_or(Value::Null, |m| json!(m.metrics));
            let gate = super::gate_report(registry, &v.version);
            json!({
                "gate": gate.is_file().then(|| format!("gates/{}.json", v.version)),
                "version": v.version,
                "name": v.name,
                "manifest_sha256": v.manifest_sha256,
                "path": format!("bundles/{}", v.manifest_sha256),
                "registered_at": v.registered_at,
                "aliases": state.aliases_of(&v.version),
                "metrics": metrics,
            })
        })
        .collect();
    let aliases: serde_json::Map<String, Value> = state
        .aliases
        .iter()
        .filter_map(|(a, s)| Some((a.clone(), json!(s.last()?))))
        .collect();
    json!({ "versions": versions, "aliases": aliases, "events": state.events })
}

/// Rewrites `index.json` from `state`.
pub fn write(registry: &Registry, state: &State) -> Result<()> {
    write_json(&registry.root().join(INDEX), &build(registry, state))
}
