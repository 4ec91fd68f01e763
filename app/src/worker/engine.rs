//! Loading a bundle and running it on whichever backend the browser offers.
//!
//! burn-wgpu panics when no adapter exists and the wasm module is unusable afterwards, so
//! WebGPU is probed first (`navigator.gpu.requestAdapter()`, from the worker's own navigator)
//! and the CPU backend is chosen when that yields nothing. Every read-back is async (one
//! `Transaction` per batch): a sync read panics on WebGPU. The verified bundle bytes are kept
//! so that a lost WebGPU device can be replaced by the CPU backend without a download.

use std::cell::RefCell;
use std::rc::Rc;

use burn::backend::wgpu::{
    graphics::AutoGraphicsApi, init_setup_async, RuntimeOptions, WgpuDevice,
};
use burn::backend::{Flex, Wgpu};
use burn::prelude::*;
use burn::tensor::Transaction;
use glassbox_model::bundle::{load_bundle, LoadedBundle, Manifest, MANIFEST, TOKENIZER, WEIGHTS};
use glassbox_model::decode::words;
use glassbox_model::explain::drop_word;
use glassbox_model::readout::{softmax, BatchData};
use glassbox_model::Tokenized;
use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::cache::ResultCache;
use super::fetch::{cached, open_cache, read_body, start, store};
use crate::now_ms;
use crate::protocol::{LoadInfo, Occlusion, Progress, RunOutput, SentenceOut, CPU_BACKEND};

/// Rows per forward pass of the occlusion batch: bounds memory on long sentences.
const OCCLUSION_BATCH: usize = 16;

enum Runner {
    Gpu {
        bundle: Box<LoadedBundle<Wgpu>>,
        device: WgpuDevice,
    },
    Cpu {
        bundle: Box<LoadedBundle<Flex>>,
    },
}

struct BundleBytes {
    manifest: Vec<u8>,
    weights: Vec<u8>,
    tokenizer: Vec<u8>,
}

pub struct Engine {
    runner: RefCell<Rc<Runner>>,
    bytes: BundleBytes,
    info: RefCell<LoadInfo>,
    results: RefCell<ResultCache>,
}

/// The adapter's self-description ("google swiftshader …") when WebGPU has one, otherwise
/// why not.
async fn probe_webgpu() -> Result<String, String> {
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
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or_default();
    let words: Vec<String> = ["vendor", "architecture", "device", "description"]
        .iter()
        .filter_map(|k| Reflect::get(&info, &(*k).into()).ok()?.as_string())
        .filter(|v| !v.is_empty())
        .collect();
    Ok(words.join(" "))
}

fn manifest_key(base: &str) -> String {
    format!("{base}{MANIFEST}")
}

/// The first of `candidates` with a manifest, from the network or else from the offline
/// copy (so an unreachable default bundle is not skipped for a fallback that is reachable),
/// with that manifest's bytes and whether they came from the network.
async fn locate_bundle(
    candidates: &[String],
    cache: Option<&web_sys::Cache>,
) -> Result<(String, Vec<u8>, bool), String> {
    let mut tried = Vec::new();
    for base in candidates {
        match start(&manifest_key(base)).await {
            Ok(p) => return Ok((base.clone(), read_body(p, |_| {}).await?, true)),
            Err(e) => match cached(cache, &manifest_key(base)).await {
                Some(bytes) => return Ok((base.clone(), bytes, false)),
                None => tried.push(e),
            },
        }
    }
    Err(format!("no model bundle found: {}", tried.join("; ")))
}

/// Weights and tokenizer, each from the cache when its hash matches, else downloaded with
/// progress, verified, then stored for the next visit.
async fn bundle_files(
    base: &str,
    manifest: &Manifest,
    cache: Option<&web_sys::Cache>,
    progress: &dyn Fn(Progress),
) -> Result<(Vec<Vec<u8>>, bool), String> {
    let names = [WEIGHTS, TOKENIZER];
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    let mut pending = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let hash = manifest
            .files
            .get(*name)
            .ok_or_else(|| format!("the manifest lists no SHA-256 for {name}"))?;
        let key = format!("{base}{name}?sha256={hash}");
        match cached(cache, &key).await {
            Some(b) if manifest.verify(name, &b).is_ok() => out.push(Some(b)),
            _ => {
                out.push(None);
                pending.push((i, key, start(&format!("{base}{name}")).await?));
            }
        }
    }
    let from_network = !pending.is_empty();
    let total: u64 = pending.iter().map(|(_, _, p)| p.len).sum();
    let mut loaded = 0u64;
    progress(Progress { loaded, total });
    for (i, key, p) in pending {
        let bytes = read_body(p, |n| {
            loaded += n;
            progress(Progress { loaded, total });
        })
        .await?;
        manifest
            .verify(names[i], &bytes)
            .map_err(|e| e.to_string())?;
        store(cache, &key, &bytes).await;
        out[i] = Some(bytes);
    }
    Ok((out.into_iter().flatten().collect(), from_network))
}

impl Engine {
    pub async fn load(
        candidates: &[String],
        force_cpu: bool,
        progress: &dyn Fn(Progress),
    ) -> Result<Engine, String> {
        let t0 = now_ms();
        let cache = open_cache().await;
        let (base, manifest_bytes, manifest_from_network) =
            locate_bundle(candidates, cache.as_ref()).await?;
        // Parse first so a broken manifest is reported before megabytes are downloaded.
        let manifest = Manifest::from_json(&manifest_bytes).map_err(|e| e.to_string())?;
        let (mut files, files_from_network) =
            bundle_files(&base, &manifest, cache.as_ref(), progress).await?;
        let bytes = BundleBytes {
            manifest: manifest_bytes,
            tokenizer: files.pop().expect("tokenizer bytes"),
            weights: files.pop().expect("weights bytes"),
        };
        let probe = if force_cpu {
            Err("CPU chosen with the backend switch (or ?backend=cpu)".to_string())
        } else {
            probe_webgpu().await
        };
        let (runner, backend) = match &probe {
            Ok(adapter) => gpu_runner(&bytes, adapter).await?,
            Err(_) => cpu_runner(&bytes)?,
        };
        let fallback_reason = probe.err();
        // Only a bundle that loaded is remembered for offline use.
        store(cache.as_ref(), &manifest_key(&base), &bytes.manifest).await;
        let info = LoadInfo {
            backend,
            fallback_reason,
            base,
            manifest_json: String::from_utf8_lossy(&bytes.manifest).into_owned(),
            model_key: manifest.files[WEIGHTS].clone(),
            source: match (manifest_from_network, files_from_network) {
                (_, true) => "network".into(),
                (true, false) => "browser cache (weights stored by an earlier visit)".into(),
                (false, false) => "browser cache (offline copy)".into(),
            },
            bytes: (bytes.weights.len() + bytes.tokenizer.len() + bytes.manifest.len()) as u64,
            load_ms: now_ms() - t0,
        };
        Ok(Engine {
            runner: RefCell::new(Rc::new(runner)),
            bytes,
            info: RefCell::new(info),
            results: RefCell::new(ResultCache::new(64 << 20)),
        })
    }

    pub fn info(&self) -> LoadInfo {
        self.info.borrow().clone()
    }

    fn tokenizer(&self) -> glassbox_model::TextTokenizer {
        match &**self.runner.borrow() {
            Runner::Gpu { bundle, .. } => bundle.tokenizer.clone(),
            Runner::Cpu { bundle } => bundle.tokenizer.clone(),
        }
    }

    /// Runs `items` on the current backend; when WebGPU fails (a lost device), switches to
    /// the CPU backend for good and runs them again there. Returns what changed, if anything.
    async fn forward(
        &self,
        items: Vec<Tokenized>,
        attention: bool,
    ) -> Result<(BatchData, Option<String>), String> {
        let runner = self.runner.borrow().clone();
        let first = match &*runner {
            Runner::Gpu { bundle, device } => {
                forward_on(bundle, items.clone(), device, attention).await
            }
            Runner::Cpu { bundle } => {
                return forward_on(bundle, items, &Default::default(), attention)
                    .await
                    .map(|d| (d, None))
            }
        };
        match first {
            Ok(d) => Ok((d, None)),
            Err(e) => {
                let (cpu, backend) = cpu_runner(&self.bytes)?;
                let note = format!("WebGPU failed ({e}); switched to the CPU backend");
                {
                    let mut info = self.info.borrow_mut();
                    info.backend = backend;
                    info.fallback_reason = Some(note.clone());
                }
                *self.runner.borrow_mut() = Rc::new(cpu);
                self.results.borrow_mut().clear();
                let d = self.forward_cpu(items, attention).await?;
                Ok((d, Some(note)))
            }
        }
    }

    async fn forward_cpu(
        &self,
        items: Vec<Tokenized>,
        attention: bool,
    ) -> Result<BatchData, String> {
        let runner = self.runner.borrow().clone();
        match &*runner {
            Runner::Cpu { bundle } => {
                forward_on(bundle, items, &Default::default(), attention).await
            }
            Runner::Gpu { .. } => Err("the CPU backend did not take over".into()),
        }
    }

    /// Encodes every text (reporting empty ones and truncation per text), answers texts seen
    /// before from the cache, and runs the rest as one padded batch.
    pub async fn run(&self, texts: &[String], fresh: bool) -> Result<RunOutput, String> {
        let tokenizer = self.tokenizer();
        let mut slots: Vec<Option<Result<SentenceOut, String>>> = Vec::new();
        let mut todo: Vec<(usize, Tokenized)> = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            if !fresh {
                if let Some(hit) = self.results.borrow_mut().get(text) {
                    slots.push(Some(Ok(hit)));
                    continue;
                }
            }
            match tokenizer.encode(text) {
                Ok(t) => {
                    slots.push(None);
                    todo.push((i, t));
                }
                Err(e) => slots.push(Some(Err(e.to_string()))),
            }
        }
        let mut forward_ms = 0.0;
        let mut backend_change = None;
        if !todo.is_empty() {
            let t0 = now_ms();
            let items: Vec<Tokenized> = todo.iter().map(|(_, t)| t.clone()).collect();
            let (data, change) = self.forward(items.clone(), true).await?;
            backend_change = change;
            forward_ms = now_ms() - t0;
            for ((i, _), r) in todo.iter().zip(data.split(items)) {
                let out = SentenceOut {
                    embedding: r.embedding,
                    sentence_probs: r.sentence_probs,
                    token_probs: r.token_probs,
                    heads: r.heads,
                    attentions: r
                        .attentions
                        .iter()
                        .map(|l| l.iter().map(|p| (p * 255.0).round() as u8).collect())
                        .collect(),
                    tokenized: r.tokenized,
                    cached: false,
                };
                self.results.borrow_mut().put(texts[*i].clone(), &out);
                slots[*i] = Some(Ok(out));
            }
        }
        Ok(RunOutput {
            sentences: slots.into_iter().flatten().collect(),
            forward_ms,
            backend_change,
        })
    }

    /// The sentence distribution of `text` and of `text` with each word dropped.
    pub async fn occlude(&self, text: &str) -> Result<Occlusion, String> {
        let t = self.tokenizer().encode(text).map_err(|e| e.to_string())?;
        let words = words(&t);
        let mut variants = vec![t.clone()];
        variants.extend(words.iter().map(|w| drop_word(&t, w.id)));
        let mut probs = Vec::with_capacity(variants.len());
        for chunk in variants.chunks(OCCLUSION_BATCH) {
            let (data, _) = self.forward(chunk.to_vec(), false).await?;
            let k = data.sentence_logits.len() / data.batch.max(1);
            probs.extend(data.sentence_logits.chunks(k).map(softmax));
        }
        let base_probs = probs.remove(0);
        Ok(Occlusion {
            text: text.to_string(),
            words: words.iter().map(|w| (w.start, w.end)).collect(),
            base_probs,
            dropped_probs: probs,
        })
    }
}

async fn gpu_runner(bytes: &BundleBytes, described: &str) -> Result<(Runner, String), String> {
    let device = WgpuDevice::DefaultDevice;
    let setup = init_setup_async::<AutoGraphicsApi>(&device, RuntimeOptions::default()).await;
    let a = setup.adapter.get_info();
    // In the browser wgpu's adapter name is empty; the adapter's own info says more.
    let name = if a.name.is_empty() {
        described
    } else {
        a.name.as_str()
    };
    let adapter = if name.is_empty() {
        format!("{:?}", a.backend)
    } else {
        format!("{name} ({:?})", a.backend)
    };
    let bundle = load_bundle::<Wgpu>(
        &bytes.manifest,
        bytes.weights.clone(),
        &bytes.tokenizer,
        &device,
    )
    .map_err(|e| e.to_string())?;
    Ok((
        Runner::Gpu {
            bundle: Box::new(bundle),
            device,
        },
        format!("WebGPU — burn-wgpu on {adapter}"),
    ))
}

fn cpu_runner(bytes: &BundleBytes) -> Result<(Runner, String), String> {
    let bundle = load_bundle::<Flex>(
        &bytes.manifest,
        bytes.weights.clone(),
        &bytes.tokenizer,
        &Default::default(),
    )
    .map_err(|e| e.to_string())?;
    Ok((
        Runner::Cpu {
            bundle: Box::new(bundle),
        },
        CPU_BACKEND.to_string(),
    ))
}

fn floats(d: burn::tensor::TensorData) -> Result<Vec<f32>, String> {
    d.convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))
}

/// One forward pass and one asynchronous read-back of everything the page shows.
async fn forward_on<B: Backend>(
    bundle: &LoadedBundle<B>,
    items: Vec<Tokenized>,
    device: &B::Device,
    attention: bool,
) -> Result<BatchData, String> {
    let o = bundle
        .model
        .forward_texts(&bundle.tokenizer, &items, device);
    let [batch, len, hidden] = o.hidden.dims();
    let heads = o.attentions.first().map(|a| a.dims()[1]).unwrap_or(0);
    let layers = if attention { o.attentions.len() } else { 0 };
    let mut tx = Transaction::default()
        .register(o.embedding)
        .register(o.sentence_logits)
        .register(o.token_logits);
    for a in o.attentions.into_iter().take(layers) {
        tx = tx.register(a);
    }
    let mut data = tx
        .execute_async()
        .await
        .map_err(|e| format!("reading results back: {e:?}"))?
        .into_iter();
    let mut next = || -> Result<Vec<f32>, String> {
        floats(data.next().ok_or("a read-back tensor is missing")?)
    };
    let embedding = next()?;
    let sentence_logits = next()?;
    let token_logits = next()?;
    let attentions = (0..layers).map(|_| next()).collect::<Result<_, _>>()?;
    Ok(BatchData {
        batch,
        len,
        heads,
        hidden,
        embedding,
        attentions,
        sentence_logits,
        token_logits,
    })
}
