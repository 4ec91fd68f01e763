//! `#s=<lines>&v=<view>`: a link that reopens the page with the same sentences, selection,
//! layer, head and toggles, so a teacher can hand out exactly what they showed. Everything in
//! the hash is data: it fills the textarea and never reaches the DOM as markup.

use glassbox_model::decode::Aggregation;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use super::{run, AttnMode, State, ViewState};

fn encode_view(v: &ViewState) -> String {
    let mode = match v.mode {
        AttnMode::Head => "head",
        AttnMode::Mean => "mean",
        AttnMode::Rollout => "rollout",
    };
    let agg = match v.agg {
        Aggregation::First => "first",
        Aggregation::Mean => "mean",
        Aggregation::Max => "max",
    };
    format!(
        "{}.{}.{}.{mode}.{}.{agg}",
        v.sel,
        v.layer,
        v.head,
        u8::from(v.hide_special)
    )
}

/// A view from its encoding; anything unreadable keeps the default.
pub fn decode_view(s: &str) -> ViewState {
    let mut v = ViewState::default();
    let parts: Vec<&str> = s.split('.').collect();
    let num = |i: usize| parts.get(i).and_then(|p| p.parse::<usize>().ok());
    v.sel = num(0).unwrap_or(0);
    v.layer = num(1).unwrap_or(0);
    v.head = num(2).unwrap_or(0);
    v.mode = match parts.get(3).copied() {
        Some("mean") => AttnMode::Mean,
        Some("rollout") => AttnMode::Rollout,
        _ => AttnMode::Head,
    };
    v.hide_special = parts.get(4).copied() == Some("1");
    v.agg = match parts.get(5).copied() {
        Some("mean") => Aggregation::Mean,
        Some("max") => Aggregation::Max,
        _ => Aggregation::First,
    };
    v
}

/// The hash for these lines and view.
pub fn hash(lines: &[String], v: &ViewState) -> String {
    let s = String::from(js_sys::encode_uri_component(&lines.join("\n")));
    format!("#s={s}&v={}", encode_view(v))
}

fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Reads the hash into the state; true when it named sentences (the page then runs them).
fn apply(s: State, raw: &str) -> bool {
    let raw = raw.trim_start_matches('#');
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(raw) else {
        return false;
    };
    if let Some(v) = params.get("v") {
        s.view.set(decode_view(&v));
    }
    match params.get("s") {
        Some(text) if !text.trim().is_empty() => {
            s.input.set(text);
            true
        }
        _ => false,
    }
}

pub fn restore(s: State) -> bool {
    apply(s, &current_hash())
}

/// Keeps the address bar's hash equal to what is shown (without adding history entries),
/// and runs again when someone edits the hash by hand.
pub fn keep_in_sync(s: State) {
    Effect::new(move |_| {
        let lines = s.ran.get();
        let v = s.view.get();
        if lines.is_empty() {
            return;
        }
        let h = hash(&lines, &v);
        if h != current_hash() {
            if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
                let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&h));
            }
        }
    });
    let handle = window_event_listener(leptos::ev::hashchange, move |_| {
        if apply(s, &current_hash()) {
            run(s);
        }
    });
    // The page lives as long as the listener; nothing to clean up.
    std::mem::forget(handle);
}
