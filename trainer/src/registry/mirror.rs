//! Mirroring the registry to MLflow (`--mlflow URL`): every version becomes an MLflow model
//! version (tagged with its glassbox version and manifest hash) and every alias an MLflow
//! alias. The folder stays the source of truth; the mirror is brought level with it after
//! each change, and a whole re-sync is idempotent, so a change whose mirroring failed (server
//! down, process killed) is mirrored by the next change or by `glassbox registry sync`.

use anyhow::{Context, Result};
use glassbox_model::weights::bundle::Manifest;

use super::mlflow::{MirrorVersion, Mlflow};
use super::{Registry, State};

/// What a sync did.
pub struct Synced {
    pub versions: usize,
    pub aliases: usize,
}

/// Brings the MLflow registered model `model` at `url` level with the registry.
pub fn sync(reg: &Registry, state: &State, url: &str, model: &str) -> Result<Synced> {
    let mlflow = Mlflow::new(url, model)?;
    for v in &state.versions {
        let dir = reg.bundle_dir(v);
        let manifest = Manifest::from_json(&std::fs::read(dir.join("manifest.json"))?)?;
        let source = dir.display().to_string();
        let description = format!("{} ({} by {})", v.reason, v.registered_at, v.actor);
        mlflow
            .sync_version(&MirrorVersion {
                version: &v.version,
                hash: &v.manifest_sha256,
                source: &source,
                metrics: &manifest.metrics,
                description: &description,
            })
            .with_context(|| format!("mirroring version {} to MLflow", v.version))?;
    }
    let mut aliases = 0;
    for alias in state.aliases.keys() {
        if let Some(v) = state.alias(alias) {
            mlflow
                .set_alias(alias, &v.manifest_sha256)
                .with_context(|| format!("mirroring alias {alias} to MLflow"))?;
            aliases += 1;
        }
    }
    Ok(Synced {
        versions: state.versions.len(),
        aliases,
    })
}
