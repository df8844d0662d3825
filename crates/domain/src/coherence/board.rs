//! Which verifications a change makes stale: a fixed table of "changed at"
//! marks, one per slot, and a clock.
//!
//! A change names its [`Scope`]s (one key, one service account, one user...).
//! Each scope hashes to a slot. Committing a change ticks the clock and raises
//! the mark of each of its slots to the new time. A verification notes the
//! clock before it reads the database; what it read is good for as long as no
//! slot of its own scopes has a mark later than that note. So a change makes
//! stale only what it can affect, plus, rarely, what shares a slot with it (a
//! false alarm costs one read), and never misses a verification it affects:
//! the read either began after the change was committed and saw it, or began
//! before the clock ticked for it and is stale once the mark is raised, which
//! happens before the change is answered.
//!
//! The table lives in this process's memory, or, beside a SQLite file, in a
//! small file mapped by every process that opens the database, so that a
//! change made by any of them is seen by all on their next lookup with no
//! system call.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::MmapMut;

use crate::base::ids::{
    AccountId, GroupId, KeyId, PermissionSetId, ServiceAccountId, TokenId, UserId,
};

/// How many slots scopes hash into. A power of two; the file beside a SQLite
/// database holds them all (128 KiB).
const SLOTS: usize = 1 << 14;
/// Cell 0 is the clock, cell 1 the mark that every verification depends on
/// (moved by [`Board::forget_all`]), and the slots follow.
const CLOCK: usize = 0;
const EVERYTHING: usize = 1;
const FIRST_SLOT: usize = 2;
const CELLS: usize = FIRST_SLOT + SLOTS;

/// What a change can make stale.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One service account key: revoked, rotated, its expiry moved.
    Key(KeyId),
    /// A service account and so every key of it: disabled, deleted, its role
    /// or anything a verification returns about it changed.
    ServiceAccount(ServiceAccountId),
    /// One personal access token: revoked or rotated.
    Token(TokenId),
    /// A user and so every token of theirs: memberships added, removed or
    /// changed.
    User(UserId),
    /// A credential just issued, by the first eight bytes of its digest: a
    /// refusal of it remembered as "unknown" must not outlive its creation.
    Issued(u64),
    /// A group and so every credential of its members: its grants changed, or
    /// it was deleted. (A change of its members marks each member instead.)
    Group(GroupId),
    /// A permission set and so every credential whose groups grant it: its
    /// permissions changed.
    PermissionSet(PermissionSetId),
    /// The projects of an account, as looked up by id or name: one created,
    /// renamed or deleted.
    Projects(AccountId),
    /// An account's credential policy, and so every verification of one of
    /// its keys: the policy changed. (Releases before 0.3.4 cannot read it in
    /// a notification, and read the database until they understand again.)
    CredentialPolicy(AccountId),
}

impl Scope {
    /// The scope of a newly issued credential with this digest.
    pub fn issued(digest: &[u8; 32]) -> Self {
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        Scope::Issued(u64::from_le_bytes(first))
    }

    /// The slot this scope marks. The same in every process and every version
    /// that shares the table, so it depends on nothing but the scope.
    pub(crate) fn slot(self) -> Slot {
        let (tag, value) = match self {
            Scope::Key(id) => (1u64, id.0 as u64),
            Scope::ServiceAccount(id) => (2, id.0 as u64),
            Scope::Token(id) => (3, id.0 as u64),
            Scope::User(id) => (4, id.0 as u64),
            Scope::Issued(prefix) => (5, prefix),
            Scope::Group(id) => (6, id.0 as u64),
            Scope::PermissionSet(id) => (7, id.0 as u64),
            Scope::Projects(id) => (8, id.0 as u64),
            Scope::CredentialPolicy(id) => (9, id.0 as u64),
        };
        let mixed = splitmix64(value ^ tag.rotate_right(8));
        // Truncation is the point: the low bits pick the slot.
        #[allow(clippy::cast_possible_truncation)]
        Slot((mixed as usize) & (SLOTS - 1))
    }

    /// The scope as written in a notification: a letter and a number.
    pub(crate) fn write(self, out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Scope::Key(id) => write!(out, "k{id}"),
            Scope::ServiceAccount(id) => write!(out, "s{id}"),
            Scope::Token(id) => write!(out, "t{id}"),
            Scope::User(id) => write!(out, "u{id}"),
            Scope::Issued(prefix) => write!(out, "n{prefix:x}"),
            Scope::Group(id) => write!(out, "g{id}"),
            Scope::PermissionSet(id) => write!(out, "p{id}"),
            Scope::Projects(id) => write!(out, "j{id}"),
            Scope::CredentialPolicy(id) => write!(out, "c{id}"),
        };
    }

    pub(crate) fn read(word: &str) -> Option<Self> {
        let (letter, number) = word.split_at_checked(1)?;
        if number.starts_with('+') {
            return None;
        }
        Some(match letter {
            "k" => Scope::Key(KeyId(number.parse().ok()?)),
            "s" => Scope::ServiceAccount(ServiceAccountId(number.parse().ok()?)),
            "t" => Scope::Token(TokenId(number.parse().ok()?)),
            "u" => Scope::User(UserId(number.parse().ok()?)),
            "n" => Scope::Issued(u64::from_str_radix(number, 16).ok()?),
            "g" => Scope::Group(GroupId(number.parse().ok()?)),
            "p" => Scope::PermissionSet(PermissionSetId(number.parse().ok()?)),
            "j" => Scope::Projects(AccountId(number.parse().ok()?)),
            "c" => Scope::CredentialPolicy(AccountId(number.parse().ok()?)),
            _ => return None,
        })
    }
}

/// The finaliser of SplitMix64: spreads consecutive ids over the whole table.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A slot of the table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slot(usize);

/// The clock's reading before a verification read the database.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(u64);

pub(crate) struct Board {
    cells: Cells,
    /// Scopes this process has marked (its own changes and those it heard
    /// of), and times it forgot everything, for metrics.
    invalidations: AtomicU64,
}

enum Cells {
    Local(Box<[AtomicU64]>),
    Shared(MmapMut),
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = match self.cells {
            Cells::Local(_) => "memory",
            Cells::Shared(_) => "shared file",
        };
        f.debug_struct("Board")
            .field("in", &place)
            .field("clock", &self.cells()[CLOCK])
            .finish()
    }
}

/// The file's length: every cell, eight bytes each.
const FILE_LEN: u64 = (CELLS * 8) as u64;

impl Board {
    /// A table of this process's own.
    pub(crate) fn local() -> Self {
        Self {
            cells: Cells::Local((0..CELLS).map(|_| AtomicU64::new(0)).collect()),
            invalidations: AtomicU64::new(0),
        }
    }

    /// The table in the file beside the SQLite database at `database`, created
    /// (zeroed) if there is none.
    pub(crate) fn shared(database: &Path) -> io::Result<Self> {
        let mut path = database.as_os_str().to_owned();
        path.push(".changes");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        if file.metadata()?.len() < FILE_LEN {
            // Growing writes zeros; two processes doing it at once agree.
            file.set_len(FILE_LEN)?;
        }
        // SAFETY: the file is keywarden's own and never shrinks below
        // `FILE_LEN`; the mapping lives in `self` and is only ever read and
        // written as `AtomicU64`s (see `cells`), the same in every process.
        #[allow(unsafe_code)]
        let map = unsafe { MmapMut::map_mut(&file)? };
        if map.len() < CELLS * 8 {
            return Err(io::Error::other(
                "the change file is shorter than it should be",
            ));
        }
        Ok(Self {
            cells: Cells::Shared(map),
            invalidations: AtomicU64::new(0),
        })
    }

    fn cells(&self) -> &[AtomicU64] {
        match &self.cells {
            Cells::Local(cells) => cells,
            Cells::Shared(map) => {
                // SAFETY: the mapping starts on a page boundary, so it is
                // aligned for `AtomicU64`, holds at least `CELLS` of them (checked
                // when opened) and lives as long as `self`. Other processes
                // change it concurrently, but only through the same atomic
                // operations, which work across processes on shared memory.
                #[allow(unsafe_code)]
                unsafe {
                    std::slice::from_raw_parts(map.as_ptr().cast::<AtomicU64>(), CELLS)
                }
            }
        }
    }

    /// The clock now: take it before reading what a verification depends on.
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp(self.cells()[CLOCK].load(Ordering::SeqCst))
    }

    /// Whether nothing that marks `slots` (or everything) has changed since `stamp`.
    pub(crate) fn unchanged(&self, slots: &[Slot], stamp: Stamp) -> bool {
        let cells = self.cells();
        cells[EVERYTHING].load(Ordering::SeqCst) <= stamp.0
            && slots
                .iter()
                .all(|slot| cells[FIRST_SLOT + slot.0].load(Ordering::SeqCst) <= stamp.0)
    }

    /// Marks `scopes` as changed now.
    pub(crate) fn mark(&self, scopes: impl IntoIterator<Item = Scope>) {
        let cells = self.cells();
        let now = cells[CLOCK].fetch_add(1, Ordering::SeqCst) + 1;
        let mut marked = 0;
        for scope in scopes {
            cells[FIRST_SLOT + scope.slot().0].fetch_max(now, Ordering::SeqCst);
            marked += 1;
        }
        self.invalidations.fetch_add(marked, Ordering::Relaxed);
    }

    /// Makes every verification read so far stale.
    pub(crate) fn forget_all(&self) {
        let cells = self.cells();
        let now = cells[CLOCK].fetch_add(1, Ordering::SeqCst) + 1;
        cells[EVERYTHING].fetch_max(now, Ordering::SeqCst);
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// How many scopes this process has marked changed, counting each time it
    /// forgot everything as one.
    pub(crate) fn invalidations(&self) -> u64 {
        self.invalidations.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(scopes: &[Scope]) -> Vec<Slot> {
        scopes.iter().map(|s| s.slot()).collect()
    }

    #[test]
    fn a_change_makes_stale_only_what_depends_on_its_scopes() {
        let board = Board::local();
        let mine = slots(&[
            Scope::Key(KeyId(1)),
            Scope::ServiceAccount(ServiceAccountId(1)),
        ]);
        let theirs = slots(&[
            Scope::Key(KeyId(2)),
            Scope::ServiceAccount(ServiceAccountId(2)),
        ]);
        let stamp = board.stamp();
        assert!(board.unchanged(&mine, stamp));
        board.mark([Scope::ServiceAccount(ServiceAccountId(2))]);
        assert!(board.unchanged(&mine, stamp));
        assert!(!board.unchanged(&theirs, stamp));
        board.mark([Scope::Key(KeyId(1))]);
        assert!(!board.unchanged(&mine, stamp));
        // Read after the change: good again.
        assert!(board.unchanged(&mine, board.stamp()));
    }

    #[test]
    fn a_read_that_began_before_a_change_is_stale_after_it() {
        let board = Board::local();
        let mine = slots(&[Scope::User(UserId(7))]);
        let before = board.stamp();
        board.mark([Scope::User(UserId(7))]);
        let after = board.stamp();
        assert!(!board.unchanged(&mine, before));
        assert!(board.unchanged(&mine, after));
        assert!(before < after);
    }

    #[test]
    fn forgetting_all_makes_every_read_stale() {
        let board = Board::local();
        let mine = slots(&[Scope::Token(TokenId(3))]);
        let before = board.stamp();
        board.forget_all();
        assert!(!board.unchanged(&mine, before));
        assert!(!board.unchanged(&[], before));
        assert!(board.unchanged(&mine, board.stamp()));
    }

    #[test]
    fn invalidations_count_each_scope_marked_and_each_forgetting() {
        let board = Board::local();
        assert_eq!(board.invalidations(), 0);
        board.mark([
            Scope::Token(TokenId(1)),
            Scope::User(UserId(2)),
            Scope::Token(TokenId(3)),
        ]);
        assert_eq!(board.invalidations(), 3);
        board.mark([]);
        assert_eq!(board.invalidations(), 3);
        board.forget_all();
        assert_eq!(board.invalidations(), 4);
    }

    #[test]
    fn every_opening_of_the_change_file_sees_every_mark() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("k.db");
        let first = Board::shared(&database).unwrap();
        let second = Board::shared(&database).unwrap();
        let key = slots(&[Scope::Key(KeyId(9))]);
        let stamp = second.stamp();
        first.mark([Scope::Key(KeyId(9))]);
        assert!(!second.unchanged(&key, stamp));
        assert!(second.unchanged(&key, second.stamp()));
        assert_eq!(first.stamp(), second.stamp());
        let len = std::fs::metadata(dir.path().join("k.db.changes"))
            .unwrap()
            .len();
        // The clock, the everything mark and 16,384 slots of eight bytes.
        assert_eq!(len, 131_088);
        assert!(format!("{first:?}").contains("shared file"));
        assert!(format!("{:?}", Board::local()).contains("memory"));
        // Opening again keeps what is there.
        let third = Board::shared(&database).unwrap();
        assert_eq!(third.stamp(), first.stamp());
    }

    #[test]
    fn scopes_spread_over_the_slots_and_keep_to_them() {
        let mut seen = std::collections::HashSet::new();
        for id in 1..=1000 {
            for scope in [
                Scope::Key(KeyId(id)),
                Scope::ServiceAccount(ServiceAccountId(id)),
                Scope::Token(TokenId(id)),
                Scope::User(UserId(id)),
                Scope::Group(GroupId(id)),
                Scope::PermissionSet(PermissionSetId(id)),
                Scope::Projects(AccountId(id)),
            ] {
                assert_eq!(scope.slot(), scope.slot());
                seen.insert(scope.slot().0);
            }
        }
        // 7,000 scopes into 16,384 slots: few collide.
        assert!(seen.len() > 5_600, "{}", seen.len());
        assert_ne!(
            Scope::Key(KeyId(1)).slot(),
            Scope::ServiceAccount(ServiceAccountId(1)).slot()
        );
    }

    /// Every process sharing a table must hash alike: the slots are part of
    /// the format of the file beside a SQLite database, pinned here.
    #[test]
    fn the_hash_of_a_scope_is_fixed() {
        let slots: Vec<usize> = [
            Scope::Key(KeyId(1)),
            Scope::ServiceAccount(ServiceAccountId(1)),
            Scope::Token(TokenId(1)),
            Scope::User(UserId(1)),
            Scope::Issued(0x0123_4567_89ab_cdef),
            Scope::Key(KeyId(1_000_000)),
            Scope::Group(GroupId(1)),
            Scope::PermissionSet(PermissionSetId(1)),
            Scope::Projects(AccountId(1)),
            Scope::CredentialPolicy(AccountId(1)),
        ]
        .iter()
        .map(|s| s.slot().0)
        .collect();
        assert_eq!(slots[..6], [11970, 3159, 10730, 2227, 10499, 4081]);
        assert_eq!(slots[6..], [10586, 15693, 14219, 11694]);
    }

    #[test]
    fn scopes_read_back_as_written() {
        for scope in [
            Scope::Key(KeyId(12)),
            Scope::ServiceAccount(ServiceAccountId(5)),
            Scope::Token(TokenId(1)),
            Scope::User(UserId(99)),
            Scope::Issued(u64::MAX),
            Scope::issued(&[7; 32]),
            Scope::Group(GroupId(3)),
            Scope::PermissionSet(PermissionSetId(4)),
            Scope::Projects(AccountId(6)),
            Scope::CredentialPolicy(AccountId(7)),
        ] {
            let mut out = String::new();
            scope.write(&mut out);
            assert_eq!(Scope::read(&out), Some(scope), "{out}");
        }
        for bad in [
            "", "k", "x1", "k-", "kx", "k+1", "n", "nzz", "s1 2", "g", "p+1", "jx", "c", "cx",
        ] {
            assert_eq!(Scope::read(bad), None, "{bad:?}");
        }
    }
}
