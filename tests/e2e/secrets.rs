//! No secret it issued, and not the pepper, appears in the server's whole log or
//! anywhere in its database.

use serde_json::json;

use crate::support::{Backend, Server, TEST_PEPPER, lumar, run};

#[tokio::test]
async fn no_secret_reaches_the_log_or_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    // Bootstrapped beforehand, so the server shows no banner: its whole log must
    // then be free of every secret.
    let boot = run(
        dir.path(),
        &backend.with(&[
            "bootstrap",
            "--account",
            "Acme",
            "--admin",
            "alice",
            "--log",
            "debug",
            "--create-database",
        ]),
    );
    assert!(boot.status.success());
    let admin = String::from_utf8(boot.stdout).unwrap().trim().to_owned();
    let mut log = String::from_utf8_lossy(&boot.stderr).into_owned();
    let server = Server::start(
        dir.path(),
        &backend.with(&["--log", "debug", "--usage-flush-interval", "1"]),
    );
    let mut secrets = vec![admin.clone()];

    let account = server.first_account(&admin).await;
    let sa = server
        .create_service_account(&admin, &account, "ci", "Editor")
        .await;
    let key = server
        .gql_body(
            &admin,
            lumar("CreateServiceAccountKey"),
            json!({ "input": { "serviceAccountId": sa } }),
        )
        .await;
    let key = &key["data"]["createServiceAccountKey"];
    secrets.push(key["secret"].as_str().unwrap().to_owned());
    let rotated = server.gql_body(
        &admin,
        "mutation($i: RotateServiceAccountKeyInput!) { rotateServiceAccountKey(input: $i) { id secret } }",
        json!({ "i": { "serviceAccountKeyId": key["id"], "overlapSeconds": 60 } }),
    )
    .await;
    secrets.push(
        rotated["data"]["rotateServiceAccountKey"]["secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let token = server.gql_body(
        &admin,
        "mutation($i: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $i) { id secret } }",
        json!({ "i": { "expiresAt": "2099-01-01T00:00:00Z" } }),
    )
    .await;
    let token = &token["data"]["createPersonalAccessToken"];
    secrets.push(token["secret"].as_str().unwrap().to_owned());
    let rotated_token = server.gql_body(
        &admin,
        "mutation($i: RotatePersonalAccessTokenInput!) { rotatePersonalAccessToken(input: $i) { secret } }",
        json!({ "i": { "personalAccessTokenId": token["id"], "expiresAt": "2099-02-01T00:00:00Z" } }),
    )
    .await;
    secrets.push(
        rotated_token["data"]["rotatePersonalAccessToken"]["secret"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let member = server
        .gql_body(
            &admin,
            "mutation($i: AddAccountMemberInput!) { addAccountMember(input: $i) { initialToken } }",
            json!({ "i": { "accountId": account, "username": "bob", "roleCode": "Viewer" } }),
        )
        .await;
    secrets.push(
        member["data"]["addAccountMember"]["initialToken"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    assert_eq!(secrets.len(), 6);

    // Every secret is used; the revoked one and the old token secret are refused.
    for secret in &secrets {
        server.gql_body(secret, "{ me { id } }", json!({})).await;
    }
    server
        .gql_body(
            &admin,
            lumar("RevokeServiceAccountKey"),
            json!({ "input": { "serviceAccountKeyId": key["id"] } }),
        )
        .await;
    server
        .gql_body(&secrets[1], "{ me { id } }", json!({}))
        .await;
    // Let the usage writer run, then stop the server so its log is complete.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, server_log) = server.terminate();
    log.push_str(&server_log);
    assert!(log.contains("credential refused"), "the log is captured");

    let db = backend.connect().await;
    let stored = test_support::dump(&db, &crate::support::sqlite_file(dir.path())).await;
    assert!(stored.contains("Acme"), "the dump reads the tables");
    let pepper = if backend.is_postgres() {
        TEST_PEPPER.to_owned()
    } else {
        std::fs::read_to_string(dir.path().join("keywarden").join("keywarden.db.pepper"))
            .unwrap()
            .trim()
            .to_owned()
    };
    for secret in &secrets {
        let random = &secret[secret.len() - 38..secret.len() - 6];
        assert!(!test_support::holds(&log, random), "the log holds {secret}");
        assert!(
            !test_support::holds(&stored, random),
            "the database holds {secret}"
        );
    }
    assert!(
        !test_support::holds(&log, &pepper),
        "the log holds the pepper"
    );
    assert!(
        !test_support::holds(&stored, &pepper),
        "the database holds the pepper"
    );
}
