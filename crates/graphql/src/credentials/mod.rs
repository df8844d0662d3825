//! What an automation or a person presents, as the schema shows it:
//! service-account keys, personal access tokens, their leaks and the
//! account's policy for them. Uses `objects` and
//! `base`.

pub(crate) mod keys;
pub(crate) mod leaks;
pub(crate) mod rules;
pub(crate) mod tokens;
