//! Routes that change what the server runs: `POST /admin/reload`.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;

use crate::serve::api::{ReloadRequest, ReloadResponse};
use crate::serve::errors::{ApiError, ErrorBody};
use crate::serve::examples;
use crate::serve::reload::reload;
use crate::serve::state::AppState;

/// Loads a bundle (by default the one being served, re-read from disk), checks every file's
/// hash, warms it on a new model thread and swaps it in; requests in flight finish on the old
/// model. A bundle that fails to load leaves the old one serving. SIGHUP does the same with
/// the current path.
#[utoipa::path(post, path = "/admin/reload", tag = "admin",
    request_body(content = ReloadRequest, description = "Optional; empty re-reads the current bundle.",
        example = json!({"bundle": "public/models/default"})),
    security(("api_key" = []), ()),
    responses(
        (status = 200, description = "The new bundle is serving.", body = ReloadResponse, example = json!(examples::reloaded())),
        (status = 401, description = "An API key is configured and the request lacks it.", body = ErrorBody,
            example = json!({"error": "this route needs an API key: send `Authorization: Bearer <key>`", "error_type": "unauthorized"})),
        (status = 422, description = "The body is not a reload request, or the bundle was refused (the loader's message); the old bundle keeps serving.", body = ErrorBody,
            example = json!({"error": "refusing bundle /srv/bundles/new: bundle file `model.bpk` is corrupt or was modified: SHA-256 is 0c9a…, manifest says 7741…; re-export or re-download the bundle", "error_type": "validation"})),
        (status = 503, description = "The first model is still loading.", body = ErrorBody,
            example = json!({"error": "the model is still loading; poll GET /ready", "error_type": "not_ready"}))))]
pub(crate) async fn reload_route(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<ReloadResponse>, ApiError> {
    let req = parse(&body)?;
    let done = reload(&s, req.bundle.map(Into::into)).await?;
    Ok(Json(ReloadResponse {
        status: "reloaded",
        bundle: done.bundle.display().to_string(),
        model_name: done.model.info.model_name.clone(),
        model_version: done.model.info.model_version.clone(),
        manifest_sha256: done.model.info.manifest_sha256.clone(),
        previous_manifest_sha256: done.previous_sha256.to_string(),
        seconds: done.seconds,
    }))
}

/// The body is optional: empty (or only whitespace) is the default request.
fn parse(body: &[u8]) -> Result<ReloadRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ReloadRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::validation(format!(
            "the body must be empty or {{\"bundle\": \"path\"}}: {e}"
        ))
    })
}
