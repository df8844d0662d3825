//! The machinery that lets verification skip the database without ever
//! serving what a change has made untrue: the cache, the board of changed
//! scopes, the notifications between processes on PostgreSQL, the shared file
//! between processes on one SQLite database, and the batching of `lastUsedAt`.
//!
//! The rules know this module by three doors: [`Coherence::commit`], which a
//! change goes through (see [`crate::warden::write`]); the [`Cache`], which
//! verification reads through; and [`UsageTracker`].

mod board;
mod cache;
mod known;
mod peers;
mod usage;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, DbErr};

pub use board::Scope;
pub(crate) use cache::{Cache, Conclusion, Entry, Read};
pub use usage::{Client, Credential, MAX_AGENT_CHARS, UsageTracker};

use board::Board;
use cache::Lease;
use known::Known;
pub use peers::PeerCount;
use peers::{Listening, Peers};

/// How long opening waits for PostgreSQL's notification connection before it
/// goes on without the cache (it comes on once the connection does).
const LISTEN_WAIT: Duration = Duration::from_secs(5);

/// How many project lookups a process keeps at most.
const MAX_PROJECT_LOOKUPS: u64 = 10_000;

/// A project found by id or name: its id, and its global id as the gateway's
/// answer shows it, made once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub id: crate::base::ids::ProjectId,
    pub global_id: Arc<str>,
}

impl Located {
    pub(crate) fn new(id: crate::base::ids::ProjectId) -> Self {
        Self {
            id,
            global_id: crate::base::object_id::encode("Project", id.0).into(),
        }
    }
}

/// What looking a project up by id or name found: the project, or nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lookup(pub Option<Located>);

impl Conclusion for Lookup {
    fn accepted(&self) -> bool {
        self.0.is_some()
    }

    fn last_used_at(&self) -> Option<i64> {
        None
    }
}

/// One process's part in keeping verification coherent.
#[derive(Debug)]
pub(crate) struct Coherence<T> {
    pub cache: Cache<T>,
    /// Projects as gateways name them, by id or name, in each account.
    pub projects: Cache<Lookup>,
    /// Which digests are stored, to refuse most unknown tokens unread.
    pub known: Arc<Known>,
    board: Arc<Board>,
    peers: Option<Arc<Peers>>,
    lease: Option<Arc<Lease>>,
}

/// What a process can tell about its verification cache and, on PostgreSQL,
/// its notification listener, for metrics. Counters count from the start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Database reads made to verify a credential.
    pub verification_reads: u64,
    /// The statements those reads ran (filled in by the handle, which owns
    /// the verification pool).
    pub verification_statements: u64,
    /// Verifications answered from memory.
    pub cache_hits: u64,
    /// Verifications memory could not answer (while caching is on).
    pub cache_misses: u64,
    /// Scopes marked changed by this process's own changes and those it heard
    /// of; each time it forgot everything counts one.
    pub cache_invalidations: u64,
    /// Well-formed tokens refused as unknown with no database read, by the
    /// filter of stored digests.
    pub unknown_unread: u64,
    /// Times that filter was built.
    pub filter_builds: u64,
    /// On PostgreSQL: the notification listener.
    pub listener: Option<ListenerStats>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// Whether its connection is listening now.
    pub up: bool,
    /// How long since it last heard a notification; `None`: never.
    pub last_heard: Option<Duration>,
    /// The other processes it has heard from, by the protocol they speak.
    pub peers: PeerCount,
    /// Whether it may serve verifications from memory now (it holds its
    /// lease).
    pub serving: bool,
}

impl<T: Conclusion + Send + Sync + 'static> Coherence<T> {
    /// For a migrated database: on PostgreSQL, starts listening for the other
    /// processes' changes and sending heartbeats; on a SQLite file, maps the
    /// change file beside it. Either way, a change committed through any
    /// process is seen by every process on its next request.
    pub(crate) async fn open(db: &DatabaseConnection, capacity: u64) -> Result<Self, DbErr> {
        match db.get_database_backend() {
            DbBackend::Postgres => {
                let board = Arc::new(Board::local());
                let lease = Arc::new(Lease::new());
                let peers = Arc::new(Peers::new());
                let listening = Listening {
                    board: board.clone(),
                    lease: lease.clone(),
                };
                tokio::spawn(peers::listen(
                    peers.clone(),
                    listening.clone(),
                    peers::own_connection(db),
                ));
                tokio::spawn(peers::beat(
                    peers.clone(),
                    listening,
                    peers::own_connection(db),
                ));
                let waited = tokio::time::Instant::now();
                while !lease.holds() && waited.elapsed() < LISTEN_WAIT {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let known = Known::new(board.clone(), Some(lease.clone()));
                Ok(Self {
                    known: known::kept(known, db, capacity),
                    cache: Cache::new(capacity, board.clone(), Some(lease.clone())),
                    projects: Cache::new(
                        capacity.min(MAX_PROJECT_LOOKUPS),
                        board.clone(),
                        Some(lease.clone()),
                    ),
                    board,
                    peers: Some(peers),
                    lease: Some(lease),
                })
            }
            DbBackend::Sqlite => {
                let options = db.get_sqlite_connection_pool().connect_options();
                let path = options.get_filename();
                let board = if path.is_file() {
                    Board::shared(path).map_err(|e| {
                        DbErr::Custom(format!(
                            "opening the change file beside {}: {e}",
                            path.display()
                        ))
                    })?
                } else {
                    // In memory: no other process can open it.
                    Board::local()
                };
                let board = Arc::new(board);
                Ok(Self {
                    known: known::kept(Known::new(board.clone(), None), db, capacity),
                    cache: Cache::new(capacity, board.clone(), None),
                    projects: Cache::new(capacity.min(MAX_PROJECT_LOOKUPS), board.clone(), None),
                    board,
                    peers: None,
                    lease: None,
                })
            }
            other => Err(DbErr::Custom(format!(
                "{other:?} is not supported: use SQLite or PostgreSQL"
            ))),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let (cache_hits, cache_misses) = self.cache.hits_and_misses();
        let listener = match (&self.peers, &self.lease) {
            (Some(peers), Some(lease)) => {
                let now = lease.now_ms();
                let (up, last_heard) = peers.listening(now);
                Some(ListenerStats {
                    up,
                    last_heard,
                    peers: peers.count(now),
                    serving: lease.holds(),
                })
            }
            _ => None,
        };
        let (unknown_unread, filter_builds) = self.known.counts();
        Stats {
            verification_reads: self.cache.reads(),
            verification_statements: 0,
            cache_hits,
            cache_misses,
            cache_invalidations: self.board.invalidations(),
            unknown_unread,
            filter_builds,
            listener,
        }
    }

    /// Commits `txn` and returns once every process will see the change on
    /// its next lookup: `scopes` are marked here, and every other process has
    /// heard of them (see [`peers`]) or has lost its lease.
    pub(crate) async fn commit(
        &self,
        db: &DatabaseConnection,
        txn: DatabaseTransaction,
        scopes: &[Scope],
    ) -> Result<(), DbErr> {
        if scopes.is_empty() {
            // Nothing any verification depends on.
            return txn.commit().await;
        }
        let announced = match &self.peers {
            Some(peers) => Some(peers.announce(&txn, scopes).await?),
            None => None,
        };
        let committed = txn.commit().await;
        // Even after an error: a commit whose answer was lost may have happened.
        self.board.mark(scopes.iter().copied());
        if let (Some(peers), Some(seq)) = (&self.peers, announced) {
            match committed {
                Ok(()) => peers.wait_until_heard(db, seq).await,
                Err(_) => peers.forget(seq),
            }
        }
        committed
    }
}
