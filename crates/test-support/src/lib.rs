//! What keywarden's test suites share.
//!
//! Every suite runs on SQLite by default and on PostgreSQL when
//! `KEYWARDEN_TEST_POSTGRES_URL` names a server (as in
//! `postgres://postgres@127.0.0.1:5432/postgres`). Each test then gets a database
//! of its own, created for it and dropped after it.

#![allow(clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

/// The variable that names the PostgreSQL server to test against.
pub const POSTGRES_VAR: &str = "KEYWARDEN_TEST_POSTGRES_URL";

/// The PostgreSQL server the tests run against, if one is named.
pub fn postgres_server() -> Option<String> {
    std::env::var(POSTGRES_VAR).ok().filter(|u| !u.is_empty())
}

/// A PostgreSQL database made for one test, dropped with this value.
#[derive(Debug)]
pub struct TestDatabase {
    server_url: String,
    name: String,
}

impl TestDatabase {
    /// Creates a database with a unique name on the server `server_url` points at.
    pub async fn create(server_url: &str) -> TestDatabase {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or_default();
        let name = format!(
            "kw_test_{}_{}_{unique}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let admin = Database::connect(server_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {server_url}: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        // A test database lives for one test: a commit need not wait for its
        // WAL to reach the disk (what a crash of the PostgreSQL server would
        // lose, no test looks for). What commits see of each other is as before.
        admin
            .execute_unprepared(&format!(
                "ALTER DATABASE {name} SET synchronous_commit TO off"
            ))
            .await
            .expect("configure a test database");
        admin.close().await.ok();
        TestDatabase {
            server_url: server_url.to_owned(),
            name,
        }
    }

    /// The URL of this database: the server's URL with its database name replaced.
    pub fn url(&self) -> String {
        let base = self.server_url.split('?').next().unwrap_or_default();
        let server = base
            .strip_suffix('/')
            .unwrap_or(base)
            .rsplit_once('/')
            .filter(|(server, _)| server.contains("//") && !server.ends_with('/'))
            .map_or(base, |(server, _)| server);
        format!("{server}/{}", self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside or outside a runtime: use a thread with its own.
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime
                .block_on(async {
                    let admin = Database::connect(server_url.as_str()).await?;
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await?;
                    admin.close().await
                })
                .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// Everything a database holds, as text to search for things that must not be
/// there: a SQLite file read whole (with its write-ahead log, after a
/// checkpoint), or every row of every PostgreSQL table as JSON, where binary
/// columns show as hex.
pub async fn dump(db: &DatabaseConnection, sqlite_file: &std::path::Path) -> String {
    let backend = db.get_database_backend();
    if backend == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .expect("checkpoint");
        let mut bytes = std::fs::read(sqlite_file).expect("read the database file");
        for suffix in ["-wal", "-shm"] {
            let mut path = sqlite_file.as_os_str().to_owned();
            path.push(suffix);
            if let Ok(more) = std::fs::read(path) {
                bytes.extend(more);
            }
        }
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let sql = |text: String| Statement::from_string(backend, text);
    let tables = db
        .query_all_raw(sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'".to_owned(),
        ))
        .await
        .expect("list tables");
    let mut out = String::new();
    for table in tables {
        let name: String = table.try_get("", "tablename").expect("table name");
        let rows = db
            .query_all_raw(sql(format!(
                "SELECT row_to_json(t)::text AS row FROM \"{name}\" t"
            )))
            .await
            .expect("read rows");
        for row in rows {
            out.push_str(&row.try_get::<String>("", "row").expect("row text"));
            out.push('\n');
        }
    }
    out
}

/// Whether `haystack` holds `secret` as text or as the hex of its bytes.
pub fn holds(haystack: &str, secret: &str) -> bool {
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    haystack.contains(secret) || haystack.contains(&hex)
}
