//! Running behind gateways and in production: trusted proxies and the
//! throttle, `/v1/verify` for every gateway (and real nginx), request ids,
//! the access log, JSON logs and the Prometheus metrics.

use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Api, client, sample};

/// A tool the tests need from the system: `None` (and a note) when it is
/// missing, unless `KEYWARDEN_TEST_REQUIRE_TOOLS` is set, as CI sets it, in
/// which case a missing tool fails the test.
pub fn tool(name: &str, candidates: &[&str]) -> Option<String> {
    let found = candidates
        .iter()
        .find(|path| Path::new(path).is_file())
        .map(|path| (*path).to_owned());
    if found.is_none() {
        assert!(
            std::env::var_os("KEYWARDEN_TEST_REQUIRE_TOOLS").is_none(),
            "{name} is required (KEYWARDEN_TEST_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("{name} is not installed: skipping (apt-get install {name})");
    }
    found
}

/// A client that connects from `address` (any of 127.0.0.0/8 works on Linux),
/// so that one machine can play several clients.
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().ok())
        .build()
        .unwrap()
}

async fn verify_status(http: &reqwest::Client, url: &str, key: &str, from: &str) -> u16 {
    http.get(url)
        .header("x-api-key", key)
        .header("x-forwarded-for", from)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A key that was issued and then revoked.
async fn revoked_key(api: &Api) -> String {
    let sa = api.service_account("unknown-keys", "Viewer").await;
    let (id, secret) = api.key(&sa).await;
    api.admin(
        "mutation($id: ObjectID!) { revokeServiceAccountKey(input: { serviceAccountKeyId: $id }) { serviceAccountKey { id } } }",
        json!({ "id": id }),
    )
    .await;
    secret
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_throttled_on_its_own() {
    let api = Api::start_with(&[
        "--trusted-proxies",
        "127.0.0.1,10.0.0.0/8",
        "--auth-failures-per-minute",
        "3",
    ])
    .await;
    let sa = api.service_account("gateway", "Viewer").await;
    let (_, good) = api.key(&sa).await;
    let bad = revoked_key(&api).await;
    let url = api.server.url("/v1/verify");
    let http = client();
    let guesser = "198.51.100.1";
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for _ in 0..5 {
            out.push(verify_status(&http, &url, &bad, guesser).await);
        }
        out
    };
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // Another client behind the same proxy: its bad key is its own 401, and
    // its good key passes; so does the guesser's own good key.
    assert_eq!(verify_status(&http, &url, &bad, "198.51.100.2").await, 401);
    assert_eq!(verify_status(&http, &url, &good, "198.51.100.2").await, 200);
    assert_eq!(verify_status(&http, &url, &good, guesser).await, 200);
    // A client's own claims, left of what the proxies appended, are not
    // believed: the guesser stays throttled whatever it writes first.
    assert_eq!(
        verify_status(&http, &url, &bad, &format!("203.0.113.9, {guesser}")).await,
        429
    );
    // Through two trusted hops (10.0.0.5 forwarded to us through 127.0.0.1).
    assert_eq!(
        verify_status(&http, &url, &bad, &format!("{guesser}, 10.0.0.5")).await,
        429
    );
    // A gateway that cannot pass 429 on asks for 401 or 403: the answer says
    // why, and when to try again, whichever status it has.
    for (asked, status) in [("401", 401), ("403", 403), ("429", 429)] {
        let answer = http
            .get(format!("{url}?on_throttle={asked}"))
            .header("x-api-key", &bad)
            .header("x-forwarded-for", guesser)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status);
        assert_eq!(answer.headers()["x-keywarden-reason"], "throttled");
        assert!(answer.headers().contains_key("retry-after"));
    }
    let not_throttled = http
        .get(format!("{url}?on_throttle=401"))
        .header("x-api-key", &bad)
        .header("x-forwarded-for", "198.51.100.3")
        .send()
        .await
        .unwrap();
    assert_eq!(not_throttled.status().as_u16(), 401);
    assert!(!not_throttled.headers().contains_key("x-keywarden-reason"));
    // The log names the client it throttled, as an address.
    assert!(
        api.server.log_contains(&format!("client={guesser}")),
        "{}",
        api.server.log()
    );
    assert!(!api.server.log().contains("Some("));
}

#[tokio::test]
async fn an_untrusted_peer_cannot_choose_its_address() {
    // No trusted proxies: X-Forwarded-For is the client's say, and ignored.
    let api = Api::start_with(&["--auth-failures-per-minute", "2"]).await;
    let bad = revoked_key(&api).await;
    let url = api.server.url("/v1/verify");
    let http = client();
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(verify_status(&http, &url, &bad, &format!("198.51.100.{n}")).await);
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
}

#[tokio::test]
async fn zero_switches_the_throttle_off() {
    let api = Api::start_with(&["--auth-failures-per-minute", "0"]).await;
    let bad = revoked_key(&api).await;
    let url = api.server.url("/v1/verify");
    let http = client();
    for _ in 0..60 {
        assert_eq!(verify_status(&http, &url, &bad, "198.51.100.1").await, 401);
    }
}

#[tokio::test]
async fn verify_answers_every_method_and_every_path_below_it() {
    let api = Api::start().await;
    let sa = api.service_account("envoy", "Editor").await;
    let (_, key) = api.key(&sa).await;
    let http = client();
    for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        for path in [
            "/v1/verify",
            "/v1/verify/",
            "/v1/verify/api/jobs/42",
            "/v1/verify/api/jobs?page=2",
        ] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let good = http
                .request(method.clone(), api.server.url(path))
                .header("x-api-key", &key)
                .body("a body the gateway passed on")
                .send()
                .await
                .unwrap();
            assert_eq!(good.status(), 200, "{method} {path}");
            assert_eq!(good.headers()["x-keywarden-principal"], sa.as_str());
            assert_eq!(good.headers()["x-keywarden-role"], "Editor");
            let none = http
                .request(method.clone(), api.server.url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(none.status(), 401, "{method} {path}");
            assert!(none.headers().contains_key("www-authenticate"));
        }
    }
    // Only below it: a path that merely starts the same is not the check.
    let beside = http
        .get(api.server.url("/v1/verifyx"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(beside.status(), 404);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_kept_from_the_caller_or_made() {
    let api = Api::start_with(&["--trusted-proxies", "127.0.0.1"]).await;
    let http = client();
    let kept = http
        .get(api.server.url("/healthz"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-abc-123");
    let made = http.get(api.server.url("/healthz")).send().await.unwrap();
    let made_id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made_id.len(), 32);
    // In GraphQL errors, also those refused before GraphQL ran.
    let refused = api
        .post(
            &[
                ("x-api-key", "lmr_pat_nonsense"),
                ("x-request-id", "req-401"),
            ],
            json!({ "query": "{ me { id } }" }),
        )
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.body["errors"][0]["extensions"]["requestId"],
        "req-401"
    );
    let field_error = api
        .post(
            &[
                ("x-api-key", api.admin.as_str()),
                ("x-request-id", "req-field"),
            ],
            json!({ "query": "{ serviceAccount(id: \"TjAwN0FjY291bnQ3MTU\") { id } }" }),
        )
        .await;
    assert_eq!(field_error.status, 200);
    assert_eq!(
        field_error.body["errors"][0]["extensions"]["requestId"], "req-field",
        "{:#}",
        field_error.body
    );
    assert_eq!(field_error.headers["x-request-id"], "req-field");
    // And in the audit event of the change the request made, with the client
    // the trusted proxy forwarded for.
    let created = api
        .post(
            &[
                ("x-api-key", api.admin.as_str()),
                ("x-request-id", "req-create"),
                ("x-forwarded-for", "198.51.100.77"),
            ],
            json!({
                "query": "mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { serviceAccount { id } } }",
                "variables": { "i": { "accountId": crate::support::ACCOUNT_715, "name": "traced", "roleCode": "Viewer" } },
            }),
        )
        .await;
    created.data();
    let events = api
        .admin(
            "query($id: ObjectID!) { getAccount(id: $id) { auditEvents(last: 1) { nodes { action requestId clientAddress } } } }",
            json!({ "id": crate::support::ACCOUNT_715 }),
        )
        .await;
    assert_eq!(
        events["getAccount"]["auditEvents"]["nodes"][0],
        json!({ "action": "service_account.create", "requestId": "req-create", "clientAddress": "198.51.100.77" })
    );
}

#[tokio::test]
async fn json_logs_give_one_access_line_per_request_and_no_secret() {
    let api = Api::start_with(&["--log-format", "json"]).await;
    let sa = api.service_account("logged", "Viewer").await;
    let (_, key) = api.key(&sa).await;
    let http = client();
    let answered = http
        .post(api.server.url("/v1/verify/some/path"))
        .header("x-api-key", &key)
        .header("x-request-id", "req-logged")
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    assert!(api.server.log_contains("req-logged"));
    let log = api.server.log();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let access = lines
        .iter()
        .find(|l| l["request_id"] == "req-logged")
        .unwrap();
    assert_eq!(access["target"], "keywarden::access");
    assert_eq!(access["method"], "POST");
    assert_eq!(access["route"], "/v1/verify");
    assert_eq!(access["status"], 200);
    assert_eq!(access["client"], "127.0.0.1");
    assert_eq!(access["caller"], sa.as_str());
    assert!(access["latency_ms"].as_f64().unwrap() >= 0.0);
    // One line per request: creating the service account, creating the key,
    // and the check.
    let access_lines = lines
        .iter()
        .filter(|l| l["target"] == "keywarden::access")
        .count();
    assert_eq!(access_lines, 3, "{log}");
    // Neither the key nor the first Admin's token (on stdout) is in the log.
    assert!(!log.contains(&key));
    assert!(!log.contains(&api.admin));
    assert!(api.server.stdout().contains(&api.admin));
}

#[tokio::test]
async fn the_first_admin_token_can_go_to_a_file_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("admin-token");
    let server =
        crate::support::Server::start(dir.path(), &["--admin-token-file", file.to_str().unwrap()]);
    assert!(server.log_contains("the Admin's token is in the file"));
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(crate::support::is_personal_access_token(&token), "{token}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!server.stdout().contains(&token));
    assert!(!server.log().contains(&token));
    let verified = client()
        .get(server.url("/v1/verify"))
        .header("x-api-key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
}

/// The value of the sample `name` (with its labels, as rendered), if any.
#[tokio::test]
async fn metrics_say_what_happened_and_pass_promtool() {
    let api = Api::start().await;
    let sa = api.service_account("measured", "Viewer").await;
    let (_, key) = api.key(&sa).await;
    let http = client();
    for _ in 0..3 {
        let ok = http
            .get(api.server.url("/v1/verify"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
    let revoked = revoked_key(&api).await;
    let refused = http
        .get(api.server.url("/v1/verify"))
        .header("x-api-key", &revoked)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let text = api.server.metrics().await;
    assert_eq!(
        sample(&text, "keywarden_verifications_total{outcome=\"ok\"}"),
        Some(3.0 + 5.0),
        "three checks and five GraphQL requests as the Admin\n{text}"
    );
    assert_eq!(
        sample(&text, "keywarden_verifications_total{outcome=\"revoked\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "keywarden_http_requests_total{route=\"/v1/verify\",status=\"200\"}"
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "keywarden_http_request_duration_seconds_count{route=\"/v1/verify\",status=\"401\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains("keywarden_http_request_duration_seconds_bucket{route=\"/v1/verify\",status=\"200\",le=\"0.001\"}"), "{text}");
    // The key was read once and then served from memory twice; the revoke
    // made its scopes stale.
    assert!(
        sample(&text, "keywarden_verification_cache_hits_total").unwrap() >= 2.0,
        "{text}"
    );
    assert!(
        sample(&text, "keywarden_verification_cache_misses_total").unwrap() >= 1.0,
        "{text}"
    );
    assert!(
        sample(&text, "keywarden_verification_cache_invalidations_total").unwrap() >= 1.0,
        "{text}"
    );
    assert!(
        sample(&text, "keywarden_verification_reads_total").unwrap() >= 1.0,
        "{text}"
    );
    assert!(
        sample(&text, "keywarden_db_pool_connections{state=\"idle\"}").is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "keywarden_db_pool_connections{state=\"in_use\"}").is_some(),
        "{text}"
    );
    // The build, as `--version` names it.
    let commit = crate::support::built_commit();
    assert_eq!(
        sample(
            &text,
            &format!(
                "keywarden_build_info{{version=\"{}\",commit=\"{commit}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        Some(1.0),
        "{text}"
    );
    if api.backend.is_postgres() {
        assert_eq!(
            sample(&text, "keywarden_change_listener_up"),
            Some(1.0),
            "{text}"
        );
        // Alone on its database: nobody to confirm, and so serving from memory.
        for (peers, count) in [("1", 0.0), ("2", 0.0), ("unconfirmed", 0.0)] {
            assert_eq!(
                sample(
                    &text,
                    &format!("keywarden_change_listener_peers{{protocol=\"{peers}\"}}")
                ),
                Some(count),
                "{text}"
            );
        }
        assert_eq!(
            sample(&text, "keywarden_change_listener_serving"),
            Some(1.0),
            "{text}"
        );
        let age = sample(&text, "keywarden_change_listener_last_heard_seconds").unwrap();
        assert!(age < 2.0, "heartbeats keep it fresh: {age}");
        // The reads were made on verification's own connections, each kept
        // for the next once done.
        assert_eq!(
            sample(
                &text,
                "keywarden_db_verification_connections{state=\"in_use\"}"
            ),
            Some(0.0),
            "{text}"
        );
        assert!(
            sample(
                &text,
                "keywarden_db_verification_connections{state=\"idle\"}"
            )
            .is_some_and(|idle| idle >= 1.0),
            "{text}"
        );
    } else {
        assert!(
            !text.contains("keywarden_db_verification_connections{"),
            "SQLite has no such connections\n{text}"
        );
    }
    // Every metric has its HELP and TYPE, and no label holds a secret or id.
    for name in [
        "keywarden_http_requests_total",
        "keywarden_http_request_duration_seconds",
        "keywarden_verifications_total",
        "keywarden_build_info",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}\n{text}");
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}\n{text}");
    }
    assert!(!text.contains("lmr_"), "{text}");
    assert!(!text.contains(&sa), "{text}");
    let Some(promtool) = tool(
        "prometheus",
        &["/usr/bin/promtool", "/usr/local/bin/promtool"],
    ) else {
        return;
    };
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// nginx, started by the test on a free port, in front of keywarden.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// Guards `/` with `auth_request` to `upstream`'s `/v1/verify`, as
    /// docs/gateways.md shows, and proxies what passes to its `/healthz`;
    /// `extra` is added to the check's location.
    fn start(binary: &str, upstream: &str, extra: &str) -> Nginx {
        Self::serving(binary, |port| {
            format!(
                r#"
    upstream keywarden {{ server {upstream}; }}
    server {{
        listen 127.0.0.1:{port};
        location = /_keywarden {{
            internal;
            proxy_pass http://keywarden/v1/verify;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            {extra}
        }}
        location / {{
            auth_request /_keywarden;
            auth_request_set $principal $upstream_http_x_keywarden_principal;
            proxy_set_header X-Principal $principal;
            proxy_pass http://keywarden/healthz;
        }}
    }}
"#
            )
        })
    }

    /// nginx on a free port with `site(port)` inside its `http` block.
    fn serving(binary: &str, site: impl FnOnce(u16) -> String) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let site = site(port);
        let config = format!(
            r#"
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{site}
}}
"#
        );
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new(binary)
            .args([
                "-c",
                conf.to_str().unwrap(),
                "-p",
                dir.path().to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn through(http: &reqwest::Client, nginx: &Nginx, key: &str) -> u16 {
    http.get(nginx.url())
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_real_nginx_a_throttled_client_does_not_touch_another() {
    let Some(binary) = tool("nginx", &["/usr/sbin/nginx", "/usr/local/sbin/nginx"]) else {
        return;
    };
    let api = Api::start_with(&[
        "--trusted-proxies",
        "127.0.0.1",
        "--auth-failures-per-minute",
        "3",
    ])
    .await;
    let sa = api.service_account("behind-nginx", "Viewer").await;
    let (_, good) = api.key(&sa).await;
    let bad = revoked_key(&api).await;
    let upstream = api.server.base.trim_start_matches("http://").to_owned();
    let nginx = Nginx::start(&binary, &upstream, "");
    // Two clients on two addresses, both through the one nginx.
    let guesser = client_from("127.0.0.2");
    let other = client_from("127.0.0.3");
    assert_eq!(through(&other, &nginx, &good).await, 200);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(through(&guesser, &nginx, &bad).await);
    }
    // nginx turns the check's 429 into a 500 (auth_request passes on only
    // 2xx, 401 and 403): the guesser is refused either way.
    assert_eq!(statuses, [401, 401, 401, 500, 500]);
    // Configured as docs/gateways.md shows, nginx asks for a 401 instead, and
    // its client sees one.
    let asking = Nginx::start(
        &binary,
        &upstream,
        "proxy_set_header X-Keywarden-On-Throttle 401;",
    );
    let another_guesser = client_from("127.0.0.4");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(through(&another_guesser, &asking, &bad).await);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401]);
    assert!(
        api.server
            .log_has_line(&["the client is throttled", "client=127.0.0.4"]),
        "the last two were throttled, not merely refused: {}",
        api.server.log()
    );
    assert_eq!(through(&other, &nginx, &good).await, 200);
    assert_eq!(
        through(&other, &nginx, &bad).await,
        401,
        "its own refusal, not the guesser's"
    );
    assert_eq!(
        through(&guesser, &nginx, &good).await,
        200,
        "a good key is never throttled"
    );
    assert_eq!(through(&other, &nginx, "").await, 401);
    // The check's log names each client by its own address.
    assert!(
        api.server.log_contains("client=127.0.0.2"),
        "{}",
        api.server.log()
    );
    assert!(
        api.server.log_contains("client=127.0.0.3"),
        "{}",
        api.server.log()
    );
}

#[tokio::test]
async fn the_access_line_can_be_left_out_and_requests_are_still_counted() {
    let api = Api::start_with(&["--log", "info,keywarden::access=off"]).await;
    let http = client();
    let ok = http
        .get(api.server.url("/healthz"))
        .header("x-request-id", "req-unlogged")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let metrics = api.server.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "keywarden_http_requests_total{route=\"/healthz\",status=\"200\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(!api.server.log().contains("req-unlogged"));
    assert!(!api.server.log().contains("keywarden::access"));
    // Other info lines still come.
    assert!(api.server.log().contains("listening on"));
}

/// The nginx configuration of docs/authorization.md's worked example, as
/// written there.
fn worked_example_config() -> String {
    let doc = include_str!("../../docs/authorization.md");
    let start = doc
        .find("<!-- nginx worked example -->\n```nginx\n")
        .expect("the worked example's configuration is marked");
    let rest = &doc[start..];
    let body = &rest[rest.find("```nginx\n").unwrap() + 9..];
    body[..body.find("```").unwrap()].to_owned()
}

#[tokio::test]
async fn the_worked_example_lets_the_ci_key_run_jobs_in_its_project_only_through_nginx() {
    let Some(binary) = tool("nginx", &["/usr/sbin/nginx", "/usr/local/sbin/nginx"]) else {
        return;
    };
    let api = Api::start().await;
    let example = crate::permissions::example(&api).await;
    let upstream = api
        .server
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let config = worked_example_config();
    for expected in [
        "server 127.0.0.1:8080;",
        "listen 80;",
        "proxy_pass http://app:8000;",
    ] {
        assert!(config.contains(expected), "the example changed: {expected}");
    }
    let nginx = Nginx::serving(&binary, |port| {
        config
            .replace("server 127.0.0.1:8080;", &format!("server {upstream};"))
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            // The app behind nginx: keywarden's own health check stands in.
            .replace(
                "proxy_pass http://app:8000;",
                "rewrite ^ /healthz break; proxy_pass http://keywarden;",
            )
    });
    let http = client();
    let job = |project: &str, key: &str| {
        let request = http
            .get(format!("{}projects/{project}/jobs/", nginx.url()))
            .header("x-api-key", key.to_owned());
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(job("web", &example.key).await, 200);
    assert_eq!(job("api", &example.key).await, 403);
    assert_eq!(job("nope", &example.key).await, 403);
    assert_eq!(job("web", "lmr_sa_1_nothing").await, 401);
    // The Admin holds every permission on every project.
    assert_eq!(job("api", &api.admin).await, 200);
}
