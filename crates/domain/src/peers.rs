//! Keeping the caches of every process on one PostgreSQL database current.
//!
//! Each process keeps one connection that `LISTEN`s on [`CHANNEL`]. A
//! transaction that changes anything sends `changed <instance> <seq>` with
//! `pg_notify`, which PostgreSQL delivers only if and when it commits. Every
//! other process, on hearing it, moves its cache generation on and answers
//! `heard <instance> <seq> <pid>`. The process that made the change does not
//! answer its caller until every listening process has heard, so a revoke that
//! has been answered is refused by every process on its next request.
//!
//! Which processes are listening is read from `pg_stat_activity`: a listening
//! connection takes the application name [`LISTENER_NAME`] once its `LISTEN`
//! is in force. A process whose listening connection is lost stops using its
//! cache at once and until it listens again, so it never needs to be waited
//! for. A process that is listening but does not answer within
//! [`HEARD_TIMEOUT`] (it hangs, or the network to it does) is logged, and the
//! change is answered without it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::Notify;

use crate::cache::VerifiedCache;

pub(crate) const CHANNEL: &str = "keywarden_credentials";
const LISTENER_NAME: &str = "keywarden-listener";
const HEARD_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a waiting change looks again at who is listening.
const RECHECK: Duration = Duration::from_millis(20);
const RECONNECT: Duration = Duration::from_millis(500);

#[derive(Debug, PartialEq, Eq)]
enum Message {
    Changed { instance: u64, seq: u64 },
    Heard { instance: u64, seq: u64, pid: i32 },
}

impl Message {
    fn parse(payload: &str) -> Option<Self> {
        let mut words = payload.split(' ');
        let message = match (words.next()?, words.next()?, words.next()?) {
            ("changed", instance, seq) => Message::Changed {
                instance: instance.parse().ok()?,
                seq: seq.parse().ok()?,
            },
            ("heard", instance, seq) => Message::Heard {
                instance: instance.parse().ok()?,
                seq: seq.parse().ok()?,
                pid: words.next()?.parse().ok()?,
            },
            _ => return None,
        };
        words.next().is_none().then_some(message)
    }

    fn payload(&self) -> String {
        match self {
            Message::Changed { instance, seq } => format!("changed {instance} {seq}"),
            Message::Heard { instance, seq, pid } => format!("heard {instance} {seq} {pid}"),
        }
    }
}

/// This process's part in the protocol.
#[derive(Debug)]
pub(crate) struct Peers {
    /// Tells this process's messages from the others'.
    instance: u64,
    next_seq: AtomicU64,
    /// The backend pid of the listening connection; 0 while there is none.
    own_pid: AtomicI32,
    /// For each change still waiting, the pids that have heard it.
    heard: Mutex<HashMap<u64, Vec<i32>>>,
    arrived: Notify,
}

impl Peers {
    pub(crate) fn new() -> Self {
        Self {
            instance: rand::random::<u64>() >> 1,
            next_seq: AtomicU64::new(1),
            own_pid: AtomicI32::new(0),
            heard: Mutex::new(HashMap::new()),
            arrived: Notify::new(),
        }
    }

    /// Inside a transaction that changes something: queues the notification
    /// PostgreSQL will deliver at commit. Returns its sequence number, to pass
    /// to [`Peers::wait_until_heard`] after the commit or to [`Peers::forget`]
    /// if there is none.
    pub(crate) async fn announce<C: ConnectionTrait>(&self, txn: &C) -> Result<u64, DbErr> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        // Ready before anyone can hear of it: answers may come before the
        // commit has returned to us.
        self.lock_heard().insert(seq, Vec::new());
        let message = Message::Changed {
            instance: self.instance,
            seq,
        };
        let sent = txn
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), message.payload().into()],
            ))
            .await;
        match sent {
            Ok(_) => Ok(seq),
            Err(e) => {
                self.forget(seq);
                Err(e)
            }
        }
    }

    /// Stops collecting answers for change `seq`, which did not commit.
    pub(crate) fn forget(&self, seq: u64) {
        self.lock_heard().remove(&seq);
    }

    /// After the commit: waits until every other listening process has heard
    /// change `seq`, or [`HEARD_TIMEOUT`] has passed.
    pub(crate) async fn wait_until_heard(&self, db: &DatabaseConnection, seq: u64) {
        if self.own_pid.load(Ordering::Acquire) == 0 {
            // Not listening, so no answer can reach us; the others were told all
            // the same, by the notification the commit sent.
            tracing::warn!(
                "changed credentials while not listening; cannot confirm that other processes heard"
            );
            self.forget(seq);
            return;
        }
        let deadline = tokio::time::Instant::now() + HEARD_TIMEOUT;
        let mut silent = Vec::new();
        loop {
            let arrived = self.arrived.notified();
            match self.listeners(db).await {
                Ok(listeners) => {
                    let heard = self.lock_heard().get(&seq).cloned().unwrap_or_default();
                    silent = listeners
                        .into_iter()
                        .filter(|pid| !heard.contains(pid))
                        .collect();
                    if silent.is_empty() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the listening processes");
                }
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    ?silent,
                    "changed credentials; some listening processes did not confirm in time"
                );
                break;
            }
            let _ = tokio::time::timeout(RECHECK, arrived).await;
        }
        self.forget(seq);
    }

    /// The backend pids of the other processes' listening connections.
    async fn listeners(&self, db: &DatabaseConnection) -> Result<Vec<i32>, DbErr> {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = $1 AND pid <> $2",
                [
                    LISTENER_NAME.into(),
                    self.own_pid.load(Ordering::Acquire).into(),
                ],
            ))
            .await?;
        rows.iter()
            .map(|row| row.try_get::<i32>("", "pid"))
            .collect()
    }

    fn lock_heard(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<i32>>> {
        self.heard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Acts on one notification; the answer, if any, goes out on `listener`.
    async fn hear(
        &self,
        listener: &mut PgListener,
        cache: &VerifiedCache,
        payload: &str,
    ) -> Result<(), sea_orm::sqlx::Error> {
        match Message::parse(payload) {
            Some(Message::Changed { instance, seq }) if instance != self.instance => {
                cache.forget_local();
                let answer = Message::Heard {
                    instance,
                    seq,
                    pid: self.own_pid.load(Ordering::Acquire),
                };
                sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(answer.payload())
                    .execute(&mut *listener)
                    .await?;
            }
            Some(Message::Heard { instance, seq, pid }) if instance == self.instance => {
                if let Some(heard) = self.lock_heard().get_mut(&seq) {
                    heard.push(pid);
                }
                self.arrived.notify_waiters();
            }
            Some(_) => {}
            None => tracing::warn!(payload, "ignoring an unknown notification"),
        }
        Ok(())
    }
}

/// A one-connection pool for the listening connection, so that it never goes
/// back to the shared pool with `LISTEN` or its name still in force.
pub(crate) fn listener_pool(db: &DatabaseConnection) -> PgPool {
    let options = (*db.get_postgres_connection_pool().connect_options()).clone();
    PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .connect_lazy_with(options)
}

async fn connect(pool: &PgPool) -> Result<(PgListener, i32), sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    // Named only now that LISTEN is in force: whoever sees the name may wait for us.
    sea_orm::sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(LISTENER_NAME)
        .execute(&mut listener)
        .await?;
    let (pid,): (i32,) = sea_orm::sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut listener)
        .await?;
    Ok((listener, pid))
}

/// Listens for as long as the process runs, reconnecting when the connection is
/// lost. The cache is live exactly while a connection is listening.
pub(crate) async fn listen(peers: Arc<Peers>, cache: Arc<VerifiedCache>, pool: PgPool) {
    loop {
        match connect(&pool).await {
            Ok((mut listener, pid)) => {
                peers.own_pid.store(pid, Ordering::Release);
                cache.set_live(true);
                tracing::debug!(pid, "listening for credential changes");
                loop {
                    let lost = match listener.try_recv().await {
                        Ok(Some(notification)) => peers
                            .hear(&mut listener, &cache, notification.payload())
                            .await
                            .err()
                            .map(|e| e.to_string()),
                        Ok(None) => Some("the connection closed".to_owned()),
                        Err(e) => Some(e.to_string()),
                    };
                    if let Some(e) = lost {
                        tracing::warn!(error = %e, "lost the notification connection; not caching until it is back");
                        break;
                    }
                }
                cache.set_live(false);
                peers.own_pid.store(0, Ordering::Release);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for credential changes; not caching");
            }
        }
        tokio::time::sleep(RECONNECT).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_back_as_written() {
        for message in [
            Message::Changed {
                instance: 7,
                seq: 1,
            },
            Message::Heard {
                instance: u64::MAX >> 1,
                seq: 42,
                pid: 31337,
            },
        ] {
            assert_eq!(Message::parse(&message.payload()), Some(message));
        }
    }

    #[test]
    fn malformed_messages_are_ignored() {
        for payload in [
            "",
            "changed",
            "changed 1",
            "changed x 1",
            "changed 1 2 3",
            "heard 1 2",
            "heard 1 2 3 4",
            "other 1 2",
        ] {
            assert_eq!(Message::parse(payload), None, "{payload:?}");
        }
    }
}
