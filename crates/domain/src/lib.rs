//! keywarden's rules.
//!
//! Everything that decides who may do what lives here: credential formats and
//! digests, verification, the role hierarchy and permission table, service
//! accounts, keys, personal access tokens, members and the audit log. The crate
//! knows sea-orm and nothing of HTTP or GraphQL. Every operation takes the caller
//! and `now` explicitly, so tests control both.
//!
//! The crate is in rooms, each a folder whose module comment says what it
//! decides and which rooms it may use (docs/architecture.md draws them, and
//! `.ci/rooms` checks that no file imports against those directions nor in a
//! circle). From the top:
//!
//! - [`directory`]: accounts, users, members, invitations, service accounts;
//! - [`credentials`]: token formats, keys, personal access tokens, verification;
//! - [`access`]: projects, permission sets, groups and their grants, checks;
//! - [`warden`]: the handle, the write unit, the audit log, the peppers;
//! - [`policy`]: roles, the permission table, the principal, what it holds;
//! - [`coherence`]: the cache and what keeps it true across processes;
//! - [`db`]: connecting, migrating, and the order of writers;
//! - [`base`]: ids, names, times, pages, limits, errors.
//!
//! This file is the crate's public face and nothing else: each room's types
//! are re-exported here under the names the transports know.

mod access;
mod base;
mod coherence;
mod credentials;
pub mod db;
mod directory;
mod policy;
mod warden;

pub use base::{ids, limits, object_id, time};
pub use credentials::token;

pub use access::checks::{Because, Decision, HeldPermissions, PermissionCheck, Why};
pub use access::groups::{
    CreateGrant, CreateGroup, Group, GroupGrant, MEMBERS_PER_CHANGE, UpdateGroup,
};
pub use access::permission_sets::{
    CreatePermission, CreatePermissionSet, Permission, PermissionSet, SetKind, UpdatePermissionSet,
};
pub use access::projects::{CreateProject, Project, ProjectRef, UpdateProject};
pub use base::error::{DomainError, DomainResult};
pub use base::ids::GroupMember;
pub use base::names::{
    AccountName, Description, Email, GroupName, KeyName, PermissionName, PermissionSetName,
    ProjectName, ServiceAccountName, Username,
};
pub use base::origin::Origin;
pub use base::page::{MAX_PAGE, Page};
pub use coherence::{
    Client, Credential, ListenerStats, Located, MAX_AGENT_CHARS, PeerCount, Scope, Stats,
    UsageTracker,
};
pub use credentials::disabled::{Disabled, DisabledReason};
pub use credentials::idle::IDLE_KEYS_PER_TURN;
pub use credentials::keys::{
    CreateKey, IssuedKey, KeyUsage, MAX_ACTIVE_KEYS, MAX_OVERLAP, RotateKey, ServiceAccountKey,
};
pub use credentials::leaks::{
    HOLDER_ANSWER, Leak, LeakLabel, LeakReport, LeakResponse, MAX_LEAK_SOURCE, MAX_LEAK_URL,
    MAX_SCANNER_NAME, Reporter,
};
pub use credentials::personal_tokens::{
    CreatePersonalAccessToken, IssuedPersonalAccessToken, MAX_ACTIVE_TOKENS, PersonalAccessToken,
    ROTATION_INTERVAL,
};
pub use credentials::rules::{CredentialPolicy, PolicyChange, PolicyRule, PolicyViolation};
pub use credentials::token::{Secret, TokenError};
pub use credentials::unused::{Unused, UnusedPage, UnusedPlace};
pub use credentials::verify::AuthError;
pub use directory::accounts::{
    Account, AddMember, AddedMember, Bootstrapped, FirstStart, Member, Recovered,
};
pub use directory::invitations::{
    CreateInvitation, DEFAULT_INVITATION_LIFETIME, Invitation, IssuedInvitation,
    MAX_INVITATION_LIFETIME, MAX_PENDING_INVITATIONS,
};
pub use directory::service_accounts::{CreateServiceAccount, UpdateServiceAccount};
pub use directory::users::User;
pub use policy::grant::{Coverage, Grant};
pub use policy::held::{Access, Held, Source};
pub use policy::principal::{
    Membership, Principal, ServiceAccount, ServiceAccountPrincipal, UserPrincipal,
};
pub use policy::ranges::{AddressRanges, MAX_RANGES};
pub use policy::role::Role;
pub use policy::table::{Action, RESERVED_RESOURCES, Standing, role_permissions};
pub use warden::audit::{ActorKind, AuditEvent, AuditFilter, AuditPage, AuditQuery};
pub use warden::handle::{DEFAULT_CACHE_CAPACITY, Keywarden};
pub use warden::keyring::{Keyring, Pepper};
pub use warden::quota::HOLDER_REPORTS_PER_MINUTE;
