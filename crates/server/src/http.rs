//! The HTTP surface: GraphQL, health, readiness and the gateway check.
//!
//! HTTP statuses are decided here and nowhere else: 401 with `WWW-Authenticate`
//! for a presented credential that is refused, 429 with `Retry-After` for a
//! refused credential from an address that has had too many refused, 413 for a
//! body over the limit (declared or streamed), 408 for a body that does not
//! arrive in time, 400 for a document that does not parse or validate (or a
//! batch that is too long, or too costly), 503 for a request that ran out of
//! time, and 200 for everything GraphQL executed, field errors included.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::{BatchRequest, BatchResponse};
use async_graphql_axum::GraphQLBatchRequest;
use async_graphql_axum::rejection::GraphQLRejection;
use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use domain::{AuthError, Keywarden, Principal};
use graphql::Schemas;
use graphql::error::{Code, INTERNAL_MESSAGE, UNAUTHENTICATED_MESSAGE};

use crate::auth::{CredentialHeaders, Presented, presented};
use crate::client::ClientResolver;
use crate::observe::{Caller, Observer, Requested, observe};
use crate::origins::{self, Origins};
use crate::pages;
use crate::telemetry::{Outcome, Telemetry};
use crate::throttle::{FailedAuthLimiter, retry_after_seconds};

/// Limits enforced at the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
    /// Most operations in one batched request.
    pub max_batch: usize,
    /// How long one request may run.
    pub request_timeout: Duration,
    /// How long a request's body may take to arrive, from its head.
    pub body_read_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_batch: 10,
            request_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, Debug)]
pub struct AppState {
    pub kw: Keywarden,
    /// Renders the Prometheus metrics; `None` when no recorder is installed.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub schemas: Schemas,
    pub limits: HttpLimits,
    pub throttle: Arc<FailedAuthLimiter>,
    /// Who the client of a request is (trusted proxies).
    pub clients: ClientResolver,
    pub telemetry: Telemetry,
    /// The web origins whose pages may call the API.
    pub origins: Origins,
}

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
        .layer(axum::middleware::from_fn_with_state(observer, observe))
        .with_state(state)
}

/// What the observing middleware put on the request (it runs around every
/// route, so it is always there).
fn requested(parts: &Parts) -> Requested {
    parts
        .extensions
        .get::<Requested>()
        .cloned()
        .unwrap_or_else(|| Requested {
            id: HeaderValue::from_static("none"),
            client: None,
        })
}

/// Reads a request's body whole (the only routes with a body read it first):
/// refused with 413 when it declares, or turns out to have, more than the
/// limit, and with 408 (closing the connection) when it does not arrive within
/// the body timeout, so that a client trickling a body holds nothing for long.
async fn read_body(
    limits: &HttpLimits,
    headers: &HeaderMap,
    body: Body,
    request_id: &str,
) -> Result<axum::body::Bytes, Response> {
    let limit = limits.max_body_bytes;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(too_large(limit, request_id));
    }
    let read = tokio::time::timeout(limits.body_read_timeout, axum::body::to_bytes(body, limit));
    match read.await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let cause = e.into_inner();
            if cause
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Err(too_large(limit, request_id));
            }
            tracing::info!(error = %cause, "a request body could not be read");
            Err(graphql_error(
                StatusCode::BAD_REQUEST,
                graphql::VALIDATION_CODE,
                "The request body could not be read.",
                request_id,
            ))
        }
        Err(_) => {
            let mut response = graphql_error(
                StatusCode::REQUEST_TIMEOUT,
                Code::RequestTimeout.as_str(),
                "The request body did not arrive in time.",
                request_id,
            );
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            Err(response)
        }
    }
}

fn too_large(limit: usize, request_id: &str) -> Response {
    graphql_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        Code::PayloadTooLarge.as_str(),
        &format!("The body is over {limit} bytes"),
        request_id,
    )
}

const CHALLENGE: &str = r#"Bearer realm="keywarden""#;

/// Why a request's credential did not let it in.
#[derive(Debug)]
enum Refusal {
    /// More than one credential, and they differ.
    Ambiguous,
    Unauthenticated,
    RateLimited(Duration),
    Internal,
}

/// The caller of a request: `None` when it presents no credential.
async fn identify(
    state: &AppState,
    address: Option<IpAddr>,
    presented: Presented<'_>,
) -> Result<Option<Principal>, Refusal> {
    let token = match presented {
        Presented::Nothing => return Ok(None),
        Presented::Ambiguous => {
            state.telemetry.verification(Outcome::Ambiguous);
            return Err(Refusal::Ambiguous);
        }
        Presented::Token(token) => Some(token),
        Presented::Unusable => None,
    };
    // A good credential is let in whatever else its address has sent: many
    // clients may share one address (an office, a NAT), and one of them must
    // not lock the others out. Only what fails is throttled.
    let outcome = match token {
        Some(token) => state.kw.authenticate(token, domain::time::now()).await,
        None => Err(AuthError::Malformed(domain::TokenError::Prefix)),
    };
    match outcome {
        Ok(principal) => {
            state.telemetry.verification(Outcome::Ok);
            Ok(Some(principal))
        }
        Err(AuthError::Db(e)) => {
            state.telemetry.verification(Outcome::Error);
            tracing::error!(error = %e, "credential lookup failed");
            Err(Refusal::Internal)
        }
        Err(reason) => {
            let throttled = address.and_then(|a| {
                state
                    .throttle
                    .cooling_down(a)
                    .or_else(|| state.throttle.refused(a))
            });
            let client = address.map(tracing::field::display);
            match throttled {
                Some(wait) => {
                    state.telemetry.verification(Outcome::Throttled);
                    tracing::info!(%reason, client, "credential refused; the client is throttled");
                    Err(Refusal::RateLimited(wait))
                }
                None => {
                    state.telemetry.verification(Outcome::of_refusal(&reason));
                    tracing::info!(%reason, client, "credential refused");
                    Err(Refusal::Unauthenticated)
                }
            }
        }
    }
}

/// The caller's object id, for the access log.
fn caller_of(principal: &Principal) -> Caller {
    Caller(match principal {
        Principal::ServiceAccount(s) => {
            domain::object_id::encode("ServiceAccount", s.service_account_id.0)
        }
        Principal::User(u) => domain::object_id::encode("User", u.user_id.0),
    })
}

fn with_refusal_headers(mut response: Response, refusal: &Refusal) -> Response {
    let headers = response.headers_mut();
    match refusal {
        Refusal::Unauthenticated => {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        }
        Refusal::RateLimited(wait) => {
            headers.insert(RETRY_AFTER, HeaderValue::from(retry_after_seconds(*wait)));
        }
        Refusal::Internal | Refusal::Ambiguous => {}
    }
    response
}

const AMBIGUOUS_CODE: &str = Code::AmbiguousCredentials.as_str();
const AMBIGUOUS_MESSAGE: &str = "The request carries two different credentials in one header: send one x-api-key or one Authorization header.";

/// A GraphQL request sent by `GET` (GraphQL over HTTP): `query`, and
/// optionally `variables` (JSON) and `operationName`, in the URL.
#[derive(serde::Deserialize)]
struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
}

/// Whether the client asks for a page rather than data: a browser's
/// navigation accepts `text/html`.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/html"))
}

/// Whether the operation `query` would run is a mutation, chosen as the
/// executor chooses it: the one `operation` names, or else the document's only
/// one. A document that does not parse, or names no operation it has, runs
/// nothing, and running it reports why; the schema refuses a mutation sent
/// this way too (see `graphql::QueriesOnly`), should this ever disagree.
fn is_mutation(query: &str, operation: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let kind = match (&document.operations, operation) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    kind == Some(OperationType::Mutation)
}

/// `GET /graphql`: a query in the URL, or, for a browser asking for a page
/// without one, GraphiQL.
async fn graphql_get(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let requested = requested(&parts);
    let id = requested.id();
    let format = Format::of(&parts.headers);
    let params = match axum::extract::Query::<GetParams>::try_from_uri(&parts.uri) {
        Ok(axum::extract::Query(params)) => params,
        Err(e) => {
            tracing::info!(error = %e, "a GET request with unreadable parameters");
            return format.write(graphql_error(
                StatusCode::BAD_REQUEST,
                graphql::VALIDATION_CODE,
                "The URL's parameters could not be read: send query, variables and operationName, URL-encoded.",
                id,
            ));
        }
    };
    let Some(query) = params.query.filter(|q| !q.trim().is_empty()) else {
        if wants_html(&parts.headers) {
            return crate::pages::graphiql(&parts.headers);
        }
        return format.write(graphql_error(
            StatusCode::BAD_REQUEST,
            graphql::VALIDATION_CODE,
            "The request has no query: send ?query=... (or POST a JSON body).",
            id,
        ));
    };
    if is_mutation(&query, params.operation_name.as_deref()) {
        let mut refused = graphql_error(
            StatusCode::METHOD_NOT_ALLOWED,
            graphql::VALIDATION_CODE,
            "A mutation is sent by POST: GET runs queries only.",
            id,
        );
        refused.headers_mut().insert(
            axum::http::header::ALLOW,
            HeaderValue::from_static("GET, POST"),
        );
        return format.write(refused);
    }
    let mut single = async_graphql::Request::new(query).data(graphql::QueriesOnly);
    if let Some(name) = params.operation_name {
        single = single.operation_name(name);
    }
    if let Some(text) = params.variables.filter(|v| !v.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value @ serde_json::Value::Object(_)) => {
                single = single.variables(async_graphql::Variables::from_json(value));
            }
            _ => {
                return format.write(graphql_error(
                    StatusCode::BAD_REQUEST,
                    graphql::VALIDATION_CODE,
                    "variables is not a JSON object.",
                    id,
                ));
            }
        }
    }
    let credential = CredentialHeaders::of(&parts.headers);
    answer(
        &state,
        &requested,
        &credential,
        BatchRequest::Single(single),
        format,
    )
    .await
}

/// A GraphQL-shaped body holding one error.
pub(crate) fn graphql_error(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
) -> Response {
    let body = serde_json::json!({
        "data": null,
        "errors": [{
            "message": message,
            "extensions": { "code": code, "requestId": request_id },
        }],
    });
    (status, Json(body)).into_response()
}

fn graphql_refusal(refusal: Refusal, request_id: &str) -> Response {
    let (status, code, message) = match &refusal {
        Refusal::Ambiguous => (StatusCode::BAD_REQUEST, AMBIGUOUS_CODE, AMBIGUOUS_MESSAGE),
        Refusal::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated.as_str(),
            UNAUTHENTICATED_MESSAGE,
        ),
        Refusal::RateLimited(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            Code::RateLimited.as_str(),
            "Too many refused credentials from this address: try again later.",
        ),
        Refusal::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::Internal.as_str(),
            INTERNAL_MESSAGE,
        ),
    };
    with_refusal_headers(graphql_error(status, code, message, request_id), &refusal)
}

/// Puts the request's id in every error's extensions.
fn tag_errors(response: &mut async_graphql::Response, request_id: &str) {
    for error in &mut response.errors {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("requestId", request_id);
    }
}

async fn graphql_request(State(state): State<Arc<AppState>>, request: Request) -> Response {
    // Only what identifying the caller needs is kept while the body is read.
    let (parts, body) = request.into_parts();
    let requested = requested(&parts);
    let id = requested.id();
    // GraphQL over HTTP: a POST says its body is JSON. Nothing else is
    // guessed to be: not a body without a Content-Type, nor the text/plain or
    // form a browser may send another site without asking first.
    if !is_json(&parts.headers) {
        return graphql_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            graphql::VALIDATION_CODE,
            "A POST to /graphql is JSON: send Content-Type: application/json.",
            id,
        );
    }
    let credential = CredentialHeaders::of(&parts.headers);
    let body = match read_body(&state.limits, &parts.headers, body, id).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    // Whether the body is a JSON array tells an empty batch, `[]`, from an
    // empty request.
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let headers = parts.headers.clone();
    let parsed = GraphQLBatchRequest::<GraphQLRejection>::from_request(
        Request::from_parts(parts, Body::from(body)),
        &state,
    )
    .await;
    let batch = match parsed {
        Ok(request) => request.into_inner(),
        Err(rejection) => {
            // The parser's own words stay in the log.
            tracing::info!(error = %rejection.0, "a request that is not GraphQL");
            return graphql_error(
                StatusCode::BAD_REQUEST,
                graphql::VALIDATION_CODE,
                "The body is not a GraphQL request: send JSON with a \"query\" string.",
                id,
            );
        }
    };
    // serde reads `[]` (or an array of strings) as one request whose fields
    // come in order: not a batch of request objects.
    if is_array && matches!(batch, BatchRequest::Single(_)) {
        return graphql_error(
            StatusCode::BAD_REQUEST,
            graphql::VALIDATION_CODE,
            &format!(
                "A batch is a JSON array of 1 to {} request objects, each with a \"query\" string.",
                state.limits.max_batch
            ),
            id,
        );
    }
    answer(&state, &requested, &credential, batch, Format::of(&headers)).await
}

/// Whether the request says its body is `application/json` (with any
/// parameters, as `; charset=utf-8`): at least one `Content-Type`, and every
/// one it gives says so (some clients send the header twice).
fn is_json(headers: &HeaderMap) -> bool {
    let types = headers.get_all(axum::http::header::CONTENT_TYPE);
    types.iter().next().is_some()
        && types.iter().all(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(';')
                    .next()
                    .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
            })
        })
}

/// How a GraphQL answer is written, from the request's `Accept`: the media
/// type of the GraphQL-over-HTTP specification when the client accepts it,
/// JSON otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    GraphqlResponse,
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

impl Format {
    fn of(headers: &HeaderMap) -> Self {
        let accepts = headers
            .get_all(axum::http::header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|media| {
                media
                    .split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case(GRAPHQL_RESPONSE))
            });
        if accepts {
            Format::GraphqlResponse
        } else {
            Format::Json
        }
    }

    fn write(self, mut response: Response) -> Response {
        if self == Format::GraphqlResponse {
            response.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static(GRAPHQL_RESPONSE),
            );
        }
        response
    }
}

/// Runs a request that has been read: checks its shape, identifies the
/// caller, executes, and answers in `format`.
async fn answer(
    state: &AppState,
    requested: &Requested,
    credential: &CredentialHeaders,
    batch: BatchRequest,
    format: Format,
) -> Response {
    format.write(execute(state, requested, credential, batch).await)
}

async fn execute(
    state: &AppState,
    requested: &Requested,
    credential: &CredentialHeaders,
    batch: BatchRequest,
) -> Response {
    let id = requested.id();
    let operations = match &batch {
        BatchRequest::Single(single) if single.query.trim().is_empty() => {
            return graphql_error(
                StatusCode::BAD_REQUEST,
                graphql::VALIDATION_CODE,
                "The request has no query: send a \"query\" string.",
                id,
            );
        }
        BatchRequest::Single(_) => 1,
        BatchRequest::Batch(list) => list.len(),
    };
    if operations > state.limits.max_batch || operations == 0 {
        return graphql_error(
            StatusCode::BAD_REQUEST,
            graphql::VALIDATION_CODE,
            &format!(
                "A batch holds 1 to {} operations (this one has {operations})",
                state.limits.max_batch
            ),
            id,
        );
    }
    // The operations of a batch share one budget, so a batch costs no more
    // than one document may.
    let batch = batch.data(graphql::CostBudget::new(state.schemas.cost_limit));
    let mut caller = None;
    let (schema, batch) = match identify(state, requested.client, credential.presented()).await {
        Ok(None) => (&state.schemas.anonymous, batch),
        Ok(Some(principal)) => {
            caller = Some(caller_of(&principal));
            (&state.schemas.authenticated, batch.data(principal))
        }
        Err(refusal) => return graphql_refusal(refusal, id),
    };
    let executed = tokio::time::timeout(state.limits.request_timeout, schema.execute_batch(batch));
    let mut response = match executed.await {
        Ok(response) => response,
        Err(_) => {
            return graphql_error(
                StatusCode::SERVICE_UNAVAILABLE,
                Code::Timeout.as_str(),
                "The request took too long and was stopped.",
                id,
            );
        }
    };
    // A request refused before it ran has no `data` entry at all (the
    // GraphQL specification's "request error"), rather than `data: null`.
    let (status, rejected) = match &mut response {
        BatchResponse::Single(single) => {
            let outcome = graphql::finish(single);
            tag_errors(single, id);
            match outcome {
                graphql::Outcome::Executed => (StatusCode::OK, vec![false]),
                graphql::Outcome::Rejected => (StatusCode::BAD_REQUEST, vec![true]),
            }
        }
        BatchResponse::Batch(list) => {
            let mut rejected = Vec::with_capacity(list.len());
            for single in list.iter_mut() {
                rejected.push(graphql::finish(single) == graphql::Outcome::Rejected);
                tag_errors(single, id);
            }
            (StatusCode::OK, rejected)
        }
    };
    let mut response = if rejected.contains(&true) {
        (
            status,
            Json(without_data_where_rejected(&response, &rejected)),
        )
            .into_response()
    } else {
        (status, Json(response)).into_response()
    };
    if let Some(caller) = caller {
        response.extensions_mut().insert(caller);
    }
    response
}

/// The response as JSON, with no `data` entry in the answers refused before
/// they ran.
fn without_data_where_rejected(response: &BatchResponse, rejected: &[bool]) -> serde_json::Value {
    let mut body = serde_json::to_value(response).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a response could not be written as JSON");
        serde_json::json!({ "errors": [{ "message": graphql::error::INTERNAL_MESSAGE }] })
    });
    let answers: Vec<&mut serde_json::Value> = match &mut body {
        serde_json::Value::Array(list) => list.iter_mut().collect(),
        single => vec![single],
    };
    for (answer, rejected) in answers.into_iter().zip(rejected) {
        if *rejected && let Some(answer) = answer.as_object_mut() {
            answer.remove("data");
        }
    }
    body
}

async fn render_metrics(State(state): State<Arc<AppState>>) -> Response {
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

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match domain::db::ping(state.kw.db()).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// For gateways (nginx `auth_request`, Traefik ForwardAuth, Envoy): 200 with the
/// principal in headers for a good credential, 401 otherwise; when the gateway
/// names an account, 403 for a good credential that does not act in it; when
/// it asks for a permission on a project, 403 with `X-Keywarden-Reason` for a
/// good credential that does not hold it. (The answers are listed in
/// `docs/verify.md`.)
async fn verify(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let mut response = verify_answer(&state, request).await;
    // The answers are short plain texts: never to be read as anything else.
    response.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn verify_answer(state: &AppState, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let client = requested(&parts).client;
    let question = match crate::question::read(&parts) {
        Ok(question) => question,
        Err(message) => {
            let mut refused = (StatusCode::BAD_REQUEST, message).into_response();
            refused
                .headers_mut()
                .insert(REASON_HEADER, HeaderValue::from_static("bad-question"));
            return refused;
        }
    };
    let refusal = match identify(state, client, presented(&parts.headers)).await {
        Ok(Some(principal)) => {
            let caller = caller_of(&principal);
            let mut response = if question.asks_permissions() {
                answer_question(&state.kw, &principal, &caller, &question).await
            } else {
                match question.account {
                    None => verified(&principal, &caller),
                    Some(account) => match principal.role_in(account) {
                        Some(role) => principal_headers(&caller, Some((account, role))),
                        None => not_in_account(),
                    },
                }
            };
            response.extensions_mut().insert(caller);
            return response;
        }
        Ok(None) => Refusal::Unauthenticated,
        Err(refusal) => refusal,
    };
    let response = match &refusal {
        Refusal::Ambiguous => (StatusCode::BAD_REQUEST, AMBIGUOUS_MESSAGE).into_response(),
        Refusal::Unauthenticated => {
            (StatusCode::UNAUTHORIZED, UNAUTHENTICATED_MESSAGE).into_response()
        }
        Refusal::RateLimited(_) => {
            let mut throttled = (
                question.on_throttle.status(),
                "Too many refused credentials from this address: try again later",
            )
                .into_response();
            throttled
                .headers_mut()
                .insert(REASON_HEADER, HeaderValue::from_static("throttled"));
            throttled
        }
        Refusal::Internal => (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE).into_response(),
    };
    with_refusal_headers(response, &refusal)
}

const REASON_HEADER: HeaderName = HeaderName::from_static("x-keywarden-reason");

/// 403 for a good credential refused, saying why in `X-Keywarden-Reason`.
fn forbidden(why: domain::Why, message: &'static str) -> Response {
    let mut response = (StatusCode::FORBIDDEN, message).into_response();
    response
        .headers_mut()
        .insert(REASON_HEADER, HeaderValue::from_static(why.code()));
    response
}

fn not_in_account() -> Response {
    forbidden(
        domain::Why::NotInAccount,
        "The credential does not act in the required account",
    )
}

/// The answer to a question of permission for a good credential. The account
/// is the one named, or the one the credential acts in.
async fn answer_question(
    kw: &Keywarden,
    principal: &Principal,
    caller: &Caller,
    question: &crate::question::Question,
) -> Response {
    let Some(account) = question.account.or_else(|| acting(principal).map(|a| a.0)) else {
        return forbidden(
            domain::Why::NotInAccount,
            "The user belongs to several accounts, or none: name the account",
        );
    };
    let Some(role) = principal.role_in(account) else {
        return not_in_account();
    };
    let decided = kw
        .decide(
            principal,
            account,
            question.permission.as_ref(),
            question.project.as_deref(),
            domain::time::now(),
        )
        .await;
    match decided {
        Ok(domain::Decision::Granted { project, access }) => {
            let mut response = principal_headers(caller, Some((account, role)));
            let headers = response.headers_mut();
            if let Some(found) = &project
                && let Ok(value) = HeaderValue::from_str(&found.global_id)
            {
                headers.insert(HeaderName::from_static("x-keywarden-project"), value);
            }
            if question.include_permissions
                && let Ok(value) =
                    HeaderValue::from_str(&held_list(&access.held(project.as_ref().map(|p| p.id))))
            {
                headers.insert(HeaderName::from_static("x-keywarden-permissions"), value);
            }
            response
        }
        Ok(domain::Decision::Refused(why)) => forbidden(
            why,
            match why {
                domain::Why::NotInAccount => "The credential does not act in the required account",
                domain::Why::UnknownProject => "The account has no such project",
                domain::Why::NotHeld => "The credential does not hold the permission there",
            },
        ),
        Err(e) => {
            tracing::error!(error = %e, "permission check failed");
            (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE).into_response()
        }
    }
}

/// The permissions held, as the response header lists them: `*` for
/// every one, otherwise their names, sorted, with spaces between.
fn held_list(held: &domain::Held<'_>) -> String {
    match held {
        domain::Held::Every => "*".to_owned(),
        domain::Held::Listed(names) => names.iter().copied().collect::<Vec<_>>().join(" "),
    }
}

/// The account and role a credential acts with when none is named: a service
/// account's own, or that of a user who belongs to exactly one account.
fn acting(principal: &Principal) -> Option<(domain::ids::AccountId, domain::Role)> {
    match principal {
        Principal::ServiceAccount(s) => Some((s.account_id, s.role)),
        Principal::User(u) => match u.memberships.as_slice() {
            [only] => Some((only.account_id, only.role)),
            _ => None,
        },
    }
}

/// The answer for a good credential when no account is named: the account and
/// role are those of a service account, or of a user who belongs to exactly
/// one account.
fn verified(principal: &Principal, caller: &Caller) -> Response {
    principal_headers(caller, acting(principal))
}

/// 200 with who the caller is and, when known, the account it acts in and
/// its role there.
fn principal_headers(
    caller: &Caller,
    acting: Option<(domain::ids::AccountId, domain::Role)>,
) -> Response {
    let mut out = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            out.insert(HeaderName::from_static(name), v);
        }
    };
    put("x-keywarden-principal", caller.0.clone());
    if let Some((account, role)) = acting {
        put(
            "x-keywarden-account",
            domain::object_id::encode("Account", account.0),
        );
        put("x-keywarden-role", role.code().to_owned());
    }
    (StatusCode::OK, out).into_response()
}
