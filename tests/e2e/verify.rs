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
    let text = server.metrics().await;
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
        value("keywarden_verifications_total{outcome=\"ok\"}"),
        Some("5".to_owned()),
        "{text}"
    );
    assert_eq!(
        value("keywarden_verifications_total{outcome=\"malformed\"}"),
        Some("1".to_owned()),
        "{text}"
    );
}

#[tokio::test]
async fn two_different_credentials_in_one_header_are_refused_as_ambiguous() {
    let api = crate::support::Api::start().await;
    let sa = api.service_account("ci", "Viewer").await;
    let (_, key) = api.key(&sa).await;
    let unknown = format!("lmr_pat_{}", "A".repeat(38));
    let http = client();
    for (name, first, second) in [
        ("x-api-key", key.clone(), api.admin.clone()),
        ("x-api-key", key.clone(), unknown.clone()),
        (
            "authorization",
            format!("Bearer {key}"),
            format!("Bearer {}", api.admin),
        ),
    ] {
        let answer = http
            .post(api.server.url("/graphql"))
            .header(name, &first)
            .header(name, &second)
            .json(&serde_json::json!({ "query": "{ me { id } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{name}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "AMBIGUOUS_CREDENTIALS"
        );
        let verify = http
            .get(api.server.url("/v1/verify"))
            .header(name, &first)
            .header(name, &second)
            .send()
            .await
            .unwrap();
        assert_eq!(verify.status(), 400, "{name}");
    }
    // The same credential twice is one credential.
    let twice = http
        .get(api.server.url("/v1/verify"))
        .header("x-api-key", &key)
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 200);
}

#[tokio::test]
async fn a_gateway_can_require_an_account_and_gets_403_outside_it() {
    use crate::support::ACCOUNT_715;
    let api = crate::support::Api::start().await;
    let sa = api.service_account("ci", "Editor").await;
    let (_, key) = api.key(&sa).await;
    let (other, gina) = api.other_account("Other", "gina").await;
    // A user in no account at all.
    let (_, lonely) = api.member(&gina, &other, "lonely", "Viewer").await;
    let lonely_id = api
        .gql(Some(&lonely), "{ me { id } }", serde_json::json!({}))
        .await
        .data()["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.gql(
        Some(&gina),
        "mutation($i: RemoveAccountMemberInput!) { removeAccountMember(input: $i) { accountMember { id } } }",
        serde_json::json!({ "i": { "accountId": other, "userId": lonely_id } }),
    )
    .await
    .data();
    let http = client();
    let verify = |token: &str, account: Option<(&str, &str)>| {
        let mut request = http
            .get(api.server.url("/v1/verify"))
            .header("x-api-key", token);
        match account {
            Some(("header", id)) => request = request.header("x-keywarden-require-account", id),
            Some((_, id)) => request = request.query(&[("account", id)]),
            None => {}
        }
        async move { request.send().await.unwrap() }
    };
    for how in ["header", "query"] {
        // In the account: 200 with that account and the role in it.
        let inside = verify(&key, Some((how, ACCOUNT_715))).await;
        assert_eq!(inside.status(), 200, "{how}");
        assert_eq!(inside.headers()["x-keywarden-account"], ACCOUNT_715);
        assert_eq!(inside.headers()["x-keywarden-role"], "Editor");
        let admin = verify(&api.admin, Some((how, ACCOUNT_715))).await;
        assert_eq!(admin.headers()["x-keywarden-role"], "Admin");
        // Not in it: 403, for a key of another account and for a user in none.
        assert_eq!(
            verify(&key, Some((how, &other))).await.status(),
            403,
            "{how}"
        );
        assert_eq!(
            verify(&lonely, Some((how, ACCOUNT_715))).await.status(),
            403
        );
        // Still 401 for a bad credential, and 400 for a name that is no account id.
        assert_eq!(
            verify("nonsense", Some((how, ACCOUNT_715))).await.status(),
            401
        );
        assert_eq!(verify(&key, Some((how, "not-an-id"))).await.status(), 400);
    }
    // Without a named account, a user in none is known but speaks for no account.
    let unnamed = verify(&lonely, None).await;
    assert_eq!(unnamed.status(), 200);
    assert!(!unnamed.headers().contains_key("x-keywarden-account"));
}
