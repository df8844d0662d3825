//! What an automation or a person presents, as the schema shows it:
//! service-account keys and personal access tokens. Uses `objects` and
//! `base`.

pub(crate) mod keys;
pub(crate) mod tokens;
