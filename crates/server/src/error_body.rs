//! The body every refusal of the HTTP transport carries, for `/graphql` and
//! for the gateway's check alike: GraphQL-shaped, one coded error, and the
//! request's id to find it in the log.

use axum::Json;
use axum::response::{IntoResponse, Response};
use hyper::StatusCode;

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
