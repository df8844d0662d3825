//! keywarden's rules.
//!
//! Everything that decides who may do what lives here: credential formats and
//! digests, verification, the role hierarchy and permission table, service
//! accounts, keys, personal access tokens, members and the audit log. The crate
//! knows sea-orm and nothing of HTTP or GraphQL. Every operation takes the caller
//! and `now` explicitly, so tests control both.

mod access;
mod accounts;
mod audit;
mod checks;
mod coherence;
mod credential;
pub mod db;
mod error;
mod groups;
pub mod ids;
mod invitations;
mod keys;
pub mod limits;
mod names;
pub mod object_id;
mod origin;
mod page;
mod permission_sets;
mod personal_tokens;
mod policy;
mod principal;
mod projects;
mod role;
mod service_accounts;
pub mod time;
pub mod token;
mod users;
mod verify;
mod warden;
mod write;

pub use access::{Access, Coverage, Grant, Held, Source};
pub use accounts::{Account, AddMember, AddedMember, Bootstrapped, FirstStart, Member, Recovered};
pub use audit::{ActorKind, AuditEvent, AuditFilter, AuditPage, AuditQuery};
pub use checks::{Because, Decision, HeldPermissions, PermissionCheck, Why};
pub use coherence::{Credential, ListenerStats, Located, PeerCount, Scope, Stats, UsageTracker};
pub use error::{DomainError, DomainResult};
pub use groups::{
    CreateGrant, CreateGroup, Group, GroupGrant, GroupMember, MEMBERS_PER_CHANGE, UpdateGroup,
};
pub use invitations::{
    CreateInvitation, DEFAULT_INVITATION_LIFETIME, Invitation, IssuedInvitation,
    MAX_INVITATION_LIFETIME, MAX_PENDING_INVITATIONS,
};
pub use keys::{
    CreateKey, IssuedKey, KeyUsage, MAX_ACTIVE_KEYS, MAX_OVERLAP, RotateKey, ServiceAccountKey,
};
pub use names::{
    AccountName, Description, Email, GroupName, KeyName, PermissionName, PermissionSetName,
    ProjectName, ServiceAccountName, Username,
};
pub use origin::Origin;
pub use page::{MAX_PAGE, Page};
pub use permission_sets::{
    CreatePermission, CreatePermissionSet, Permission, PermissionSet, SetKind, UpdatePermissionSet,
};
pub use personal_tokens::{
    CreatePersonalAccessToken, IssuedPersonalAccessToken, MAX_ACTIVE_TOKENS, PersonalAccessToken,
    ROTATION_INTERVAL,
};
pub use policy::{Action, RESERVED_RESOURCES, Standing, role_permissions};
pub use principal::{
    Membership, Principal, ServiceAccount, ServiceAccountPrincipal, UserPrincipal,
};
pub use projects::{CreateProject, Project, ProjectRef, UpdateProject};
pub use role::Role;
pub use service_accounts::{CreateServiceAccount, UpdateServiceAccount};
pub use token::{Keyring, Pepper, Secret, TokenError};
pub use users::User;
pub use verify::AuthError;
pub use warden::{DEFAULT_CACHE_CAPACITY, Keywarden};
