//! The JSON objects the JavaScript API answers with: field for field those of `glassbox
//! predict|embed|attention --format json`, decoded by the model crate's own functions, so a
//! program can switch between the CLI, `glassbox serve` and a web page without rewriting
//! its parsing (the e2e compares them on the same bundle).
//!
//! The prediction object comes from the model crate ([`prediction_json`]), as the CLI's and
//! the server's do; the smaller embedding and attention objects are arranged here and held to
//! the CLI's shape by `e2e/api.test.mjs`.

use glassbox_model::text::decode::Aggregation;
use glassbox_model::view::answer::prediction_json;
use glassbox_model::view::readout::SentenceResult;
use glassbox_model::weights::bundle::Manifest;
use glassbox_model::{GlassboxConfig, Tokenized};
use serde_json::{json, Value};

use crate::protocol::{LoadInfo, SentenceOut, WorkerError};

/// `{"line": N, "error": "text #N: what"}`: the CLI's error item for its N-th argument, at the
/// failed text's place in the answer.
pub fn item_error(index: usize, e: &WorkerError) -> Value {
    json!({"line": index + 1, "error": format!("text #{}: {e}", index + 1)})
}

/// `truncation` (only when the text was cut, as `predict` prints it) and `truncated`.
fn mark_truncation(v: &mut Value, t: &Tokenized, with_detail: bool) {
    if let (true, Some(tr)) = (with_detail, &t.truncation) {
        v["truncation"] = json!({"message": tr.message(), "detail": tr});
    }
    v["truncated"] = json!(t.truncation.is_some());
}

/// One text's prediction: the model crate's JSON (the CLI's and the server's), plus
/// `truncated`.
pub fn prediction(cfg: &GlassboxConfig, s: &SentenceOut, aggregate: Aggregation) -> Value {
    let t = &s.tokenized;
    let mut v = prediction_json(cfg, t, &s.sentence_probs, &s.token_probs, aggregate);
    mark_truncation(&mut v, t, false);
    v
}

/// One text's wordpieces, truncation and L2-normalised embedding (`glassbox embed`).
pub fn embedding(s: &SentenceOut) -> Value {
    let t = &s.tokenized;
    let mut v = json!({
        "text": t.text,
        "tokens": t.tokens,
        "truncation": t.truncation,
        "embedding": s.embedding,
    });
    mark_truncation(&mut v, t, false);
    v
}

/// Which layers and heads an attention request covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Selection {
    pub layer: Option<usize>,
    pub head: Option<usize>,
}

/// Refuses a layer or head the model does not have, in the CLI's words.
pub fn check_selection(cfg: &GlassboxConfig, sel: Selection) -> Result<(), WorkerError> {
    let (layers, heads) = (cfg.bert.num_hidden_layers, cfg.bert.num_attention_heads);
    let (layer, head) = (sel.layer.unwrap_or(0), sel.head.unwrap_or(0));
    if layer >= layers || head >= heads {
        let show = |x: Option<usize>| x.map_or("all".to_string(), |x| x.to_string());
        return Err(WorkerError::Model(format!(
            "layer {} / head {} out of range: the model has {layers} layers and {heads} heads (0-based)",
            show(sel.layer),
            show(sel.head)
        )));
    }
    Ok(())
}

/// One text's attention. With layer and head both given, the `glassbox attention` object
/// (`attention` is n rows of n); otherwise `attention[l][h]` is that n×n map for every
/// layer `l` and head `h` selected, in order, and `layer`/`head` are null where all were.
pub fn attention(r: &SentenceResult, sel: Selection) -> Value {
    let t = &r.tokenized;
    let map = match (sel.layer, sel.head) {
        (Some(l), Some(h)) => json!(r.attention(l, h)),
        _ => {
            let layers = sel.layer.map_or(0..r.attentions.len(), |l| l..l + 1);
            let heads = sel.head.map_or(0..r.heads(), |h| h..h + 1);
            let per_layer =
                |l: usize| -> Vec<_> { heads.clone().map(|h| r.attention(l, h)).collect() };
            json!(layers.map(per_layer).collect::<Vec<_>>())
        }
    };
    let mut v = json!({
        "text": t.text,
        "layer": sel.layer,
        "head": sel.head,
        "tokens": t.tokens,
        "truncation": t.truncation,
        "attention": map,
    });
    mark_truncation(&mut v, t, false);
    v
}

/// `m.info`: what was loaded, from where, on which backend. camelCase, as JavaScript reads.
pub fn info(load: &LoadInfo, m: &Manifest) -> Value {
    json!({
        "name": m.name,
        "version": m.version,
        "url": load.base,
        "backend": load.backend,
        "fallbackReason": load.fallback_reason,
        "labels": {"sentence": m.config.sentence_labels, "token": m.config.token_labels},
        "layers": m.config.bert.num_hidden_layers,
        "heads": m.config.bert.num_attention_heads,
        "hidden": m.config.bert.hidden_size,
        "maxSeqLen": m.max_seq_len,
        "quantization": m.quantization,
        "headsTrained": m.heads_trained,
        "source": load.source,
        "bytes": load.bytes,
        "loadMs": load.load_ms,
        "manifest": serde_json::from_str::<Value>(&load.manifest_json).unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::view::attention::Attention;
    use glassbox_model::BertConfig;

    /// "Anna sings": [CLS] anna sing ##s [SEP], two words.
    fn tokenized() -> Tokenized {
        Tokenized {
            text: "Anna sings".into(),
            ids: vec![101, 1, 2, 3, 102],
            tokens: ["[CLS]", "anna", "sing", "##s", "[SEP]"]
                .map(String::from)
                .to_vec(),
            offsets: vec![(0, 0), (0, 4), (5, 9), (9, 10), (0, 0)],
            word_ids: vec![None, Some(0), Some(1), Some(1), None],
            special: vec![true, false, false, false, true],
            truncation: None,
        }
    }

    fn config() -> GlassboxConfig {
        let bert = BertConfig::new(10, 4, 2, 3, 8, 16, 1);
        GlassboxConfig::new(
            bert,
            ["negative", "positive"].map(String::from).to_vec(),
            ["O", "B-person", "I-person"].map(String::from).to_vec(),
        )
    }

    /// Tags per piece: [CLS] O, anna B-person (0.8), sing O (0.9), ##s I-person, [SEP] O.
    fn out() -> SentenceOut {
        SentenceOut {
            tokenized: tokenized(),
            embedding: vec![0.6, 0.8],
            sentence_probs: vec![0.25, 0.75],
            token_probs: vec![
                1.0, 0.0, 0.0, //
                0.1, 0.8, 0.1, //
                0.9, 0.05, 0.05, //
                0.2, 0.1, 0.7, //
                1.0, 0.0, 0.0,
            ],
            attentions: vec![],
            cached: false,
        }
    }

    #[test]
    fn a_prediction_has_the_cli_fields_and_first_piece_entities() {
        let v = prediction(&config(), &out(), Aggregation::First);
        assert_eq!(v["text"], "Anna sings");
        assert_eq!(
            v["sentence"],
            json!({"label": "positive", "probs": {"negative": 0.25, "positive": 0.75}})
        );
        // Words take their first piece's tag: anna B-person, sings O (sing's 0.9).
        assert_eq!(
            v["entities"],
            json!([{"text": "Anna", "label": "person", "start": 0, "end": 4, "score": 0.8f32}])
        );
        let tags: Vec<&str> = v["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tag"].as_str().unwrap())
            .collect();
        assert_eq!(tags, ["B-person", "O", "I-person"]);
        assert_eq!(v["tokens"][2]["piece"], "##s");
        assert_eq!(v["truncated"], false);
        assert!(
            v.get("truncation").is_none(),
            "predict prints truncation only when cut"
        );
    }

    #[test]
    fn an_item_error_reads_like_the_clis() {
        let e = WorkerError::Model("the text is empty".into());
        assert_eq!(
            item_error(1, &e),
            json!({"line": 2, "error": "text #2: the text is empty"})
        );
    }

    #[test]
    fn an_embedding_answer_carries_the_vector_and_a_null_truncation() {
        let v = embedding(&out());
        assert_eq!(v["embedding"], json!([0.6f32, 0.8f32]));
        assert_eq!(v["truncation"], Value::Null);
        assert_eq!(v["truncated"], false);
        assert_eq!(v["tokens"].as_array().unwrap().len(), 5);
    }

    fn result_with_attention() -> SentenceResult {
        // 2 layers × 1 head over 2 tokens; layer l row i = [a, 1 − a] with a = (l + i + 1) / 8
        // (eighths are exact in f32).
        let layer = |l: usize| {
            let a = |i: usize| (l + i + 1) as f32 / 8.0;
            Attention::from_f32(1, 2, vec![a(0), 1.0 - a(0), a(1), 1.0 - a(1)])
        };
        let mut t = tokenized();
        t.ids.truncate(2);
        t.tokens.truncate(2);
        SentenceResult {
            tokenized: t,
            embedding: vec![],
            attentions: vec![layer(0), layer(1)],
            sentence_probs: vec![],
            token_probs: vec![],
        }
    }

    #[test]
    fn one_layer_and_head_is_the_cli_matrix_and_none_is_every_map() {
        let r = result_with_attention();
        let one = attention(
            &r,
            Selection {
                layer: Some(1),
                head: Some(0),
            },
        );
        assert_eq!(one["attention"], json!([[0.25, 0.75], [0.375, 0.625]]));
        assert_eq!(
            (one["layer"].clone(), one["head"].clone()),
            (json!(1), json!(0))
        );
        let all = attention(
            &r,
            Selection {
                layer: None,
                head: None,
            },
        );
        let maps = all["attention"].as_array().unwrap();
        assert_eq!(maps.len(), 2, "one entry per layer");
        assert_eq!(maps[0], json!([[[0.125, 0.875], [0.25, 0.75]]]));
        assert_eq!(all["layer"], Value::Null);
        let heads_of_layer_0 = attention(
            &r,
            Selection {
                layer: Some(0),
                head: None,
            },
        );
        assert_eq!(heads_of_layer_0["attention"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_layer_or_head_beyond_the_model_is_refused_in_the_clis_words() {
        let cfg = config(); // 2 layers, 3 heads
        let ok = Selection {
            layer: Some(1),
            head: Some(2),
        };
        assert!(check_selection(&cfg, ok).is_ok());
        assert!(check_selection(
            &cfg,
            Selection {
                layer: None,
                head: None
            }
        )
        .is_ok());
        let e = check_selection(
            &cfg,
            Selection {
                layer: None,
                head: Some(3),
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "layer all / head 3 out of range: the model has 2 layers and 3 heads (0-based)"
        );
        let e = check_selection(
            &cfg,
            Selection {
                layer: Some(2),
                head: Some(0),
            },
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("layer 2 / head 0 out of range"));
    }
}
