//! The pages the server serves to browsers: the console at `/console` and
//! GraphiQL at `GET /graphql`, with the scripts and styles they load under
//! `/assets/`. All of them are built from `console/` by the build script and
//! embedded in the binary, so a browser never loads anything from another
//! origin, and the policy the pages carry says that it must not.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// What a page may load and who may frame it: scripts, styles and requests
/// from this origin only, no inline script or style, images and fonts from
/// this origin or inlined in the stylesheet, no forms sent anywhere, and no
/// framing (clickjacking).
pub const CONTENT_SECURITY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

const CROSS_ORIGIN_OPENER_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-opener-policy");

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! built {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!(env!("OUT_DIR"), "/console/", $name)),
        }
    };
}

static ASSETS: [Asset; 6] = [
    built!("console.html", "text/html; charset=utf-8"),
    built!("console.js", "text/javascript; charset=utf-8"),
    built!("console.css", "text/css; charset=utf-8"),
    built!("graphiql.html", "text/html; charset=utf-8"),
    built!("graphiql.js", "text/javascript; charset=utf-8"),
    built!("graphiql.css", "text/css; charset=utf-8"),
];

/// Each asset's entity tag: a digest of its bytes, so that a browser
/// revalidates cheaply and never keeps a file an upgrade replaced.
static TAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let mut hasher = DefaultHasher::new();
            asset.body.hash(&mut hasher);
            HeaderValue::try_from(format!("\"{:016x}\"", hasher.finish()))
                .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
        })
        .collect()
});

/// `/`: the console is the home page.
pub async fn home() -> Response {
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, HeaderValue::from_static("/console"))],
    )
        .into_response()
}

/// `/console`: the console's one page (it routes by the URL's fragment).
pub async fn console(headers: HeaderMap) -> Response {
    serve("console.html", &headers)
}

/// GraphiQL, for a browser asking `/graphql` for a page.
pub fn graphiql(headers: &HeaderMap) -> Response {
    serve("graphiql.html", headers)
}

/// `/assets/{name}`: a script or stylesheet of the pages.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    if name.ends_with(".html") {
        return not_found();
    }
    serve(&name, &headers)
}

fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.name == name) else {
        return not_found();
    };
    let asset = &ASSETS[index];
    let tag = &TAGS[index];
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Revalidated on every use: the names carry no version.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(ETAG, tag.clone());
    if asset.name.ends_with(".html") {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY),
        );
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(
            CROSS_ORIGIN_OPENER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    let unchanged = request
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| candidate.trim() == tag);
    if unchanged {
        headers.remove(CONTENT_TYPE);
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, asset.body).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        "Not found.\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_asset_is_built_and_named_once() {
        for (i, asset) in ASSETS.iter().enumerate() {
            assert!(!asset.body.is_empty(), "{} is empty", asset.name);
            assert!(
                ASSETS[i + 1..].iter().all(|a| a.name != asset.name),
                "{} twice",
                asset.name
            );
        }
    }

    #[test]
    fn the_pages_load_nothing_from_another_origin() {
        for page in ASSETS.iter().filter(|a| a.name.ends_with(".html")) {
            let text = std::str::from_utf8(page.body).expect("pages are text");
            assert!(!text.contains("//"), "{} names another origin", page.name);
            assert!(
                !text.contains("<script>") && !text.contains("<style"),
                "{} has inline script or style",
                page.name
            );
        }
    }

    #[test]
    fn an_unchanged_asset_is_not_sent_again() {
        let first = serve("console.js", &HeaderMap::new());
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers()[ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(IF_NONE_MATCH, tag);
        assert_eq!(
            serve("console.js", &again).status(),
            StatusCode::NOT_MODIFIED
        );
        let mut stale = HeaderMap::new();
        stale.insert(IF_NONE_MATCH, HeaderValue::from_static("\"0\""));
        assert_eq!(serve("console.js", &stale).status(), StatusCode::OK);
    }
}
