//! Starting and stopping the real binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_keywarden");

/// The commit the binary says it was built from, read from `--version`
/// (`keywarden 0.2.0 (commit 0123456789ab)`).
pub fn built_commit() -> String {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let rest = text
        .trim()
        .strip_prefix(&format!("keywarden {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("--version says {text:?}"));
    rest.strip_suffix(')').unwrap().to_owned()
}

/// A command for the binary, run in `dir`, with no `KEYWARDEN_*` setting
/// inherited from whoever runs the tests.
pub fn keywarden(dir: &Path) -> Command {
    keywarden_binary(BIN, dir)
}

/// Like [`keywarden`], for another build of it (an earlier release's).
pub fn keywarden_binary(binary: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("KEYWARDEN_") {
            cmd.env_remove(name);
        }
    }
    // The default database lives in the data directory: the test's own.
    cmd.env("XDG_DATA_HOME", dir);
    cmd
}

/// Runs a command to completion.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    keywarden(dir).args(args).output().expect("run keywarden")
}

/// A running server.
pub struct Server {
    child: Child,
    pub base: String,
    log: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

/// Collects what a child writes on `stream`, line by line, in another thread.
fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    text
}

impl Server {
    /// Starts `keywarden serve` on a free port in `dir` and waits until it listens.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        Self::start_with_env(dir, args, &[])
    }

    /// Like [`Server::start`], with environment variables.
    pub fn start_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = keywarden(dir);
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args);
        Self::spawn(command, env)
    }

    /// Like [`Server::start`], with another build of keywarden (an earlier
    /// release's).
    pub fn start_binary(binary: &str, dir: &Path, args: &[&str]) -> Server {
        let mut command = keywarden_binary(binary, dir);
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args);
        Self::spawn(command, &[])
    }

    /// Starts the binary with exactly `args` (which must make it serve on a
    /// free port) and waits until it listens.
    pub fn start_exactly(dir: &Path, args: &[&str]) -> Server {
        let mut command = keywarden(dir);
        command.args(args);
        Self::spawn(command, &[])
    }

    fn spawn(mut command: Command, env: &[(&str, &str)]) -> Server {
        let mut child = command
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start keywarden");
        let log = collect(child.stderr.take().expect("stderr"));
        let stdout = collect(child.stdout.take().expect("stdout"));
        let started = Instant::now();
        let base = loop {
            let text = log.lock().unwrap().clone();
            if let Some(at) = text.find("listening on http://") {
                let rest = &text[at + "listening on ".len()..];
                // Up to the end of the address, in a text or a JSON line.
                break rest
                    .split(|c: char| c.is_whitespace() || c == '"')
                    .next()
                    .unwrap()
                    .to_owned();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("keywarden exited with {status} before listening:\n{text}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no listening line:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Server {
            child,
            base,
            log,
            stdout,
        }
    }

    /// What `/metrics` shows now.
    pub async fn metrics(&self) -> String {
        client()
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// `/v1/verify`'s status for `token`, sent as `x-api-key`.
    pub async fn verify_status(&self, token: &str) -> u16 {
        client()
            .get(self.url("/v1/verify"))
            .header("x-api-key", token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Sends the process a signal (`STOP`, `CONT`...).
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -{name}");
    }

    /// The server's resident memory, in KiB, from `/proc`.
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc status")
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Whether the log shows `text` within a moment (the log is read by another thread).
    pub fn log_contains(&self, text: &str) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if self.log().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Whether one line of the log shows every one of `parts` within a moment.
    pub fn log_has_line(&self, parts: &[&str]) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if self
                .log()
                .lines()
                .any(|line| parts.iter().all(|p| line.contains(p)))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Everything the server wrote to stdout so far (the first-start banner).
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// The first Admin's token from the first-start banner on stdout, if one
    /// was shown (it is written before the server says it listens).
    pub fn banner_token(&self) -> Option<String> {
        if !self.log().contains("the Admin's token is shown on stdout") {
            return None;
        }
        // Written before that line, but read from its pipe by another thread.
        let started = Instant::now();
        let out = loop {
            let out = self.stdout();
            if out.contains("=\n") && out.contains("lmr_pat_")
                || started.elapsed() > Duration::from_secs(5)
            {
                break out;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let at = out.find("lmr_pat_")?;
        Some(
            out[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect(),
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs a GraphQL document with `token` as `x-api-key`; answers the status
    /// and the JSON body.
    pub async fn gql(
        &self,
        token: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = client()
            .post(self.url("/graphql"))
            .header("x-api-key", token)
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// The id of the first account a user's token belongs to.
    pub async fn first_account(&self, token: &str) -> String {
        let (_, me) = self
            .gql(
                token,
                "{ me { ... on User { accounts { id } } } }",
                serde_json::json!({}),
            )
            .await;
        me["data"]["me"]["accounts"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a service account and returns its id.
    pub async fn create_service_account(
        &self,
        token: &str,
        account: &str,
        name: &str,
        role: &str,
    ) -> String {
        let (_, created) = self
            .gql(
                token,
                lumar("CreateServiceAccount"),
                serde_json::json!({ "input": { "accountId": account, "name": name, "roleCode": role } }),
            )
            .await;
        created["data"]["createServiceAccount"]["serviceAccount"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Issues a key to a service account; returns its id and secret.
    pub async fn create_key(&self, token: &str, service_account: &str) -> (String, String) {
        let (_, key) = self
            .gql(
                token,
                lumar("CreateServiceAccountKey"),
                serde_json::json!({ "input": { "serviceAccountId": service_account } }),
            )
            .await;
        let key = &key["data"]["createServiceAccountKey"];
        let field = |name: &str| key[name].as_str().unwrap().to_owned();
        (field("id"), field("secret"))
    }

    /// Like [`Server::gql`], for callers that want only the body.
    pub async fn gql_body(
        &self,
        token: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> serde_json::Value {
        self.gql(token, query, variables).await.1
    }

    /// Kills the process with SIGKILL, as a crash would, and returns its log.
    pub fn kill(mut self) -> String {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
        std::thread::sleep(Duration::from_millis(100));
        self.log()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let the reader thread drain the pipe.
        std::thread::sleep(Duration::from_millis(100));
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `s` is exactly one personal access token.
pub fn is_personal_access_token(s: &str) -> bool {
    s.strip_prefix("lmr_pat_")
        .is_some_and(|rest| rest.len() == 38 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `secret` with its last character changed to another, as a mistyped copy
/// would be. (Putting a fixed letter there would give the secret back
/// unchanged whenever it already ended in that letter.)
pub fn mistyped(secret: &str) -> String {
    let mut chars: Vec<char> = secret.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = if *last == 'x' { 'y' } else { 'x' };
    }
    chars.into_iter().collect()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// The seed's account id, `N007Account715`: the test server's Default account.
pub const ACCOUNT_715: &str = "TjAwN0FjY291bnQ3MTU";

/// A GraphQL document from the seed, copied verbatim into tests/lumar/.
pub fn lumar(name: &str) -> &'static str {
    match name {
        "CreateServiceAccount" => include_str!("../lumar/CreateServiceAccount.graphql"),
        "GetServiceAccounts" => include_str!("../lumar/GetServiceAccounts.graphql"),
        "GetServiceAccount" => include_str!("../lumar/GetServiceAccount.graphql"),
        "UpdateServiceAccount" => include_str!("../lumar/UpdateServiceAccount.graphql"),
        "DeleteServiceAccount" => include_str!("../lumar/DeleteServiceAccount.graphql"),
        "CreateServiceAccountKey" => include_str!("../lumar/CreateServiceAccountKey.graphql"),
        "GetServiceAccountKeys" => include_str!("../lumar/GetServiceAccountKeys.graphql"),
        "RevokeServiceAccountKey" => include_str!("../lumar/RevokeServiceAccountKey.graphql"),
        "CurlNodeAccount" => include_str!("../lumar/CurlNodeAccount.graphql"),
        other => panic!("no seed document {other}"),
    }
}

/// A server whose first-start account is number 715, as in the seed, with the
/// Admin's token at hand.
pub struct Api {
    pub server: Server,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub admin: String,
    pub http: reqwest::Client,
}

/// One HTTP answer: status, headers and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl Answer {
    /// The `data`, after checking that there are no errors.
    pub fn data(&self) -> &serde_json::Value {
        assert_eq!(self.status, 200, "{:#}", self.body);
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {:#}",
            self.body
        );
        &self.body["data"]
    }

    /// The first error's code and message.
    pub fn error(&self) -> (String, String) {
        let error = &self.body["errors"][0];
        assert!(error.is_object(), "expected an error: {:#}", self.body);
        (
            error["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            error["message"].as_str().unwrap_or_default().to_owned(),
        )
    }

    pub fn code(&self) -> String {
        self.error().0
    }
}

impl Api {
    pub async fn start() -> Api {
        Self::start_with(&[]).await
    }

    /// Starts the server with extra `serve` flags.
    pub async fn start_with(flags: &[&str]) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let backend = Backend::new(dir.path()).await;
        let migrated = run(dir.path(), &backend.with(&["migrate", "--create-database"]));
        assert!(
            migrated.status.success(),
            "{}",
            String::from_utf8_lossy(&migrated.stderr)
        );
        backend.next_account_id(715).await;
        let server = Server::start(dir.path(), &backend.with(flags));
        let admin = server.banner_token().expect("first-start token");
        Api {
            server,
            backend,
            dir,
            admin,
            http: client(),
        }
    }

    pub async fn post(&self, headers: &[(&str, &str)], body: serde_json::Value) -> Answer {
        let mut request = self.http.post(self.server.url("/graphql")).json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Runs a document as `token` (none when `None`), sent as `x-api-key`.
    pub async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: serde_json::Value,
    ) -> Answer {
        let body = serde_json::json!({ "query": query, "variables": variables });
        match token {
            Some(t) => self.post(&[("x-api-key", t)], body).await,
            None => self.post(&[], body).await,
        }
    }

    /// Runs a document as the Admin and returns its data.
    pub async fn admin(&self, query: &str, variables: serde_json::Value) -> serde_json::Value {
        self.gql(Some(&self.admin), query, variables)
            .await
            .data()
            .clone()
    }

    /// Creates a service account in account 715 and returns its id.
    pub async fn service_account(&self, name: &str, role: &str) -> String {
        self.server
            .create_service_account(&self.admin, ACCOUNT_715, name, role)
            .await
    }

    /// Issues a key for a service account and returns (key id, secret).
    pub async fn key(&self, service_account: &str) -> (String, String) {
        let data = self
            .admin(
                lumar("CreateServiceAccountKey"),
                serde_json::json!({ "input": { "serviceAccountId": service_account } }),
            )
            .await;
        let key = &data["createServiceAccountKey"];
        (
            key["id"].as_str().unwrap().to_owned(),
            key["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Adds a new user with `role` to an account and returns (user id, token).
    pub async fn member(
        &self,
        admin: &str,
        account: &str,
        username: &str,
        role: &str,
    ) -> (String, String) {
        let answer = self
            .gql(
                Some(admin),
                "mutation($input: AddAccountMemberInput!) { addAccountMember(input: $input) { \
                 accountMember { user { id } } initialToken } }",
                serde_json::json!({ "input": { "accountId": account, "username": username, "roleCode": role } }),
            )
            .await;
        let payload = &answer.data()["addAccountMember"];
        (
            payload["accountMember"]["user"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            payload["initialToken"].as_str().unwrap().to_owned(),
        )
    }

    /// Makes another account with its own Admin, through `keywarden bootstrap`;
    /// returns (account id, admin token).
    pub async fn other_account(&self, name: &str, admin: &str) -> (String, String) {
        let out = run(
            self.dir.path(),
            &self
                .backend
                .with(&["bootstrap", "--account", name, "--admin", admin]),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let me = self
            .gql(
                Some(&token),
                "{ me { ... on User { accounts { id name } } } }",
                serde_json::json!({}),
            )
            .await;
        let accounts = me.data()["me"]["accounts"].as_array().unwrap().clone();
        let id = accounts.iter().find(|a| a["name"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (id, token)
    }
}

/// The value of the series `name` (with its labels) in a `/metrics` text.
pub fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The shape of a `DateTime`: RFC 3339 in UTC with milliseconds.
pub fn is_datetime(v: &serde_json::Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.' && chrono_like(s)
    })
}

fn chrono_like(s: &str) -> bool {
    let digits = |r: std::ops::Range<usize>| s[r].bytes().all(|b| b.is_ascii_digit());
    digits(0..4) && &s[4..5] == "-" && digits(5..7) && &s[10..11] == "T" && digits(20..23)
}

/// The pepper the tests give a server on PostgreSQL.
/// The default SQLite database of a command run in `dir` (see [`keywarden`]).
pub fn sqlite_file(dir: &Path) -> std::path::PathBuf {
    dir.join("keywarden").join("keywarden.db")
}

pub const TEST_PEPPER: &str = "a pepper for the end-to-end tests, long enough";

/// Where a test's server keeps its data: the default SQLite file in the test's
/// directory, or, when `KEYWARDEN_TEST_POSTGRES_URL` names a server, a PostgreSQL
/// database of its own there.
pub struct Backend {
    pub url: String,
    args: Vec<String>,
    _database: Option<test_support::TestDatabase>,
}

impl Backend {
    pub async fn new(dir: &Path) -> Backend {
        match test_support::postgres_server() {
            Some(server) => {
                let database = test_support::TestDatabase::create(&server).await;
                let url = database.url();
                Backend {
                    args: vec![
                        "--database-url".to_owned(),
                        url.clone(),
                        "--pepper".to_owned(),
                        TEST_PEPPER.to_owned(),
                    ],
                    url,
                    _database: Some(database),
                }
            }
            None => Backend {
                url: format!("sqlite://{}?mode=rwc", sqlite_file(dir).display()),
                args: Vec::new(),
                _database: None,
            },
        }
    }

    pub fn is_postgres(&self) -> bool {
        self._database.is_some()
    }

    /// `args` followed by the flags that point a command at this backend.
    pub fn with<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        args.iter()
            .copied()
            .chain(self.args.iter().map(String::as_str))
            .collect()
    }

    pub async fn connect(&self) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(self.url.as_str()).await.unwrap()
    }

    /// Makes the next account created get `id`.
    pub async fn next_account_id(&self, id: i64) {
        let sql = if self.is_postgres() {
            format!("SELECT setval('accounts_id_seq', {})", id - 1)
        } else {
            format!(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('accounts', {})",
                id - 1
            )
        };
        let db = self.connect().await;
        sea_orm::ConnectionTrait::execute_unprepared(&db, &sql)
            .await
            .unwrap();
        db.close().await.unwrap();
    }
}
