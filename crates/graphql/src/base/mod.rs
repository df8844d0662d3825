//! What every resolver uses: the request's caller and handle, the one
//! conversion of a domain error into a GraphQL error, the scalars, role codes,
//! paging, and the reading of ids and other inputs.
//!
//! Uses no other room.

pub(crate) mod context;
pub mod error;
pub(crate) mod inputs;
pub(crate) mod page;
pub(crate) mod roles;
pub mod scalars;
