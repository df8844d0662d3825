//! The HTTP surface: GraphQL, health, readiness and the gateway check.
//!
//! HTTP statuses are decided here and nowhere else: 401 with `WWW-Authenticate`
//! for a presented credential that is refused, 429 with `Retry-After` for a
//! refused credential from an address that has had too many refused, 413 for a
//! body over the limit (declared or streamed), 408 for a body that does not
//! arrive in time, 400 for a document that does not parse or validate (or a
//! batch that is too long, or too costly), 503 for a request that ran out of
//! time, and 200 for everything GraphQL executed, field errors included.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

use crate::gateway::verify;
use crate::graphql_http::{graphql_get, graphql_request};
use crate::observe::{Observer, observe};
use crate::state::AppState;
use crate::{leaks, origins, pages};

pub fn app(state: AppState) -> Router {
    // Shared behind one pointer: the router hands every request its own copy
    // of the state.
    let observer = Arc::new(Observer {
        clients: state.clients.clone(),
        telemetry: state.telemetry.clone(),
    });
    // What browsers use, behind the rule on other origins (see origins.rs).
    let browsers = Router::new()
        .route("/", get(pages::home))
        .route("/console", get(pages::console))
        .route("/console/", get(pages::home))
        // Scripts and stylesheets are sent compressed to clients that accept it.
        .route(
            "/assets/{name}",
            get(pages::asset).layer(tower_http::compression::CompressionLayer::new()),
        )
        .route("/graphql", get(graphql_get).post(graphql_request));
    let browsers = match state.origins.cors() {
        Some(cors) => browsers.layer(cors),
        None => browsers,
    };
    let browsers = browsers.layer(axum::middleware::from_fn_with_state(
        state.origins.clone(),
        origins::guard,
    ));
    let state = Arc::new(state);
    Router::new()
        .merge(browsers)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // Gateways call with the method of the request they guard, and some
        // (Envoy's ext_authz) append its path.
        .route("/v1/verify", any(verify))
        .route("/v1/verify/", any(verify))
        .route("/v1/verify/{*path}", any(verify))
        .route("/metrics", get(render_metrics))
        // Reports of leaked credentials (docs/secret-scanning.md).
        .route("/v1/secret-scanning/github", post(leaks::github))
        .route("/v1/secret-scanning/scanner", post(leaks::scanner))
        .route(
            "/v1/secret-scanning/github-webhook",
            post(leaks::github_webhook),
        )
        .route("/v1/leaks", post(leaks::holder))
        .layer(axum::middleware::from_fn_with_state(observer, observe))
        .with_state(state)
}

pub(crate) async fn render_metrics(State(state): State<Arc<AppState>>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            crate::telemetry::render(handle, &state.kw),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no metrics recorder").into_response(),
    }
}

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match domain::db::ping(state.kw.db()).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}
