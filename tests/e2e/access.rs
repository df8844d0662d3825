//! Who can reach what: another account's objects do not exist for the caller,
//! through every entry point; service accounts manage nothing.

use serde_json::{Value, json};

use crate::support::{ACCOUNT_715, Api, lumar};

/// Every mutation, with the ids it takes filled in from `ids`.
fn mutations(ids: &Ids) -> Vec<(&'static str, String, Value)> {
    let doc = |name: &str, input: &str, selection: &str| {
        format!("mutation($input: {input}!) {{ {name}(input: $input) {{ {selection} }} }}")
    };
    vec![
        (
            "createServiceAccount",
            doc(
                "createServiceAccount",
                "CreateServiceAccountInput",
                "serviceAccount { id }",
            ),
            json!({ "accountId": ids.account, "name": "x", "roleCode": "Viewer" }),
        ),
        (
            "updateServiceAccount",
            doc(
                "updateServiceAccount",
                "UpdateServiceAccountInput",
                "serviceAccount { id }",
            ),
            json!({ "serviceAccountId": ids.service_account, "name": "renamed" }),
        ),
        (
            "deleteServiceAccount",
            doc(
                "deleteServiceAccount",
                "DeleteServiceAccountInput",
                "serviceAccount { id }",
            ),
            json!({ "serviceAccountId": ids.service_account }),
        ),
        (
            "createServiceAccountKey",
            doc(
                "createServiceAccountKey",
                "CreateServiceAccountKeyInput",
                "id secret",
            ),
            json!({ "serviceAccountId": ids.service_account }),
        ),
        (
            "revokeServiceAccountKey",
            doc(
                "revokeServiceAccountKey",
                "RevokeServiceAccountKeyInput",
                "serviceAccountKey { id }",
            ),
            json!({ "serviceAccountKeyId": ids.key }),
        ),
        (
            "rotateServiceAccountKey",
            doc(
                "rotateServiceAccountKey",
                "RotateServiceAccountKeyInput",
                "id secret",
            ),
            json!({ "serviceAccountKeyId": ids.key }),
        ),
        (
            "addAccountMember",
            doc("addAccountMember", "AddAccountMemberInput", "initialToken"),
            json!({ "accountId": ids.account, "username": "intruder", "roleCode": "Admin" }),
        ),
        (
            "updateAccountMember",
            doc(
                "updateAccountMember",
                "UpdateAccountMemberInput",
                "accountMember { id }",
            ),
            json!({ "accountId": ids.account, "userId": ids.user, "roleCode": "Viewer" }),
        ),
        (
            "removeAccountMember",
            doc(
                "removeAccountMember",
                "RemoveAccountMemberInput",
                "accountMember { id }",
            ),
            json!({ "accountId": ids.account, "userId": ids.user }),
        ),
        (
            "createAccountInvitation",
            doc(
                "createAccountInvitation",
                "CreateAccountInvitationInput",
                "id secret",
            ),
            json!({ "accountId": ids.account, "roleCode": "Admin" }),
        ),
        (
            "revokeAccountInvitation",
            doc(
                "revokeAccountInvitation",
                "RevokeAccountInvitationInput",
                "accountInvitation { id }",
            ),
            json!({ "accountInvitationId": ids.invitation }),
        ),
        (
            "createPersonalAccessToken",
            doc(
                "createPersonalAccessToken",
                "CreatePersonalAccessTokenInput",
                "id secret",
            ),
            json!({}),
        ),
        (
            "revokePersonalAccessToken",
            doc(
                "revokePersonalAccessToken",
                "RevokePersonalAccessTokenInput",
                "personalAccessToken { id }",
            ),
            json!({ "personalAccessTokenId": ids.token }),
        ),
        (
            "rotatePersonalAccessToken",
            doc(
                "rotatePersonalAccessToken",
                "RotatePersonalAccessTokenInput",
                "id secret",
            ),
            json!({ "personalAccessTokenId": ids.token, "expiresAt": "2099-01-01T00:00:00Z" }),
        ),
    ]
}

/// The objects of one account.
struct Ids {
    account: String,
    service_account: String,
    key: String,
    user: String,
    token: String,
    invitation: String,
}

async fn objects_of(api: &Api, account: &str, admin: &str) -> Ids {
    let sa = api
        .gql(
            Some(admin),
            lumar("CreateServiceAccount"),
            json!({ "input": { "accountId": account, "name": "theirs", "roleCode": "Admin" } }),
        )
        .await;
    let sa = sa.data()["createServiceAccount"]["serviceAccount"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = api
        .gql(
            Some(admin),
            lumar("CreateServiceAccountKey"),
            json!({ "input": { "serviceAccountId": sa } }),
        )
        .await;
    let key = key.data()["createServiceAccountKey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = api
        .gql(
            Some(admin),
            "{ me { id ... on User { personalAccessTokens { id } } } }",
            json!({}),
        )
        .await;
    let me = me.data()["me"].clone();
    let invitation = api
        .gql(
            Some(admin),
            "mutation($input: CreateAccountInvitationInput!) { createAccountInvitation(input: $input) { id secret } }",
            json!({ "input": { "accountId": account, "roleCode": "Admin" } }),
        )
        .await;
    let invitation = invitation.data()["createAccountInvitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Ids {
        invitation,
        account: account.to_owned(),
        service_account: sa,
        key,
        user: me["id"].as_str().unwrap().to_owned(),
        token: me["personalAccessTokens"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

/// Ids of the same kinds that name nothing at all.
fn missing() -> Ids {
    let id = |kind| domain::object_id::encode(kind, 987_654);
    Ids {
        account: id("Account"),
        service_account: id("ServiceAccount"),
        key: id("ServiceAccountKey"),
        user: id("User"),
        token: id("PersonalAccessToken"),
        invitation: id("AccountInvitation"),
    }
}

#[tokio::test]
async fn another_accounts_objects_are_not_found_through_every_entry_point() {
    let api = Api::start().await;
    let (globex, globex_admin) = api.other_account("Globex", "gina").await;
    let theirs = objects_of(&api, &globex, &globex_admin).await;
    let nothing = missing();
    let me = &api.admin;

    for ids in [&theirs, &nothing] {
        for id in [
            &ids.account,
            &ids.service_account,
            &ids.key,
            &ids.user,
            &ids.token,
            &ids.invitation,
        ] {
            let node = api
                .gql(
                    Some(me),
                    "query($id: ObjectID!) { node(id: $id) { id } }",
                    json!({ "id": id }),
                )
                .await;
            assert_eq!(node.data()["node"], Value::Null, "node({id})");
        }
        let all = [
            &ids.account,
            &ids.service_account,
            &ids.key,
            &ids.user,
            &ids.token,
            &ids.invitation,
        ];
        let nodes = api
            .gql(
                Some(me),
                "query($ids: [ObjectID!]!) { nodes(ids: $ids) { id } }",
                json!({ "ids": all }),
            )
            .await;
        assert_eq!(
            nodes.data()["nodes"],
            json!([null, null, null, null, null, null])
        );
        let sa = api
            .gql(
                Some(me),
                lumar("GetServiceAccount"),
                json!({ "serviceAccountId": ids.service_account }),
            )
            .await;
        assert_eq!(
            sa.error(),
            (
                "ENTITY_NOT_FOUND".to_owned(),
                "ServiceAccount not found".to_owned()
            )
        );
        let account = api
            .gql(
                Some(me),
                "query($id: ObjectID!) { getAccount(id: $id) { id } }",
                json!({ "id": ids.account }),
            )
            .await;
        assert_eq!(
            account.error(),
            (
                "ENTITY_NOT_FOUND".to_owned(),
                "Account not found".to_owned()
            )
        );
        let listed = api
            .gql(
                Some(me),
                lumar("GetServiceAccounts"),
                json!({ "accountId": ids.account }),
            )
            .await;
        assert_eq!(listed.data()["node"], Value::Null);
    }
    // Every mutation that takes an id answers the same for theirs as for nothing.
    let (ours, absent) = (mutations(&theirs), mutations(&nothing));
    for ((name, doc, input), (_, _, absent_input)) in ours.into_iter().zip(absent) {
        if name == "createPersonalAccessToken" {
            continue;
        }
        let theirs_answer = api.gql(Some(me), &doc, json!({ "input": input })).await;
        let absent_answer = api
            .gql(Some(me), &doc, json!({ "input": absent_input }))
            .await;
        assert_eq!(
            theirs_answer.code(),
            "ENTITY_NOT_FOUND",
            "{name}: {:#}",
            theirs_answer.body
        );
        assert_eq!(
            theirs_answer.error(),
            absent_answer.error(),
            "{name} tells theirs from missing"
        );
    }
    // And nothing of theirs changed.
    let still = api
        .gql(
            Some(&globex_admin),
            lumar("GetServiceAccountKeys"),
            json!({ "serviceAccountId": theirs.service_account }),
        )
        .await;
    let still = still.data()["serviceAccount"].clone();
    assert_eq!(still["name"], "theirs");
    assert_eq!(still["keys"].as_array().unwrap().len(), 1);
    assert_eq!(still["keys"][0]["revokedAt"], Value::Null);
}

#[tokio::test]
async fn a_service_account_even_an_admin_one_is_refused_every_management_mutation() {
    let api = Api::start().await;
    let ids = objects_of(&api, ACCOUNT_715, &api.admin.clone()).await;
    let robot = api.service_account("robot", "Admin").await;
    let (_, robot_key) = api.key(&robot).await;
    for (name, doc, input) in mutations(&ids) {
        let answer = api
            .gql(Some(&robot_key), &doc, json!({ "input": input }))
            .await;
        assert_eq!(answer.status, 200, "{name}");
        let (code, message) = answer.error();
        assert_eq!(code, "UNAUTHORIZED", "{name}: {message}");
        assert!(message.starts_with("Unauthorized"), "{name}: {message}");
    }
    // It may read itself and its own account, nothing more.
    let me = api.gql(Some(&robot_key), "{ me { id name isServiceAccount ... on ServiceAccount { roleCode account { id name } } } }", json!({})).await;
    assert_eq!(
        me.data()["me"],
        json!({ "id": robot, "name": "robot", "isServiceAccount": true, "roleCode": "Admin", "account": { "id": ACCOUNT_715, "name": "Default" } })
    );
    // A personal access token is nothing a service account can find.
    let token = api
        .gql(
            Some(&robot_key),
            "query($id: ObjectID!) { node(id: $id) { id } }",
            json!({ "id": ids.token }),
        )
        .await;
    assert_eq!(token.data()["node"], Value::Null);
    let other = api
        .gql(
            Some(&robot_key),
            lumar("GetServiceAccount"),
            json!({ "serviceAccountId": ids.service_account }),
        )
        .await;
    assert_eq!(other.code(), "UNAUTHORIZED");
    let listed = api
        .gql(
            Some(&robot_key),
            lumar("GetServiceAccounts"),
            json!({ "accountId": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"]["node"]["name"], "Default");
    assert_eq!(listed.code(), "UNAUTHORIZED");
}

#[tokio::test]
async fn editors_and_viewers_read_the_account_and_nothing_else() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Viewer").await;
    for role in ["Editor", "Viewer"] {
        let (_, token) = api
            .member(&api.admin, ACCOUNT_715, &role.to_lowercase(), role)
            .await;
        let account = api
            .gql(
                Some(&token),
                "query($id: ObjectID!) { getAccount(id: $id) { id name viewerRoleCode } }",
                json!({ "id": ACCOUNT_715 }),
            )
            .await;
        assert_eq!(
            account.data()["getAccount"],
            json!({ "id": ACCOUNT_715, "name": "Default", "viewerRoleCode": role })
        );
        for (doc, vars) in [
            (
                lumar("GetServiceAccount"),
                json!({ "serviceAccountId": sa }),
            ),
            (
                lumar("CreateServiceAccount"),
                json!({ "input": { "accountId": ACCOUNT_715, "name": "x", "roleCode": "Viewer" } }),
            ),
            (
                lumar("DeleteServiceAccount"),
                json!({ "input": { "serviceAccountId": sa } }),
            ),
            (
                "query($id: ObjectID!) { getAccount(id: $id) { members { roleCode } } }",
                json!({ "id": ACCOUNT_715 }),
            ),
            (
                "query($id: ObjectID!) { getAccount(id: $id) { auditEvents { totalCount } } }",
                json!({ "id": ACCOUNT_715 }),
            ),
        ] {
            let answer = api.gql(Some(&token), doc, vars).await;
            assert_eq!(answer.code(), "UNAUTHORIZED", "{role}: {doc}");
        }
    }
}
