//! Routes about the server rather than the texts: `/info`, `/health`, `/ready`, `/metrics`,
//! `/openapi.json`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::OpenApi;

use crate::serve::api::{Info, Status};
use crate::serve::errors::{ApiError, ErrorBody};
use crate::serve::examples;
use crate::serve::openapi::ApiDoc;
use crate::serve::state::AppState;

/// The served model (name, version, manifest hash, labels, maximum input length), the
/// kernels and the server's limits.
#[utoipa::path(get, path = "/info", tag = "server",
    responses(
        (status = 200, description = "What is served and how.", body = Info, example = json!(examples::info())),
        (status = 503, description = "The model is still loading.", body = ErrorBody,
            example = json!({"error": "the model is still loading; poll GET /ready", "error_type": "not_ready"}))))]
pub(crate) async fn info(State(s): State<AppState>) -> Result<Json<Info>, ApiError> {
    Ok(Json(s.model()?.info.clone()))
}

/// Liveness: the process answers HTTP (the model may still be loading).
#[utoipa::path(get, path = "/health", tag = "server",
    responses((status = 200, description = "Alive.", body = Status, example = json!({"status": "ok"}))))]
pub(crate) async fn health() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Readiness: the model is loaded, warmed by one forward pass, and taking requests.
#[utoipa::path(get, path = "/ready", tag = "server",
    responses(
        (status = 200, description = "Ready.", body = Status, example = json!({"status": "ready"})),
        (status = 503, description = "Still loading or warming up.", body = ErrorBody,
            example = json!({"error": "the model is still loading; poll GET /ready", "error_type": "not_ready"}))))]
pub(crate) async fn ready(State(s): State<AppState>) -> Result<Json<Status>, ApiError> {
    s.model()?;
    Ok(Json(Status { status: "ready" }))
}

/// Prometheus metrics (text exposition format); the series are listed in the README.
#[utoipa::path(get, path = "/metrics", tag = "server",
    responses(
        (status = 200, description = "Prometheus text format.", content_type = "text/plain",
            body = String, example = json!("# TYPE glassbox_queue_size gauge\nglassbox_queue_size 0\n")),
        (status = 500, description = "The registry could not be encoded.", body = ErrorBody,
            example = json!({"error": "metrics could not be encoded: …", "error_type": "internal"}))))]
pub(crate) async fn metrics(State(s): State<AppState>) -> Result<Response, ApiError> {
    s.metrics.cache_bytes.set(s.cache.bytes() as i64);
    let text = s
        .metrics
        .render()
        .map_err(|e| ApiError::internal(format!("metrics could not be encoded: {e:#}")))?;
    let ct = "text/plain; version=0.0.4; charset=utf-8";
    Ok((StatusCode::OK, [(CONTENT_TYPE, ct)], text).into_response())
}

/// This API's OpenAPI 3 description, generated from the handlers' types.
#[utoipa::path(get, path = "/openapi.json", tag = "server",
    responses((status = 200, description = "OpenAPI 3.1 document.", body = Object,
        example = json!({"openapi": "3.1.0", "info": {"title": "glassbox", "version": "0.1.0"}, "paths": {}}))))]
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
