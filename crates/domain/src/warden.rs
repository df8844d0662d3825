//! The handle every transport holds: the database, the peppers, the usage
//! tracker and the verification cache. Its methods are the domain operations,
//! spread over the modules that own each concept.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, DbErr};

use crate::cache::{SharedGeneration, VerifiedCache};
use crate::peers::{self, Peers};
use crate::token::Keyring;
use crate::usage::UsageTracker;

/// How many verified credentials a process keeps by default.
pub const DEFAULT_CACHE_CAPACITY: u64 = 100_000;

/// How long [`Keywarden::open`] waits for PostgreSQL's notification connection
/// before it goes on without the cache (it comes on once the connection does).
const LISTEN_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Keywarden {
    pub(crate) db: DatabaseConnection,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) usage: Arc<UsageTracker>,
    pub(crate) cache: Arc<VerifiedCache>,
    peers: Option<Arc<Peers>>,
}

impl Keywarden {
    /// Wraps a migrated database. `cache_capacity` is how many verified
    /// credentials to keep (0: none, every request reads the database).
    ///
    /// On PostgreSQL this starts the task that listens for other processes'
    /// changes; on a SQLite file it opens the generation file beside it. Either
    /// way, a change committed through any process is seen by every process on
    /// its next request.
    pub async fn open(
        db: DatabaseConnection,
        keyring: Keyring,
        cache_capacity: u64,
    ) -> Result<Self, DbErr> {
        let (cache, peers) = match db.get_database_backend() {
            DbBackend::Postgres => {
                let cache = Arc::new(VerifiedCache::new(cache_capacity, false, None));
                let peers = Arc::new(Peers::new());
                tokio::spawn(peers::listen(
                    peers.clone(),
                    cache.clone(),
                    peers::listener_pool(&db),
                ));
                let waited = tokio::time::Instant::now();
                while !cache.is_live() && waited.elapsed() < LISTEN_WAIT {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                (cache, Some(peers))
            }
            DbBackend::Sqlite => {
                let options = db.get_sqlite_connection_pool().connect_options();
                let path = options.get_filename();
                let shared = if path.is_file() {
                    let shared = SharedGeneration::open(path).map_err(|e| {
                        DbErr::Custom(format!(
                            "opening the generation file beside {}: {e}",
                            path.display()
                        ))
                    })?;
                    Some(shared)
                } else {
                    // In memory: no other process can open it.
                    None
                };
                (
                    Arc::new(VerifiedCache::new(cache_capacity, true, shared)),
                    None,
                )
            }
            other => {
                return Err(DbErr::Custom(format!(
                    "{other:?} is not supported: use SQLite or PostgreSQL"
                )));
            }
        };
        Ok(Self {
            db,
            keyring: Arc::new(keyring),
            usage: Arc::new(UsageTracker::default()),
            cache,
            peers,
        })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Writes the `lastUsedAt` times noted since the last flush; returns how many
    /// rows it changed.
    pub async fn flush_usage(&self) -> Result<u64, DbErr> {
        self.usage.flush(&self.db).await
    }

    /// Commits a change and returns once every process will see it: this one's
    /// cache is behind it, and so is every other's (see [`crate::peers`]).
    pub(crate) async fn commit(&self, txn: DatabaseTransaction) -> Result<(), DbErr> {
        let announced = match &self.peers {
            Some(peers) => Some(peers.announce(&txn).await?),
            None => None,
        };
        let committed = txn.commit().await;
        // Even after an error: a commit whose answer was lost may have happened.
        self.cache.changed();
        if let Err(e) = committed {
            if let (Some(peers), Some(seq)) = (&self.peers, announced) {
                peers.forget(seq);
            }
            return Err(e);
        }
        if let (Some(peers), Some(seq)) = (&self.peers, announced) {
            peers.wait_until_heard(&self.db, seq).await;
        }
        Ok(())
    }
}
