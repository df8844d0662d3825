//! What keywarden's test suites share.
//!
//! Every suite runs on SQLite by default and on PostgreSQL when
//! `KEYWARDEN_TEST_POSTGRES_URL` names a server (as in
//! `postgres://postgres@127.0.0.1:5432/postgres`). Each test then gets a database
//! of its own, created for it and dropped after it.

#![allow(clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, Database};

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
