//! Who is in an account, as the schema shows it: accounts, users, members and
//! invitations, service accounts. Uses `credentials`, `access`, `audit` (the
//! lists under an account or a user), `objects` and `base`.

pub(crate) mod accounts;
pub(crate) mod members;
pub(crate) mod service_accounts;
pub(crate) mod users;
