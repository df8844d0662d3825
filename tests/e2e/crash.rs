//! A crash in the middle of a burst of changes: every change that was answered
//! survives with its audit event, and nothing exists half done.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Backend, Server, client, lumar, run};

/// Sends one document; `None` when the server is gone.
async fn send(base: &str, token: &str, query: &str, variables: Value) -> Option<Value> {
    let response = client()
        .post(format!("{base}/graphql"))
        .header("x-api-key", token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

#[derive(Default)]
struct Answered {
    /// Key id to secret, for creations the server answered.
    created: HashMap<String, String>,
    /// Key ids whose revocation the server answered.
    revoked: HashSet<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_mid_burst_keeps_every_answered_change_and_nothing_half_done() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    assert!(
        run(dir.path(), &backend.with(&["migrate", "--create-database"]))
            .status
            .success()
    );
    let server = Server::start(dir.path(), &backend.with(&[]));
    let admin = server.banner_token().unwrap();
    let account = server.first_account(&admin).await;
    let sa = server
        .create_service_account(&admin, &account, "ci", "Viewer")
        .await;

    let answered = Arc::new(Mutex::new(Answered::default()));
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let (base, admin, sa, answered) = (
                server.base.clone(),
                admin.clone(),
                sa.clone(),
                answered.clone(),
            );
            tokio::spawn(async move {
                let mut previous: Option<String> = None;
                for _ in 0..8 {
                    let Some(body) = send(
                        &base,
                        &admin,
                        lumar("CreateServiceAccountKey"),
                        json!({ "input": { "serviceAccountId": sa } }),
                    )
                    .await
                    else {
                        return;
                    };
                    let key = &body["data"]["createServiceAccountKey"];
                    let (Some(id), Some(secret)) = (key["id"].as_str(), key["secret"].as_str())
                    else {
                        return;
                    };
                    answered
                        .lock()
                        .unwrap()
                        .created
                        .insert(id.to_owned(), secret.to_owned());
                    if let Some(old) = previous.replace(id.to_owned()) {
                        let Some(body) = send(
                            &base,
                            &admin,
                            lumar("RevokeServiceAccountKey"),
                            json!({ "input": { "serviceAccountKeyId": old } }),
                        )
                        .await
                        else {
                            return;
                        };
                        if body["data"]["revokeServiceAccountKey"]["serviceAccountKey"]["revokedAt"]
                            .is_string()
                        {
                            answered.lock().unwrap().revoked.insert(old);
                        }
                    }
                }
            })
        })
        .collect();
    // Crash once the burst is well under way.
    for _ in 0..500 {
        if answered.lock().unwrap().created.len() >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    for worker in workers {
        worker.await.unwrap();
    }
    let answered = std::mem::take(&mut *answered.lock().unwrap());
    assert!(
        (10..48).contains(&answered.created.len()),
        "the crash came in the middle of the burst ({} of 48 answered)",
        answered.created.len()
    );

    let server = Server::start(dir.path(), &backend.with(&[]));
    let (_, keys) = server
        .gql(
            &admin,
            "query($id: ObjectID!) { serviceAccount(id: $id) { keys { id revokedAt } } }",
            json!({ "id": sa }),
        )
        .await;
    let keys: HashMap<String, Value> = keys["data"]["serviceAccount"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["id"].as_str().unwrap().to_owned(), k["revokedAt"].clone()))
        .collect();
    let (_, log) = server
        .gql(&admin, "query($id: ObjectID!) { getAccount(id: $id) { auditEvents(first: 100) { totalCount nodes { action targetId } } } }", json!({ "id": account }))
        .await;
    let log = &log["data"]["getAccount"]["auditEvents"];
    assert!(log["totalCount"].as_i64().unwrap() <= 100);
    let events: Vec<(String, String)> = log["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["targetId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let has_event = |action: &str, id: &str| events.iter().any(|(a, t)| a == action && t == id);

    for id in answered.created.keys() {
        assert!(keys.contains_key(id), "an answered creation was lost: {id}");
    }
    for (id, revoked_at) in &keys {
        assert!(
            has_event("service_account_key.create", id),
            "a key exists without its audit event: {id}"
        );
        if revoked_at.is_string() {
            assert!(
                has_event("service_account_key.revoke", id),
                "a revocation without its audit event: {id}"
            );
        }
    }
    for (action, id) in &events {
        if action == "service_account_key.revoke" {
            assert!(
                keys[id].is_string(),
                "an audit event without its revocation: {id}"
            );
        }
    }
    for id in &answered.revoked {
        assert!(
            keys[id].is_string(),
            "an answered revocation was lost: {id}"
        );
        let secret = &answered.created[id];
        assert_eq!(server.gql(secret, "{ me { id } }", json!({})).await.0, 401);
    }
    if !backend.is_postgres() {
        let db = backend.connect().await;
        let check = sea_orm::ConnectionTrait::query_one_raw(
            &db,
            sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "PRAGMA integrity_check"),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            check.try_get::<String>("", "integrity_check").unwrap(),
            "ok"
        );
    }
}
