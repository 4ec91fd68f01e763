//! A model registry as the page reads it: `index.json` (written by `glassbox registry`) lists
//! every version with its aliases, headline metrics, bundle folder and, for a challenger,
//! the gate report that judged it. `?registry=URL` turns the page's model into a pick from
//! that list; `?compare=a,b` loads two of them side by side.
//!
//! Everything here is pure (strings in, values out) so it is tested natively; fetching the
//! index and loading the bundles is the session's and the worker's.

#[cfg(target_arch = "wasm32")]
pub mod compare;
pub mod diff;
pub mod gate;
pub mod page;

use std::collections::BTreeMap;

use serde::Deserialize;

/// The alias the picker opens on when the address names no version.
pub const CHAMPION: &str = "champion";
/// The alias compared with the champion by the picker's "compare" button.
pub const CHALLENGER: &str = "challenger";
/// The index's file name inside a registry folder.
pub const INDEX: &str = "index.json";

/// `index.json`: the versions in registration order and where each alias points.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Index {
    pub versions: Vec<Version>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
}

/// One registered version.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Version {
    pub version: String,
    #[serde(default)]
    pub name: String,
    /// SHA-256 of the bundle's `manifest.json`: the version's identity.
    pub manifest_sha256: String,
    /// The bundle folder, relative to the registry folder.
    pub path: String,
    #[serde(default)]
    pub registered_at: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The manifest's metrics (`null` when the manifest could not be read).
    #[serde(default)]
    pub metrics: Option<Vec<Score>>,
    /// The gate report that judged this version as a challenger, relative to the registry.
    #[serde(default)]
    pub gate: Option<String>,
}

/// One evaluation metric of a version (only what the picker shows is read).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Score {
    #[serde(default)]
    pub task: String,
    pub name: String,
    pub value: f64,
}

/// The two numbers the picker shows per version.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Headline {
    /// Sentence-task macro-F1.
    pub macro_f1: Option<f64>,
    /// Entity span micro-F1.
    pub span_f1: Option<f64>,
}

impl Version {
    /// Sentiment macro-F1 and span micro-F1, when the manifest records them.
    pub fn headline(&self) -> Headline {
        let find = |name: &str| {
            self.metrics
                .iter()
                .flatten()
                .find(|m| m.name == name)
                .map(|m| m.value)
        };
        Headline {
            macro_f1: find("macro_f1"),
            span_f1: find("span_micro_f1"),
        }
    }

    /// "1.1.0 [challenger]": the version with its aliases, as errors and the picker name it.
    pub fn label(&self) -> String {
        if self.aliases.is_empty() {
            self.version.clone()
        } else {
            format!("{} [{}]", self.version, self.aliases.join(", "))
        }
    }
}

/// Where a registry lives, from the `?registry=` URL (already absolute).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The registry folder, ending in `/`: bundle and gate paths are relative to it.
    pub base: String,
    /// The index file.
    pub index: String,
}

impl Location {
    /// The folder and its index from a URL of either (`…/index.json`, `…/reg`, `…/reg/`).
    pub fn of(url: &str) -> Location {
        let url = url.split(['?', '#']).next().unwrap_or(url);
        if url.ends_with(".json") {
            let cut = url.rfind('/').map_or(0, |i| i + 1);
            Location {
                base: url[..cut].to_string(),
                index: url.to_string(),
            }
        } else {
            let base = format!("{}/", url.trim_end_matches('/'));
            Location {
                index: format!("{base}{INDEX}"),
                base,
            }
        }
    }

    /// `relative` (a bundle or gate path from the index) inside the registry folder. Refused
    /// when it could lead out of it (absolute, a scheme, `..`): the index is data, not code.
    pub fn join(&self, relative: &str) -> Result<String, String> {
        let escapes = relative.starts_with('/')
            || relative.contains(':')
            || relative.contains('\\')
            || relative.split('/').any(|p| p == "..");
        if escapes || relative.trim().is_empty() {
            return Err(format!(
                "the index names `{relative}`, which is not a path inside the registry folder"
            ));
        }
        Ok(format!("{}{relative}", self.base))
    }

    /// The bundle folder of `v`, ending in `/` (what the worker's loader wants).
    pub fn bundle(&self, v: &Version) -> Result<String, String> {
        let url = self.join(&v.path)?;
        Ok(format!("{}/", url.trim_end_matches('/')))
    }
}

impl Index {
    /// Reads `index.json`; the error says what is wrong in words (`from` names the file).
    pub fn parse(text: &str, from: &str) -> Result<Index, String> {
        let index: Index = serde_json::from_str(text)
            .map_err(|e| format!("the registry index {from} is not a valid index.json: {e}"))?;
        if index.versions.is_empty() {
            return Err(format!(
                "the registry index {from} lists no versions: register one with `glassbox registry register`"
            ));
        }
        Ok(index)
    }

    /// The version `wanted` names, an alias first and then a version number; without one,
    /// the champion (or the newest version when no champion is set).
    pub fn pick(&self, wanted: Option<&str>) -> Result<&Version, String> {
        let Some(w) = wanted.map(str::trim).filter(|w| !w.is_empty()) else {
            return match self.aliases.get(CHAMPION) {
                Some(_) => self.pick(Some(CHAMPION)),
                None => self.versions.last().ok_or_else(|| "no versions".into()),
            };
        };
        let number = self.aliases.get(w).map_or(w, String::as_str);
        self.versions
            .iter()
            .find(|v| v.version == number)
            .ok_or_else(|| self.unknown(w))
    }

    fn unknown(&self, wanted: &str) -> String {
        let known: Vec<String> = self.versions.iter().map(Version::label).collect();
        format!(
            "the registry has no version or alias `{wanted}` (it has {})",
            known.join(", ")
        )
    }

    /// Whether both aliases of the picker's "compare" button are set.
    pub fn can_compare(&self) -> bool {
        self.aliases.contains_key(CHAMPION) && self.aliases.contains_key(CHALLENGER)
    }
}

/// `?compare=a,b`: the two versions (or aliases) to put side by side.
pub fn compare_pair(param: &str) -> Option<(String, String)> {
    let (a, b) = param.split_once(',')?;
    let (a, b) = (a.trim(), b.trim());
    (!a.is_empty() && !b.is_empty()).then(|| (a.to_string(), b.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape `glassbox registry` writes, trimmed to two versions.
    const INDEX_JSON: &str = r#"{
      "aliases": {"challenger": "1.1.0", "champion": "0.1.0"},
      "events": 4,
      "versions": [
        {"aliases": ["champion"], "gate": null, "manifest_sha256": "5205", "name": "glassbox-minilm-tweets",
         "path": "bundles/5205", "registered_at": "2026-12-02T16:47:43Z", "version": "0.1.0",
         "metrics": [
           {"task": "sentiment", "name": "accuracy", "value": 0.78, "split": "test", "date": "d"},
           {"task": "sentiment", "name": "macro_f1", "value": 0.7648, "split": "test", "date": "d", "ci95": [0.75, 0.77]},
           {"task": "ner", "name": "span_macro_f1", "value": 0.19, "split": "test", "date": "d"},
           {"task": "ner", "name": "span_micro_f1", "value": 0.3759, "split": "test", "date": "d"}]},
        {"aliases": ["challenger"], "gate": "gates/1.1.0.json", "manifest_sha256": "522c", "name": "glassbox-minilm",
         "path": "bundles/522c", "registered_at": "2026-12-02T16:48:00Z", "version": "1.1.0", "metrics": []}
      ]
    }"#;

    fn index() -> Index {
        Index::parse(INDEX_JSON, "R/index.json").unwrap()
    }

    #[test]
    fn the_index_lists_versions_with_aliases_headline_metrics_and_gate() {
        let i = index();
        assert_eq!(i.versions.len(), 2);
        let champ = &i.versions[0];
        assert_eq!(champ.label(), "0.1.0 [champion]");
        assert_eq!(
            champ.headline(),
            Headline {
                macro_f1: Some(0.7648),
                span_f1: Some(0.3759)
            }
        );
        let chall = &i.versions[1];
        assert_eq!(chall.headline(), Headline::default());
        assert_eq!(chall.gate.as_deref(), Some("gates/1.1.0.json"));
        assert_eq!(champ.gate, None);
        assert!(i.can_compare());
    }

    #[test]
    fn the_default_pick_is_the_champion_and_aliases_and_numbers_both_resolve() {
        let i = index();
        assert_eq!(i.pick(None).unwrap().version, "0.1.0");
        assert_eq!(i.pick(Some(" ")).unwrap().version, "0.1.0");
        assert_eq!(i.pick(Some("challenger")).unwrap().version, "1.1.0");
        assert_eq!(i.pick(Some("1.1.0")).unwrap().version, "1.1.0");
        let e = i.pick(Some("2.0.0")).unwrap_err();
        assert_eq!(
            e,
            "the registry has no version or alias `2.0.0` (it has 0.1.0 [champion], 1.1.0 [challenger])"
        );
    }

    #[test]
    fn without_a_champion_the_newest_version_is_picked() {
        let mut i = index();
        i.aliases.remove(CHAMPION);
        assert_eq!(i.pick(None).unwrap().version, "1.1.0");
        assert!(!i.can_compare());
    }

    #[test]
    fn broken_or_empty_indexes_are_refused_in_words() {
        let e = Index::parse("{\"versions\": [", "R/index.json").unwrap_err();
        assert!(
            e.starts_with("the registry index R/index.json is not a valid index.json:"),
            "{e}"
        );
        let e = Index::parse("<html>404</html>", "X").unwrap_err();
        assert!(e.contains("not a valid index.json"), "{e}");
        let e = Index::parse(r#"{"versions": [], "aliases": {}}"#, "X").unwrap_err();
        assert!(e.contains("lists no versions"), "{e}");
        let e = Index::parse(r#"{"versions": [{"version": "1"}]}"#, "X").unwrap_err();
        assert!(e.contains("manifest_sha256"), "{e}");
    }

    #[test]
    fn a_registry_url_names_its_folder_or_its_index() {
        let want = Location {
            base: "http://h/r/".into(),
            index: "http://h/r/index.json".into(),
        };
        assert_eq!(Location::of("http://h/r"), want);
        assert_eq!(Location::of("http://h/r/"), want);
        assert_eq!(Location::of("http://h/r/index.json"), want);
        assert_eq!(Location::of("http://h/r/index.json?x=1#y"), want);
        assert_eq!(Location::of("http://h/r/other.json").base, "http://h/r/");
    }

    #[test]
    fn bundle_paths_stay_inside_the_registry_folder() {
        let at = Location::of("http://h/r/");
        let v = &index().versions[0];
        assert_eq!(at.bundle(v).unwrap(), "http://h/r/bundles/5205/");
        assert_eq!(
            at.join("gates/1.1.0.json").unwrap(),
            "http://h/r/gates/1.1.0.json"
        );
        for bad in [
            "../secret",
            "bundles/../../x",
            "/etc/passwd",
            "http://evil/x",
            "",
        ] {
            assert!(at.join(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn compare_names_two_versions_separated_by_a_comma() {
        assert_eq!(
            compare_pair("champion, challenger"),
            Some(("champion".into(), "challenger".into()))
        );
        assert_eq!(compare_pair("champion"), None);
        assert_eq!(compare_pair("champion,"), None);
    }
}
