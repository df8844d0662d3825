//! Reading a request: its body within the limits, and who sent it (the
//! credential it presents, verified, or why it is refused). A refusal is
//! answered here, with its headers and a coded GraphQL error body
//! ([`crate::error_body`]): the one conversion point of the HTTP transport.

use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use domain::{AuthError, Client, Principal};
use graphql::error::{Code, INTERNAL_MESSAGE, UNAUTHENTICATED_MESSAGE};

use crate::auth::Presented;
use crate::error_body::graphql_error;
use crate::observe::{Caller, Requested};
use crate::state::{AppState, HttpLimits};
use crate::telemetry::Outcome;
use crate::throttle::retry_after_seconds;

/// What the observing middleware put on the request (it runs around every
/// route, so it is always there).
pub(crate) fn requested(parts: &Parts) -> Requested {
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
pub(crate) async fn read_body(
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

pub(crate) fn too_large(limit: usize, request_id: &str) -> Response {
    graphql_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        Code::PayloadTooLarge.as_str(),
        &format!("The body is over {limit} bytes"),
        request_id,
    )
}

pub(crate) const CHALLENGE: &str = r#"Bearer realm="keywarden""#;

/// Why a request's credential did not let it in.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// More than one credential, and they differ.
    Ambiguous,
    Unauthenticated,
    /// A good credential from an address its ranges do not allow: its
    /// owner's misconfiguration, not a guess, so neither throttled nor
    /// answered as unknown.
    Address,
    RateLimited(Duration),
    Internal,
}

/// The header that says why a good credential was refused.
pub(crate) const REASON_HEADER: HeaderName = HeaderName::from_static("x-keywarden-reason");

/// What [`REASON_HEADER`] says of [`Refusal::Address`].
pub(crate) const ADDRESS_REASON: &str = "address-not-allowed";

pub(crate) const ADDRESS_MESSAGE: &str = "The credential does not work from this address: its account's, service account's or own address ranges do not include it.";

/// The caller of a request: `None` when it presents no credential.
pub(crate) async fn identify(
    state: &AppState,
    client: Client<'_>,
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
        Some(token) => {
            state
                .kw
                .authenticate_from(token, client, domain::time::now())
                .await
        }
        None => Err(AuthError::Malformed(domain::TokenError::Prefix)),
    };
    match outcome {
        Ok(principal) => {
            state.telemetry.verification(Outcome::Ok);
            Ok(Some(principal))
        }
        Err(AuthError::Address) => {
            state.telemetry.verification(Outcome::Address);
            let client = client.address.map(tracing::field::display);
            tracing::info!(client, "credential refused: not from this address");
            Err(Refusal::Address)
        }
        Err(AuthError::Db(e)) => {
            state.telemetry.verification(Outcome::Error);
            tracing::error!(error = %e, "credential lookup failed");
            Err(Refusal::Internal)
        }
        Err(reason) => {
            let throttled = client.address.and_then(|a| {
                state
                    .throttle
                    .cooling_down(a)
                    .or_else(|| state.throttle.refused(a))
            });
            let client = client.address.map(tracing::field::display);
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
pub(crate) fn caller_of(principal: &Principal) -> Caller {
    Caller(match principal {
        Principal::ServiceAccount(s) => {
            domain::object_id::encode("ServiceAccount", s.service_account_id.0)
        }
        Principal::User(u) => domain::object_id::encode("User", u.user_id.0),
    })
}

pub(crate) fn with_refusal_headers(mut response: Response, refusal: &Refusal) -> Response {
    let headers = response.headers_mut();
    match refusal {
        Refusal::Unauthenticated => {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        }
        Refusal::RateLimited(wait) => {
            headers.insert(RETRY_AFTER, HeaderValue::from(retry_after_seconds(*wait)));
        }
        Refusal::Address => {
            headers.insert(REASON_HEADER, HeaderValue::from_static(ADDRESS_REASON));
        }
        Refusal::Internal | Refusal::Ambiguous => {}
    }
    response
}

pub(crate) const AMBIGUOUS_CODE: &str = Code::AmbiguousCredentials.as_str();

pub(crate) const AMBIGUOUS_MESSAGE: &str = "The request carries two different credentials in one header: send one x-api-key or one Authorization header.";

pub(crate) fn graphql_refusal(refusal: Refusal, request_id: &str) -> Response {
    let (status, code, message) = match &refusal {
        Refusal::Ambiguous => (StatusCode::BAD_REQUEST, AMBIGUOUS_CODE, AMBIGUOUS_MESSAGE),
        Refusal::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated.as_str(),
            UNAUTHENTICATED_MESSAGE,
        ),
        Refusal::Address => (
            StatusCode::FORBIDDEN,
            Code::AddressNotAllowed.as_str(),
            ADDRESS_MESSAGE,
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

/// A domain error met outside GraphQL, answered with the code and message
/// GraphQL gives it (`graphql::error::api`, which logs what is internal) and
/// the status that code has over HTTP.
pub(crate) fn domain_refusal(e: domain::DomainError, request_id: &str) -> Response {
    let error = graphql::error::api(e);
    let code = error
        .extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .and_then(|v| match v {
            async_graphql::Value::String(code) => Some(code.clone()),
            _ => None,
        })
        .unwrap_or_else(|| Code::Internal.as_str().to_owned());
    let status = match code.as_str() {
        c if c == Code::LimitExceeded.as_str() => StatusCode::TOO_MANY_REQUESTS,
        c if c == Code::BadUserInput.as_str() => StatusCode::BAD_REQUEST,
        c if c == Code::EntityNotFound.as_str() => StatusCode::NOT_FOUND,
        c if c == Code::Unauthorized.as_str() => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut response = graphql_error(status, &code, &error.message, request_id);
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("60"));
    }
    response
}
