//! Keeping the caches of every process on one PostgreSQL database current.
//!
//! Each process keeps one connection that `LISTEN`s for the others. A
//! transaction that changes anything sends `changed <instance> <seq> <scopes>`
//! with `pg_notify`, which PostgreSQL delivers only if and when it commits.
//! Every other process, on hearing it, marks those scopes changed on its board
//! (see [`crate::coherence::board`]) and answers `heard <instance> <seq> <pid>`.
//! The process that made the change does not answer its caller until every
//! listening process has heard, so a revoke that has been answered is refused
//! by every process on its next request.
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
//! Every [`HEARTBEAT`] each process sends `beat <instance> <ms> <pid>` through
//! its own connection, `ms` being when it sent it. PostgreSQL delivers
//! notifications in the order their transactions committed, so hearing its own
//! heartbeat back tells a process it has heard every change committed before
//! `ms`, and renews its lease to `ms` plus [`LEASE`](super::cache::LEASE). A
//! process that hears nothing (stopped, cut off, its backend stalled) loses the
//! lease before any writer gives up waiting for it, and reads the database
//! until it hears again.
//!
//! # Versions
//!
//! The messages carry the version of the protocol they are written in, as
//! their first word, on [`CHANNEL`]; this release writes version
//! [`PROTOCOL`]. Releases up to 0.1.0 spoke version 1: the same three messages
//! without the version word (and a heartbeat without the pid), on
//! [`V1_CHANNEL`]. So that a rolling upgrade from them is safe, this release
//! listens on both, sends each change in both versions (a version 1 process
//! hears only its own channel), answers each message in its own version, and
//! lets a version 1 process prove that it listens by answering an empty change
//! (a probe).
//!
//! A process serves from memory only while it understands everyone:
//! - a notification it cannot read (a newer release's, or anyone's noise)
//!   ends its lease and makes everything it remembered stale, and it renews
//!   none until it has heard nothing unreadable for [`DOUBT`];
//! - a listening connection it has not confirmed (by a heartbeat naming its
//!   pid, or an answer from it) ends the lease until it is confirmed or gone,
//!   since that process's changes may be announced in a way this one does not
//!   hear.
//!
//! A mixed deployment of releases that do not understand each other is then
//! slower (every verification reads the database), never wrong. A release
//! keeps speaking the version of the release before it, so that the two may
//! run side by side during an upgrade (docs/upgrading.md).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::Notify;

use super::board::{Board, Scope};
use super::cache::Lease;

/// Where this release's messages go.
pub(crate) const CHANNEL: &str = "keywarden";
/// Where releases up to 0.1.0 (protocol version 1) send and listen.
pub(crate) const V1_CHANNEL: &str = "keywarden_credentials";
/// The version of the protocol this release writes.
pub(crate) const PROTOCOL: u32 = 2;
const LISTENER_NAME: &str = "keywarden-listener";
pub(crate) const HEARD_TIMEOUT: Duration = Duration::from_secs(2);

// A lease ends before a writer gives up on a silent process (see
// [`super::cache::LEASE`]), so that a process no writer could reach has stopped
// serving from memory by then.
const _: () = assert!(super::cache::LEASE.as_millis() < HEARD_TIMEOUT.as_millis());
/// How often a process sends itself a heartbeat (and looks at who listens): a
/// few times per lease.
const HEARTBEAT: Duration = Duration::from_millis(200);
/// How long after the last notification it could not read a process goes on
/// reading the database.
pub(crate) const DOUBT: Duration = Duration::from_millis(1_000);
/// PostgreSQL refuses payloads of 8,000 bytes or more; a change naming more
/// scopes than fit says `*`, everything.
const MAX_PAYLOAD: usize = 7_900;
/// How often a waiting change looks again at who is listening.
const RECHECK: Duration = Duration::from_millis(20);
const RECONNECT: Duration = Duration::from_millis(500);
/// How many other processes' instances are remembered as speaking this
/// version (to leave their version 1 copies unanswered) before starting over.
const MAX_KNOWN_INSTANCES: usize = 4_096;

/// A version of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Version {
    /// Releases up to 0.1.0, on [`V1_CHANNEL`].
    V1,
    /// This release, on [`CHANNEL`].
    V2,
}

impl Version {
    fn channel(self) -> &'static str {
        match self {
            Version::V1 => V1_CHANNEL,
            Version::V2 => CHANNEL,
        }
    }
}

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
    /// `pid` is the sender's listening connection, 0 while it has none (and
    /// always in version 1, whose heartbeat does not say).
    Beat {
        instance: u64,
        sent_ms: u64,
        pid: i32,
    },
}

impl Message {
    /// Reads a notification heard on `channel`: its version and message, or
    /// `None` for anything this release does not understand.
    fn parse(channel: &str, payload: &str) -> Option<(Version, Self)> {
        let mut words = payload.split(' ');
        let version = match channel {
            V1_CHANNEL => Version::V1,
            CHANNEL if words.next()? == "2" => Version::V2,
            _ => return None,
        };
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
                pid: match version {
                    Version::V1 => 0,
                    Version::V2 => words.next()?.parse().ok()?,
                },
            },
            _ => return None,
        };
        words.next().is_none().then_some((version, message))
    }

    /// The message as `version` writes it.
    fn payload(&self, version: Version) -> String {
        let mut out = match version {
            Version::V1 => String::new(),
            Version::V2 => format!("{PROTOCOL} "),
        };
        match self {
            Message::Changed {
                instance,
                seq,
                changed,
            } => {
                out.push_str(&format!("changed {instance} {seq} "));
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
            }
            Message::Heard { instance, seq, pid } => {
                out.push_str(&format!("heard {instance} {seq} {pid}"));
            }
            Message::Beat {
                instance,
                sent_ms,
                pid,
            } => {
                out.push_str(&format!("beat {instance} {sent_ms}"));
                if version == Version::V2 {
                    out.push_str(&format!(" {pid}"));
                }
            }
        }
        out
    }
}

/// What a process knows of the others' listening connections.
#[derive(Debug, Default)]
struct Book {
    /// Confirmed listening connections, by backend pid, and the newest
    /// version each has been heard to speak.
    speaks: HashMap<i32, Version>,
    /// Listening connections seen in `pg_stat_activity` and not confirmed.
    unconfirmed: Vec<i32>,
    /// Other processes' instances heard speaking version 2: their version 1
    /// copies of a change need no answer.
    current: HashSet<u64>,
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
    /// Until when, on the lease's clock, the lease is not renewed because of
    /// a notification this process could not read.
    doubt_until_ms: AtomicU64,
    /// How many listening connections are not confirmed (`book.unconfirmed`).
    unconfirmed: AtomicUsize,
    /// Since when (on the lease's clock) some listening connection has not
    /// been confirmed; 0: none.
    unconfirmed_since_ms: AtomicU64,
    /// Whether that has been logged.
    said_unconfirmed: AtomicBool,
    /// Whether who listens has been looked at since the listening connection
    /// was made.
    looked: AtomicBool,
    book: Mutex<Book>,
    /// For each change still waiting, the pids that have heard it.
    heard: Mutex<HashMap<u64, Vec<i32>>>,
    arrived: Notify,
}

/// Who the process has heard from, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerCount {
    /// Other processes confirmed speaking version 1 (releases up to 0.1.0).
    pub v1: usize,
    /// Other processes confirmed speaking this release's version.
    pub v2: usize,
    /// Listening connections not confirmed: while there is one, this process
    /// reads the database for every verification.
    pub unconfirmed: usize,
    /// Whether a notification it could not read has lately stopped it serving
    /// from memory.
    pub doubting: bool,
}

impl Peers {
    pub(crate) fn new() -> Self {
        Self {
            instance: rand::random::<u64>() >> 1,
            next_seq: AtomicU64::new(1),
            own_pid: AtomicI32::new(0),
            heard_at_ms: AtomicU64::new(0),
            doubt_until_ms: AtomicU64::new(0),
            unconfirmed: AtomicUsize::new(0),
            unconfirmed_since_ms: AtomicU64::new(0),
            said_unconfirmed: AtomicBool::new(false),
            looked: AtomicBool::new(false),
            book: Mutex::new(Book::default()),
            heard: Mutex::new(HashMap::new()),
            arrived: Notify::new(),
        }
    }

    /// Inside a transaction that changes something: queues the notification
    /// PostgreSQL will deliver at commit, in this version and in version 1.
    /// Returns its sequence number, to pass to [`Peers::wait_until_heard`]
    /// after the commit or to [`Peers::forget`] if there is none.
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
        // This version's first: a process that speaks both hears it first and
        // leaves the copy unanswered.
        let sent = txn
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2), pg_notify($3, $4)",
                [
                    CHANNEL.into(),
                    message.payload(Version::V2).into(),
                    V1_CHANNEL.into(),
                    message.payload(Version::V1).into(),
                ],
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

    /// Who this process has heard from, at `now_ms`.
    pub(crate) fn count(&self, now_ms: u64) -> PeerCount {
        let book = self.lock_book();
        let v1 = book.speaks.values().filter(|v| **v == Version::V1).count();
        PeerCount {
            v1,
            v2: book.speaks.len() - v1,
            unconfirmed: book.unconfirmed.len(),
            doubting: now_ms < self.doubt_until_ms.load(Ordering::SeqCst),
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
                LISTENERS,
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

    fn lock_book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether this process may serve from memory, as far as the others go: it
    /// has confirmed every listening connection and lately read every
    /// notification.
    fn trusts(&self, now_ms: u64) -> bool {
        self.looked.load(Ordering::SeqCst)
            && self.unconfirmed.load(Ordering::SeqCst) == 0
            && now_ms >= self.doubt_until_ms.load(Ordering::SeqCst)
    }

    /// Its own heartbeat, sent at `sent_ms`, came back.
    fn renew(&self, lease: &Lease, sent_ms: u64) {
        if !self.trusts(lease.now_ms()) {
            return;
        }
        lease.renew(sent_ms);
        // A peer found unconfirmed meanwhile ended the lease before we
        // renewed it, or sees the renewal undone here.
        if !self.trusts(lease.now_ms()) {
            lease.end();
        }
    }

    /// A notification it cannot read: whoever sent it may have changed what
    /// the cache holds, in words this process does not know.
    fn doubt(&self, coherence: &Listening, channel: &str, payload: &str) {
        let now = coherence.lease.now_ms();
        let until = now.saturating_add(u64::try_from(DOUBT.as_millis()).unwrap_or(u64::MAX));
        let was = self.doubt_until_ms.swap(until, Ordering::SeqCst);
        coherence.lease.end();
        coherence.board.forget_all();
        let shown: String = payload.chars().take(80).collect();
        if was <= now {
            tracing::warn!(
                channel,
                payload = shown,
                "heard a notification this release cannot read (a newer release's?); \
                 reading the database for every verification until none has come for a second"
            );
        } else {
            tracing::debug!(channel, payload = shown, "another unreadable notification");
        }
    }

    /// The listening connection `pid` has been heard speaking `version`.
    fn confirm(&self, coherence: &Listening, pid: i32, version: Version) {
        if pid == 0 {
            return;
        }
        let mut book = self.lock_book();
        let known = book.speaks.entry(pid).or_insert(version);
        *known = (*known).max(version);
        if let Some(at) = book.unconfirmed.iter().position(|p| *p == pid) {
            book.unconfirmed.swap_remove(at);
            self.settle(coherence, &book);
        }
    }

    /// After `book.unconfirmed` changed: publishes its length, ending the lease
    /// when it stops being empty, and making everything remembered stale when it
    /// becomes empty again (an unconfirmed process's changes may not have been
    /// heard).
    fn settle(&self, coherence: &Listening, book: &Book) {
        let now = book.unconfirmed.len();
        let was = self.unconfirmed.swap(now, Ordering::SeqCst);
        if was == 0 && now > 0 {
            coherence.lease.end();
            self.unconfirmed_since_ms
                .store(coherence.lease.now_ms(), Ordering::SeqCst);
        } else if was > 0 && now == 0 {
            coherence.board.forget_all();
            self.unconfirmed_since_ms.store(0, Ordering::SeqCst);
        }
    }

    /// Looks at who is listening now (see [`Peers::confirm`]); when any
    /// connection is not confirmed, asks it with a version 1 probe, which
    /// every release answers.
    async fn observe(
        &self,
        coherence: &Listening,
        pool: &PgPool,
    ) -> Result<(), sea_orm::sqlx::Error> {
        let own = self.own_pid.load(Ordering::Acquire);
        if own == 0 {
            // Not listening: no lease to keep, no answer to hear.
            return Ok(());
        }
        let listening: Vec<(i32,)> = sea_orm::sqlx::query_as(LISTENERS)
            .bind(LISTENER_NAME)
            .bind(own)
            .fetch_all(pool)
            .await?;
        let probe = {
            let mut book = self.lock_book();
            book.speaks
                .retain(|pid, _| listening.iter().any(|(p,)| p == pid));
            let unconfirmed = listening
                .iter()
                .map(|(pid,)| *pid)
                .filter(|pid| !book.speaks.contains_key(pid))
                .collect();
            book.unconfirmed = unconfirmed;
            self.settle(coherence, &book);
            !book.unconfirmed.is_empty()
        };
        self.looked.store(true, Ordering::SeqCst);
        let since = self.unconfirmed_since_ms.load(Ordering::SeqCst);
        let long = u64::try_from(HEARD_TIMEOUT.as_millis()).unwrap_or(u64::MAX);
        // A new process is confirmed within a heartbeat; one that is not by
        // now is said once.
        if since != 0
            && coherence.lease.now_ms().saturating_sub(since) > long
            && !self.said_unconfirmed.swap(true, Ordering::SeqCst)
        {
            tracing::warn!(
                unconfirmed = ?self.lock_book().unconfirmed,
                "a listening connection has not said which protocol it speaks; \
                 reading the database for every verification until it does or goes"
            );
        } else if since == 0 {
            self.said_unconfirmed.store(false, Ordering::SeqCst);
        }
        if probe {
            let message = Message::Changed {
                instance: self.instance,
                seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
                changed: Changed::Scopes(Vec::new()),
            };
            sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                .bind(V1_CHANNEL)
                .bind(message.payload(Version::V1))
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Acts on one notification heard on `channel`; the answer, if any, goes
    /// out on `listener`.
    async fn hear(
        &self,
        listener: &mut PgListener,
        coherence: &Listening,
        channel: &str,
        payload: &str,
    ) -> Result<(), sea_orm::sqlx::Error> {
        let Some((version, message)) = Message::parse(channel, payload) else {
            self.doubt(coherence, channel, payload);
            return Ok(());
        };
        match message {
            Message::Beat {
                instance, sent_ms, ..
            } if instance == self.instance => {
                if version == Version::V2 {
                    self.renew(&coherence.lease, sent_ms);
                }
            }
            Message::Beat { instance, pid, .. } => {
                if version == Version::V2 {
                    self.lock_book().current.insert(instance);
                    self.confirm(coherence, pid, version);
                }
            }
            Message::Changed {
                instance,
                seq,
                changed,
            } if instance != self.instance => {
                {
                    let mut book = self.lock_book();
                    match version {
                        // The same change, heard in this version already.
                        Version::V1 if book.current.contains(&instance) => return Ok(()),
                        Version::V1 => {}
                        Version::V2 => {
                            if book.current.len() >= MAX_KNOWN_INSTANCES {
                                book.current.clear();
                            }
                            book.current.insert(instance);
                        }
                    }
                }
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
                    .bind(version.channel())
                    .bind(answer.payload(version))
                    .execute(&mut *listener)
                    .await?;
            }
            Message::Heard { instance, seq, pid } if instance == self.instance => {
                if let Some(heard) = self.lock_heard().get_mut(&seq) {
                    heard.push(pid);
                }
                self.confirm(coherence, pid, version);
                self.arrived.notify_waiters();
            }
            // Our own change, or another process's answer.
            Message::Changed { .. } | Message::Heard { .. } => {}
        }
        Ok(())
    }
}

/// The other processes' listening connections: `$1` the name, `$2` our own pid.
const LISTENERS: &str = "SELECT pid FROM pg_stat_activity \
     WHERE datname = current_database() AND application_name = $1 AND pid <> $2";

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
    listener.listen_all([CHANNEL, V1_CHANNEL]).await?;
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
                peers.looked.store(false, Ordering::SeqCst);
                coherence.board.forget_all();
                peers.own_pid.store(pid, Ordering::Release);
                tracing::debug!(pid, "listening for credential changes");
                // Said at once, so that the others confirm this connection
                // before they next look at who listens.
                let hello = Message::Beat {
                    instance: peers.instance,
                    sent_ms: coherence.lease.now_ms(),
                    pid,
                };
                let mut lost = sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(hello.payload(Version::V2))
                    .execute(&mut listener)
                    .await
                    .err()
                    .map(|e| e.to_string());
                while lost.is_none() {
                    lost = match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            peers
                                .heard_at_ms
                                .store(coherence.lease.now_ms(), Ordering::Relaxed);
                            let channel = notification.channel().to_owned();
                            peers
                                .hear(&mut listener, &coherence, &channel, notification.payload())
                                .await
                                .err()
                                .map(|e| e.to_string())
                        }
                        Ok(None) => Some("the connection closed".to_owned()),
                        Err(e) => Some(e.to_string()),
                    };
                }
                if let Some(e) = lost {
                    tracing::warn!(error = %e, "lost the notification connection; not caching until it is back");
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

/// Every [`HEARTBEAT`], for as long as the process runs, on a connection of
/// its own: looks at who is listening, then sends this process a heartbeat
/// (see the module's documentation).
pub(crate) async fn beat(peers: Arc<Peers>, coherence: Listening, pool: PgPool) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        let observed = peers.observe(&coherence, &pool).await;
        let message = Message::Beat {
            instance: peers.instance,
            sent_ms: coherence.lease.now_ms(),
            pid: peers.own_pid.load(Ordering::Acquire),
        };
        let sent = match observed {
            Ok(()) => sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(message.payload(Version::V2))
                .execute(&pool)
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) if failing => {
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
    use crate::base::ids::{KeyId, UserId};

    fn every_message() -> Vec<Message> {
        vec![
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
            Message::Heard {
                instance: u64::MAX >> 1,
                seq: 42,
                pid: 31337,
            },
        ]
    }

    #[test]
    fn messages_read_back_as_written_in_either_version() {
        for version in [Version::V1, Version::V2] {
            for message in every_message() {
                let payload = message.payload(version);
                assert_eq!(
                    Message::parse(version.channel(), &payload),
                    Some((version, message)),
                    "{payload}"
                );
            }
        }
        let beat = Message::Beat {
            instance: 9,
            sent_ms: 123_456,
            pid: 77,
        };
        assert_eq!(beat.payload(Version::V2), "2 beat 9 123456 77");
        assert_eq!(
            Message::parse(CHANNEL, &beat.payload(Version::V2)),
            Some((Version::V2, beat))
        );
        // Version 1's heartbeat names no pid.
        assert_eq!(
            Message::parse(V1_CHANNEL, "beat 9 123456"),
            Some((
                Version::V1,
                Message::Beat {
                    instance: 9,
                    sent_ms: 123_456,
                    pid: 0
                }
            ))
        );
    }

    /// What releases up to 0.1.0 write and read, pinned: they must keep
    /// understanding what this release sends them.
    #[test]
    fn version_1_is_written_as_releases_up_to_0_1_0_wrote_it() {
        let changed = Message::Changed {
            instance: 5,
            seq: 6,
            changed: Changed::Scopes(vec![Scope::Key(KeyId(3)), Scope::User(UserId(4))]),
        };
        assert_eq!(changed.payload(Version::V1), "changed 5 6 k3,u4");
        assert_eq!(changed.payload(Version::V2), "2 changed 5 6 k3,u4");
        let heard = Message::Heard {
            instance: 5,
            seq: 6,
            pid: 8,
        };
        assert_eq!(heard.payload(Version::V1), "heard 5 6 8");
        let probe = Message::Changed {
            instance: 5,
            seq: 7,
            changed: Changed::Scopes(Vec::new()),
        };
        assert_eq!(probe.payload(Version::V1), "changed 5 7 ");
        assert_eq!(V1_CHANNEL, "keywarden_credentials");
    }

    #[test]
    fn what_is_not_understood_is_not_read() {
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
            assert_eq!(Message::parse(V1_CHANNEL, payload), None, "{payload:?}");
            let versioned = format!("2 {payload}");
            // Version 2's heartbeat has the pid that version 1's lacks.
            if payload != "beat 1 2 3" {
                assert_eq!(Message::parse(CHANNEL, &versioned), None, "{versioned:?}");
            }
        }
        for payload in [
            // Unversioned on the versioned channel, a later version, no version.
            "changed 1 2 k1",
            "3 changed 1 2 k1",
            "3 beat 1 2 3",
            "1 heard 1 2 3",
            "02 beat 1 2 3",
            "2 beat 1 2",
            "2",
        ] {
            assert_eq!(Message::parse(CHANNEL, payload), None, "{payload:?}");
        }
        // On a channel of nobody's.
        assert_eq!(Message::parse("elsewhere", "changed 1 2 k1"), None);
        assert_eq!(Message::parse("elsewhere", "2 changed 1 2 k1"), None);
    }

    #[test]
    fn a_change_naming_too_many_scopes_says_everything() {
        let message = Message::Changed {
            instance: 1,
            seq: 1,
            changed: Changed::Scopes((0..5_000).map(|i| Scope::Key(KeyId(i))).collect()),
        };
        for version in [Version::V1, Version::V2] {
            let payload = message.payload(version);
            assert!(payload.len() < 8_000);
            assert_eq!(
                Message::parse(version.channel(), &payload),
                Some((
                    version,
                    Message::Changed {
                        instance: 1,
                        seq: 1,
                        changed: Changed::Everything
                    }
                ))
            );
        }
    }

    fn looked_at(peers: &Peers) -> Listening {
        peers.looked.store(true, Ordering::SeqCst);
        Listening {
            board: Arc::new(Board::local()),
            lease: Arc::new(Lease::new()),
        }
    }

    #[test]
    fn the_lease_is_renewed_only_once_who_listens_has_been_looked_at() {
        let peers = Peers::new();
        let listening = looked_at(&peers);
        peers.looked.store(false, Ordering::SeqCst);
        peers.renew(&listening.lease, listening.lease.now_ms());
        assert!(!listening.lease.holds());
        peers.looked.store(true, Ordering::SeqCst);
        peers.renew(&listening.lease, listening.lease.now_ms());
        assert!(listening.lease.holds());
    }

    #[test]
    fn an_unreadable_notification_ends_the_lease_and_forgets_everything_for_a_while() {
        let peers = Peers::new();
        let listening = looked_at(&peers);
        let lease = &listening.lease;
        peers.renew(lease, lease.now_ms());
        assert!(lease.holds());
        let before = listening.board.stamp();
        peers.doubt(&listening, CHANNEL, "3 changed 1 2 k1");
        assert!(!lease.holds());
        assert!(!listening.board.unchanged(&[], before));
        assert!(peers.count(lease.now_ms()).doubting);
        // Its own heartbeats come back, but it still doubts.
        peers.renew(lease, lease.now_ms());
        assert!(!lease.holds());
        // A second of quiet later (moved here rather than waited for), it
        // serves again.
        peers.doubt_until_ms.store(lease.now_ms(), Ordering::SeqCst);
        assert!(!peers.count(lease.now_ms()).doubting);
        peers.renew(lease, lease.now_ms());
        assert!(lease.holds());
    }

    #[test]
    fn a_listener_not_confirmed_ends_the_lease_until_it_is() {
        let peers = Peers::new();
        let listening = looked_at(&peers);
        let lease = &listening.lease;
        peers.renew(lease, lease.now_ms());
        assert!(lease.holds());
        {
            let mut book = peers.lock_book();
            book.unconfirmed = vec![41, 42];
            peers.settle(&listening, &book);
        }
        assert!(!lease.holds());
        assert_eq!(peers.count(lease.now_ms()).unconfirmed, 2);
        peers.renew(lease, lease.now_ms());
        assert!(!lease.holds());
        // A pid of 0 (a process not listening) confirms nothing.
        peers.confirm(&listening, 0, Version::V2);
        peers.confirm(&listening, 41, Version::V1);
        peers.renew(lease, lease.now_ms());
        assert!(!lease.holds());
        let before = listening.board.stamp();
        peers.confirm(&listening, 42, Version::V2);
        // What it read while 42 was unknown may miss 42's changes.
        assert!(!listening.board.unchanged(&[], before));
        peers.renew(lease, lease.now_ms());
        assert!(lease.holds());
        let count = peers.count(lease.now_ms());
        assert_eq!((count.v1, count.v2, count.unconfirmed), (1, 1, 0));
        // Heard later in version 2, 41 counts as speaking it.
        peers.confirm(&listening, 41, Version::V2);
        peers.confirm(&listening, 41, Version::V1);
        let count = peers.count(lease.now_ms());
        assert_eq!((count.v1, count.v2), (0, 2));
    }

    #[test]
    fn only_a_change_in_whether_anyone_is_unconfirmed_moves_the_lease_or_the_board() {
        let peers = Peers::new();
        let listening = looked_at(&peers);
        let lease = &listening.lease;
        let board = &listening.board;
        peers.renew(lease, lease.now_ms());
        // Looked again, nobody unconfirmed still: nothing ends, nothing is forgotten.
        let before = board.stamp();
        peers.settle(&listening, &peers.lock_book());
        assert!(lease.holds());
        assert!(board.unchanged(&[], before));
        assert_eq!(peers.unconfirmed_since_ms.load(Ordering::SeqCst), 0);
        {
            let mut book = peers.lock_book();
            book.unconfirmed = vec![41, 42];
            peers.settle(&listening, &book);
        }
        let since = peers.unconfirmed_since_ms.load(Ordering::SeqCst);
        assert_ne!(since, 0);
        // One of two confirmed: still not serving, nothing forgotten yet, and
        // the other is the one still waited for.
        let before = board.stamp();
        peers.confirm(&listening, 41, Version::V2);
        assert_eq!(peers.lock_book().unconfirmed, vec![42]);
        assert!(board.unchanged(&[], before));
        assert_eq!(peers.unconfirmed_since_ms.load(Ordering::SeqCst), since);
        peers.renew(lease, lease.now_ms());
        assert!(!lease.holds());
        peers.confirm(&listening, 42, Version::V2);
        assert!(peers.lock_book().unconfirmed.is_empty());
        assert!(!board.unchanged(&[], before));
        assert_eq!(peers.unconfirmed_since_ms.load(Ordering::SeqCst), 0);
    }
}
