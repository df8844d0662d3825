//! Each error code and HTTP status, absent versus `null`, and the secret rule.

use serde_json::json;

use crate::support::{ACCOUNT_715, Api, lumar};

const UNAUTHENTICATED: &str = "Unauthorized. Please provide a valid authentication token.";

#[tokio::test]
async fn no_credential_gets_200_with_unauthenticated_but_introspection_is_open() {
    let api = Api::start().await;
    let me = api.gql(None, "{ me { id } }", json!({})).await;
    assert_eq!(me.status, 200);
    assert_eq!(
        me.error(),
        ("UNAUTHENTICATED".to_owned(), UNAUTHENTICATED.to_owned())
    );
    let mutation = api
        .gql(
            None,
            lumar("DeleteServiceAccount"),
            json!({ "input": { "serviceAccountId": ACCOUNT_715 } }),
        )
        .await;
    assert_eq!(
        (mutation.status, mutation.code()),
        (200, "UNAUTHENTICATED".to_owned())
    );
    let schema = api
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(schema.data()["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn a_presented_but_bad_credential_gets_401_with_a_challenge() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Viewer").await;
    let (_, key) = api.key(&sa).await;
    let mut wrong = key.clone();
    wrong.replace_range(20..21, if &key[20..21] == "A" { "B" } else { "A" });
    for token in [wrong.as_str(), "lmr_sa_1_nope", "garbage"] {
        let answer = api.gql(Some(token), "{ __typename }", json!({})).await;
        assert_eq!(answer.status, 401, "{token}");
        assert!(answer.headers.contains_key("www-authenticate"));
        assert_eq!(
            answer.error(),
            ("UNAUTHENTICATED".to_owned(), UNAUTHENTICATED.to_owned())
        );
    }
    for (header, value) in [
        ("authorization", format!("Bearer {key}")),
        ("authorization", format!("ApiKey {key}")),
        ("authorization", format!("Key {key}")),
    ] {
        let answer = api
            .post(
                &[(header, &value)],
                json!({ "query": "{ me { name isServiceAccount } }" }),
            )
            .await;
        assert_eq!(
            answer.data()["me"],
            json!({ "name": "ci", "isServiceAccount": true }),
            "{value}"
        );
    }
}

#[tokio::test]
async fn documents_that_are_not_graphql_get_400() {
    let api = Api::start().await;
    let syntax = api.gql(Some(&api.admin), "{ me { id ", json!({})).await;
    assert_eq!(
        (syntax.status, syntax.code()),
        (400, "GRAPHQL_VALIDATION_FAILED".to_owned())
    );
    let unknown = api.gql(Some(&api.admin), "{ nope }", json!({})).await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (400, "GRAPHQL_VALIDATION_FAILED".to_owned())
    );
    let bad_id = api
        .gql(
            Some(&api.admin),
            lumar("GetServiceAccount"),
            json!({ "serviceAccountId": "not-an-id" }),
        )
        .await;
    // A value that does not parse as its scalar is the user's mistake, said plainly.
    assert_eq!(
        (bad_id.status, bad_id.code()),
        (200, "BAD_USER_INPUT".to_owned())
    );
    assert!(
        bad_id.error().1.contains("ObjectID"),
        "{:?}",
        bad_id.error()
    );
    let bad_time = api
        .gql(
            Some(&api.admin),
            lumar("CreateServiceAccountKey"),
            json!({ "input": {
                "serviceAccountId": domain::object_id::encode("ServiceAccount", 1),
                "expiresAt": "tomorrow"
            } }),
        )
        .await;
    assert_eq!(bad_time.code(), "BAD_USER_INPUT");
    assert!(
        bad_time.error().1.contains("RFC 3339"),
        "{:?}",
        bad_time.error()
    );
    let not_json = api
        .http
        .post(api.server.url("/graphql"))
        .header("content-type", "application/json")
        .body("{ this is not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
}

#[tokio::test]
async fn each_error_code_appears_where_it_should() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Viewer").await;
    let (_, viewer) = api.member(&api.admin, ACCOUNT_715, "vic", "Viewer").await;

    let unauthorized = api
        .gql(
            Some(&viewer),
            lumar("GetServiceAccount"),
            json!({ "serviceAccountId": sa }),
        )
        .await;
    let (code, message) = unauthorized.error();
    assert_eq!(code, "UNAUTHORIZED");
    assert!(message.starts_with("Unauthorized"), "{message}");

    let missing = domain::object_id::encode("ServiceAccount", 999_999);
    let not_found = api
        .gql(
            Some(&api.admin),
            lumar("GetServiceAccount"),
            json!({ "serviceAccountId": missing }),
        )
        .await;
    assert_eq!(
        not_found.error(),
        (
            "ENTITY_NOT_FOUND".to_owned(),
            "ServiceAccount not found".to_owned()
        )
    );

    let long = api
        .gql(
            Some(&api.admin),
            lumar("CreateServiceAccount"),
            json!({ "input": { "accountId": ACCOUNT_715, "name": "x".repeat(256), "roleCode": "Viewer" } }),
        )
        .await;
    assert_eq!(long.code(), "BAD_USER_INPUT");
    assert!(long.error().1.contains("255"));

    let past = api
        .gql(
            Some(&api.admin),
            lumar("CreateServiceAccountKey"),
            json!({ "input": { "serviceAccountId": sa, "expiresAt": "2001-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(past.code(), "BAD_USER_INPUT");
    assert!(past.error().1.contains("expiresAt"));

    for _ in 0..50 {
        api.key(&sa).await;
    }
    let over = api
        .gql(
            Some(&api.admin),
            lumar("CreateServiceAccountKey"),
            json!({ "input": { "serviceAccountId": sa } }),
        )
        .await;
    assert_eq!(over.status, 200);
    assert_eq!(over.code(), "LIMIT_EXCEEDED");
    assert!(over.error().1.contains("50"));
}

#[tokio::test]
async fn a_database_failure_is_internal_server_error_with_no_detail() {
    let api = Api::start().await;
    let db = api.backend.connect().await;
    sea_orm::ConnectionTrait::execute_unprepared(&db, "DROP TABLE audit_events")
        .await
        .unwrap();
    let answer = api
        .gql(
            Some(&api.admin),
            lumar("CreateServiceAccount"),
            json!({ "input": { "accountId": ACCOUNT_715, "name": "ci", "roleCode": "Viewer" } }),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.error(),
        (
            "INTERNAL_SERVER_ERROR".to_owned(),
            "Internal server error".to_owned()
        )
    );
    let body = answer.body.to_string();
    assert!(
        !body.contains("audit_events") && !body.to_lowercase().contains("sql"),
        "{body}"
    );
    assert!(
        api.server.log_contains("audit_events"),
        "the cause belongs in the log"
    );
}

#[tokio::test]
async fn an_absent_field_is_left_alone_and_null_clears_only_the_description() {
    let api = Api::start().await;
    let created = api
        .admin(
            lumar("CreateServiceAccount"),
            json!({ "input": { "accountId": ACCOUNT_715, "name": "ci", "description": "keep me", "roleCode": "Editor" } }),
        )
        .await;
    let id = created["createServiceAccount"]["serviceAccount"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let update = |input: serde_json::Value| {
        let api = &api;
        async move {
            api.gql(
                Some(&api.admin),
                lumar("UpdateServiceAccount"),
                json!({ "input": input }),
            )
            .await
        }
    };
    let only_name = update(json!({ "serviceAccountId": id, "name": "ci-2" })).await;
    let sa = &only_name.data()["updateServiceAccount"]["serviceAccount"];
    assert_eq!(
        (
            sa["name"].as_str(),
            sa["description"].as_str(),
            sa["roleCode"].as_str(),
            sa["enabled"].as_bool()
        ),
        (Some("ci-2"), Some("keep me"), Some("Editor"), Some(true))
    );
    let disabled = update(json!({ "serviceAccountId": id, "enabled": false })).await;
    let sa = &disabled.data()["updateServiceAccount"]["serviceAccount"];
    assert_eq!(
        (sa["description"].as_str(), sa["enabled"].as_bool()),
        (Some("keep me"), Some(false))
    );
    let cleared = update(json!({ "serviceAccountId": id, "description": null })).await;
    let sa = &cleared.data()["updateServiceAccount"]["serviceAccount"];
    assert_eq!(
        (sa["name"].as_str(), sa["description"].clone()),
        (Some("ci-2"), json!(null))
    );
    for field in ["name", "roleCode", "enabled"] {
        let answer = update(json!({ "serviceAccountId": id, field: null })).await;
        assert_eq!(answer.code(), "BAD_USER_INPUT", "{field}");
        assert!(answer.error().1.contains(field));
    }
}

async fn key_count(api: &Api, sa: &str) -> usize {
    let keys = api
        .admin(
            lumar("GetServiceAccountKeys"),
            json!({ "serviceAccountId": sa }),
        )
        .await;
    keys["serviceAccount"]["keys"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_key_creation_that_does_not_ask_for_the_secret_creates_nothing() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Viewer").await;
    let before = key_count(&api, &sa).await;
    let answer = api
        .gql(
            Some(&api.admin),
            "mutation($input: CreateServiceAccountKeyInput!) { createServiceAccountKey(input: $input) { id name } }",
            json!({ "input": { "serviceAccountId": sa } }),
        )
        .await;
    assert_eq!(
        answer.error(),
        (
            "BAD_USER_INPUT".to_owned(),
            "The 'secret' field must be requested when creating a key: it is shown only once."
                .to_owned()
        )
    );
    assert_eq!(key_count(&api, &sa).await, before);

    // Asked for through a fragment, the secret counts.
    let fragment = api
        .gql(
            Some(&api.admin),
            "mutation($input: CreateServiceAccountKeyInput!) { createServiceAccountKey(input: $input) { ...K } } \
             fragment K on ServiceAccountKey { id secret }",
            json!({ "input": { "serviceAccountId": sa } }),
        )
        .await;
    assert!(
        fragment.data()["createServiceAccountKey"]["secret"]
            .as_str()
            .unwrap()
            .starts_with("lmr_sa_")
    );
    assert_eq!(key_count(&api, &sa).await, before + 1);

    // Rotation without the secret leaves the old key alone.
    let (key_id, secret) = api.key(&sa).await;
    let rotate = api
        .gql(
            Some(&api.admin),
            "mutation($input: RotateServiceAccountKeyInput!) { rotateServiceAccountKey(input: $input) { id } }",
            json!({ "input": { "serviceAccountKeyId": key_id } }),
        )
        .await;
    assert_eq!(rotate.code(), "BAD_USER_INPUT");
    assert_eq!(key_count(&api, &sa).await, before + 2);
    assert_eq!(
        api.gql(Some(&secret), "{ me { id } }", json!({}))
            .await
            .status,
        200
    );

    // A new member's initial token must be asked for too.
    let add = api
        .gql(
            Some(&api.admin),
            "mutation($input: AddAccountMemberInput!) { addAccountMember(input: $input) { accountMember { roleCode } } }",
            json!({ "input": { "accountId": ACCOUNT_715, "username": "newbie", "roleCode": "Viewer" } }),
        )
        .await;
    assert_eq!(add.code(), "BAD_USER_INPUT");
    assert!(add.error().1.contains("initialToken"));
    let members = api
        .admin(
            "query($id: ObjectID!) { getAccount(id: $id) { members { user { username } } } }",
            json!({ "id": ACCOUNT_715 }),
        )
        .await;
    assert!(!members.to_string().contains("newbie"));
}

#[tokio::test]
async fn a_refused_nullable_field_is_null_with_its_error_and_the_rest_of_me_arrives() {
    let api = Api::start().await;
    let sa = api.service_account("robot", "Admin").await;
    let (_, key) = api.key(&sa).await;
    let answer = api
        .gql(
            Some(&key),
            "{ me { id name ... on ServiceAccount { roleCode createdByUser { id } attributedUser { id } keys { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(answer.status, 200);
    let me = &answer.body["data"]["me"];
    assert_eq!(me["id"], json!(sa), "{:#}", answer.body);
    assert_eq!(me["name"], "robot");
    assert_eq!(me["roleCode"], "Admin");
    for field in ["createdByUser", "attributedUser", "keys"] {
        assert_eq!(me[field], serde_json::Value::Null, "{field}");
    }
    let errors = answer.body["errors"].as_array().unwrap();
    let mut paths: Vec<String> = errors
        .iter()
        .map(|e| {
            assert_eq!(e["extensions"]["code"], "UNAUTHORIZED", "{e:#}");
            e["path"][1].as_str().unwrap().to_owned()
        })
        .collect();
    paths.sort();
    assert_eq!(paths, ["attributedUser", "createdByUser", "keys"]);
}

#[tokio::test]
async fn an_empty_batch_or_an_empty_request_gets_a_plain_message() {
    let api = Api::start().await;
    for (body, says) in [
        (
            json!([]),
            "A batch is a JSON array of 1 to 10 request objects",
        ),
        (json!({}), "The request has no query"),
        (json!({ "query": "  " }), "The request has no query"),
    ] {
        let answer = api.post(&[], body.clone()).await;
        assert_eq!(answer.status, 400, "{body}");
        let (code, message) = answer.error();
        assert_eq!(code, "GRAPHQL_VALIDATION_FAILED");
        assert!(message.starts_with(says), "{body}: {message}");
    }
}

#[tokio::test]
async fn a_rotation_that_does_not_ask_for_the_secret_says_so_and_rotates_nothing() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Viewer").await;
    let (key, _) = api.key(&sa).await;
    let answer = api
        .gql(
            Some(&api.admin),
            "mutation($i: RotateServiceAccountKeyInput!) { rotateServiceAccountKey(input: $i) { id } }",
            json!({ "i": { "serviceAccountKeyId": key } }),
        )
        .await;
    let (code, message) = answer.error();
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("when rotating a key"), "{message}");
    assert_eq!(key_count(&api, &sa).await, 1);
}
