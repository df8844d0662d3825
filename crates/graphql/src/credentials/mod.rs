//! What an automation or a person presents, as the schema shows it:
//! service-account keys, personal access tokens and their leaks. Uses `objects` and
//! `base`.

pub(crate) mod keys;
pub(crate) mod leaks;
pub(crate) mod tokens;
