//! The inference routes. Each handler reads its body, checks the input count, runs the shared
//! [`answer`] path and adds the timing headers; `/tokenize` needs no model pass.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use glassbox_model::view::readout::cosine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::serve::ab::route as ab;
use crate::serve::api::*;
use crate::serve::engine::{
    answer, input_name, observe_predictions, tokenize_off_runtime, Answer, Task,
};
use crate::serve::errors::{ApiError, Body, ErrorBody, InferenceErrors};
use crate::serve::examples;
use crate::serve::input::check_count;
use crate::serve::io_log::RequestId;
use crate::serve::state::{AppState, Model};
use crate::serve::timing::Timings;

/// A JSON body already serialized (cached answers are spliced in as they are).
fn json_body(body: String, headers: HeaderMap) -> Response {
    (headers, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// What the sampled I/O log says a non-`/predict` answer was, per input: its size, never
/// its text.
fn summary(a: &Answer) -> Value {
    let each = a
        .tokenized
        .iter()
        .map(|t| json!({"wordpieces": t.ids.len(), "truncated": t.truncation.is_some()}));
    Value::Array(each.collect())
}

/// The answer as the JSON array of its per-input objects, with timing headers.
fn array_response(s: &AppState, a: &Answer) -> Response {
    json_body(a.json_array(), a.timings.finish(&s.metrics, &a.truncated()))
}

/// Sentence class, entities and per-wordpiece tags for each input.
///
/// Each object is exactly what `glassbox predict --json` prints for the text, plus `truncated`.
#[utoipa::path(post, path = "/predict", tag = "inference", security(("api_key" = []), ()),
    request_body(content = PredictRequest, example = json!({"inputs": ["Justin Bieber played Madison Square Garden", "what a day"]})),
    responses(
        (status = 200, description = "One prediction per input, in input order. Headers: x-total-time, x-tokenization-time, x-queue-time, x-inference-time (ms) on every inference route; x-truncated-inputs (0-based indices) when an input was cut.",
            body = Vec<Prediction>, example = json!([examples::prediction()])),
        InferenceErrors))]
pub(crate) async fn predict(
    State(s): State<AppState>,
    id: RequestId,
    headers: HeaderMap,
    Body(req): Body<PredictRequest>,
) -> Result<Response, ApiError> {
    let texts = req.inputs.into_vec();
    let (champion, _permit) = s.admit(texts.len())?;
    let (assigned, model) = ab::pick(&s, &headers, &id, champion)?;
    let task = Task::Predict(req.aggregate.into());
    let a = answer(&s, &model, task, &texts, &input_name).await?;
    observe_predictions(&s.metrics, &a.items);
    s.io_log.predictions(&id, "/predict", &a.items);
    let mut response = array_response(&s, &a);
    ab::after_predict(&s, assigned, &model, &id, (task, texts), &a, &mut response);
    Ok(response)
}

/// L2-normalised sentence embedding and wordpieces of each input (as `glassbox embed --json`).
#[utoipa::path(post, path = "/embed", tag = "inference", security(("api_key" = []), ()),
    request_body(content = TextsRequest, example = json!({"inputs": ["Hello world!", "A man is eating food."]})),
    responses(
        (status = 200, description = "One embedding per input, in input order; timing headers as on /predict.", body = Vec<EmbeddingDoc>, example = json!([examples::embedding()])),
        InferenceErrors))]
pub(crate) async fn embed(
    State(s): State<AppState>,
    id: RequestId,
    Body(req): Body<TextsRequest>,
) -> Result<Response, ApiError> {
    let texts = req.inputs.into_vec();
    let (model, _permit) = s.admit(texts.len())?;
    let a = answer(&s, &model, Task::Embed, &texts, &input_name).await?;
    s.io_log.texts(&id, "/embed", &texts, summary(&a));
    Ok(array_response(&s, &a))
}

/// Just the embedding of a cached or computed `/embed` object.
#[derive(Deserialize)]
struct EmbeddingOnly {
    embedding: Vec<f32>,
}

fn embeddings(a: &Answer) -> Result<Vec<Vec<f32>>, ApiError> {
    a.items
        .iter()
        .map(|item| {
            serde_json::from_str::<EmbeddingOnly>(item)
                .map(|e| e.embedding)
                .map_err(|e| ApiError::internal(format!("embedding answer unreadable: {e}")))
        })
        .collect()
}

/// Cosine similarity of `source_sentence` to each of `sentences` (text-embeddings-inference's
/// `/similarity`). Truncated inputs are listed in `x-truncated-inputs` (0 = the source).
#[utoipa::path(post, path = "/similarity", tag = "inference", security(("api_key" = []), ()),
    request_body(content = SimilarityRequest, example = json!({"inputs": {"source_sentence": "A man is eating food.", "sentences": ["A man is eating a piece of bread.", "The stock market fell sharply."]}})),
    responses(
        (status = 200, description = "One cosine per sentence, in order.", body = Vec<f32>, example = json!([0.7553, 0.0312])),
        InferenceErrors))]
pub(crate) async fn similarity(
    State(s): State<AppState>,
    id: RequestId,
    Body(req): Body<SimilarityRequest>,
) -> Result<Response, ApiError> {
    let mut texts = vec![req.inputs.source_sentence];
    texts.extend(req.inputs.sentences.into_vec());
    let (model, _permit) = s.admit(texts.len() - 1)?;
    let name = |i: usize| match i {
        0 => "source_sentence".to_string(),
        i => format!("sentences at index {}", i - 1),
    };
    let a = answer(&s, &model, Task::Embed, &texts, &name).await?;
    let e = embeddings(&a)?;
    let scores: Vec<f32> = e[1..].iter().map(|x| cosine(&e[0], x)).collect();
    s.io_log.texts(&id, "/similarity", &texts, json!(scores));
    let headers = a.timings.finish(&s.metrics, &a.truncated());
    Ok((headers, Json(scores)).into_response())
}

/// OpenAI-compatible embeddings.
#[utoipa::path(post, path = "/v1/embeddings", tag = "inference", security(("api_key" = []), ()),
    request_body(content = OpenAiRequest, example = json!({"input": ["Hello world!"], "model": "glassbox-minilm-tweets"})),
    responses(
        (status = 200, description = "OpenAI's list of embeddings, in input order.", body = OpenAiResponse, example = json!(examples::openai())),
        InferenceErrors))]
pub(crate) async fn openai_embeddings(
    State(s): State<AppState>,
    id: RequestId,
    Body(req): Body<OpenAiRequest>,
) -> Result<Response, ApiError> {
    let (model, _permit) = (s.model()?, s.permit()?);
    if let Some(f) = req.encoding_format.as_deref().filter(|f| *f != "float") {
        let msg = format!("encoding_format {f:?} is not supported; use \"float\"");
        return Err(ApiError::validation(msg));
    }
    let texts = req.input.into_vec();
    check_count(texts.len(), s.limits.max_client_batch_size)?;
    let a = answer(&s, &model, Task::Embed, &texts, &input_name).await?;
    s.io_log.texts(&id, "/v1/embeddings", &texts, summary(&a));
    let tokens: usize = a.tokenized.iter().map(|t| t.ids.len()).sum();
    let data = embeddings(&a)?
        .into_iter()
        .enumerate()
        .map(|(index, embedding)| OpenAiEmbedding {
            object: "embedding",
            index,
            embedding,
            truncated: a.tokenized[index].truncation.is_some(),
        })
        .collect();
    let body = OpenAiResponse {
        object: "list",
        data,
        model: model.info.model_name.clone(),
        usage: OpenAiUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
    };
    Ok((a.timings.finish(&s.metrics, &a.truncated()), Json(body)).into_response())
}

/// One layer's and head's attention for each input (as `glassbox attention --json`).
///
/// Off unless the server was started with `--enable-attention`: an answer is n² floats per
/// input (65,536 at 256 wordpieces) and the pass reads every layer back for it.
#[utoipa::path(post, path = "/attention", tag = "inference", security(("api_key" = []), ()),
    request_body(content = AttentionRequest, example = json!({"inputs": "The cat sat on the mat.", "layer": 2, "head": 5})),
    responses(
        (status = 200, description = "One attention matrix per input, in input order.", body = Vec<AttentionDoc>, example = json!([examples::attention()])),
        (status = 403, description = "The server was started without --enable-attention.", body = ErrorBody,
            example = json!({"error": "POST /attention is off; start the server with --enable-attention", "error_type": "disabled"})),
        InferenceErrors))]
pub(crate) async fn attention(
    State(s): State<AppState>,
    id: RequestId,
    Body(req): Body<AttentionRequest>,
) -> Result<Response, ApiError> {
    if !s.limits.attention_enabled {
        let msg = "POST /attention is off; start the server with --enable-attention";
        return Err(ApiError::disabled(msg));
    }
    let (model, _permit) = (s.model()?, s.permit()?);
    check_layer_head(&model, req.layer, req.head)?;
    let texts = req.inputs.into_vec();
    check_count(texts.len(), s.limits.max_client_batch_size)?;
    let task = Task::Attention {
        layer: req.layer,
        head: req.head,
    };
    let a = answer(&s, &model, task, &texts, &input_name).await?;
    s.io_log.texts(&id, "/attention", &texts, summary(&a));
    Ok(array_response(&s, &a))
}

fn check_layer_head(model: &Model, layer: usize, head: usize) -> Result<(), ApiError> {
    let bert = &model.config.bert;
    let (layers, heads) = (bert.num_hidden_layers, bert.num_attention_heads);
    if layer >= layers || head >= heads {
        return Err(ApiError::validation(format!(
            "layer {layer} / head {head} out of range: the model has {layers} layers and {heads} heads (0-based)"
        )));
    }
    Ok(())
}

/// Wordpieces of each input with ids and character offsets; no model pass.
#[utoipa::path(post, path = "/tokenize", tag = "inference", security(("api_key" = []), ()),
    request_body(content = TextsRequest, example = json!({"inputs": "Hi!"})),
    responses(
        (status = 200, description = "One tokenization per input, in input order.", body = Vec<Tokens>, example = json!([examples::tokens()])),
        InferenceErrors))]
pub(crate) async fn tokenize_route(
    State(s): State<AppState>,
    id: RequestId,
    Body(req): Body<TextsRequest>,
) -> Result<Response, ApiError> {
    let texts = req.inputs.into_vec();
    let (model, _permit) = s.admit(texts.len())?;
    let mut timings = Timings::start();
    let items = tokenize_off_runtime(&model, &s.metrics, &texts, &input_name)?;
    timings.tokenization = timings.start.elapsed();
    let truncated: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].truncation.is_some())
        .collect();
    let sizes = items.iter().map(|t| json!({"wordpieces": t.ids.len()}));
    s.io_log
        .texts(&id, "/tokenize", &texts, Value::Array(sizes.collect()));
    let body: Vec<Tokens> = items.into_iter().map(tokens).collect();
    Ok((timings.finish(&s.metrics, &truncated), Json(body)).into_response())
}

fn tokens(t: glassbox_model::Tokenized) -> Tokens {
    let pieces = (0..t.ids.len())
        .map(|i| Token {
            id: t.ids[i],
            piece: t.tokens[i].clone(),
            start: t.offsets[i].0,
            end: t.offsets[i].1,
            special: t.special[i],
        })
        .collect();
    Tokens {
        truncated: t.truncation.is_some(),
        text: t.text,
        tokens: pieces,
        truncation: t.truncation,
    }
}
