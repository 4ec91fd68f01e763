//! A bundle's version and lineage: which bundle it was fine-tuned from, with which code and
//! config. The version is semver: `1.0.0` for a model trained from a pretrained checkpoint,
//! the parent's next minor version for one fine-tuned from a bundle, or what the user names.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use glassbox_model::weights::bundle::{self, sha256_hex, Lineage, Manifest};

use crate::run_dir::RunDir;

/// The version a model trained from a pretrained checkpoint starts at.
pub const FIRST_VERSION: &str = "1.0.0";

/// The parent bundle's version and manifest hash when `base` is a glassbox bundle.
pub fn parent_of(base: &Path) -> Result<Option<(String, String)>> {
    let path = base.join(bundle::MANIFEST);
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest = Manifest::from_json(&bytes)?;
    Ok(Some((manifest.version, sha256_hex(&bytes))))
}

/// The lineage of a bundle exported from `run`, trained from `base`.
pub fn run_lineage(run: &RunDir, base: &Path) -> Result<Lineage> {
    let parent = parent_of(base)?;
    let config = fs::read(run.config_file())
        .with_context(|| format!("reading {}", run.config_file().display()))?;
    Ok(Lineage {
        parent_version: parent.as_ref().map(|p| p.0.clone()),
        parent_manifest_sha256: parent.map(|p| p.1),
        code_commit: run.code_commit(),
        config_sha256: Some(sha256_hex(&config)),
        exporter: env!("CARGO_PKG_VERSION").into(),
    })
}

/// The lineage of a bundle exported straight from a model folder (no training run).
pub fn model_lineage(model_dir: &Path) -> Result<Lineage> {
    let parent = parent_of(model_dir)?;
    Ok(Lineage {
        parent_version: parent.as_ref().map(|p| p.0.clone()),
        parent_manifest_sha256: parent.map(|p| p.1),
        code_commit: crate::code_version::git_commit(Path::new(".")),
        config_sha256: None,
        exporter: env!("CARGO_PKG_VERSION").into(),
    })
}

/// `chosen` when given (checked to be semver), else the parent's next minor version, else
/// [`FIRST_VERSION`].
pub fn version(chosen: Option<&str>, lineage: &Lineage) -> Result<String> {
    if let Some(v) = chosen {
        parse(v).with_context(|| format!("--model-version {v:?}"))?;
        return Ok(v.to_string());
    }
    match &lineage.parent_version {
        Some(p) => match parse(p) {
            Ok((major, minor, _)) => Ok(format!("{major}.{}.0", minor + 1)),
            // A parent from before semver versions (or hand-edited): start a fresh line.
            Err(_) => Ok(FIRST_VERSION.into()),
        },
        None => Ok(FIRST_VERSION.into()),
    }
}

/// `MAJOR.MINOR.PATCH` with an optional `-pre` or `+build` suffix.
pub fn parse(v: &str) -> Result<(u64, u64, u64)> {
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let numbers: Result<Vec<u64>, _> = parts.iter().map(|p| p.parse::<u64>()).collect();
    match numbers.ok().as_deref() {
        Some([a, b, c]) if parts.iter().all(|p| !p.is_empty()) => Ok((*a, *b, *c)),
        _ => bail!("not a semantic version (MAJOR.MINOR.PATCH): {v:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_parent(p: Option<&str>) -> Lineage {
        Lineage {
            parent_version: p.map(str::to_string),
            ..Lineage::default()
        }
    }

    #[test]
    fn versions_follow_the_parent() {
        assert_eq!(version(None, &with_parent(None)).unwrap(), "1.0.0");
        assert_eq!(version(None, &with_parent(Some("1.4.2"))).unwrap(), "1.5.0");
        assert_eq!(version(None, &with_parent(Some("0.1.0"))).unwrap(), "0.2.0");
        assert_eq!(
            version(None, &with_parent(Some("legacy"))).unwrap(),
            "1.0.0"
        );
        assert_eq!(
            version(Some("2.0.0-rc.1"), &with_parent(None)).unwrap(),
            "2.0.0-rc.1"
        );
    }

    #[test]
    fn a_chosen_version_must_be_semver() {
        for bad in ["1", "1.2", "1.2.x", "v1.2.3", "1..3", ""] {
            let e = version(Some(bad), &with_parent(None)).unwrap_err();
            assert!(
                format!("{e:#}").contains("semantic version"),
                "{bad}: {e:#}"
            );
        }
        assert_eq!(parse("10.20.30+build.5").unwrap(), (10, 20, 30));
    }
}
