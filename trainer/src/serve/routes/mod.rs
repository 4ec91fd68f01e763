//! The router: every route, and the layers around them (request ids, trace logs, CORS, and
//! the per-route request metrics).

mod infer;
mod meta;

use std::time::Instant;

use anyhow::{Context, Result};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::Level;

pub(crate) use infer::*;
pub(crate) use meta::*;

use super::state::AppState;

/// Every route with its layers. `cors_origins`: allowed origins (`*` for any); none means no
/// CORS headers (same-origin callers only).
pub(crate) fn router(state: AppState, cors_origins: &[String]) -> Result<Router> {
    let routes = Router::new()
        .route("/predict", post(predict))
        .route("/embed", post(embed))
        .route("/similarity", post(similarity))
        .route("/attention", post(attention))
        .route("/tokenize", post(tokenize_route))
        .route("/v1/embeddings", post(openai_embeddings))
        .route("/info", get(info))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state);
    let request_id = HeaderName::from_static("x-request-id");
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span)
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                )
                // A 503 while loading or a 500 from one batch is already in the response and
                // the status line; a warning, not an error that pages someone.
                .on_failure(DefaultOnFailure::new().level(Level::WARN)),
        )
        .layer(PropagateRequestIdLayer::new(request_id));
    let app = routes.layer(layers);
    Ok(match cors(cors_origins)? {
        Some(c) => app.layer(c),
        None => app,
    })
}

/// The span every log line of a request carries: method, path and request id. Never the
/// body or the query: inputs are not logged.
fn span(req: &Request) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
}

fn cors(origins: &[String]) -> Result<Option<CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let list = origins
            .iter()
            .map(|o| HeaderValue::from_str(o).with_context(|| format!("bad CORS origin {o:?}")))
            .collect::<Result<Vec<_>>>()?;
        AllowOrigin::list(list)
    };
    let exposed = [
        "x-request-id",
        "x-total-time",
        "x-tokenization-time",
        "x-queue-time",
        "x-inference-time",
        "x-truncated-inputs",
    ]
    .map(HeaderName::from_static);
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([axum::http::header::CONTENT_TYPE])
            .expose_headers(exposed),
    ))
}

/// Counts each request by route and status and times it.
async fn track(
    State(s): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let route = matched.map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let t = Instant::now();
    let res = next.run(req).await;
    let status = res.status();
    s.metrics
        .requests
        .with_label_values(&[route.as_str(), status.as_str()])
        .inc();
    s.metrics
        .request_seconds
        .with_label_values(&[route.as_str()])
        .observe(t.elapsed().as_secs_f64());
    res
}
