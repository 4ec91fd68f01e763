//! The model registry: a folder of bundles addressed by manifest hash, an append-only history
//! (who, what, when, why) and aliases such as `champion` and `challenger` switched atomically
//! (optionally mirrored to an MLflow model registry).
//!
//! ```text
//! REGISTRY/registry.json    marker and format
//! REGISTRY/history.jsonl    every change, one line each: the source of truth
//! REGISTRY/bundles/<sha256> one complete bundle per registered version, never deleted
//! REGISTRY/gates/V.json   the gate report that judged version V as a challenger
//! REGISTRY/index.json       versions and aliases for the page's model picker (derived)
//! REGISTRY/.lock            held by every change, so two writers queue up
//! ```

pub mod check;
pub mod diff;
pub mod history;
pub mod index;
pub mod mirror;
pub mod mlflow;
pub mod ops;
pub mod state;
pub mod store;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::io::write_json;
pub use state::{State, Version};

const MARKER: &str = "registry.json";
const HISTORY: &str = "history.jsonl";
const BUNDLES: &str = "bundles";
const LOCK: &str = ".lock";
/// The registry layout this build reads and writes.
const FORMAT: u64 = 1;

/// Where the gate report that judged `version` as a challenger is kept (`gates/VERSION.json`),
/// so the history's promotions can be traced to their evidence and the page can show it.
pub fn gate_report(reg: &Registry, version: &str) -> PathBuf {
    reg.root.join("gates").join(format!("{version}.json"))
}

/// A registry folder.
pub struct Registry {
    root: PathBuf,
}

/// The exclusive lock every change holds; released when dropped.
pub struct Locked {
    _file: File,
}

impl Registry {
    /// Opens an existing registry.
    pub fn open(root: &Path) -> Result<Self> {
        let marker = root.join(MARKER);
        let v: serde_json::Value = crate::io::read_json(&marker).with_context(|| {
            format!(
                "{} is not a glassbox registry (create one with `glassbox registry register --registry {} BUNDLE`)",
                root.display(),
                root.display()
            )
        })?;
        if v["format"].as_u64() != Some(FORMAT) {
            bail!(
                "{}: registry format {} (this build reads {FORMAT})",
                marker.display(),
                v["format"]
            );
        }
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// Opens the registry at `root`, creating an empty one if the folder holds none.
    pub fn open_or_create(root: &Path) -> Result<Self> {
        if !root.join(MARKER).is_file() {
            fs::create_dir_all(root.join(BUNDLES))
                .with_context(|| format!("creating {}", root.display()))?;
            write_json(&root.join(MARKER), &serde_json::json!({ "format": FORMAT }))?;
        }
        Self::open(root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn bundles(&self) -> PathBuf {
        self.root.join(BUNDLES)
    }

    pub fn history_file(&self) -> PathBuf {
        self.root.join(HISTORY)
    }

    /// Replays the history.
    pub fn state(&self) -> Result<State> {
        State::replay(&history::read(&self.history_file())?)
    }

    /// The folder of a registered version's bundle.
    pub fn bundle_dir(&self, v: &Version) -> PathBuf {
        store::path(&self.bundles(), &v.manifest_sha256)
    }

    /// Resolves an alias, version or hash prefix to its bundle folder.
    pub fn resolve_dir(&self, name: &str) -> Result<PathBuf> {
        let state = self.state()?;
        Ok(self.bundle_dir(state.resolve(name)?))
    }

    /// Takes the exclusive lock (waits for another writer to finish).
    pub fn lock(&self) -> Result<Locked> {
        let path = self.root.join(LOCK);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(Locked { _file: file })
    }
}
