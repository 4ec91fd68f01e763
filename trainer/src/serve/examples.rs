//! Example answers, shown in `/openapi.json` both on the response types' schemas and on
//! each route's 200 response (one function each, so the two never disagree). Numbers are
//! shortened; `/predict`'s are real outputs of the default bundle.

use serde_json::{json, Value};

/// An example [`super::api::Prediction`].
pub(crate) fn prediction() -> Value {
    json!({
        "text": "Justin Bieber played Madison Square Garden",
        "sentence": {"label": "neutral", "probs": {"negative": 0.206, "neutral": 0.527, "positive": 0.267}},
        "entities": [{"text": "Justin Bieber", "label": "person", "start": 0, "end": 13, "score": 0.933}],
        "tokens": [{"piece": "justin", "start": 0, "end": 6, "tag": "B-person", "score": 0.909}],
        "truncated": false
    })
}

/// An example [`super::api::EmbeddingDoc`].
pub(crate) fn embedding() -> Value {
    json!({"text": "Hello world!", "tokens": ["[CLS]", "hello", "world", "!", "[SEP]"], "truncation": null, "embedding": [-0.0345, 0.0310, 0.0067], "truncated": false})
}

/// An example [`super::api::AttentionDoc`].
pub(crate) fn attention() -> Value {
    json!({"text": "Hi!", "layer": 2, "head": 5, "tokens": ["[CLS]", "hi", "!", "[SEP]"], "truncation": null, "attention": [[0.4, 0.2, 0.2, 0.2], [0.1, 0.5, 0.2, 0.2], [0.1, 0.2, 0.5, 0.2], [0.3, 0.2, 0.2, 0.3]], "truncated": false})
}

/// An example [`super::api::Tokens`].
pub(crate) fn tokens() -> Value {
    json!({"text": "Hi!", "tokens": [
    {"id": 101, "piece": "[CLS]", "start": 0, "end": 0, "special": true},
    {"id": 7632, "piece": "hi", "start": 0, "end": 2, "special": false},
    {"id": 999, "piece": "!", "start": 2, "end": 3, "special": false},
    {"id": 102, "piece": "[SEP]", "start": 0, "end": 0, "special": true}
], "truncation": null, "truncated": false})
}

/// An example [`super::api::OpenAiResponse`].
pub(crate) fn openai() -> Value {
    json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [-0.0345, 0.0310, 0.0067], "truncated": false}], "model": "glassbox-minilm-tweets", "usage": {"prompt_tokens": 5, "total_tokens": 5}})
}

/// An example [`super::api::Info`].
pub(crate) fn info() -> Value {
    json!({
        "model_name": "glassbox-minilm-tweets", "model_version": "1.1.0",
        "parent_version": "1.0.0", "code_commit": "c4017ea8f1e2d3c4b5a6978877665544332211aa",
        "registry_alias": "champion",
        "manifest_sha256": "3f1c…", "quantization": "int8-block", "heads_trained": true,
        "sentence_labels": ["negative", "neutral", "positive"], "token_labels": ["O", "B-person", "I-person"],
        "max_input_length": 256, "kernels": "f32", "backend": "cpu", "attention_enabled": false,
        "max_batch_tokens": 8192, "max_batch_requests": 32, "max_concurrent_requests": 512,
        "max_client_batch_size": 32, "cache_bytes": 67108864, "glassbox_version": "0.1.0"
    })
}

/// An example [`super::api::ReloadResponse`].
pub(crate) fn reloaded() -> Value {
    json!({
        "status": "reloaded", "bundle": "public/models/default",
        "model_name": "glassbox-minilm-tweets", "model_version": "0.1.0",
        "manifest_sha256": "9b2e…", "previous_manifest_sha256": "3f1c…", "seconds": 1.42
    })
}
