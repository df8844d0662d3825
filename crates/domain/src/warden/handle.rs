//! The handle every transport holds: the database, the peppers, the usage
//! tracker and the coherence machinery. Its methods are the domain operations,
//! spread over the modules that own each concept.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{DatabaseConnection, DbErr};

use crate::coherence::{Coherence, Stats, UsageTracker};
use crate::db::{Direct, PgDirect, Reads, VERIFICATION_CONNECTIONS, WriteQueue, verification_pool};
use crate::warden::keyring::Keyring;
use crate::warden::quota::HolderQuota;
use crate::warden::verdict::Verdict;

/// How many verified credentials a process keeps by default.
pub const DEFAULT_CACHE_CAPACITY: u64 = 100_000;

#[derive(Clone, Debug)]
pub struct Keywarden {
    pub(crate) db: DatabaseConnection,
    /// The verification pool (see [`crate::db::verification_pool`]).
    pub(crate) reads: DatabaseConnection,
    /// Statements run on it.
    statements: Arc<AtomicU64>,
    /// On a SQLite file: reads on the request's own thread, tried first.
    pub(crate) direct: Option<Arc<Direct>>,
    /// On PostgreSQL, verification's connections of its own.
    pub(crate) pg: Option<Arc<PgDirect>>,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) usage: Arc<UsageTracker>,
    pub(crate) coherence: Arc<Coherence<Verdict>>,
    /// The process's writers, in turn (SQLite).
    pub(crate) writes: WriteQueue,
    /// Holders' reports of leaked credentials, per client address.
    pub(crate) holder_reports: Arc<HolderQuota>,
}

impl Keywarden {
    /// Wraps a migrated database. `cache_capacity` is how many verified
    /// credentials to keep (0: none, every request reads the database).
    ///
    /// On PostgreSQL this starts listening for other processes' changes; on a
    /// SQLite file it maps the change file beside it. Either way, a change
    /// committed through any process is seen by every process on its next
    /// request.
    pub async fn open(
        db: DatabaseConnection,
        keyring: Keyring,
        cache_capacity: u64,
    ) -> Result<Self, DbErr> {
        Self::open_with(db, keyring, cache_capacity, VERIFICATION_CONNECTIONS).await
    }

    /// [`Keywarden::open`], with `verification_connections` in the pool that
    /// verification reads on.
    pub async fn open_with(
        db: DatabaseConnection,
        keyring: Keyring,
        cache_capacity: u64,
        verification_connections: u32,
    ) -> Result<Self, DbErr> {
        let coherence = Coherence::open(&db, cache_capacity).await?;
        let mut reads = verification_pool(&db, verification_connections).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counted = statements.clone();
        reads.set_metric_callback(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        Ok(Self {
            direct: Direct::for_db(&db, statements.clone()).map(Arc::new),
            pg: PgDirect::for_db(&db, verification_connections, statements.clone()).map(Arc::new),
            reads,
            statements,
            keyring: Arc::new(keyring),
            usage: Arc::new(UsageTracker::default()),
            coherence: Arc::new(coherence),
            writes: WriteQueue::for_db(&db),
            holder_reports: Arc::new(HolderQuota::default()),
            db,
        })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Where verification reads.
    pub(crate) fn verification_reads_from(&self) -> Reads<'_> {
        Reads {
            pool: &self.reads,
            direct: self.direct.as_deref(),
            pg: self.pg.as_deref(),
        }
    }

    /// The pool verification reads on.
    pub fn verification_db(&self) -> &DatabaseConnection {
        &self.reads
    }

    /// Writes the `lastUsedAt` times noted since the last flush; returns how many
    /// rows it changed.
    pub async fn flush_usage(&self) -> Result<u64, DbErr> {
        self.usage.flush(&self.db, &self.writes).await
    }

    /// How many times this process has read the database to verify a
    /// credential (the rest were answered from memory).
    pub fn verification_reads(&self) -> u64 {
        self.coherence.cache.reads()
    }

    /// On PostgreSQL, verification's connections of its own
    /// ([`crate::db::PgDirect`]): reading now, and idle.
    pub fn verification_connections(&self) -> Option<(usize, usize)> {
        self.pg.as_deref().map(PgDirect::connections)
    }

    /// How many statements verification's reads have run (one or two a
    /// read: see [`crate::credentials::lookup`]).
    pub fn verification_statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// The verification cache's and the notification listener's counts.
    pub fn stats(&self) -> Stats {
        Stats {
            verification_statements: self.verification_statements(),
            ..self.coherence.stats()
        }
    }
}
