//! Parity of the burn model with an independent numpy implementation of all-MiniLM-L6-v2
//! (`tests/reference/bert_reference.py`, float64, written from the BERT definition), on the
//! real weights, on every backend this build has. Sentences run batched, so padding and the
//! attention mask are exercised: a sentence's numbers must not depend on its batch-mates.

/// Fixtures shared by the model's and the trainer's tests.
#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use burn::prelude::*;
use glassbox_model::view::readout::{cosine, SentenceResult};
use glassbox_trainer::infer::{run, tokenize_all};
use glassbox_trainer::load::{load_dir, KernelChoice};
use serde_json::Value;

struct Reference {
    entries: Vec<Value>,
    attention: Vec<f32>,
}

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("parity");
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("sentences.json");
        std::fs::write(
            &input,
            serde_json::to_string(&common::parity_sentences()).unwrap(),
        )
        .unwrap();
        let prefix = dir.join("ref");
        let out = Command::new("python3")
            .arg(common::root().join("tests/reference/bert_reference.py"))
            .arg("--model")
            .arg(common::minilm_dir())
            .arg("--input")
            .arg(&input)
            .arg("--out")
            .arg(&prefix)
            .args(["--max-len", "256"])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "reference failed (pip install -r tests/reference/requirements.txt?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value =
            serde_json::from_slice(&std::fs::read(prefix.with_extension("json")).unwrap()).unwrap();
        let raw = std::fs::read(prefix.with_extension("f32")).unwrap();
        let attention = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Reference {
            entries: json.as_array().unwrap().clone(),
            attention,
        }
    })
}

fn ours<B: Backend>(device: &B::Device, kernels: KernelChoice) -> Vec<SentenceResult> {
    let loaded = load_dir::<B>(&common::minilm_dir(), device)
        .expect("base model loads")
        .with_kernels(kernels);
    assert_eq!(
        loaded.max_seq_len, 256,
        "sentence-transformers caps MiniLM at 256"
    );
    let items = tokenize_all(&loaded, &common::parity_sentences()).unwrap();
    // Batches of 3 mix short and long sentences, so most rows carry padding.
    run(&loaded, items, 3, true, device).expect("forward pass and read-back")
}

/// One reference entry's embedding, narrowed to f32.
fn reference_embedding(e: &Value) -> Vec<f32> {
    e["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

fn check_against_reference(results: &[SentenceResult], backend: &str) {
    let reference = reference();
    assert_eq!(results.len(), reference.entries.len());
    for (r, e) in results.iter().zip(&reference.entries) {
        let text = e["text"].as_str().unwrap();
        let short: String = text.chars().take(30).collect();
        let ids: Vec<u32> = e["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(
            r.tokenized.ids, ids,
            "[{backend}] wordpiece ids differ for {short:?}"
        );
        assert_eq!(
            r.tokenized.truncation.is_some(),
            e["truncated"].as_bool().unwrap(),
            "[{backend}] truncation flag differs for {short:?}"
        );

        let emb = reference_embedding(e);
        let cos = cosine(&r.embedding, &emb);
        let emb_max = r
            .embedding
            .iter()
            .zip(&emb)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            cos >= 0.99999,
            "[{backend}] embedding cosine {cos} < 0.99999 for {short:?}"
        );
        assert!(
            emb_max <= 1e-4,
            "[{backend}] embedding max |Δ| {emb_max} > 1e-4 for {short:?}"
        );

        let offset = e["attention_offset"].as_u64().unwrap() as usize;
        let shape: Vec<usize> = e["attention_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let (layers, heads, n) = (shape[0], shape[1], shape[2]);
        assert_eq!((r.attentions.len(), r.heads(), r.len()), (layers, heads, n));
        let per_layer = heads * n * n;
        let mut attn_max = 0.0f32;
        for (l, ours) in r.attentions.iter().enumerate() {
            let theirs = &reference.attention[offset + l * per_layer..offset + (l + 1) * per_layer];
            let max_d = ours
                .to_f32()
                .iter()
                .zip(theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                max_d <= 1e-4,
                "[{backend}] layer {l} attention max |Δ| {max_d} > 1e-4 for {short:?}"
            );
            attn_max = attn_max.max(max_d);
        }
        println!(
            "[{backend}] {short:?}: {n} wordpieces, embedding cos {cos:.7} max |Δ| {emb_max:.2e}, attention max |Δ| {attn_max:.2e}"
        );
    }
}

/// Published by sentence-transformers for all-MiniLM-L6-v2.
fn check_published_similarity(results: &[SentenceResult], backend: &str) {
    let cos = cosine(&results[0].embedding, &results[1].embedding);
    assert!(
        (cos - 0.7553).abs() <= 0.0005,
        "[{backend}] cos(eating food, eating bread) = {cos}, published 0.7553"
    );
}

#[test]
fn cpu_matches_reference() {
    let results = ours::<burn::backend::Flex>(&Default::default(), KernelChoice::F32);
    check_against_reference(&results, "cpu");
    check_published_similarity(&results, "cpu");
}

/// The int8 kernels round weights per output column and activations per row, so they only
/// approach the float64 reference: every sentence's embedding within cosine 0.999 (the
/// issue's bar), and the published similarity within 0.005.
#[test]
fn cpu_int8_kernels_stay_close_to_reference() {
    let results = ours::<burn::backend::Flex>(&Default::default(), KernelChoice::Int8);
    let reference = reference();
    let mut worst = 1.0f32;
    for (r, e) in results.iter().zip(&reference.entries) {
        let emb = reference_embedding(e);
        let cos = cosine(&r.embedding, &emb);
        assert!(
            cos >= 0.999,
            "[int8] embedding cosine {cos} < 0.999 for {:?}",
            r.tokenized.text
        );
        worst = worst.min(cos);
    }
    println!("[int8] worst embedding cosine against the reference: {worst:.6}");
    let cos = cosine(&results[0].embedding, &results[1].embedding);
    assert!(
        (cos - 0.7553).abs() <= 0.005,
        "[int8] cos(eating food, eating bread) = {cos}, published 0.7553"
    );
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_matches_reference() {
    let device = glassbox_trainer::backend::init_wgpu().expect("wgpu adapter (lavapipe in CI)");
    let results = ours::<burn::backend::Wgpu>(&device, KernelChoice::F32);
    check_against_reference(&results, "wgpu");
    check_published_similarity(&results, "wgpu");
}
