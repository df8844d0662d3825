//! PostgreSQL for verification: connections of its own ([`PgDirect`]), and
//! the reads of credentials by digest that verifications asking at the same
//! time share, one statement for all of them.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgRow};
use sea_orm::sqlx::{Connection as _, PgConnection, Row as _};
use sea_orm::{DatabaseConnection, DbBackend, DbErr};
use tokio::sync::{Semaphore, SemaphorePermit, mpsc, oneshot};

use super::columns::Columns;

/// The `application_name` of [`PgDirect`]'s connections, as
/// `pg_stat_activity` shows them.
pub const PG_DIRECT_NAME: &str = "keywarden-verification";

/// How verification's own connections plan their statements: once each.
///
/// PostgreSQL plans a prepared statement anew for its parameters while that
/// plan looks cheaper than one made for any parameters, and for a statement
/// over an array of digests it keeps doing so: measured here, about 0.8 ms of
/// planning for each gathered statement, ten times its execution. Every
/// statement on these connections is a read by an index whatever its
/// parameters, so one plan serves them all.
const PLANS: (&str, &str) = ("plan_cache_mode", "force_generic_plan");

/// One gathered statement reads at most about this many digests: a
/// verification that would take it past this waits for the next.
pub(crate) const GATHERED_DIGESTS: usize = 64;

/// How many reads of one gathered statement run at once, at most (fewer when
/// `--db-verification-connections` is lower). Each takes everything that
/// waits when it starts, so fewer readers make larger statements: measured
/// here with 32 verifications in flight, two readers made about six reads a
/// statement and 14,000 a second, eight made 1.6 a statement and 8,400 a
/// second. While one reader waits for the database the other starts with
/// whatever arrives, so a verification alone never waits for one in flight.
const READERS: usize = 2;

/// How many verifications may wait for one gathered statement's reads at
/// once; more wait to be let in.
const WAITING: usize = 1024;

/// A parameter of a statement that [`PgDirect`] runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Param<'a> {
    Int(i64),
    Text(&'a str),
    /// A `bytea[]`.
    Digests(&'a [[u8; 32]]),
}

/// Reads of PostgreSQL for verification, on connections of its own that go
/// back and forth with no check.
///
/// The pool tests a connection with a round trip when it hands out one that
/// was idle, and again with another whenever it takes one back. For a
/// statement that is itself one round trip, that is three waits where one
/// would do: most of what a cold verification cost. These connections are
/// taken and put back as they are, and a connection is trusted only as long as
/// it answers: any error (a connection the server closed, a statement that
/// failed) drops it and answers `None`, and the caller reads through the pool,
/// whose checks stand. So is a read cancelled midway: the connection goes with
/// it, never back.
///
/// Credentials are read by [`PgDirect::gathered`]: what the verifications
/// that miss the cache at the same time ask for is read by one statement, so
/// that a busy server makes one round trip, and the database one index scan
/// over an array, for many of them.
pub(crate) struct PgDirect {
    connections: Arc<Connections>,
    /// The queue of each gathered statement, made with its readers on first
    /// use.
    queues: std::sync::Mutex<Vec<(&'static str, mpsc::Sender<Ask>)>>,
}

/// The connections, shared with the tasks that make gathered reads.
struct Connections {
    options: PgConnectOptions,
    kept: std::sync::Mutex<Vec<PgConnection>>,
    /// As many reads at once as the verification pool has connections.
    slots: Semaphore,
    size: usize,
    /// How long a read waits for a slot or a new connection.
    patience: Duration,
    /// Counts each statement run, with the pool's.
    statements: Arc<AtomicU64>,
}

/// A verification's digests, waiting to be read with others.
struct Ask {
    digests: Vec<[u8; 32]>,
    /// Its rows; `None` (or dropped) when it must read through the pool.
    reply: oneshot::Sender<Option<Vec<PgRow>>>,
}

impl std::fmt::Debug for PgDirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDirect").finish_non_exhaustive()
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl PgDirect {
    /// For `db` when it is PostgreSQL, with `connections` at most; `None`
    /// otherwise.
    pub(crate) fn for_db(
        db: &DatabaseConnection,
        connections: u32,
        statements: Arc<AtomicU64>,
    ) -> Option<Self> {
        if db.get_database_backend() != DbBackend::Postgres {
            return None;
        }
        let pool = db.get_postgres_connection_pool();
        let size = connections.max(1) as usize;
        Some(Self {
            connections: Arc::new(Connections {
                options: (*pool.connect_options())
                    .clone()
                    .application_name(PG_DIRECT_NAME)
                    .options([PLANS]),
                kept: std::sync::Mutex::new(Vec::new()),
                slots: Semaphore::new(size),
                size,
                patience: pool.options().get_acquire_timeout(),
                statements,
            }),
            queues: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Reads running now, and connections kept idle.
    pub(crate) fn connections(&self) -> (usize, usize) {
        let c = &self.connections;
        (c.size - c.slots.available_permits(), lock(&c.kept).len())
    }

    /// The rows `sql` reads with `params`, each made into a `T` by `row`;
    /// `None` when anything went wrong (said in the log at debug level).
    pub(crate) async fn read<T>(
        &self,
        sql: Cow<'static, str>,
        params: &[Param<'_>],
        row: impl Fn(&PgRow) -> Result<T, DbErr>,
    ) -> Option<Vec<T>> {
        let c = &self.connections;
        let _slot = c.slot().await?;
        let (rows, conn) = c.run(sql, params).await?;
        match rows.iter().map(row).collect::<Result<Vec<T>, DbErr>>() {
            Ok(made) => {
                c.keep(conn);
                Some(made)
            }
            Err(e) => {
                tracing::debug!(error = %e, "a verification read failed; reading through the pool");
                None
            }
        }
    }

    /// The rows of `sql` for `digests`, read by one statement with the
    /// digests of other verifications that ask meanwhile; `None` to read
    /// through the pool.
    ///
    /// `sql` takes one parameter, `$1`, the `bytea[]` of every digest asked
    /// for, and gives each row the column `at`: the position in `$1` (from 1)
    /// of the digest the row was found by. A caller gets the rows found by
    /// its own digests, in the statement's order.
    ///
    /// Whenever one of the statement's readers ([`READERS`]) is free, it
    /// starts a statement at once with what is waiting, so a read waits for
    /// others only while the database is busy with earlier ones: one
    /// verification alone is read as soon as it asks.
    pub(crate) async fn gathered(
        &self,
        sql: &'static str,
        digests: Vec<[u8; 32]>,
    ) -> Option<Vec<PgRow>> {
        let queue = self.queue(sql);
        let (reply, answer) = oneshot::channel();
        let ask = Ask { digests, reply };
        if queue.send(ask).await.is_err() {
            // Its readers are gone (with the runtime that started them): the
            // next read starts new ones.
            lock(&self.queues).retain(|(_, q)| !q.same_channel(&queue));
            return None;
        }
        answer.await.ok().flatten()
    }

    /// The queue of `sql`, with its readers started when it is new.
    fn queue(&self, sql: &'static str) -> mpsc::Sender<Ask> {
        let mut queues = lock(&self.queues);
        if let Some((_, queue)) = queues.iter().find(|(text, _)| *text == sql) {
            return queue.clone();
        }
        let (queue, asks) = mpsc::channel(WAITING);
        let asks = Arc::new(tokio::sync::Mutex::new(asks));
        for _ in 0..self.connections.size.min(READERS) {
            tokio::spawn(read_gathered(self.connections.clone(), sql, asks.clone()));
        }
        queues.push((sql, queue.clone()));
        queue
    }
}

impl Connections {
    /// A turn to read, waited for no longer than the pool would be.
    async fn slot(&self) -> Option<SemaphorePermit<'_>> {
        tokio::time::timeout(self.patience, self.slots.acquire())
            .await
            .ok()?
            .ok()
    }

    /// The rows of `sql` with `params`, and the connection they were read on,
    /// to be kept if the rows are good; `None` when the read failed, its
    /// connection gone with it. Call it holding a slot.
    async fn run(
        &self,
        sql: Cow<'static, str>,
        params: &[Param<'_>],
    ) -> Option<(Vec<PgRow>, PgConnection)> {
        let kept = lock(&self.kept).pop();
        let mut conn = match kept {
            Some(conn) => conn,
            None => {
                let opened =
                    tokio::time::timeout(self.patience, PgConnection::connect_with(&self.options))
                        .await;
                match opened {
                    Ok(Ok(conn)) => conn,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "cannot open a verification connection; reading through the pool");
                        return None;
                    }
                    Err(_) => return None,
                }
            }
        };
        self.statements.fetch_add(1, Ordering::Relaxed);
        // A text made once is passed on as it is; one made for this read
        // (more peppers than the texts made once) is handed over. Either way
        // it is keywarden's own, with numbered parameters: nothing a client
        // sent is in it.
        let mut query = match sql {
            Cow::Borrowed(text) => sea_orm::sqlx::query(text),
            Cow::Owned(text) => sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(text)),
        };
        for param in params {
            query = match *param {
                Param::Int(v) => query.bind(v),
                Param::Text(v) => query.bind(v),
                Param::Digests(v) => query.bind(v),
            };
        }
        match query.fetch_all(&mut conn).await {
            Ok(rows) => Some((rows, conn)),
            Err(e) => {
                tracing::debug!(error = %e, "a verification read failed; reading through the pool");
                None
            }
        }
    }

    fn keep(&self, conn: PgConnection) {
        lock(&self.kept).push(conn);
    }
}

/// One reader of a gathered statement: takes the first verification waiting,
/// then, with a slot, every other already waiting (up to
/// [`GATHERED_DIGESTS`]), reads them all with one statement and hands each
/// its rows. It ends when its [`PgDirect`] is gone.
async fn read_gathered(
    connections: Arc<Connections>,
    sql: &'static str,
    asks: Arc<tokio::sync::Mutex<mpsc::Receiver<Ask>>>,
) {
    loop {
        let (mut batch, slot) = {
            let mut waiting = asks.lock().await;
            let Some(first) = waiting.recv().await else {
                return;
            };
            // The slot is waited for with the queue held: what arrives
            // meanwhile joins this statement.
            let slot = connections.slot().await;
            let mut count = first.digests.len();
            let mut batch = vec![first];
            while count < GATHERED_DIGESTS {
                let Ok(next) = waiting.try_recv() else {
                    break;
                };
                count += next.digests.len();
                batch.push(next);
            }
            (batch, slot)
        };
        // Without a slot in time, each reads through the pool.
        let Some(slot) = slot else { continue };
        // A verification that gave up is not read for.
        batch.retain(|ask| !ask.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let digests: Vec<[u8; 32]> = batch
            .iter()
            .flat_map(|ask| ask.digests.iter().copied())
            .collect();
        let Some((rows, conn)) = connections
            .run(Cow::Borrowed(sql), &[Param::Digests(&digests)])
            .await
        else {
            continue;
        };
        let lengths: Vec<usize> = batch.iter().map(|ask| ask.digests.len()).collect();
        let Some(shares) = share(&lengths, rows) else {
            tracing::debug!("a gathered verification read gave a row of no digest asked for");
            continue;
        };
        connections.keep(conn);
        drop(slot);
        for (ask, rows) in batch.into_iter().zip(shares) {
            // A verification that gave up meanwhile has no one to answer.
            let _ = ask.reply.send(Some(rows));
        }
    }
}

/// The rows of each ask, by the position of the digest each row was found by
/// (its column `at`, from 1, in the asks' digests one after another; `lengths`
/// is how many digests each ask has), in the order read; `None` when a row
/// has no such position.
fn share(lengths: &[usize], rows: Vec<PgRow>) -> Option<Vec<Vec<PgRow>>> {
    let ends: Vec<usize> = lengths
        .iter()
        .scan(0, |end, n| {
            *end += n;
            Some(*end)
        })
        .collect();
    let mut shares: Vec<Vec<PgRow>> = lengths.iter().map(|_| Vec::new()).collect();
    for row in rows {
        let at: i64 = row.try_get("at").ok()?;
        shares[owner(&ends, at)?].push(row);
    }
    Some(shares)
}

/// Which ask the digest at position `at` (from 1) is of, the asks' digests
/// ending at `ends` (after the last of each, counted from 0).
fn owner(ends: &[usize], at: i64) -> Option<usize> {
    let index = usize::try_from(at).ok()?.checked_sub(1)?;
    let ask = ends.partition_point(|end| *end <= index);
    (ask < ends.len()).then_some(ask)
}

fn pg_err(e: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Custom(format!("reading PostgreSQL directly: {e}"))
}

impl Columns for PgRow {
    fn int(&self, name: &str) -> Result<i64, DbErr> {
        self.try_get(name).map_err(pg_err)
    }
    fn maybe_int(&self, name: &str) -> Result<Option<i64>, DbErr> {
        self.try_get(name).map_err(pg_err)
    }
    fn text(&self, name: &str) -> Result<String, DbErr> {
        self.try_get(name).map_err(pg_err)
    }
    fn maybe_text(&self, name: &str) -> Result<Option<String>, DbErr> {
        self.try_get(name).map_err(pg_err)
    }
    fn bytes(&self, name: &str) -> Result<Vec<u8>, DbErr> {
        self.try_get(name).map_err(pg_err)
    }
    fn flag(&self, name: &str) -> Result<bool, DbErr> {
        self.try_get(name).map_err(pg_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_position_belongs_to_the_ask_whose_digests_hold_it() {
        // Asks of 1, 2 and 1 digests: positions 1 | 2 3 | 4.
        let ends = [1, 3, 4];
        let owners: Vec<Option<usize>> = (0..=5).map(|at| owner(&ends, at)).collect();
        assert_eq!(owners, vec![None, Some(0), Some(1), Some(1), Some(2), None]);
        assert_eq!(owner(&ends, -1), None);
        assert_eq!(owner(&[], 1), None);
        // An ask of no digests owns no position.
        assert_eq!(owner(&[1, 1, 2], 2), Some(2));
    }
}
