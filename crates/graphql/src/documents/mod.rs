//! What a request may send, checked before anything runs: the limits an
//! operator sets (depth, aliases, cost), the cost of a document measured in
//! one linear pass with what each field costs, the maximum length of every
//! list and string, and the extension that parses, measures and validates
//! each document once.
//!
//! Decides whether a document may run at all; knows no concept. Uses only
//! `base`; its tests build the whole schema.

pub(crate) mod bounds;
pub(crate) mod extension;
pub(crate) mod limits;
pub(crate) mod measure;
pub(crate) mod prices;
