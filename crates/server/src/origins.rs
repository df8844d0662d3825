//! Which web origins may call the API from a browser.
//!
//! keywarden's own pages (the console, GraphiQL) are same-origin and always
//! answered. A request a browser sends from a page of another origin carries
//! an `Origin` header: it is answered, with the CORS headers that let the page
//! read the answer, only when the allowed-origins setting lists that origin,
//! and refused with 403 otherwise, preflights included, so that no other
//! site's script can make the API do anything. Requests without `Origin`
//! (curl, servers, gateways) are not browsers' cross-origin requests and pass.
//!
//! This applies to the routes browsers use (GraphQL and the pages). `/v1/verify`
//! is for gateways, which pass on the headers of the request they guard,
//! `Origin` included; its answers are not for browsers to read.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// An origin as browsers send it: `http` or `https`, a host, and a port when
/// it is not the scheme's default. Nothing else (no path, no wildcard).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedOrigin(String);

impl FromStr for AllowedOrigin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let given = s.trim();
        let wrong = || {
            format!(
                "{given:?} is not an origin: write it as a browser sends it, \
                 https://host or https://host:port, with no path"
            )
        };
        let (scheme, rest) = given.split_once("://").ok_or_else(wrong)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(wrong());
        }
        let authority = rest.strip_suffix('/').unwrap_or(rest).to_ascii_lowercase();
        let port_of = |p: &str| p.parse::<u16>().map_err(|_| wrong());
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (inside, after) = bracketed.split_once(']').ok_or_else(wrong)?;
            inside.parse::<std::net::Ipv6Addr>().map_err(|_| wrong())?;
            let port = match after {
                "" => None,
                after => Some(port_of(after.strip_prefix(':').ok_or_else(wrong)?)?),
            };
            (format!("[{inside}]"), port)
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port_of(port)?)),
                None => (authority.as_str(), None),
            };
            let named = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            if !named {
                return Err(wrong());
            }
            (host.to_owned(), port)
        };
        let default = if scheme == "https" { 443 } else { 80 };
        Ok(Self(match port {
            Some(port) if port != default => format!("{scheme}://{host}:{port}"),
            _ => format!("{scheme}://{host}"),
        }))
    }
}

impl AllowedOrigin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The setting, ready to be asked.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    allowed: Arc<[AllowedOrigin]>,
}

impl Origins {
    pub fn new(allowed: &[AllowedOrigin]) -> Self {
        Self {
            allowed: allowed.into(),
        }
    }

    fn allows(&self, origin: &str) -> bool {
        self.allowed.iter().any(|a| a.as_str() == origin)
    }

    /// The CORS answers for the allowed origins (preflights included), or
    /// `None` when none is allowed.
    pub fn cors(&self) -> Option<CorsLayer> {
        if self.allowed.is_empty() {
            return None;
        }
        let list: Vec<HeaderValue> = self
            .allowed
            .iter()
            .filter_map(|o| HeaderValue::from_str(o.as_str()).ok())
            .collect();
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(list))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([
                    axum::http::header::CONTENT_TYPE,
                    axum::http::header::AUTHORIZATION,
                    HeaderName::from_static("x-api-key"),
                    HeaderName::from_static("x-request-id"),
                ])
                .expose_headers([
                    HeaderName::from_static("x-request-id"),
                    axum::http::header::RETRY_AFTER,
                    axum::http::header::WWW_AUTHENTICATE,
                ])
                .max_age(Duration::from_secs(600)),
        )
    }
}

/// Whether `origin` is the origin the request was sent to, by its host and
/// port (the scheme is the proxy's business: behind one that ends TLS, the
/// browser's `https` reaches keywarden as `http`).
fn same_origin(origin: &str, request: &Request) -> bool {
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    let host = request
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    let Some(host) = host else {
        return false;
    };
    let default_port = if origin.starts_with("https://") {
        ":443"
    } else {
        ":80"
    };
    let host = host.strip_suffix(default_port).unwrap_or(host);
    authority.eq_ignore_ascii_case(host)
}

/// Refuses a browser's request from an origin that is neither this server's
/// nor allowed.
pub async fn guard(State(origins): State<Origins>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(ORIGIN) else {
        return next.run(request).await;
    };
    let origin = origin.to_str().unwrap_or("").to_owned();
    if same_origin(&origin, &request) || origins.allows(&origin) {
        return next.run(request).await;
    }
    tracing::info!(origin = %origin.escape_debug(), "a request from an origin that is not allowed");
    let id = request
        .extensions()
        .get::<crate::observe::Requested>()
        .map(|r| r.id().to_owned())
        .unwrap_or_default();
    crate::error_body::graphql_error(
        StatusCode::FORBIDDEN,
        graphql::error::Code::OriginNotAllowed.as_str(),
        &format!(
            "Requests from the origin {origin:?} are not allowed. keywarden answers its own \
             pages, and browsers' requests from the origins its allowed-origins setting \
             lists (--allowed-origins, KEYWARDEN_ALLOWED_ORIGINS)."
        ),
        &id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> Result<String, String> {
        s.parse::<AllowedOrigin>().map(|o| o.0)
    }

    #[test]
    fn origins_are_read_as_browsers_send_them() {
        assert_eq!(
            origin("https://App.Example.com").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            origin("https://app.example.com/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            origin("https://app.example.com:443").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(origin("http://[::1]:3000").unwrap(), "http://[::1]:3000");
        for wrong in [
            "app.example.com",
            "ftp://app.example.com",
            "https://app.example.com/path",
            "https://*.example.com",
            "https://",
            "https://host:99999",
            "*",
        ] {
            assert!(origin(wrong).is_err(), "{wrong} accepted");
        }
    }

    fn request(host: &str) -> Request {
        Request::builder()
            .uri("/graphql")
            .header(HOST, host)
            .body(axum::body::Body::empty())
            .unwrap()
    }

    #[test]
    fn a_page_of_this_server_is_same_origin_whatever_the_scheme() {
        assert!(same_origin(
            "http://127.0.0.1:8080",
            &request("127.0.0.1:8080")
        ));
        assert!(same_origin(
            "https://kw.example.com",
            &request("kw.example.com")
        ));
        assert!(same_origin(
            "https://kw.example.com",
            &request("kw.example.com:443")
        ));
        assert!(!same_origin(
            "http://127.0.0.1:8081",
            &request("127.0.0.1:8080")
        ));
        assert!(!same_origin(
            "https://evil.example",
            &request("kw.example.com")
        ));
        assert!(!same_origin("null", &request("kw.example.com")));
    }
}
