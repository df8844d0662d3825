//! Who is in an account: accounts, users, members and their roles (never
//! without an Admin), invitations and their redemption, service accounts, and
//! how an installation gets its first Admin or recovers one.
//!
//! Decides who belongs to which account, in which role. Uses
//! [`crate::credentials`] (a new member's first token, an invitation's
//! secret), [`crate::access`] (a service account made in a group, a member's
//! groups when it leaves), [`crate::policy`], [`crate::warden`],
//! [`crate::coherence`], [`crate::db`] and [`crate::base`]. Nothing uses it
//! but the crate's public face.

pub(crate) mod accounts;
pub(crate) mod invitations;
pub(crate) mod service_accounts;
pub(crate) mod users;
