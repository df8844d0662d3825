//! Paging: the sizes a list may be asked for, and the page info of a connection.

use async_graphql::{Result, SimpleObject};

use crate::base::error::bad_input;
use crate::base::scalars::ObjectId;

/// The size of an audit page when none is asked for.
pub(crate) const DEFAULT_PAGE: i32 = 50;

/// The size of a plain list's page when none is asked for: the largest.
pub(crate) const LIST_PAGE: u64 = domain::MAX_PAGE;

/// The size of a page of keys when none is asked for: as many as can be active.
pub(crate) const KEYS_PAGE: u64 = domain::MAX_ACTIVE_KEYS;

/// A page of a plain list: `first` between 0 and the largest page, `after` the
/// id of an item of the list (of type `kind`).
pub(crate) fn page(
    first: Option<i32>,
    after: Option<&ObjectId>,
    kind: &str,
    default: u64,
) -> Result<domain::Page> {
    let limit = match first {
        None => default,
        Some(n) => page_size("first", n)?,
    };
    let after = after
        .map(|id| {
            id.of(kind)
                .ok_or_else(|| bad_input(format!("after must be the id of a {kind} of this list")))
        })
        .transpose()?;
    Ok(domain::Page { after, limit })
}

/// A page size asked for as `name`: between 0 and the largest page.
pub(crate) fn page_size(name: &str, n: i32) -> Result<u64> {
    u64::try_from(n)
        .ok()
        .filter(|n| *n <= domain::MAX_PAGE)
        .ok_or_else(|| bad_input(format!("{name} must be between 0 and {}", domain::MAX_PAGE)))
}

#[derive(SimpleObject, Debug)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}
