//! Which credentials are used, over HTTP: a key's and a token's last use
//! with the client's address (as the trusted proxy forwarded for it) and
//! `User-Agent`, and `unusedCredentials`, paged, for the account's Admins
//! only, with coded refusals of bad input.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{ACCOUNT_715, Api, client};

const KEY_USE: &str = "query($id: ObjectID!) { node(id: $id) { ... on ServiceAccountKey { \
  lastUsedAt lastUsedFrom lastUsedUserAgent } } }";

const UNUSED: &str = "query($a: ObjectID!, $days: Int!, $first: Int, $after: String) { \
  unusedCredentials(accountId: $a, days: $days, first: $first, after: $after) { \
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } \
    nodes { id kind name lastUsedAt idleSince serviceAccountKey { id serviceAccount { name } } user { id } } } }";

/// Polls `read` until `done` says its answer is there (uses are written
/// every second in these tests).
async fn eventually<F, Fut>(what: &str, read: F, done: impl Fn(&Value) -> bool) -> Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} never happened: {value}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_last_use_keeps_the_forwarded_client_and_its_agent() {
    let api = Api::start_with(&[
        "--trusted-proxies",
        "127.0.0.1",
        "--usage-flush-interval",
        "1",
    ])
    .await;
    let sa = api.service_account("deployer", "Editor").await;
    let (key_id, key) = api.key(&sa).await;
    let verified = client()
        .get(api.server.url("/v1/verify"))
        .header("x-api-key", &key)
        .header("x-forwarded-for", "203.0.113.5")
        .header("user-agent", "deploy-bot/2.0 (+ci)")
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    let used = eventually(
        "the key's use written down",
        || api.admin(KEY_USE, json!({ "id": key_id })),
        |v| !v["node"]["lastUsedAt"].is_null(),
    )
    .await;
    assert_eq!(used["node"]["lastUsedFrom"], "203.0.113.5");
    assert_eq!(used["node"]["lastUsedUserAgent"], "deploy-bot/2.0 (+ci)");

    // A member's token used on /graphql: its owner sees where from.
    let (_, bob) = api.member(&api.admin, ACCOUNT_715, "bob", "Viewer").await;
    let me = "{ me { ... on User { personalAccessTokens { lastUsedAt lastUsedFrom lastUsedUserAgent } } } }";
    let read_own = || async {
        api.post(
            &[
                ("x-api-key", bob.as_str()),
                ("x-forwarded-for", "2001:db8::7"),
                ("user-agent", "terraform/1.9"),
            ],
            json!({ "query": me }),
        )
        .await
        .data()
        .clone()
    };
    let own = eventually("the token's use written down", read_own, |v| {
        !v["me"]["personalAccessTokens"][0]["lastUsedAt"].is_null()
    })
    .await;
    let token = &own["me"]["personalAccessTokens"][0];
    assert_eq!(token["lastUsedFrom"], "2001:db8::7");
    assert_eq!(token["lastUsedUserAgent"], "terraform/1.9");
}

#[tokio::test]
async fn unused_credentials_are_listed_longest_idle_first_for_admins_only() {
    let api = Api::start_with(&["--usage-flush-interval", "1"]).await;
    let sa = api.service_account("nightly", "Viewer").await;
    let (first_id, _) = api.key(&sa).await;
    let (second_id, _) = api.key(&sa).await;
    let (used_id, used) = api.key(&sa).await;
    assert_eq!(api.server.verify_status(&used).await, 200);
    eventually(
        "the key's use written down",
        || api.admin(KEY_USE, json!({ "id": used_id })),
        |v| !v["node"]["lastUsedAt"].is_null(),
    )
    .await;

    let unused = |first: Option<i64>, after: Option<String>| {
        api.admin(
            UNUSED,
            json!({ "a": ACCOUNT_715, "days": 30, "first": first, "after": after }),
        )
    };
    let all = unused(None, None).await;
    let keys: Vec<Value> = all["unusedCredentials"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "SERVICE_ACCOUNT_KEY")
        .cloned()
        .collect();
    let ids: Vec<&str> = keys.iter().map(|k| k["id"].as_str().unwrap()).collect();
    // Never used, in the order they were made; the used key is not idle.
    assert_eq!(ids, [first_id.as_str(), second_id.as_str()], "{all}");
    assert!(keys.iter().all(|k| k["lastUsedAt"].is_null()));
    assert_eq!(
        keys[0]["serviceAccountKey"]["serviceAccount"]["name"],
        "nightly"
    );
    assert_eq!(keys[0]["user"], Value::Null);
    let total = all["unusedCredentials"]["totalCount"].as_i64().unwrap();
    assert!(total >= 2, "{all}");

    // Paged one at a time, the pages make the whole list.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = unused(Some(1), after.clone()).await;
        let page = &page["unusedCredentials"];
        assert_eq!(page["totalCount"].as_i64(), Some(total));
        assert_eq!(page["nodes"][0]["id"], page["edges"][0]["node"]["id"]);
        seen.push(page["nodes"][0]["id"].clone());
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        assert_eq!(page["edges"][0]["cursor"].as_str(), after.as_deref());
    }
    let whole: Vec<Value> = all["unusedCredentials"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].clone())
        .collect();
    assert_eq!(seen, whole);

    // Bad input is refused with a code, and only Admins of the account read it.
    for (days, after) in [(0, None), (3651, None), (30, Some("not-a-cursor"))] {
        let answer = api
            .gql(
                Some(&api.admin),
                UNUSED,
                json!({ "a": ACCOUNT_715, "days": days, "after": after }),
            )
            .await;
        assert_eq!(
            answer.code(),
            "BAD_USER_INPUT",
            "{days} {after:?}: {:?}",
            answer.body
        );
    }
    let long_cursor = "A".repeat(101);
    let answer = api
        .gql(
            Some(&api.admin),
            UNUSED,
            json!({ "a": ACCOUNT_715, "days": 30, "after": long_cursor }),
        )
        .await;
    assert_eq!(answer.code(), "BAD_USER_INPUT");
    let (_, viewer) = api.member(&api.admin, ACCOUNT_715, "vera", "Viewer").await;
    let (other_account, other_admin) = api.other_account("Globex", "gina").await;
    // A Viewer is told it may not; another account's Admin sees no account.
    for (token, code) in [
        (&viewer, "UNAUTHORIZED"),
        (&other_admin, "ENTITY_NOT_FOUND"),
    ] {
        let answer = api
            .gql(Some(token), UNUSED, json!({ "a": ACCOUNT_715, "days": 30 }))
            .await;
        assert!(answer.body["data"].is_null(), "{:?}", answer.body);
        assert_eq!(answer.code(), code, "{:?}", answer.body);
    }
    // Globex's own list holds none of Acme's keys.
    let theirs = api
        .gql(
            Some(&other_admin),
            UNUSED,
            json!({ "a": other_account, "days": 30 }),
        )
        .await;
    let listed = theirs.data()["unusedCredentials"]["nodes"].to_string();
    for id in [&first_id, &second_id] {
        assert!(!listed.contains(id.as_str()), "{listed}");
    }
}

const POLICY: &str = "mutation($input: UpdateAccountCredentialPolicyInput!) { \
  updateAccountCredentialPolicy(input: $input) { credentialPolicy { disableUnusedAfterDays } } }";

const KEY_STATE: &str = "query($id: ObjectID!) { node(id: $id) { ... on ServiceAccountKey { \
  disabledAt disabledReason } } }";

#[tokio::test]
async fn two_servers_disable_an_idle_key_once_and_an_admin_enables_it_again() {
    let flags = ["--usage-flush-interval", "1", "--idle-check-interval", "1"];
    let api = Api::start_with(&flags).await;
    let second = crate::support::Server::start(api.dir.path(), &api.backend.with(&flags));
    let sa = api.service_account("nightly", "Viewer").await;
    let (idle_id, idle) = api.key(&sa).await;
    let (_, fresh) = api.key(&sa).await;

    // The key was made, and last used, forty days ago: the clock moved on.
    // (Not used here first: that use, written a moment later, would be
    // today's.)
    let (_, numeric) = domain::object_id::decode(&idle_id).unwrap();
    let forty_days = 40 * 86_400_000_i64;
    let db = api.backend.connect().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        &format!(
            "UPDATE service_account_keys SET created_at = created_at - {forty_days}, \
             last_used_at = created_at - {forty_days} WHERE id = {numeric}"
        ),
    )
    .await
    .unwrap();
    db.close().await.unwrap();

    let set = api
        .admin(
            POLICY,
            json!({ "input": { "accountId": ACCOUNT_715, "disableUnusedAfterDays": 30 } }),
        )
        .await;
    assert_eq!(
        set["updateAccountCredentialPolicy"]["credentialPolicy"]["disableUnusedAfterDays"],
        30
    );
    let state = eventually(
        "the idle key disabled",
        || api.admin(KEY_STATE, json!({ "id": idle_id })),
        |v| !v["node"]["disabledAt"].is_null(),
    )
    .await;
    assert_eq!(state["node"]["disabledReason"], "IDLE");
    for server in [&api.server, &second] {
        assert_eq!(server.verify_status(&idle).await, 401);
        assert_eq!(server.verify_status(&fresh).await, 200);
    }
    // Both servers looked every second; one disabled it, once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let audit = "query($a: ObjectID!) { getAccount(id: $a) { auditEvents(last: 100, \
      filter: { action: \"service_account_key.disable\" }) { nodes { targetId after } } } }";
    let events = api.admin(audit, json!({ "a": ACCOUNT_715 })).await;
    let nodes = events["getAccount"]["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nodes.len(), 1, "{events}");
    assert_eq!(nodes[0]["targetId"], idle_id.as_str());
    assert_eq!(nodes[0]["after"]["disabledReason"], "idle");
    assert_eq!(nodes[0]["after"]["disableUnusedAfterDays"], 30);
    let mut disabled = 0.0;
    for server in [&api.server, &second] {
        let metrics = server.metrics().await;
        disabled +=
            crate::support::sample(&metrics, "keywarden_keys_disabled_unused_total").unwrap_or(0.0);
    }
    assert_eq!(disabled, 1.0);

    // An Admin enables it: it works on both servers at once, and its idle
    // time counts from now, so the housekeeping leaves it.
    let enable = "mutation($input: EnableServiceAccountKeyInput!) { \
      enableServiceAccountKey(input: $input) { serviceAccountKey { disabledAt disabledReason } } }";
    let enabled = api
        .admin(
            enable,
            json!({ "input": { "serviceAccountKeyId": idle_id } }),
        )
        .await;
    assert_eq!(
        enabled["enableServiceAccountKey"]["serviceAccountKey"]["disabledAt"],
        Value::Null
    );
    for server in [&api.server, &second] {
        assert_eq!(server.verify_status(&idle).await, 200);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(api.server.verify_status(&idle).await, 200);
}
