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
    pub acquire_timeout: Duration,
    /// How long a SQLite writer waits for another to finish.
    pub busy_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(15),
        }
    }
}

/// Opens a pool for `url` (`sqlite://...` or `postgres://...`).
pub async fn connect(url: &str, options: &DbOptions) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
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

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    migration::Migrator::up(db, None).await
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

pub fn is_sqlite(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Sqlite
}
