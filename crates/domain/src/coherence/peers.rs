//! Keeping the caches of every process on one PostgreSQL database current.
//!
//! Each process keeps one connection that `LISTEN`s on [`CHANNEL`]. A
//! transaction that changes anything sends `changed <instance> <seq> <scopes>`
//! with `pg_notify`, which PostgreSQL delivers only if and when it commits.
//! Every other process, on hearing it, marks those scopes changed on its board
//! (see [`crate::coherence::board`]) and answers `heard <instance> <seq> <pid>`. The process that made the change does not
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
//!
//! That is safe because of the lease (see [`crate::coherence::cache::Lease`]).
//! Every [`HEARTBEAT`] each process sends `beat <instance> <ms>` through its
//! own listening connection, `ms` being when it sent it. PostgreSQL delivers
//! notifications in the order their transactions committed, so hearing its own
//! heartbeat back tells a process it has heard every change committed before
//! `ms`, and renews its lease to `ms` plus [`LEASE`](super::cache::LEASE). A process that hears
//! nothing (stopped, cut off, its backend stalled) loses the lease before any
//! writer gives up waiting for it, and reads the database until it hears again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::Notify;

use super::board::{Board, Scope};
use super::cache::Lease;

pub(crate) const CHANNEL: &str = "keywarden_credentials";
const LISTENER_NAME: &str = "keywarden-listener";
pub(crate) const HEARD_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a process sends itself a heartbeat: a few times per lease.
const HEARTBEAT: Duration = Duration::from_millis(200);
/// PostgreSQL refuses payloads of 8,000 bytes or more; a change naming more
/// scopes than fit says `*`, everything.
const MAX_PAYLOAD: usize = 7_900;
/// How often a waiting change looks again at who is listening.
const RECHECK: Duration = Duration::from_millis(20);
const RECONNECT: Duration = Duration::from_millis(500);

/// What a change made stale, as a notification carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Changed {
    Scopes(Vec<Scope>),
    Everything,
}

#[derive(Debug, PartialEq, Eq)]
enum Message {
    Changed {
        instance: u64,
        seq: u64,
        changed: Changed,
    },
    Heard {
        instance: u64,
        seq: u64,
        pid: i32,
    },
    Beat {
        instance: u64,
        sent_ms: u64,
    },
}

impl Message {
    fn parse(payload: &str) -> Option<Self> {
        let mut words = payload.split(' ');
        let message = match (words.next()?, words.next()?, words.next()?) {
            ("changed", instance, seq) => Message::Changed {
                instance: instance.parse().ok()?,
                seq: seq.parse().ok()?,
                changed: match words.next()? {
                    "*" => Changed::Everything,
                    "" => Changed::Scopes(Vec::new()),
                    list => {
                        Changed::Scopes(list.split(',').map(Scope::read).collect::<Option<_>>()?)
                    }
                },
            },
            ("heard", instance, seq) => Message::Heard {
                instance: instance.parse().ok()?,
                seq: seq.parse().ok()?,
                pid: words.next()?.parse().ok()?,
            },
            ("beat", instance, sent_ms) => Message::Beat {
                instance: instance.parse().ok()?,
                sent_ms: sent_ms.parse().ok()?,
            },
            _ => return None,
        };
        words.next().is_none().then_some(message)
    }

    fn payload(&self) -> String {
        match self {
            Message::Changed {
                instance,
                seq,
                changed,
            } => {
                let mut out = format!("changed {instance} {seq} ");
                let start = out.len();
                match changed {
                    Changed::Everything => out.push('*'),
                    Changed::Scopes(scopes) => {
                        for (i, scope) in scopes.iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            scope.write(&mut out);
                            if out.len() > MAX_PAYLOAD {
                                out.truncate(start);
                                out.push('*');
                                break;
                            }
                        }
                    }
                }
                out
            }
            Message::Heard { instance, seq, pid } => format!("heard {instance} {seq} {pid}"),
            Message::Beat { instance, sent_ms } => format!("beat {instance} {sent_ms}"),
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
    /// When the last notification arrived, on the lease's clock; 0: never.
    heard_at_ms: AtomicU64,
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
            heard_at_ms: AtomicU64::new(0),
            heard: Mutex::new(HashMap::new()),
            arrived: Notify::new(),
        }
    }

    /// Inside a transaction that changes something: queues the notification
    /// PostgreSQL will deliver at commit. Returns its sequence number, to pass
    /// to [`Peers::wait_until_heard`] after the commit or to [`Peers::forget`]
    /// if there is none.
    pub(crate) async fn announce<C: ConnectionTrait>(
        &self,
        txn: &C,
        scopes: &[Scope],
    ) -> Result<u64, DbErr> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        // Ready before anyone can hear of it: answers may come before the
        // commit has returned to us.
        self.lock_heard().insert(seq, Vec::new());
        let message = Message::Changed {
            instance: self.instance,
            seq,
            changed: Changed::Scopes(scopes.to_vec()),
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

    /// Whether the listening connection is up, and how long ago it last
    /// heard anything (heartbeats arrive several times a second while it is
    /// healthy), on the clock `now_ms` comes from.
    pub(crate) fn listening(&self, now_ms: u64) -> (bool, Option<Duration>) {
        let up = self.own_pid.load(Ordering::Acquire) != 0;
        let heard = match self.heard_at_ms.load(Ordering::Relaxed) {
            0 => None,
            at => Some(Duration::from_millis(now_ms.saturating_sub(at))),
        };
        (up, heard)
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
        coherence: &Listening,
        payload: &str,
    ) -> Result<(), sea_orm::sqlx::Error> {
        match Message::parse(payload) {
            Some(Message::Beat { instance, sent_ms }) if instance == self.instance => {
                coherence.lease.renew(sent_ms);
            }
            Some(Message::Changed {
                instance,
                seq,
                changed,
            }) if instance != self.instance => {
                match changed {
                    Changed::Scopes(scopes) => coherence.board.mark(scopes),
                    Changed::Everything => coherence.board.forget_all(),
                }
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

/// A one-connection pool of its own: for the listening connection, so that it
/// never goes back to the shared pool with `LISTEN` or its name still in force,
/// and for heartbeats, so that a busy shared pool never holds them up.
pub(crate) fn own_connection(db: &DatabaseConnection) -> PgPool {
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

/// What hearing from the other processes keeps current.
#[derive(Clone, Debug)]
pub(crate) struct Listening {
    pub board: Arc<Board>,
    pub lease: Arc<Lease>,
}

/// Listens for as long as the process runs, reconnecting when the connection is
/// lost. While it is lost the lease is over and every change it may have
/// missed is forgotten, once when lost and once when listening again.
pub(crate) async fn listen(peers: Arc<Peers>, coherence: Listening, pool: PgPool) {
    loop {
        match connect(&pool).await {
            Ok((mut listener, pid)) => {
                coherence.board.forget_all();
                peers.own_pid.store(pid, Ordering::Release);
                tracing::debug!(pid, "listening for credential changes");
                loop {
                    let lost = match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            peers
                                .heard_at_ms
                                .store(coherence.lease.now_ms(), Ordering::Relaxed);
                            peers
                                .hear(&mut listener, &coherence, notification.payload())
                                .await
                                .err()
                                .map(|e| e.to_string())
                        }
                        Ok(None) => Some("the connection closed".to_owned()),
                        Err(e) => Some(e.to_string()),
                    };
                    if let Some(e) = lost {
                        tracing::warn!(error = %e, "lost the notification connection; not caching until it is back");
                        break;
                    }
                }
                coherence.lease.end();
                coherence.board.forget_all();
                peers.own_pid.store(0, Ordering::Release);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for credential changes; not caching");
            }
        }
        tokio::time::sleep(RECONNECT).await;
    }
}

/// Sends this process a heartbeat every [`HEARTBEAT`], on a connection of its
/// own, for as long as the process runs (see the module's documentation).
pub(crate) async fn beat(peers: Arc<Peers>, lease: Arc<Lease>, pool: PgPool) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        let message = Message::Beat {
            instance: peers.instance,
            sent_ms: lease.now_ms(),
        };
        let sent = sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(message.payload())
            .execute(&pool)
            .await;
        match sent {
            Ok(_) if failing => {
                failing = false;
                tracing::info!("heartbeats are going out again");
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "cannot send a heartbeat; the cache stops when its lease ends");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_back_as_written() {
        use crate::ids::{KeyId, UserId};
        for message in [
            Message::Changed {
                instance: 7,
                seq: 1,
                changed: Changed::Scopes(vec![Scope::Key(KeyId(3)), Scope::User(UserId(4))]),
            },
            Message::Changed {
                instance: 7,
                seq: 2,
                changed: Changed::Scopes(Vec::new()),
            },
            Message::Changed {
                instance: 7,
                seq: 3,
                changed: Changed::Everything,
            },
            Message::Beat {
                instance: 9,
                sent_ms: 123_456,
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
            "changed 1 2",
            "changed x 1 k1",
            "changed 1 2 k1 k2",
            "changed 1 2 k1,x",
            "changed 1 2 3",
            "beat 1",
            "beat 1 x",
            "beat 1 2 3",
            "heard 1 2",
            "heard 1 2 3 4",
            "other 1 2",
        ] {
            assert_eq!(Message::parse(payload), None, "{payload:?}");
        }
    }

    #[test]
    fn a_change_naming_too_many_scopes_says_everything() {
        use crate::ids::KeyId;
        let message = Message::Changed {
            instance: 1,
            seq: 1,
            changed: Changed::Scopes((0..5_000).map(|i| Scope::Key(KeyId(i))).collect()),
        };
        let payload = message.payload();
        assert!(payload.len() < 8_000);
        assert_eq!(
            Message::parse(&payload),
            Some(Message::Changed {
                instance: 1,
                seq: 1,
                changed: Changed::Everything
            })
        );
    }
}
