//! Getting a bundle's bytes: from the Cache API when an earlier visit stored them (so a
//! reload works offline), otherwise from the network with a byte count for the progress bar.
//!
//! Cache entries are keyed by URL *and* SHA-256, so a new bundle at the same URL is never
//! confused with an old one, and a file is only stored after its hash has been checked. Every
//! Cache API failure (private mode, quota, no `caches` in this context) falls back to the
//! network: the cache is a convenience, never a reason to fail.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, CacheStorage, Response};

use crate::protocol::WorkerError;

const CACHE_NAME: &str = "glassbox-bundles-v1";

fn js_err(what: &str, e: JsValue) -> WorkerError {
    let detail = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    WorkerError::Network(format!("{what}: {detail}"))
}

fn broken(what: &str) -> WorkerError {
    WorkerError::Network(what.to_string())
}

/// The bundle cache, when this context has one.
pub async fn open_cache() -> Option<Cache> {
    let caches = Reflect::get(&js_sys::global(), &"caches".into()).ok()?;
    let caches: CacheStorage = caches.dyn_into().ok()?;
    JsFuture::from(caches.open(CACHE_NAME))
        .await
        .ok()?
        .dyn_into()
        .ok()
}

pub async fn cached(cache: Option<&Cache>, key: &str) -> Option<Vec<u8>> {
    let hit = JsFuture::from(cache?.match_with_str(key)).await.ok()?;
    let resp: Response = hit.dyn_into().ok()?;
    let buf = JsFuture::from(resp.array_buffer().ok()?).await.ok()?;
    Some(Uint8Array::new(&buf).to_vec())
}

/// Stores `bytes` under `key`. A full disk or a quota refusal only costs the offline copy,
/// so the caller goes on; the reason comes back for the page to show ("not kept (…)").
pub async fn store(cache: Option<&Cache>, key: &str, bytes: &[u8]) -> Result<(), String> {
    let cache = cache.ok_or("this browser context has no Cache API")?;
    let mut copy = bytes.to_vec();
    let resp = Response::new_with_opt_u8_array(Some(&mut copy))
        .map_err(|e| js_err("building the response", e).to_string())?;
    JsFuture::from(cache.put_with_str(key, &resp))
        .await
        .map(|_| ())
        .map_err(|e| js_err("the browser refused to store it", e).to_string())
}

/// A response whose headers have arrived; its body is read by [`read_body`].
pub struct Pending {
    url: String,
    resp: Response,
    /// From `Content-Length`, 0 when the server did not send it.
    pub len: u64,
}

pub async fn start(url: &str) -> Result<Pending, WorkerError> {
    let fetch = Reflect::get(&js_sys::global(), &"fetch".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| broken("this context has no fetch()"))?;
    let promise: js_sys::Promise = fetch
        .call1(&js_sys::global(), &url.into())
        .map_err(|e| js_err(&format!("fetching {url}"), e))?
        .dyn_into()
        .map_err(|_| broken("fetch() did not return a promise"))?;
    let resp: Response = JsFuture::from(promise)
        .await
        .map_err(|e| js_err(&format!("fetching {url}"), e))?
        .dyn_into()
        .map_err(|_| broken("fetch() did not resolve to a Response"))?;
    if !resp.ok() {
        return Err(WorkerError::Network(format!(
            "fetching {url}: HTTP {}",
            resp.status()
        )));
    }
    let len = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(Pending {
        url: url.to_string(),
        resp,
        len,
    })
}

/// What a download that broke off says: which file, how far it got, what to do.
fn cut_short(url: &str, got: usize, len: u64) -> String {
    let mib = |b: f64| b / (1024.0 * 1024.0);
    let of = if len > 0 {
        format!(" of {:.1} MiB", mib(len as f64))
    } else {
        String::new()
    };
    format!(
        "the download of {url} broke off after {:.1} MiB{of} (nothing of it was stored; reload to try again)",
        mib(got as f64)
    )
}

/// Reads the body chunk by chunk, calling `on_chunk` with each chunk's size.
pub async fn read_body(p: Pending, mut on_chunk: impl FnMut(u64)) -> Result<Vec<u8>, WorkerError> {
    let url = &p.url;
    let Some(body) = p.resp.body() else {
        return Ok(vec![]);
    };
    let get_reader = Reflect::get(&body, &"getReader".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| broken("ReadableStream.getReader is missing"))?;
    let reader = get_reader
        .call0(&body)
        .map_err(|e| js_err(&format!("reading {url}"), e))?;
    let read = Reflect::get(&reader, &"read".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| broken("reader.read is missing"))?;
    let mut out = Vec::with_capacity(p.len as usize);
    loop {
        let promise: js_sys::Promise = read
            .call0(&reader)
            .map_err(|e| js_err(&format!("reading {url}"), e))?
            .dyn_into()
            .map_err(|_| broken("reader.read() did not return a promise"))?;
        let chunk = JsFuture::from(promise)
            .await
            .map_err(|e| js_err(&cut_short(url, out.len(), p.len), e))?;
        if Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true)
        {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(|e| js_err(&format!("reading {url}"), e))?
            .dyn_into()
            .map_err(|_| WorkerError::Network(format!("reading {url}: a chunk was not bytes")))?;
        let start = out.len();
        out.resize(start + value.length() as usize, 0);
        value.copy_to(&mut out[start..]);
        on_chunk(value.length() as u64);
    }
    Ok(out)
}
