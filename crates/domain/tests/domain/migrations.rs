//! Migrating a database made by an earlier release keeps every row.

use domain::db::{DbOptions, connect, migrate};
use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use test_support::{TestDatabase, postgres_server};

async fn one(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// An empty database: a SQLite file in `dir`, or one of its own on the
/// PostgreSQL server the tests are given (dropped with the handle).
async fn empty_database(
    dir: &tempfile::TempDir,
) -> (sea_orm::DatabaseConnection, Option<TestDatabase>) {
    let postgres = match postgres_server() {
        Some(server) => Some(TestDatabase::create(&server).await),
        None => None,
    };
    let url = match &postgres {
        Some(db) => db.url(),
        None => format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display()),
    };
    (
        connect(&url, &DbOptions::default()).await.unwrap(),
        postgres,
    )
}

#[tokio::test]
async fn dropping_the_global_username_constraint_keeps_users_their_links_and_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _postgres) = empty_database(&dir).await;
    // The database as the first release left it.
    migration::Migrator::up(&db, Some(1)).await.unwrap();
    for sql in [
        "INSERT INTO accounts (name, created_at) VALUES ('Acme', 1)",
        "INSERT INTO users (username, email, created_at) VALUES ('alice', 'a@example.com', 1)",
        "INSERT INTO users (username, email, created_at) VALUES ('gone', NULL, 1)",
        "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (1, 1, 'ADMIN', 1)",
        "DELETE FROM users WHERE username = 'gone'",
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }
    migrate(&db).await.unwrap();

    assert_eq!(one(&db, "SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(one(&db, "SELECT COUNT(*) FROM memberships").await, 1);
    // The membership still follows its user: deleting the user takes it along.
    db.execute_unprepared(
        "INSERT INTO users (username, email, created_at) VALUES ('alice', NULL, 2)",
    )
    .await
    .expect("a username is no longer unique across accounts");
    assert_eq!(
        one(&db, "SELECT MAX(id) FROM users").await,
        3,
        "the id of a deleted user is not given again"
    );
    db.execute_unprepared("DELETE FROM users WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(one(&db, "SELECT COUNT(*) FROM memberships").await, 0);
    if db.get_database_backend() == DbBackend::Sqlite {
        assert_eq!(
            one(&db, "PRAGMA foreign_keys").await,
            1,
            "foreign keys are on again"
        );
    }
    // Migrating again finds nothing to do.
    migrate(&db).await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_file_and_its_journals_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("new.db").display());
    let db = connect(&url, &DbOptions::default()).await.unwrap();
    migrate(&db).await.unwrap();
    db.execute_unprepared("INSERT INTO accounts (name, created_at) VALUES ('Acme', 1)")
        .await
        .unwrap();
    for name in ["new.db", "new.db-wal", "new.db-shm"] {
        assert_eq!(mode(name), 0o600, "{name}");
    }
    db.close().await.unwrap();

    // A file made by an earlier version, readable by all, is narrowed.
    let old = dir.path().join("old.db");
    std::fs::write(&old, b"").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = format!("sqlite://{}?mode=rwc", old.display());
    let db = connect(&url, &DbOptions::default()).await.unwrap();
    migrate(&db).await.unwrap();
    assert_eq!(mode("old.db"), 0o600);
}

/// A database a newer release migrated is refused, saying so, and left as it
/// was; this release does not run on a schema it does not know.
#[tokio::test]
async fn a_database_migrated_by_a_newer_release_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _postgres) = empty_database(&dir).await;
    migrate(&db).await.unwrap();
    let before = one(&db, "SELECT COUNT(*) FROM seaql_migrations").await;
    db.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_future', 1)",
    )
    .await
    .unwrap();
    let refused = migrate(&db)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("migrated by a newer release")
            && refused.contains("m20991231_000001_future"),
        "{refused}"
    );
    assert_eq!(
        one(&db, "SELECT COUNT(*) FROM seaql_migrations").await,
        before + 1
    );
}
