//! `GET /v1/verify`, the gateway check, over real HTTP.

use crate::support::{Backend, Server, client};

#[tokio::test]
async fn every_documented_header_form_is_accepted_and_bad_credentials_get_401() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let server = Server::start(dir.path(), &backend.with(&[]));
    let token = server.banner_token().unwrap();
    let http = client();
    let verify = |name: &'static str, value: String| {
        let request = http.get(server.url("/v1/verify")).header(name, value);
        async move { request.send().await.unwrap() }
    };
    for (name, value) in [
        ("x-api-key", token.clone()),
        ("authorization", format!("Bearer {token}")),
        ("authorization", format!("ApiKey {token}")),
        ("authorization", format!("Key {token}")),
    ] {
        let response = verify(name, value.clone()).await;
        assert_eq!(response.status(), 200, "{name}: {value}");
        assert!(response.headers().contains_key("x-keywarden-principal"));
    }
    let unknown = format!("lmr_pat_{}", "A".repeat(38));
    let mut wrong_checksum = token.clone();
    wrong_checksum.pop();
    wrong_checksum.push(if token.ends_with('x') { 'y' } else { 'x' });
    for (name, value) in [
        ("x-api-key", unknown.clone()),
        ("x-api-key", wrong_checksum),
        ("x-api-key", "nonsense".to_owned()),
        ("authorization", "Basic dXNlcjpwYXNz".to_owned()),
        ("authorization", "Bearer".to_owned()),
    ] {
        let response = verify(name, value.clone()).await;
        assert_eq!(response.status(), 401, "{name}: {value}");
        assert!(
            response.headers().contains_key("www-authenticate"),
            "{value}"
        );
    }
    let none = http.get(server.url("/v1/verify")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(
        !server.log().contains(&unknown),
        "a presented token reached the log"
    );
}

#[tokio::test]
async fn metrics_count_credentials_and_last_used_writes() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let server = Server::start(dir.path(), &backend.with(&["--usage-flush-interval", "1"]));
    let token = server.banner_token().unwrap();
    let http = client();
    for _ in 0..5 {
        let response = http
            .get(server.url("/v1/verify"))
            .header("x-api-key", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let refused = http
        .get(server.url("/v1/verify"))
        .header("x-api-key", "nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // Five uses within a minute: one write, once the writer has run.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let text = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |line_start: &str| {
        text.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_owned)
    };
    assert_eq!(
        value("keywarden_last_used_writes_total"),
        Some("1".to_owned()),
        "{text}"
    );
    assert_eq!(
        value("keywarden_credentials_total{outcome=\"accepted\"}"),
        Some("5".to_owned()),
        "{text}"
    );
    assert_eq!(
        value("keywarden_credentials_total{outcome=\"refused\"}"),
        Some("1".to_owned()),
        "{text}"
    );
}
