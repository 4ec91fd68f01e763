//! The model picker of `?registry=`: one compact line per registered version (its aliases
//! and headline metrics), the loaded one marked with its manifest hash, and a link that opens
//! the champion–challenger comparison. Picking a version loads it with the same verifying
//! loader as `?model=` and writes `?version=` into the address, so the link reopens it.

use std::sync::Arc;

use glassbox_model::weights::bundle::sha256_hex;
use leptos::prelude::*;

use crate::registry::page::Listing;
use crate::registry::{Version, CHALLENGER, CHAMPION};
use crate::session::{AfterLoad, Session};
use crate::state::State;
use crate::url::{self, Query};

#[component]
pub fn RegistryPicker() -> impl IntoView {
    let s = expect_context::<State>();
    move || match s.registry.get() {
        None => ().into_any(),
        Some(Err(why)) => view! {
            <section class="panel registry" data-testid="registry">
                <p class="warning" data-testid="registry-error">"Model registry: " {why}</p>
            </section>
        }
        .into_any(),
        Some(Ok(listing)) => view! { <Picker listing /> }.into_any(),
    }
}

#[component]
fn Picker(listing: Arc<Listing>) -> impl IntoView {
    let versions = listing.index.versions.clone();
    let loaded = listing.loaded.clone();
    let comparing = Query::current().compare.is_some();
    let compare_link = (listing.index.can_compare() && !comparing).then(compare_href);
    view! {
        <section class="panel registry" data-testid="registry">
            <h2>"Model registry"</h2>
            <ul class="versions">
                {versions.into_iter().map(|v| {
                    let current = v.version == loaded;
                    view! { <VersionLine v current /> }
                }).collect_view()}
            </ul>
            <LoadedHash />
            {compare_link.map(|href| view! {
                <a class="compare-link" data-testid="compare-open" href=href>
                    {format!("Compare {CHAMPION} and {CHALLENGER}")}
                </a>
            })}
        </section>
    }
}

/// "0.1.0 [champion] · macro-F1 0.765 · span F1 0.376", a button unless it is loaded.
#[component]
fn VersionLine(v: Version, current: bool) -> impl IntoView {
    let session = expect_context::<Session>();
    let h = v.headline();
    let num = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{x:.3}"));
    let metrics = format!(
        " · macro-F1 {} · span F1 {}",
        num(h.macro_f1),
        num(h.span_f1)
    );
    let version = v.version.clone();
    let pick = move |_| pick_version(session, &version);
    view! {
        <li class="version" class:current=current data-testid="version" data-version=v.version.clone()
            data-aliases=v.aliases.join(",") data-sha256=v.manifest_sha256.clone()>
            <button class="small" data-testid="pick" disabled=move || current || session.busy.get() on:click=pick>
                {v.version.clone()}
            </button>
            {v.aliases.iter().map(|a| view! { <span class="alias">{a.clone()}</span> }).collect_view()}
            <span class="headline">{metrics}</span>
            {current.then(|| view! { <span class="loaded-mark">" (loaded)"</span> })}
        </li>
    }
}

/// The SHA-256 of the manifest the worker loaded: the registry's name for the version.
#[component]
fn LoadedHash() -> impl IntoView {
    let s = expect_context::<State>();
    let sha = move || {
        s.model.with(|m| {
            m.as_ref()
                .map(|m| sha256_hex(m.info.manifest_json.as_bytes()))
        })
    };
    move || {
        sha().map(|h| view! {
            <p class="loaded-hash">"Loaded manifest SHA-256: " <code data-testid="loaded-sha256">{h}</code></p>
        })
    }
}

/// The address of the comparison of champion and challenger, on the same registry.
fn compare_href() -> String {
    let search = url::with_param(&url::current_search(), "version", None);
    let pair = format!("{CHAMPION},{CHALLENGER}");
    url::with_param(&search, "compare", Some(&pair))
}

/// Loads version `v`, writing `?version=v` into the address; sentences shown are run again.
/// Leaving a comparison reopens the page, whose peer model is then dropped.
fn pick_version(session: Session, v: &str) {
    let search = url::with_param(&url::current_search(), "version", Some(v));
    let search = url::with_param(&search, "compare", None);
    if Query::current().compare.is_some() {
        if let Some(w) = web_sys::window() {
            let _ = w
                .location()
                .set_href(&format!("{search}{}", url::current_hash()));
        }
        return;
    }
    url::replace_search_and_hash(&search, &url::current_hash());
    let rerun = !session.state.rows.with_untracked(Vec::is_empty);
    session.load.dispatch_local(if rerun {
        AfterLoad::Run
    } else {
        AfterLoad::Wait
    });
}
