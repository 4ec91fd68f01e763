//! The registry on the page: reading `?registry=`'s index, choosing the bundle to load from
//! it, and checking that what loaded is the version the index names.

use std::sync::Arc;

use glassbox_model::weights::bundle::{sha256_hex, MANIFEST};

use super::{compare_pair, Index, Location, Version};
use crate::protocol::{LoadInfo, WorkerError};
use crate::url::{self, Query};

/// The registry the page was opened with and the version of it that is loaded.
#[derive(Clone, Debug, PartialEq)]
pub struct Listing {
    pub at: Location,
    pub index: Index,
    /// The version the main model was loaded from.
    pub loaded: String,
}

/// What the picker shows: nothing without `?registry=`, the listing, or why there is none.
pub type Listed = Option<Result<Arc<Listing>, String>>;

/// Fetches and parses the index `registry` (a URL relative to the page) names.
pub async fn read_index(registry: &str) -> Result<(Location, Index), String> {
    let at = Location::of(&url::absolute(registry));
    let text = url::fetch_same_origin(&at.index)
        .await
        .map_err(|e| format!("cannot read the registry index {}: {e}", at.index))?;
    let index = Index::parse(&text, &at.index)?;
    Ok((at, index))
}

/// The version the address asks for: the first of `?compare=` when comparing, else
/// `?version=` (the champion without one).
pub fn wanted(q: &Query) -> Option<String> {
    match q.compare.as_deref().and_then(compare_pair) {
        Some((first, _)) => Some(first),
        None => q.version.clone(),
    }
}

/// The bundle URL and manifest hash of the version the address asks for, with the listing
/// for the picker. The error is in words, for the page.
pub async fn choose(registry: &str, q: &Query) -> Result<(String, Version, Listing), String> {
    let (at, index) = read_index(registry).await?;
    let v = index.pick(wanted(q).as_deref())?.clone();
    let bundle = at.bundle(&v)?;
    let listing = Listing {
        at,
        loaded: v.version.clone(),
        index,
    };
    Ok((bundle, v, listing))
}

/// Refuses a loaded bundle whose manifest is not the one the registry names (the worker
/// checked every other file against that manifest).
pub fn check_manifest(info: &LoadInfo, v: &Version) -> Result<(), WorkerError> {
    let actual = sha256_hex(info.manifest_json.as_bytes());
    if actual == v.manifest_sha256 {
        Ok(())
    } else {
        Err(WorkerError::Corrupt {
            file: MANIFEST.to_string(),
            expected: v.manifest_sha256.clone(),
            actual,
        })
    }
}

/// A registry problem as the worker's "no bundle" error, so the status line words it like
/// any other failed load.
pub fn no_bundle(why: String) -> WorkerError {
    WorkerError::NoBundle(vec![why])
}
