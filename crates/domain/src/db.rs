//! Connecting to the database and starting write transactions.
//!
//! SQLite is opened in WAL mode with foreign keys on, and every write transaction
//! begins `IMMEDIATE`, so it takes the write lock before its first read and waits
//! (up to the busy timeout) instead of failing when another writer is busy. On
//! PostgreSQL the same operations lock the parent row with `SELECT ... FOR
//! UPDATE`, which SQLite ignores; the two together make count limits exact
//! under concurrency on both backends.
//!
//! On SQLite the writers of a process also queue for their turn before they
//! begin ([`WriteQueue`]), first come first served.

use std::sync::Arc;
use std::time::Duration;

mod columns;
mod pg;
pub(crate) use columns::Columns;
use columns::direct_err;
pub use pg::PG_DIRECT_NAME;
pub(crate) use pg::{Param, PgDirect};

use tokio::sync::{Mutex, OwnedMutexGuard};

use migration::MigratorTrait;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, SqlxSqliteConnector, Statement, TransactionOptions,
    TransactionTrait,
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
            busy_timeout: TURN_PATIENCE,
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
        } else {
            let path = url
                .parse::<SqliteConnectOptions>()
                .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(e))))?
                .get_filename()
                .to_owned();
            owner_only(&path, url.contains("mode=rwc"))
                .map_err(|e| DbErr::Custom(format!("securing {}: {e}", path.display())))?;
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

/// How many connections verification reads on by default.
pub const VERIFICATION_CONNECTIONS: u32 = 8;

/// A pool of its own for the reads of verification, beside `db`'s, on the
/// same database and with the same settings: a cold verification never waits
/// for a connection behind writers (another account's large change holds one
/// for its whole transaction), and it reads without a transaction. On SQLite
/// its connections are read-only. A database in memory has one connection:
/// verification shares it.
pub async fn verification_pool(
    db: &DatabaseConnection,
    connections: u32,
) -> Result<DatabaseConnection, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            if pool.options().get_max_connections() == 1 {
                return Ok(db.clone());
            }
            let options = (*pool.connect_options()).clone().read_only(true);
            let readers = SqlitePoolOptions::new()
                .max_connections(connections.max(1))
                .acquire_timeout(pool.options().get_acquire_timeout())
                .idle_timeout(pool.options().get_idle_timeout())
                .connect_lazy_with(options);
            Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(readers))
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            let readers = sea_orm::sqlx::postgres::PgPoolOptions::new()
                .max_connections(connections.max(1))
                .acquire_timeout(pool.options().get_acquire_timeout())
                .idle_timeout(pool.options().get_idle_timeout())
                .connect_lazy_with((*pool.connect_options()).clone());
            Ok(sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(
                readers,
            ))
        }
        other => Err(DbErr::Custom(format!(
            "{other:?} is not supported: use SQLite or PostgreSQL"
        ))),
    }
}

/// The database holds usernames, emails and credential digests: its file is
/// readable by its owner only. A new file is created so (SQLite gives its
/// journal and WAL files the database file's mode); an existing one that others
/// could read is narrowed, with its journal files, and the log says so.
#[cfg(unix)]
fn owner_only(path: &std::path::Path, create: bool) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if create {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    let mut files = vec![path.to_owned()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(name.into());
    }
    for file in files {
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            tracing::warn!(file = %file.display(), "the database file was readable by others: now owner-only (0600)");
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_: &std::path::Path, _: bool) -> std::io::Result<()> {
    Ok(())
}

/// A key for PostgreSQL's advisory lock that serialises migrations.
const MIGRATION_LOCK: i64 = 0x6b77_6d69_6772;

/// Applies every pending migration, in one transaction. Processes that start at
/// the same moment queue up: on SQLite behind the write lock the `IMMEDIATE`
/// transaction takes, on PostgreSQL behind an advisory lock held until commit.
/// The first migrates; the others then find nothing to do.
///
/// SQLite changes a table's constraints only by rebuilding the table, and with
/// foreign keys on, dropping the old table would cascade into every row that
/// refers to it. So SQLite migrates as its documentation prescribes: on one
/// connection with foreign keys off, then every foreign key checked before the
/// commit.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    refuse_newer(db).await?;
    if db.get_database_backend() != DbBackend::Sqlite {
        let txn = write_txn(db).await?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await?;
        migration::Migrator::up(&txn, None).await?;
        return txn.commit().await;
    }
    let pool = db.get_sqlite_connection_pool();
    if pool.options().get_max_connections() == 1 {
        // One connection (an in-memory database is one): switch its foreign keys
        // off for the migration and on again.
        db.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
        let migrated = migrate_sqlite(db).await;
        db.execute_unprepared("PRAGMA foreign_keys = ON").await?;
        return migrated;
    }
    let options = (*pool.connect_options()).clone().foreign_keys(false);
    let single = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(e))))?;
    let conn = SqlxSqliteConnector::from_sqlx_sqlite_pool(single);
    let migrated = migrate_sqlite(&conn).await;
    conn.close().await?;
    migrated
}

/// Refuses a database that a newer release has migrated: this release does
/// not know its schema, and must not run on it.
async fn refuse_newer(db: &DatabaseConnection) -> Result<(), DbErr> {
    let applied = match db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await
    {
        Ok(rows) => rows,
        // A new database: nothing applied yet.
        Err(_) => return Ok(()),
    };
    let known: Vec<String> = migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let mut unknown = Vec::new();
    for row in applied {
        let version: String = row.try_get("", "version")?;
        if !known.contains(&version) {
            unknown.push(version);
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    Err(DbErr::Migration(format!(
        "this database was migrated by a newer release of keywarden than this one \
         (it holds {}, which this release does not know): run that release or a newer one, \
         or restore the copy taken before the upgrade (see docs/upgrading.md)",
        unknown.join(", ")
    )))
}

async fn migrate_sqlite(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = write_txn(db).await?;
    migration::Migrator::up(&txn, None).await?;
    let dangling = txn
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA foreign_key_check",
        ))
        .await?;
    if !dangling.is_empty() {
        return Err(DbErr::Migration(format!(
            "{} rows refer to rows that do not exist after migrating",
            dangling.len()
        )));
    }
    txn.commit().await
}

/// How long a writer waits for its turn, or (SQLite's busy timeout) for a
/// writer of another process to finish.
pub const TURN_PATIENCE: Duration = Duration::from_secs(15);

/// The writers of one process, taking turns in the order they came.
///
/// A SQLite database has one write lock. A writer that finds it taken sleeps
/// in SQLite's busy handler for growing intervals (up to 100 ms) and tries
/// again, so whoever tries at the right moment wins: under a burst of one
/// account's writes, another account's single write could wait a second while
/// later ones passed it. So every write transaction of the process first waits
/// here for its turn (tokio's mutex hands turns out in the order they were
/// asked for) and only then begins `IMMEDIATE`, finding the lock free unless
/// another process holds it. A writer that gives up (its request gone) leaves
/// the queue; a turn ends when its transaction has committed or rolled back.
///
/// PostgreSQL locks rows, not the database: its writers do not queue.
#[derive(Clone, Debug)]
pub(crate) struct WriteQueue {
    turn: Option<Arc<Mutex<()>>>,
}

/// A writer's turn: while it is held, no other writer of the process begins.
#[derive(Debug)]
pub(crate) struct Turn {
    _held: Option<OwnedMutexGuard<()>>,
}

impl WriteQueue {
    /// The queue `db`'s backend needs.
    pub(crate) fn for_db(db: &DatabaseConnection) -> Self {
        let queued = db.get_database_backend() == DbBackend::Sqlite;
        Self {
            turn: queued.then(|| Arc::new(Mutex::new(()))),
        }
    }

    /// Waits for a turn (at most [`TURN_PATIENCE`]).
    pub(crate) async fn turn(&self) -> Result<Turn, DbErr> {
        let Some(turn) = &self.turn else {
            return Ok(Turn { _held: None });
        };
        match tokio::time::timeout(TURN_PATIENCE, turn.clone().lock_owned()).await {
            Ok(held) => Ok(Turn { _held: Some(held) }),
            Err(_) => Err(DbErr::Custom(format!(
                "no turn to write within {} s: another write is taking too long",
                TURN_PATIENCE.as_secs()
            ))),
        }
    }

    /// Waits for a turn, then starts a write transaction. The turn is to be
    /// dropped after the transaction ends.
    pub(crate) async fn begin(
        &self,
        db: &DatabaseConnection,
    ) -> Result<(Turn, DatabaseTransaction), DbErr> {
        let turn = self.turn().await?;
        let txn = write_txn(db).await?;
        Ok((turn, txn))
    }
}

/// Starts a transaction for an operation that writes. Outside a migration,
/// go through [`WriteQueue::begin`].
pub(crate) async fn write_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// The pool's connections: how many are open, and how many of those are idle.
pub fn pool_connections(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    }
}

/// Whether the connection can run a trivial query.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// `text` inside a `LIKE` pattern, its wildcards and the escape character
/// escaped with `\` (to be used with `LikeExpr::escape('\\')`).
pub(crate) fn like_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod like_tests {
    #[test]
    fn wildcards_are_taken_literally() {
        assert_eq!(super::like_literal("a_b%c\\d"), "a\\_b\\%c\\\\d");
        assert_eq!(super::like_literal("plain"), "plain");
    }
}

#[cfg(test)]
mod queue_tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::{Turn, WriteQueue};

    fn queued() -> WriteQueue {
        WriteQueue {
            turn: Some(Arc::new(tokio::sync::Mutex::new(()))),
        }
    }

    /// Writers get their turns in the order they asked, and one at a time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn turns_go_in_the_order_they_were_asked_for() {
        let queue = queued();
        let first: Turn = queue.turn().await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for writer in 0..8 {
            let (queue, order) = (queue.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let _turn = queue.turn().await.unwrap();
                order.lock().unwrap().push(writer);
                // Another writer getting in now would be out of turn.
                tokio::time::sleep(Duration::from_millis(2)).await;
                order.lock().unwrap().push(writer);
            }));
            // Each is in the queue before the next asks.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            order.lock().unwrap().is_empty(),
            "nobody writes during another's turn"
        );
        drop(first);
        for waiter in waiters {
            waiter.await.unwrap();
        }
        let expected: Vec<i32> = (0..8).flat_map(|w| [w, w]).collect();
        assert_eq!(*order.lock().unwrap(), expected);
    }

    /// A writer that gives up leaves the queue: the next one is not held up.
    #[tokio::test]
    async fn a_writer_that_gives_up_leaves_the_queue() {
        let queue = queued();
        let first = queue.turn().await.unwrap();
        let gone = tokio::time::timeout(Duration::from_millis(5), queue.turn()).await;
        assert!(gone.is_err(), "the turn was still taken");
        drop(first);
        let next = tokio::time::timeout(Duration::from_millis(500), queue.turn()).await;
        assert!(next.is_ok_and(|t| t.is_ok()));
    }

    /// PostgreSQL's writers do not queue: two turns at once.
    #[tokio::test]
    async fn without_a_queue_turns_do_not_wait() {
        let queue = WriteQueue { turn: None };
        let _one = queue.turn().await.unwrap();
        let two = tokio::time::timeout(Duration::from_millis(50), queue.turn()).await;
        assert!(two.is_ok_and(|t| t.is_ok()));
    }
}

/// Where verification reads: its pool, and the connections of its own tried
/// first: on a SQLite file [`Direct`]'s, on PostgreSQL [`PgDirect`]'s.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reads<'a> {
    pub pool: &'a DatabaseConnection,
    pub direct: Option<&'a Direct>,
    pub pg: Option<&'a PgDirect>,
}

/// How many of [`Direct`]'s connections are kept between reads.
const DIRECT_KEPT: usize = 8;

/// Reads of a SQLite file on the caller's own thread, through connections of
/// SQLite's own, opened read-only.
///
/// The pool's driver runs each SQLite connection on a thread of its own and
/// hands every statement and row across; on a busy server that handing over,
/// not SQLite, is most of what a point read costs. A point read by an index
/// in WAL mode takes microseconds and never waits for a writer, so
/// verification makes it here, where it is asked. Such a read never waits at
/// all: any error, a busy database included, answers `None`, and the caller
/// reads through the pool instead, which waits as writers do.
pub(crate) struct Direct {
    path: std::path::PathBuf,
    kept: std::sync::Mutex<Vec<rusqlite::Connection>>,
    /// Counts each statement run, with the pool's.
    statements: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct").field("path", &self.path).finish()
    }
}

impl Direct {
    /// For `db` when it is a SQLite file; `None` otherwise (PostgreSQL, or a
    /// database in memory, which no other connection can open).
    pub(crate) fn for_db(
        db: &DatabaseConnection,
        statements: Arc<std::sync::atomic::AtomicU64>,
    ) -> Option<Self> {
        if db.get_database_backend() != DbBackend::Sqlite {
            return None;
        }
        let options = db.get_sqlite_connection_pool().connect_options();
        let path = options.get_filename();
        path.is_file().then(|| Self {
            path: path.to_owned(),
            kept: std::sync::Mutex::new(Vec::new()),
            statements,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<rusqlite::Connection>> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn connection(&self) -> rusqlite::Result<rusqlite::Connection> {
        if let Some(conn) = self.lock().pop() {
            return Ok(conn);
        }
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::ZERO)?;
        Ok(conn)
    }

    /// The rows `sql` reads with `params`, each made into a `T` by `row`;
    /// `None` when anything went wrong (said in the log at debug level).
    pub(crate) fn read<T>(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
        row: impl Fn(&rusqlite::Row<'_>) -> Result<T, DbErr>,
    ) -> Option<Vec<T>> {
        let conn = match self.connection() {
            Ok(conn) => conn,
            Err(e) => {
                tracing::debug!(error = %e, "cannot open SQLite directly; reading through the pool");
                return None;
            }
        };
        self.statements
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let read = (|| {
            let mut statement = conn.prepare_cached(sql).map_err(direct_err)?;
            let mut rows = statement.query(params).map_err(direct_err)?;
            let mut made = Vec::new();
            while let Some(r) = rows.next().map_err(direct_err)? {
                made.push(row(r)?);
            }
            Ok::<_, DbErr>(made)
        })();
        match read {
            Ok(made) => {
                let mut kept = self.lock();
                if kept.len() < DIRECT_KEPT {
                    kept.push(conn);
                }
                Some(made)
            }
            Err(e) => {
                tracing::debug!(error = %e, "a direct SQLite read failed; reading through the pool");
                None
            }
        }
    }
}

#[cfg(test)]
mod direct_tests {
    use super::*;

    fn direct(path: &std::path::Path) -> Direct {
        Direct {
            path: path.to_owned(),
            kept: std::sync::Mutex::new(Vec::new()),
            statements: Arc::default(),
        }
    }

    #[test]
    fn a_direct_read_sees_what_was_committed_and_says_none_when_it_cannot_read() {
        let dir = std::env::temp_dir().join(format!("kw-direct-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.db");
        let _ = std::fs::remove_file(&path);
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);",
            )
            .unwrap();
        let reader = direct(&path);
        let read = |id: i64| reader.read("SELECT v FROM t WHERE id = ?1", &[&id], |r| r.text("v"));
        assert_eq!(read(1), Some(vec![]));
        writer
            .execute("INSERT INTO t (id, v) VALUES (1, 'one')", [])
            .unwrap();
        assert_eq!(read(1), Some(vec!["one".to_owned()]));
        // Read while a writer holds its transaction open: the last commit.
        writer
            .execute_batch("BEGIN IMMEDIATE; UPDATE t SET v = 'uno' WHERE id = 1;")
            .unwrap();
        assert_eq!(read(1), Some(vec!["one".to_owned()]));
        writer.execute_batch("COMMIT").unwrap();
        assert_eq!(read(1), Some(vec!["uno".to_owned()]));
        // The connection was kept and reused.
        assert_eq!(reader.lock().len(), 1);
        // A statement it cannot run, or a row it cannot make: none, so that
        // the pool is asked instead. The connection is not kept.
        assert_eq!(
            reader.read("SELECT nothing FROM nowhere", &[], |r| r.text("v")),
            None
        );
        assert_eq!(read(1).map(|v| v.len()), Some(1));
        assert_eq!(reader.read("SELECT v FROM t", &[], |r| r.int("v")), None);
        assert_eq!(
            reader.statements.load(std::sync::atomic::Ordering::Relaxed),
            7
        );
        // A database it cannot open.
        assert_eq!(
            direct(&dir.join("missing.db")).read("SELECT 1", &[], |r| r.int("1")),
            None
        );
        drop(writer);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
