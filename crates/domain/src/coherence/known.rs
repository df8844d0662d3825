//! Which credentials exist: a compact filter of every stored digest, so that
//! a well-formed token nobody was issued is refused without a database read.
//!
//! The checksum of a token is public by design, so anyone can make millions
//! of well-formed tokens, each a different digest the cache has never seen.
//! The filter (a Bloom filter, about ten bits a credential) says of a digest
//! either "surely not stored" or "perhaps". It is built by scanning the keys
//! and tokens tables, with the board's clock noted before the scan (see
//! [`crate::coherence::board`]); a credential issued since makes its
//! [`Scope::Issued`] slot later than that note, so its digest is never taken
//! for unknown however the filter was built: the answer "surely not" is given
//! only when
//! - the filter exists and the cache may serve (the lease holds, on
//!   PostgreSQL: this process has heard every change);
//! - nothing has made everything stale since the scan began;
//! - no digest of the token is in the filter, and
//! - no credential has been issued since the scan under a digest sharing a
//!   slot with one of the token's.
//!
//! Everything else reads the database, as before. A credential deleted stays
//! in the filter until the next build, costing a read that refuses it. The
//! filter is built again once tokens absent from it have had to be read
//! because their slot changed (the board's marks pile up), at most every so
//! often, and at once when everything was made stale.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

use super::board::{Board, Scope, Slot, Stamp};
use super::cache::Lease;

/// Bits of the filter per stored credential, and probes per digest: about
/// one "perhaps" in a hundred for a digest that is not stored.
const BITS_PER_CREDENTIAL: usize = 10;
const PROBES: u64 = 7;
/// The smallest filter, in 64-bit words.
const MIN_WORDS: usize = 1 << 10;
/// Rows read per statement while building.
const PAGE: usize = 10_000;
/// How often the keeper looks whether to build again.
const TICK: Duration = Duration::from_millis(100);
/// Tokens absent from the filter but read anyway (their slot changed) after
/// which it is built again.
const STALE_READS: u64 = 64;
/// The least time between two builds, and how many times a build's own
/// duration must pass before the next.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
const INTERVAL_PER_BUILD: u32 = 10;

/// A Bloom filter of digests, and the board's clock before its scan.
#[derive(Debug)]
struct Filter {
    stamp: Stamp,
    words: Box<[u64]>,
    /// The number of bits less one (a power of two less one).
    mask: u64,
}

/// The probes of `digest`: two words of it (an HMAC's output, which a client
/// cannot steer), combined.
fn probes(digest: &[u8; 32]) -> impl Iterator<Item = u64> {
    let word = |at: usize| {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(&digest[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    let (h1, h2) = (word(8), word(16) | 1);
    (0..PROBES).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)))
}

impl Filter {
    fn for_count(count: usize, stamp: Stamp) -> Self {
        let words = (count.saturating_mul(BITS_PER_CREDENTIAL) / 64)
            .max(MIN_WORDS)
            .next_power_of_two();
        Self {
            stamp,
            words: vec![0; words].into_boxed_slice(),
            mask: (words as u64 * 64) - 1,
        }
    }

    fn insert(&mut self, digest: &[u8; 32]) {
        for probe in probes(digest) {
            let bit = probe & self.mask;
            // The mask keeps the index inside the words.
            #[allow(clippy::cast_possible_truncation)]
            let word = (bit / 64) as usize;
            self.words[word] |= 1 << (bit % 64);
        }
    }

    fn may_hold(&self, digest: &[u8; 32]) -> bool {
        probes(digest).all(|probe| {
            let bit = probe & self.mask;
            #[allow(clippy::cast_possible_truncation)]
            let word = (bit / 64) as usize;
            self.words[word] & (1 << (bit % 64)) != 0
        })
    }
}

/// One process's filter, and what it has done, for metrics.
#[derive(Debug)]
pub(crate) struct Known {
    filter: RwLock<Option<Arc<Filter>>>,
    board: Arc<Board>,
    lease: Option<Arc<Lease>>,
    /// Tokens refused by the filter with no read.
    refused: AtomicU64,
    /// Tokens absent from the filter that were read anyway, since the last
    /// build, because a credential may have been issued under their slot.
    stale_reads: AtomicU64,
    builds: AtomicU64,
}

impl Known {
    pub(crate) fn new(board: Arc<Board>, lease: Option<Arc<Lease>>) -> Self {
        Self {
            filter: RwLock::new(None),
            board,
            lease,
            refused: AtomicU64::new(0),
            stale_reads: AtomicU64::new(0),
            builds: AtomicU64::new(0),
        }
    }

    fn current(&self) -> Option<Arc<Filter>> {
        self.filter
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether no credential can be stored under any of `digests` (one per
    /// pepper): see the module's documentation for when this is said.
    pub(crate) fn surely_unknown<'a>(&self, digests: impl Iterator<Item = &'a [u8; 32]>) -> bool {
        if self.lease.as_deref().is_some_and(|lease| !lease.holds()) {
            return false;
        }
        let Some(filter) = self.current() else {
            return false;
        };
        let mut slots: Vec<Slot> = Vec::with_capacity(2);
        for digest in digests {
            if filter.may_hold(digest) {
                return false;
            }
            slots.push(Scope::issued(digest).slot());
        }
        if !self.board.unchanged(&slots, filter.stamp) {
            self.stale_reads.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Tokens refused with no read so far, and builds made.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.refused.load(Ordering::Relaxed),
            self.builds.load(Ordering::Relaxed),
        )
    }

    /// Whether the filter should be built (again) now.
    fn wants_build(&self) -> bool {
        match self.current() {
            None => true,
            Some(filter) => {
                !self.board.unchanged(&[], filter.stamp)
                    || self.stale_reads.load(Ordering::Relaxed) >= STALE_READS
            }
        }
    }

    /// Whether to build now: the filter wants it and the last build (ended
    /// at `at` after taking `took`) is far enough behind.
    fn build_due(&self, last: Option<(Instant, Duration)>, now: Instant) -> bool {
        due(last, now) && self.wants_build()
    }

    /// Scans every stored digest into a new filter and puts it in place;
    /// says how many credentials were counted for its size.
    pub(crate) async fn build(&self, db: &DatabaseConnection) -> Result<usize, DbErr> {
        self.build_in_pages(db, PAGE).await
    }

    async fn build_in_pages(&self, db: &DatabaseConnection, page: usize) -> Result<usize, DbErr> {
        // Noted before the first row is read: whatever is issued from here on
        // marks its slot later than this.
        let stamp = self.board.stamp();
        let backend = db.get_database_backend();
        let count_row = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT (SELECT COUNT(*) FROM service_account_keys) \
                      + (SELECT COUNT(*) FROM personal_access_tokens) AS n",
            ))
            .await?;
        let count: i64 = match count_row {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        let count = usize::try_from(count).unwrap_or(0);
        let mut filter = Filter::for_count(count, stamp);
        for table in ["service_account_keys", "personal_access_tokens"] {
            let mut after: Option<i64> = None;
            loop {
                // After the first page, the last id this scan read, written
                // out as a number: the same text on both backends, nothing
                // to bind.
                let past = after
                    .map(|id| format!("WHERE id > {id} "))
                    .unwrap_or_default();
                let sql = format!("SELECT id, digest FROM {table} {past}ORDER BY id LIMIT {page}");
                let rows = db
                    .query_all_raw(Statement::from_string(backend, sql))
                    .await?;
                for row in &rows {
                    after = Some(row.try_get("", "id")?);
                    let digest: Vec<u8> = row.try_get("", "digest")?;
                    // A stored digest of another length can never match a
                    // presented token's: it needs no bit.
                    if let Ok(digest) = <[u8; 32]>::try_from(digest.as_slice()) {
                        filter.insert(&digest);
                    }
                }
                if rows.len() < page {
                    break;
                }
            }
        }
        *self
            .filter
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(filter));
        self.stale_reads.store(0, Ordering::Relaxed);
        self.builds.fetch_add(1, Ordering::Relaxed);
        Ok(count)
    }
}

/// `known`, kept built from `db` for as long as the process runs while
/// caching is on (`capacity` above 0); with caching off every token is read.
pub(crate) fn kept(known: Known, db: &DatabaseConnection, capacity: u64) -> Arc<Known> {
    let known = Arc::new(known);
    if capacity > 0 {
        tokio::spawn(keep(known.clone(), db.clone()));
    }
    known
}

/// Whether a build may start at `now`, the last having ended at `at` after
/// taking `took`: at once if there was none, else once both the least
/// interval and ten times the last build's duration have passed.
fn due(last: Option<(Instant, Duration)>, now: Instant) -> bool {
    last.is_none_or(|(at, took)| {
        now.saturating_duration_since(at) >= MIN_INTERVAL.max(took * INTERVAL_PER_BUILD)
    })
}

/// Keeps `known` built for as long as the process runs.
async fn keep(known: Arc<Known>, db: DatabaseConnection) {
    let mut last: Option<(Instant, Duration)> = None;
    loop {
        if known.build_due(last, Instant::now()) {
            let started = Instant::now();
            match known.build(&db).await {
                Ok(counted) => {
                    tracing::debug!(counted, took = ?started.elapsed(), "built the filter of stored credentials");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot build the filter of stored credentials; unknown tokens are read");
                }
            }
            last = Some((Instant::now(), started.elapsed()));
        }
        tokio::time::sleep(TICK).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u64) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(n.to_le_bytes()).into()
    }

    fn built(known: &Known, stored: &[[u8; 32]], stamp: Stamp) {
        let mut filter = Filter::for_count(stored.len(), stamp);
        for d in stored {
            filter.insert(d);
        }
        *known.filter.write().unwrap() = Some(Arc::new(filter));
    }

    #[test]
    fn a_filter_holds_every_digest_put_in_and_few_others() {
        let stored: Vec<[u8; 32]> = (0..10_000).map(digest).collect();
        let mut filter = Filter::for_count(stored.len(), Board::local().stamp());
        for d in &stored {
            filter.insert(d);
        }
        assert!(stored.iter().all(|d| filter.may_hold(d)));
        let others = (10_000..110_000)
            .filter(|n| filter.may_hold(&digest(*n)))
            .count();
        // About one in a hundred: well under 2%.
        assert!(others < 2_000, "{others} of 100,000 others said perhaps");
        assert!(
            others > 0,
            "a Bloom filter this small says perhaps sometimes"
        );
    }

    #[test]
    fn a_filter_of_few_credentials_still_tells_others_apart() {
        let stored: Vec<[u8; 32]> = (0..10).map(digest).collect();
        let mut filter = Filter::for_count(stored.len(), Board::local().stamp());
        assert_eq!(filter.words.len(), MIN_WORDS);
        for d in &stored {
            filter.insert(d);
        }
        assert!(stored.iter().all(|d| filter.may_hold(d)));
        let others = (10..10_010)
            .filter(|n| filter.may_hold(&digest(*n)))
            .count();
        assert!(others < 5, "{others} of 10,000 others said perhaps");
    }

    #[test]
    fn nothing_is_surely_unknown_before_the_first_build() {
        let known = Known::new(Arc::new(Board::local()), None);
        assert!(!known.surely_unknown([digest(1)].iter()));
        assert!(known.wants_build());
    }

    #[test]
    fn a_digest_absent_from_the_filter_is_unknown_until_one_is_issued_in_its_slot() {
        let board = Arc::new(Board::local());
        let known = Known::new(board.clone(), None);
        built(&known, &[digest(1)], board.stamp());
        assert!(!known.wants_build());
        // Stored: perhaps.
        assert!(!known.surely_unknown([digest(1)].iter()));
        let absent = digest(2);
        assert!(known.surely_unknown([absent].iter()));
        assert_eq!(known.counts().0, 1);
        // Another scope's change leaves it unknown; an issuance under its
        // digest (here or heard of) does not.
        board.mark([Scope::Key(crate::base::ids::KeyId(9))]);
        assert!(known.surely_unknown([absent].iter()));
        board.mark([Scope::issued(&absent)]);
        assert!(!known.surely_unknown([absent].iter()));
        assert_eq!(known.stale_reads.load(Ordering::Relaxed), 1);
        // Every candidate must be absent: one stored under another pepper is
        // perhaps.
        assert!(!known.surely_unknown([digest(3), digest(1)].iter()));
    }

    #[test]
    fn forgetting_everything_makes_the_filter_useless_until_it_is_built_again() {
        let board = Arc::new(Board::local());
        let known = Known::new(board.clone(), None);
        built(&known, &[], board.stamp());
        assert!(known.surely_unknown([digest(5)].iter()));
        board.forget_all();
        assert!(!known.surely_unknown([digest(5)].iter()));
        assert!(known.wants_build());
        built(&known, &[], board.stamp());
        assert!(known.surely_unknown([digest(5)].iter()));
    }

    #[test]
    fn without_the_lease_nothing_is_surely_unknown() {
        let board = Arc::new(Board::local());
        let lease = Arc::new(Lease::new());
        let known = Known::new(board.clone(), Some(lease.clone()));
        built(&known, &[], board.stamp());
        assert!(!known.surely_unknown([digest(5)].iter()));
        lease.renew(lease.now_ms());
        assert!(known.surely_unknown([digest(5)].iter()));
        lease.end();
        assert!(!known.surely_unknown([digest(5)].iter()));
    }

    #[test]
    fn reads_of_absent_tokens_in_changed_slots_call_for_a_new_build() {
        let board = Arc::new(Board::local());
        let known = Known::new(board.clone(), None);
        built(&known, &[], board.stamp());
        for n in 0..STALE_READS {
            let d = digest(1_000 + n);
            board.mark([Scope::issued(&d)]);
            assert!(!known.surely_unknown([d].iter()));
            assert_eq!(known.wants_build(), n + 1 >= STALE_READS);
        }
    }

    #[test]
    fn each_digest_sets_as_many_bits_as_there_are_probes() {
        // A digest whose second word is 1 (or 0): the probes still step
        // through distinct bits, since the step is made odd.
        for second in [0u8, 1] {
            let mut d = [0u8; 32];
            d[8] = 3;
            d[16] = second;
            let mut filter = Filter::for_count(0, Board::local().stamp());
            filter.insert(&d);
            let set: u32 = filter.words.iter().map(|w| w.count_ones()).sum();
            assert_eq!(u64::from(set), PROBES);
            assert!(filter.may_hold(&d));
        }
    }

    #[test]
    fn a_build_waits_for_the_least_interval_and_ten_times_the_last_build() {
        let now = Instant::now();
        let ago = |ms: u64| now.checked_sub(Duration::from_millis(ms)).unwrap();
        let quick = Duration::from_millis(10);
        let slow = Duration::from_millis(300);
        assert!(due(None, now));
        assert!(!due(Some((now, quick)), now));
        assert!(!due(Some((ago(999), quick)), now));
        assert!(due(Some((ago(1_000), quick)), now));
        // Ten times 300 ms: three seconds, not one, nor 1.3.
        assert!(!due(Some((ago(1_400), slow)), now));
        assert!(!due(Some((ago(2_999), slow)), now));
        assert!(due(Some((ago(3_000), slow)), now));
    }

    #[test]
    fn a_build_is_made_only_when_wanted_and_far_enough_behind_the_last() {
        let board = Arc::new(Board::local());
        let known = Known::new(board.clone(), None);
        let now = Instant::now();
        let long_ago = now.checked_sub(Duration::from_secs(60)).unwrap();
        // None yet: at once.
        assert!(known.build_due(None, now));
        built(&known, &[], board.stamp());
        // Built and nothing changed: not even long after the last build.
        assert!(!known.build_due(None, now));
        assert!(!known.build_due(Some((long_ago, Duration::ZERO)), now));
        // Everything made stale: wanted, but not within the interval.
        board.forget_all();
        assert!(!known.build_due(Some((now, Duration::ZERO)), now));
        assert!(known.build_due(Some((long_ago, Duration::ZERO)), now));
    }

    #[tokio::test]
    async fn a_build_reads_every_page_of_both_tables() {
        let db = crate::db::connect("sqlite::memory:", &crate::db::DbOptions::default())
            .await
            .unwrap();
        for table in ["service_account_keys", "personal_access_tokens"] {
            db.execute_unprepared(&format!(
                "CREATE TABLE {table} (id INTEGER PRIMARY KEY, digest BLOB NOT NULL)"
            ))
            .await
            .unwrap();
        }
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        for n in 0..5u64 {
            db.execute_unprepared(&format!(
                "INSERT INTO service_account_keys (id, digest) VALUES ({}, x'{}')",
                n * 3 + 1,
                hex(&digest(n))
            ))
            .await
            .unwrap();
        }
        for n in 5..8u64 {
            db.execute_unprepared(&format!(
                "INSERT INTO personal_access_tokens (digest) VALUES (x'{}')",
                hex(&digest(n))
            ))
            .await
            .unwrap();
        }
        // A digest of another length is counted but needs no bit.
        db.execute_unprepared("INSERT INTO personal_access_tokens (digest) VALUES (x'0102')")
            .await
            .unwrap();
        let board = Arc::new(Board::local());
        let known = Known::new(board.clone(), None);
        // Two rows a page, so that each table takes more than one.
        assert_eq!(known.build_in_pages(&db, 2).await.unwrap(), 9);
        for n in 0..8 {
            assert!(!known.surely_unknown([digest(n)].iter()), "digest {n}");
        }
        assert!(known.surely_unknown([digest(100)].iter()));
        assert_eq!(known.counts().1, 1);
        // The filter's clock is the one noted before the scan.
        board.mark([Scope::issued(&digest(100))]);
        assert!(!known.surely_unknown([digest(100)].iter()));
    }
}
