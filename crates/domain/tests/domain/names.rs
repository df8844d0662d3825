//! Names as people read them: stored composed, never invisible, and unique
//! in an account whatever their case or the way Unicode writes them.

use domain::{
    AccountName, CreateGroup, CreatePermissionSet, CreateProject, DomainError, GroupName, Page,
    PermissionSetName, ProjectName, ServiceAccountName, UpdateGroup, Username,
};
use migration::MigratorTrait;
use sea_orm::ConnectionTrait;

use crate::support::{Tenant, World, t0};

async fn create_group(w: &World, t: &Tenant, name: &str) -> Result<domain::Group, DomainError> {
    let input = CreateGroup {
        account_id: t.id,
        name: GroupName::parse(name)?,
        description: None,
    };
    w.kw.create_group(&t.admin, input, t0()).await
}

fn is_conflict<T: std::fmt::Debug>(result: Result<T, DomainError>, name: &str) {
    match result {
        Err(DomainError::Conflict(message)) => {
            assert!(
                message.contains("differ only in case"),
                "{name:?}: {message}"
            )
        }
        other => panic!("{name:?} was not refused as taken: {other:?}"),
    }
}

#[tokio::test]
async fn a_name_is_stored_composed_and_refused_with_invisible_characters() {
    let decomposed = "Cafe\u{301}";
    assert_eq!(GroupName::parse(decomposed).unwrap().as_str(), "Café");
    assert_eq!(
        ServiceAccountName::parse(decomposed).unwrap().as_str(),
        "Café"
    );
    for invisible in [
        "ci\u{200B}",         // zero-width space
        "c\u{200D}i",         // zero-width joiner
        "\u{FEFF}ci",         // byte-order mark
        "ci\u{202E}gpj.exe",  // right-to-left override
        "\u{2066}ci\u{2069}", // a bidirectional isolate
        "ci\u{200F}",         // right-to-left mark
    ] {
        for refused in [
            GroupName::parse(invisible).err(),
            ServiceAccountName::parse(invisible).err(),
            PermissionSetName::parse(invisible).err(),
            AccountName::parse(invisible).err(),
        ] {
            let message = refused.map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains("invisible"), "{invisible:?}: {message:?}");
        }
    }
    // Letters of every script, and emoji without joiners, are names.
    for fine in ["Ωmega", "東京", "مرحبا", "🚀 deploy", "naïve"] {
        assert!(GroupName::parse(fine).is_ok(), "{fine:?}");
    }
    // The length is counted after composing: 255 composed characters fit.
    let long = "e\u{301}".repeat(255);
    assert_eq!(
        GroupName::parse(&long).unwrap().as_str().chars().count(),
        255
    );
}

#[tokio::test]
async fn names_that_read_the_same_are_one_name_in_an_account_but_not_across_accounts() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let other = w.tenant("Other", "mallory").await;
    create_group(&w, &acme, "Café").await.unwrap();
    for same in ["Cafe\u{301}", "café", "CAFÉ", "Ｃａｆé"] {
        is_conflict(create_group(&w, &acme, same).await, same);
    }
    // Another account's "café" is its own.
    create_group(&w, &other, "café").await.unwrap();
    // A rename onto a name that reads the same is refused; renaming a group to
    // another case of its own name is not.
    let ops = create_group(&w, &acme, "ops").await.unwrap();
    let rename = |name: &str| UpdateGroup {
        name: Some(GroupName::parse(name).unwrap()),
        description: None,
    };
    is_conflict(
        w.kw.update_group(&acme.admin, ops.id, rename("CAFÉ"), t0())
            .await,
        "CAFÉ",
    );
    let renamed =
        w.kw.update_group(&acme.admin, ops.id, rename("Ops"), t0())
            .await
            .unwrap();
    assert_eq!(renamed.name, "Ops");
    // The old name's key went with it.
    create_group(&w, &acme, "cafe").await.unwrap();

    // Permission sets and projects alike.
    let set = |name: &str| CreatePermissionSet {
        account_id: acme.id,
        name: PermissionSetName::parse(name).unwrap(),
        description: None,
        permissions: vec![],
    };
    w.kw.create_permission_set(&acme.admin, set("Deployers"), t0())
        .await
        .unwrap();
    is_conflict(
        w.kw.create_permission_set(&acme.admin, set("deployers"), t0())
            .await,
        "deployers",
    );
    let project = |name: &str| CreateProject {
        account_id: acme.id,
        name: ProjectName::parse(name).unwrap(),
        description: None,
    };
    w.kw.create_project(&acme.admin, project("web"), t0())
        .await
        .unwrap();
    is_conflict(
        w.kw.create_project(&acme.admin, project("Web"), t0()).await,
        "Web",
    );
    // Account names are unique everywhere.
    let again =
        w.kw.bootstrap(
            AccountName::parse("ACME").unwrap(),
            Username::parse("eve").unwrap(),
            None,
            t0(),
        )
        .await;
    is_conflict(again, "ACME");
}

/// A database whose groups were named before names were compared: two of them
/// read the same. Upgrading keeps both, under their names, and still refuses a
/// third.
#[tokio::test]
async fn names_that_already_read_the_same_keep_working_after_the_upgrade() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let other = w.tenant("Other", "mallory").await;
    let db = w.kw.db();
    // Back to the schema before name keys, and the rows it allowed.
    let after_name_keys = migration::Migrator::migrations()
        .iter()
        .rev()
        .take_while(|m| m.name() != "m20261204_000001_name_keys")
        .count();
    migration::Migrator::down(db, Some(after_name_keys as u32 + 1))
        .await
        .unwrap();
    for (account, name) in [
        (acme.id, "Ops"),
        (acme.id, "ops"),
        (acme.id, "Cafe\u{301}"),
        (acme.id, "Café"),
        (other.id, "OPS"),
    ] {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            match db.get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    "INSERT INTO groups (account_id, name, created_at, updated_at) VALUES ($1, $2, 1, 1)"
                }
                _ => "INSERT INTO groups (account_id, name, created_at, updated_at) VALUES (?, ?, 1, 1)",
            },
            [account.0.into(), name.into()],
        ))
        .await
        .unwrap();
    }
    domain::db::migrate(db).await.unwrap();

    let names: Vec<String> =
        w.kw.groups(&acme.admin, acme.id, Page::first(100))
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.name)
            .collect();
    assert_eq!(names, ["Ops", "ops", "Cafe\u{301}", "Café"]);
    for same in ["OPS", "café"] {
        is_conflict(create_group(&w, &acme, same).await, same);
    }
    // Each of the look-alikes can still be renamed, and renamed apart.
    let groups =
        w.kw.groups(&acme.admin, acme.id, Page::first(100))
            .await
            .unwrap();
    let update = UpdateGroup {
        name: Some(GroupName::parse("ops-old").unwrap()),
        description: None,
    };
    w.kw.update_group(&acme.admin, groups[1].id, update, t0())
        .await
        .unwrap();
    // The other account's "OPS" was never in the way.
    let theirs =
        w.kw.groups(&other.admin, other.id, Page::first(100))
            .await
            .unwrap();
    assert_eq!(theirs.len(), 1);
}
