//! Bundles stored by the SHA-256 of their `manifest.json` (which hashes every other file), so
//! one address names exactly one set of bytes. A bundle is copied into a scratch folder,
//! checked file by file against its manifest and synced, and only then renamed into place:
//! a folder under `bundles/<hash>` is always complete.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use glassbox_model::weights::bundle::{self, sha256_hex, Manifest};

/// Prefix of the scratch folders imports are copied into.
pub const INCOMING: &str = ".incoming-";

/// A bundle read and checked: its manifest, the manifest's hash and its files.
pub struct Checked {
    pub manifest: Manifest,
    pub hash: String,
}

/// Reads `dir`'s manifest and checks every file it lists against its hash.
pub fn check(dir: &Path) -> Result<Checked> {
    let path = dir.join(bundle::MANIFEST);
    let bytes = fs::read(&path).with_context(|| {
        format!(
            "{} is not a bundle (no readable manifest.json)",
            dir.display()
        )
    })?;
    let manifest = Manifest::from_json(&bytes).with_context(|| path.display().to_string())?;
    for file in manifest.files.keys() {
        let data = fs::read(dir.join(file))
            .with_context(|| format!("{}: listed file `{file}` is missing", dir.display()))?;
        manifest
            .verify(file, &data)
            .with_context(|| format!("{} is corrupt", dir.display()))?;
    }
    Ok(Checked {
        manifest,
        hash: sha256_hex(&bytes),
    })
}

/// Where the bundle with manifest hash `hash` lives under `bundles`.
pub fn path(bundles: &Path, hash: &str) -> PathBuf {
    bundles.join(hash)
}

/// Copies the checked bundle at `src` to `bundles/<hash>` unless a complete copy is there.
pub fn import(bundles: &Path, src: &Path, checked: &Checked) -> Result<PathBuf> {
    let dest = path(bundles, &checked.hash);
    if dest.is_dir() {
        let existing = check(&dest)?;
        if existing.hash != checked.hash {
            bail!("{} holds another bundle", dest.display());
        }
        return Ok(dest);
    }
    let scratch = bundles.join(format!("{INCOMING}{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let files = checked.manifest.files.keys().map(String::as_str);
    for file in files.chain([bundle::MANIFEST]) {
        copy_synced(&src.join(file), &scratch.join(file))?;
    }
    fault_pause("after copying, before the rename");
    fs::rename(&scratch, &dest).with_context(|| format!("moving into {}", dest.display()))?;
    sync_dir(bundles)?;
    Ok(dest)
}

/// Scratch folders of imports that were killed before their rename (they hold no version).
pub fn abandoned_imports(bundles: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(bundles) else {
        return vec![];
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(INCOMING))
        .map(|e| e.path())
        .collect()
}

fn copy_synced(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    File::open(to)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", to.display()))
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

/// For crash tests only: sleeps `GLASSBOX_REGISTRY_FAULT_PAUSE_MS` milliseconds at the named
/// point of an operation, so a test can kill the process exactly there.
pub fn fault_pause(_at: &str) {
    if let Some(ms) = std::env::var("GLASSBOX_REGISTRY_FAULT_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
