//! Loading a bundle and running it on whichever backend the browser offers.
//!
//! burn-wgpu panics when no adapter exists and the wasm module is unusable afterwards, so
//! WebGPU is probed first (`navigator.gpu.requestAdapter()`, from the worker's own navigator)
//! and the CPU backend is chosen when that yields nothing. Every read-back is async: a sync
//! read panics on WebGPU.

use burn::backend::wgpu::{
    graphics::AutoGraphicsApi, init_setup_async, RuntimeOptions, WgpuDevice,
};
use burn::backend::{Flex, Wgpu};
use burn::prelude::*;
use glassbox_model::bundle::{load_bundle, LoadedBundle, Manifest, MANIFEST, TOKENIZER, WEIGHTS};
use glassbox_model::readout::BatchData;
use glassbox_model::Tokenized;
use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::now_ms;
use crate::protocol::{LoadInfo, RunOutput, SentenceOut};

pub enum Engine {
    Gpu {
        bundle: Box<LoadedBundle<Wgpu>>,
        device: WgpuDevice,
    },
    Cpu {
        bundle: Box<LoadedBundle<Flex>>,
    },
}

/// `Ok` when WebGPU has an adapter, otherwise why not.
async fn probe_webgpu() -> Result<(), String> {
    let nav = Reflect::get(&js_sys::global(), &"navigator".into())
        .map_err(|_| "navigator is unreadable")?;
    let gpu = Reflect::get(&nav, &"gpu".into()).map_err(|_| "navigator.gpu is unreadable")?;
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser does not expose WebGPU (navigator.gpu is missing)".into());
    }
    let request = Reflect::get(&gpu, &"requestAdapter".into())
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

/// The first of `candidates` that serves a manifest, with that manifest's bytes.
async fn locate_bundle(candidates: &[String]) -> Result<(String, Vec<u8>), String> {
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
        candidates: &[String],
        force_cpu: bool,
    ) -> Result<(Engine, LoadInfo), String> {
        let t0 = now_ms();
        let (base, manifest) = locate_bundle(candidates).await?;
        // Parse first so a broken manifest is reported before 90 MB are downloaded.
        let parsed = Manifest::from_json(&manifest).map_err(|e| e.to_string())?;
        let weights = fetch_bytes(&format!("{base}{WEIGHTS}")).await?;
        let tokenizer = fetch_bytes(&format!("{base}{TOKENIZER}")).await?;
        let fallback_reason = if force_cpu {
            Some("CPU forced by ?backend=cpu".to_string())
        } else {
            probe_webgpu().await.err()
        };
        let mut info = LoadInfo {
            backend: String::new(),
            on_gpu: fallback_reason.is_none(),
            fallback_reason,
            model_name: format!("{} {}", parsed.name, parsed.version),
            base: base.clone(),
            heads_trained: parsed.heads_trained,
            load_ms: 0.0,
        };
        let engine = if info.on_gpu {
            let device = WgpuDevice::DefaultDevice;
            let setup =
                init_setup_async::<AutoGraphicsApi>(&device, RuntimeOptions::default()).await;
            let a = setup.adapter.get_info();
            let adapter = if a.name.is_empty() {
                format!("{:?}", a.backend)
            } else {
                format!("{} ({:?})", a.name, a.backend)
            };
            info.backend = format!("WebGPU — burn-wgpu on {adapter}");
            let bundle = load_bundle::<Wgpu>(&manifest, weights, &tokenizer, &device)
                .map_err(|e| e.to_string())?;
            Engine::Gpu {
                bundle: Box::new(bundle),
                device,
            }
        } else {
            info.backend = "CPU — burn-flex in wasm (SIMD128)".to_string();
            let bundle = load_bundle::<Flex>(&manifest, weights, &tokenizer, &Default::default())
                .map_err(|e| e.to_string())?;
            Engine::Cpu {
                bundle: Box::new(bundle),
            }
        };
        info.load_ms = now_ms() - t0;
        Ok((engine, info))
    }

    /// Encodes every text (reporting empty ones and truncation per text) and runs the rest
    /// as one padded batch.
    pub async fn run(&self, texts: &[String]) -> Result<RunOutput, String> {
        let tokenizer = match self {
            Engine::Gpu { bundle, .. } => &bundle.tokenizer,
            Engine::Cpu { bundle } => &bundle.tokenizer,
        };
        let encoded: Vec<Result<Tokenized, String>> = texts
            .iter()
            .map(|t| tokenizer.encode(t).map_err(|e| e.to_string()))
            .collect();
        let items: Vec<Tokenized> = encoded.iter().filter_map(|e| e.clone().ok()).collect();
        let t0 = now_ms();
        let mut outs = if items.is_empty() {
            vec![]
        } else {
            match self {
                Engine::Gpu { bundle, device } => run_on(bundle, items, device).await?,
                Engine::Cpu { bundle } => run_on(bundle, items, &Default::default()).await?,
            }
        };
        let forward_ms = now_ms() - t0;
        outs.reverse();
        let sentences = encoded
            .into_iter()
            .map(|e| e.map(|_| outs.pop().expect("one result per encoded text")))
            .collect();
        Ok(RunOutput {
            sentences,
            forward_ms,
        })
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
) -> Result<Vec<SentenceOut>, String> {
    let o = bundle
        .model
        .forward_texts(&bundle.tokenizer, &items, device);
    let [batch, len, hidden] = o.hidden.dims();
    let heads = o.attentions.first().map(|a| a.dims()[1]).unwrap_or(0);
    let data = BatchData {
        batch,
        len,
        heads,
        hidden,
        embedding: read(o.embedding).await?,
        // The smoke page shows no attention yet; reading 6 layers back would only cost time.
        attentions: vec![],
        sentence_logits: read(o.sentence_logits).await?,
        token_logits: read(o.token_logits).await?,
    };
    Ok(data
        .split(items)
        .into_iter()
        .map(|r| SentenceOut {
            tokens: r.tokenized.tokens.clone(),
            truncation: r.tokenized.truncation.as_ref().map(|t| t.message()),
            embedding: r.embedding,
            sentence_probs: r.sentence_probs,
        })
        .collect())
}
