//! Opening a model directory: either a Hugging Face checkpoint (config.json,
//! model.safetensors, tokenizer.json) or a glassbox bundle (manifest.json, model.bpk,
//! tokenizer.json).

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use glassbox_model::nn::device_int8::DeviceInt8;
use glassbox_model::nn::projection::{Int8, Kernels};
use glassbox_model::weights::bundle::{self, LoadedBundle, Manifest};
use glassbox_model::{BertConfig, Glassbox, GlassboxConfig, TextTokenizer};

pub struct Loaded<B: Backend> {
    pub model: Glassbox<B>,
    pub tokenizer: TextTokenizer,
    pub config: GlassboxConfig,
    pub max_seq_len: usize,
    /// Whether the heads carry trained weights.
    pub heads_trained: bool,
    /// The bundle's manifest (`None` for a Hugging Face checkpoint).
    pub manifest: Option<Manifest>,
    /// How the encoder's linear layers are computed (f32 unless [`Loaded::with_kernels`]).
    pub kernels: Kernels<B>,
}

impl<B: Backend> Loaded<B> {
    /// Switches the encoder's linear layers to `choice` (packing int8 weights once).
    pub fn with_kernels(mut self, choice: KernelChoice) -> Self {
        self.kernels = choice.for_model(&self.model);
        self
    }
}

impl KernelChoice {
    /// The kernels for `model`: int8 packs its weights once, on the host or on the device.
    pub fn for_model<B: Backend>(self, model: &Glassbox<B>) -> Kernels<B> {
        match self {
            KernelChoice::F32 => Kernels::F32,
            KernelChoice::Int8 => Kernels::Int8(Int8::pack(model)),
            KernelChoice::DeviceInt8 => Kernels::DeviceInt8(DeviceInt8::pack(model)),
        }
    }
}

/// `--kernels`: what computes the encoder's linear layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KernelChoice {
    /// burn's f32 matrix multiply (the reference).
    #[default]
    F32,
    /// glassbox's int8 kernels (CPU backend): weights per output column, activations per row.
    Int8,
    /// int8 weights as burn quantized tensors on the backend's device, dequantized by the
    /// matrix multiply as it reads them (for `--backend wgpu`; on the cpu backend burn
    /// dequantizes each weight per forward: same numbers, slower).
    DeviceInt8,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// sentence-transformers caps MiniLM at `max_seq_length` (256), below the 512 positions the
/// encoder has; glassbox follows the checkpoint's own setting so embeddings match.
pub fn hf_max_seq_len(dir: &Path, bert: &BertConfig) -> Result<usize> {
    let st = dir.join("sentence_bert_config.json");
    if st.is_file() {
        let v: serde_json::Value = serde_json::from_slice(&read(&st)?)
            .with_context(|| format!("{} is not JSON", st.display()))?;
        if let Some(n) = v.get("max_seq_length").and_then(|n| n.as_u64()) {
            return Ok((n as usize).min(bert.max_position_embeddings));
        }
    }
    Ok(bert.max_position_embeddings)
}

pub fn load_dir<B: Backend>(dir: &Path, device: &B::Device) -> Result<Loaded<B>> {
    if !dir.is_dir() {
        bail!(
            "model directory {} does not exist (run `glassbox fetch` for the base model)",
            dir.display()
        );
    }
    if dir.join(bundle::MANIFEST).is_file() {
        let LoadedBundle {
            model,
            tokenizer,
            manifest,
        } = bundle::load_bundle::<B>(
            &read(&dir.join(bundle::MANIFEST))?,
            read(&dir.join(bundle::WEIGHTS))?,
            &read(&dir.join(bundle::TOKENIZER))?,
            device,
        )
        .with_context(|| format!("refusing bundle {}", dir.display()))?;
        // Every other listed file (the model card) is checked too: a bundle is whole or refused.
        for file in manifest.files.keys() {
            if file != bundle::WEIGHTS && file != bundle::TOKENIZER {
                manifest
                    .verify(file, &read(&dir.join(file))?)
                    .with_context(|| format!("refusing bundle {}", dir.display()))?;
            }
        }
        return Ok(Loaded {
            model,
            tokenizer,
            config: manifest.config.clone(),
            max_seq_len: manifest.max_seq_len,
            heads_trained: manifest.heads_trained,
            manifest: Some(manifest),
            kernels: Kernels::F32,
        });
    }
    let cfg_path = dir.join("config.json");
    if !cfg_path.is_file() {
        bail!(
            "{} is neither a glassbox bundle (no manifest.json) nor a Hugging Face checkpoint (no config.json)",
            dir.display()
        );
    }
    let bert = BertConfig::from_hf_json(&read(&cfg_path)?)
        .with_context(|| format!("reading {}", cfg_path.display()))?;
    let max_seq_len = hf_max_seq_len(dir, &bert)?;
    let config = GlassboxConfig::default_tasks(bert);
    let (model, _report) = config
        .init::<B>(device)
        .load_hf_safetensors(read(&dir.join("model.safetensors"))?)
        .with_context(|| format!("loading {}", dir.join("model.safetensors").display()))?;
    let tokenizer = TextTokenizer::from_bytes(&read(&dir.join("tokenizer.json"))?, max_seq_len)?;
    Ok(Loaded {
        model,
        tokenizer,
        config,
        max_seq_len,
        heads_trained: false,
        manifest: None,
        kernels: Kernels::F32,
    })
}

/// The tokenizer of a model directory; Hugging Face checkpoints and bundles both name it
/// `tokenizer.json`. Returns the bytes too, for bundles that ship them.
pub fn read_tokenizer(dir: &Path, max_seq_len: usize) -> Result<(Vec<u8>, TextTokenizer)> {
    let path = dir.join(bundle::TOKENIZER);
    let bytes = fs::read(&path).with_context(|| {
        format!(
            "cannot read {} (run `glassbox fetch` for the default base model)",
            path.display()
        )
    })?;
    let tok = TextTokenizer::from_bytes(&bytes, max_seq_len)?;
    Ok((bytes, tok))
}

/// A model ready for fine-tuning: the base encoder from `dir` (Hugging Face checkpoint or a
/// glassbox bundle with the same label sets) and heads for the given labels. The tokenizer
/// comes from [`read_tokenizer`].
pub fn load_for_training<B: Backend>(
    dir: &Path,
    sentence_labels: Option<Vec<String>>,
    token_labels: Option<Vec<String>>,
    head_dropout: f64,
    device: &B::Device,
) -> Result<(Glassbox<B>, GlassboxConfig)> {
    if dir.join(bundle::MANIFEST).is_file() {
        let loaded = load_dir::<B>(dir, device)?;
        let differs = |want: &Option<Vec<String>>, have: &Vec<String>| {
            want.as_ref().is_some_and(|w| w != have)
        };
        if differs(&sentence_labels, &loaded.config.sentence_labels)
            || differs(&token_labels, &loaded.config.token_labels)
        {
            bail!(
                "bundle {} has labels {:?} / {:?}, the tasks need {:?} / {:?}",
                dir.display(),
                loaded.config.sentence_labels,
                loaded.config.token_labels,
                sentence_labels,
                token_labels
            );
        }
        return Ok((loaded.model, loaded.config));
    }
    let cfg_path = dir.join("config.json");
    if !cfg_path.is_file() {
        bail!(
            "base model {} is neither a glassbox bundle nor a Hugging Face checkpoint (run `glassbox fetch` for the default)",
            dir.display()
        );
    }
    let bert = BertConfig::from_hf_json(&read(&cfg_path)?)
        .with_context(|| format!("reading {}", cfg_path.display()))?;
    let config = GlassboxConfig::new(
        bert,
        sentence_labels.unwrap_or_else(GlassboxConfig::default_sentence_labels),
        token_labels.unwrap_or_else(GlassboxConfig::default_token_labels),
    )
    .with_head_dropout(head_dropout);
    let (model, _report) = config
        .init::<B>(device)
        .load_hf_safetensors(read(&dir.join("model.safetensors"))?)
        .with_context(|| format!("loading {}", dir.join("model.safetensors").display()))?;
    Ok((model, config))
}
