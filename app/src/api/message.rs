//! The JavaScript API's wire format: what `glassbox.js` posts to its worker and what comes
//! back, as JSON text.
//!
//! Why JSON text and not gloo-worker's bincode like the page's own worker: the other end is
//! hand-written JavaScript that any page can read, so the protocol is the one documented in
//! `docs/js-api.md` — `{id, op, args}` in, `{id, ok: true, result}` or `{id, ok: false,
//! error, kind}` out, `{id, progress: {loaded, total}}` while a bundle downloads, and
//! `{ready: true}` once, when the worker starts listening.

use glassbox_model::text::decode::Aggregation;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::protocol::{Progress, WorkerError};
use crate::url::BackendChoice;

/// One request to the API worker, its `args` checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Fetch, verify and build the bundle at `url` (absolute, ending in `/`).
    Load { url: String, backend: BackendChoice },
    /// Sentence class, entities and wordpiece tags per text.
    Predict {
        texts: Vec<String>,
        aggregate: Aggregation,
    },
    /// The L2-normalised sentence embedding per text.
    Embed { texts: Vec<String> },
    /// One text's attention: one layer and head, or every one left open.
    Attention {
        text: String,
        layer: Option<usize>,
        head: Option<usize>,
    },
    /// Drop the model (the page terminates the worker afterwards).
    Dispose,
}

/// `args` of each op as the JavaScript sends them (camelCase, optional fields may be absent
/// or null).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadArgs {
    url: String,
    #[serde(default)]
    backend: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextsArgs {
    texts: Vec<String>,
    #[serde(default)]
    aggregate: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttentionArgs {
    text: String,
    #[serde(default)]
    layer: Option<usize>,
    #[serde(default)]
    head: Option<usize>,
}

/// A request that could not be understood, with the id to answer it under (null when even
/// that was unreadable).
#[derive(Debug, Clone, PartialEq)]
pub struct BadRequest {
    pub id: Value,
    pub message: String,
}

/// Reads `{id, op, args}`.
pub fn parse(text: &str) -> Result<(Value, Op), BadRequest> {
    let bad = |id: &Value, message: String| BadRequest {
        id: id.clone(),
        message,
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|e| bad(&Value::Null, format!("request is not JSON: {e}")))?;
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    let op = v.get("op").and_then(Value::as_str).unwrap_or_default();
    let args = v.get("args").cloned().unwrap_or_else(|| json!({}));
    let op = op_from(op, args).map_err(|m| bad(&id, m))?;
    Ok((id, op))
}

fn args<T: for<'de> Deserialize<'de>>(op: &str, args: Value) -> Result<T, String> {
    serde_json::from_value(args).map_err(|e| format!("bad arguments to {op}: {e}"))
}

fn op_from(op: &str, a: Value) -> Result<Op, String> {
    Ok(match op {
        "load" => {
            let a: LoadArgs = args(op, a)?;
            Op::Load {
                url: folder(&a.url),
                backend: backend(a.backend.as_deref())?,
            }
        }
        "predict" => {
            let a: TextsArgs = args(op, a)?;
            let aggregate = a.aggregate.as_deref().unwrap_or("first").parse()?;
            Op::Predict {
                texts: a.texts,
                aggregate,
            }
        }
        "embed" => Op::Embed {
            texts: args::<TextsArgs>(op, a)?.texts,
        },
        "attention" => {
            let a: AttentionArgs = args(op, a)?;
            Op::Attention {
                text: a.text,
                layer: a.layer,
                head: a.head,
            }
        }
        "dispose" => Op::Dispose,
        other => {
            return Err(format!(
                "unknown op {other:?} (expected load, predict, embed, attention or dispose)"
            ))
        }
    })
}

/// A bundle URL as a folder: the loader appends file names to it.
fn folder(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

/// The backend a `backend` option names; unlike the page's `?backend=`, a misspelling is an
/// error, since a program asked for it.
pub fn backend(name: Option<&str>) -> Result<BackendChoice, String> {
    match name.unwrap_or("auto") {
        "auto" => Ok(BackendChoice::Auto),
        "cpu" => Ok(BackendChoice::Cpu),
        "webgpu" => Ok(BackendChoice::WebGpu),
        other => Err(format!(
            "unknown backend {other:?} (expected 'auto', 'cpu' or 'webgpu')"
        )),
    }
}

/// A short name for each kind of failure, so a program can branch without parsing messages.
pub fn kind(e: &WorkerError) -> &'static str {
    match e {
        WorkerError::NoBundle(_) => "no-bundle",
        WorkerError::Network(_) => "network",
        WorkerError::Corrupt { .. } => "corrupt",
        WorkerError::Model(_) => "model",
        WorkerError::NotLoaded => "not-loaded",
        WorkerError::Gone => "gone",
        WorkerError::Protocol(_) => "protocol",
    }
}

/// `{id, ok: true, result}`.
pub fn ok(id: &Value, result: Value) -> String {
    json!({"id": id, "ok": true, "result": result}).to_string()
}

/// `{id, ok: false, error, kind}`; a hash mismatch also names its `file`.
pub fn failed(id: &Value, e: &WorkerError) -> String {
    let mut v = json!({"id": id, "ok": false, "error": e.to_string(), "kind": kind(e)});
    if let WorkerError::Corrupt { file, .. } = e {
        v["file"] = json!(file);
    }
    v.to_string()
}

/// `{id, ok: false, error, kind: "bad-request"}`.
pub fn refused(bad: &BadRequest) -> String {
    json!({"id": bad.id, "ok": false, "error": bad.message, "kind": "bad-request"}).to_string()
}

/// `{ready: true}`, posted once the worker listens: a message posted to a worker while its
/// wasm is still compiling is dispatched to no handler and lost.
pub fn ready() -> String {
    json!({"ready": true}).to_string()
}

/// `{id, progress: {loaded, total}}` while a bundle downloads.
pub fn progress(id: &Value, p: Progress) -> String {
    json!({"id": id, "progress": {"loaded": p.loaded, "total": p.total}}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_request_becomes_an_absolute_folder_and_a_backend() {
        let (id, op) =
            parse(r#"{"id": 7, "op": "load", "args": {"url": "http://x/m", "backend": "webgpu"}}"#)
                .unwrap();
        assert_eq!(id, json!(7));
        assert_eq!(
            op,
            Op::Load {
                url: "http://x/m/".into(),
                backend: BackendChoice::WebGpu
            }
        );
        let (_, op) = parse(r#"{"id": 1, "op": "load", "args": {"url": "http://x/m/"}}"#).unwrap();
        assert_eq!(
            op,
            Op::Load {
                url: "http://x/m/".into(),
                backend: BackendChoice::Auto
            }
        );
    }

    #[test]
    fn predict_defaults_to_first_piece_aggregation_as_the_cli_does() {
        let (_, op) = parse(r#"{"id": 2, "op": "predict", "args": {"texts": ["a", ""]}}"#).unwrap();
        assert_eq!(
            op,
            Op::Predict {
                texts: vec!["a".into(), "".into()],
                aggregate: Aggregation::First
            }
        );
        let (_, op) =
            parse(r#"{"id": 2, "op": "predict", "args": {"texts": [], "aggregate": "max"}}"#)
                .unwrap();
        assert!(matches!(
            op,
            Op::Predict {
                aggregate: Aggregation::Max,
                ..
            }
        ));
    }

    #[test]
    fn attention_takes_an_optional_layer_and_head() {
        let (_, op) = parse(
            r#"{"id": 3, "op": "attention", "args": {"text": "hi", "layer": 1, "head": null}}"#,
        )
        .unwrap();
        assert_eq!(
            op,
            Op::Attention {
                text: "hi".into(),
                layer: Some(1),
                head: None
            }
        );
    }

    #[test]
    fn bad_requests_keep_their_id_and_say_what_is_wrong() {
        let e = parse(r#"{"id": 4, "op": "load", "args": {"url": "x", "backend": "gpu"}}"#)
            .unwrap_err();
        assert_eq!(e.id, json!(4));
        assert_eq!(
            e.message,
            "unknown backend \"gpu\" (expected 'auto', 'cpu' or 'webgpu')"
        );
        let e = parse(r#"{"id": 5, "op": "predict", "args": {"texts": [1]}}"#).unwrap_err();
        assert!(
            e.message
                .starts_with("bad arguments to predict: invalid type: integer `1`"),
            "{}",
            e.message
        );
        let e = parse(r#"{"id": 6, "op": "train"}"#).unwrap_err();
        assert!(
            e.message.starts_with("unknown op \"train\""),
            "{}",
            e.message
        );
        let e =
            parse(r#"{"id": 8, "op": "attention", "args": {"text": "x", "layr": 1}}"#).unwrap_err();
        assert!(e.message.contains("unknown field `layr`"), "{}", e.message);
        let e = parse("{nope").unwrap_err();
        assert_eq!(e.id, Value::Null);
        assert!(e.message.starts_with("request is not JSON"));
    }

    #[test]
    fn replies_are_the_documented_envelopes() {
        let id = json!(9);
        let v: Value = serde_json::from_str(&ok(&id, json!([1]))).unwrap();
        assert_eq!(v, json!({"id": 9, "ok": true, "result": [1]}));
        let corrupt = WorkerError::Corrupt {
            file: "model.bpk".into(),
            expected: "aa".into(),
            actual: "bb".into(),
        };
        let v: Value = serde_json::from_str(&failed(&id, &corrupt)).unwrap();
        assert_eq!(v["kind"], "corrupt");
        assert_eq!(v["file"], "model.bpk");
        assert!(v["error"]
            .as_str()
            .unwrap()
            .starts_with("bundle file `model.bpk` is corrupt"));
        let p = progress(
            &id,
            Progress {
                loaded: 3,
                total: 10,
            },
        );
        let v: Value = serde_json::from_str(&p).unwrap();
        assert_eq!(v, json!({"id": 9, "progress": {"loaded": 3, "total": 10}}));
    }
}
