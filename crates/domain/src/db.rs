//! Connecting to the database and starting write transactions.
//!
//! SQLite is opened in WAL mode with foreign keys on, and every write transaction
//! begins `IMMEDIATE`, so it takes the write lock before its first read and waits
//! (up to the busy timeout) instead of failing when another writer is busy. On
//! PostgreSQL the same operations lock the parent row with `SELECT ... FOR
//! UPDATE`, which SQLite ignores; the two together make count limits exact
//! under concurrency on both backends.

use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// How to open the pool.
#[derive(Clone, Debug)]
pub struct DbOptions {
    pub max_connections: u32,
    /// How long a request waits for a pooled connection.
    pub acquire_timeout: Duration,
    /// How long an unused pooled connection is kept.
    pub idle_timeout: Duration,
    /// How long a SQLite writer waits for another to finish.
    pub busy_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(600),
            busy_timeout: Duration::from_secs(15),
        }
    }
}

/// Opens a pool for `url` (`sqlite://...` or `postgres://...`).
pub async fn connect(url: &str, options: &DbOptions) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_timeout(options.acquire_timeout)
        .idle_timeout(options.idle_timeout)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        let busy = options.busy_timeout;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if in_memory {
            // Each connection to an unnamed in-memory database is a database of its own.
            opts.max_connections(1);
        }
        opts.map_sqlx_sqlite_opts(move |o| {
            let o = o
                .foreign_keys(true)
                .busy_timeout(busy)
                .synchronous(SqliteSynchronous::Normal);
            if in_memory {
                o
            } else {
                o.journal_mode(SqliteJournalMode::Wal)
            }
        });
    }
    Database::connect(opts).await
}

/// A key for PostgreSQL's advisory lock that serialises migrations.
const MIGRATION_LOCK: i64 = 0x6b77_6d69_6772;

/// Applies every pending migration, in one transaction. Processes that start at
/// the same moment queue up: on SQLite behind the write lock the `IMMEDIATE`
/// transaction takes, on PostgreSQL behind an advisory lock held until commit.
/// The first migrates; the others then find nothing to do.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = write_txn(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await?;
    }
    migration::Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// Starts a transaction for an operation that writes.
pub(crate) async fn write_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Whether the connection can run a trivial query.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}
