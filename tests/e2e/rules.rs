//! An account's credential policy over HTTP: read and changed by its Admin in
//! GraphQL, a key against it refused with `POLICY_VIOLATION` naming the rule
//! and its limit, and a key made before it refused by `/v1/verify` while the
//! key's page says why.

use serde_json::json;

use crate::support::{ACCOUNT_715, Api, sample};

const POLICY: &str = "mutation($input: UpdateAccountCredentialPolicyInput!) { \
  updateAccountCredentialPolicy(input: $input) { \
    account { id } credentialPolicy { keyMaxLifetimeDays keyExpiryRequired } } }";

const KEY: &str = "query($id: ObjectID!) { node(id: $id) { ... on ServiceAccountKey { \
  policyViolation { rule limit message } } } }";

#[tokio::test]
async fn a_policy_refuses_keys_against_it_and_says_why_of_keys_made_before_it() {
    let api = Api::start().await;
    let sa = api.service_account("deployer", "Editor").await;
    let (old_id, old) = api.key(&sa).await;
    assert_eq!(api.server.verify_status(&old).await, 200);
    let unset = api
        .admin(
            "query($id: ObjectID!) { node(id: $id) { ... on Account { credentialPolicy { keyMaxLifetimeDays keyExpiryRequired } } } }",
            json!({ "id": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(
        unset["node"]["credentialPolicy"],
        json!({ "keyMaxLifetimeDays": null, "keyExpiryRequired": false })
    );

    let set = api
        .admin(
            POLICY,
            json!({ "input": { "accountId": ACCOUNT_715, "keyMaxLifetimeDays": 90 } }),
        )
        .await;
    assert_eq!(
        set["updateAccountCredentialPolicy"]["credentialPolicy"],
        json!({ "keyMaxLifetimeDays": 90, "keyExpiryRequired": false })
    );

    // A new key must expire within 90 days.
    let create = "mutation($input: CreateServiceAccountKeyInput!) { \
      createServiceAccountKey(input: $input) { id secret } }";
    for input in [
        json!({ "serviceAccountId": sa }),
        json!({ "serviceAccountId": sa, "expiresInDays": 91 }),
    ] {
        let refused = api
            .gql(Some(&api.admin), create, json!({ "input": input }))
            .await;
        assert_eq!(refused.code(), "POLICY_VIOLATION", "{:#}", refused.body);
        let extensions = &refused.body["errors"][0]["extensions"];
        assert_eq!(extensions["rule"], "keyMaxLifetimeDays", "{extensions}");
        assert_eq!(extensions["limit"], 90, "{extensions}");
        assert!(
            refused.error().1.contains("at most 90 days"),
            "{:#}",
            refused.body
        );
    }
    let made = api
        .admin(
            create,
            json!({ "input": { "serviceAccountId": sa, "expiresInDays": 90 } }),
        )
        .await;
    let fresh = made["createServiceAccountKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.server.verify_status(&fresh).await, 200);

    // The key made before the policy never expires: refused, and its page
    // says why; the key is neither revoked nor deleted.
    assert_eq!(api.server.verify_status(&old).await, 401);
    let page = api.admin(KEY, json!({ "id": old_id })).await;
    let violation = &page["node"]["policyViolation"];
    assert_eq!(violation["rule"], "keyMaxLifetimeDays", "{page}");
    assert_eq!(violation["limit"], 90, "{page}");
    assert!(
        violation["message"].as_str().unwrap().contains("90 days"),
        "{page}"
    );
    let text = api.server.metrics().await;
    assert_eq!(
        sample(&text, "keywarden_verifications_total{outcome=\"policy\"}"),
        Some(1.0),
        "{text}"
    );

    // A limit removed: the old key works on its next request, and its page
    // shows nothing wrong.
    api.admin(
        POLICY,
        json!({ "input": { "accountId": ACCOUNT_715, "keyMaxLifetimeDays": null } }),
    )
    .await;
    assert_eq!(api.server.verify_status(&old).await, 200);
    let page = api.admin(KEY, json!({ "id": old_id })).await;
    assert_eq!(page["node"]["policyViolation"], json!(null), "{page}");
}

#[tokio::test]
async fn a_policy_is_changed_only_by_a_person_who_is_an_admin_of_its_account_with_coded_errors() {
    let api = Api::start().await;
    let (globex, globex_admin) = api.other_account("Globex", "bob").await;
    let robot = api.service_account("robot", "Admin").await;
    let (_, robot_key) = api.key(&robot).await;
    let (_, viewer) = api.member(&api.admin, ACCOUNT_715, "vera", "Viewer").await;
    let change = json!({ "input": { "accountId": ACCOUNT_715, "keyExpiryRequired": true } });
    for (who, token) in [
        ("a key", &robot_key),
        ("a Viewer", &viewer),
        ("another account's Admin", &globex_admin),
    ] {
        let refused = api.gql(Some(token), POLICY, change.clone()).await;
        assert!(
            ["UNAUTHORIZED", "ENTITY_NOT_FOUND"].contains(&refused.code().as_str()),
            "{who}: {:#}",
            refused.body
        );
    }
    for days in [0, -1, 3651] {
        let refused = api
            .gql(
                Some(&api.admin),
                POLICY,
                json!({ "input": { "accountId": ACCOUNT_715, "keyMaxLifetimeDays": days } }),
            )
            .await;
        assert_eq!(
            refused.code(),
            "BAD_USER_INPUT",
            "{days}: {:#}",
            refused.body
        );
        assert!(
            refused.error().1.contains("between 1 and 3650"),
            "{:#}",
            refused.body
        );
    }
    // Nothing refused changed anything, here or in the other account.
    let read = "query($id: ObjectID!) { node(id: $id) { ... on Account { credentialPolicy { keyMaxLifetimeDays keyExpiryRequired } } } }";
    let unchanged = json!({ "keyMaxLifetimeDays": null, "keyExpiryRequired": false });
    assert_eq!(
        api.admin(read, json!({ "id": ACCOUNT_715 })).await["node"]["credentialPolicy"],
        unchanged
    );
    let theirs = api
        .gql(Some(&globex_admin), read, json!({ "id": globex }))
        .await;
    assert_eq!(theirs.data()["node"]["credentialPolicy"], unchanged);
}
