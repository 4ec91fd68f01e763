//! The A/B side of `/predict` (which arm answers, what is logged, the shadow copy) and
//! `POST /feedback`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::log::{predictions, Event};
use super::{Ab, Arm};
use crate::io::now_rfc3339;
use crate::serve::engine::{answer, input_name, Answer, Task};
use crate::serve::errors::{ApiError, Body, ErrorBody};
use crate::serve::io_log::RequestId;
use crate::serve::state::{AppState, Model, Shared};

/// Which arm answers a request, and for which client.
pub(crate) struct Assigned {
    pub arm: Arm,
    pub client: String,
    pub sticky: bool,
}

/// The arm and model for this request: the champion unless the A/B split picks the challenger.
pub(crate) fn pick(
    s: &Shared,
    headers: &HeaderMap,
    id: &RequestId,
    champion: Arc<Model>,
) -> Result<(Option<Assigned>, Arc<Model>), ApiError> {
    let Some(ab) = s.ab.as_ref() else {
        return Ok((None, champion));
    };
    let (client, sticky) = ab.client(headers, &id.0);
    let arm = ab.arm(client);
    let model = match arm {
        Arm::Challenger => s.challenger()?,
        Arm::Champion => champion,
    };
    let assigned = Assigned {
        arm,
        client: client.to_string(),
        sticky,
    };
    Ok((Some(assigned), model))
}

/// After the answer: the arm headers, metrics and log lines, and the shadow copy.
pub(crate) fn after_predict(
    s: &AppState,
    assigned: Option<Assigned>,
    model: &Model,
    id: &RequestId,
    copy: (Task, Vec<String>),
    a: &Answer,
    response: &mut Response,
) {
    let (Some(ab), Some(who)) = (s.ab.clone(), assigned) else {
        return;
    };
    let version = model.info.model_version.clone();
    let h = response.headers_mut();
    h.insert("x-glassbox-arm", HeaderValue::from_static(who.arm.name()));
    if let Ok(v) = HeaderValue::from_str(&version) {
        h.insert("x-glassbox-model-version", v);
    }
    record(
        s,
        &ab,
        &id.0,
        who.arm.name(),
        &version,
        (&who.client, who.sticky),
        &a.items,
    );
    if ab.shadow {
        let Ok(slot) = ab.shadow_slots.clone().try_acquire_owned() else {
            s.metrics.ab_shadow_dropped.inc();
            return;
        };
        let (s, id) = (s.clone(), id.0.clone());
        tokio::spawn(async move {
            shadow(s, ab, id, who, copy).await;
            drop(slot);
        });
    }
}

/// The challenger answers a copy; its answer is logged and counted, never returned.
async fn shadow(
    s: AppState,
    ab: Arc<Ab>,
    id: String,
    who: Assigned,
    (task, texts): (Task, Vec<String>),
) {
    let Ok(challenger) = s.challenger() else {
        return;
    };
    match answer(&s, &challenger, task, &texts, &input_name).await {
        Ok(a) => record(
            &s,
            &ab,
            &id,
            "shadow",
            &challenger.info.model_version,
            (&who.client, who.sticky),
            &a.items,
        ),
        Err(e) => tracing::warn!(request_id = %id, error = %e.message, "shadow prediction failed"),
    }
}

fn record(
    s: &Shared,
    ab: &Ab,
    id: &str,
    arm: &str,
    version: &str,
    client: (&str, bool),
    items: &[Arc<str>],
) {
    let values: Vec<Value> = items
        .iter()
        .map(|i| serde_json::from_str(i).unwrap_or(Value::Null))
        .collect();
    let events = predictions(id, arm, version, client, &values);
    s.metrics
        .ab_inputs
        .with_label_values(&[arm])
        .inc_by(items.len() as u64);
    for e in &events {
        if let Event::Prediction { label, .. } = e {
            s.metrics
                .ab_predicted_class
                .with_label_values(&[arm, label])
                .inc();
        }
        if let Some(log) = &ab.log {
            log.write(e);
        }
    }
}

/// `POST /feedback`: the true class of one input of an earlier `/predict`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"request_id": "0f8c2b1e-8d0b-4a53-9c1e-3f3b8e2d9a41", "index": 0, "label": "positive"}))]
pub(crate) struct FeedbackRequest {
    /// The `x-request-id` of the `/predict` response.
    #[schema(min_length = 1)]
    pub request_id: String,
    /// Which input of that request (0-based).
    #[serde(default)]
    pub index: usize,
    /// The true sentence class; one of `/info`'s `sentence_labels`.
    pub label: String,
}

/// Records the true class of an input the server answered, for `glassbox ab-report`.
#[utoipa::path(post, path = "/feedback", tag = "inference", security(("api_key" = []), ()),
    request_body(content = FeedbackRequest, example = json!({"request_id": "0f8c2b1e-8d0b-4a53-9c1e-3f3b8e2d9a41", "index": 0, "label": "positive"})),
    responses(
        (status = 202, description = "Recorded in the A/B log.", body = Value, example = json!({"status": "recorded"})),
        (status = 400, description = "The body is not JSON.", body = ErrorBody,
            example = json!({"error": "Failed to parse the request body as JSON: expected value at line 1 column 1", "error_type": "bad_request"})),
        (status = 401, description = "An API key is configured and the request lacks it.", body = ErrorBody,
            example = json!({"error": "this route needs an API key: send `Authorization: Bearer <key>`", "error_type": "unauthorized"})),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody,
            example = json!({"error": "Expected request with `Content-Type: application/json`", "error_type": "bad_request"})),
        (status = 403, description = "The server keeps no A/B log (start it with --ab-log FILE).", body = ErrorBody,
            example = json!({"error": "feedback needs an A/B log: start the server with --ab-log FILE", "error_type": "disabled"})),
        (status = 422, description = "Not a feedback object, or the label is not one of the model's classes.", body = ErrorBody,
            example = json!({"error": "label \"great\" is not one of the model's classes [\"negative\", \"neutral\", \"positive\"]", "error_type": "validation"})),
        (status = 503, description = "The model is still loading.", body = ErrorBody,
            example = json!({"error": "the model is still loading; poll GET /ready", "error_type": "not_ready"}))))]
pub(crate) async fn feedback(
    State(s): State<AppState>,
    Body(req): Body<FeedbackRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let model = s.model()?;
    let log =
        s.ab.as_ref()
            .and_then(|ab| ab.log.as_ref())
            .ok_or_else(|| {
                ApiError::disabled("feedback needs an A/B log: start the server with --ab-log FILE")
            })?;
    let labels = &model.config.sentence_labels;
    if !labels.contains(&req.label) {
        return Err(ApiError::validation(format!(
            "label {:?} is not one of the model's classes {labels:?}",
            req.label
        )));
    }
    if req.request_id.trim().is_empty() {
        return Err(ApiError::validation("request_id must not be empty"));
    }
    log.write(&Event::Feedback {
        at: now_rfc3339(),
        request_id: req.request_id,
        index: req.index,
        label: req.label,
    });
    s.metrics.feedback.inc();
    Ok((StatusCode::ACCEPTED, Json(json!({"status": "recorded"}))))
}
