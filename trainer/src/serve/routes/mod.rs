//! The router: every route, and the layers around them (request ids, trace logs, CORS, the
//! optional API key on the inference and admin routes, and the per-route request metrics),
//! plus the Swagger UI at `/docs`.

mod admin;
mod infer;
mod meta;

use std::sync::Arc;
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
use utoipa_swagger_ui::{Config, SwaggerUi};

pub(crate) use admin::*;
pub(crate) use infer::*;
pub(crate) use meta::*;

use super::auth::{require_key, ApiKey};
use super::state::AppState;

/// Every route with its layers. `cors_origins`: allowed origins (`*` for any); none means no
/// CORS headers (same-origin callers only). `api_key`: when set, the inference and admin
/// routes need it.
pub(crate) fn router(
    state: AppState,
    cors_origins: &[String],
    api_key: Option<Arc<ApiKey>>,
) -> Result<Router> {
    // Routes that read texts or change the server: behind the API key when there is one.
    let protected = Router::new()
        .route("/predict", post(predict))
        .route("/embed", post(embed))
        .route("/similarity", post(similarity))
        .route("/attention", post(attention))
        .route("/tokenize", post(tokenize_route))
        .route("/v1/embeddings", post(openai_embeddings))
        .route("/feedback", post(super::ab::route::feedback))
        .route("/admin/reload", post(reload_route));
    let protected = match api_key {
        Some(key) => protected.route_layer(middleware::from_fn_with_state(key, require_key)),
        None => protected,
    };
    // Probes, metadata, metrics and documentation: open, so orchestrators need no secret.
    let open = Router::new()
        .route("/info", get(info))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/drift", get(super::drift::drift_route))
        .route("/openapi.json", get(openapi));
    let routes = protected
        .merge(open)
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
        .merge(docs());
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

/// Swagger UI at `/docs`, reading `/openapi.json`; its files are compiled into the binary
/// (utoipa-swagger-ui's `vendored` feature), so it works with no network at all.
fn docs() -> Router {
    SwaggerUi::new("/docs")
        .config(Config::from("/openapi.json"))
        .into()
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
            .allow_headers([
                axum::http::header::CONTENT_TYPE,
                axum::http::header::AUTHORIZATION,
            ])
            .expose_headers(exposed),
    ))
}

/// Counts a request in flight until it is answered (or its client goes away).
struct InFlight(prometheus::IntGauge);

impl InFlight {
    fn start(gauge: &prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Counts each request by route and status, times it, and counts it while in flight.
async fn track(
    State(s): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let route = matched.map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let t = Instant::now();
    let _in_flight = InFlight::start(&s.metrics.in_flight);
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
