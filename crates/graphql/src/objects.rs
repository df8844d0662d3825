//! The schema's object types by name: each wraps a domain value and is
//! resolved in the room of its concept (`directory`, `credentials`,
//! `access`, `audit`), so that a field of one concept can return an object of
//! another without the two rooms importing each other. Also the two
//! interfaces every object type takes part in (`Node`, `Principal`), and the
//! read every room needs: a user as the caller may see them.

use async_graphql::{Context, Interface, Result};
use domain::Action;
use domain::ids::{AccountId, UserId};

use crate::base::context::{caller, kw};
use crate::base::error::ApiResult;
use crate::base::scalars::ObjectId;

/// Every object with a global id.
#[derive(Interface, Debug)]
#[graphql(field(name = "id", ty = "ObjectId"))]
pub enum Node {
    Account(Account),
    User(User),
    ServiceAccount(ServiceAccount),
    ServiceAccountKey(ServiceAccountKey),
    PersonalAccessToken(PersonalAccessToken),
    AccountMember(AccountMember),
    AccountInvitation(AccountInvitation),
    AuditEvent(AuditEvent),
    Project(Project),
    Group(Group),
}

/// Whoever makes a request: a user or a service account.
#[derive(Interface, Debug)]
#[graphql(
    name = "Principal",
    field(name = "id", ty = "ObjectId"),
    field(name = "name", ty = "String"),
    field(name = "is_service_account", ty = "bool")
)]
pub enum PrincipalNode {
    User(User),
    ServiceAccount(ServiceAccount),
}

#[derive(Debug)]
pub struct Account(pub domain::Account);

#[derive(Debug)]
pub struct User(pub domain::User);

/// A service account, with how its keys stand when a list read that for all
/// of its service accounts at once.
#[derive(Debug)]
pub struct ServiceAccount(pub domain::ServiceAccount, pub Option<domain::KeyUsage>);

impl From<domain::ServiceAccount> for ServiceAccount {
    fn from(sa: domain::ServiceAccount) -> Self {
        Self(sa, None)
    }
}

pub(crate) async fn user_seen_from(
    ctx: &Context<'_>,
    account: AccountId,
    action: Action,
    id: UserId,
) -> Result<Option<User>> {
    let user = kw(ctx)
        .user_seen_from(caller(ctx)?, account, action, id)
        .await
        .api()?;
    Ok(user.map(User))
}

pub struct ServiceAccountKey {
    pub key: domain::ServiceAccountKey,
    /// Present only in the response of the mutation that made the key.
    pub secret: Option<String>,
    /// Its service account's role, when the key was read through that service
    /// account; otherwise `roleCode` reads it.
    pub owner_role: Option<domain::Role>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("key", &self.key)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

pub struct PersonalAccessToken {
    pub token: domain::PersonalAccessToken,
    /// Present only in the response of the mutation that made or rotated it.
    pub secret: Option<String>,
}

impl std::fmt::Debug for PersonalAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonalAccessToken")
            .field("token", &self.token)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// An invitation to join an account, with its secret only in the response
/// that created it.
pub struct AccountInvitation {
    pub invitation: domain::Invitation,
    pub secret: Option<String>,
}

impl std::fmt::Debug for AccountInvitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountInvitation")
            .field("invitation", &self.invitation)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct AccountMember(pub domain::Member);

#[derive(Debug)]
pub struct AuditEvent(pub domain::AuditEvent);

/// A named scope inside an account, which grants can be limited to.
#[derive(Debug, Clone)]
pub struct Project(pub domain::Project);

/// A permission, `resource:action`: one the account defines, or one of
/// keywarden's own (`builtIn`), which come with the roles.
#[derive(Debug, Clone)]
pub struct Permission(pub domain::Permission);

/// A named set of permissions. The three built-in sets are the roles' own and
/// cannot be changed or granted to groups.
#[derive(Debug, Clone)]
pub struct PermissionSet(pub domain::PermissionSet);

/// A named set of an account's users and service accounts, holding grants.
#[derive(Debug, Clone)]
pub struct Group(pub domain::Group);

/// A group's grant of a permission set on all projects or on listed ones.
#[derive(Debug, Clone)]
pub struct GroupGrant(pub domain::GroupGrant);
