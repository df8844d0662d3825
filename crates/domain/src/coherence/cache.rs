//! Verifications remembered, so that a credential seen before costs one digest
//! and one map lookup instead of a database read.
//!
//! An entry is never hunted down and removed. It carries the [`Stamp`] taken
//! before its rows were read and the slots of the scopes it depends on, and it
//! is served only while none of those slots has changed since (see
//! [`crate::coherence::board`]): a change to one key makes stale that key's
//! entries and nothing else.
//!
//! Acceptances and refusals are kept apart, each in a table of bounded size, so
//! that a flood of unknown tokens can push out only other refusals. Concurrent
//! lookups of one credential that is not remembered wait for a single read.
//!
//! On PostgreSQL the cache holds a [`Lease`]: it serves entries only while it
//! has lately heard from the database that no change is waiting for it; without
//! the lease every lookup reads the database.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache as Table;
use tokio::sync::OnceCell;

use super::board::{Board, Scope, Slot, Stamp};

/// How long an entry is served at most, in milliseconds. Changes made through
/// keywarden never wait for it (they mark their scopes); it bounds how long a
/// change made behind keywarden's back, by hand in the database, can go unseen.
pub(crate) const TIME_TO_LIVE_MS: i64 = 60_000;
/// Each entry lives a random share of the last half of [`TIME_TO_LIVE_MS`] less,
/// so that credentials first read together (a gateway's keys, all seen in its
/// first second) are not all read again in the same instant a minute later.
const TIME_TO_LIVE_SPREAD_MS: i64 = TIME_TO_LIVE_MS / 2;

/// At most this many refusals are remembered, whatever the capacity.
const MAX_REFUSALS: u64 = 10_000;

/// What one database read found, and what it depends on.
#[derive(Debug)]
pub(crate) struct Read<T> {
    pub value: T,
    pub scopes: Vec<Scope>,
}

#[derive(Debug)]
pub(crate) struct Entry<T> {
    stamp: Stamp,
    slots: Box<[Slot]>,
    /// When its rows were read (Unix milliseconds, the caller's clock).
    read_at: i64,
    /// Until when it may be served at most: the read plus its time to live.
    served_until: i64,
    pub value: T,
    /// Its share of the capacity, fixed when it is made.
    weight: u64,
    /// The latest use known here: the stored `lastUsedAt`, or the read itself
    /// when that was a minute later (the read's use was passed on to be
    /// recorded), then the last use served from this entry that was.
    last_use: AtomicI64,
}

impl<T> Entry<T> {
    /// Whether a use at `now_ms` should be passed on to be recorded, that is
    /// whether none has been for a minute; claims the minute when it should.
    pub(crate) fn use_to_record(&self, now_ms: i64) -> bool {
        let last = self.last_use.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < crate::coherence::usage::MINUTE_MS {
            return false;
        }
        self.last_use.store(now_ms, Ordering::Relaxed);
        true
    }
}

/// How a lookup was answered.
#[derive(Debug)]
pub(crate) struct Found<T> {
    pub entry: Arc<Entry<T>>,
    /// Whether this lookup's own read produced it (rather than the table, or
    /// another lookup's read it waited for).
    pub read_here: bool,
}

type Flight<T> = Arc<OnceCell<Arc<Entry<T>>>>;

/// The cache of one process, keyed by the credential's digest under the
/// current pepper. `T` is what a verification concludes; `accepted` says which
/// conclusions go to the table of acceptances.
pub(crate) struct Cache<T> {
    accepted: Option<Table<[u8; 32], Arc<Entry<T>>, ByWeight>>,
    refused: Option<Table<[u8; 32], Arc<Entry<T>>, ByWeight>>,
    flights: Mutex<HashMap<[u8; 32], Flight<T>>>,
    board: Arc<Board>,
    lease: Option<Arc<Lease>>,
    /// Database reads made for verification, for tests and metrics.
    reads: AtomicU64,
    /// Lookups answered from the table, and lookups it could not answer
    /// (nothing remembered, or what was is stale), for metrics.
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<T> std::fmt::Debug for Cache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("enabled", &self.accepted.is_some())
            .field("board", &self.board)
            .field("lease", &self.lease)
            .field("reads", &self.reads)
            .finish_non_exhaustive()
    }
}

pub(crate) trait Conclusion {
    /// Whether this is an acceptance (kept apart from refusals).
    fn accepted(&self) -> bool;
    /// The stored `lastUsedAt` of an acceptance.
    fn last_used_at(&self) -> Option<i64>;
    /// How much of the cache's capacity the conclusion takes: 1 for a plain
    /// one, more for one that holds much (a principal whose groups grant a
    /// great deal), so that what one account's credentials hold cannot crowd
    /// the memory of everyone else's out.
    fn weight(&self) -> u64 {
        1
    }
}

/// Weighs entries by what they hold (see [`Conclusion::weight`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ByWeight;

impl<T> quick_cache::Weighter<[u8; 32], Arc<Entry<T>>> for ByWeight {
    fn weight(&self, _: &[u8; 32], entry: &Arc<Entry<T>>) -> u64 {
        entry.weight
    }
}

impl<T: Conclusion + Send + Sync + 'static> Cache<T> {
    /// A cache of up to `capacity` acceptances (0 turns caching off) over
    /// `board`; `lease` when entries may be served only while it holds.
    pub(crate) fn new(capacity: u64, board: Arc<Board>, lease: Option<Arc<Lease>>) -> Self {
        let table = |n: u64| {
            (n > 0).then(|| {
                Table::with_weighter(usize::try_from(n).unwrap_or(usize::MAX), n, ByWeight)
            })
        };
        Self {
            accepted: table(capacity),
            refused: table(capacity.min(MAX_REFUSALS)),
            flights: Mutex::new(HashMap::new()),
            board,
            lease,
            reads: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    #[cfg(test)]
    pub(crate) fn board(&self) -> &Board {
        &self.board
    }

    #[cfg(test)]
    pub(crate) fn lease(&self) -> Option<&Lease> {
        self.lease.as_deref()
    }

    /// How many database reads verification has made through this cache.
    pub(crate) fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Lookups answered from memory, and lookups that were not, while caching
    /// is on.
    pub(crate) fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Whether entries may be served now.
    fn serving(&self) -> bool {
        self.accepted.is_some() && self.lease.as_deref().is_none_or(Lease::holds)
    }

    fn fresh(&self, entry: &Entry<T>, now_ms: i64) -> bool {
        // A clock that went back makes the entry's read lie ahead: read again.
        (entry.read_at..entry.served_until).contains(&now_ms)
            && self.board.unchanged(&entry.slots, entry.stamp)
    }

    /// The remembered conclusion for `digest`, if it may be served at `now_ms`.
    pub(crate) fn get(&self, digest: &[u8; 32], now_ms: i64) -> Option<Arc<Entry<T>>> {
        if !self.serving() {
            return None;
        }
        let found = self
            .accepted
            .as_ref()
            .and_then(|t| t.get(digest))
            .or_else(|| self.refused.as_ref().and_then(|t| t.get(digest)))
            .filter(|entry| self.fresh(entry, now_ms));
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The conclusion for `digest`, read with `read` unless a lookup already
    /// reading it can be waited for. Call it after [`Cache::get`] missed.
    pub(crate) async fn read_through<E, F, Fut>(
        &self,
        digest: [u8; 32],
        now_ms: i64,
        read: F,
    ) -> Result<Found<T>, E>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Read<T>, E>>,
    {
        if !self.serving() {
            let entry = self.read_once(None, now_ms, &read).await?;
            return Ok(Found {
                entry,
                read_here: true,
            });
        }
        let flight = self.lock_flights().entry(digest).or_default().clone();
        // Leaves the table of flights however this lookup ends, also when the
        // request is dropped mid-read, so that abandoned flights never pile up.
        let boarded = Boarded {
            flights: &self.flights,
            digest,
            flight,
        };
        let ran = AtomicBool::new(false);
        let landed = boarded
            .flight
            .get_or_try_init(|| async {
                ran.store(true, Ordering::Relaxed);
                let entry = self.read_once(Some(digest), now_ms, &read).await?;
                Ok(entry)
            })
            .await
            .cloned();
        drop(boarded);
        let entry = landed?;
        if ran.load(Ordering::Relaxed) {
            return Ok(Found {
                entry,
                read_here: true,
            });
        }
        if self.fresh(&entry, now_ms) {
            return Ok(Found {
                entry,
                read_here: false,
            });
        }
        // What we waited for was read before a change that has since been
        // made: read for ourselves.
        let entry = self.read_once(Some(digest), now_ms, &read).await?;
        Ok(Found {
            entry,
            read_here: true,
        })
    }

    /// One read, remembered under `digest` when given.
    async fn read_once<E, F, Fut>(
        &self,
        digest: Option<[u8; 32]>,
        now_ms: i64,
        read: &F,
    ) -> Result<Arc<Entry<T>>, E>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Read<T>, E>>,
    {
        // Taken before the read, so that a change committed meanwhile makes the
        // entry stale at once.
        let stamp = self.board.stamp();
        self.reads.fetch_add(1, Ordering::Relaxed);
        let Read { value, scopes } = read().await?;
        let last_use = match value.last_used_at() {
            Some(stored) if now_ms.saturating_sub(stored) < crate::coherence::usage::MINUTE_MS => {
                stored
            }
            _ => now_ms,
        };
        let accepted = value.accepted();
        let weight = value.weight().max(1);
        let entry = Arc::new(Entry {
            stamp,
            slots: scopes.into_iter().map(Scope::slot).collect(),
            read_at: now_ms,
            served_until: now_ms
                .saturating_add(TIME_TO_LIVE_MS - rand::random_range(0..TIME_TO_LIVE_SPREAD_MS)),
            value,
            weight,
            last_use: AtomicI64::new(last_use),
        });
        if let Some(digest) = digest {
            // A credential's conclusion lives in one table: the new one
            // replaces whatever the other held.
            let (into, out_of) = if accepted {
                (&self.accepted, &self.refused)
            } else {
                (&self.refused, &self.accepted)
            };
            if let Some(table) = into {
                table.insert(digest, entry.clone());
            }
            if let Some(table) = out_of {
                table.remove(&digest);
            }
        }
        Ok(entry)
    }

    fn lock_flights(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Flight<T>>> {
        lock(&self.flights)
    }
}

fn lock<T>(
    flights: &Mutex<HashMap<[u8; 32], Flight<T>>>,
) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Flight<T>>> {
    flights
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A lookup's place on a flight; on drop, takes the flight off the table if it
/// is still the one there (a later flight for the same digest stays).
struct Boarded<'a, T> {
    flights: &'a Mutex<HashMap<[u8; 32], Flight<T>>>,
    digest: [u8; 32],
    flight: Flight<T>,
}

impl<T> Drop for Boarded<'_, T> {
    fn drop(&mut self) {
        let mut flights = lock(self.flights);
        if flights
            .get(&self.digest)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            flights.remove(&self.digest);
        }
    }
}

/// How long a lease lasts after the heartbeat that renewed it was sent. Shorter
/// than a writer's wait for other processes to hear a change
/// ([`crate::coherence::peers::HEARD_TIMEOUT`]), so that by the time a writer
/// gives up on a silent process, that process has stopped serving its cache.
pub(crate) const LEASE: Duration = Duration::from_millis(1_000);

/// The right to serve entries, renewed by each heartbeat heard back from the
/// database.
#[derive(Debug)]
pub(crate) struct Lease {
    origin: Instant,
    /// Milliseconds after `origin` until which entries may be served; 0: not at all.
    until_ms: AtomicU64,
}

impl Lease {
    pub(crate) fn new() -> Self {
        Self {
            origin: Instant::now(),
            until_ms: AtomicU64::new(0),
        }
    }

    /// Milliseconds since the lease was made (the heartbeats' clock); never 0.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// A heartbeat sent at `sent_ms` came back: everything committed before it
    /// was sent has been heard.
    pub(crate) fn renew(&self, sent_ms: u64) {
        let lease = u64::try_from(LEASE.as_millis()).unwrap_or(u64::MAX);
        self.until_ms
            .fetch_max(sent_ms.saturating_add(lease), Ordering::SeqCst);
    }

    /// Ends the lease until it is renewed.
    pub(crate) fn end(&self) {
        self.until_ms.store(0, Ordering::SeqCst);
    }

    pub(crate) fn holds(&self) -> bool {
        self.holds_at(self.now_ms())
    }

    fn holds_at(&self, now_ms: u64) -> bool {
        now_ms < self.until_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::ids::{KeyId, ServiceAccountId};

    #[derive(Debug, Clone, PartialEq)]
    enum Seen {
        Good(Option<i64>),
        Unknown,
        /// An acceptance that holds this much.
        Heavy(u64),
    }

    impl Conclusion for Seen {
        fn accepted(&self) -> bool {
            matches!(self, Seen::Good(_) | Seen::Heavy(_))
        }
        fn last_used_at(&self) -> Option<i64> {
            match self {
                Seen::Good(t) => *t,
                Seen::Unknown | Seen::Heavy(_) => None,
            }
        }
        fn weight(&self) -> u64 {
            match self {
                Seen::Heavy(w) => *w,
                _ => 1,
            }
        }
    }

    #[tokio::test]
    async fn heavy_entries_take_their_weight_of_the_capacity() {
        let cache = cache();
        for i in 0..10u8 {
            remember(&cache, [i; 32], good(None)).await;
        }
        let kept = |cache: &Cache<Seen>, range: std::ops::Range<u8>| {
            range
                .filter(|i| cache.get(&[*i; 32], NOW).is_some())
                .count()
        };
        assert_eq!(kept(&cache, 0..10), 10, "ten plain entries fit in ten");
        // Heavy entries of weight 4: the table holds at most ten in weight,
        // so however many come, what stays weighs no more than that.
        for i in 100..110u8 {
            remember(
                &cache,
                [i; 32],
                Read {
                    value: Seen::Heavy(4),
                    scopes: vec![KEY],
                },
            )
            .await;
        }
        let light = kept(&cache, 0..10);
        let heavy = kept(&cache, 100..110);
        assert!(
            light + 4 * heavy <= 10,
            "{light} light and {heavy} heavy entries kept"
        );
        assert!(heavy < 10);
    }

    const NOW: i64 = 1_800_000_000_000;
    const KEY: Scope = Scope::Key(KeyId(1));
    const OWNER: Scope = Scope::ServiceAccount(ServiceAccountId(1));

    fn good(last: Option<i64>) -> Read<Seen> {
        Read {
            value: Seen::Good(last),
            scopes: vec![KEY, OWNER],
        }
    }

    async fn remember(cache: &Cache<Seen>, digest: [u8; 32], read: Read<Seen>) {
        let read = std::sync::Mutex::new(Some(read));
        let found = cache
            .read_through(digest, NOW, || {
                let next = read.lock().unwrap().take().expect("read once");
                async move { Ok::<_, ()>(next) }
            })
            .await
            .unwrap();
        assert!(found.read_here);
    }

    fn cache() -> Cache<Seen> {
        Cache::new(10, Arc::new(Board::local()), None)
    }

    #[tokio::test]
    async fn an_entry_is_stale_once_a_scope_it_depends_on_changes() {
        let cache = cache();
        remember(&cache, [1; 32], good(None)).await;
        assert!(cache.get(&[1; 32], NOW).is_some());
        cache.board().mark([Scope::Key(KeyId(2))]);
        assert!(cache.get(&[1; 32], NOW).is_some(), "another key");
        cache.board().mark([OWNER]);
        assert!(cache.get(&[1; 32], NOW).is_none());
        remember(&cache, [1; 32], good(None)).await;
        cache.board().mark([KEY]);
        assert!(cache.get(&[1; 32], NOW).is_none());
        assert_eq!(cache.reads(), 2);
    }

    #[tokio::test]
    async fn an_entry_read_before_a_change_is_never_served_after_it() {
        let cache = cache();
        let found = cache
            .read_through([2; 32], NOW, || async {
                // The change commits while the read is under way.
                cache.board().mark([KEY]);
                Ok::<_, ()>(good(None))
            })
            .await
            .unwrap();
        assert_eq!(
            found.entry.value,
            Seen::Good(None),
            "this lookup gets its answer"
        );
        assert!(
            cache.get(&[2; 32], NOW).is_none(),
            "but the next one reads again"
        );
    }

    #[tokio::test]
    async fn an_entry_is_served_for_half_a_minute_to_a_minute_from_its_read() {
        let cache = cache();
        remember(&cache, [1; 32], good(None)).await;
        assert!(
            cache
                .get(&[1; 32], NOW + TIME_TO_LIVE_MS - TIME_TO_LIVE_SPREAD_MS)
                .is_some()
        );
        assert!(cache.get(&[1; 32], NOW + TIME_TO_LIVE_MS).is_none());
        assert!(
            cache.get(&[1; 32], NOW - 1).is_none(),
            "the clock went back"
        );
    }

    #[tokio::test]
    async fn entries_read_together_are_not_all_read_again_together() {
        let cache: Cache<Seen> = Cache::new(1_000, Arc::new(Board::local()), None);
        for i in 0..200u8 {
            remember(&cache, [i; 32], good(None)).await;
        }
        let served = |at: i64| {
            (0..200u8)
                .filter(|i| cache.get(&[*i; 32], at).is_some())
                .count()
        };
        assert_eq!(served(NOW + TIME_TO_LIVE_MS - TIME_TO_LIVE_SPREAD_MS), 200);
        let midway = served(NOW + TIME_TO_LIVE_MS - TIME_TO_LIVE_SPREAD_MS / 2);
        assert!(
            (40..=160).contains(&midway),
            "{midway} of 200 still served midway"
        );
        assert_eq!(served(NOW + TIME_TO_LIVE_MS), 0);
    }

    #[tokio::test]
    async fn an_entry_passes_on_one_use_a_minute() {
        let cache = cache();
        remember(&cache, [1; 32], good(Some(NOW - 1_000))).await;
        remember(&cache, [2; 32], good(None)).await;
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
        // Stored a minute ago or more: the read's own use was passed on too.
        for stored in [NOW - 60_000, NOW - 600_000] {
            remember(&cache, [3; 32], good(Some(stored))).await;
            let old = cache.get(&[3; 32], NOW).unwrap();
            assert!(!old.use_to_record(NOW + 1), "stored at {stored}");
            assert!(old.use_to_record(NOW + 60_000));
        }
    }

    #[tokio::test]
    async fn refusals_are_kept_apart_and_bounded() {
        let cache: Cache<Seen> = Cache::new(MAX_REFUSALS * 3, Arc::new(Board::local()), None);
        remember(&cache, [0; 32], good(None)).await;
        for i in 0..(MAX_REFUSALS * 2) {
            let mut digest = [1; 32];
            digest[..8].copy_from_slice(&i.to_le_bytes());
            let unknown = Read {
                value: Seen::Unknown,
                scopes: vec![Scope::issued(&digest)],
            };
            remember(&cache, digest, unknown).await;
        }
        let refused = cache.refused.as_ref().unwrap();
        assert!(refused.len() <= usize::try_from(MAX_REFUSALS).unwrap());
        assert!(
            cache.get(&[0; 32], NOW).is_some(),
            "a flood of refusals pushed out an acceptance"
        );
        // A refusal is stale once a credential with its digest is issued.
        let mut digest = [1; 32];
        digest[..8].copy_from_slice(&(MAX_REFUSALS * 2 - 1).to_le_bytes());
        assert_eq!(cache.get(&digest, NOW).unwrap().value, Seen::Unknown);
        cache.board().mark([Scope::issued(&digest)]);
        assert!(cache.get(&digest, NOW).is_none());
    }

    #[tokio::test]
    async fn concurrent_lookups_of_one_credential_wait_for_one_read() {
        let cache = Arc::new(cache());
        let gate = Arc::new(tokio::sync::Notify::new());
        let reads = Arc::new(AtomicU64::new(0));
        let mut lookups = Vec::new();
        for _ in 0..50 {
            let (cache, gate, reads) = (cache.clone(), gate.clone(), reads.clone());
            lookups.push(tokio::spawn(async move {
                let found = cache
                    .read_through([3; 32], NOW, || {
                        let (gate, reads) = (gate.clone(), reads.clone());
                        async move {
                            reads.fetch_add(1, Ordering::SeqCst);
                            gate.notified().await;
                            Ok::<_, ()>(good(None))
                        }
                    })
                    .await
                    .unwrap();
                found.entry.value.clone()
            }));
        }
        // Let every lookup join before the read finishes.
        while reads.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        gate.notify_waiters();
        for lookup in lookups {
            assert_eq!(lookup.await.unwrap(), Seen::Good(None));
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert_eq!(cache.reads(), 1);
    }

    #[tokio::test]
    async fn a_lookup_dropped_mid_read_leaves_no_flight_behind() {
        let cache = Arc::new(cache());
        let started = Arc::new(tokio::sync::Notify::new());
        let lookup = {
            let (cache, started) = (cache.clone(), started.clone());
            tokio::spawn(async move {
                cache
                    .read_through([5; 32], NOW, || {
                        let started = started.clone();
                        async move {
                            started.notify_one();
                            std::future::pending::<()>().await;
                            Ok::<_, ()>(good(None))
                        }
                    })
                    .await
            })
        };
        started.notified().await;
        assert_eq!(cache.lock_flights().len(), 1);
        lookup.abort();
        assert!(lookup.await.unwrap_err().is_cancelled());
        assert!(
            cache.lock_flights().is_empty(),
            "an abandoned flight stayed"
        );
        // And the next lookup of the digest reads as usual.
        remember(&cache, [5; 32], good(None)).await;
        assert!(cache.lock_flights().is_empty());
    }

    #[tokio::test]
    async fn a_lookup_that_joins_a_read_older_than_a_change_reads_again() {
        let cache = Arc::new(cache());
        let started = Arc::new(tokio::sync::Notify::new());
        let gate = Arc::new(tokio::sync::Notify::new());
        let first = {
            let (cache, started, gate) = (cache.clone(), started.clone(), gate.clone());
            tokio::spawn(async move {
                cache
                    .read_through([4; 32], NOW, || {
                        let (started, gate) = (started.clone(), gate.clone());
                        async move {
                            started.notify_one();
                            gate.notified().await;
                            Ok::<_, ()>(good(None))
                        }
                    })
                    .await
                    .unwrap()
            })
        };
        started.notified().await;
        // A change is answered, then a second lookup joins the older read.
        cache.board().mark([KEY]);
        let second = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .read_through([4; 32], NOW, || async {
                        Ok::<_, ()>(Read {
                            value: Seen::Unknown,
                            scopes: vec![KEY],
                        })
                    })
                    .await
                    .unwrap()
            })
        };
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        assert!(first.await.unwrap().read_here);
        let second = second.await.unwrap();
        assert!(second.read_here, "served a read older than the change");
        assert_eq!(second.entry.value, Seen::Unknown);
    }

    #[tokio::test]
    async fn without_a_lease_nothing_is_served_or_remembered() {
        let cache: Cache<Seen> =
            Cache::new(10, Arc::new(Board::local()), Some(Arc::new(Lease::new())));
        remember(&cache, [1; 32], good(None)).await;
        assert!(cache.get(&[1; 32], NOW).is_none());
        let lease = cache.lease().unwrap();
        lease.renew(lease.now_ms());
        assert!(lease.holds());
        assert!(cache.get(&[1; 32], NOW).is_none(), "read without the lease");
        remember(&cache, [1; 32], good(None)).await;
        assert!(cache.get(&[1; 32], NOW).is_some());
        lease.end();
        assert!(cache.get(&[1; 32], NOW).is_none());
    }

    #[test]
    fn a_lease_lasts_for_its_term_from_the_heartbeat() {
        // Made a while ago, so that heartbeats can be older than a term.
        let lease = Lease {
            origin: Instant::now() - LEASE * 3,
            until_ms: AtomicU64::new(0),
        };
        assert!(!lease.holds());
        let lease_ms = u64::try_from(LEASE.as_millis()).unwrap();
        let now = lease.now_ms();
        lease.renew(now);
        assert!(lease.holds());
        // A heartbeat sent long ago renews nothing that is not already over.
        lease.renew(0);
        assert!(lease.holds());
        lease.end();
        lease.renew(now - lease_ms - 1);
        assert!(!lease.holds(), "a heartbeat older than the lease's term");
        lease.renew(now - lease_ms + 500);
        assert!(lease.holds(), "a heartbeat within the term");
        // The term ends at the heartbeat's time plus the lease, exactly.
        let until = now - lease_ms + 500 + lease_ms;
        assert!(lease.holds_at(until - 1));
        assert!(!lease.holds_at(until));
    }

    #[test]
    fn a_cache_of_capacity_zero_serves_nothing() {
        let cache: Cache<Seen> = Cache::new(0, Arc::new(Board::local()), None);
        assert!(!cache.serving());
        assert!(format!("{cache:?}").contains("enabled: false"));
    }
}
