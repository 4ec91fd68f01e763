//! The page's address, read and written in one place: the query (`?model=`,
//! `?backend=cpu|webgpu`, `?bench=N`, `?sentences=`, `?lesson=N`, `?registry=` with
//! `?version=` or `?compare=`) and the permalink in the hash (`#s=<lines>&v=<view>`), which
//! reopens the page with the same sentences, selection, layer, head and toggles so a teacher
//! can hand out exactly what they showed. A lesson step's link is that permalink with
//! `?lesson=N` in front ([`lesson_link`]).
//!
//! Encoding and decoding are pure Rust (the same rules as the browser's
//! `encodeURIComponent` and `URLSearchParams`) so they are tested natively; only the few
//! functions at the bottom touch `window.location`. Everything in the hash is data: it fills
//! the textarea and never reaches the DOM as markup.

use glassbox_model::text::decode::Aggregation;
pub use glassbox_model::view::link::encode_component;
use wasm_bindgen::JsCast;

pub use crate::protocol::BackendChoice;
use crate::state::{aggregation_from_name, AttnMode, ViewState};

/// Warm runs of `?bench` without a number.
pub const DEFAULT_BENCH_RUNS: usize = 10;
/// Most warm runs `?bench=N` asks for: more would only keep a class waiting.
pub const MAX_BENCH_RUNS: usize = 200;

/// Percent-decoding as `URLSearchParams` does it: `+` is a space, `%` without two hex
/// digits stays as it is, and bytes that are not UTF-8 become U+FFFD.
fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `key=value` pairs of a query or hash, in order, as `new URLSearchParams(s)` reads them
/// (one leading `?` dropped, empty pieces skipped, a piece without `=` has an empty value).
pub fn params(s: &str) -> Vec<(String, String)> {
    s.strip_prefix('?')
        .unwrap_or(s)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

/// The first value of `key` in `s`, as `URLSearchParams.get` gives it.
pub fn param(s: &str, key: &str) -> Option<String> {
    params(s)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// What the page's query asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// `?model=path`: the one bundle to load instead of the defaults.
    pub model: Option<String>,
    /// `?backend=cpu|webgpu`: start on that backend instead of choosing.
    pub backend: BackendChoice,
    /// `?bench[=N]`: benchmark with N warm runs once the model is loaded.
    pub bench: Option<usize>,
    /// `?sentences=`: what the benchmark times, as a URL or inline JSON (see
    /// [`SentenceSource`]); the built-in sentences without it.
    pub sentences: Option<SentenceSource>,
    /// `?lesson[=N]`: open lesson mode on step N (1-based; a missing or unreadable number is
    /// step 1).
    pub lesson: Option<usize>,
    /// `?registry=URL`: a registry folder (or its index.json) to pick the model from.
    pub registry: Option<String>,
    /// `?version=X`: the registry version or alias to load (the champion without it).
    pub version: Option<String>,
    /// `?compare=a,b`: two registry versions or aliases to load side by side.
    pub compare: Option<String>,
}

/// Where `?sentences=` says the benchmark's sentences are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SentenceSource {
    /// The parameter itself is the JSON list (its decoded value starts with `[`), so a
    /// script needs no file to serve.
    Inline(String),
    /// A same-origin URL, relative to the page, of a JSON list of strings.
    Url(String),
}

impl SentenceSource {
    /// The source a `?sentences=` value names; none when it is blank.
    pub fn from_param(v: &str) -> Option<Self> {
        let v = v.trim();
        if v.is_empty() {
            None
        } else if v.starts_with('[') {
            Some(SentenceSource::Inline(v.to_string()))
        } else {
            Some(SentenceSource::Url(v.to_string()))
        }
    }
}

impl Query {
    pub fn parse(search: &str) -> Self {
        let bench = param(search, "bench").map(|n| {
            n.parse()
                .unwrap_or(DEFAULT_BENCH_RUNS)
                .clamp(1, MAX_BENCH_RUNS)
        });
        Query {
            model: param(search, "model"),
            backend: BackendChoice::from_param(param(search, "backend").as_deref()),
            bench,
            sentences: param(search, "sentences").and_then(|v| SentenceSource::from_param(&v)),
            lesson: param(search, "lesson").map(|n| n.trim().parse().unwrap_or(1)),
            registry: param(search, "registry").filter(|r| !r.trim().is_empty()),
            version: param(search, "version"),
            compare: param(search, "compare"),
        }
    }

    /// The page's own query.
    pub fn current() -> Self {
        Self::parse(&location_part(|l| l.search()))
    }

    /// Bundle folders to try, in order, relative to the page: the one `?model=` names, else
    /// the fine-tuned default and then the untrained base.
    pub fn bundle_paths(&self) -> Vec<String> {
        match &self.model {
            Some(m) if m.ends_with('/') => vec![m.clone()],
            Some(m) => vec![format!("{m}/")],
            None => vec!["models/default/".into(), "models/base/".into()],
        }
    }

    /// Warm runs for the benchmark button: `?bench=N` when given, else the default.
    pub fn bench_runs(&self) -> usize {
        self.bench.unwrap_or(DEFAULT_BENCH_RUNS)
    }
}

fn encode_view(v: &ViewState) -> String {
    format!(
        "{}.{}.{}.{}.{}.{}",
        v.sel,
        v.layer,
        v.head,
        v.mode.name(),
        u8::from(v.hide_special),
        v.agg.name()
    )
}

/// A view from its encoding; each part that cannot be read keeps its default.
fn decode_view(s: &str) -> ViewState {
    let parts: Vec<&str> = s.split('.').collect();
    let num = |i: usize| parts.get(i).and_then(|p| p.parse::<usize>().ok());
    let d = ViewState::default();
    ViewState {
        sel: num(0).unwrap_or(d.sel),
        layer: num(1).unwrap_or(d.layer),
        head: num(2).unwrap_or(d.head),
        mode: parts.get(3).map_or(d.mode, |m| AttnMode::from_name(m)),
        hide_special: parts.get(4).copied() == Some("1"),
        agg: parts
            .get(5)
            .map_or(Aggregation::First, |a| aggregation_from_name(a)),
    }
}

/// The hash for these lines and view.
pub fn permalink(lines: &[String], v: &ViewState) -> String {
    format!(
        "#s={}&v={}",
        encode_component(&lines.join("\n")),
        encode_view(v)
    )
}

/// What a permalink restores.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Restored {
    /// The sentences, when the link has any that are not blank (the page then runs them).
    pub text: Option<String>,
    /// The view, when the link has one.
    pub view: Option<ViewState>,
}

/// Reads a hash (with or without its `#`); anything unreadable is left out, never an error.
pub fn restore(hash: &str) -> Restored {
    let hash = hash.trim_start_matches('#');
    Restored {
        text: param(hash, "s").filter(|t| !t.trim().is_empty()),
        view: param(hash, "v").map(|v| decode_view(&v)),
    }
}

/// `search` with `key` set to `value` (or removed, for `None`), every other parameter kept
/// in its place; "" when nothing is left. A new key goes last.
pub fn with_param(search: &str, key: &str, value: Option<&str>) -> String {
    let mut pairs = params(search);
    let at = pairs.iter().position(|(k, _)| k == key);
    pairs.retain(|(k, _)| k != key);
    if let Some(v) = value {
        let pair = (key.to_string(), v.to_string());
        pairs.insert(at.unwrap_or(pairs.len()).min(pairs.len()), pair);
    }
    let joined: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    if joined.is_empty() {
        String::new()
    } else {
        format!("?{}", joined.join("&"))
    }
}

/// The link to lesson step `step` (0-based) on this page: its query with `lesson` set to the
/// 1-based step, then `hash` (the sentences and view), so the link reopens the lesson on that
/// step over the same sentences.
pub fn lesson_link(search: &str, hash: &str, step: usize) -> String {
    let n = (step + 1).to_string();
    format!("{}{hash}", with_param(search, "lesson", Some(&n)))
}

/// The page's current query, `?` included ("" without one).
pub fn current_search() -> String {
    location_part(|l| l.search())
}

/// Sets query and hash without adding a history entry; the path stays.
pub fn replace_search_and_hash(search: &str, hash: &str) {
    let path = location_part(|l| l.pathname());
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let url = format!("{path}{search}{hash}");
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// A part of `window.location` ("" where there is none, e.g. natively).
fn location_part(
    part: impl Fn(&web_sys::Location) -> Result<String, wasm_bindgen::JsValue>,
) -> String {
    web_sys::window()
        .and_then(|w| part(&w.location()).ok())
        .unwrap_or_default()
}

/// The page's current hash, `#` included.
pub fn current_hash() -> String {
    location_part(|l| l.hash())
}

/// Sets the hash without adding a history entry (so Back leaves the page, not the view).
pub fn replace_hash(hash: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(hash));
    }
}

/// `path` resolved against the page, so the worker (whose own URL differs) fetches the
/// same file.
pub fn absolute(path: &str) -> String {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_default();
    web_sys::Url::new_with_base(path, &base)
        .map(|u| u.href())
        .unwrap_or_else(|_| path.to_string())
}

/// The text at `url` (absolute), which must be on the page's own origin: the page's
/// Content-Security-Policy would block any other with a bare "Failed to fetch", so the
/// reason is given here instead. The error is why, in words, without the URL.
pub async fn fetch_same_origin(url: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window to fetch from")?;
    let origin = window.location().origin().unwrap_or_default();
    let theirs = web_sys::Url::new(url)
        .map(|u| u.origin())
        .map_err(|_| "not a valid URL".to_string())?;
    if theirs != origin {
        return Err(format!(
            "not on this page's origin ({origin}); the page may only fetch from there"
        ));
    }
    let resp: web_sys::Response = await_js(window.fetch_with_str(url))
        .await?
        .dyn_into()
        .map_err(|_| "fetch() did not resolve to a Response")?;
    if !resp.ok() {
        return Err(format!("HTTP {} {}", resp.status(), resp.status_text()));
    }
    let text = resp.text().map_err(|e| js_message(&e))?;
    await_js(text)
        .await?
        .as_string()
        .ok_or_else(|| "the response is not text".into())
}

async fn await_js(p: js_sys::Promise) -> Result<wasm_bindgen::JsValue, String> {
    wasm_bindgen_futures::JsFuture::from(p)
        .await
        .map_err(|e| js_message(&e))
}

/// A thrown JavaScript value in words ("Failed to fetch" for a TypeError from fetch).
fn js_message(e: &wasm_bindgen::JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(sel: usize, layer: usize, head: usize, mode: AttnMode) -> ViewState {
        ViewState {
            sel,
            layer,
            head,
            mode,
            ..ViewState::default()
        }
    }

    #[test]
    fn components_are_encoded_as_encode_uri_component_does() {
        assert_eq!(encode_component("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode_component("-_.!~*'()"), "-_.!~*'()");
        assert_eq!(encode_component("#+%\n"), "%23%2B%25%0A");
    }

    #[test]
    fn a_permalink_spells_out_lines_and_view() {
        let lines = vec!["Hi there!".to_string(), "x".to_string()];
        let v = view(1, 2, 3, AttnMode::Head);
        assert_eq!(
            permalink(&lines, &v),
            "#s=Hi%20there!%0Ax&v=1.2.3.head.0.first"
        );
    }

    #[test]
    fn permalinks_round_trip() {
        let lines = vec![
            "Just landed in Zürich 🎉 — the café".to_string(),
            "a+b=c & 100% <b>bold</b> #tag".to_string(),
        ];
        let v = ViewState {
            sel: 1,
            layer: 5,
            head: 11,
            mode: AttnMode::Rollout,
            hide_special: true,
            agg: Aggregation::Max,
        };
        let back = restore(&permalink(&lines, &v));
        assert_eq!(back.text.as_deref(), Some(lines.join("\n").as_str()));
        assert_eq!(back.view, Some(v));
    }

    #[test]
    fn a_malformed_view_keeps_the_defaults_of_the_parts_it_cannot_read() {
        let back = restore("#v=9.x.1.bogus.1.max.extra");
        assert_eq!(
            back.view,
            Some(ViewState {
                sel: 9,
                layer: 0,
                head: 1,
                mode: AttnMode::Head,
                hide_special: true,
                agg: Aggregation::Max,
            })
        );
        assert_eq!(back.text, None);
        assert_eq!(restore("#v=").view, Some(ViewState::default()));
        assert_eq!(restore("#v=-1.1e3").view, Some(ViewState::default()));
    }

    #[test]
    fn malformed_escapes_stay_literal_and_bad_utf8_becomes_a_replacement_character() {
        // %E0%A4 starts a three-byte character that never ends: one U+FFFD; "%A" and "%zz"
        // are not escapes.
        assert_eq!(
            restore("#s=%E0%A4%A%zz").text.as_deref(),
            Some("\u{FFFD}%A%zz")
        );
        assert_eq!(restore("s=a+b=c").text.as_deref(), Some("a b=c"));
    }

    #[test]
    fn blank_or_missing_sentences_restore_nothing_to_run() {
        assert_eq!(restore(""), Restored::default());
        assert_eq!(restore("#"), Restored::default());
        assert_eq!(restore("#&&s"), Restored::default());
        assert_eq!(restore("#s=%20%0A%09"), Restored::default());
        assert_eq!(restore("#x=1&s=ok").text.as_deref(), Some("ok"));
    }

    #[test]
    fn the_query_names_model_backend_and_bench() {
        let q = Query::parse("?model=models/x&backend=cpu&bench=500");
        assert_eq!(
            q,
            Query {
                model: Some("models/x".into()),
                backend: BackendChoice::Cpu,
                bench: Some(200),
                sentences: None,
                lesson: None,
                registry: None,
                version: None,
                compare: None,
            }
        );
        assert_eq!(q.bundle_paths(), vec!["models/x/"]);
        assert_eq!(Query::parse("?bench").bench, Some(10));
        assert_eq!(Query::parse("?bench=0").bench, Some(1));
        assert_eq!(Query::parse("?bench=3").bench_runs(), 3);
    }

    #[test]
    fn backend_names_cpu_or_webgpu_and_anything_else_is_auto() {
        let backend = |s: &str| Query::parse(s).backend;
        assert_eq!(backend("?backend=cpu"), BackendChoice::Cpu);
        assert_eq!(backend("?backend=CPU"), BackendChoice::Cpu);
        assert_eq!(backend("?backend=webgpu"), BackendChoice::WebGpu);
        assert_eq!(backend("?backend=gpu"), BackendChoice::Auto);
        assert_eq!(backend("?backend=metal"), BackendChoice::Auto);
        assert_eq!(backend("?backend="), BackendChoice::Auto);
        assert_eq!(backend(""), BackendChoice::Auto);
        // URLSearchParams keeps the first of repeated keys.
        assert_eq!(
            backend("?backend=webgpu&backend=cpu"),
            BackendChoice::WebGpu
        );
    }

    #[test]
    fn the_cpu_switch_returns_to_what_the_address_asked_for() {
        use BackendChoice::*;
        assert_eq!(Auto.with_cpu_forced(true), Cpu);
        assert_eq!(WebGpu.with_cpu_forced(true), Cpu);
        assert_eq!(WebGpu.with_cpu_forced(false), WebGpu);
        assert_eq!(Auto.with_cpu_forced(false), Auto);
        // ?backend=cpu with the switch turned off: the page chooses again.
        assert_eq!(Cpu.with_cpu_forced(false), Auto);
    }

    #[test]
    fn sentences_are_inline_json_when_they_start_with_a_bracket_else_a_url() {
        let q = Query::parse("?bench=2&sentences=%5B%22a%22%2C%22b%22%5D");
        assert_eq!(
            q.sentences,
            Some(SentenceSource::Inline(r#"["a","b"]"#.into()))
        );
        assert_eq!(
            Query::parse("?sentences=/bench/sentences.json").sentences,
            Some(SentenceSource::Url("/bench/sentences.json".into()))
        );
        // Leading blanks (a `+` is a space) do not hide the bracket.
        assert_eq!(
            Query::parse("?sentences=+[1]").sentences,
            Some(SentenceSource::Inline("[1]".into()))
        );
        assert_eq!(Query::parse("?sentences=").sentences, None);
        assert_eq!(Query::parse("?sentences=%20").sentences, None);
    }

    #[test]
    fn without_a_query_the_default_bundle_comes_first_then_the_base() {
        let q = Query::parse("");
        assert_eq!(q, Query::default());
        assert_eq!(q.bundle_paths(), vec!["models/default/", "models/base/"]);
        assert_eq!(q.bench_runs(), DEFAULT_BENCH_RUNS);
        assert_eq!(Query::parse("?model=m/").bundle_paths(), vec!["m/"]);
    }

    #[test]
    fn registry_version_and_compare_are_read_as_given() {
        let q = Query::parse(
            "?registry=reg%2Findex.json&version=challenger&compare=champion,challenger",
        );
        assert_eq!(q.registry.as_deref(), Some("reg/index.json"));
        assert_eq!(q.version.as_deref(), Some("challenger"));
        assert_eq!(q.compare.as_deref(), Some("champion,challenger"));
        assert_eq!(Query::parse("?registry=").registry, None);
    }

    #[test]
    fn lesson_names_a_one_based_step_and_a_bare_or_bad_one_is_step_one() {
        let lesson = |s: &str| Query::parse(s).lesson;
        assert_eq!(lesson("?lesson=3"), Some(3));
        assert_eq!(lesson("?model=m&lesson=%202"), Some(2));
        assert_eq!(lesson("?lesson"), Some(1));
        assert_eq!(lesson("?lesson=two"), Some(1));
        assert_eq!(lesson("?lesson=-1"), Some(1));
        assert_eq!(lesson("?bench=2"), None);
    }

    #[test]
    fn setting_a_parameter_keeps_the_others_in_place() {
        assert_eq!(with_param("", "lesson", Some("2")), "?lesson=2");
        assert_eq!(
            with_param("?backend=cpu&lesson=1&bench=3", "lesson", Some("4")),
            "?backend=cpu&lesson=4&bench=3"
        );
        assert_eq!(
            with_param("?lesson=1&lesson=5", "lesson", Some("2")),
            "?lesson=2"
        );
        assert_eq!(
            with_param("?model=a%20b&lesson=2", "lesson", None),
            "?model=a%20b"
        );
        assert_eq!(with_param("?lesson=2", "lesson", None), "");
        // Values are re-encoded as encodeURIComponent writes them.
        assert_eq!(
            with_param("?sentences=+[1]", "x", Some("é&")),
            "?sentences=%20%5B1%5D&x=%C3%A9%26"
        );
    }

    #[test]
    fn a_lesson_link_reopens_that_step_over_the_same_sentences_and_view() {
        let lines = vec!["I love it!".to_string(), "a & b".to_string()];
        let v = view(1, 2, 3, AttnMode::Mean);
        let hash = permalink(&lines, &v);
        let link = lesson_link("?backend=cpu", &hash, 1);
        assert_eq!(
            link,
            "?backend=cpu&lesson=2#s=I%20love%20it!%0Aa%20%26%20b&v=1.2.3.mean.0.first"
        );
        let (search, hash) = link.split_once('#').unwrap();
        assert_eq!(Query::parse(search).lesson, Some(2));
        assert_eq!(Query::parse(search).backend, BackendChoice::Cpu);
        let back = restore(hash);
        assert_eq!(back.text.as_deref(), Some("I love it!\na & b"));
        assert_eq!(back.view, Some(v));
        assert_eq!(lesson_link("", "", 0), "?lesson=1");
    }
}
