//! Projects, permission sets and groups through the GraphQL API, and the
//! gateway's question of permission at `/v1/verify`, over real HTTP.

use serde_json::{Value, json};

use crate::support::{ACCOUNT_715, Api};

/// A CI service account of account 715 whose key may run jobs in project
/// "web" and nothing else: the worked example of `docs/authorization.md`.
pub struct Example {
    pub web: String,
    pub api: String,
    pub group: String,
    pub set: String,
    pub service_account: String,
    pub key: String,
}

pub async fn example(api: &Api) -> Example {
    let data = api
        .admin(
            "mutation($a: ObjectID!) {
               web: createProject(input: { accountId: $a, name: \"web\" }) { project { id } }
               api: createProject(input: { accountId: $a, name: \"api\", description: \"The API\" }) { project { id } }
               run: createPermission(input: { accountId: $a, name: \"jobs:run\" }) { permission { name resource action } }
               read: createPermission(input: { accountId: $a, name: \"docs:read\" }) { permission { name } }
               set: createPermissionSet(input: { accountId: $a, name: \"runner\", permissions: [\"jobs:run\"] }) {
                 permissionSet { id builtIn permissions }
               }
               group: createGroup(input: { accountId: $a, name: \"ci\" }) { group { id name } }
             }",
            json!({ "a": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(
        data["run"]["permission"],
        json!({ "name": "jobs:run", "resource": "jobs", "action": "run" })
    );
    assert_eq!(
        data["set"]["permissionSet"]["permissions"],
        json!(["jobs:run"])
    );
    let id = |v: &Value| v.as_str().unwrap().to_owned();
    let web = id(&data["web"]["project"]["id"]);
    let group = id(&data["group"]["group"]["id"]);
    let set = id(&data["set"]["permissionSet"]["id"]);
    let granted = api
        .admin(
            "mutation($g: ObjectID!, $s: ObjectID!, $p: ObjectID!) {
               createGroupGrant(input: { groupId: $g, permissionSetId: $s, projectIds: [$p] }) {
                 groupGrant { allProjects projects { name } permissionSet { name } group { name } }
               }
             }",
            json!({ "g": group, "s": set, "p": web }),
        )
        .await;
    assert_eq!(
        granted["createGroupGrant"]["groupGrant"],
        json!({ "allProjects": false, "projects": [{ "name": "web" }],
                "permissionSet": { "name": "runner" }, "group": { "name": "ci" } })
    );
    // Created straight into the group, as Datafold's form does.
    let created = api
        .admin(
            "mutation($a: ObjectID!, $g: ObjectID!) {
               createServiceAccount(input: { accountId: $a, name: \"ci-runner\", roleCode: Viewer, groupIds: [$g] }) {
                 serviceAccount { id groups { name } }
               }
             }",
            json!({ "a": ACCOUNT_715, "g": group }),
        )
        .await;
    let sa = &created["createServiceAccount"]["serviceAccount"];
    assert_eq!(sa["groups"], json!([{ "name": "ci" }]));
    let service_account = id(&sa["id"]);
    let key = api
        .admin(
            "mutation($s: ObjectID!) {
               createServiceAccountKey(input: { serviceAccountId: $s, name: \"ci\",
                 description: \"Runs the web project's jobs\", expiresInDays: 30 }) {
                 secret description expiresAt createdAt
               }
             }",
            json!({ "s": service_account }),
        )
        .await;
    let key = &key["createServiceAccountKey"];
    assert_eq!(key["description"], "Runs the web project's jobs");
    let created_at =
        chrono::DateTime::parse_from_rfc3339(key["createdAt"].as_str().unwrap()).unwrap();
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(key["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires_at - created_at, chrono::Duration::days(30));
    Example {
        web,
        api: id(&data["api"]["project"]["id"]),
        group,
        set,
        service_account,
        key: id(&key["secret"]),
    }
}

/// `GET /v1/verify` with `query`, `key` as `x-api-key` and extra headers:
/// (status, reason header, permissions header, project header).
async fn verify(
    api: &Api,
    key: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, Option<String>, Option<String>) {
    let mut request = api
        .http
        .get(api.server.url(&format!("/v1/verify{query}")))
        .header("x-api-key", key);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    (
        response.status().as_u16(),
        header("x-keywarden-reason"),
        header("x-keywarden-permissions"),
        header("x-keywarden-project"),
    )
}

#[tokio::test]
async fn the_gateway_asks_for_a_permission_on_a_project_and_gets_each_answer() {
    let api = Api::start().await;
    let ex = example(&api).await;
    let key = ex.key.as_str();
    // Held on web, by name or by id, in the query or in headers.
    let (status, _, _, project) = verify(&api, key, "?permission=jobs:run&project=web", &[]).await;
    assert_eq!((status, project.as_deref()), (200, Some(ex.web.as_str())));
    let by_id = format!("?permission=jobs:run&project={}", ex.web);
    assert_eq!(verify(&api, key, &by_id, &[]).await.0, 200);
    let headers = [
        ("x-keywarden-permission", "jobs:run"),
        ("x-keywarden-project", "web"),
    ];
    assert_eq!(verify(&api, key, "", &headers).await.0, 200);
    // Good credential, not held: 403 and the reason.
    for query in [
        "?permission=jobs:run&project=api",
        "?permission=docs:read&project=web",
        "?permission=jobs:run",
    ] {
        let (status, reason, ..) = verify(&api, key, query, &[]).await;
        assert_eq!(
            (status, reason.as_deref()),
            (403, Some("permission-not-held")),
            "{query}"
        );
    }
    let (status, reason, ..) = verify(&api, key, "?permission=jobs:run&project=nope", &[]).await;
    assert_eq!((status, reason.as_deref()), (403, Some("unknown-project")));
    // The permissions held there, when asked.
    let (status, _, held, _) = verify(
        &api,
        key,
        "?permission=jobs:run&project=web&include=permissions",
        &[],
    )
    .await;
    assert_eq!(
        (status, held.as_deref()),
        (200, Some("account:read jobs:run"))
    );
    let (_, _, held, _) = verify(&api, key, "?project=api&include=permissions", &[]).await;
    assert_eq!(held.as_deref(), Some("account:read"));
    // The Admin's token holds everything.
    let (status, _, held, _) = verify(
        &api,
        &api.admin,
        &format!("?account={ACCOUNT_715}&permission=jobs:run&project=api&include=permissions"),
        &[],
    )
    .await;
    assert_eq!((status, held.as_deref()), (200, Some("*")));
    // A bad credential is 401 whatever is asked; a bad question is 400.
    let bad = crate::support::mistyped(key);
    assert_ne!(bad, key);
    assert_eq!(
        verify(&api, &bad, "?permission=jobs:run&project=web", &[])
            .await
            .0,
        401
    );
    for query in [
        "?permission=Jobs:Run&project=web",
        "?permission=jobs&project=web",
        "?project=web",
        "?permission=jobs:run&project=",
    ] {
        assert_eq!(verify(&api, key, query, &[]).await.0, 400, "{query}");
    }
    // Another account's key, asked about 715: not in the account.
    let (other, other_admin) = api.other_account("other", "olga").await;
    let _ = other;
    let (status, reason, ..) = verify(
        &api,
        &other_admin,
        &format!("?account={ACCOUNT_715}&permission=jobs:run&project=web"),
        &[],
    )
    .await;
    assert_eq!((status, reason.as_deref()), (403, Some("not-in-account")));
}

#[tokio::test]
async fn a_change_in_graphql_is_the_gateways_next_answer() {
    let api = Api::start().await;
    let ex = example(&api).await;
    let ask = || verify(&api, &ex.key, "?permission=jobs:run&project=api", &[]);
    assert_eq!(ask().await.0, 403);
    // Widen the grant to every project: the very next answer is 200.
    api.admin(
        "mutation($g: ObjectID!, $s: ObjectID!) {
           createGroupGrant(input: { groupId: $g, permissionSetId: $s, allProjects: true }) { groupGrant { id } }
         }",
        json!({ "g": ex.group, "s": ex.set }),
    )
    .await;
    assert_eq!(ask().await.0, 200);
    // Take the service account out of the group: 403 again.
    api.admin(
        "mutation($g: ObjectID!, $m: ObjectID!) {
           removeGroupMembers(input: { groupId: $g, memberIds: [$m] }) { group { id } }
         }",
        json!({ "g": ex.group, "m": ex.service_account }),
    )
    .await;
    assert_eq!(ask().await.0, 403);
}

#[tokio::test]
async fn check_permission_explains_and_refusals_say_what_to_do() {
    let api = Api::start().await;
    let ex = example(&api).await;
    let check = "query($i: CheckPermissionInput!) {
        checkPermission(input: $i) {
          allowed permission roleCode project { name }
          sources { roleCode group { name } permissionSetName allProjects projects { name } }
        }
      }";
    // The key asks about itself.
    let own = api
        .gql(
            Some(&ex.key),
            check,
            json!({ "i": { "accountId": ACCOUNT_715, "permission": "jobs:run", "project": "web" } }),
        )
        .await;
    assert_eq!(
        own.data()["checkPermission"],
        json!({
            "allowed": true, "permission": "jobs:run", "roleCode": "Viewer",
            "project": { "name": "web" },
            "sources": [{ "roleCode": null, "group": { "name": "ci" }, "permissionSetName": "runner",
                          "allProjects": false, "projects": [{ "name": "web" }] }]
        })
    );
    // The Admin asks about the service account, by the project's id.
    let theirs = api
        .gql(
            Some(&api.admin),
            check,
            json!({ "i": { "accountId": ACCOUNT_715, "permission": "jobs:run", "project": ex.api,
                           "principalId": ex.service_account } }),
        )
        .await;
    assert_eq!(theirs.data()["checkPermission"]["allowed"], false);
    assert_eq!(theirs.data()["checkPermission"]["sources"], json!([]));
    // The key may not ask about others, nor manage anything.
    let refused = api
        .gql(
            Some(&ex.key),
            check,
            json!({ "i": { "accountId": ACCOUNT_715, "permission": "jobs:run",
                           "principalId": ex.service_account } }),
        )
        .await;
    assert_eq!(refused.code(), "UNAUTHORIZED");
    let refused = api
        .gql(
            Some(&ex.key),
            "mutation($a: ObjectID!) { createProject(input: { accountId: $a, name: \"x\" }) { project { id } } }",
            json!({ "a": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(refused.code(), "UNAUTHORIZED");
    // Deleting what is in use names the users.
    let refused = api
        .gql(
            Some(&api.admin),
            "mutation($p: ObjectID!) { deleteProject(input: { projectId: $p }) { project { id } } }",
            json!({ "p": ex.web }),
        )
        .await;
    let (code, message) = refused.error();
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("\"ci\""), "{message}");
    // A built-in set cannot be granted; a malformed permission is refused.
    let sets = api
        .admin(
            "query($a: ObjectID!) { getAccount(id: $a) { permissionSets { id name builtIn roleCode } } }",
            json!({ "a": ACCOUNT_715 }),
        )
        .await;
    let admin_set = sets["getAccount"]["permissionSets"][0].clone();
    assert_eq!(admin_set["roleCode"], "Admin");
    assert_eq!(admin_set["builtIn"], true);
    let refused = api
        .gql(
            Some(&api.admin),
            "mutation($g: ObjectID!, $s: ObjectID!) {
               createGroupGrant(input: { groupId: $g, permissionSetId: $s, allProjects: true }) { groupGrant { id } }
             }",
            json!({ "g": ex.group, "s": admin_set["id"] }),
        )
        .await;
    let (code, message) = refused.error();
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("built-in"), "{message}");
    let refused = api
        .gql(
            Some(&api.admin),
            "mutation($a: ObjectID!) { createPermission(input: { accountId: $a, name: \"Jobs:Run\" }) { permission { id } } }",
            json!({ "a": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    let refused = api
        .gql(
            Some(&api.admin),
            "mutation($s: ObjectID!) { createServiceAccountKey(input: { serviceAccountId: $s,
               expiresInDays: 30, expiresAt: \"2099-01-01T00:00:00.000Z\" }) { secret } }",
            json!({ "s": ex.service_account }),
        )
        .await;
    assert_eq!(refused.code(), "BAD_USER_INPUT");
    // The audit log shows the grant with what it granted, and the key's description.
    let log = api
        .admin(
            "query($a: ObjectID!) { getAccount(id: $a) { auditEvents(last: 100) { nodes { action before after } } } }",
            json!({ "a": ACCOUNT_715 }),
        )
        .await;
    let events = log["getAccount"]["auditEvents"]["nodes"]
        .as_array()
        .unwrap();
    let grant = events
        .iter()
        .find(|e| e["action"] == "group_grant.create")
        .unwrap();
    assert_eq!(grant["before"], Value::Null);
    assert_eq!(grant["after"]["permissionSet"], "runner");
    assert_eq!(grant["after"]["projects"], json!(["web"]));
    let key = events
        .iter()
        .find(|e| e["action"] == "service_account_key.create")
        .unwrap();
    assert_eq!(key["after"]["description"], "Runs the web project's jobs");
    // Group membership and the lists an Admin reads.
    let lists = api
        .admin(
            "query($a: ObjectID!, $g: ObjectID!) {
               getAccount(id: $a) { projects { name } groups(first: 5) { name members(first: 10) { id name isServiceAccount } } permissions { name } }
               node(id: $g) { ... on Group { grants { permissionSet { name } } } }
             }",
            json!({ "a": ACCOUNT_715, "g": ex.group }),
        )
        .await;
    assert_eq!(
        lists["getAccount"]["projects"],
        json!([{ "name": "web" }, { "name": "api" }])
    );
    assert_eq!(
        lists["getAccount"]["groups"][0]["members"],
        json!([{ "id": ex.service_account, "name": "ci-runner", "isServiceAccount": true }])
    );
    assert_eq!(
        lists["getAccount"]["permissions"],
        json!([{ "name": "docs:read" }, { "name": "jobs:run" }])
    );
    assert_eq!(
        lists["node"]["grants"],
        json!([{ "permissionSet": { "name": "runner" } }])
    );
}
