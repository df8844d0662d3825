//! The console and GraphiQL: served from the binary with a strict policy, the
//! API closed to other origins unless allowed, and every flow of the console
//! driven in a real browser (tests/browser/console.py).

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::header::{ACCEPT, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, ORIGIN};
use serde_json::json;

use crate::gateway::tool;
use crate::support::{Api, client};

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The paths of the scripts and stylesheets a page loads.
fn loaded(html: &str) -> Vec<String> {
    html.split(['"', '\''])
        .filter(|part| part.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_pages_and_all_they_load_come_from_the_binary_under_a_strict_policy() {
    let api = Api::start().await;
    let http = client();

    let home = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(api.server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/console");

    for (path, accept) in [("/console", "*/*"), ("/graphql", "text/html")] {
        let page = http
            .get(api.server.url(path))
            .header(ACCEPT, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let headers = page.headers().clone();
        assert_eq!(headers[CONTENT_SECURITY_POLICY], POLICY, "{path}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(
            headers[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = page.text().await.unwrap();
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{path}: {html}"
        );
        assert!(!html.contains("<script>"), "{path} has an inline script");
        let assets = loaded(&html);
        assert_eq!(
            assets.len(),
            2,
            "{path} loads a script and a stylesheet: {html}"
        );
        for asset in assets {
            let answer = http.get(api.server.url(&asset)).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{asset}");
            let kind = answer.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
            assert!(
                kind.starts_with("text/javascript") || kind.starts_with("text/css"),
                "{asset}: {kind}"
            );
            assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
            let tag = answer.headers()[ETAG].clone();
            let body = answer.bytes().await.unwrap();
            assert!(body.len() > 1000, "{asset} is built");
            let again = http
                .get(api.server.url(&asset))
                .header(IF_NONE_MATCH, tag)
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), 304, "{asset} revalidates");
            let compressed = http
                .get(api.server.url(&asset))
                .header("accept-encoding", "gzip")
                .send()
                .await
                .unwrap();
            assert_eq!(compressed.headers()["content-encoding"], "gzip", "{asset}");
            let sent = compressed.bytes().await.unwrap();
            assert!(
                sent.len() < body.len(),
                "{asset}: {} of {}",
                sent.len(),
                body.len()
            );
        }
    }

    // A GraphQL client asking /graphql for data still gets data, not a page.
    let data = http
        .get(api.server.url("/graphql?query=%7B__typename%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(data.status(), 200);
    assert!(data.text().await.unwrap().contains("Query"));

    for missing in [
        "/assets/nothing.js",
        "/assets/console.html",
        "/assets/..%2Fbuild.rs",
    ] {
        let answer = http.get(api.server.url(missing)).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{missing}");
    }
}

async fn post_from(api: &Api, origin: Option<&str>, token: &str) -> reqwest::Response {
    let mut request = client()
        .post(api.server.url("/graphql"))
        .header("x-api-key", token)
        .json(&json!({ "query": "{ me { id } }" }));
    if let Some(origin) = origin {
        request = request.header(ORIGIN, origin);
    }
    request.send().await.unwrap()
}

async fn preflight(api: &Api, origin: &str) -> reqwest::Response {
    client()
        .request(reqwest::Method::OPTIONS, api.server.url("/graphql"))
        .header(ORIGIN, origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-api-key")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_browser_on_another_origin_is_refused_unless_that_origin_is_allowed() {
    let api = Api::start_with(&["--allowed-origins", "https://app.example.com"]).await;
    let same = api.server.url("");

    // The server's own pages, and clients that are not browsers.
    assert_eq!(post_from(&api, Some(&same), &api.admin).await.status(), 200);
    assert_eq!(post_from(&api, None, &api.admin).await.status(), 200);

    // Another origin: refused, preflight and request, with the reason.
    let refused = post_from(&api, Some("https://evil.example"), &api.admin).await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "ORIGIN_NOT_ALLOWED"
    );
    assert_eq!(preflight(&api, "https://evil.example").await.status(), 403);
    assert_eq!(
        post_from(&api, Some("null"), &api.admin).await.status(),
        403,
        "a sandboxed page"
    );
    // A look-alike of the allowed origin is another origin.
    for other in [
        "https://app.example.com.evil.example",
        "http://app.example.com",
        "https://app.example.com:8443",
    ] {
        assert_eq!(
            post_from(&api, Some(other), &api.admin).await.status(),
            403,
            "{other}"
        );
    }

    // The allowed origin: preflight answered, the answer readable.
    let allowed = preflight(&api, "https://app.example.com").await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("x-api-key"), "{headers}");
    let answer = post_from(&api, Some("https://app.example.com"), &api.admin).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );

    // Gateways pass on the Origin of the request they guard: /v1/verify
    // answers them as ever.
    let verify = client()
        .get(api.server.url("/v1/verify"))
        .header("x-api-key", &api.admin)
        .header(ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(verify.status(), 200);
}

#[tokio::test]
async fn without_the_setting_no_other_origin_is_allowed() {
    let api = Api::start().await;
    let answer = post_from(&api, Some("https://app.example.com"), &api.admin).await;
    assert_eq!(answer.status(), 403);
    assert_eq!(
        preflight(&api, "https://app.example.com").await.status(),
        403
    );
}

#[test]
fn an_origin_that_is_not_one_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::support::run(
        dir.path(),
        &["serve", "--allowed-origins", "https://app.example.com/path"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not an origin"), "{stderr}");
}

/// A Python that can import Playwright and its axe-core checker:
/// `KEYWARDEN_TEST_PYTHON`, or `python3`.
fn playwright_python() -> Option<String> {
    let python = std::env::var("KEYWARDEN_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let works = Command::new(&python)
        .args(["-c", "import playwright.sync_api, axe_playwright_python"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        assert!(
            std::env::var_os("KEYWARDEN_TEST_REQUIRE_TOOLS").is_none(),
            "Playwright and axe-playwright-python are required (KEYWARDEN_TEST_REQUIRE_TOOLS \
             is set) but {python} cannot import them; set KEYWARDEN_TEST_PYTHON to a Python \
             that can"
        );
        eprintln!(
            "Playwright is not installed for {python}: skipping \
             (pip install playwright axe-playwright-python)"
        );
        return None;
    }
    Some(python)
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn the_console_in_a_browser() {
    let Some(chromium) = tool(
        "chromium",
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    ) else {
        return;
    };
    let Some(python) = playwright_python() else {
        return;
    };
    // Uses are written down every second, so that "last used" shows at once.
    let api = Api::start_with(&["--usage-flush-interval", "1"]).await;
    let (_, other_admin) = api.other_account("Globex", "gina").await;
    let mut command = Command::new(python);
    command
        .arg(repository().join("tests/browser/console.py"))
        .args(["--url", &api.server.url("")])
        .args(["--admin-token", &api.admin])
        .args(["--other-admin-token", &other_admin])
        .args(["--chromium", &chromium]);
    // The screenshots of docs/console are taken by this test.
    if std::env::var_os("KEYWARDEN_WRITE_DOCS").is_some() {
        command
            .arg("--screenshots")
            .arg(repository().join("docs/console"));
    }
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}\nserver log:\n{}",
        api.server.log()
    );
    assert!(stdout.contains("every flow passed"), "{stdout}");
    for secret in [&api.admin, &other_admin] {
        assert!(
            !api.server.log().contains(secret.as_str()),
            "a token reached the log"
        );
    }
}

#[tokio::test]
async fn what_the_console_reads_is_public_api_with_clear_refusals() {
    let api = Api::start_with(&["--usage-flush-interval", "1"]).await;
    let ci = api.service_account("ci-runner", "Editor").await;
    api.service_account("nightly_report", "Viewer").await;
    let (_, key) = api.key(&ci).await;
    assert_eq!(
        client()
            .get(api.server.url("/v1/verify"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Uses are written down every second here: wait until this one is.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let found = loop {
        let list = api
            .admin(
                "query($a: ObjectID!, $s: String) { getAccount(id: $a) { serviceAccounts(search: $s) { name keyUsage { activeKeys lastUsedAt } } } }",
                json!({ "a": crate::support::ACCOUNT_715, "s": "RUNNER" }),
            )
            .await;
        let found = list["getAccount"]["serviceAccounts"].clone();
        if !found[0]["keyUsage"]["lastUsedAt"].is_null() {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the use was never written down"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["name"], "ci-runner");
    assert_eq!(found[0]["keyUsage"]["activeKeys"], 1);
    assert!(
        crate::support::is_datetime(&found[0]["keyUsage"]["lastUsedAt"]),
        "{found}"
    );

    // The audit log's filter: refused with the reason when it cannot be read.
    let audit = "query($a: ObjectID!, $f: AuditEventFilter) { getAccount(id: $a) { auditEvents(last: 10, filter: $f) { totalCount nodes { action } } } }";
    let keys = api
        .admin(
            audit,
            json!({ "a": crate::support::ACCOUNT_715, "f": { "action": "service_account_key" } }),
        )
        .await;
    assert_eq!(keys["getAccount"]["auditEvents"]["totalCount"], 1);
    for (filter, says) in [
        (json!({ "action": "Service Account" }), "filter.action"),
        (
            json!({ "actorId": crate::support::ACCOUNT_715 }),
            "filter.actorId",
        ),
    ] {
        let refused = api
            .gql(
                Some(&api.admin),
                audit,
                json!({ "a": crate::support::ACCOUNT_715, "f": filter }),
            )
            .await;
        let (code, message) = refused.error();
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.contains(says), "{message}");
    }

    // One's own token events: for oneself only.
    api.gql(
        Some(&api.admin),
        "mutation { createPersonalAccessToken(input: { name: \"laptop\" }) { id secret } }",
        json!({}),
    )
    .await
    .data();
    let own = api
        .admin(
            "{ me { ... on User { auditEvents(last: 5) { nodes { action targetName } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        own["me"]["auditEvents"]["nodes"][0]["action"],
        "personal_access_token.create"
    );
    let (vic, _) = api
        .member(&api.admin, crate::support::ACCOUNT_715, "vic", "Viewer")
        .await;
    let others = api
        .gql(
            Some(&api.admin),
            "query($u: ObjectID!) { node(id: $u) { ... on User { auditEvents { totalCount } } } }",
            json!({ "u": vic }),
        )
        .await;
    assert!(
        others.body["data"]["node"]["auditEvents"].is_null(),
        "{:#}",
        others.body
    );
    assert_eq!(others.code(), "UNAUTHORIZED");
}
