//! Authentication at the edge: which credential a request presents.
//!
//! The credential is read from `x-api-key` first, then from `Authorization` with
//! the scheme `Bearer`, `ApiKey` or `Key`. A header that is there but unusable (no
//! token, an unknown scheme, bytes no token has) counts as a presented credential
//! that is malformed, not as no credential. Either header given twice with
//! different values is ambiguous: which one a proxy or a server would take
//! differs, so the request is refused rather than one of them picked.

use std::net::IpAddr;

use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue};
use domain::Client;

/// What a request carries.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented<'a> {
    Nothing,
    Token(&'a str),
    /// A credential header that holds nothing we could verify.
    Unusable,
    /// The same credential header twice, with different values.
    Ambiguous,
}

const SCHEMES: [&str; 3] = ["Bearer", "ApiKey", "Key"];

/// The client of a request with these headers from `address`, as
/// verification records its use.
pub fn client_of(headers: &HeaderMap, address: Option<IpAddr>) -> Client<'_> {
    client(address, headers.get(USER_AGENT))
}

/// A client at `address` whose `User-Agent` is `agent` (none when it is not
/// visible ASCII).
fn client(address: Option<IpAddr>, agent: Option<&HeaderValue>) -> Client<'_> {
    Client {
        address,
        agent: agent.and_then(|v| v.to_str().ok()),
    }
}

pub fn presented(headers: &HeaderMap) -> Presented<'_> {
    if ambiguous(headers) {
        return Presented::Ambiguous;
    }
    from_values(headers.get("x-api-key"), headers.get(AUTHORIZATION))
}

/// Whether either credential header comes more than once with different values.
fn ambiguous(headers: &HeaderMap) -> bool {
    ["x-api-key", AUTHORIZATION.as_str()].iter().any(|name| {
        let mut values = headers.get_all(*name).iter();
        let first = values.next();
        values.any(|v| Some(v) != first)
    })
}

/// The two headers a credential may come in, and the `User-Agent` its use is
/// recorded with, kept apart from the rest of the request (a cheap copy: the
/// values share the request's buffer).
#[derive(Debug)]
pub struct CredentialHeaders {
    api_key: Option<HeaderValue>,
    authorization: Option<HeaderValue>,
    user_agent: Option<HeaderValue>,
    ambiguous: bool,
}

impl CredentialHeaders {
    pub fn of(headers: &HeaderMap) -> Self {
        Self {
            api_key: headers.get("x-api-key").cloned(),
            authorization: headers.get(AUTHORIZATION).cloned(),
            user_agent: headers.get(USER_AGENT).cloned(),
            ambiguous: ambiguous(headers),
        }
    }

    /// The request's client as verification records its use.
    pub fn client(&self, address: Option<IpAddr>) -> Client<'_> {
        client(address, self.user_agent.as_ref())
    }

    pub fn presented(&self) -> Presented<'_> {
        if self.ambiguous {
            return Presented::Ambiguous;
        }
        from_values(self.api_key.as_ref(), self.authorization.as_ref())
    }
}

fn from_values<'a>(
    api_key: Option<&'a HeaderValue>,
    authorization: Option<&'a HeaderValue>,
) -> Presented<'a> {
    if let Some(value) = api_key {
        return match value.to_str() {
            Ok(token) if !token.trim().is_empty() => Presented::Token(token.trim()),
            _ => Presented::Unusable,
        };
    }
    let Some(value) = authorization else {
        return Presented::Nothing;
    };
    let Ok(value) = value.to_str() else {
        return Presented::Unusable;
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return Presented::Unusable;
    };
    let token = token.trim();
    if token.is_empty() || !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Presented::Unusable;
    }
    Presented::Token(token)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn x_api_key_comes_first_then_the_authorization_schemes() {
        let both = headers(&[("x-api-key", "lmr_a"), ("authorization", "Bearer lmr_b")]);
        assert_eq!(presented(&both), Presented::Token("lmr_a"));
        for (value, token) in [
            ("Bearer t1", "t1"),
            ("ApiKey t2", "t2"),
            ("Key t3", "t3"),
            ("bearer t4", "t4"),
        ] {
            let h = headers(&[("authorization", value)]);
            assert_eq!(presented(&h), Presented::Token(token), "{value}");
        }
    }

    #[test]
    fn unusable_credential_headers_are_not_taken_for_no_credential() {
        for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "token"] {
            let h = headers(&[("authorization", value)]);
            assert_eq!(presented(&h), Presented::Unusable, "{value}");
        }
        assert_eq!(
            presented(&headers(&[("x-api-key", " ")])),
            Presented::Unusable
        );
        assert_eq!(presented(&HeaderMap::new()), Presented::Nothing);
    }

    #[test]
    fn a_credential_header_twice_with_different_values_is_ambiguous() {
        for pairs in [
            &[("x-api-key", "lmr_a"), ("x-api-key", "lmr_b")][..],
            &[
                ("authorization", "Bearer lmr_a"),
                ("authorization", "Bearer lmr_b"),
            ][..],
            &[
                ("authorization", "Bearer lmr_a"),
                ("authorization", "Key lmr_a"),
            ][..],
            &[
                ("x-api-key", "lmr_a"),
                ("authorization", "Bearer lmr_c"),
                ("authorization", "Key lmr_d"),
            ][..],
        ] {
            assert_eq!(
                presented(&headers(pairs)),
                Presented::Ambiguous,
                "{pairs:?}"
            );
        }
        // The same value twice says one thing.
        let twice = headers(&[("x-api-key", "lmr_a"), ("x-api-key", "lmr_a")]);
        assert_eq!(presented(&twice), Presented::Token("lmr_a"));
        // One of each header keeps the documented order.
        let both = headers(&[("x-api-key", "lmr_a"), ("authorization", "Bearer lmr_b")]);
        assert_eq!(presented(&both), Presented::Token("lmr_a"));
    }

    #[test]
    fn the_kept_headers_present_what_the_request_did() {
        for pairs in [
            &[("x-api-key", "lmr_a"), ("x-api-key", "lmr_b")][..],
            &[("x-api-key", "lmr_a"), ("authorization", "Bearer lmr_b")][..],
            &[("authorization", "Key lmr_c"), ("accept", "lmr_d")][..],
            &[("authorization", "Basic dXNlcjpwYXNz")][..],
            &[("accept", "*/*")][..],
        ] {
            let h = headers(pairs);
            assert_eq!(
                CredentialHeaders::of(&h).presented(),
                presented(&h),
                "{pairs:?}"
            );
        }
    }
}
