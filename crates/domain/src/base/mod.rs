//! The words every room speaks: ids, validated names, times, pages, the
//! limits on what one request may hold, the error type, the kinds of object
//! and the request a change is made for.
//!
//! Decides only what a well-formed value is (a name's characters, a page's
//! size, a time's range). Uses no other room: everything else may use it.

pub(crate) mod error;
pub mod ids;
pub(crate) mod kinds;
pub mod limits;
pub(crate) mod names;
pub mod object_id;
pub(crate) mod origin;
pub(crate) mod page;
pub mod time;
