//! The HTTP surface: health, readiness, the gateway check and (later) GraphQL.
//!
//! HTTP statuses are decided here and nowhere else.

use axum::Router;
use axum::extract::State;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::{AuthError, Keywarden, Principal};

use crate::auth::{Authentication, authenticate};

#[derive(Clone, Debug)]
pub struct AppState {
    pub kw: Keywarden,
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/verify", get(verify))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match domain::db::ping(state.kw.db()).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// The response to a request whose credential is missing or refused.
pub fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(WWW_AUTHENTICATE, r#"Bearer realm="keywarden""#)],
        "Unauthorized. Please provide a valid authentication token.",
    )
        .into_response()
}

fn internal() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
}

/// For gateways (nginx `auth_request`, Traefik ForwardAuth, Envoy): 200 with the
/// principal in headers for a good credential, 401 otherwise.
async fn verify(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let principal = match authenticate(&state.kw, &headers).await {
        Authentication::Principal(p) => p,
        Authentication::Refused(AuthError::Db(_)) => return internal(),
        Authentication::Anonymous | Authentication::Refused(_) => return unauthenticated(),
    };
    let mut out = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            out.insert(HeaderName::from_static(name), v);
        }
    };
    match &principal {
        Principal::ServiceAccount(s) => {
            put(
                "x-keywarden-principal",
                domain::object_id::encode("ServiceAccount", s.service_account_id.0),
            );
            put(
                "x-keywarden-account",
                domain::object_id::encode("Account", s.account_id.0),
            );
            put("x-keywarden-role", s.role.code().to_owned());
        }
        Principal::User(u) => {
            put(
                "x-keywarden-principal",
                domain::object_id::encode("User", u.user_id.0),
            );
            // A user speaks for one account only when they belong to exactly one.
            if let [only] = u.memberships.as_slice() {
                put(
                    "x-keywarden-account",
                    domain::object_id::encode("Account", only.account_id.0),
                );
                put("x-keywarden-role", only.role.code().to_owned());
            }
        }
    }
    (StatusCode::OK, out).into_response()
}
