//! The input objects, and their conversion into domain requests. Every field is
//! parsed here, so each bad value gets its own clear error.

use async_graphql::{InputObject, MaybeUndefined, Result};
use domain::ids::{AccountId, InvitationId, KeyId, ServiceAccountId, TokenId, UserId};
use domain::{Description, KeyName, ServiceAccountName, UpdateServiceAccount};

use crate::error::{api, bad_input, not_found};
use crate::scalars::{DateTime, ObjectId};
use crate::types::RoleCode;

/// The numeric id inside a global id of the expected type; any other id names
/// nothing the caller can see.
pub fn id_of(id: &ObjectId, type_name: &'static str) -> Result<i64> {
    id.of(type_name).ok_or_else(|| not_found(type_name))
}

pub fn account_id(id: &ObjectId) -> Result<AccountId> {
    id_of(id, "Account").map(AccountId)
}

pub fn service_account_id(id: &ObjectId) -> Result<ServiceAccountId> {
    id_of(id, "ServiceAccount").map(ServiceAccountId)
}

pub fn key_id(id: &ObjectId) -> Result<KeyId> {
    id_of(id, "ServiceAccountKey").map(KeyId)
}

pub fn token_id(id: &ObjectId) -> Result<TokenId> {
    id_of(id, "PersonalAccessToken").map(TokenId)
}

pub fn user_id(id: &ObjectId) -> Result<UserId> {
    id_of(id, "User").map(UserId)
}

pub fn invitation_id(id: &ObjectId) -> Result<InvitationId> {
    id_of(id, "AccountInvitation").map(InvitationId)
}

pub fn group_id(id: &ObjectId) -> Result<domain::ids::GroupId> {
    id_of(id, "Group").map(domain::ids::GroupId)
}

/// An optional description, parsed.
pub fn description(text: Option<&str>) -> Result<Option<Description>> {
    text.map(Description::parse).transpose().map_err(api)
}

/// A description to change: absent leaves it alone (`None`), `null` clears it
/// (`Some(None)`), a value sets it.
pub fn description_change(value: MaybeUndefined<String>) -> Result<Option<Option<Description>>> {
    Ok(match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(d) => Some(Some(Description::parse(&d).map_err(api)?)),
    })
}

pub fn key_name(name: Option<&str>) -> Result<Option<KeyName>> {
    name.map(KeyName::parse).transpose().map_err(api)
}

#[derive(InputObject, Debug)]
pub struct CreateServiceAccountInput {
    /// The account to create the service account in.
    pub account_id: ObjectId,
    /// 1 to 255 characters.
    pub name: String,
    pub description: Option<String>,
    pub role_code: RoleCode,
    /// Groups of the account to put it in.
    pub group_ids: Option<Vec<ObjectId>>,
}

#[derive(InputObject, Debug)]
pub struct UpdateServiceAccountInput {
    pub service_account_id: ObjectId,
    /// Left alone when absent.
    pub name: MaybeUndefined<String>,
    /// Left alone when absent; `null` clears it.
    pub description: MaybeUndefined<String>,
    pub role_code: MaybeUndefined<RoleCode>,
    /// `false` disables every key of the service account at once; `true` enables them again.
    pub enabled: MaybeUndefined<bool>,
}

/// A field that may be absent but not `null`.
pub fn not_null<T>(field: &str, value: MaybeUndefined<T>) -> Result<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(bad_input(format!("{field} cannot be null"))),
        MaybeUndefined::Value(v) => Ok(Some(v)),
    }
}

impl UpdateServiceAccountInput {
    pub fn into_change(self) -> Result<(ServiceAccountId, UpdateServiceAccount)> {
        let id = service_account_id(&self.service_account_id)?;
        let name = not_null("name", self.name)?
            .map(|n| ServiceAccountName::parse(&n))
            .transpose()
            .map_err(api)?;
        let description = description_change(self.description)?;
        let change = UpdateServiceAccount {
            name,
            description,
            role: not_null("roleCode", self.role_code)?.map(Into::into),
            enabled: not_null("enabled", self.enabled)?,
        };
        Ok((id, change))
    }
}

#[derive(InputObject, Debug)]
pub struct DeleteServiceAccountInput {
    pub service_account_id: ObjectId,
}

#[derive(InputObject, Debug)]
pub struct CreateServiceAccountKeyInput {
    pub service_account_id: ObjectId,
    /// A name to tell the key apart, as in `github-actions-prod`.
    pub name: Option<String>,
    /// What the key is for, shown wherever keys are listed (up to 2,000 characters).
    pub description: Option<String>,
    /// When the key stops working; it must lie in the future. Give this or
    /// `expiresInDays`, not both.
    pub expires_at: Option<DateTime>,
    /// The key stops working this many days from now, 1 to 3650.
    pub expires_in_days: Option<i32>,
    /// The highest role the key acts with; by default its service account's role.
    pub role_code: Option<RoleCode>,
}

impl CreateServiceAccountKeyInput {
    /// The expiry, given as a time or in days; the domain resolves it against
    /// the change that issues the key.
    pub fn expiry(&self) -> Result<Option<domain::time::Expiry>> {
        use domain::time::Expiry;
        match (&self.expires_at, self.expires_in_days) {
            (Some(_), Some(_)) => Err(bad_input("give expiresAt or expiresInDays, not both")),
            (Some(at), None) => Ok(Some(Expiry::At(at.0))),
            (None, Some(days)) => Ok(Some(Expiry::InDays(days.into()))),
            (None, None) => Ok(None),
        }
    }
}

#[derive(InputObject, Debug)]
pub struct RevokeServiceAccountKeyInput {
    pub service_account_key_id: ObjectId,
}

#[derive(InputObject, Debug)]
pub struct RotateServiceAccountKeyInput {
    pub service_account_key_id: ObjectId,
    /// When the new key stops working; it must lie in the future.
    pub expires_at: Option<DateTime>,
    /// How long the old key keeps working, 0 (the default: revoked now) to 604800 (7 days).
    pub overlap_seconds: Option<i32>,
}

impl RotateServiceAccountKeyInput {
    pub fn overlap(&self) -> Result<std::time::Duration> {
        let seconds = self.overlap_seconds.unwrap_or(0);
        u64::try_from(seconds)
            .map(std::time::Duration::from_secs)
            .map_err(|_| bad_input("overlapSeconds must be between 0 and 604800 (7 days)"))
    }
}

#[derive(InputObject, Debug)]
pub struct CreatePersonalAccessTokenInput {
    pub name: Option<String>,
    /// When the token stops working; it must lie in the future. A token that never
    /// expires cannot be rotated.
    pub expires_at: Option<DateTime>,
}

#[derive(InputObject, Debug)]
pub struct RevokePersonalAccessTokenInput {
    pub personal_access_token_id: ObjectId,
}

#[derive(InputObject, Debug)]
pub struct RotatePersonalAccessTokenInput {
    pub personal_access_token_id: ObjectId,
    /// The new expiry; it must lie in the future.
    pub expires_at: DateTime,
}

#[derive(InputObject, Debug)]
pub struct AddAccountMemberInput {
    pub account_id: ObjectId,
    /// The new user's username, unique among the account's members. (A user
    /// who exists already joins by accepting an invitation.)
    pub username: String,
    pub email: Option<String>,
    pub role_code: RoleCode,
}

#[derive(InputObject, Debug)]
pub struct CreateAccountInvitationInput {
    pub account_id: ObjectId,
    /// The role the invitee will hold.
    pub role_code: RoleCode,
    /// When the invitation stops working: in the future, at most 30 days away.
    /// A week from now when absent.
    pub expires_at: Option<DateTime>,
}

#[derive(InputObject, Debug)]
pub struct RevokeAccountInvitationInput {
    pub account_invitation_id: ObjectId,
}

/// The invitee accepts with their own personal access token as the credential.
#[derive(InputObject)]
pub struct AcceptAccountInvitationInput {
    /// The invitation's secret, as the Admin handed it over.
    pub secret: String,
}

impl std::fmt::Debug for AcceptAccountInvitationInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptAccountInvitationInput")
            .finish_non_exhaustive()
    }
}

#[derive(InputObject, Debug)]
pub struct UpdateAccountMemberInput {
    pub account_id: ObjectId,
    pub user_id: ObjectId,
    pub role_code: RoleCode,
}

#[derive(InputObject, Debug)]
pub struct RemoveAccountMemberInput {
    pub account_id: ObjectId,
    pub user_id: ObjectId,
}
