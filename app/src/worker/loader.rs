//! Getting a bundle's bytes, every one of them checked: the manifest from the first candidate
//! that serves one, then EVERY file the manifest lists (weights, tokenizer, model card, and
//! anything a later format adds), each verified against its SHA-256 before use.
//!
//! The model card used to be fetched by the page on its own, unverified; a bundle is one
//! signed unit, so the loader fetches it with the rest and hands its text to the page.
//! Files come from the Cache API when an earlier visit stored them under the same hash
//! (so a reload works offline), otherwise from the network with a byte count for the
//! progress bar.

use std::collections::BTreeMap;

use glassbox_model::weights::bundle::{Manifest, MANIFEST, TOKENIZER, WEIGHTS};

use super::fetch::{cached, open_cache, read_body, start, Pending};
use crate::protocol::{Progress, WorkerError};

/// The model card's file name in a bundle.
pub const MODEL_CARD: &str = "MODEL_CARD.md";

/// A bundle whose manifest parsed and whose listed files all matched their hashes.
pub struct Bundle {
    /// URL of the bundle's folder, ending in `/`.
    pub base: String,
    pub manifest: Manifest,
    /// `manifest.json` exactly as served (the model crate parses it again when loading).
    pub manifest_bytes: Vec<u8>,
    /// Every file the manifest lists, by name, verified.
    pub files: BTreeMap<String, Vec<u8>>,
    /// "network", or which part came from the browser's cache.
    pub source: String,
    /// Why a downloaded file could not be kept for offline use (quota, private mode).
    pub not_kept: Option<String>,
}

impl Bundle {
    pub fn weights(&self) -> &[u8] {
        &self.files[WEIGHTS]
    }

    pub fn tokenizer(&self) -> &[u8] {
        &self.files[TOKENIZER]
    }

    /// The model card's text, when the bundle has one.
    pub fn model_card(&self) -> Option<String> {
        let bytes = self.files.get(MODEL_CARD)?;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    /// Bytes of every file, manifest included.
    pub fn bytes(&self) -> u64 {
        (self.manifest_bytes.len() + self.files.values().map(Vec::len).sum::<usize>()) as u64
    }

    /// Stores the manifest for offline use; called only once the model has loaded, so a
    /// bundle that fails to load is never what an offline visit finds. Returns why the
    /// bundle is not (wholly) kept offline, if it is not.
    pub async fn remember(&self) -> Option<String> {
        let cache = open_cache().await;
        let key = manifest_key(&self.base);
        let stored = super::fetch::store(cache.as_ref(), &key, &self.manifest_bytes).await;
        self.not_kept.clone().or(stored.err())
    }
}

fn manifest_key(base: &str) -> String {
    format!("{base}{MANIFEST}")
}

/// The first of `candidates` with a manifest, from the network or else from the offline
/// copy (so an unreachable default bundle is not skipped for a fallback that is reachable),
/// with that manifest's bytes and whether they came from the network.
async fn locate(
    candidates: &[String],
    cache: Option<&web_sys::Cache>,
) -> Result<(String, Vec<u8>, bool), WorkerError> {
    let mut tried = Vec::new();
    for base in candidates {
        match start(&manifest_key(base)).await {
            Ok(p) => return Ok((base.clone(), read_body(p, |_| {}).await?, true)),
            Err(e) => match cached(cache, &manifest_key(base)).await {
                Some(bytes) => return Ok((base.clone(), bytes, false)),
                None => tried.push(e.to_string()),
            },
        }
    }
    Err(WorkerError::NoBundle(tried))
}

/// The files of a bundle, whether any was downloaded, and why one could not be stored.
type Files = (BTreeMap<String, Vec<u8>>, bool, Option<String>);

/// Every listed file: from the cache when its hash matches, else downloaded with progress,
/// verified, then stored for the next visit (a refused store is reported, not fatal).
async fn files(
    base: &str,
    manifest: &Manifest,
    cache: Option<&web_sys::Cache>,
    progress: &dyn Fn(Progress),
) -> Result<Files, WorkerError> {
    let mut out = BTreeMap::new();
    let mut not_kept = None;
    let mut pending: Vec<(String, String, Pending)> = Vec::new();
    for (name, hash) in &manifest.files {
        let key = format!("{base}{name}?sha256={hash}");
        match cached(cache, &key).await {
            Some(b) if manifest.verify(name, &b).is_ok() => {
                out.insert(name.clone(), b);
            }
            _ => pending.push((name.clone(), key, start(&format!("{base}{name}")).await?)),
        }
    }
    let from_network = !pending.is_empty();
    let total: u64 = pending.iter().map(|(_, _, p)| p.len).sum();
    let mut loaded = 0u64;
    progress(Progress { loaded, total });
    for (name, key, p) in pending {
        let bytes = read_body(p, |n| {
            loaded += n;
            progress(Progress { loaded, total });
        })
        .await?;
        manifest.verify(&name, &bytes)?;
        if let Err(why) = super::fetch::store(cache, &key, &bytes).await {
            not_kept.get_or_insert(format!("{name}: {why}"));
        }
        out.insert(name, bytes);
    }
    Ok((out, from_network, not_kept))
}

/// Finds, downloads (or reads from the cache) and verifies a whole bundle.
pub async fn load(
    candidates: &[String],
    progress: &dyn Fn(Progress),
) -> Result<Bundle, WorkerError> {
    let cache = open_cache().await;
    let (base, manifest_bytes, manifest_from_network) = locate(candidates, cache.as_ref()).await?;
    // Parsed first so a broken manifest is reported before megabytes are downloaded; this
    // also refuses a manifest without weights or tokenizer.
    let manifest = Manifest::from_json(&manifest_bytes)?;
    let (files, files_from_network, not_kept) =
        files(&base, &manifest, cache.as_ref(), progress).await?;
    let source = match (manifest_from_network, files_from_network) {
        (_, true) => "network",
        (true, false) => "browser cache (weights stored by an earlier visit)",
        (false, false) => "browser cache (offline copy)",
    };
    Ok(Bundle {
        base,
        manifest,
        manifest_bytes,
        files,
        source: source.to_string(),
        not_kept,
    })
}
