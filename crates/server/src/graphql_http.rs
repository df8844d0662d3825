//! GraphQL over HTTP: `GET` and `POST /graphql`, and the media types asked
//! for and answered.

use std::sync::Arc;

use async_graphql::{BatchRequest, BatchResponse};
use async_graphql_axum::GraphQLBatchRequest;
use async_graphql_axum::rejection::GraphQLRejection;
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use graphql::error::Code;

use crate::auth::CredentialHeaders;
use crate::error_body::graphql_error;
use crate::observe::Requested;
use crate::request::{caller_of, graphql_refusal, identify, read_body, requested};
use crate::state::AppState;

/// A GraphQL request sent by `GET` (GraphQL over HTTP): `query`, and
/// optionally `variables` (JSON) and `operationName`, in the URL.
#[derive(serde::Deserialize)]
pub(crate) struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
}

/// Whether the client asks for a page rather than data: a browser's
/// navigation accepts `text/html`.
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
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
pub(crate) fn is_mutation(query: &str, operation: Option<&str>) -> bool {
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
pub(crate) async fn graphql_get(State(state): State<Arc<AppState>>, request: Request) -> Response {
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

/// Puts the request's id in every error's extensions.
pub(crate) fn tag_errors(response: &mut async_graphql::Response, request_id: &str) {
    for error in &mut response.errors {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("requestId", request_id);
    }
}

pub(crate) async fn graphql_request(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Response {
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
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
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
pub(crate) enum Format {
    Json,
    GraphqlResponse,
}

pub(crate) const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

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
pub(crate) async fn answer(
    state: &AppState,
    requested: &Requested,
    credential: &CredentialHeaders,
    batch: BatchRequest,
    format: Format,
) -> Response {
    format.write(execute(state, requested, credential, batch).await)
}

pub(crate) async fn execute(
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
    let client = credential.client(requested.client);
    let (schema, batch) = match identify(state, client, credential.presented()).await {
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
pub(crate) fn without_data_where_rejected(
    response: &BatchResponse,
    rejected: &[bool],
) -> serde_json::Value {
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
