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
//! - `shared`, a counter in a small file beside a SQLite database, mapped into
//!   every process that opens the database, moved on by each of them when it
//!   commits a change and read on every lookup, so several processes on one
//!   SQLite file see each other's changes on their next request.
//!
//! While the cache cannot know whether it is current (PostgreSQL's notification
//! connection is down), it is bypassed and every request reads the database.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use memmap2::MmapMut;
use quick_cache::sync::Cache;

use crate::principal::Principal;
use crate::usage::{Credential, MINUTE_MS};

/// How long an entry is served at most, in milliseconds. Changes made through
/// keywarden never wait for it (they move the generation on); it bounds how long
/// a change made behind keywarden's back, by hand in the database, can go unseen.
const TIME_TO_LIVE_MS: i64 = 60_000;

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
pub(crate) struct Entry {
    stamp: Stamp,
    /// When its rows were read (Unix milliseconds).
    read_at: i64,
    pub verified: Verified,
    /// The latest use known here: the stored `lastUsedAt`, or the read itself
    /// when that was a minute later (the read's use was passed on to be
    /// recorded), then the last use served from this entry that was.
    last_use: AtomicI64,
}

impl Entry {
    /// Whether a use at `now_ms` should be passed on to be recorded, that is
    /// whether none has been for a minute; claims the minute when it should.
    pub(crate) fn use_to_record(&self, now_ms: i64) -> bool {
        let last = self.last_use.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < MINUTE_MS {
            return false;
        }
        self.last_use.store(now_ms, Ordering::Relaxed);
        true
    }
}

/// The verified-credential cache of one process, keyed by the token's digest
/// under the current pepper. Lookups cost a hash of the digest and a shard's
/// read lock; when full, the least useful entries make room.
pub(crate) struct VerifiedCache {
    entries: Option<Cache<[u8; 32], Arc<Entry>>>,
    local: AtomicU64,
    live: AtomicBool,
    shared: Option<SharedGeneration>,
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("enabled", &self.entries.is_some())
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
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        let entries = (capacity > 0).then(|| Cache::new(capacity));
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
        let shared = self.shared.as_ref().map_or(0, SharedGeneration::read);
        Some(Stamp {
            local: self.local.load(Ordering::Acquire),
            shared,
        })
    }

    /// The entry for `digest`, if it was read in the current generation and
    /// less than a minute before `now_ms`.
    pub(crate) fn get(&self, digest: &[u8; 32], now_ms: i64) -> Option<Arc<Entry>> {
        let entries = self.entries.as_ref()?;
        let entry = entries.get(digest)?;
        // A clock that went back makes the age negative: read again.
        let age = now_ms.saturating_sub(entry.read_at);
        let fresh = (0..TIME_TO_LIVE_MS).contains(&age);
        (fresh && Some(entry.stamp) == self.stamp()).then_some(entry)
    }

    /// Keeps what was read at `read_at` under `stamp` (taken before the read),
    /// for a use at `read_at` that has been passed on to be recorded.
    pub(crate) fn insert(&self, digest: [u8; 32], stamp: Stamp, read_at: i64, verified: Verified) {
        if let Some(entries) = &self.entries {
            let last_use = match verified.last_used_at {
                Some(stored) if read_at.saturating_sub(stored) < MINUTE_MS => stored,
                _ => read_at,
            };
            let last_use = AtomicI64::new(last_use);
            entries.insert(
                digest,
                Arc::new(Entry {
                    stamp,
                    read_at,
                    verified,
                    last_use,
                }),
            );
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
        if let Some(file) = &self.shared {
            file.bump();
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

/// A counter in a small file beside a SQLite database, mapped into the memory
/// of every process that opens the database, and moved on by every committed
/// change, whichever process made it. Reading it is one atomic load: no system
/// call on the request path.
#[derive(Debug)]
pub(crate) struct SharedGeneration {
    map: MmapMut,
}

/// The file's length: one counter.
const GENERATION_LEN: u64 = 8;

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
        if file.metadata()?.len() < GENERATION_LEN {
            // Growing from zero writes zeros; two processes doing it at once agree.
            file.set_len(GENERATION_LEN)?;
        }
        // SAFETY: the file is keywarden's own and only ever grows to eight
        // bytes; the mapping lives in `self` and is read and written only as
        // one `AtomicU64` (see `counter`), the same in every process.
        #[allow(unsafe_code)]
        let map = unsafe { MmapMut::map_mut(&file)? };
        Ok(Self { map })
    }

    fn counter(&self) -> &AtomicU64 {
        let bytes = &self.map[..8];
        // SAFETY: the mapping starts on a page boundary, so it is aligned for
        // an `AtomicU64`, is at least eight bytes long, and lives as long as
        // `self`. Other processes change it concurrently, but only through
        // the same atomic operations, which work across processes on shared
        // memory.
        #[allow(unsafe_code)]
        unsafe {
            &*bytes.as_ptr().cast::<AtomicU64>()
        }
    }

    fn read(&self) -> u64 {
        self.counter().load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.counter().fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_opening_of_the_generation_file_sees_every_bump() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("k.db");
        let first = SharedGeneration::open(&database).unwrap();
        let second = SharedGeneration::open(&database).unwrap();
        assert_eq!((first.read(), second.read()), (0, 0));
        first.bump();
        assert_eq!(second.read(), 1);
        second.bump();
        second.bump();
        assert_eq!(first.read(), 3);
        let len = std::fs::metadata(dir.path().join("k.db.generation"))
            .unwrap()
            .len();
        assert_eq!(len, GENERATION_LEN);
    }

    #[test]
    fn a_change_in_another_process_makes_every_entry_stale() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("k.db");
        let here = VerifiedCache::new(10, true, Some(SharedGeneration::open(&database).unwrap()));
        let there = VerifiedCache::new(10, true, Some(SharedGeneration::open(&database).unwrap()));
        let before = here.stamp().unwrap();
        there.changed();
        assert_ne!(here.stamp(), Some(before));
        here.changed();
        let after = here.stamp().unwrap();
        assert_ne!(after, before);
        assert_eq!(there.stamp().unwrap().shared, after.shared);
    }

    fn verified() -> Verified {
        use crate::ids::{TokenId, UserId};
        use crate::principal::UserPrincipal;
        Verified {
            principal: Principal::User(UserPrincipal {
                user_id: UserId(1),
                username: "alice".to_owned(),
                memberships: Vec::new(),
                token_id: TokenId(1),
            }),
            credential: Credential::Token(TokenId(1)),
            expires_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn an_entry_read_before_a_change_is_never_served_after_it() {
        let cache = VerifiedCache::new(10, true, None);
        let stamp = cache.stamp().unwrap();
        cache.insert([1; 32], stamp, NOW, verified());
        assert!(cache.get(&[1; 32], NOW).is_some());
        cache.changed();
        assert!(cache.get(&[1; 32], NOW).is_none());
        // A read that began before the change and ends after it.
        let raced = cache.stamp().unwrap();
        cache.changed();
        cache.insert([2; 32], raced, NOW, verified());
        assert!(cache.get(&[2; 32], NOW).is_none());
    }

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn an_entry_is_served_for_a_minute_from_its_read() {
        let cache = VerifiedCache::new(10, true, None);
        cache.insert([1; 32], cache.stamp().unwrap(), NOW, verified());
        assert!(cache.get(&[1; 32], NOW + TIME_TO_LIVE_MS - 1).is_some());
        assert!(cache.get(&[1; 32], NOW + TIME_TO_LIVE_MS).is_none());
        assert!(
            cache.get(&[1; 32], NOW - 1).is_none(),
            "the clock went back"
        );
    }

    #[test]
    fn an_entry_passes_on_one_use_a_minute() {
        let cache = VerifiedCache::new(10, true, None);
        let mut used = verified();
        used.last_used_at = Some(NOW - 1_000);
        cache.insert([1; 32], cache.stamp().unwrap(), NOW, used);
        cache.insert([2; 32], cache.stamp().unwrap(), NOW, verified());
        let recent = cache.get(&[1; 32], NOW).unwrap();
        assert!(!recent.use_to_record(NOW), "stored a second ago");
        assert!(recent.use_to_record(NOW + 59_000));
        assert!(!recent.use_to_record(NOW + 60_000));
        // Never used before: the read's own use was passed on, so the next
        // one is a minute after it.
        let never = cache.get(&[2; 32], NOW).unwrap();
        assert!(!never.use_to_record(NOW + 59_999));
        assert!(never.use_to_record(NOW + 60_000));
        assert!(!never.use_to_record(NOW + 60_001));
    }

    #[test]
    fn a_cache_that_is_not_live_or_has_no_room_gives_no_stamp() {
        assert!(VerifiedCache::new(0, true, None).stamp().is_none());
        let cache = VerifiedCache::new(10, true, None);
        assert!(cache.stamp().is_some());
        cache.set_live(false);
        assert!(cache.stamp().is_none());
    }
}
