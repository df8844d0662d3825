//! Two tenants on one server: what Other's Admin (mallory) can do to Acme's
//! users. The answer must be nothing: no user of Acme is found, read, claimed
//! or changed, and what a gateway hears about them stays the same.

use serde_json::{Value, json};

use crate::support::{ACCOUNT_715, Api};

const ADD: &str = "mutation($input: AddAccountMemberInput!) { addAccountMember(input: $input) { \
    accountMember { id roleCode user { id username email } } initialToken } }";

/// The answer with its ids and secrets blanked, so that two answers can be
/// compared for what they reveal.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let blank = matches!(k.as_str(), "id" | "initialToken" | "username" | "email");
                    (k.clone(), if blank { Value::Null } else { shape(v) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}

async fn gateway_view(api: &Api, token: &str) -> Vec<(String, String)> {
    let response = api
        .http
        .get(api.server.url("/v1/verify"))
        .header("x-api-key", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut headers: Vec<_> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-keywarden-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    headers
}

async fn log_of(api: &Api, token: &str, account: &str) -> Vec<String> {
    let answer = api
        .gql(
            Some(token),
            "query($id: ObjectID!) { getAccount(id: $id) { auditEvents(first: 100) { nodes { action } } } }",
            json!({ "id": account }),
        )
        .await;
    answer.data()["getAccount"]["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn another_accounts_admin_can_neither_find_nor_read_nor_claim_a_user() {
    let api = Api::start().await;
    let (vic_id, vic_token) = api.member(&api.admin, ACCOUNT_715, "vic", "Editor").await;
    let (other, mallory) = api.other_account("Other", "mallory").await;
    let seen_by_gateway = gateway_view(&api, &vic_token).await;
    assert!(
        seen_by_gateway
            .iter()
            .any(|(k, _)| k == "x-keywarden-account"),
        "{seen_by_gateway:?}"
    );
    let acme_log = log_of(&api, &api.admin, ACCOUNT_715).await;

    let mut answers = Vec::new();
    for name in ["vic", "nobody-anywhere"] {
        let answer = api
            .gql(
                Some(&mallory),
                ADD,
                json!({ "input": { "accountId": other, "username": name, "email": format!("{name}@other.test"), "roleCode": "Viewer" } }),
            )
            .await;
        let payload = answer.data()["addAccountMember"].clone();
        let user = &payload["accountMember"]["user"];
        assert_ne!(user["id"], json!(vic_id), "Acme's vic was handed to Other");
        assert_eq!(user["username"], name);
        assert_eq!(user["email"], format!("{name}@other.test"));
        answers.push(payload);
    }
    assert_eq!(
        shape(&answers[0]),
        shape(&answers[1]),
        "a name taken in another account is answered like a free one"
    );

    // Nothing about Acme's vic changed, nor what a gateway hears of him.
    let me = api
        .gql(
            Some(&vic_token),
            "{ me { ... on User { accounts { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(me.data()["me"]["accounts"], json!([{ "id": ACCOUNT_715 }]));
    assert_eq!(gateway_view(&api, &vic_token).await, seen_by_gateway);
    assert_eq!(log_of(&api, &api.admin, ACCOUNT_715).await, acme_log);
    // And his id names nothing for mallory.
    let node = api
        .gql(
            Some(&mallory),
            "query($id: ObjectID!) { node(id: $id) { id } }",
            json!({ "id": vic_id }),
        )
        .await;
    assert_eq!(node.data()["node"], Value::Null);
}

#[tokio::test]
async fn a_user_joins_another_account_only_by_accepting_its_invitation_themself() {
    let api = Api::start().await;
    let (vic_id, vic_token) = api.member(&api.admin, ACCOUNT_715, "vic", "Editor").await;
    let (other, olga) = api.other_account("Other", "olga").await;
    let refused = api
        .gql(
            Some(&olga),
            "mutation($input: CreateAccountInvitationInput!) { createAccountInvitation(input: $input) { id } }",
            json!({ "input": { "accountId": other, "roleCode": "Viewer" } }),
        )
        .await;
    assert_eq!(
        refused.code(),
        "BAD_USER_INPUT",
        "the secret must be requested"
    );
    let made = api
        .gql(
            Some(&olga),
            "mutation($input: CreateAccountInvitationInput!) { createAccountInvitation(input: $input) { id secret roleCode expiresAt } }",
            json!({ "input": { "accountId": other, "roleCode": "Viewer" } }),
        )
        .await;
    let invitation = made.data()["createAccountInvitation"].clone();
    let secret = invitation["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("lmr_inv_"));
    let pending = api
        .gql(
            Some(&olga),
            "query($id: ObjectID!) { getAccount(id: $id) { invitations { id secret roleCode } } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(
        pending.data()["getAccount"]["invitations"],
        json!([{ "id": invitation["id"], "secret": null, "roleCode": "Viewer" }])
    );
    // The secret is no credential.
    let as_key = api.gql(Some(&secret), "{ me { id } }", json!({})).await;
    assert_eq!(as_key.status, 401);

    let accept = "mutation($input: AcceptAccountInvitationInput!) { acceptAccountInvitation(input: $input) { accountMember { roleCode user { id } } } }";
    let joined = api
        .gql(
            Some(&vic_token),
            accept,
            json!({ "input": { "secret": secret } }),
        )
        .await;
    let member = &joined.data()["acceptAccountInvitation"]["accountMember"];
    assert_eq!(member["user"]["id"], json!(vic_id));
    assert_eq!(member["roleCode"], "Viewer");
    let me = api
        .gql(
            Some(&vic_token),
            "{ me { ... on User { accounts { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(me.data()["me"]["accounts"].as_array().unwrap().len(), 2);
    assert!(
        log_of(&api, &olga, &other)
            .await
            .contains(&"account_member.join".to_owned())
    );
    assert!(
        log_of(&api, &api.admin, ACCOUNT_715)
            .await
            .contains(&"account_member.join_elsewhere".to_owned())
    );
    let again = api
        .gql(
            Some(&vic_token),
            accept,
            json!({ "input": { "secret": secret } }),
        )
        .await;
    assert_eq!(
        again.error(),
        (
            "ENTITY_NOT_FOUND".to_owned(),
            "AccountInvitation not found".to_owned()
        )
    );
}
