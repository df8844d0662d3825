//! What an automation or a person presents: the token formats and their
//! checksums, service-account keys (issued, rotated with an overlap,
//! disabled and enabled, revoked), personal access tokens, which of them
//! nobody uses and the disabling of idle keys, what a report of a leaked
//! credential does to it, the account's policy for them, and the
//! verification of a presented credential, through the cache, to a principal.
//!
//! Decides whether a presented string is a live credential, and what may be
//! issued to whom. Uses [`crate::access`] (the grants a verified principal
//! carries), [`crate::policy`], [`crate::warden`], [`crate::coherence`],
//! [`crate::db`] and [`crate::base`]. Never [`crate::directory`]: the
//! directory issues a member's first token through it.

pub(crate) mod disabled;
pub(crate) mod idle;
pub(crate) mod keys;
pub(crate) mod leaks;
pub(crate) mod lookup;
pub(crate) mod personal_tokens;
pub(crate) mod rules;
pub mod token;
pub(crate) mod unused;
pub(crate) mod verify;
