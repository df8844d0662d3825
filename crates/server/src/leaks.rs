//! Reports of leaked credentials (docs/secret-scanning.md):
//! - `POST /v1/secret-scanning/github`: GitHub's secret scanning partner
//!   program, signed with GitHub's keys;
//! - `POST /v1/secret-scanning/scanner`: the same body and signature from an
//!   organisation's own scanner, signed with a key the operator gives;
//! - `POST /v1/secret-scanning/github-webhook`: GitHub's
//!   `secret_scanning_alert` webhook of custom patterns, signed with the
//!   webhook's secret;
//! - `POST /v1/leaks`: anyone who holds a token, with no credential and no
//!   signature, answered alike whatever the token.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{LeakReport, Reporter};
use graphql::error::Code;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error_body::graphql_error;
use crate::request::{domain_refusal, read_body, requested};
use crate::scanning::{Delivery, KeySource, Refused, hub_signed, read_secret};
use crate::state::AppState;

/// The headers GitHub signs a report with; own scanners send the same.
const KEY_IDENTIFIER: &str = "github-public-key-identifier";
const SIGNATURE: &str = "github-public-key-signature";

/// The most matches one report may hold (GitHub sends far fewer).
pub const MAX_MATCHES: usize = 10_000;
/// The longest `type` echoed back.
const MAX_TYPE: usize = 128;

/// One match of GitHub's body. Fields GitHub may add are ignored.
#[derive(Deserialize)]
struct Match {
    token: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// One entry of GitHub's feedback: the token by its SHA-256, never itself.
#[derive(Serialize)]
struct Feedback {
    token_hash: String,
    token_type: String,
    label: &'static str,
}

pub(crate) async fn github(State(state): State<Arc<AppState>>, request: Request) -> Response {
    signed(
        &state,
        &state.scanning.github,
        |_| Reporter::GitHub,
        request,
    )
    .await
}

pub(crate) async fn scanner(State(state): State<Arc<AppState>>, request: Request) -> Response {
    signed(
        &state,
        &state.scanning.scanners,
        |identifier| Reporter::Scanner(identifier.to_owned()),
        request,
    )
    .await
}

/// A signed batch of matches: checked, answered one by one, in order.
async fn signed(
    state: &AppState,
    keys: &KeySource,
    reporter: impl Fn(&str) -> Reporter,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = requested(&parts).id;
    let request_id = request_id.to_str().unwrap_or("none");
    let Some(keys) = keys.keys() else {
        return graphql_error(
            StatusCode::NOT_FOUND,
            Code::EntityNotFound.as_str(),
            "This server takes no reports of this kind: no signing keys are configured (docs/secret-scanning.md)",
            request_id,
        );
    };
    let body = match read_body(&state.limits, &parts.headers, body, request_id).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let (identifier, signature) = match (
        header(&parts.headers, KEY_IDENTIFIER),
        header(&parts.headers, SIGNATURE),
    ) {
        (Some(identifier), Some(signature)) => (identifier, signature),
        _ => return unsigned(Refused::Missing, request_id),
    };
    if let Err(refused) = keys.check(identifier, signature, &body) {
        tracing::info!(
            key = identifier,
            ?refused,
            "a secret-scanning report is refused"
        );
        return unsigned(refused, request_id);
    }
    let matches: Vec<Match> = match serde_json::from_slice(&body) {
        Ok(matches) => matches,
        Err(e) => {
            return graphql_error(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput.as_str(),
                &format!(
                    "The body is not a JSON array of matches ({{\"token\", \"type\", \"url\", \"source\"}}): {e}"
                ),
                request_id,
            );
        }
    };
    if matches.len() > MAX_MATCHES {
        return graphql_error(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput.as_str(),
            &format!("A report may hold at most {MAX_MATCHES} matches"),
            request_id,
        );
    }
    let reports: Vec<LeakReport> = matches
        .iter()
        .map(|m| LeakReport {
            token: m.token.clone(),
            url: m.url.clone(),
            // GitHub's values, in whatever case they came.
            source: m.source.as_deref().map(str::to_ascii_lowercase),
        })
        .collect();
    let reporter = reporter(identifier);
    let labels = match state
        .kw
        .report_leaks(&reporter, &reports, domain::time::now())
        .await
    {
        Ok(labels) => labels,
        Err(e) => return domain_refusal(e, request_id),
    };
    let found = labels
        .iter()
        .filter(|l| **l == domain::LeakLabel::TruePositive)
        .count();
    tracing::info!(
        reporter = %reporter.stored(),
        matches = matches.len(),
        found,
        "answered a secret-scanning report"
    );
    let feedback: Vec<Feedback> = matches
        .iter()
        .zip(labels)
        .map(|(m, label)| Feedback {
            token_hash: hex(&Sha256::digest(m.token.as_bytes())),
            token_type: m
                .kind
                .as_deref()
                .map(|k| cut(k, MAX_TYPE).to_owned())
                .unwrap_or_default(),
            label: label.code(),
        })
        .collect();
    Json(feedback).into_response()
}

/// A holder's report: `{"token": "..."}`.
#[derive(Deserialize)]
struct HolderReport {
    token: String,
}

pub(crate) async fn holder(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = requested(&parts).id;
    let request_id = request_id.to_str().unwrap_or("none");
    let body = match read_body(&state.limits, &parts.headers, body, request_id).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let report: HolderReport = match serde_json::from_slice(&body) {
        Ok(report) => report,
        Err(_) => {
            return graphql_error(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput.as_str(),
                "The body must be {\"token\": \"...\"}",
                request_id,
            );
        }
    };
    match state
        .kw
        .report_leak_as_holder(&report.token, domain::time::now())
        .await
    {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "received": true, "message": domain::HOLDER_ANSWER })),
        )
            .into_response(),
        Err(e) => domain_refusal(e, request_id),
    }
}

/// What every delivery that is signed is told.
fn received() -> Response {
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "received": true })),
    )
        .into_response()
}

/// `POST /v1/secret-scanning/github-webhook`.
pub(crate) async fn github_webhook(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = requested(&parts).id;
    let request_id = request_id.to_str().unwrap_or("none");
    let config = &state.custom_patterns;
    let Some(secret) = &config.secret else {
        return graphql_error(
            StatusCode::NOT_FOUND,
            Code::EntityNotFound.as_str(),
            "This server takes no webhook deliveries: no webhook secret is configured (docs/secret-scanning.md)",
            request_id,
        );
    };
    let body = match read_body(&state.limits, &parts.headers, body, request_id).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    if !hub_signed(secret, &body, header(&parts.headers, "x-hub-signature-256")) {
        return graphql_error(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated.as_str(),
            "The delivery's X-Hub-Signature-256 is missing or does not match its body",
            request_id,
        );
    }
    match header(&parts.headers, "x-github-event") {
        Some("ping") => {
            return (StatusCode::OK, Json(serde_json::json!({ "ok": true }))).into_response();
        }
        Some("secret_scanning_alert") => {}
        other => {
            tracing::info!(
                event = other.unwrap_or(""),
                "a webhook delivery of another event is ignored"
            );
            return received();
        }
    }
    let delivery: Delivery = match serde_json::from_slice(&body) {
        Ok(delivery) => delivery,
        Err(e) => {
            return graphql_error(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput.as_str(),
                &format!("The delivery is not a secret_scanning_alert event: {e}"),
                request_id,
            );
        }
    };
    let Some(alert) = delivery.alert.filter(|_| delivery.action == "created") else {
        return received();
    };
    let token = match alert.secret {
        Some(secret) => secret,
        None => match read_secret(config, alert.url.as_deref()).await {
            Ok(secret) => secret,
            Err(why) => {
                tracing::warn!(%why, "the alert's secret could not be read: nothing was reported");
                // GitHub retries a delivery answered with an error.
                return graphql_error(
                    StatusCode::BAD_GATEWAY,
                    Code::Internal.as_str(),
                    "The alert could not be read from GitHub",
                    request_id,
                );
            }
        },
    };
    let report = LeakReport {
        token,
        url: alert.html_url,
        source: Some("secret_scanning_alert".to_owned()),
    };
    match state
        .kw
        .report_leak(&Reporter::GitHubWebhook, &report, domain::time::now())
        .await
    {
        Ok(label) => {
            tracing::info!(label = label.code(), "answered a custom-pattern alert");
            received()
        }
        Err(e) => domain_refusal(e, request_id),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

fn unsigned(refused: Refused, request_id: &str) -> Response {
    graphql_error(
        StatusCode::UNAUTHORIZED,
        Code::Unauthenticated.as_str(),
        refused.message(),
        request_id,
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cut(text: &str, max: usize) -> &str {
    &text[..text.floor_char_boundary(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_answered_by_the_hex_of_its_sha256() {
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_echoed_type_is_cut_at_a_character() {
        assert_eq!(cut("ab", 5), "ab");
        assert_eq!(cut("aé", 2), "a");
    }
}
