//! What an automation or a person presents, as the schema shows it:
//! service-account keys, personal access tokens, their leaks, the
//! account's policy for them and which of them nobody uses. Uses `objects` and
//! `base`.

pub(crate) mod keys;
pub(crate) mod leaks;
pub(crate) mod rules;
pub(crate) mod tokens;
pub(crate) mod unused;
