//! The handle every transport holds: the database, the peppers, the usage
//! tracker and the coherence machinery. Its methods are the domain operations,
//! spread over the modules that own each concept.

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};

use crate::coherence::{Coherence, Stats, UsageTracker};
use crate::db::WriteQueue;
use crate::warden::keyring::Keyring;
use crate::warden::verdict::Verdict;

/// How many verified credentials a process keeps by default.
pub const DEFAULT_CACHE_CAPACITY: u64 = 100_000;

#[derive(Clone, Debug)]
pub struct Keywarden {
    pub(crate) db: DatabaseConnection,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) usage: Arc<UsageTracker>,
    pub(crate) coherence: Arc<Coherence<Verdict>>,
    /// The process's writers, in turn (SQLite).
    pub(crate) writes: WriteQueue,
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
        let coherence = Coherence::open(&db, cache_capacity).await?;
        Ok(Self {
            keyring: Arc::new(keyring),
            usage: Arc::new(UsageTracker::default()),
            coherence: Arc::new(coherence),
            writes: WriteQueue::for_db(&db),
            db,
        })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
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

    /// The verification cache's and the notification listener's counts.
    pub fn stats(&self) -> Stats {
        self.coherence.stats()
    }
}
