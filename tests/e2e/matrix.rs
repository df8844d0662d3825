//! The authorization matrix: every operation against every kind of caller, each
//! cell checked against the table of the contract (who may do what). The table
//! checked here is written to docs/authorization.md by this same code; the test
//! fails when that file differs (`KEYWARDEN_WRITE_DOCS=1` rewrites it).

use serde_json::{Value, json};

use crate::support::{ACCOUNT_715, Answer, Api, lumar};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Caller {
    Nobody,
    Malformed,
    Unknown,
    Expired,
    Revoked,
    Disabled,
    RobotViewer,
    RobotEditor,
    RobotAdmin,
    Viewer,
    Editor,
    Admin,
    OtherAdmin,
}

const CALLERS: [Caller; 13] = [
    Caller::Nobody,
    Caller::Malformed,
    Caller::Unknown,
    Caller::Expired,
    Caller::Revoked,
    Caller::Disabled,
    Caller::RobotViewer,
    Caller::RobotEditor,
    Caller::RobotAdmin,
    Caller::Viewer,
    Caller::Editor,
    Caller::Admin,
    Caller::OtherAdmin,
];

impl Caller {
    fn label(self) -> &'static str {
        match self {
            Caller::Nobody => "no credential",
            Caller::Malformed => "malformed key",
            Caller::Unknown => "unknown key",
            Caller::Expired => "expired key",
            Caller::Revoked => "revoked key",
            Caller::Disabled => "key of a disabled service account",
            Caller::RobotViewer => "service account, Viewer",
            Caller::RobotEditor => "service account, Editor",
            Caller::RobotAdmin => "service account, Admin",
            Caller::Viewer => "user, Viewer",
            Caller::Editor => "user, Editor",
            Caller::Admin => "user, Admin",
            Caller::OtherAdmin => "user, Admin of another account",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Op {
    Me,
    GetAccount,
    NodeAccount,
    ServiceAccount,
    ListServiceAccounts,
    ListMembers,
    AuditLog,
    CreateServiceAccount,
    UpdateServiceAccount,
    DeleteServiceAccount,
    CreateKey,
    RevokeKey,
    RotateKey,
    AddMember,
    UpdateMember,
    RemoveMember,
    ListInvitations,
    CreateInvitation,
    RevokeInvitation,
    CreateToken,
    RevokeToken,
    RotateToken,
    ListProjects,
    CreateProject,
    UpdateProject,
    DeleteProject,
    ListPermissions,
    CreatePermission,
    DeletePermission,
    ListPermissionSets,
    CreatePermissionSet,
    UpdatePermissionSet,
    DeletePermissionSet,
    ListGroups,
    CreateGroup,
    UpdateGroup,
    DeleteGroup,
    AddGroupMembers,
    RemoveGroupMembers,
    CreateGroupGrant,
    DeleteGroupGrant,
    CheckOwnPermission,
    CheckPermissionOfOther,
    KeyUsage,
    HeldOwnPermissions,
    HeldPermissionsOfOther,
}

const OPS: [Op; 46] = [
    Op::Me,
    Op::GetAccount,
    Op::NodeAccount,
    Op::ServiceAccount,
    Op::ListServiceAccounts,
    Op::ListMembers,
    Op::AuditLog,
    Op::CreateServiceAccount,
    Op::UpdateServiceAccount,
    Op::DeleteServiceAccount,
    Op::CreateKey,
    Op::RevokeKey,
    Op::RotateKey,
    Op::AddMember,
    Op::UpdateMember,
    Op::RemoveMember,
    Op::ListInvitations,
    Op::CreateInvitation,
    Op::RevokeInvitation,
    Op::CreateToken,
    Op::RevokeToken,
    Op::RotateToken,
    Op::ListProjects,
    Op::CreateProject,
    Op::UpdateProject,
    Op::DeleteProject,
    Op::ListPermissions,
    Op::CreatePermission,
    Op::DeletePermission,
    Op::ListPermissionSets,
    Op::CreatePermissionSet,
    Op::UpdatePermissionSet,
    Op::DeletePermissionSet,
    Op::ListGroups,
    Op::CreateGroup,
    Op::UpdateGroup,
    Op::DeleteGroup,
    Op::AddGroupMembers,
    Op::RemoveGroupMembers,
    Op::CreateGroupGrant,
    Op::DeleteGroupGrant,
    Op::CheckOwnPermission,
    Op::CheckPermissionOfOther,
    Op::KeyUsage,
    Op::HeldOwnPermissions,
    Op::HeldPermissionsOfOther,
];

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::Me => "`me`",
            Op::GetAccount => "`getAccount`",
            Op::NodeAccount => "`node` (the account)",
            Op::ServiceAccount => "`serviceAccount`",
            Op::ListServiceAccounts => "`Account.serviceAccounts`",
            Op::ListMembers => "`Account.members`",
            Op::AuditLog => "`Account.auditEvents`",
            Op::CreateServiceAccount => "`createServiceAccount`",
            Op::UpdateServiceAccount => "`updateServiceAccount`",
            Op::DeleteServiceAccount => "`deleteServiceAccount`",
            Op::CreateKey => "`createServiceAccountKey`",
            Op::RevokeKey => "`revokeServiceAccountKey`",
            Op::RotateKey => "`rotateServiceAccountKey`",
            Op::AddMember => "`addAccountMember`",
            Op::UpdateMember => "`updateAccountMember`",
            Op::RemoveMember => "`removeAccountMember`",
            Op::ListInvitations => "`Account.invitations`",
            Op::CreateInvitation => "`createAccountInvitation`",
            Op::RevokeInvitation => "`revokeAccountInvitation`",
            Op::CreateToken => "`createPersonalAccessToken` (own)",
            Op::RevokeToken => "`revokePersonalAccessToken` (own)",
            Op::RotateToken => "`rotatePersonalAccessToken` (own)",
            Op::ListProjects => "`Account.projects`",
            Op::CreateProject => "`createProject`",
            Op::UpdateProject => "`updateProject`",
            Op::DeleteProject => "`deleteProject`",
            Op::ListPermissions => "`Account.permissions`",
            Op::CreatePermission => "`createPermission`",
            Op::DeletePermission => "`deletePermission`",
            Op::ListPermissionSets => "`Account.permissionSets`",
            Op::CreatePermissionSet => "`createPermissionSet`",
            Op::UpdatePermissionSet => "`updatePermissionSet`",
            Op::DeletePermissionSet => "`deletePermissionSet`",
            Op::ListGroups => "`Account.groups`",
            Op::CreateGroup => "`createGroup`",
            Op::UpdateGroup => "`updateGroup`",
            Op::DeleteGroup => "`deleteGroup`",
            Op::AddGroupMembers => "`addGroupMembers`",
            Op::RemoveGroupMembers => "`removeGroupMembers`",
            Op::CreateGroupGrant => "`createGroupGrant`",
            Op::DeleteGroupGrant => "`deleteGroupGrant`",
            Op::CheckOwnPermission => "`checkPermission` (own)",
            Op::CheckPermissionOfOther => "`checkPermission` (a service account)",
            Op::KeyUsage => "`ServiceAccount.keyUsage`",
            Op::HeldOwnPermissions => "`heldPermissions` (own)",
            Op::HeldPermissionsOfOther => "`heldPermissions` (a service account)",
        }
    }
}

/// The contract's table: what each caller gets for each operation on the
/// objects of account 715.
fn expected(caller: Caller, op: Op) -> &'static str {
    use Caller::*;
    use Op::*;
    match caller {
        Nobody => "UNAUTHENTICATED",
        Malformed | Unknown | Expired | Revoked | Disabled => "401",
        Admin => "ok",
        OtherAdmin => match op {
            Me | CreateToken | RevokeToken | RotateToken => "ok",
            NodeAccount => "null",
            _ => "ENTITY_NOT_FOUND",
        },
        Viewer | Editor => match op {
            Me | GetAccount | NodeAccount | CreateToken | RevokeToken | RotateToken
            | CheckOwnPermission | HeldOwnPermissions => "ok",
            _ => "UNAUTHORIZED",
        },
        RobotViewer | RobotEditor | RobotAdmin => match op {
            Me | GetAccount | NodeAccount | CheckOwnPermission | HeldOwnPermissions => "ok",
            _ => "UNAUTHORIZED",
        },
    }
}

/// What a response says, in the table's words.
fn outcome(answer: &Answer, op: Op) -> String {
    if answer.status == 401 {
        return "401".to_owned();
    }
    if let Some(code) = answer.body["errors"][0]["extensions"]["code"].as_str() {
        return code.to_owned();
    }
    if op == Op::NodeAccount && answer.body["data"]["node"].is_null() {
        return "null".to_owned();
    }
    if answer.status == 200 {
        "ok".to_owned()
    } else {
        format!("HTTP {}", answer.status)
    }
}

/// The generated part of docs/authorization.md, between these markers.
const BEGIN: &str = "<!-- matrix: generated by tests/e2e/matrix.rs -->\n";
const END: &str = "<!-- /matrix -->\n";

/// `doc` with its generated part replaced by `table`.
fn spliced(doc: &str, table: &str) -> Option<String> {
    let start = doc.find(BEGIN)? + BEGIN.len();
    let end = start + doc[start..].find(END)?;
    Some(format!("{}{table}{}", &doc[..start], &doc[end..]))
}

fn render() -> String {
    let mut out = String::from(
        "Regenerate with `KEYWARDEN_WRITE_DOCS=1 cargo test -p keywarden --test e2e matrix`.\n\n\
         Rows are operations on the objects of one account; columns are callers. `ok`: allowed;\n\
         `401`: the credential is refused (HTTP 401 with `WWW-Authenticate`); `UNAUTHENTICATED`: no\n\
         credential (HTTP 200, the error code); `UNAUTHORIZED`: known, and not allowed;\n\
         `ENTITY_NOT_FOUND` and `null`: another account's objects do not exist for the caller.\n\n",
    );
    out.push_str("| operation |");
    for caller in CALLERS {
        out.push_str(&format!(" {} |", caller.label()));
    }
    out.push_str("\n|---|");
    for _ in CALLERS {
        out.push_str("---|");
    }
    out.push('\n');
    for op in OPS {
        out.push_str(&format!("| {} |", op.label()));
        for caller in CALLERS {
            out.push_str(&format!(" {} |", expected(caller, op)));
        }
        out.push('\n');
    }
    out
}

/// Objects a single cell may act on, made fresh so that no cell depends on another.
struct Targets {
    service_account: String,
    key: String,
    member: String,
    /// Made only for the operation that acts on one: an account may have
    /// only so many waiting.
    invitation: String,
    /// Access objects, likewise made only for the operations that act on
    /// them (an account holds only so many).
    project: String,
    permission: String,
    set: String,
    group: String,
    grant: String,
}

/// The permission every set of the matrix holds, defined once.
const MATRIX_PERMISSION: &str = "matrix:run";

/// The access objects `op` acts on: (project, permission, set, group, grant),
/// each a real one only when `op` needs it.
async fn access_targets(
    api: &Api,
    n: usize,
    op: Op,
    service_account: &str,
) -> (String, String, String, String, String) {
    let placeholder = |kind: &str| domain::object_id::encode(kind, 1);
    let id = |v: &Value| v.as_str().unwrap().to_owned();
    let project = if matches!(op, Op::UpdateProject | Op::DeleteProject) {
        id(&api
            .admin(
                "mutation($a: ObjectID!, $n: String!) { createProject(input: { accountId: $a, name: $n }) { project { id } } }",
                json!({ "a": ACCOUNT_715, "n": format!("p{n}") }),
            )
            .await["createProject"]["project"]["id"])
    } else {
        placeholder("Project")
    };
    let permission = if op == Op::DeletePermission {
        id(&api
            .admin(
                "mutation($a: ObjectID!, $n: String!) { createPermission(input: { accountId: $a, name: $n }) { permission { id } } }",
                json!({ "a": ACCOUNT_715, "n": format!("cell:p{n}") }),
            )
            .await["createPermission"]["permission"]["id"])
    } else {
        placeholder("Permission")
    };
    let needs_set = matches!(
        op,
        Op::UpdatePermissionSet
            | Op::DeletePermissionSet
            | Op::CreateGroupGrant
            | Op::DeleteGroupGrant
    );
    let set = if needs_set {
        id(&api
            .admin(
                "mutation($a: ObjectID!, $n: String!, $p: String!) { createPermissionSet(input: { accountId: $a, name: $n, permissions: [$p] }) { permissionSet { id } } }",
                json!({ "a": ACCOUNT_715, "n": format!("s{n}"), "p": MATRIX_PERMISSION }),
            )
            .await["createPermissionSet"]["permissionSet"]["id"])
    } else {
        placeholder("PermissionSet")
    };
    let needs_group = matches!(
        op,
        Op::UpdateGroup
            | Op::DeleteGroup
            | Op::AddGroupMembers
            | Op::RemoveGroupMembers
            | Op::CreateGroupGrant
            | Op::DeleteGroupGrant
    );
    let group = if needs_group {
        let group = id(&api
            .admin(
                "mutation($a: ObjectID!, $n: String!) { createGroup(input: { accountId: $a, name: $n }) { group { id } } }",
                json!({ "a": ACCOUNT_715, "n": format!("g{n}") }),
            )
            .await["createGroup"]["group"]["id"]);
        if op == Op::RemoveGroupMembers {
            api.admin(
                "mutation($g: ObjectID!, $m: ObjectID!) { addGroupMembers(input: { groupId: $g, memberIds: [$m] }) { group { id } } }",
                json!({ "g": group, "m": service_account }),
            )
            .await;
        }
        group
    } else {
        placeholder("Group")
    };
    let grant = if op == Op::DeleteGroupGrant {
        id(&api
            .admin(
                "mutation($g: ObjectID!, $s: ObjectID!) { createGroupGrant(input: { groupId: $g, permissionSetId: $s, allProjects: true }) { groupGrant { id } } }",
                json!({ "g": group, "s": set }),
            )
            .await["createGroupGrant"]["groupGrant"]["id"])
    } else {
        placeholder("GroupGrant")
    };
    (project, permission, set, group, grant)
}

async fn targets(api: &Api, n: usize, op: Op) -> Targets {
    let service_account = api.service_account(&format!("target-{n}"), "Viewer").await;
    let (key, _) = api.key(&service_account).await;
    let (member, _) = api
        .member(&api.admin, ACCOUNT_715, &format!("member{n}"), "Viewer")
        .await;
    let invitation = if op == Op::RevokeInvitation {
        api.admin(
            "mutation($i: CreateAccountInvitationInput!) { createAccountInvitation(input: $i) { id secret } }",
            json!({ "i": { "accountId": ACCOUNT_715, "roleCode": "Viewer" } }),
        )
        .await["createAccountInvitation"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    } else {
        domain::object_id::encode("AccountInvitation", 1)
    };
    let (project, permission, set, group, grant) =
        access_targets(api, n, op, &service_account).await;
    Targets {
        service_account,
        key,
        member,
        invitation,
        project,
        permission,
        set,
        group,
        grant,
    }
}

fn document(op: Op, t: &Targets, n: usize, own_token: &str) -> (String, Value) {
    let mutation = |name: &str, input: &str, selection: &str, vars: Value| {
        (
            format!("mutation($input: {input}!) {{ {name}(input: $input) {{ {selection} }} }}"),
            json!({ "input": vars }),
        )
    };
    let account = json!({ "id": ACCOUNT_715 });
    match op {
        Op::Me => ("{ me { id } }".to_owned(), json!({})),
        Op::GetAccount => (
            "query($id: ObjectID!) { getAccount(id: $id) { id name } }".to_owned(),
            account,
        ),
        Op::NodeAccount => (
            "query($id: ObjectID!) { node(id: $id) { id } }".to_owned(),
            account,
        ),
        Op::ServiceAccount => (
            "query($id: ObjectID!) { serviceAccount(id: $id) { id } }".to_owned(),
            json!({ "id": t.service_account }),
        ),
        Op::ListServiceAccounts => (
            "query($id: ObjectID!) { getAccount(id: $id) { serviceAccounts { id } } }".to_owned(),
            account,
        ),
        Op::ListMembers => (
            "query($id: ObjectID!) { getAccount(id: $id) { members { roleCode } } }".to_owned(),
            account,
        ),
        Op::AuditLog => (
            "query($id: ObjectID!) { getAccount(id: $id) { auditEvents { totalCount } } }"
                .to_owned(),
            account,
        ),
        Op::CreateServiceAccount => mutation(
            "createServiceAccount",
            "CreateServiceAccountInput",
            "serviceAccount { id }",
            json!({ "accountId": ACCOUNT_715, "name": format!("new-{n}"), "roleCode": "Viewer" }),
        ),
        Op::UpdateServiceAccount => mutation(
            "updateServiceAccount",
            "UpdateServiceAccountInput",
            "serviceAccount { id }",
            json!({ "serviceAccountId": t.service_account, "name": format!("renamed-{n}") }),
        ),
        Op::DeleteServiceAccount => mutation(
            "deleteServiceAccount",
            "DeleteServiceAccountInput",
            "serviceAccount { id }",
            json!({ "serviceAccountId": t.service_account }),
        ),
        Op::CreateKey => mutation(
            "createServiceAccountKey",
            "CreateServiceAccountKeyInput",
            "id secret",
            json!({ "serviceAccountId": t.service_account }),
        ),
        Op::RevokeKey => mutation(
            "revokeServiceAccountKey",
            "RevokeServiceAccountKeyInput",
            "serviceAccountKey { id }",
            json!({ "serviceAccountKeyId": t.key }),
        ),
        Op::RotateKey => mutation(
            "rotateServiceAccountKey",
            "RotateServiceAccountKeyInput",
            "id secret",
            json!({ "serviceAccountKeyId": t.key }),
        ),
        Op::AddMember => mutation(
            "addAccountMember",
            "AddAccountMemberInput",
            "initialToken",
            json!({ "accountId": ACCOUNT_715, "username": format!("added{n}"), "roleCode": "Viewer" }),
        ),
        Op::UpdateMember => mutation(
            "updateAccountMember",
            "UpdateAccountMemberInput",
            "accountMember { id }",
            json!({ "accountId": ACCOUNT_715, "userId": t.member, "roleCode": "Editor" }),
        ),
        Op::RemoveMember => mutation(
            "removeAccountMember",
            "RemoveAccountMemberInput",
            "accountMember { id }",
            json!({ "accountId": ACCOUNT_715, "userId": t.member }),
        ),
        Op::ListInvitations => (
            "query($id: ObjectID!) { getAccount(id: $id) { invitations { id } } }".to_owned(),
            account,
        ),
        Op::CreateInvitation => mutation(
            "createAccountInvitation",
            "CreateAccountInvitationInput",
            "id secret",
            json!({ "accountId": ACCOUNT_715, "roleCode": "Viewer" }),
        ),
        Op::RevokeInvitation => mutation(
            "revokeAccountInvitation",
            "RevokeAccountInvitationInput",
            "accountInvitation { id }",
            json!({ "accountInvitationId": t.invitation }),
        ),
        Op::CreateToken => mutation(
            "createPersonalAccessToken",
            "CreatePersonalAccessTokenInput",
            "id secret",
            json!({ "name": format!("t{n}") }),
        ),
        Op::RevokeToken => mutation(
            "revokePersonalAccessToken",
            "RevokePersonalAccessTokenInput",
            "personalAccessToken { id }",
            json!({ "personalAccessTokenId": own_token }),
        ),
        Op::RotateToken => mutation(
            "rotatePersonalAccessToken",
            "RotatePersonalAccessTokenInput",
            "id secret",
            json!({ "personalAccessTokenId": own_token, "expiresAt": "2099-06-01T00:00:00Z" }),
        ),
        Op::ListProjects => (
            "query($id: ObjectID!) { getAccount(id: $id) { projects { id } } }".to_owned(),
            account,
        ),
        Op::CreateProject => mutation(
            "createProject",
            "CreateProjectInput",
            "project { id }",
            json!({ "accountId": ACCOUNT_715, "name": format!("new-{n}") }),
        ),
        Op::UpdateProject => mutation(
            "updateProject",
            "UpdateProjectInput",
            "project { id }",
            json!({ "projectId": t.project, "name": format!("renamed-{n}") }),
        ),
        Op::DeleteProject => mutation(
            "deleteProject",
            "DeleteProjectInput",
            "project { id }",
            json!({ "projectId": t.project }),
        ),
        Op::ListPermissions => (
            "query($id: ObjectID!) { getAccount(id: $id) { permissions { id } } }".to_owned(),
            account,
        ),
        Op::CreatePermission => mutation(
            "createPermission",
            "CreatePermissionInput",
            "permission { id }",
            json!({ "accountId": ACCOUNT_715, "name": format!("new:p{n}") }),
        ),
        Op::DeletePermission => mutation(
            "deletePermission",
            "DeletePermissionInput",
            "permission { id }",
            json!({ "permissionId": t.permission }),
        ),
        Op::ListPermissionSets => (
            "query($id: ObjectID!) { getAccount(id: $id) { permissionSets { id } } }".to_owned(),
            account,
        ),
        Op::CreatePermissionSet => mutation(
            "createPermissionSet",
            "CreatePermissionSetInput",
            "permissionSet { id }",
            json!({ "accountId": ACCOUNT_715, "name": format!("new-{n}"), "permissions": [MATRIX_PERMISSION] }),
        ),
        Op::UpdatePermissionSet => mutation(
            "updatePermissionSet",
            "UpdatePermissionSetInput",
            "permissionSet { id }",
            json!({ "permissionSetId": t.set, "name": format!("renamed-{n}") }),
        ),
        Op::DeletePermissionSet => mutation(
            "deletePermissionSet",
            "DeletePermissionSetInput",
            "permissionSet { id }",
            json!({ "permissionSetId": t.set }),
        ),
        Op::ListGroups => (
            "query($id: ObjectID!) { getAccount(id: $id) { groups { id } } }".to_owned(),
            account,
        ),
        Op::CreateGroup => mutation(
            "createGroup",
            "CreateGroupInput",
            "group { id }",
            json!({ "accountId": ACCOUNT_715, "name": format!("new-{n}") }),
        ),
        Op::UpdateGroup => mutation(
            "updateGroup",
            "UpdateGroupInput",
            "group { id }",
            json!({ "groupId": t.group, "name": format!("renamed-{n}") }),
        ),
        Op::DeleteGroup => mutation(
            "deleteGroup",
            "DeleteGroupInput",
            "group { id }",
            json!({ "groupId": t.group }),
        ),
        Op::AddGroupMembers => mutation(
            "addGroupMembers",
            "GroupMembersInput",
            "group { id }",
            json!({ "groupId": t.group, "memberIds": [t.service_account] }),
        ),
        Op::RemoveGroupMembers => mutation(
            "removeGroupMembers",
            "GroupMembersInput",
            "group { id }",
            json!({ "groupId": t.group, "memberIds": [t.service_account] }),
        ),
        Op::CreateGroupGrant => mutation(
            "createGroupGrant",
            "CreateGroupGrantInput",
            "groupGrant { id }",
            json!({ "groupId": t.group, "permissionSetId": t.set, "allProjects": true }),
        ),
        Op::DeleteGroupGrant => mutation(
            "deleteGroupGrant",
            "DeleteGroupGrantInput",
            "groupGrant { id }",
            json!({ "groupGrantId": t.grant }),
        ),
        Op::CheckOwnPermission => (
            "query($i: CheckPermissionInput!) { checkPermission(input: $i) { allowed } }"
                .to_owned(),
            json!({ "i": { "accountId": ACCOUNT_715, "permission": MATRIX_PERMISSION } }),
        ),
        Op::CheckPermissionOfOther => (
            "query($i: CheckPermissionInput!) { checkPermission(input: $i) { allowed } }"
                .to_owned(),
            json!({ "i": { "accountId": ACCOUNT_715, "permission": MATRIX_PERMISSION,
                           "principalId": t.service_account } }),
        ),
        Op::KeyUsage => (
            "query($id: ObjectID!) { serviceAccount(id: $id) { keyUsage { activeKeys } } }"
                .to_owned(),
            json!({ "id": t.service_account }),
        ),
        Op::HeldOwnPermissions => (
            "query($i: HeldPermissionsInput!) { heldPermissions(input: $i) { every } }".to_owned(),
            json!({ "i": { "accountId": ACCOUNT_715 } }),
        ),
        Op::HeldPermissionsOfOther => (
            "query($i: HeldPermissionsInput!) { heldPermissions(input: $i) { every } }".to_owned(),
            json!({ "i": { "accountId": ACCOUNT_715, "principalId": t.service_account } }),
        ),
    }
}

/// A key of a new service account with `role`.
async fn robot(api: &Api, name: &str, role: &str) -> (String, String, String) {
    let sa = api.service_account(name, role).await;
    let (key_id, key) = api.key(&sa).await;
    (sa, key_id, key)
}

/// One of the caller's own tokens that expires, for the token operations.
async fn own_expiring_token(api: &Api, token: &str) -> Option<String> {
    let made = api
        .gql(
            Some(token),
            "mutation { createPersonalAccessToken(input: { name: \"matrix\", expiresAt: \"2099-01-01T00:00:00Z\" }) { id secret } }",
            json!({}),
        )
        .await;
    made.body["data"]["createPersonalAccessToken"]["id"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn every_operation_against_every_caller_follows_the_contract() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/authorization.md");
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let documented =
        spliced(&doc, &render()).expect("docs/authorization.md marks where the matrix goes");
    if std::env::var("KEYWARDEN_WRITE_DOCS").is_ok() {
        std::fs::write(path, &documented).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(path).unwrap_or_default(),
        documented,
        "docs/authorization.md is stale: run KEYWARDEN_WRITE_DOCS=1 cargo test -p keywarden --test e2e matrix"
    );

    let api = Api::start_with(&["--auth-failures-per-minute", "100000"]).await;
    let db = api.backend.connect().await;
    api.admin(
        "mutation($a: ObjectID!, $n: String!) { createPermission(input: { accountId: $a, name: $n }) { permission { id } } }",
        json!({ "a": ACCOUNT_715, "n": MATRIX_PERMISSION }),
    )
    .await;
    let mut credentials: Vec<(Caller, Option<String>)> = Vec::new();
    for caller in CALLERS {
        let token = match caller {
            Caller::Nobody => None,
            Caller::Malformed => Some("lmr_sa_12_not-a-real-key".to_owned()),
            Caller::Unknown => Some(
                domain::token::issue_personal_access_token()
                    .expose()
                    .to_owned(),
            ),
            Caller::Expired => {
                let (_, key_id, key) = robot(&api, "expired", "Admin").await;
                let (_, id) = domain::object_id::decode(&key_id).unwrap();
                sea_orm::ConnectionTrait::execute_unprepared(
                    &db,
                    &format!("UPDATE service_account_keys SET expires_at = 1 WHERE id = {id}"),
                )
                .await
                .unwrap();
                Some(key)
            }
            Caller::Revoked => {
                let (_, key_id, key) = robot(&api, "revoked", "Admin").await;
                api.admin(
                    lumar("RevokeServiceAccountKey"),
                    json!({ "input": { "serviceAccountKeyId": key_id } }),
                )
                .await;
                Some(key)
            }
            Caller::Disabled => {
                let (sa, _, key) = robot(&api, "disabled", "Admin").await;
                api.admin(
                    lumar("UpdateServiceAccount"),
                    json!({ "input": { "serviceAccountId": sa, "enabled": false } }),
                )
                .await;
                Some(key)
            }
            Caller::RobotViewer => Some(robot(&api, "robot-viewer", "Viewer").await.2),
            Caller::RobotEditor => Some(robot(&api, "robot-editor", "Editor").await.2),
            Caller::RobotAdmin => Some(robot(&api, "robot-admin", "Admin").await.2),
            Caller::Viewer => Some(
                api.member(&api.admin, ACCOUNT_715, "viewer", "Viewer")
                    .await
                    .1,
            ),
            Caller::Editor => Some(
                api.member(&api.admin, ACCOUNT_715, "editor", "Editor")
                    .await
                    .1,
            ),
            Caller::Admin => Some(api.member(&api.admin, ACCOUNT_715, "ada", "Admin").await.1),
            Caller::OtherAdmin => Some(api.other_account("Globex", "gina").await.1),
        };
        credentials.push((caller, token));
    }

    let mut wrong = Vec::new();
    let mut n = 0;
    for (caller, token) in &credentials {
        for op in OPS {
            n += 1;
            let t = targets(&api, n, op).await;
            // A token of the caller's own for each token operation, where it has any.
            let own = match (token, op) {
                (Some(t), Op::RevokeToken | Op::RotateToken) => own_expiring_token(&api, t).await,
                _ => None,
            };
            let own = own.unwrap_or_else(|| domain::object_id::encode("PersonalAccessToken", 1));
            let (query, variables) = document(op, &t, n, &own);
            let answer = api.gql(token.as_deref(), &query, variables).await;
            let got = outcome(&answer, op);
            if got != expected(*caller, op) {
                wrong.push(format!(
                    "{} / {}: expected {}, got {got}: {}",
                    op.label(),
                    caller.label(),
                    expected(*caller, op),
                    answer.body
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
