//! Loading a bundle and running it on whichever backend the browser offers.
//!
//! burn-wgpu panics when no adapter exists and the wasm module is unusable afterwards, so
//! WebGPU is probed from JS first (`navigator.gpu.requestAdapter()`) and the CPU backend is
//! chosen when that yields nothing. Every read-back is async: a sync read panics on WebGPU.

use burn::backend::wgpu::{
    graphics::AutoGraphicsApi, init_setup_async, RuntimeOptions, WgpuDevice,
};
use burn::backend::{Flex, Wgpu};
use burn::prelude::*;
use glassbox_model::bundle::{load_bundle, LoadedBundle, Manifest, MANIFEST, TOKENIZER, WEIGHTS};
use glassbox_model::readout::{BatchData, SentenceResult};
use glassbox_model::Tokenized;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub enum Engine {
    Gpu {
        bundle: LoadedBundle<Wgpu>,
        device: WgpuDevice,
        adapter: String,
    },
    Cpu {
        bundle: LoadedBundle<Flex>,
    },
}

/// Why WebGPU is not used, when it is not.
pub async fn probe_webgpu() -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let nav = window.navigator();
    let gpu = js_sys::Reflect::get(&nav, &"gpu".into()).map_err(|_| "navigator.gpu unreadable")?;
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser does not expose WebGPU (navigator.gpu is missing)".into());
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is not a function")?;
    let promise = request
        .call0(&gpu)
        .map_err(|_| "requestAdapter() threw")?
        .dyn_into::<js_sys::Promise>()
        .map_err(|_| "requestAdapter() did not return a promise")?;
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|_| "requestAdapter() was rejected")?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("WebGPU is present but no GPU adapter is available".into());
    }
    Ok(())
}

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let resp = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| format!("fetching {url}: {e}"))?;
    if !resp.ok() {
        return Err(format!("fetching {url}: HTTP {}", resp.status()));
    }
    resp.binary()
        .await
        .map_err(|e| format!("reading {url}: {e}"))
}

/// Finds the first of `candidates` (base URLs ending in `/`) that serves a manifest.
pub async fn locate_bundle(candidates: &[String]) -> Result<(String, Vec<u8>), String> {
    let mut tried = Vec::new();
    for base in candidates {
        match fetch_bytes(&format!("{base}{MANIFEST}")).await {
            Ok(bytes) => return Ok((base.clone(), bytes)),
            Err(e) => tried.push(e),
        }
    }
    Err(format!("no model bundle found: {}", tried.join("; ")))
}

impl Engine {
    pub async fn load(
        base: &str,
        manifest: Vec<u8>,
        force_cpu: bool,
    ) -> Result<(Engine, Option<String>), String> {
        // Parse first so a broken manifest is reported before 90 MB are downloaded.
        Manifest::from_json(&manifest).map_err(|e| e.to_string())?;
        let weights = fetch_bytes(&format!("{base}{WEIGHTS}")).await?;
        let tokenizer = fetch_bytes(&format!("{base}{TOKENIZER}")).await?;
        let fallback_reason = if force_cpu {
            Some("CPU forced by ?backend=cpu".to_string())
        } else {
            probe_webgpu().await.err()
        };
        if fallback_reason.is_none() {
            let device = WgpuDevice::DefaultDevice;
            let setup =
                init_setup_async::<AutoGraphicsApi>(&device, RuntimeOptions::default()).await;
            let info = setup.adapter.get_info();
            let adapter = if info.name.is_empty() {
                format!("{:?}", info.backend)
            } else {
                format!("{} ({:?})", info.name, info.backend)
            };
            let bundle = load_bundle::<Wgpu>(&manifest, weights, &tokenizer, &device)
                .map_err(|e| e.to_string())?;
            return Ok((
                Engine::Gpu {
                    bundle,
                    device,
                    adapter,
                },
                None,
            ));
        }
        let bundle = load_bundle::<Flex>(&manifest, weights, &tokenizer, &Default::default())
            .map_err(|e| e.to_string())?;
        Ok((Engine::Cpu { bundle }, fallback_reason))
    }

    pub fn backend_label(&self) -> String {
        match self {
            Engine::Gpu { adapter, .. } => format!("WebGPU — burn-wgpu on {adapter}"),
            Engine::Cpu { .. } => "CPU — burn-flex in wasm (SIMD128)".to_string(),
        }
    }

    pub fn tokenize(&self, text: &str) -> Result<Tokenized, String> {
        let tok = match self {
            Engine::Gpu { bundle, .. } => &bundle.tokenizer,
            Engine::Cpu { bundle } => &bundle.tokenizer,
        };
        tok.encode(text).map_err(|e| e.to_string())
    }

    pub async fn run(&self, items: Vec<Tokenized>) -> Result<Vec<SentenceResult>, String> {
        match self {
            Engine::Gpu { bundle, device, .. } => run_on(bundle, items, device).await,
            Engine::Cpu { bundle } => run_on(bundle, items, &Default::default()).await,
        }
    }
}

async fn read<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>, String> {
    t.into_data_async()
        .await
        .map_err(|e| format!("reading results back: {e:?}"))?
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))
}

async fn run_on<B: Backend>(
    bundle: &LoadedBundle<B>,
    items: Vec<Tokenized>,
    device: &B::Device,
) -> Result<Vec<SentenceResult>, String> {
    let o = bundle
        .model
        .forward_texts(&bundle.tokenizer, &items, device);
    let [batch, len, hidden] = o.hidden.dims();
    let heads = o.attentions.first().map(|a| a.dims()[1]).unwrap_or(0);
    let mut attentions = Vec::with_capacity(o.attentions.len());
    for a in o.attentions {
        attentions.push(read(a).await?);
    }
    let data = BatchData {
        batch,
        len,
        heads,
        hidden,
        embedding: read(o.embedding).await?,
        attentions,
        sentence_logits: read(o.sentence_logits).await?,
        token_logits: read(o.token_logits).await?,
    };
    Ok(data.split(items))
}
