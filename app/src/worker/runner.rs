//! One loaded bundle on one backend, chosen once.
//!
//! burn-wgpu panics when no adapter exists and the wasm module is unusable afterwards, so
//! WebGPU is probed first (`navigator.gpu.requestAdapter()`, from the worker's own navigator)
//! and the CPU backend is chosen when that yields nothing, or only a software adapter (slower
//! than the CPU path) while the address does not insist on WebGPU. After that the engine
//! talks to a `dyn Runner` and never asks which backend it is; only a lost WebGPU device
//! makes it build a CPU runner in its place.

use std::cell::RefCell;

use burn::backend::wgpu::{
    graphics::AutoGraphicsApi, init_setup_async, RuntimeOptions, WgpuDevice,
};
use burn::backend::{Flex, Wgpu};
use burn::prelude::Backend;
use futures::future::LocalBoxFuture;
use glassbox_model::nn::device_int8::DeviceInt8;
use glassbox_model::nn::projection::{Int8, Kernels};
use glassbox_model::view::readout::BatchData;
use glassbox_model::view::{read_async, ReadBack};
use glassbox_model::weights::bundle::{load_bundle, LoadedBundle};
use glassbox_model::{TextTokenizer, Tokenized};
use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::adapter::{software_reason, software_renderer};
use super::loader::Bundle;
use crate::protocol::{WorkerError, CPU_BACKEND};
use crate::url::BackendChoice;

/// A model ready to run on its backend.
pub trait Runner {
    /// Human-readable backend for the backend panel.
    fn backend(&self) -> &str;
    /// True on WebGPU, whose device can be lost mid-session.
    fn on_gpu(&self) -> bool;
    fn tokenizer(&self) -> &TextTokenizer;
    /// One forward pass of `items` as a padded batch and one asynchronous read-back (a
    /// synchronous read panics on WebGPU) of what `what` asks for.
    fn forward(
        &self,
        items: Vec<Tokenized>,
        what: ReadBack,
    ) -> LocalBoxFuture<'_, Result<BatchData, WorkerError>>;
}

struct On<B: Backend> {
    bundle: LoadedBundle<B>,
    /// What computes the encoder's linear layers: int8 on the CPU, device int8 on WebGPU.
    kernels: Kernels<B>,
    device: B::Device,
    backend: String,
    on_gpu: bool,
}

impl<B: Backend> Runner for On<B> {
    fn backend(&self) -> &str {
        &self.backend
    }

    fn on_gpu(&self) -> bool {
        self.on_gpu
    }

    fn tokenizer(&self) -> &TextTokenizer {
        &self.bundle.tokenizer
    }

    fn forward(
        &self,
        items: Vec<Tokenized>,
        what: ReadBack,
    ) -> LocalBoxFuture<'_, Result<BatchData, WorkerError>> {
        Box::pin(async move {
            let b = &self.bundle;
            let out = b
                .model
                .forward_texts_with(&b.tokenizer, &items, &self.kernels, &self.device);
            Ok(read_async(out, &what).await?)
        })
    }
}

fn build<B: Backend>(bundle: &Bundle, device: &B::Device) -> Result<LoadedBundle<B>, WorkerError> {
    // load_bundle checks weights and tokenizer against the manifest once more: cheap next to
    // building the model, and it keeps the model crate the one judge of a bundle.
    Ok(load_bundle::<B>(
        &bundle.manifest_bytes,
        bundle.weights().to_vec(),
        bundle.tokenizer(),
        device,
    )?)
}

/// The bundle on burn-flex in wasm (SIMD128), its linear layers on glassbox's int8 kernels:
/// `i32x4.dot_i16x8_s` does twice the multiply-adds of f32 SIMD128 per instruction (`glassbox
/// predict --kernels int8` computes the same numbers natively).
pub fn cpu(bundle: &Bundle) -> Result<Box<dyn Runner>, WorkerError> {
    let bundle = build::<Flex>(bundle, &Default::default())?;
    Ok(Box::new(On::<Flex> {
        kernels: Kernels::Int8(Int8::pack(&bundle.model)),
        bundle,
        device: Default::default(),
        backend: CPU_BACKEND.to_string(),
        on_gpu: false,
    }))
}

thread_local! {
    /// How the WebGPU device set up in this worker is named, once it is: cubecl registers a
    /// device once per thread and panics on a second registration, so a later load (the
    /// backend switch turned off again) reuses it.
    static WEBGPU: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Sets up the WebGPU device the first time, and names its adapter; `described` is the
/// adapter's own description from the probe.
async fn webgpu_device(described: &str) -> String {
    if let Some(adapter) = WEBGPU.with(|w| w.borrow().clone()) {
        return adapter;
    }
    let setup =
        init_setup_async::<AutoGraphicsApi>(&WgpuDevice::DefaultDevice, RuntimeOptions::default())
            .await;
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
    WEBGPU.with(|w| *w.borrow_mut() = Some(adapter.clone()));
    adapter
}

/// The bundle on WebGPU, its encoder projections int8 in GPU memory ([`DeviceInt8`]: burn's
/// matrix multiply dequantizes them as it reads them), their f32 copies released.
async fn webgpu(bundle: &Bundle, described: &str) -> Result<Box<dyn Runner>, WorkerError> {
    let adapter = webgpu_device(described).await;
    let device = WgpuDevice::DefaultDevice;
    let loaded = build::<Wgpu>(bundle, &device)?;
    let (model, int8) = DeviceInt8::take(loaded.model);
    Ok(Box::new(On::<Wgpu> {
        bundle: LoadedBundle { model, ..loaded },
        kernels: Kernels::DeviceInt8(int8),
        device,
        backend: format!("WebGPU — burn-wgpu on {adapter}"),
        on_gpu: true,
    }))
}

/// The runner for this browser and `choice`, with the reason WebGPU is not used when it is
/// not: `Auto` takes WebGPU on a GPU and the CPU on a software adapter, `WebGpu` takes any
/// adapter, `Cpu` never probes.
pub async fn choose(
    bundle: &Bundle,
    choice: BackendChoice,
) -> Result<(Box<dyn Runner>, Option<String>), WorkerError> {
    let probe = if choice == BackendChoice::Cpu {
        Err("CPU chosen with the backend switch (or ?backend=cpu)".to_string())
    } else {
        probe_webgpu().await
    };
    let why_not = match probe {
        Ok(Adapter {
            software: Some(renderer),
            ..
        }) if choice == BackendChoice::Auto => software_reason(&renderer),
        Ok(a) => return Ok((webgpu(bundle, &a.described).await?, None)),
        Err(why) => why,
    };
    Ok((cpu(bundle)?, Some(why_not)))
}

/// What the probe learnt of the adapter.
struct Adapter {
    /// Its own description ("google swiftshader …"), for the backend panel.
    described: String,
    /// The software renderer it is, if it is one.
    software: Option<String>,
}

/// `obj.isFallbackAdapter`: on the adapter in older browsers, on its `info` in newer ones.
fn is_fallback(obj: &wasm_bindgen::JsValue) -> bool {
    Reflect::get(obj, &"isFallbackAdapter".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// The adapter WebGPU offers, otherwise why there is none.
async fn probe_webgpu() -> Result<Adapter, String> {
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
    let fallback = is_fallback(&adapter) || is_fallback(&info);
    Ok(Adapter {
        software: software_renderer(fallback, &words),
        described: words.join(" "),
    })
}
