//! Several `keywarden serve` processes on one database: whatever one of them
//! changes, every other honours on its very next request.

use serde_json::{Value, json};

use crate::support::{Backend, Server, lumar, run};

const ME: &str = "{ me { ... on ServiceAccount { roleCode } } }";

#[tokio::test]
async fn two_servers_on_one_database_honour_each_others_changes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let migrated = run(dir.path(), &backend.with(&["migrate", "--create-database"]));
    assert!(migrated.status.success());
    let first = Server::start(dir.path(), &backend.with(&[]));
    let second = Server::start(dir.path(), &backend.with(&[]));
    let admin = first
        .banner_token()
        .expect("the first server sets up the account");
    assert_eq!(second.banner_token(), None, "only one first start");

    // An Admin token made through the first works through the second.
    let account = second.first_account(&admin).await;
    let sa = first
        .create_service_account(&admin, &account, "ci", "Admin")
        .await;
    let (key_id, secret) = first.create_key(&admin, &sa).await;
    let (status, me) = second.gql(&secret, ME, json!({})).await;
    assert_eq!(
        (status, me["data"]["me"]["roleCode"].as_str()),
        (200, Some("Admin"))
    );

    let update = |server: &'static str, input: Value| {
        let (first, second, admin) = (&first, &second, &admin);
        async move {
            let server = if server == "first" { first } else { second };
            let (status, body) = server
                .gql(
                    admin,
                    lumar("UpdateServiceAccount"),
                    json!({ "input": input }),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert!(body.get("errors").is_none(), "{body}");
        }
    };
    // Disable through the first: refused by the second at once.
    update("first", json!({ "serviceAccountId": sa, "enabled": false })).await;
    assert_eq!(second.gql(&secret, ME, json!({})).await.0, 401);
    // Enable through the second: accepted by the first at once.
    update("second", json!({ "serviceAccountId": sa, "enabled": true })).await;
    assert_eq!(first.gql(&secret, ME, json!({})).await.0, 200);
    // A role change through the first shows on the second.
    update(
        "first",
        json!({ "serviceAccountId": sa, "roleCode": "Viewer" }),
    )
    .await;
    let (_, me) = second.gql(&secret, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["roleCode"], "Viewer");
    // A revoke through the second is refused by the first.
    let (status, _) = second
        .gql(
            &admin,
            lumar("RevokeServiceAccountKey"),
            json!({ "input": { "serviceAccountKeyId": key_id } }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(first.gql(&secret, ME, json!({})).await.0, 401);
    assert_eq!(second.gql(&secret, ME, json!({})).await.0, 401);
}

#[tokio::test]
async fn servers_started_together_migrate_an_empty_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let args = backend.with(&["migrate", "--create-database"]);
    let migrations: Vec<_> = (0..4)
        .map(|_| {
            crate::support::keywarden(dir.path())
                .args(&args)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in migrations {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let server = Server::start(dir.path(), &backend.with(&[]));
    assert!(server.banner_token().is_some());
}

/// Three servers, each with the key cached: a revoke answered by one is refused
/// by each of the others on its very next request, round after round.
#[tokio::test]
async fn a_revoke_answered_by_one_server_is_refused_by_every_server_next() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let migrated = run(dir.path(), &backend.with(&["migrate", "--create-database"]));
    assert!(migrated.status.success());
    let servers: Vec<Server> = (0..3)
        .map(|_| Server::start(dir.path(), &backend.with(&[])))
        .collect();
    let admin = servers
        .iter()
        .find_map(Server::banner_token)
        .expect("one server sets up the account");
    let account = servers[0].first_account(&admin).await;
    let sa = servers[0]
        .create_service_account(&admin, &account, "ci", "Editor")
        .await;
    for round in 0..6 {
        let (_, key) = servers[round % 3]
            .gql(
                &admin,
                lumar("CreateServiceAccountKey"),
                json!({ "input": { "serviceAccountId": sa } }),
            )
            .await;
        let created = &key["data"]["createServiceAccountKey"];
        let secret = created["secret"].as_str().unwrap().to_owned();
        for server in &servers {
            assert_eq!(server.gql(&secret, ME, json!({})).await.0, 200);
        }
        let revoker = &servers[(round + 1) % 3];
        let (status, body) = revoker
            .gql(
                &admin,
                lumar("RevokeServiceAccountKey"),
                json!({ "input": { "serviceAccountKeyId": created["id"] } }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        for (i, server) in servers.iter().enumerate() {
            assert_eq!(
                server.gql(&secret, ME, json!({})).await.0,
                401,
                "round {round}: server {i} still accepted the key"
            );
        }
    }
}

/// A group's grant, a set and a membership changed through one process are the
/// other's next answer to a gateway, on whichever database the suite runs.
#[tokio::test]
async fn grants_changed_through_one_server_are_the_others_next_answer() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let migrated = run(dir.path(), &backend.with(&["migrate", "--create-database"]));
    assert!(migrated.status.success());
    let first = Server::start(dir.path(), &backend.with(&[]));
    let second = Server::start(dir.path(), &backend.with(&[]));
    let admin = first.banner_token().unwrap();
    let account = first.first_account(&admin).await;
    let gql = |server: &'static str, query: &'static str, variables: Value| {
        let (first, second, admin) = (&first, &second, &admin);
        async move {
            let server = if server == "first" { first } else { second };
            let (status, body) = server.gql(admin, query, variables).await;
            assert_eq!(status, 200, "{body}");
            assert!(body.get("errors").is_none(), "{body}");
            body["data"].clone()
        }
    };
    let made = gql(
        "first",
        "mutation($a: ObjectID!) {
           p: createProject(input: { accountId: $a, name: \"web\" }) { project { id } }
           q: createPermission(input: { accountId: $a, name: \"jobs:run\" }) { permission { id } }
           r: createPermission(input: { accountId: $a, name: \"docs:read\" }) { permission { id } }
           s: createPermissionSet(input: { accountId: $a, name: \"runner\", permissions: [\"jobs:run\"] }) { permissionSet { id } }
           g: createGroup(input: { accountId: $a, name: \"ci\" }) { group { id } }
         }",
        json!({ "a": account }),
    )
    .await;
    let (project, set, group) = (
        made["p"]["project"]["id"].clone(),
        made["s"]["permissionSet"]["id"].clone(),
        made["g"]["group"]["id"].clone(),
    );
    let sa = first
        .create_service_account(&admin, &account, "ci", "Viewer")
        .await;
    let (_, key) = first.create_key(&admin, &sa).await;
    let http = crate::support::client();
    let ask = |permission: &'static str| {
        let request = http
            .get(second.url(&format!("/v1/verify?permission={permission}&project=web")))
            .header("x-api-key", key.clone());
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(ask("jobs:run").await, 403);
    gql(
        "first",
        "mutation($g: ObjectID!, $s: ObjectID!, $p: ObjectID!, $m: ObjectID!) {
           createGroupGrant(input: { groupId: $g, permissionSetId: $s, projectIds: [$p] }) { groupGrant { id } }
           addGroupMembers(input: { groupId: $g, memberIds: [$m] }) { group { id } }
         }",
        json!({ "g": group, "s": set, "p": project, "m": sa }),
    )
    .await;
    assert_eq!(ask("jobs:run").await, 200);
    assert_eq!(ask("docs:read").await, 403);
    gql(
        "first",
        "mutation($s: ObjectID!) {
           updatePermissionSet(input: { permissionSetId: $s, permissions: [\"docs:read\"] }) { permissionSet { id } }
         }",
        json!({ "s": set }),
    )
    .await;
    assert_eq!(ask("docs:read").await, 200);
    assert_eq!(ask("jobs:run").await, 403);
    gql(
        "first",
        "mutation($g: ObjectID!, $m: ObjectID!) {
           removeGroupMembers(input: { groupId: $g, memberIds: [$m] }) { group { id } }
         }",
        json!({ "g": group, "m": sa }),
    )
    .await;
    assert_eq!(ask("docs:read").await, 403);
}
