//! One loaded bundle on one backend, chosen once.
//!
//! burn-wgpu panics when no adapter exists and the wasm module is unusable afterwards, so
//! WebGPU is probed first (`navigator.gpu.requestAdapter()`, from the worker's own navigator)
//! and the CPU backend is chosen when that yields nothing. After that the engine talks to a
//! `dyn Runner` and never asks which backend it is; only a lost WebGPU device makes it build
//! a CPU runner in its place.

use burn::backend::wgpu::{
    graphics::AutoGraphicsApi, init_setup_async, RuntimeOptions, WgpuDevice,
};
use burn::backend::{Flex, Wgpu};
use burn::prelude::Backend;
use futures::future::LocalBoxFuture;
use glassbox_model::view::readout::BatchData;
use glassbox_model::view::{read_async, ReadBack};
use glassbox_model::weights::bundle::{load_bundle, LoadedBundle};
use glassbox_model::{TextTokenizer, Tokenized};
use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::loader::Bundle;
use crate::protocol::{WorkerError, CPU_BACKEND};

/// A model ready to run on its backend.
pub trait Runner {
    /// Human-readable backend for the backend panel.
    fn backend(&self) -> &str;
    /// True on WebGPU, whose device can be lost mid-session.
    fn on_gpu(&self) -> bool;
    fn tokenizer(&self) -> &TextTokenizer;
    /// One forward pass of `items` as a padded batch and one asynchronous read-back (a
    /// synchronous read panics on WebGPU).
    fn forward(
        &self,
        items: Vec<Tokenized>,
        what: ReadBack,
    ) -> LocalBoxFuture<'_, Result<BatchData, WorkerError>>;
}

struct On<B: Backend> {
    bundle: LoadedBundle<B>,
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
            let out = b.model.forward_texts(&b.tokenizer, &items, &self.device);
            Ok(read_async(out, what).await?)
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

/// The bundle on burn-flex in wasm (SIMD128).
pub fn cpu(bundle: &Bundle) -> Result<Box<dyn Runner>, WorkerError> {
    Ok(Box::new(On::<Flex> {
        bundle: build::<Flex>(bundle, &Default::default())?,
        device: Default::default(),
        backend: CPU_BACKEND.to_string(),
        on_gpu: false,
    }))
}

/// The bundle on WebGPU; `described` is the adapter's own description from the probe.
async fn webgpu(bundle: &Bundle, described: &str) -> Result<Box<dyn Runner>, WorkerError> {
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
    Ok(Box::new(On::<Wgpu> {
        bundle: build::<Wgpu>(bundle, &device)?,
        device,
        backend: format!("WebGPU — burn-wgpu on {adapter}"),
        on_gpu: true,
    }))
}

/// The runner for this browser: WebGPU when it has an adapter and the CPU is not forced,
/// else the CPU, with the reason WebGPU is not used.
pub async fn choose(
    bundle: &Bundle,
    force_cpu: bool,
) -> Result<(Box<dyn Runner>, Option<String>), WorkerError> {
    let probe = if force_cpu {
        Err("CPU chosen with the backend switch (or ?backend=cpu)".to_string())
    } else {
        probe_webgpu().await
    };
    match probe {
        Ok(adapter) => Ok((webgpu(bundle, &adapter).await?, None)),
        Err(why) => Ok((cpu(bundle)?, Some(why))),
    }
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
