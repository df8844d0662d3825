//! keywarden's rules.
//!
//! Everything that decides who may do what lives here: credential formats and
//! digests, verification, the role hierarchy and permission table, service
//! accounts, keys, personal access tokens, members and the audit log. The crate
//! knows sea-orm and nothing of HTTP or GraphQL. Every operation takes the caller
//! and `now` explicitly, so tests control both.

mod accounts;
mod audit;
mod coherence;
mod credential;
pub mod db;
mod error;
pub mod ids;
mod invitations;
mod keys;
mod names;
pub mod object_id;
mod origin;
mod page;
mod personal_tokens;
mod policy;
mod principal;
mod role;
mod service_accounts;
pub mod time;
pub mod token;
mod users;
mod verify;
mod warden;
mod write;

pub use accounts::{Account, AddMember, AddedMember, Bootstrapped, FirstStart, Member, Recovered};
pub use audit::{ActorKind, AuditEvent, AuditPage, AuditQuery};
pub use coherence::{Credential, ListenerStats, Scope, Stats, UsageTracker};
pub use error::{DomainError, DomainResult};
pub use invitations::{
    CreateInvitation, DEFAULT_INVITATION_LIFETIME, Invitation, IssuedInvitation,
    MAX_INVITATION_LIFETIME, MAX_PENDING_INVITATIONS,
};
pub use keys::{CreateKey, IssuedKey, MAX_ACTIVE_KEYS, MAX_OVERLAP, RotateKey, ServiceAccountKey};
pub use names::{AccountName, Description, Email, KeyName, ServiceAccountName, Username};
pub use origin::Origin;
pub use page::{MAX_PAGE, Page};
pub use personal_tokens::{
    CreatePersonalAccessToken, IssuedPersonalAccessToken, MAX_ACTIVE_TOKENS, PersonalAccessToken,
    ROTATION_INTERVAL,
};
pub use policy::{Action, Standing};
pub use principal::{
    Membership, Principal, ServiceAccount, ServiceAccountPrincipal, UserPrincipal,
};
pub use role::Role;
pub use service_accounts::{CreateServiceAccount, UpdateServiceAccount};
pub use token::{Keyring, Pepper, Secret, TokenError};
pub use users::User;
pub use verify::AuthError;
pub use warden::{DEFAULT_CACHE_CAPACITY, Keywarden};
