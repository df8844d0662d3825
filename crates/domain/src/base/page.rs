//! Pages of a list: every list the domain returns is bounded, so that the
//! work one request can ask for is bounded too (see `docs/limits.md`).

/// The most items one page holds.
pub const MAX_PAGE: u64 = 100;

/// Which part of a list to read: the items after the one with id `after`, in
/// the list's own order, at most `limit` (never more than [`MAX_PAGE`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub after: Option<i64>,
    pub limit: u64,
}

impl Page {
    /// The first `limit` items.
    pub fn first(limit: u64) -> Self {
        Self { after: None, limit }
    }

    /// The row limit to ask the database for.
    pub(crate) fn rows(self) -> u64 {
        self.limit.min(MAX_PAGE)
    }
}

impl Default for Page {
    /// The first page of the largest size.
    fn default() -> Self {
        Self::first(MAX_PAGE)
    }
}
