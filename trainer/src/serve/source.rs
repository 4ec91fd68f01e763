//! Where the served bundle comes from: a folder (`--bundle`), or an alias of a model registry
//! (`--registry DIR --registry-alias champion`). With a registry, a reload without a named
//! bundle (`POST /admin/reload`, SIGHUP) looks the alias up again, so `glassbox registry
//! promote` or `rollback` followed by a reload switches what is served.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::registry::Registry;

/// The bundle folder, or the registry alias to resolve.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Bundle(PathBuf),
    Registry { root: PathBuf, alias: String },
}

impl Source {
    /// The folder to load now.
    pub fn resolve(&self) -> Result<PathBuf> {
        match self {
            Source::Bundle(dir) => Ok(dir.clone()),
            Source::Registry { root, alias } => Registry::open(root)?
                .resolve_dir(alias)
                .with_context(|| format!("registry {}: alias {alias}", root.display())),
        }
    }

    /// The registry alias served, if any.
    pub fn alias(&self) -> Option<&str> {
        match self {
            Source::Bundle(_) => None,
            Source::Registry { alias, .. } => Some(alias),
        }
    }
}
