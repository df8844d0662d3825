//! Lifecycles over GraphQL: disable and enable, role changes, key rotation,
//! personal access tokens, members, and the audit log's connection.

use serde_json::{Value, json};

use crate::support::{ACCOUNT_715, Api, is_datetime, lumar};

const ME_ROLE: &str = "{ me { ... on ServiceAccount { roleCode enabled } } }";

#[tokio::test]
async fn disable_enable_and_role_changes_apply_to_the_very_next_request() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Viewer").await;
    let (_, key) = api.key(&sa).await;
    let update = |input: Value| {
        let api = &api;
        async move {
            api.admin(lumar("UpdateServiceAccount"), json!({ "input": input }))
                .await
        }
    };
    update(json!({ "serviceAccountId": sa, "enabled": false })).await;
    assert_eq!(api.gql(Some(&key), ME_ROLE, json!({})).await.status, 401);
    update(json!({ "serviceAccountId": sa, "enabled": true, "roleCode": "Admin" })).await;
    let me = api.gql(Some(&key), ME_ROLE, json!({})).await;
    assert_eq!(
        me.data()["me"],
        json!({ "roleCode": "Admin", "enabled": true })
    );
}

#[tokio::test]
async fn a_rotated_key_keeps_its_name_and_the_old_one_stops_at_once_without_overlap() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Editor").await;
    let created = api
        .admin(
            lumar("CreateServiceAccountKey"),
            json!({ "input": { "serviceAccountId": sa, "name": "deploy" } }),
        )
        .await;
    let old_id = created["createServiceAccountKey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_secret = created["createServiceAccountKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated = api
        .admin(
            "mutation($input: RotateServiceAccountKeyInput!) { rotateServiceAccountKey(input: $input) { id name secret rotatedFromId } }",
            json!({ "input": { "serviceAccountKeyId": old_id } }),
        )
        .await;
    let new = &rotated["rotateServiceAccountKey"];
    assert_eq!(new["name"], "deploy");
    assert_eq!(new["rotatedFromId"], old_id.as_str());
    assert_ne!(new["id"], old_id.as_str());
    assert_eq!(
        api.gql(Some(&old_secret), "{ me { id } }", json!({}))
            .await
            .status,
        401
    );
    let new_secret = new["secret"].as_str().unwrap();
    assert_eq!(
        api.gql(Some(new_secret), "{ me { id } }", json!({}))
            .await
            .status,
        200
    );
    let too_long = api
        .gql(
            Some(&api.admin),
            "mutation($input: RotateServiceAccountKeyInput!) { rotateServiceAccountKey(input: $input) { secret } }",
            json!({ "input": { "serviceAccountKeyId": new["id"], "overlapSeconds": 604_801 } }),
        )
        .await;
    assert_eq!(too_long.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_user_manages_their_own_personal_access_tokens() {
    let api = Api::start().await;
    let created = api
        .admin(
            "mutation($input: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $input) { id name secret expiresAt } }",
            json!({ "input": { "name": "laptop", "expiresAt": "2099-06-01T00:00:00Z" } }),
        )
        .await;
    let token = &created["createPersonalAccessToken"];
    assert_eq!(token["name"], "laptop");
    assert_eq!(token["expiresAt"], "2099-06-01T00:00:00.000Z");
    let secret = token["secret"].as_str().unwrap().to_owned();
    let id = token["id"].as_str().unwrap().to_owned();
    let me = api
        .gql(Some(&secret), "{ me { name ... on User { username accounts { id } personalAccessTokens { id name secret } } } }", json!({}))
        .await;
    let me = me.data()["me"].clone();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["accounts"], json!([{ "id": ACCOUNT_715 }]));
    let tokens = me["personalAccessTokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|t| t["secret"].is_null()));

    let rotated = api
        .gql(
            Some(&secret),
            "mutation($input: RotatePersonalAccessTokenInput!) { rotatePersonalAccessToken(input: $input) { id secret rotatedAt expiresAt } }",
            json!({ "input": { "personalAccessTokenId": id, "expiresAt": "2099-12-01T00:00:00Z" } }),
        )
        .await;
    let rotated = rotated.data()["rotatePersonalAccessToken"].clone();
    assert_eq!(rotated["id"], id.as_str());
    assert!(is_datetime(&rotated["rotatedAt"]));
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        api.gql(Some(&secret), "{ me { id } }", json!({}))
            .await
            .status,
        401
    );
    let again = api
        .gql(
            Some(&new_secret),
            "mutation($input: RotatePersonalAccessTokenInput!) { rotatePersonalAccessToken(input: $input) { secret } }",
            json!({ "input": { "personalAccessTokenId": id, "expiresAt": "2099-12-02T00:00:00Z" } }),
        )
        .await;
    assert_eq!(again.code(), "LIMIT_EXCEEDED");
    let revoked = api
        .gql(
            Some(&api.admin),
            "mutation($input: RevokePersonalAccessTokenInput!) { revokePersonalAccessToken(input: $input) { personalAccessToken { id revokedAt } } }",
            json!({ "input": { "personalAccessTokenId": id } }),
        )
        .await;
    assert!(is_datetime(
        &revoked.data()["revokePersonalAccessToken"]["personalAccessToken"]["revokedAt"]
    ));
    assert_eq!(
        api.gql(Some(&new_secret), "{ me { id } }", json!({}))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn members_are_added_with_a_first_token_and_the_last_admin_stays() {
    let api = Api::start().await;
    let (bob, bob_token) = api.member(&api.admin, ACCOUNT_715, "bob", "Editor").await;
    let bob_me = api
        .gql(Some(&bob_token), "{ me { id name } }", json!({}))
        .await;
    assert_eq!(bob_me.data()["me"], json!({ "id": bob, "name": "bob" }));
    // Another user's accounts and tokens are theirs alone.
    let peek = api
        .gql(
            Some(&api.admin),
            "query($id: ObjectID!) { node(id: $id) { ... on User { username accounts { id } } } }",
            json!({ "id": bob }),
        )
        .await;
    assert_eq!(peek.body["data"]["node"]["username"], "bob");
    assert_eq!(peek.code(), "UNAUTHORIZED");

    let members = api
        .admin("query($id: ObjectID!) { getAccount(id: $id) { members { user { username } roleCode role { code } } } }", json!({ "id": ACCOUNT_715 }))
        .await;
    assert_eq!(
        members["getAccount"]["members"],
        json!([
            { "user": { "username": "admin" }, "roleCode": "Admin", "role": { "code": "Admin" } },
            { "user": { "username": "bob" }, "roleCode": "Editor", "role": { "code": "Editor" } }
        ])
    );
    let me = api.admin("{ me { id } }", json!({})).await;
    let admin_id = me["me"]["id"].as_str().unwrap().to_owned();
    let demote = api
        .gql(
            Some(&api.admin),
            "mutation($input: UpdateAccountMemberInput!) { updateAccountMember(input: $input) { accountMember { roleCode } } }",
            json!({ "input": { "accountId": ACCOUNT_715, "userId": admin_id, "roleCode": "Viewer" } }),
        )
        .await;
    assert_eq!(demote.code(), "BAD_USER_INPUT");
    assert!(demote.error().1.contains("last Admin"));
    let removed = api
        .admin(
            "mutation($input: RemoveAccountMemberInput!) { removeAccountMember(input: $input) { accountMember { user { username } } } }",
            json!({ "input": { "accountId": ACCOUNT_715, "userId": bob } }),
        )
        .await;
    assert_eq!(
        removed["removeAccountMember"]["accountMember"]["user"]["username"],
        "bob"
    );
    // Bob is out of the account: it no longer exists for him.
    let gone = api
        .gql(
            Some(&bob_token),
            "query($id: ObjectID!) { getAccount(id: $id) { id } }",
            json!({ "id": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(gone.code(), "ENTITY_NOT_FOUND");
}

#[tokio::test]
async fn the_audit_log_is_a_connection_with_actors_and_targets() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Viewer").await;
    api.key(&sa).await;
    let page = api
        .admin(
            "query($id: ObjectID!) { getAccount(id: $id) { auditEvents(first: 2) { totalCount \
             pageInfo { hasNextPage hasPreviousPage startCursor endCursor } \
             nodes { id action actorType actorName actor { name isServiceAccount } attributedUser { username } targetType targetId targetName createdAt } } } }",
            json!({ "id": ACCOUNT_715 }),
        )
        .await;
    let log = &page["getAccount"]["auditEvents"];
    assert_eq!(log["totalCount"], 3);
    assert_eq!(log["pageInfo"]["hasNextPage"], true);
    assert_eq!(log["pageInfo"]["hasPreviousPage"], false);
    let nodes = log["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["action"], "account.create");
    assert_eq!(nodes[0]["actorType"], "System");
    assert_eq!(nodes[0]["actor"], Value::Null);
    assert_eq!(nodes[1]["action"], "service_account.create");
    assert_eq!(
        nodes[1]["actor"],
        json!({ "name": "admin", "isServiceAccount": false })
    );
    assert_eq!(nodes[1]["attributedUser"], json!({ "username": "admin" }));
    assert_eq!(nodes[1]["targetType"], "ServiceAccount");
    assert_eq!(nodes[1]["targetId"], sa.as_str());
    assert_eq!(nodes[1]["targetName"], "ci");
    assert!(is_datetime(&nodes[1]["createdAt"]));
    let rest = api
        .admin(
            "query($id: ObjectID!, $after: String) { getAccount(id: $id) { auditEvents(first: 10, after: $after) { nodes { action } pageInfo { hasNextPage hasPreviousPage } } } }",
            json!({ "id": ACCOUNT_715, "after": log["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &rest["getAccount"]["auditEvents"];
    assert_eq!(
        rest["nodes"],
        json!([{ "action": "service_account_key.create" }])
    );
    assert_eq!(
        rest["pageInfo"],
        json!({ "hasNextPage": false, "hasPreviousPage": true })
    );
    let both = api
        .gql(Some(&api.admin), "query($id: ObjectID!) { getAccount(id: $id) { auditEvents(first: 1, last: 1) { totalCount } } }", json!({ "id": ACCOUNT_715 }))
        .await;
    assert_eq!(both.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_key_shows_the_role_it_acts_with_and_a_ceiling_above_its_account_is_refused() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Editor").await;
    let create = "mutation($i: CreateServiceAccountKeyInput!) { createServiceAccountKey(input: $i) { id secret roleCode roleCeiling } }";
    let above = api
        .gql(
            Some(&api.admin),
            create,
            serde_json::json!({ "i": { "serviceAccountId": sa, "roleCode": "Admin" } }),
        )
        .await;
    assert_eq!(above.code(), "BAD_USER_INPUT");
    let capped = api
        .admin(
            create,
            serde_json::json!({ "i": { "serviceAccountId": sa, "roleCode": "Viewer" } }),
        )
        .await;
    assert_eq!(capped["createServiceAccountKey"]["roleCode"], "Viewer");
    assert_eq!(capped["createServiceAccountKey"]["roleCeiling"], "Viewer");
    let plain = api
        .admin(
            create,
            serde_json::json!({ "i": { "serviceAccountId": sa } }),
        )
        .await;
    assert_eq!(plain["createServiceAccountKey"]["roleCode"], "Editor");
    assert_eq!(
        plain["createServiceAccountKey"]["roleCeiling"],
        serde_json::Value::Null
    );
    // Lowered below the ceiling, the key shows what it now acts with.
    api.admin(
        "mutation($i: UpdateServiceAccountInput!) { updateServiceAccount(input: $i) { serviceAccount { id } } }",
        serde_json::json!({ "i": { "serviceAccountId": sa, "roleCode": "Viewer" } }),
    )
    .await;
    let keys = api
        .admin(
            "query($id: ObjectID!) { serviceAccount(id: $id) { keys { roleCode roleCeiling } } }",
            serde_json::json!({ "id": sa }),
        )
        .await;
    assert_eq!(
        keys["serviceAccount"]["keys"],
        serde_json::json!([
            { "roleCode": "Viewer", "roleCeiling": null },
            { "roleCode": "Viewer", "roleCeiling": "Viewer" }
        ])
    );
}
