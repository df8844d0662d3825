//! keywarden's storage rows as sea-orm entities.
//!
//! These types describe tables and nothing more: no GraphQL derives, no rules.
//! Timestamps are stored as whole milliseconds since the Unix epoch (`i64`), so that
//! comparisons in SQL are exact and identical on SQLite and PostgreSQL; the domain
//! converts them to `chrono` values at its boundary. Credential digests are the raw
//! 32 bytes of an HMAC-SHA256.

pub mod account;
pub mod account_invitation;
pub mod audit_event;
pub mod group;
pub mod group_grant;
pub mod group_grant_project;
pub mod group_member;
pub mod membership;
pub mod permission;
pub mod permission_set;
pub mod permission_set_permission;
pub mod personal_access_token;
pub mod project;
pub mod service_account;
pub mod service_account_key;
pub mod user;

pub mod prelude {
    //! The entities under short names, for `use entity::prelude::*`.
    pub use crate::account::Entity as Account;
    pub use crate::account_invitation::Entity as AccountInvitation;
    pub use crate::audit_event::Entity as AuditEvent;
    pub use crate::membership::Entity as Membership;
    pub use crate::personal_access_token::Entity as PersonalAccessToken;
    pub use crate::service_account::Entity as ServiceAccount;
    pub use crate::service_account_key::Entity as ServiceAccountKey;
    pub use crate::user::Entity as User;
}
