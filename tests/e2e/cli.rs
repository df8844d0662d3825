//! The commands: first start, restart, bootstrap, shutdown, configuration errors.

use std::os::unix::fs::PermissionsExt;

use crate::support::{Backend, Server, client, is_personal_access_token, keywarden, run};

#[tokio::test]
async fn the_first_start_in_an_empty_directory_makes_a_database_a_pepper_and_an_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let token = server
        .banner_token()
        .expect("a first-start banner with a token");
    assert!(is_personal_access_token(&token), "{token}");
    // In the data directory, made for its owner alone.
    let data = dir.path().join("keywarden");
    assert!(data.join("keywarden.db").exists());
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let pepper = data.join("keywarden.db.pepper");
    let mode = std::fs::metadata(&pepper).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(server.log().contains("made a new pepper"));
    // The start names the release and the commit it was built from.
    let commit = crate::support::built_commit();
    assert!(
        server.log_has_line(&[
            "keywarden starting",
            &format!("version=\"{}\"", env!("CARGO_PKG_VERSION")),
            &format!("commit=\"{commit}\""),
        ]),
        "{}",
        server.log()
    );

    let http = client();
    for path in ["/healthz", "/readyz"] {
        let response = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let response = http
        .get(server.url("/v1/verify"))
        .header("x-api-key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-keywarden-role"], "Admin");
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let commit = crate::support::built_commit();
    if let Some(given) = option_env!("KEYWARDEN_COMMIT") {
        assert_eq!(commit, given);
        return;
    }
    // Built in this checkout: its HEAD, marked when tracked files differ.
    let head = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short=12",
            "HEAD",
        ])
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap();
    let built = commit.strip_suffix("-modified").unwrap_or(&commit);
    assert_eq!(built, head.trim(), "{commit}");
    assert_eq!(built.len(), 12);
}

#[tokio::test]
async fn sigterm_as_soon_as_the_server_listens_is_a_clean_shutdown() {
    // The signal handlers must be in place before the server says it listens;
    // several rounds, since the window they would otherwise leave is short.
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    for round in 0..8 {
        let server = Server::start(dir.path(), &backend.with(&[]));
        let (status, log) = server.terminate();
        assert!(
            status.success(),
            "round {round}: SIGTERM right after listening: {status}\n{log}"
        );
        assert!(log.contains("stopped"), "round {round}:\n{log}");
    }
}

#[tokio::test]
async fn a_restart_keeps_the_pepper_and_the_tokens_and_shows_no_second_banner() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let first = Server::start(dir.path(), &backend.with(&[]));
    let token = first.banner_token().unwrap();
    let (status, log) = first.terminate();
    assert!(
        status.success(),
        "SIGTERM should end the server cleanly: {status}\n{log}"
    );
    assert!(log.contains("stopped"));

    let second = Server::start(dir.path(), &backend.with(&[]));
    assert_eq!(second.banner_token(), None, "{}", second.log());
    let response = client()
        .get(second.url("/v1/verify"))
        .header("x-api-key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn bootstrap_prints_only_the_token_even_while_a_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let server = Server::start(dir.path(), &backend.with(&[]));
    let out = run(
        dir.path(),
        &backend.with(&["bootstrap", "--account", "Acme", "--admin", "alice"]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.strip_suffix('\n').expect("one line");
    assert!(is_personal_access_token(token), "stdout was {stdout:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(token));

    let response = client()
        .get(server.url("/v1/verify"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-keywarden-role"], "Admin");
    assert!(
        !server.log().contains(token),
        "the server logged a presented token"
    );

    // The same account again is refused, with nothing on stdout.
    let again = run(
        dir.path(),
        &backend.with(&["bootstrap", "--account", "Acme", "--admin", "bob"]),
    );
    assert!(!again.status.success());
    assert!(again.stdout.is_empty());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[tokio::test]
async fn bootstrap_on_a_fresh_database_works_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let out = run(
        dir.path(),
        &backend.with(&[
            "bootstrap",
            "--account",
            "Acme",
            "--admin",
            "alice",
            "--create-database",
        ]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    // A server started afterwards shares the pepper, accepts the token and,
    // finding an account, makes no Default one.
    let server = Server::start(dir.path(), &backend.with(&[]));
    assert_eq!(server.banner_token(), None);
    let response = client()
        .get(server.url("/v1/verify"))
        .header("x-api-key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn bad_configuration_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["bootstrap", "--account", "Acme", "--admin", "has space"],
            "username",
        ),
        (&["bootstrap", "--account", "", "--admin", "alice"], "blank"),
        // Refused before any connection: the database named here does not exist.
        (
            &[
                "bootstrap",
                "--account",
                "Acme",
                "--admin",
                "alice",
                "--database-url",
                "postgres://postgres@127.0.0.1:5432/keywarden_never_created",
            ],
            "KEYWARDEN_PEPPER",
        ),
        (
            &[
                "bootstrap",
                "--account",
                "Acme",
                "--admin",
                "alice",
                "--pepper",
                "too short",
                "--create-database",
            ],
            "at least 32 bytes",
        ),
    ];
    for (args, expected) in cases {
        let out = run(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[tokio::test]
async fn migrate_applies_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let out = run(dir.path(), &backend.with(&["migrate", "--create-database"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = run(dir.path(), &backend.with(&["migrate", "--create-database"]));
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("No pending migrations"));
}

#[tokio::test]
async fn options_come_before_or_after_the_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/k.db?mode=rwc", dir.path().display());
    for args in [
        vec![
            "--log-format",
            "json",
            "--database-url",
            &url,
            "migrate",
            "--create-database",
        ],
        vec!["migrate", "--log-format", "json", "--database-url", &url],
    ] {
        let out = run(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(
            !stderr.is_empty() && stderr.lines().all(|l| l.starts_with('{')),
            "{args:?}: {stderr}"
        );
    }
    // `serve`'s options before `serve`, and without the word.
    for args in [
        vec!["--listen", "127.0.0.1:0", "--log-format", "json", "serve"],
        vec!["--log-format", "json", "--listen", "127.0.0.1:0"],
    ] {
        let server =
            Server::start_exactly(dir.path(), &[&["--database-url", &url][..], &args].concat());
        assert!(server.log().starts_with('{'), "{args:?}: {}", server.log());
        let ok = client().get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(ok.status(), 200);
    }
    // An option of `serve` given to another subcommand is refused, not ignored.
    let out = run(
        dir.path(),
        &["--listen", "0.0.0.0:9", "migrate", "--database-url", &url],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--listen is an option of `serve`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // From the environment it is fine: one environment serves every subcommand.
    let out = keywarden(dir.path())
        .args(["migrate", "--database-url", &url])
        .env("KEYWARDEN_LISTEN", "0.0.0.0:9")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn every_subcommand_finds_the_same_database_from_any_directory() {
    let data = tempfile::tempdir().unwrap();
    let here = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let with_data = |dir: &std::path::Path, args: &[&str]| {
        keywarden(dir)
            .args(args)
            .env("XDG_DATA_HOME", data.path())
            .output()
            .unwrap()
    };
    // The server runs in one directory; bootstrap runs in another and still
    // reaches its database (the server accepts the new Admin's token).
    let server = Server::start_with_env(
        here.path(),
        &[],
        &[("XDG_DATA_HOME", data.path().to_str().unwrap())],
    );
    let boot = with_data(
        elsewhere.path(),
        &["bootstrap", "--account", "Acme", "--admin", "alice"],
    );
    assert!(
        boot.status.success(),
        "{}",
        String::from_utf8_lossy(&boot.stderr)
    );
    let token = String::from_utf8(boot.stdout).unwrap().trim().to_owned();
    let ok = client()
        .get(server.url("/v1/verify"))
        .header("x-api-key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(data.path().join("keywarden").join("keywarden.db").is_file());
    for dir in [here.path(), elsewhere.path()] {
        assert!(!dir.join("keywarden.db").exists());
        assert!(!dir.join("keywarden").exists());
    }
    // A relative database path from a directory that has none: refused, with
    // the path it would have made, and nothing made.
    let out = run(
        elsewhere.path(),
        &[
            "bootstrap",
            "--account",
            "Beta",
            "--admin",
            "bob",
            "--database-url",
            "sqlite://keywarden.db?mode=rwc",
        ],
    );
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "there is no database at {}",
        elsewhere.path().join("keywarden.db").display()
    );
    assert!(said.contains(&expected), "{said}");
    assert!(said.contains("--create-database"), "{said}");
    assert!(out.stdout.is_empty());
    assert!(!elsewhere.path().join("keywarden.db").exists());
    assert!(!elsewhere.path().join("keywarden.db.pepper").exists());
    let out = run(
        elsewhere.path(),
        &[
            "migrate",
            "--database-url",
            "sqlite://keywarden.db?mode=rwc",
        ],
    );
    assert!(!out.status.success());
    assert!(!elsewhere.path().join("keywarden.db").exists());
}

#[tokio::test]
async fn a_first_start_can_install_the_operators_own_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let made = run(dir.path(), &["new-token"]);
    assert!(made.status.success());
    let token = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(is_personal_access_token(&token), "{token}");
    let again = String::from_utf8(run(dir.path(), &["new-token"]).stdout).unwrap();
    assert_ne!(again.trim(), token, "each is new");
    assert!(
        !dir.path().join("keywarden").exists(),
        "new-token touches no database"
    );

    let secret_file = dir.path().join("admin-token");
    std::fs::write(&secret_file, format!("{token}\n")).unwrap();
    let env = [
        ("KEYWARDEN_INITIAL_ACCOUNT", "Platform"),
        ("KEYWARDEN_INITIAL_ADMIN", "ops"),
        (
            "KEYWARDEN_INITIAL_ADMIN_TOKEN_FILE",
            secret_file.to_str().unwrap(),
        ),
    ];
    let server = Server::start_with_env(dir.path(), &[], &env);
    assert_eq!(
        server.banner_token(),
        None,
        "nothing to show: the operator has it"
    );
    assert!(!server.stdout().contains(&token));
    assert!(!server.log().contains(&token));
    let me = server
        .gql_body(
            &token,
            "{ me { ... on User { username accounts { name } } } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        me["data"]["me"],
        serde_json::json!({ "username": "ops", "accounts": [{ "name": "Platform" }] })
    );
    drop(server);
    // A later start with the same settings leaves everything as it is.
    let server = Server::start_with_env(dir.path(), &[], &env);
    assert!(server.log_contains("left alone"));
    let me = server
        .gql_body(
            &token,
            "{ me { ... on User { accounts { name } } } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(me["data"]["me"]["accounts"].as_array().unwrap().len(), 1);
}

#[test]
fn a_malformed_initial_token_stops_the_first_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = "lmr_sa_7_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZab";
    for (token, said) in [
        ("lmr_pat_typo", "not a personal access token"),
        (key, "not a personal access token"),
        ("", "not a personal access token"),
    ] {
        let out = keywarden(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("KEYWARDEN_INITIAL_ADMIN_TOKEN", token)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{token:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(said) && stderr.contains("keywarden new-token"),
            "{token:?}: {stderr}"
        );
        assert!(
            !stderr.contains(token) || token.is_empty(),
            "the token is not repeated back"
        );
    }
    assert!(
        !dir.path().join("keywarden").exists(),
        "refused before any database is made"
    );
}

#[tokio::test]
async fn a_lost_admin_token_is_recovered_from_the_servers_machine() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let server = Server::start(dir.path(), &backend.with(&[]));
    let lost = server.banner_token().unwrap();
    // Run beside the running server, as its operator would.
    let out = run(
        dir.path(),
        &backend.with(&["recover-admin", "--account", "Default", "--admin", "admin"]),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(is_personal_access_token(&token), "{token}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&token));
    let check = |t: String| {
        let server = &server;
        async move {
            client()
                .get(server.url("/v1/verify"))
                .header("x-api-key", t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(check(token.clone()).await, 200);
    assert_eq!(check(lost).await, 401, "the lost token is revoked at once");
    // A name that is not an Admin there is refused, with nothing on stdout.
    let out = run(
        dir.path(),
        &backend.with(&["recover-admin", "--account", "Default", "--admin", "nobody"]),
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("User not found"));
}

/// An upgrade in place: the earlier release kept its database in the
/// directory it ran in. Started there with nothing named, keywarden refuses
/// to make a new, empty database, naming both files; named, the old one is
/// used, and its credentials work.
#[tokio::test]
async fn an_earlier_releases_database_where_keywarden_runs_is_found_not_replaced() {
    let here = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let old_url = "sqlite://keywarden.db?mode=rwc";
    let boot = run(
        here.path(),
        &[
            "bootstrap",
            "--account",
            "Acme",
            "--admin",
            "alice",
            "--database-url",
            old_url,
            "--create-database",
        ],
    );
    assert!(
        boot.status.success(),
        "{}",
        String::from_utf8_lossy(&boot.stderr)
    );
    let token = String::from_utf8(boot.stdout).unwrap().trim().to_owned();
    let old = here.path().join("keywarden.db");
    assert!(old.is_file());

    let refused = keywarden(here.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("XDG_DATA_HOME", data.path())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    let new = data.path().join("keywarden").join("keywarden.db");
    for part in [old.display().to_string(), new.display().to_string()] {
        assert!(message.contains(&part), "{part} not in {message}");
    }
    assert!(!new.exists(), "no new database was made");

    let server = Server::start_with_env(
        here.path(),
        &["--database-url", old_url],
        &[("XDG_DATA_HOME", data.path().to_str().unwrap())],
    );
    let ok = client()
        .get(server.url("/v1/verify"))
        .header("x-api-key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}
