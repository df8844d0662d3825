//! The HTTP surface: GraphQL, health, readiness and the gateway check.
//!
//! HTTP statuses are decided here and nowhere else: 401 with `WWW-Authenticate`
//! for a presented credential that is refused, 400 for a document that does not
//! parse or validate, 200 for everything GraphQL executed, field errors included.

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::GraphQLRequest;
use axum::extract::State;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use domain::{AuthError, Keywarden, Principal};
use graphql::error::{Code, INTERNAL_MESSAGE, UNAUTHENTICATED_MESSAGE};
use graphql::{KeywardenSchema, Outcome};

use crate::auth::{Authentication, authenticate};

#[derive(Clone)]
pub struct AppState {
    pub kw: Keywarden,
    pub schema: KeywardenSchema,
}

impl AppState {
    pub fn new(kw: Keywarden) -> Self {
        let schema = graphql::schema(kw.clone());
        Self { kw, schema }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("kw", &self.kw)
            .finish_non_exhaustive()
    }
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql_request))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/verify", get(verify))
        .with_state(state)
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

/// A GraphQL-shaped body holding one error.
fn graphql_error(status: StatusCode, code: Code, message: &str) -> Response {
    let body = serde_json::json!({
        "data": null,
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }],
    });
    (status, Json(body)).into_response()
}

async fn graphql_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    let mut request = request.into_inner();
    match authenticate(&state.kw, &headers).await {
        Authentication::Anonymous => {}
        Authentication::Principal(principal) => request = request.data(principal),
        Authentication::Refused(AuthError::Db(_)) => {
            return graphql_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::Internal,
                INTERNAL_MESSAGE,
            );
        }
        Authentication::Refused(_) => {
            let mut response = graphql_error(
                StatusCode::UNAUTHORIZED,
                Code::Unauthenticated,
                UNAUTHENTICATED_MESSAGE,
            );
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
            return response;
        }
    }
    let mut response = state.schema.execute(request).await;
    let status = match graphql::finish(&mut response) {
        Outcome::Executed => StatusCode::OK,
        Outcome::Rejected => StatusCode::BAD_REQUEST,
    };
    (status, Json(response)).into_response()
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
        [(WWW_AUTHENTICATE, CHALLENGE)],
        UNAUTHENTICATED_MESSAGE,
    )
        .into_response()
}

const CHALLENGE: &str = r#"Bearer realm="keywarden""#;

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
