//! Who is calling: a user with their memberships, or a service account acting
//! through one of its keys.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::service_account;

use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::{AccountId, KeyId, ServiceAccountId, TokenId, UserId};
use crate::base::time::from_millis;
use crate::policy::grant::Grant;
use crate::policy::ranges::AddressRanges;
use crate::policy::role::Role;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub account_id: AccountId,
    pub role: Role,
}

/// A human, authenticated by one of their personal access tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPrincipal {
    pub user_id: UserId,
    pub username: String,
    pub memberships: Vec<Membership>,
    /// The token the request came with.
    pub token_id: TokenId,
    /// What the user's groups grant, in every account they belong to.
    pub grants: Arc<[Grant]>,
}

/// A service account, authenticated by one of its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccountPrincipal {
    pub service_account_id: ServiceAccountId,
    pub name: String,
    pub account_id: AccountId,
    /// What the request may do: the lower of the service account's role and the
    /// key's ceiling.
    pub role: Role,
    pub service_account_role: Role,
    /// The key's ceiling, if it has one.
    pub role_ceiling: Option<Role>,
    pub key_id: KeyId,
    /// The service account as it was read when the key was verified.
    pub service_account: Arc<ServiceAccount>,
    /// What its groups grant.
    pub grants: Arc<[Grant]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    User(UserPrincipal),
    ServiceAccount(ServiceAccountPrincipal),
}

impl Principal {
    pub fn id(&self) -> i64 {
        match self {
            Principal::User(u) => u.user_id.0,
            Principal::ServiceAccount(s) => s.service_account_id.0,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Principal::User(u) => &u.username,
            Principal::ServiceAccount(s) => &s.name,
        }
    }

    /// The user behind the request, if a user makes it: whom a new object
    /// records as its creator.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Principal::User(u) => Some(u.user_id),
            Principal::ServiceAccount(_) => None,
        }
    }

    pub fn is_service_account(&self) -> bool {
        matches!(self, Principal::ServiceAccount(_))
    }

    /// The caller's role in `account`, if it belongs to it at all.
    pub fn role_in(&self, account: AccountId) -> Option<Role> {
        match self {
            Principal::User(u) => u
                .memberships
                .iter()
                .find(|m| m.account_id == account)
                .map(|m| m.role),
            Principal::ServiceAccount(s) => (s.account_id == account).then_some(s.role),
        }
    }
}

/// A service account as stored: what its keys act as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccount {
    pub id: ServiceAccountId,
    pub account_id: AccountId,
    pub name: String,
    pub description: Option<String>,
    pub role: Role,
    pub enabled: bool,
    pub created_by_user_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where its keys work, within its account's ranges; `None`: wherever
    /// the account allows.
    pub allowed_ranges: Option<AddressRanges>,
}

impl TryFrom<service_account::Model> for ServiceAccount {
    type Error = DomainError;

    fn try_from(m: service_account::Model) -> DomainResult<Self> {
        Ok(Self {
            id: ServiceAccountId(m.id),
            account_id: AccountId(m.account_id),
            name: m.name,
            description: m.description,
            role: Role::from_stored(&m.role)?,
            enabled: m.enabled,
            created_by_user_id: m.created_by_user_id.map(UserId),
            created_at: from_millis(m.created_at)?,
            updated_at: from_millis(m.updated_at)?,
            allowed_ranges: AddressRanges::from_stored(m.allowed_ranges.as_deref()),
        })
    }
}
