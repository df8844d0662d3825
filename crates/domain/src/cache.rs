//! Credentials verified recently, so that a key seen before costs one digest and
//! one map lookup instead of a database read.
//!
//! Entries are never hunted down and removed one by one. Each entry carries the
//! *generation* that was current before its rows were read, and it is served only
//! while that generation is still current. Every committed change moves the
//! generation on, so one step makes every entry read before the change worthless,
//! including one whose read raced the commit. There are two counters:
//!
//! - `local`, moved by this process's own commits and, on PostgreSQL, by the
//!   notifications of other processes (see [`crate::peers`]);
//! - `shared`, a number in a small file beside a SQLite database, rewritten by
//!   every process that commits a change to that database and read on every
//!   lookup, so several processes on one SQLite file see each other's changes
//!   on their next request.
//!
//! While the cache cannot know whether it is current (PostgreSQL's notification
//! connection is down, the generation file cannot be read), it is bypassed and
//! every request reads the database.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;

use crate::principal::Principal;
use crate::usage::Credential;

/// How long an entry is kept at most, whatever happens. Correctness does not
/// depend on it; it only bounds how long an idle credential's entry takes memory.
const TIME_TO_LIVE: Duration = Duration::from_secs(60);

/// The generations current when an entry's rows were read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    local: u64,
    shared: u64,
}

/// What a successful verification found, enough to answer the next one.
#[derive(Clone, Debug)]
pub(crate) struct Verified {
    pub principal: Principal,
    pub credential: Credential,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

#[derive(Debug)]
struct Entry {
    stamp: Stamp,
    verified: Verified,
}

/// The verified-credential cache of one process, keyed by the token's digest
/// under the current pepper.
pub(crate) struct VerifiedCache {
    entries: Option<Cache<[u8; 32], Arc<Entry>>>,
    local: AtomicU64,
    live: AtomicBool,
    shared: Option<SharedGeneration>,
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("capacity", &self.entries.as_ref().map(|_| "bounded"))
            .field("local", &self.local)
            .field("live", &self.live)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl VerifiedCache {
    /// A cache of up to `capacity` credentials (0 turns it off). `live` says
    /// whether it may be used from the start; `shared` is the generation file of
    /// a SQLite database other processes may open.
    pub(crate) fn new(capacity: u64, live: bool, shared: Option<SharedGeneration>) -> Self {
        let entries = (capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(TIME_TO_LIVE)
                .build()
        });
        Self {
            entries,
            local: AtomicU64::new(0),
            live: AtomicBool::new(live),
            shared,
        }
    }

    /// The generations now, or `None` when the cache must not be used.
    pub(crate) fn stamp(&self) -> Option<Stamp> {
        if self.entries.is_none() || !self.live.load(Ordering::Acquire) {
            return None;
        }
        let shared = match &self.shared {
            Some(file) => match file.read() {
                Ok(value) => value,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the generation file; not caching");
                    return None;
                }
            },
            None => 0,
        };
        Some(Stamp {
            local: self.local.load(Ordering::Acquire),
            shared,
        })
    }

    /// The entry for `digest`, if it was read in the current generation.
    pub(crate) fn get(&self, digest: &[u8; 32]) -> Option<Verified> {
        let entries = self.entries.as_ref()?;
        let entry = entries.get(digest)?;
        (Some(entry.stamp) == self.stamp()).then(|| entry.verified.clone())
    }

    /// Keeps what was read under `stamp` (taken before the read).
    pub(crate) fn insert(&self, digest: [u8; 32], stamp: Stamp, verified: Verified) {
        if let Some(entries) = &self.entries {
            entries.insert(digest, Arc::new(Entry { stamp, verified }));
        }
    }

    /// Forgets every entry of this process, as after a change or a missed
    /// notification.
    pub(crate) fn forget_local(&self) {
        self.local.fetch_add(1, Ordering::AcqRel);
    }

    /// After a committed change: forgets every entry here and, on SQLite, tells
    /// the other processes through the generation file.
    pub(crate) fn changed(&self) {
        self.forget_local();
        if let Some(file) = &self.shared
            && let Err(e) = file.bump()
        {
            // The change is committed; only the other processes' caches cannot
            // be told. Say so loudly.
            tracing::error!(error = %e, "cannot write the generation file; other processes may serve a stale credential");
        }
    }

    /// Whether entries may be served; while not, every lookup reads the database.
    pub(crate) fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
        self.forget_local();
    }

    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }
}

/// An eight-byte file beside a SQLite database whose content changes with every
/// committed change to the database, whichever process made it.
#[derive(Debug)]
pub(crate) struct SharedGeneration {
    file: File,
}

impl SharedGeneration {
    /// Opens (or creates) the generation file of the database at `database`.
    pub(crate) fn open(database: &Path) -> io::Result<Self> {
        let mut path = database.as_os_str().to_owned();
        path.push(".generation");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        Ok(Self { file })
    }

    fn read(&self) -> io::Result<u64> {
        let mut bytes = [0u8; 8];
        let mut filled = 0;
        while filled < bytes.len() {
            match self.file.read_at(&mut bytes[filled..], filled as u64)? {
                0 => break,
                n => filled += n,
            }
        }
        Ok(u64::from_le_bytes(bytes))
    }

    /// Writes a new random value. A random value rather than a count, so two
    /// processes that change the database at once cannot both write the same
    /// number and leave a reader's entry looking current.
    fn bump(&self) -> io::Result<()> {
        let old = self.read()?;
        let mut new = rand::random::<u64>();
        while new == old {
            new = rand::random::<u64>();
        }
        self.file.write_all_at(&new.to_le_bytes(), 0)
    }
}
