//! Races a guard must win.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Api, lumar};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_revoke_is_answered_no_request_with_the_key_gets_in() {
    let api = Arc::new(Api::start().await);
    let sa = api.service_account("ci", "Viewer").await;
    let (key_id, key) = api.key(&sa).await;
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (api, key, stop) = (api.clone(), key.clone(), stop.clone());
            tokio::spawn(async move {
                // (when the request was sent, its status)
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let answer = api.gql(Some(&key), "{ me { id } }", json!({})).await;
                    seen.push((sent, answer.status));
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let revoked = api
        .admin(
            lumar("RevokeServiceAccountKey"),
            json!({ "input": { "serviceAccountKeyId": key_id } }),
        )
        .await;
    let answered = Instant::now();
    assert!(revoked["revokeServiceAccountKey"]["serviceAccountKey"]["revokedAt"].is_string());
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);

    let (mut before, mut after_ok, mut after_refused) = (0, 0, 0);
    for client in clients {
        for (sent, status) in client.await.unwrap() {
            if sent < answered {
                before += usize::from(status == 200);
            } else if status == 200 {
                after_ok += 1;
            } else {
                // 401, or 429 once this address has had too many refused.
                assert!(status == 401 || status == 429, "{status}");
                after_refused += 1;
            }
        }
    }
    assert!(before > 0, "the key worked before the revoke");
    assert!(after_refused > 0, "requests were sent after the revoke");
    assert_eq!(
        after_ok, 0,
        "{after_ok} requests got in after the revoke was answered"
    );
}
