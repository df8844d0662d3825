//! The commands: first start, restart, bootstrap, shutdown, configuration errors.

use std::os::unix::fs::PermissionsExt;

use crate::support::{Backend, Server, client, is_personal_access_token, run};

#[tokio::test]
async fn the_first_start_in_an_empty_directory_makes_a_database_a_pepper_and_an_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let token = server
        .banner_token()
        .expect("a first-start banner with a token");
    assert!(is_personal_access_token(&token), "{token}");
    assert!(dir.path().join("keywarden.db").exists());
    let pepper = dir.path().join("keywarden.db.pepper");
    let mode = std::fs::metadata(&pepper).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(server.log().contains("made a new pepper"));

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
        &backend.with(&["bootstrap", "--account", "Acme", "--admin", "alice"]),
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
    let out = run(dir.path(), &backend.with(&["migrate"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = run(dir.path(), &backend.with(&["migrate"]));
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("No pending migrations"));
}
