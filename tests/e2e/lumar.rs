//! Every GraphQL document of the Lumar seed, unchanged, in one scenario: create,
//! list through `node` on Account, get, update, create a key with `secret`, list
//! keys, use the key with the seed's curl shape, revoke, delete.

use serde_json::json;

use crate::support::{ACCOUNT_715, Api, is_datetime, lumar};

#[tokio::test]
async fn the_seed_documents_run_unchanged_from_creation_to_deletion() {
    let api = Api::start().await;

    // Create.
    let created = api
        .admin(
            lumar("CreateServiceAccount"),
            json!({ "input": {
                "accountId": ACCOUNT_715,
                "name": "ci-pipeline",
                "description": "Runs the nightly crawl",
                "roleCode": "Editor"
            }}),
        )
        .await;
    let sa = &created["createServiceAccount"]["serviceAccount"];
    let sa_id = sa["id"].as_str().unwrap().to_owned();
    let (kind, numeric) = domain::object_id::decode(&sa_id).unwrap();
    assert_eq!(kind, "ServiceAccount");
    assert_eq!(sa["name"], "ci-pipeline");
    assert_eq!(sa["description"], "Runs the nightly crawl");
    assert_eq!(sa["roleCode"], "Editor");
    assert_eq!(sa["enabled"], true);
    assert!(is_datetime(&sa["createdAt"]), "{}", sa["createdAt"]);

    // List through node(id) on the Account.
    let listed = api
        .admin(
            lumar("GetServiceAccounts"),
            json!({ "accountId": ACCOUNT_715 }),
        )
        .await;
    let account = &listed["node"];
    assert_eq!(account["id"], ACCOUNT_715);
    assert_eq!(account["name"], "Default");
    let accounts = account["serviceAccounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["id"], sa_id.as_str());
    assert_eq!(accounts[0]["description"], "Runs the nightly crawl");
    assert_eq!(accounts[0]["createdAt"], sa["createdAt"]);
    assert_eq!(accounts[0]["updatedAt"], sa["createdAt"]);
    assert_eq!(accounts[0]["keys"], json!([]));

    // Get.
    let got = api
        .admin(
            lumar("GetServiceAccount"),
            json!({ "serviceAccountId": sa_id }),
        )
        .await;
    let got = &got["serviceAccount"];
    assert_eq!(got["id"], sa_id.as_str());
    assert_eq!(
        got["account"],
        json!({ "id": ACCOUNT_715, "name": "Default" })
    );
    assert_eq!(got["createdByUser"]["username"], "admin");
    assert_eq!(
        domain::object_id::decode(got["createdByUser"]["id"].as_str().unwrap())
            .unwrap()
            .0,
        "User"
    );
    assert_eq!(got["role"], json!({ "code": "Editor", "name": "Editor" }));
    assert_eq!(got["keys"], json!([]));

    // Update: the name changes, the description is cleared, the rest stays.
    let updated = api
        .admin(
            lumar("UpdateServiceAccount"),
            json!({ "input": { "serviceAccountId": sa_id, "name": "ci-pipeline-prod", "description": null } }),
        )
        .await;
    let updated = &updated["updateServiceAccount"]["serviceAccount"];
    assert_eq!(updated["id"], sa_id.as_str());
    assert_eq!(updated["name"], "ci-pipeline-prod");
    assert_eq!(updated["description"], json!(null));
    assert_eq!(updated["roleCode"], "Editor");
    assert_eq!(updated["enabled"], true);
    assert!(updated["updatedAt"].as_str() >= sa["createdAt"].as_str());

    // Create a key, with its secret.
    let expires = "2099-01-31T12:00:00.000Z";
    let key = api
        .admin(
            lumar("CreateServiceAccountKey"),
            json!({ "input": { "serviceAccountId": sa_id, "name": "github-actions", "expiresAt": expires } }),
        )
        .await;
    let key = &key["createServiceAccountKey"];
    let key_id = key["id"].as_str().unwrap().to_owned();
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with(&format!("lmr_sa_{numeric}_")),
        "{secret}"
    );
    assert_eq!(key["name"], "github-actions");
    assert_eq!(key["expiresAt"], expires);
    assert!(is_datetime(&key["createdAt"]));

    // List keys: metadata only.
    let keys = api
        .admin(
            lumar("GetServiceAccountKeys"),
            json!({ "serviceAccountId": sa_id }),
        )
        .await;
    let listed_keys = keys["serviceAccount"]["keys"].as_array().unwrap();
    assert_eq!(keys["serviceAccount"]["name"], "ci-pipeline-prod");
    assert_eq!(listed_keys.len(), 1);
    assert_eq!(listed_keys[0]["id"], key_id.as_str());
    assert_eq!(listed_keys[0]["name"], "github-actions");
    assert_eq!(listed_keys[0]["lastUsedAt"], json!(null));
    assert_eq!(listed_keys[0]["expiresAt"], expires);
    assert_eq!(listed_keys[0]["revokedAt"], json!(null));
    assert_eq!(listed_keys[0]["createdByUser"]["username"], "admin");
    assert!(!keys.to_string().contains(&secret));

    // Use the key as the seed's curl does.
    let curl = api
        .post(
            &[("x-api-key", &secret), ("Content-Type", "application/json")],
            json!({ "query": lumar("CurlNodeAccount") }),
        )
        .await;
    assert_eq!(
        curl.data()["node"],
        json!({ "id": ACCOUNT_715, "name": "Default" })
    );

    // Revoke; the key stops working on the next request.
    let revoked = api
        .admin(
            lumar("RevokeServiceAccountKey"),
            json!({ "input": { "serviceAccountKeyId": key_id } }),
        )
        .await;
    let revoked = &revoked["revokeServiceAccountKey"]["serviceAccountKey"];
    assert_eq!(revoked["id"], key_id.as_str());
    assert!(is_datetime(&revoked["revokedAt"]));
    let refused = api
        .post(
            &[("x-api-key", &secret)],
            json!({ "query": lumar("CurlNodeAccount") }),
        )
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.code(), "UNAUTHENTICATED");

    // Delete.
    let deleted = api
        .admin(
            lumar("DeleteServiceAccount"),
            json!({ "input": { "serviceAccountId": sa_id } }),
        )
        .await;
    assert_eq!(
        deleted["deleteServiceAccount"]["serviceAccount"]["id"],
        sa_id.as_str()
    );
    let gone = api
        .gql(
            Some(&api.admin),
            lumar("GetServiceAccount"),
            json!({ "serviceAccountId": sa_id }),
        )
        .await;
    assert_eq!(gone.status, 200);
    assert_eq!(
        gone.error(),
        (
            "ENTITY_NOT_FOUND".to_owned(),
            "ServiceAccount not found".to_owned()
        )
    );
}
