//! On PostgreSQL a process serves its cache only while it holds a lease,
//! renewed by hearing its own heartbeats back. A process that hears nothing
//! (stopped, or its notification connection silently cut) must not accept a
//! key that another process has revoked and answered as revoked, even though
//! the revoking process stopped waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Backend, Server, TEST_PEPPER, lumar, run};

const ME: &str = "{ me { ... on ServiceAccount { name } } }";

/// Two servers on one PostgreSQL database and a key of a new service account,
/// verified (and so cached) by `second`. `None` on SQLite, which needs no lease.
struct Pair {
    _dir: tempfile::TempDir,
    backend: Backend,
    first: Server,
    second: Server,
    admin: String,
    key_id: String,
    secret: String,
}

async fn pair(second_url: impl FnOnce(&str) -> String) -> Option<Pair> {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    if !backend.is_postgres() {
        return None;
    }
    assert!(
        run(dir.path(), &backend.with(&["migrate", "--create-database"]))
            .status
            .success()
    );
    let first = Server::start(dir.path(), &backend.with(&[]));
    let url = second_url(&backend.url);
    let second = Server::start(
        dir.path(),
        &["--database-url", &url, "--pepper", TEST_PEPPER],
    );
    let admin = first
        .banner_token()
        .expect("the first server sets up the account");
    let account = first.first_account(&admin).await;
    let sa = first
        .create_service_account(&admin, &account, "ci", "Editor")
        .await;
    let (key_id, secret) = first.create_key(&admin, &sa).await;
    let pair = Pair {
        _dir: dir,
        backend,
        first,
        second,
        admin,
        key_id,
        secret,
    };
    pair.second_serves_from_its_cache().await;
    pair.first_hears_second().await;
    Some(pair)
}

impl Pair {
    /// Waits until `first` listens and has heard `second` speak: a writer that
    /// does not listen yet has nobody to wait for, and one that has not seen
    /// `second` listen would not wait for it.
    async fn first_hears_second(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.first.metrics().await;
            let line = |wanted: &str| text.lines().any(|l| l == wanted);
            if line("keywarden_change_listener_up 1")
                && line("keywarden_change_listener_peers{protocol=\"2\"} 1")
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the first server never heard the second: {text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Shows that `second` answers the key from memory: revoked behind
    /// keywarden's back, it is still accepted there. (Then un-revoked.)
    async fn second_serves_from_its_cache(&self) {
        let db = self.backend.connect().await;
        let by_hand = |sql: &'static str| {
            let db = &db;
            async move {
                sea_orm::ConnectionTrait::execute_unprepared(db, sql)
                    .await
                    .unwrap();
            }
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            assert_eq!(self.second.gql(&self.secret, ME, json!({})).await.0, 200);
            by_hand("UPDATE service_account_keys SET revoked_at = 0").await;
            let cached = self.second.gql(&self.secret, ME, json!({})).await.0 == 200;
            by_hand("UPDATE service_account_keys SET revoked_at = NULL").await;
            if cached {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the second server never cached the key"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        db.close().await.unwrap();
    }

    /// Revokes the key through `first`; returns how long the answer took.
    async fn revoke_through_first(&self) -> Duration {
        let started = Instant::now();
        let (status, body) = self
            .first
            .gql(
                &self.admin,
                lumar("RevokeServiceAccountKey"),
                json!({ "input": { "serviceAccountKeyId": self.key_id } }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        started.elapsed()
    }

    /// `second` refuses the key, now and on the requests after.
    async fn second_refuses_the_key(&self) {
        for _ in 0..3 {
            assert_eq!(
                self.second.gql(&self.secret, ME, json!({})).await.0,
                401,
                "a key revoked and answered as revoked was accepted"
            );
        }
    }
}

#[tokio::test]
async fn a_stopped_process_that_missed_a_revoke_refuses_the_key_when_it_resumes() {
    let Some(pair) = pair(str::to_owned).await else {
        return;
    };
    pair.second.signal("STOP");
    let waited = pair.revoke_through_first().await;
    pair.second.signal("CONT");
    // The writer waited for the stopped process, then answered without it.
    assert!(waited >= Duration::from_millis(1_500), "{waited:?}");
    pair.second_refuses_the_key().await;
}

#[tokio::test]
async fn a_process_whose_notifications_are_cut_refuses_a_key_revoked_elsewhere() {
    let proxy = Proxy::start();
    let port = proxy.port;
    let Some(pair) = pair(|url| through(url, port)).await else {
        return;
    };
    // The connection stays open, so the writer sees a listener and waits for
    // it; nothing it sends arrives any more.
    proxy.cut_listeners();
    let waited = pair.revoke_through_first().await;
    assert!(waited >= Duration::from_millis(1_500), "{waited:?}");
    pair.second_refuses_the_key().await;
    // The rest of its connections still work: it keeps answering, from the
    // database.
    let (status, _) = pair
        .second
        .gql(&pair.admin, "{ me { id } }", json!({}))
        .await;
    assert_eq!(status, 200);
}

/// `url` with its host and port replaced by the proxy's, in plain text so
/// that the proxy can tell the listening connection by its `LISTEN`.
fn through(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let user = authority.rsplit_once('@').map_or("", |(user, _)| user);
    let at = if user.is_empty() { "" } else { "@" };
    format!("{scheme}://{user}{at}127.0.0.1:{port}/{path}?sslmode=disable")
}

/// A TCP proxy to the PostgreSQL server that can silently stop carrying the
/// connections that sent `LISTEN`, in both directions, without closing them:
/// what a network partition looks like from either end.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
}

impl Proxy {
    /// Runs on a thread of its own, so that it keeps carrying while the test
    /// waits for a server to start.
    fn start() -> Proxy {
        let server = test_support::postgres_server().unwrap_or_default();
        let upstream = server
            .split_once("://")
            .and_then(|(_, rest)| rest.split('/').next())
            .map(|authority| authority.rsplit('@').next().unwrap_or(authority).to_owned())
            .unwrap_or_else(|| "127.0.0.1:5432".to_owned());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let cutting = cut.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    let listening = Arc::new(AtomicBool::new(false));
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    let cut = cutting.clone();
                    tokio::spawn(pump(
                        client_read,
                        server_write,
                        listening.clone(),
                        cut.clone(),
                        true,
                    ));
                    tokio::spawn(pump(server_read, client_write, listening, cut, false));
                }
            });
        });
        Proxy { port, cut }
    }

    fn cut_listeners(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    listening: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
    from_client: bool,
) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if from_client && buf[..n].windows(6).any(|w| w == b"LISTEN") {
            listening.store(true, Ordering::SeqCst);
        }
        if listening.load(Ordering::SeqCst) && cut.load(Ordering::SeqCst) {
            // Swallowed: the connection stays open and hears nothing.
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
