//! What happens around every request: its id, its client, its access log line
//! and its metrics.
//!
//! The id is the incoming `X-Request-Id` when it is a sensible one (1 to 128
//! visible ASCII characters), otherwise one made here; it goes back in the
//! response's `X-Request-Id`, in the access line, in GraphQL error extensions
//! and in the audit events the request writes, so that one id finds all four.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::client::ClientResolver;
use crate::telemetry::Telemetry;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The longest incoming request id kept.
const MAX_REQUEST_ID: usize = 128;

/// What the middleware needs: who clients are, and where to count.
#[derive(Clone, Debug)]
pub struct Observer {
    pub clients: ClientResolver,
    pub telemetry: Telemetry,
}

/// What every handler may know about its request.
#[derive(Clone, Debug)]
pub struct Requested {
    pub id: HeaderValue,
    /// The client: the connection's peer, or whom a trusted proxy forwarded for.
    pub client: Option<IpAddr>,
}

impl Requested {
    pub fn id(&self) -> &str {
        // Only visible ASCII is ever kept or made (see `request_id`).
        self.id.to_str().unwrap_or_default()
    }
}

/// Who made a request, set on the response by the handler that identified
/// them, for the access line: an object id, never a credential.
#[derive(Clone, Debug)]
pub struct Caller(pub String);

/// The incoming id if it is a sensible one, otherwise a new one.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    let incoming = headers.get(&REQUEST_ID).filter(|v| {
        let bytes = v.as_bytes();
        (1..=MAX_REQUEST_ID).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic())
    });
    match incoming {
        Some(id) => id.clone(),
        None => {
            // Hex by hand: this runs on every request, and `format!` costs
            // several times as much.
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let random = rand::random::<u128>().to_be_bytes();
            let mut made = [0u8; 32];
            for (pair, byte) in made.chunks_exact_mut(2).zip(random) {
                pair.copy_from_slice(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
            }
            HeaderValue::from_bytes(&made).unwrap_or(HeaderValue::from_static("unknown"))
        }
    }
}

/// The middleware every route runs in.
pub async fn observe(
    State(state): State<Arc<Observer>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let client = peer.map(|peer| state.clients.client(peer, request.headers()));
    let requested = Requested {
        id: request_id(request.headers()),
        client,
    };
    // A route's template, never the path itself: the set of values is the
    // set of routes, and a path can carry what a log should not.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| route_label(m.as_str()));
    let method = request.method().clone();
    request.extensions_mut().insert(requested.clone());
    let origin = domain::Origin {
        client,
        request_id: Some(requested.id().to_owned()),
    };
    let mut response = origin.within(next.run(request)).await;
    let elapsed = started.elapsed();
    let status = response.status();
    response
        .headers_mut()
        .insert(REQUEST_ID, requested.id.clone());
    state.telemetry.request(route, status, elapsed);
    let caller = response.extensions().get::<Caller>().map(|c| c.0.as_str());
    tracing::info!(
        target: "keywarden::access",
        request_id = requested.id(),
        method = method.as_str(),
        route,
        status = status.as_u16(),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        client = client.map(tracing::field::display),
        caller,
        "request"
    );
    response
}

/// The routes, as labels: one per route, whatever path a request took to it.
fn route_label(template: &str) -> &'static str {
    match template {
        "/graphql" => "/graphql",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        "/v1/verify" | "/v1/verify/" | "/v1/verify/{*path}" => "/v1/verify",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sensible_incoming_id_is_kept_and_any_other_replaced() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_static("abc-123_XYZ.7"));
        assert_eq!(request_id(&h), "abc-123_XYZ.7");
        let long = "a".repeat(MAX_REQUEST_ID);
        h.insert(
            REQUEST_ID,
            HeaderValue::from_str(&long).unwrap_or(HeaderValue::from_static("")),
        );
        assert_eq!(request_id(&h), long.as_str(), "128 characters are kept");
        for bad in ["", "has space", &"a".repeat(MAX_REQUEST_ID + 1)] {
            h.insert(
                REQUEST_ID,
                HeaderValue::from_str(bad).unwrap_or(HeaderValue::from_static("")),
            );
            let made = request_id(&h);
            assert_ne!(made, bad, "{bad:?}");
            assert_eq!(made.len(), 32);
            assert!(made.as_bytes().iter().all(u8::is_ascii_hexdigit));
        }
        let other = request_id(&HeaderMap::new());
        assert_ne!(other, request_id(&HeaderMap::new()), "each made id is new");
    }

    #[test]
    fn every_route_has_its_own_label_and_nothing_else_gets_one() {
        assert_eq!(route_label("/v1/verify/{*path}"), "/v1/verify");
        assert_eq!(route_label("/v1/verify"), "/v1/verify");
        assert_eq!(route_label("/graphql"), "/graphql");
        assert_eq!(route_label("/anything"), "other");
        // Every label is one the metrics count by.
        for template in [
            "/graphql",
            "/healthz",
            "/readyz",
            "/metrics",
            "/v1/verify",
            "/v1/verify/",
            "/v1/verify/{*path}",
            "/x",
        ] {
            assert!(
                crate::telemetry::ROUTES.contains(&route_label(template)),
                "{template}"
            );
        }
    }
}
