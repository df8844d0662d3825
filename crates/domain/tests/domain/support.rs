//! The fixture: a fresh database per test and builders for the usual cast.

use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::db::{DbOptions, connect, migrate};
use domain::ids::{AccountId, ServiceAccountId};
use domain::{
    AccountName, AddMember, AuthError, CreateKey, CreateServiceAccount, IssuedKey, Keyring,
    Keywarden, Pepper, Principal, Role, Secret, ServiceAccount, ServiceAccountName, Username,
};
use tempfile::TempDir;
use test_support::{TestDatabase, postgres_server};

/// A fixed "now" for every test: no test waits for time to pass.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .single()
        .unwrap_or_default()
}

pub fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

pub fn pepper(byte: u8) -> Pepper {
    Pepper::new(&[byte; 32]).unwrap_or_else(|e| panic!("{e}"))
}

/// One test's world: its own database file and a keywarden over it.
///
/// The database is a SQLite file in a temporary directory, or, when
/// `KEYWARDEN_TEST_POSTGRES_URL` names a PostgreSQL server, a database of its own
/// on that server, dropped after the test.
pub struct World {
    pub kw: Keywarden,
    pub dir: TempDir,
    pub url: String,
    /// Every secret this world issued, for the leak scans.
    pub issued: std::sync::Mutex<Vec<String>>,
    postgres: Option<TestDatabase>,
}

/// An account with its first Admin.
pub struct Tenant {
    pub id: AccountId,
    pub admin: Principal,
}

impl World {
    pub async fn new() -> World {
        Self::with_keyring(Keyring::new(pepper(1), vec![])).await
    }

    pub async fn with_keyring(keyring: Keyring) -> World {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let postgres = match postgres_server() {
            Some(server) => Some(TestDatabase::create(&server).await),
            None => None,
        };
        let url = match &postgres {
            Some(db) => db.url(),
            None => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("keywarden.db").display()
            ),
        };
        let kw = Self::open(&url, keyring).await;
        World {
            kw,
            dir,
            url,
            issued: std::sync::Mutex::new(Vec::new()),
            postgres,
        }
    }

    /// Opens every pooled connection before a burst, so that the burst's
    /// transactions really overlap instead of waiting for connections to be made
    /// one at a time. (SQLite's are opened with the pool.)
    pub async fn warm_pool(&self) {
        use sea_orm::ConnectionTrait;
        if !self.is_postgres() {
            return;
        }
        let sleepers: Vec<_> = (0..domain::db::DbOptions::default().max_connections)
            .map(|_| {
                let db = self.kw.db().clone();
                tokio::spawn(async move { db.execute_unprepared("SELECT pg_sleep(0.1)").await })
            })
            .collect();
        for sleeper in sleepers {
            sleeper.await.unwrap().unwrap();
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Everything the database holds, as text to search: the SQLite file itself
    /// (with its write-ahead log), or every row of every PostgreSQL table as JSON,
    /// where binary columns show as hex.
    pub async fn dump(&self) -> String {
        let out = test_support::dump(self.kw.db(), &self.db_path()).await;
        assert!(out.contains("service_account"), "the dump reads the tables");
        out
    }

    pub async fn open(url: &str, keyring: Keyring) -> Keywarden {
        Self::open_with_capacity(url, keyring, domain::DEFAULT_CACHE_CAPACITY).await
    }

    /// Another process on the database, keeping up to `capacity` verifications.
    pub async fn open_with_capacity(url: &str, keyring: Keyring, capacity: u64) -> Keywarden {
        Self::open_with_options(url, keyring, capacity, &DbOptions::default()).await
    }

    /// Another process on the database, with a pool opened by `options`.
    pub async fn open_with_options(
        url: &str,
        keyring: Keyring,
        capacity: u64,
        options: &DbOptions,
    ) -> Keywarden {
        let db = connect(url, options)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        migrate(&db)
            .await
            .unwrap_or_else(|e| panic!("migrate: {e}"));
        Keywarden::open(db, keyring, capacity).await.unwrap()
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("keywarden.db")
    }

    pub fn remember(&self, secret: &Secret) -> String {
        let s = secret.expose().to_owned();
        if let Ok(mut issued) = self.issued.lock() {
            issued.push(s.clone());
        }
        s
    }

    pub async fn auth(&self, token: &str) -> Result<Principal, AuthError> {
        self.kw.authenticate(token, t0()).await
    }

    pub async fn auth_at(&self, token: &str, now: DateTime<Utc>) -> Result<Principal, AuthError> {
        self.kw.authenticate(token, now).await
    }

    /// A new account whose Admin is `admin`, authenticated by its bootstrap token.
    pub async fn tenant(&self, name: &str, admin: &str) -> Tenant {
        let made = self
            .kw
            .bootstrap(
                AccountName::parse(name).unwrap_or_else(|e| panic!("{e}")),
                Username::parse(admin).unwrap_or_else(|e| panic!("{e}")),
                None,
                t0(),
            )
            .await
            .unwrap_or_else(|e| panic!("bootstrap: {e}"));
        let token = self.remember(&made.token);
        let admin = self
            .auth(&token)
            .await
            .unwrap_or_else(|e| panic!("bootstrap token refused: {e}"));
        Tenant {
            id: made.account.id,
            admin,
        }
    }

    /// A new user with `role` in the tenant, and their principal and token.
    pub async fn member(&self, tenant: &Tenant, username: &str, role: Role) -> (Principal, String) {
        self.member_at(tenant, username, role, t0()).await
    }

    pub async fn member_at(
        &self,
        tenant: &Tenant,
        username: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> (Principal, String) {
        let added = self
            .kw
            .add_member(
                &tenant.admin,
                AddMember {
                    account_id: tenant.id,
                    username: Username::parse(username).unwrap_or_else(|e| panic!("{e}")),
                    email: None,
                    role,
                },
                true,
                now,
            )
            .await
            .unwrap_or_else(|e| panic!("add member: {e}"));
        let issued = added.initial_token;
        let token = self.remember(&issued.secret);
        let principal = self
            .auth_at(&token, now)
            .await
            .unwrap_or_else(|e| panic!("initial token refused: {e}"));
        (principal, token)
    }

    pub async fn service_account(&self, tenant: &Tenant, name: &str, role: Role) -> ServiceAccount {
        self.kw
            .create_service_account(
                &tenant.admin,
                CreateServiceAccount {
                    account_id: tenant.id,
                    name: ServiceAccountName::parse(name).unwrap_or_else(|e| panic!("{e}")),
                    description: None,
                    role,
                    groups: vec![],
                    allowed_ranges: None,
                },
                t0(),
            )
            .await
            .unwrap_or_else(|e| panic!("create service account: {e}"))
    }

    pub async fn key(&self, tenant: &Tenant, sa: ServiceAccountId) -> (IssuedKey, String) {
        self.key_with(tenant, create_key(sa)).await
    }

    pub async fn key_with(&self, tenant: &Tenant, input: CreateKey) -> (IssuedKey, String) {
        let issued = self
            .kw
            .create_key(&tenant.admin, input, t0())
            .await
            .unwrap_or_else(|e| panic!("create key: {e}"));
        let token = self.remember(&issued.secret);
        (issued, token)
    }

    /// A service account of `role` with one key, authenticated.
    pub async fn robot(&self, tenant: &Tenant, role: Role) -> (ServiceAccount, Principal, String) {
        let sa = self.service_account(tenant, "robot", role).await;
        let (_, token) = self.key(tenant, sa.id).await;
        let principal = self
            .auth(&token)
            .await
            .unwrap_or_else(|e| panic!("new key refused: {e}"));
        (sa, principal, token)
    }

    /// The first 100 events of `tenant`'s log, oldest first, as its Admin reads them.
    pub async fn audit_log(&self, tenant: &Tenant) -> Vec<domain::AuditEvent> {
        let query = domain::AuditQuery {
            limit: 100,
            ..Default::default()
        };
        self.kw
            .audit_events(&tenant.admin, tenant.id, &query)
            .await
            .unwrap_or_else(|e| panic!("read the audit log: {e}"))
            .events
    }

    pub async fn audit_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entity::audit_event::Entity::find()
            .count(self.kw.db())
            .await
            .unwrap_or_else(|e| panic!("count audit events: {e}"))
    }
}

pub fn create_key(sa: ServiceAccountId) -> CreateKey {
    CreateKey {
        service_account_id: sa,
        name: None,
        description: None,
        expires: None,
        role_ceiling: None,
        allowed_ranges: None,
    }
}
