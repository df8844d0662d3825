//! Upgrades from the previous release: its binary, built from its tag by
//! `.ci/previous` and named by `KEYWARDEN_TEST_PREVIOUS_BIN` (`just
//! test-upgrade` does both), makes a database as an operator's would be; this
//! release, started on it, answers every credential and shows every object as
//! it did. On PostgreSQL the two also run side by side, as a rolling upgrade
//! has them, and a key revoked through either is refused by the other at once.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{BIN, Backend, Server, client, keywarden_binary, lumar};

/// The version a release's binary says it is (`keywarden 0.2.0 (commit …)`).
fn release_of(binary: &str) -> String {
    let out = std::process::Command::new(binary)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{binary} --version: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("{binary} --version said {text:?}"))
        .to_owned()
}

/// The previous release's binary, or `None` (the tests are skipped) when no
/// one built it; with `KEYWARDEN_TEST_REQUIRE_TOOLS` set, a missing one fails.
fn previous() -> Option<String> {
    let found = std::env::var("KEYWARDEN_TEST_PREVIOUS_BIN")
        .ok()
        .filter(|path| Path::new(path).is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("KEYWARDEN_TEST_REQUIRE_TOOLS").is_none(),
            "the previous release is required (KEYWARDEN_TEST_REQUIRE_TOOLS is set): \
             set KEYWARDEN_TEST_PREVIOUS_BIN to what .ci/previous prints"
        );
        eprintln!("no previous release built: skipping (just test-upgrade)");
    }
    found
}

fn run_binary(binary: &str, dir: &Path, args: &[&str]) -> std::process::Output {
    let out = keywarden_binary(binary, dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{binary} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

async fn gql(server: &Server, token: &str, query: &str, variables: Value) -> Value {
    let (status, body) = server.gql(token, query, variables).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

fn id(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("an id: {v}"))
        .to_owned()
}

/// What an operator's database holds after some weeks: two accounts; service
/// accounts live, disabled, renamed and deleted; keys live, revoked,
/// expired, rotated, with a role ceiling and with an expiry; members of every
/// role with their tokens, one revoked; a group with a grant on a project; an
/// invitation waiting.
struct Estate {
    accounts: Vec<(String, String)>,
    /// Every credential made, by what it is.
    credentials: Vec<(String, String)>,
}

async fn populate(server: &Server, binary: &str, dir: &Path, backend: &Backend) -> Estate {
    let admin = server.banner_token().expect("the first start's token");
    let account = server.first_account(&admin).await;
    let mut credentials = vec![("first admin".to_owned(), admin.clone())];
    let key = async |sa: &str, extra: Value| {
        let mut input = json!({ "serviceAccountId": sa });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let data = gql(
            server,
            &admin,
            "mutation($i: CreateServiceAccountKeyInput!) { createServiceAccountKey(input: $i) { id secret } }",
            json!({ "i": input }),
        )
        .await;
        let key = &data["createServiceAccountKey"];
        (id(&key["id"]), id(&key["secret"]))
    };

    let ci = server
        .create_service_account(&admin, &account, "ci", "Editor")
        .await;
    let (_, live) = key(&ci, json!({ "name": "live", "description": "deploys" })).await;
    credentials.push(("live key".into(), live));
    let (_, ceiling) = key(&ci, json!({ "name": "ceiling", "roleCode": "Viewer" })).await;
    credentials.push(("key with a ceiling".into(), ceiling));
    let (_, expiring) = key(&ci, json!({ "expiresAt": "2099-01-01T00:00:00.000Z" })).await;
    credentials.push(("key with an expiry".into(), expiring));
    let (revoked_id, revoked) = key(&ci, json!({ "name": "revoked" })).await;
    gql(
        server,
        &admin,
        lumar("RevokeServiceAccountKey"),
        json!({ "input": { "serviceAccountKeyId": revoked_id } }),
    )
    .await;
    credentials.push(("revoked key".into(), revoked));
    let (rotated_id, rotated) = key(&ci, json!({ "name": "rotated" })).await;
    let data = gql(
        server,
        &admin,
        "mutation($i: RotateServiceAccountKeyInput!) { rotateServiceAccountKey(input: $i) { secret } }",
        json!({ "i": { "serviceAccountKeyId": rotated_id, "overlapSeconds": 0 } }),
    )
    .await;
    credentials.push(("rotated key, old secret".into(), rotated));
    credentials.push((
        "rotated key, new secret".into(),
        id(&data["rotateServiceAccountKey"]["secret"]),
    ));
    let (expired_id, expired) = key(&ci, json!({ "name": "expired" })).await;
    credentials.push(("expired key".into(), expired));

    let disabled = server
        .create_service_account(&admin, &account, "disabled", "Viewer")
        .await;
    let (_, of_disabled) = key(&disabled, json!({})).await;
    credentials.push(("key of a disabled service account".into(), of_disabled));
    let update = "mutation($i: UpdateServiceAccountInput!) { updateServiceAccount(input: $i) { serviceAccount { id } } }";
    gql(
        server,
        &admin,
        update,
        json!({ "i": { "serviceAccountId": disabled, "enabled": false } }),
    )
    .await;
    let renamed = server
        .create_service_account(&admin, &account, "before", "Viewer")
        .await;
    let (_, of_renamed) = key(&renamed, json!({})).await;
    credentials.push(("key of an edited service account".into(), of_renamed));
    gql(
        server,
        &admin,
        update,
        json!({ "i": { "serviceAccountId": renamed, "name": "after", "description": "edited", "roleCode": "Admin" } }),
    )
    .await;
    let gone = server
        .create_service_account(&admin, &account, "gone", "Editor")
        .await;
    let (_, of_gone) = key(&gone, json!({})).await;
    credentials.push(("key of a deleted service account".into(), of_gone));
    gql(
        server,
        &admin,
        lumar("DeleteServiceAccount"),
        json!({ "input": { "serviceAccountId": gone } }),
    )
    .await;

    let add = "mutation($i: AddAccountMemberInput!) { addAccountMember(input: $i) { accountMember { user { id } } initialToken } }";
    let mut members = Vec::new();
    for (username, role) in [("vera", "Viewer"), ("eddie", "Editor"), ("ada", "Admin")] {
        let data = gql(
            server,
            &admin,
            add,
            json!({ "i": { "accountId": account, "username": username, "roleCode": role } }),
        )
        .await;
        let token = id(&data["addAccountMember"]["initialToken"]);
        credentials.push((format!("{role} member's first token"), token.clone()));
        members.push((
            id(&data["addAccountMember"]["accountMember"]["user"]["id"]),
            token,
        ));
    }
    let (vera, vera_token) = members[0].clone();
    let data = gql(
        server,
        &vera_token,
        "mutation { createPersonalAccessToken(input: { name: \"laptop\", expiresAt: \"2099-01-01T00:00:00.000Z\" }) { id secret } }",
        json!({}),
    )
    .await;
    let laptop = &data["createPersonalAccessToken"];
    credentials.push(("member's own token".into(), id(&laptop["secret"])));
    let data = gql(
        server,
        &vera_token,
        "mutation { createPersonalAccessToken(input: { name: \"old\" }) { id secret } }",
        json!({}),
    )
    .await;
    let old = &data["createPersonalAccessToken"];
    gql(
        server,
        &vera_token,
        "mutation($i: RevokePersonalAccessTokenInput!) { revokePersonalAccessToken(input: $i) { personalAccessToken { id } } }",
        json!({ "i": { "personalAccessTokenId": id(&old["id"]) } }),
    )
    .await;
    credentials.push(("member's revoked token".into(), id(&old["secret"])));

    // Access beyond roles: a project, a permission, a set of it, granted to a
    // group of one service account and one user.
    let data = gql(
        server,
        &admin,
        "mutation($a: ObjectID!) { \
           p: createProject(input: { accountId: $a, name: \"web\", description: \"the site\" }) { project { id } } \
           q: createPermission(input: { accountId: $a, name: \"cell:read\" }) { permission { id } } \
           s: createPermissionSet(input: { accountId: $a, name: \"readers\", permissions: [\"cell:read\"] }) { permissionSet { id } } \
           g: createGroup(input: { accountId: $a, name: \"crowd\" }) { group { id } } }",
        json!({ "a": account }),
    )
    .await;
    let group = id(&data["g"]["group"]["id"]);
    gql(
        server,
        &admin,
        "mutation($g: ObjectID!, $m: [ObjectID!]!, $s: ObjectID!, $p: ObjectID!) { \
           addGroupMembers(input: { groupId: $g, memberIds: $m }) { group { id } } \
           createGroupGrant(input: { groupId: $g, permissionSetId: $s, projectIds: [$p] }) { groupGrant { id } } }",
        json!({
            "g": group,
            "m": [ci, vera],
            "s": id(&data["s"]["permissionSet"]["id"]),
            "p": id(&data["p"]["project"]["id"]),
        }),
    )
    .await;
    gql(
        server,
        &admin,
        "mutation($i: CreateAccountInvitationInput!) { createAccountInvitation(input: $i) { id secret } }",
        json!({ "i": { "accountId": account, "roleCode": "Editor" } }),
    )
    .await;

    // A second tenant, made by the previous release's own bootstrap.
    let out = run_binary(
        binary,
        dir,
        &backend.with(&["bootstrap", "--account", "Other", "--admin", "olga"]),
    );
    let olga = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let other = gql(
        server,
        &olga,
        "{ me { ... on User { accounts { id name } } } }",
        json!({}),
    )
    .await["me"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Other")
        .map(|a| id(&a["id"]))
        .unwrap();
    credentials.push(("other account's admin".into(), olga.clone()));
    let robot = server
        .create_service_account(&olga, &other, "robot", "Viewer")
        .await;
    let (_, robot_key) = server.create_key(&olga, &robot).await;
    credentials.push(("other account's key".into(), robot_key));

    // Expired behind the API's back: no release makes a key already expired.
    let db = backend.connect().await;
    let (_, key_id) = domain::object_id::decode(&expired_id).unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        &format!("UPDATE service_account_keys SET expires_at = 1000 WHERE id = {key_id}"),
    )
    .await
    .unwrap();
    db.close().await.unwrap();

    Estate {
        accounts: vec![(account, admin), (other, olga)],
        credentials,
    }
}

const ME: &str = "{ me { __typename ... on ServiceAccount { id name roleCode account { id } } \
                  ... on User { id username accounts { id viewerRoleCode } } } }";

/// How `server` answers each credential: `/v1/verify`'s status and
/// `X-Keywarden-*` headers, and `me` through GraphQL.
async fn answers(server: &Server, estate: &Estate) -> BTreeMap<String, Value> {
    let http = client();
    let mut out = BTreeMap::new();
    for (what, secret) in &estate.credentials {
        let response = http
            .get(server.url("/v1/verify"))
            .header("x-api-key", secret)
            .send()
            .await
            .unwrap();
        let mut headers: BTreeMap<String, String> = response
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("x-keywarden-"))
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        headers.insert("status".into(), response.status().as_str().to_owned());
        let (status, me) = server.gql(secret, ME, json!({})).await;
        let me = if status == 200 {
            me["data"].clone()
        } else {
            json!(status)
        };
        out.insert(what.clone(), json!({ "verify": headers, "me": me }));
    }
    out
}

/// Every object of each account as its Admin reads it, in documents within
/// the cost limit: everything but when a credential was last used, which
/// reading changes.
const SNAPSHOT: [&str; 4] = [
    "query($a: ObjectID!) { getAccount(id: $a) { id name createdAt viewerRoleCode \
       serviceAccounts(first: 10) { id name description roleCode enabled createdAt updatedAt \
         groups { name } \
         keys(first: 10) { id name description roleCode roleCeiling prefix expiresAt revokedAt \
           createdAt rotatedFromId } } } }",
    "query($a: ObjectID!) { getAccount(id: $a) { \
       members(first: 10) { id roleCode createdAt user { id username email } groups { name } } \
       invitations { id roleCode createdAt expiresAt } \
       projects(first: 10) { id name description createdAt updatedAt } } }",
    "query($a: ObjectID!) { getAccount(id: $a) { \
       permissions { id name resource action } \
       permissionSets { id name builtIn roleCode permissions } \
       groups(first: 5) { id name description \
         members(first: 10) { __typename ... on ServiceAccount { id } ... on User { id } } \
         grants { id allProjects permissionSet { name } projects { name } } } } }",
    "query($a: ObjectID!) { getAccount(id: $a) { auditEvents(first: 60) { totalCount \
       nodes { id action actorName targetType targetId targetName createdAt } } } }",
];

async fn snapshot(server: &Server, estate: &Estate) -> Vec<Value> {
    let mut out = Vec::new();
    for (account, admin) in &estate.accounts {
        for document in SNAPSHOT {
            out.push(gql(server, admin, document, json!({ "a": account })).await);
        }
    }
    out
}

#[tokio::test]
async fn the_previous_releases_database_answers_and_reads_alike_after_the_upgrade() {
    let Some(previous) = previous() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    run_binary(
        &previous,
        dir.path(),
        &backend.with(&["migrate", "--create-database"]),
    );
    let old = Server::start_binary(&previous, dir.path(), &backend.with(&[]));
    let estate = populate(&old, &previous, dir.path(), &backend).await;
    let answered = answers(&old, &estate).await;
    let read = snapshot(&old, &estate).await;
    let (status, _) = old.terminate();
    assert!(status.success());

    let new = Server::start_binary(BIN, dir.path(), &backend.with(&[]));
    assert!(new.banner_token().is_none(), "no second first start");
    let now_answered = answers(&new, &estate).await;
    for (what, before) in &answered {
        assert_eq!(&now_answered[what], before, "{what}");
    }
    // Not everything refused: the estate holds live credentials of each kind.
    let accepted = answered
        .values()
        .filter(|a| a["verify"]["status"] == "200")
        .count();
    assert!(accepted >= 8 && accepted < answered.len(), "{answered:#?}");
    assert_eq!(snapshot(&new, &estate).await, read);
}

/// `keywarden_verification_reads_total` in a `/metrics` text (both releases
/// have it).
fn reads(metrics: &str) -> String {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("keywarden_verification_reads_total "))
        .unwrap_or_else(|| panic!("no reads counter:\n{metrics}"))
        .to_owned()
}

/// Two servers on one PostgreSQL database, the previous release's and this
/// one's, and a service account of the first account to make keys for.
struct Mixed {
    _dir: tempfile::TempDir,
    _backend: Backend,
    old: Server,
    new: Server,
    admin: String,
    service_account: String,
}

impl Mixed {
    /// Whether `server` answers `secret` from memory now: a second
    /// verification costs no database read. (Told by reads, not by revoking it
    /// behind keywarden's back: a refusal read while the server was not
    /// serving from memory would be remembered for as long as entries live.)
    async fn answers_from_memory(&self, server: &Server, secret: &str) -> bool {
        assert_eq!(server.gql(secret, ME, json!({})).await.0, 200);
        let before = reads(&server.metrics().await);
        assert_eq!(server.gql(secret, ME, json!({})).await.0, 200);
        reads(&server.metrics().await) == before
    }

    /// A key that `checker` serves from memory, revoked through `revoker`;
    /// `checker` refuses it on the very next request, and the revoke did not
    /// wait for anyone.
    async fn revoke_through(&self, revoker: &Server, checker: &Server) {
        let (key_id, secret) = revoker.create_key(&self.admin, &self.service_account).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers_from_memory(checker, &secret).await {
            assert!(Instant::now() < deadline, "never served from memory");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let started = Instant::now();
        let (status, body) = revoker
            .gql(
                &self.admin,
                lumar("RevokeServiceAccountKey"),
                json!({ "input": { "serviceAccountKeyId": key_id } }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        assert!(
            started.elapsed() < Duration::from_millis(1_500),
            "the revoke waited {:?}: someone did not confirm",
            started.elapsed()
        );
        for _ in 0..3 {
            assert_eq!(checker.gql(&secret, ME, json!({})).await.0, 401);
        }
    }
}

#[tokio::test]
async fn beside_the_previous_release_a_key_revoked_through_either_is_refused_by_the_other_at_once()
{
    let Some(previous) = previous() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    if !backend.is_postgres() {
        // One process per SQLite file: no rolling upgrade to make there.
        return;
    }
    run_binary(
        &previous,
        dir.path(),
        &backend.with(&["migrate", "--create-database"]),
    );
    let old = Server::start_binary(&previous, dir.path(), &backend.with(&[]));
    let admin = old.banner_token().unwrap();
    let new = Server::start_binary(BIN, dir.path(), &backend.with(&[]));
    let account = old.first_account(&admin).await;
    let service_account = old
        .create_service_account(&admin, &account, "ci", "Editor")
        .await;
    let mixed = Mixed {
        _dir: dir,
        _backend: backend,
        old,
        new,
        admin,
        service_account,
    };
    for _ in 0..2 {
        mixed.revoke_through(&mixed.old, &mixed.new).await;
        mixed.revoke_through(&mixed.new, &mixed.old).await;
    }
    // The new release counts the old one as a peer of the old one's protocol:
    // 1 for 0.1.0, which speaks nothing else; 2 for the releases since.
    let protocol = if release_of(&previous).starts_with("0.1.") {
        "1"
    } else {
        "2"
    };
    let peers = format!("keywarden_change_listener_peers{{protocol=\"{protocol}\"}} 1");
    let metrics = mixed.new.metrics().await;
    for line in [
        peers.as_str(),
        "keywarden_change_listener_peers{protocol=\"unconfirmed\"} 0",
        "keywarden_change_listener_serving 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}\n{metrics}");
    }
    for (name, server) in [("old", &mixed.old), ("new", &mixed.new)] {
        let log = server.log();
        for complaint in [
            "unknown notification",
            "cannot read",
            "did not confirm",
            "not said which protocol",
        ] {
            assert!(!log.contains(complaint), "{name}: {complaint}\n{log}");
        }
    }
}

/// The copy to come back to (docs/upgrading.md): `keywarden backup` on SQLite,
/// `pg_dump` on PostgreSQL, taken while the server runs; restored, it answers
/// every credential and shows every object as at the copy, and knows nothing of
/// what came after.
#[tokio::test]
async fn a_copy_taken_while_the_server_runs_restores_every_credential_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    run_binary(
        BIN,
        dir.path(),
        &backend.with(&["migrate", "--create-database"]),
    );
    let server = Server::start_binary(BIN, dir.path(), &backend.with(&[]));
    let estate = populate(&server, BIN, dir.path(), &backend).await;
    let answered = answers(&server, &estate).await;
    let read = snapshot(&server, &estate).await;
    let copy = dir.path().join("copies").join("keywarden.db");
    std::fs::create_dir(copy.parent().unwrap()).unwrap();
    let copy_arg = copy.to_str().unwrap();
    let backup = keywarden_binary(BIN, dir.path())
        .args(backend.with(&["backup", "--to", copy_arg]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&backup.stderr);
    let mut restored_database = None;
    let restored_args: Vec<String> = if backend.is_postgres() {
        // Not keywarden's to copy: it says what is.
        assert!(!backup.status.success());
        assert!(stderr.contains("pg_dump --format=custom"), "{stderr}");
        let dump = dir.path().join("keywarden.dump");
        let dumped = std::process::Command::new("pg_dump")
            .args([
                "--format=custom",
                "--file",
                dump.to_str().unwrap(),
                &backend.url,
            ])
            .output()
            .unwrap();
        assert!(dumped.status.success(), "{dumped:?}");
        let restored =
            test_support::TestDatabase::create(&test_support::postgres_server().unwrap()).await;
        let loaded = std::process::Command::new("pg_restore")
            .args([
                "--no-owner",
                "--dbname",
                &restored.url(),
                dump.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(loaded.status.success(), "{loaded:?}");
        let url = restored.url();
        restored_database = Some(restored);
        vec![
            "--database-url".into(),
            url,
            "--pepper".into(),
            crate::support::TEST_PEPPER.into(),
        ]
    } else {
        assert!(backup.status.success(), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&backup.stdout).trim(), copy_arg);
        // The pepper went with it, and both are the owner's alone.
        let pepper = dir.path().join("copies").join("keywarden.db.pepper");
        for file in [&copy, &pepper] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        // A second copy to the same place is refused, and the first stays.
        let again = keywarden_binary(BIN, dir.path())
            .args(["backup", "--to", copy_arg])
            .output()
            .unwrap();
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("there is a file there already"));
        vec![
            "--database-url".into(),
            format!("sqlite://{copy_arg}?mode=rwc"),
        ]
    };
    // Made after the copy: not in it.
    let (admin_account, admin) = &estate.accounts[0];
    let later = server
        .create_service_account(admin, admin_account, "later", "Viewer")
        .await;
    let (_, later_key) = server.create_key(admin, &later).await;
    let (status, _) = server.terminate();
    assert!(status.success());

    let args: Vec<&str> = restored_args.iter().map(String::as_str).collect();
    let restored = Server::start_binary(BIN, dir.path(), &args);
    assert!(
        restored.banner_token().is_none(),
        "no first start on a copy"
    );
    let now_answered = answers(&restored, &estate).await;
    for (what, before) in &answered {
        assert_eq!(&now_answered[what], before, "{what}");
    }
    assert_eq!(snapshot(&restored, &estate).await, read);
    assert_eq!(restored.gql(&later_key, ME, json!({})).await.0, 401);
    drop(restored);
    drop(restored_database);
}
