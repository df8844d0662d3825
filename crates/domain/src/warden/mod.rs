//! The machinery every operation runs on: the handle transports hold
//! ([`handle::Keywarden`]), the peppers credentials are digested with, the
//! write unit through which every change commits with its audit event and the
//! scopes it makes stale, the rows a change locks, the audit log, the
//! per-address quotas of what needs no credential, and what a
//! verification concludes (the value the cache keeps).
//!
//! Decides how a change is made (one transaction, one event at least, the
//! stale scopes said), not what may change. Uses [`crate::base`],
//! [`crate::policy`] (who acts, who may read the log), [`crate::coherence`]
//! and [`crate::db`]; no concept room.

pub(crate) mod audit;
pub(crate) mod handle;
pub(crate) mod keyring;
pub(crate) mod locks;
pub(crate) mod quota;
pub(crate) mod verdict;
pub(crate) mod write;
