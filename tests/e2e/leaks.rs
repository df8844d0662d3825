//! Reports of leaked credentials over HTTP: GitHub's partner format (checked
//! against GitHub's own published example byte for byte), own scanners'
//! reports, holders' reports, and what each does to the credential on every
//! server.

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{ACCOUNT_715, Api, Server, client};

/// GitHub's example of a signed report, from its documentation of the secret
/// scanning partner program, made with a test key GitHub published for it.
const GITHUB_EXAMPLE_BODY: &str =
    r#"[{"token":"some_token","type":"some_type","url":"some_url","source":"some_source"}]"#;
const GITHUB_EXAMPLE_KEY_ID: &str =
    "f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d";
const GITHUB_EXAMPLE_SIGNATURE: &str = "MEUCIFLZzeK++IhS+y276SRk2Pe5LfDrfvTXu6iwKKcFGCrvAiEAhHN2kDOhy2I6eGkOFmxNkOJ+L2y8oQ9A2T9GGJo6WJY=";
const GITHUB_EXAMPLE_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsz9ugWDj5jK5ELBK42ynytbo38gP\nHzZFI03Exwz8Lh/tCfL3YxwMdLjB+bMznsanlhK0RwcGP3IDb34kQDIo3Q==\n-----END PUBLIC KEY-----\n";

fn signing_key() -> SigningKey {
    SigningKey::from_slice(&rand::random::<[u8; 32]>()).unwrap()
}

fn key_document(keys: &[(&str, &SigningKey)]) -> String {
    let mut public_keys = vec![json!({
        "key_identifier": GITHUB_EXAMPLE_KEY_ID,
        "key": GITHUB_EXAMPLE_PEM,
        "is_current": false,
    })];
    for (id, key) in keys {
        public_keys.push(json!({
            "key_identifier": id,
            "key": key.verifying_key().to_public_key_pem(LineEnding::LF).unwrap(),
            "is_current": true,
        }));
    }
    json!({ "public_keys": public_keys }).to_string()
}

fn sign(key: &SigningKey, body: &[u8]) -> String {
    let signature: Signature = key.sign(body);
    STANDARD.encode(signature.to_der().as_bytes())
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A server that takes GitHub's reports (keys in a file) and the scanners'
/// (keys in a setting).
struct Scanned {
    api: Api,
    github: SigningKey,
    scanner: SigningKey,
    keys_file: std::path::PathBuf,
    _keys_dir: tempfile::TempDir,
}

impl Scanned {
    async fn start() -> Scanned {
        let github = signing_key();
        let scanner = signing_key();
        let keys_dir = tempfile::tempdir().unwrap();
        let keys_file = keys_dir.path().join("github-keys.json");
        std::fs::write(&keys_file, key_document(&[("github-1", &github)])).unwrap();
        let scanners = key_document(&[("gitleaks-ci", &scanner)]);
        let api = Api::start_with(&[
            "--github-scanning-keys-file",
            keys_file.to_str().unwrap(),
            "--scanner-keys",
            &scanners,
        ])
        .await;
        Scanned {
            api,
            github,
            scanner,
            keys_file,
            _keys_dir: keys_dir,
        }
    }

    async fn send(&self, route: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
        let mut request = self
            .api
            .http
            .post(self.api.server.url(route))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn github_report(&self, key_id: &str, key: &SigningKey, body: &[u8]) -> (u16, Value) {
        let signature = sign(key, body);
        self.send(
            "/v1/secret-scanning/github",
            &[
                ("Github-Public-Key-Identifier", key_id),
                ("Github-Public-Key-Signature", &signature),
            ],
            body,
        )
        .await
    }

    async fn verify(&self, token: &str) -> u16 {
        self.api.server.verify_status(token).await
    }

    async fn key_leak(&self, key_id: &str) -> Value {
        self.api
            .admin(
                "query($id: ObjectID!) { node(id: $id) { ... on ServiceAccountKey { revokedAt leak { reportedAt url source reporter } } } }",
                json!({ "id": key_id }),
            )
            .await["node"]
            .clone()
    }
}

fn matches(tokens: &[(&str, &str)]) -> Vec<u8> {
    let list: Vec<Value> = tokens
        .iter()
        .map(|(token, source)| {
            json!({
                "token": token,
                "type": "keywarden_service_account_key",
                "url": "https://github.com/acme/site/blob/abc/deploy.sh",
                "source": source,
            })
        })
        .collect();
    serde_json::to_vec(&list).unwrap()
}

#[tokio::test]
async fn githubs_published_example_verifies_byte_for_byte_and_is_a_false_positive() {
    let s = Scanned::start().await;
    let (status, answer) = s
        .send(
            "/v1/secret-scanning/github",
            &[
                ("GITHUB-PUBLIC-KEY-IDENTIFIER", GITHUB_EXAMPLE_KEY_ID),
                ("GITHUB-PUBLIC-KEY-SIGNATURE", GITHUB_EXAMPLE_SIGNATURE),
            ],
            GITHUB_EXAMPLE_BODY.as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!([{
            "token_hash": sha256_hex("some_token"),
            "token_type": "some_type",
            "label": "false_positive",
        }])
    );
    // One byte more (a newline) and the same signature no longer holds.
    let (status, answer) = s
        .send(
            "/v1/secret-scanning/github",
            &[
                ("Github-Public-Key-Identifier", GITHUB_EXAMPLE_KEY_ID),
                ("Github-Public-Key-Signature", GITHUB_EXAMPLE_SIGNATURE),
            ],
            format!("{GITHUB_EXAMPLE_BODY}\n").as_bytes(),
        )
        .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_signed_batch_revokes_each_live_credential_and_answers_each_match_by_its_hash() {
    let s = Scanned::start().await;
    let sa = s.api.service_account("ci", "Editor").await;
    let (key_id, key) = s.api.key(&sa).await;
    let (dead_id, dead) = s.api.key(&sa).await;
    s.api
        .admin(
            crate::support::lumar("RevokeServiceAccountKey"),
            json!({ "input": { "serviceAccountKeyId": dead_id } }),
        )
        .await;
    let pat = s
        .api
        .admin(
            "mutation { createPersonalAccessToken(input: {}) { secret } }",
            json!({}),
        )
        .await["createPersonalAccessToken"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let invitation = s
        .api
        .admin(
            "mutation($a: ObjectID!) { createAccountInvitation(input: { accountId: $a, roleCode: Viewer }) { secret } }",
            json!({ "a": ACCOUNT_715 }),
        )
        .await["createAccountInvitation"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(s.verify(&key).await, 200);
    let body = matches(&[
        (&key, "Commit"),
        ("lmr_sa_1_notakey", "content"),
        (&dead, "commit"),
        (&pat, "gist_content"),
        (&invitation, "a_source_github_adds_later"),
    ]);
    let (status, answer) = s.github_report("github-1", &s.github, &body).await;
    assert_eq!(status, 200, "{answer}");
    let labels: Vec<&str> = answer
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "true_positive",
            "false_positive",
            "false_positive",
            "true_positive",
            "true_positive"
        ]
    );
    assert_eq!(answer[0]["token_hash"], sha256_hex(&key));
    assert_eq!(answer[0]["token_type"], "keywarden_service_account_key");
    for token in [&key, &pat, &invitation, &dead] {
        assert!(!answer.to_string().contains(token.as_str()), "never echoed");
    }
    assert_eq!(s.verify(&key).await, 401);
    assert_eq!(s.verify(&pat).await, 401);
    let shown = s.key_leak(&key_id).await;
    assert_eq!(shown["leak"]["reporter"], "github");
    assert_eq!(
        shown["leak"]["source"], "commit",
        "kept in GitHub's lower case"
    );
    assert_eq!(
        shown["leak"]["url"],
        "https://github.com/acme/site/blob/abc/deploy.sh"
    );
    assert!(shown["revokedAt"].is_string());
    assert_eq!(s.key_leak(&dead_id).await["leak"], Value::Null);
    // The same batch again: the same answer.
    let (_, again) = s.github_report("github-1", &s.github, &body).await;
    assert_eq!(again, answer);
    // The log says where, and who.
    let log = s
        .api
        .admin(
            "query($a: ObjectID!) { getAccount(id: $a) { auditEvents(first: 100) { nodes { action actorName after } } } }",
            json!({ "a": ACCOUNT_715 }),
        )
        .await;
    let leaks: Vec<&Value> = log["getAccount"]["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "credential.leak")
        .collect();
    assert_eq!(leaks.len(), 2, "the key and the invitation: {leaks:?}");
}

#[tokio::test]
async fn a_report_with_a_missing_malformed_wrong_or_unknown_signature_is_refused_and_changes_nothing()
 {
    let s = Scanned::start().await;
    let sa = s.api.service_account("ci", "Editor").await;
    let (_, key) = s.api.key(&sa).await;
    let body = matches(&[(&key, "commit")]);
    let good = sign(&s.github, &body);
    let mut tampered = body.clone();
    let at = tampered.len() - 5;
    tampered[at] ^= 0x01;
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [u8]);
    let cases: Vec<Case> = vec![
        ("no headers", vec![], &body),
        (
            "no signature",
            vec![("Github-Public-Key-Identifier", "github-1")],
            &body,
        ),
        (
            "not base64",
            vec![
                ("Github-Public-Key-Identifier", "github-1"),
                ("Github-Public-Key-Signature", "not base64!"),
            ],
            &body,
        ),
        (
            "a tampered byte",
            vec![
                ("Github-Public-Key-Identifier", "github-1"),
                ("Github-Public-Key-Signature", &good),
            ],
            &tampered,
        ),
        (
            "an unknown key",
            vec![
                ("Github-Public-Key-Identifier", "github-9"),
                ("Github-Public-Key-Signature", &good),
            ],
            &body,
        ),
        (
            "a scanner's key on GitHub's route",
            vec![
                ("Github-Public-Key-Identifier", "gitleaks-ci"),
                ("Github-Public-Key-Signature", &good),
            ],
            &body,
        ),
    ];
    for (case, headers, sent) in cases {
        let (status, answer) = s.send("/v1/secret-scanning/github", &headers, sent).await;
        assert_eq!(status, 401, "{case}: {answer}");
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{case}"
        );
    }
    assert_eq!(s.verify(&key).await, 200, "nothing was revoked");
    // Signed, but not a list of matches.
    let junk = br#"{"token": "x"}"#;
    let (status, answer) = s.github_report("github-1", &s.github, junk).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_rotated_key_file_is_read_without_a_restart() {
    let s = Scanned::start().await;
    let sa = s.api.service_account("ci", "Editor").await;
    let (_, key) = s.api.key(&sa).await;
    let body = matches(&[(&key, "commit")]);
    let rotated = signing_key();
    std::fs::write(
        &s.keys_file,
        key_document(&[("github-2", &rotated), ("github-3", &rotated)]),
    )
    .unwrap();
    let (status, _) = s.github_report("github-1", &s.github, &body).await;
    assert_eq!(status, 401, "the old key is gone");
    assert_eq!(s.verify(&key).await, 200);
    let (status, answer) = s.github_report("github-2", &rotated, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer[0]["label"], "true_positive");
    assert_eq!(s.verify(&key).await, 401);
}

#[tokio::test]
async fn an_own_scanner_reports_by_the_same_route_shape_under_its_own_name() {
    let s = Scanned::start().await;
    let sa = s.api.service_account("ci", "Editor").await;
    let (key_id, key) = s.api.key(&sa).await;
    let body = matches(&[(&key, "commit")]);
    // GitHub's key does not sign for scanners.
    let signature = sign(&s.github, &body);
    let (status, _) = s
        .send(
            "/v1/secret-scanning/scanner",
            &[
                ("Github-Public-Key-Identifier", "github-1"),
                ("Github-Public-Key-Signature", &signature),
            ],
            &body,
        )
        .await;
    assert_eq!(status, 401);
    let signature = sign(&s.scanner, &body);
    let (status, answer) = s
        .send(
            "/v1/secret-scanning/scanner",
            &[
                ("Github-Public-Key-Identifier", "gitleaks-ci"),
                ("Github-Public-Key-Signature", &signature),
            ],
            &body,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer[0]["label"], "true_positive");
    assert_eq!(
        s.key_leak(&key_id).await["leak"]["reporter"],
        "scanner:gitleaks-ci"
    );
}

#[tokio::test]
async fn a_batch_of_a_thousand_matches_is_answered_well_inside_githubs_30_seconds() {
    let s = Scanned::start().await;
    let sa = s.api.service_account("ci", "Editor").await;
    let mut live = Vec::new();
    for _ in 0..20 {
        live.push(s.api.key(&sa).await.1);
    }
    // Well formed, checksums and all: each costs a lookup.
    let unknown: Vec<String> = (0..980)
        .map(|i| {
            domain::token::issue_service_account_key(domain::ids::ServiceAccountId(1000 + i))
                .expose()
                .to_owned()
        })
        .collect();
    let tokens: Vec<(&str, &str)> = live
        .iter()
        .chain(unknown.iter())
        .map(|t| (t.as_str(), "content"))
        .collect();
    let body = matches(&tokens);
    let started = Instant::now();
    let (status, answer) = s.github_report("github-1", &s.github, &body).await;
    let took = started.elapsed();
    eprintln!("1,000 matches answered in {took:?}");
    assert_eq!(status, 200, "{answer}");
    let answer = answer.as_array().unwrap();
    assert_eq!(answer.len(), 1000);
    let true_positives = answer
        .iter()
        .filter(|f| f["label"] == "true_positive")
        .count();
    assert_eq!(true_positives, 20);
    assert!(took.as_secs() < 30, "{took:?}");
    for token in &live {
        assert_eq!(s.verify(token).await, 401);
    }
}

#[tokio::test]
async fn without_keys_a_route_takes_no_reports() {
    let api = Api::start().await;
    for route in ["/v1/secret-scanning/github", "/v1/secret-scanning/scanner"] {
        let response = client()
            .post(api.server.url(route))
            .body("[]")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{route}");
    }
}

#[tokio::test]
async fn a_holder_is_answered_alike_whatever_the_token_and_over_both_transports() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Editor").await;
    let (_, key) = api.key(&sa).await;
    let (_, other) = api.key(&sa).await;
    let holder = |token: String| {
        let api = &api;
        async move {
            let response = client()
                .post(api.server.url("/v1/leaks"))
                .json(&json!({ "token": token }))
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let answers = [
        holder(key.clone()).await,
        holder(key.clone()).await,
        holder("lmr_sa_1_nonsense".to_owned()).await,
        holder(String::new()).await,
    ];
    assert_eq!(answers[0].0, 202);
    for answer in &answers {
        assert_eq!(answer, &answers[0], "no oracle");
    }
    assert_eq!(api.server.verify_status(&key).await, 401);
    // GraphQL, with no credential at all.
    let query = "mutation($t: String!) { reportLeakedCredential(token: $t) { received message } }";
    let first = api.gql(None, query, json!({ "t": other })).await;
    let junk = api.gql(None, query, json!({ "t": "junk" })).await;
    assert_eq!(first.data(), junk.data());
    assert_eq!(first.data()["reportLeakedCredential"]["received"], true);
    assert_eq!(api.server.verify_status(&other).await, 401);
    // A body that is not a report.
    let response = client()
        .post(api.server.url("/v1/leaks"))
        .body("token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn holders_reports_from_one_address_are_throttled_per_minute() {
    let api = Api::start().await;
    let mut statuses = Vec::new();
    for _ in 0..=domain::HOLDER_REPORTS_PER_MINUTE {
        let response = client()
            .post(api.server.url("/v1/leaks"))
            .json(&json!({ "token": "lmr_pat_unknown" }))
            .send()
            .await
            .unwrap();
        statuses.push((
            response.status().as_u16(),
            response.headers().get("retry-after").is_some(),
        ));
    }
    assert!(
        statuses[..statuses.len() - 1]
            .iter()
            .all(|s| *s == (202, false))
    );
    assert_eq!(statuses.last(), Some(&(429, true)));
    let answer = api
        .gql(
            None,
            "mutation { reportLeakedCredential(token: \"x\") { received } }",
            json!({}),
        )
        .await;
    assert_eq!(answer.code(), "LIMIT_EXCEEDED");
}

#[tokio::test]
async fn an_admin_chooses_what_a_leak_does_and_nobody_else_can() {
    let api = Api::start().await;
    let set = "mutation($a: ObjectID!, $r: LeakResponse!) { updateAccountLeakResponse(input: { accountId: $a, leakResponse: $r }) { leakResponse account { leakResponse } } }";
    let read = "query($a: ObjectID!) { getAccount(id: $a) { leakResponse } }";
    assert_eq!(
        api.admin(read, json!({ "a": ACCOUNT_715 })).await["getAccount"]["leakResponse"],
        "REVOKE"
    );
    let done = api
        .admin(set, json!({ "a": ACCOUNT_715, "r": "RECORD" }))
        .await;
    assert_eq!(done["updateAccountLeakResponse"]["leakResponse"], "RECORD");
    assert_eq!(
        done["updateAccountLeakResponse"]["account"]["leakResponse"],
        "RECORD"
    );
    let (_, viewer) = api.member(&api.admin, ACCOUNT_715, "vera", "Viewer").await;
    let refused = api
        .gql(
            Some(&viewer),
            set,
            json!({ "a": ACCOUNT_715, "r": "REVOKE" }),
        )
        .await;
    assert_eq!(refused.code(), "UNAUTHORIZED");
    let (_, other_admin) = api.other_account("Globex", "bob").await;
    let refused = api
        .gql(
            Some(&other_admin),
            set,
            json!({ "a": ACCOUNT_715, "r": "REVOKE" }),
        )
        .await;
    assert_eq!(refused.code(), "ENTITY_NOT_FOUND");
    let sa = api.service_account("ci", "Editor").await;
    let (_, key) = api.key(&sa).await;
    client()
        .post(api.server.url("/v1/leaks"))
        .json(&json!({ "token": key }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.server.verify_status(&key).await,
        200,
        "recorded only, as the Admin chose"
    );
}

#[tokio::test]
async fn a_key_reported_to_one_server_is_refused_by_another_on_its_next_request() {
    let s = Scanned::start().await;
    let sa = s.api.service_account("ci", "Editor").await;
    let (_, key) = s.api.key(&sa).await;
    let second = Server::start(s.api.dir.path(), &s.api.backend.with(&[]));
    assert_eq!(
        second.verify_status(&key).await,
        200,
        "cached on the second server"
    );
    let (status, _) = s
        .github_report("github-1", &s.github, &matches(&[(&key, "commit")]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(second.verify_status(&key).await, 401);
}

/// A stand-in for GitHub's API: serves one alert, with its secret, to the
/// token it expects; counts the requests.
async fn fake_github(
    secret: String,
    token: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::get;
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = asked.clone();
    let app = axum::Router::new().route(
        "/repos/acme/site/secret-scanning/alerts/7",
        get(move |headers: axum::http::HeaderMap| {
            let secret = secret.clone();
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let authorized = headers
                    .get("authorization")
                    .is_some_and(|v| v == &format!("Bearer {token}")[..]);
                if authorized {
                    axum::Json(
                        json!({ "number": 7, "secret_type": "keywarden_key", "secret": secret }),
                    )
                    .into_response()
                } else {
                    axum::http::StatusCode::UNAUTHORIZED.into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), asked)
}

use axum::response::IntoResponse;

fn hub_signature(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn a_custom_pattern_alert_signed_with_the_webhook_secret_revokes_the_secret_it_found() {
    // The key must exist before the fake API can serve it: start keywarden,
    // issue it, then a second server with the webhook set on the same
    // database.
    let api = Api::start().await;
    let sa = api.service_account("ci", "Editor").await;
    let (key_id, key) = api.key(&sa).await;
    let (github, asked) = fake_github(key.clone(), "ghp_reader").await;
    let files = tempfile::tempdir().unwrap();
    let secret_file = files.path().join("webhook-secret");
    let token_file = files.path().join("github-token");
    std::fs::write(&secret_file, "hook secret\n").unwrap();
    std::fs::write(&token_file, "ghp_reader\n").unwrap();
    let hooked = Server::start(
        api.dir.path(),
        &api.backend.with(&[
            "--github-webhook-secret-file",
            secret_file.to_str().unwrap(),
            "--github-api-token-file",
            token_file.to_str().unwrap(),
            "--github-api-url",
            &github,
        ]),
    );
    let deliver = |event: &'static str, body: Vec<u8>, signature: String| {
        let url = hooked.url("/v1/secret-scanning/github-webhook");
        async move {
            let response = client()
                .post(url)
                .header("X-GitHub-Event", event)
                .header("X-Hub-Signature-256", signature)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }
    };
    let alert = |url: &str| {
        serde_json::to_vec(&json!({
            "action": "created",
            "alert": {
                "number": 7,
                "secret_type": "keywarden_key",
                "url": url,
                "html_url": "https://github.com/acme/site/security/secret-scanning/7",
            },
            "repository": { "full_name": "acme/site" },
        }))
        .unwrap()
    };
    let body = alert(&format!(
        "{github}/repos/acme/site/secret-scanning/alerts/7"
    ));
    // A ping, a wrong signature, no signature.
    let ping = b"{\"zen\":\"hi\"}".to_vec();
    assert_eq!(
        deliver("ping", ping.clone(), hub_signature("hook secret", &ping)).await,
        200
    );
    assert_eq!(
        deliver(
            "secret_scanning_alert",
            body.clone(),
            hub_signature("guess", &body)
        )
        .await,
        401
    );
    assert_eq!(
        deliver("secret_scanning_alert", body.clone(), String::new()).await,
        401
    );
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing read unsigned"
    );
    // An alert under another address is not read.
    let elsewhere = alert("https://attacker.example/repos/acme/site/secret-scanning/alerts/7");
    assert_eq!(
        deliver(
            "secret_scanning_alert",
            elsewhere.clone(),
            hub_signature("hook secret", &elsewhere)
        )
        .await,
        502
    );
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(api.key_leak_of(&key_id).await["leak"], Value::Null);
    // The real one.
    assert_eq!(
        deliver(
            "secret_scanning_alert",
            body.clone(),
            hub_signature("hook secret", &body)
        )
        .await,
        202
    );
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    let shown = api.key_leak_of(&key_id).await;
    assert_eq!(shown["leak"]["reporter"], "github_webhook");
    assert_eq!(
        shown["leak"]["url"],
        "https://github.com/acme/site/security/secret-scanning/7"
    );
    assert_eq!(
        api.server.verify_status(&key).await,
        401,
        "refused by the first server too"
    );
    // Another action of the same alert changes nothing more.
    let resolved =
        serde_json::to_vec(&json!({ "action": "resolved", "alert": { "number": 7 } })).unwrap();
    assert_eq!(
        deliver(
            "secret_scanning_alert",
            resolved.clone(),
            hub_signature("hook secret", &resolved)
        )
        .await,
        202
    );
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
}

impl Api {
    async fn key_leak_of(&self, key_id: &str) -> Value {
        self.admin(
            "query($id: ObjectID!) { node(id: $id) { ... on ServiceAccountKey { revokedAt leak { reportedAt url source reporter } } } }",
            json!({ "id": key_id }),
        )
        .await["node"]
        .clone()
    }
}
