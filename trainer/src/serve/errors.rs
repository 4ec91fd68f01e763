//! Every error the server answers with: a status and one JSON body, `{"error", "error_type"}`
//! (text-embeddings-inference's shape), so clients parse failures the way they parse results.

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": "input at index 1: the text is empty (or holds only whitespace/control characters): nothing to encode", "error_type": "validation"}))]
pub(crate) struct ErrorBody {
    /// What went wrong, phrased so the caller knows what to change.
    pub error: String,
    /// `validation`, `payload_too_large`, `overloaded`, `not_ready`, `disabled`, `bad_request`,
    /// `unauthorized` or `internal`.
    pub error_type: String,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }

    /// 422: the request parsed but an input cannot be used.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message)
    }

    /// 413: more inputs in one request than `--max-client-batch-size`.
    pub fn too_many_inputs(n: usize, max: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("{n} inputs in one request; this server takes at most {max} (--max-client-batch-size)"),
        )
    }

    /// 429: `--max-concurrent-requests` are already being answered.
    pub fn overloaded(max: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "overloaded",
            format!("the server is answering its maximum of {max} concurrent requests (--max-concurrent-requests); retry later"),
        )
    }

    /// 503: the model is still loading or warming up.
    pub fn not_ready() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the model is still loading; poll GET /ready",
        )
    }

    /// 401: the server needs an API key and the request has none or a wrong one. The message
    /// never repeats what was sent.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: a route the operator did not switch on.
    pub fn disabled(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "disabled", message)
    }

    /// 500: the model thread failed; the message says how.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
            error_type: self.kind.to_string(),
        };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750: a 401 names the scheme the client should use.
            let bearer = axum::http::HeaderValue::from_static("Bearer");
            res.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, bearer);
        }
        res
    }
}

/// A body axum could not read as the route's JSON type keeps axum's status (400 bad JSON,
/// 413 too large, 415 no JSON content type, 422 wrong shape) with a JSON error body.
impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let kind = match r.status() {
            StatusCode::UNPROCESSABLE_ENTITY => "validation",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            _ => "bad_request",
        };
        Self::new(r.status(), kind, r.body_text())
    }
}

/// A route's JSON body; rejections become [`ApiError`]s.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct Body<T>(pub T);

/// The error answers every inference route can give, for `/openapi.json` (never built: the
/// handlers answer with [`ApiError`], whose statuses and bodies these document).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(crate) enum InferenceErrors {
    /// The server runs with an API key (`--api-key-file` / `GLASSBOX_API_KEY`) and the
    /// request has no `Authorization: Bearer <key>` header, or a wrong key.
    #[response(status = 401, example = json!({"error": "this route needs an API key: send `Authorization: Bearer <key>`", "error_type": "unauthorized"}))]
    Unauthorized(ErrorBody),
    /// The body is not JSON.
    #[response(status = 400, example = json!({"error": "Failed to parse the request body as JSON: expected value at line 1 column 1", "error_type": "bad_request"}))]
    BadJson(ErrorBody),
    /// More inputs than `--max-client-batch-size`, or a body over 2 MB.
    #[response(status = 413, example = json!({"error": "40 inputs in one request; this server takes at most 32 (--max-client-batch-size)", "error_type": "payload_too_large"}))]
    TooLarge(ErrorBody),
    /// The body is not `Content-Type: application/json`.
    #[response(status = 415, example = json!({"error": "Expected request with `Content-Type: application/json`", "error_type": "bad_request"}))]
    NotJson(ErrorBody),
    /// Wrong shape, a non-string input, an empty list, or an empty/whitespace-only text; the
    /// message names the input by its 0-based index.
    #[response(status = 422, example = json!({"error": "Failed to deserialize the JSON body into the target type: inputs: input at index 2 is a number; every input must be a string at line 1 column 24", "error_type": "validation"}))]
    Invalid(ErrorBody),
    /// `--max-concurrent-requests` requests are already being answered.
    #[response(status = 429, example = json!({"error": "the server is answering its maximum of 512 concurrent requests (--max-concurrent-requests); retry later", "error_type": "overloaded"}))]
    Overloaded(ErrorBody),
    /// The model failed on this batch (the server keeps serving).
    #[response(status = 500, example = json!({"error": "inference panicked; see the server log", "error_type": "internal"}))]
    Internal(ErrorBody),
    /// The model is still loading.
    #[response(status = 503, example = json!({"error": "the model is still loading; poll GET /ready", "error_type": "not_ready"}))]
    NotReady(ErrorBody),
}
