//! Service-account keys: the `ServiceAccountKey` object and the mutations that
//! issue, restrict to address ranges, revoke and rotate one. A mutation that returns a new secret checks
//! that the secret is in the selection before it writes anything.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use domain::ids::ServiceAccountId;
use domain::{Action, CreateKey, RotateKey};

use crate::base::context::{HumanOnly, caller, kw, now, or_null, require_selected};
use crate::base::error::{ApiResult, ROTATION_SECRET_MESSAGE, SECRET_MESSAGE, bad_input};
use crate::base::inputs::{address_ranges, description, key_id, key_name, service_account_id};
use crate::base::roles::RoleCode;
use crate::base::scalars::{DateTime, ObjectId};
use crate::credentials::leaks::CredentialLeak;
use crate::credentials::rules::PolicyViolation;
use crate::objects::{ServiceAccount, ServiceAccountKey, User, user_seen_from};

/// An API key of a service account.
#[Object]
impl ServiceAccountKey {
    pub(crate) async fn id(&self) -> ObjectId {
        ObjectId::new("ServiceAccountKey", self.key.id.0)
    }

    pub(crate) async fn name(&self) -> Option<String> {
        self.key.name.clone()
    }

    /// What the key is for.
    async fn description(&self) -> Option<String> {
        self.key.description.clone()
    }

    /// The key itself: only in the response that created it, never again.
    async fn secret(&self) -> Option<String> {
        self.secret.clone()
    }

    /// The role this key acts with: the lower of its ceiling and its service
    /// account's role. (Never null; nullable for clients of earlier versions.)
    async fn role_code(&self, ctx: &Context<'_>) -> Result<Option<RoleCode>> {
        let role = match self.owner_role {
            Some(role) => role,
            None => self.owner(ctx).await?.role,
        };
        Ok(Some(self.key.acts_with(role).into()))
    }

    /// The ceiling set on this key, if any: it acts with at most this role.
    async fn role_ceiling(&self) -> Option<RoleCode> {
        self.key.role_ceiling.map(RoleCode::from)
    }

    /// The start of the key (`lmr_sa_12_AbCd`), to tell keys apart: its
    /// service account and the first four characters of its secret. `null`
    /// for keys made before keywarden kept it.
    async fn prefix(&self) -> Option<String> {
        self.key.prefix.clone()
    }

    async fn last_used_at(&self) -> Option<DateTime> {
        self.key.last_used_at.map(DateTime)
    }

    /// The client's address at the use `lastUsedAt` records, as the server's
    /// trusted proxies resolve it; `null` when unknown.
    async fn last_used_from(&self) -> Option<String> {
        self.key.last_used_from.map(|a| a.to_string())
    }

    /// The `User-Agent` of that use (at most 256 characters).
    async fn last_used_user_agent(&self) -> Option<String> {
        self.key.last_used_agent.clone()
    }

    async fn expires_at(&self) -> Option<DateTime> {
        self.key.expires_at.map(DateTime)
    }

    async fn revoked_at(&self) -> Option<DateTime> {
        self.key.revoked_at.map(DateTime)
    }

    /// The networks (CIDR) the key works from, within its service account's
    /// and account's; `null`: wherever they allow.
    async fn allowed_ranges(&self) -> Option<Vec<String>> {
        self.key
            .allowed_ranges
            .as_ref()
            .map(domain::AddressRanges::texts)
    }

    /// When the key was disabled, while it is: it does not work until an
    /// Admin enables it. `null` for a key that is enabled.
    async fn disabled_at(&self) -> Option<DateTime> {
        self.key.disabled.map(|d| DateTime(d.at))
    }

    /// Why it is disabled: unused too long, or by an Admin.
    async fn disabled_reason(&self) -> Option<KeyDisabledReason> {
        self.key.disabled.map(|d| match d.reason {
            domain::DisabledReason::Idle => KeyDisabledReason::Idle,
            domain::DisabledReason::Admin => KeyDisabledReason::Admin,
        })
    }

    /// The first report of this key as found in public, if any: when, where
    /// and by whom.
    async fn leak(&self) -> Option<CredentialLeak> {
        self.key.leak.as_ref().map(CredentialLeak::from)
    }

    async fn created_at(&self) -> DateTime {
        self.key.created_at.into()
    }

    /// How the key breaks its account's credential policy now, if it does:
    /// while it does, verification refuses it. `null` for a key that keeps
    /// the policy, and for one revoked or expired.
    async fn policy_violation(&self, ctx: &Context<'_>) -> Result<Option<PolicyViolation>> {
        Ok(kw(ctx)
            .key_policy_violation(caller(ctx)?, &self.key, now())
            .await
            .api()?
            .map(PolicyViolation::from))
    }

    /// The key this one replaced, when it was made by rotation.
    async fn rotated_from_id(&self) -> Option<ObjectId> {
        self.key
            .rotated_from
            .map(|k| ObjectId::new("ServiceAccountKey", k.0))
    }

    async fn created_by_user(&self, ctx: &Context<'_>) -> Option<User> {
        let found = async {
            let Some(id) = self.key.created_by_user_id else {
                return Ok(None);
            };
            let sa = self.owner(ctx).await?;
            user_seen_from(ctx, sa.account_id, Action::ManageKeys, id).await
        }
        .await;
        or_null(ctx, found)
    }

    async fn service_account(&self, ctx: &Context<'_>) -> Result<ServiceAccount> {
        Ok(ServiceAccount::from(self.owner(ctx).await?))
    }
}

impl ServiceAccountKey {
    async fn owner(&self, ctx: &Context<'_>) -> Result<domain::ServiceAccount> {
        kw(ctx)
            .service_account(
                caller(ctx)?,
                ServiceAccountId(self.key.service_account_id.0),
            )
            .await
            .api()
    }
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
    /// 1 to 20 networks in CIDR notation (or addresses) the key works from,
    /// within its service account's and account's; by default wherever they
    /// allow.
    pub allowed_ranges: Option<Vec<String>>,
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
pub struct DisableServiceAccountKeyInput {
    pub service_account_key_id: ObjectId,
}

#[derive(InputObject, Debug)]
pub struct EnableServiceAccountKeyInput {
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
pub struct UpdateServiceAccountKeyInput {
    pub service_account_key_id: ObjectId,
    /// 1 to 20 networks in CIDR notation (or addresses) the key works from,
    /// within its service account's and account's; `null`: wherever they
    /// allow.
    pub allowed_ranges: Option<Vec<String>>,
}

#[derive(SimpleObject)]
pub struct UpdateServiceAccountKeyPayload {
    pub service_account_key: ServiceAccountKey,
}

#[derive(SimpleObject)]
pub struct RevokeServiceAccountKeyPayload {
    pub service_account_key: ServiceAccountKey,
}

#[derive(SimpleObject, Debug)]
pub struct DisableServiceAccountKeyPayload {
    pub service_account_key: ServiceAccountKey,
}

#[derive(SimpleObject, Debug)]
pub struct EnableServiceAccountKeyPayload {
    pub service_account_key: ServiceAccountKey,
}

#[derive(Debug, Default)]
pub struct KeyMutation;

async fn set_enabled(ctx: &Context<'_>, id: &ObjectId, enabled: bool) -> Result<ServiceAccountKey> {
    let key = kw(ctx)
        .set_key_enabled(caller(ctx)?, key_id(id)?, enabled, now())
        .await
        .api()?;
    Ok(ServiceAccountKey {
        key,
        secret: None,
        owner_role: None,
    })
}

/// Why a key is disabled.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum KeyDisabledReason {
    /// Unused for longer than its account's `disableUnusedAfterDays`.
    Idle,
    /// An Admin disabled it.
    Admin,
}

#[Object]
impl KeyMutation {
    /// Issues a key and returns it. `secret` must be requested: it is shown only here.
    #[graphql(guard = "HumanOnly")]
    async fn create_service_account_key(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceAccountKeyInput,
    ) -> Result<ServiceAccountKey> {
        require_selected(ctx, "secret", SECRET_MESSAGE)?;
        let request = CreateKey {
            service_account_id: service_account_id(&input.service_account_id)?,
            name: key_name(input.name.as_deref())?,
            description: description(input.description.as_deref())?,
            expires: input.expiry()?,
            role_ceiling: input.role_code.map(Into::into),
            allowed_ranges: address_ranges(input.allowed_ranges.as_deref())?,
        };
        let issued = kw(ctx)
            .create_key(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(ServiceAccountKey {
            key: issued.key,
            secret: Some(issued.secret.expose().to_owned()),
            owner_role: None,
        })
    }

    /// Changes where a key works. Every server checks the new ranges on the
    /// key's next request.
    #[graphql(guard = "HumanOnly")]
    async fn update_service_account_key(
        &self,
        ctx: &Context<'_>,
        input: UpdateServiceAccountKeyInput,
    ) -> Result<UpdateServiceAccountKeyPayload> {
        let id = key_id(&input.service_account_key_id)?;
        let ranges = address_ranges(input.allowed_ranges.as_deref())?;
        let key = kw(ctx)
            .set_key_ranges(caller(ctx)?, id, ranges, now())
            .await
            .api()?;
        Ok(UpdateServiceAccountKeyPayload {
            service_account_key: ServiceAccountKey {
                key,
                secret: None,
                owner_role: None,
            },
        })
    }

    /// Revokes a key. Revoking it again changes nothing and keeps the first `revokedAt`.
    #[graphql(guard = "HumanOnly")]
    async fn revoke_service_account_key(
        &self,
        ctx: &Context<'_>,
        input: RevokeServiceAccountKeyInput,
    ) -> Result<RevokeServiceAccountKeyPayload> {
        let id = key_id(&input.service_account_key_id)?;
        let key = kw(ctx).revoke_key(caller(ctx)?, id, now()).await.api()?;
        Ok(RevokeServiceAccountKeyPayload {
            service_account_key: ServiceAccountKey {
                key,
                secret: None,
                owner_role: None,
            },
        })
    }

    /// Stops a key working until it is enabled again; it is not revoked.
    /// Disabling it again changes nothing.
    #[graphql(guard = "HumanOnly")]
    async fn disable_service_account_key(
        &self,
        ctx: &Context<'_>,
        input: DisableServiceAccountKeyInput,
    ) -> Result<DisableServiceAccountKeyPayload> {
        let key = set_enabled(ctx, &input.service_account_key_id, false).await?;
        Ok(DisableServiceAccountKeyPayload {
            service_account_key: key,
        })
    }

    /// Lets a disabled key work again, by an Admin or for want of use; its
    /// time without use counts from now. Enabling it again changes nothing.
    #[graphql(guard = "HumanOnly")]
    async fn enable_service_account_key(
        &self,
        ctx: &Context<'_>,
        input: EnableServiceAccountKeyInput,
    ) -> Result<EnableServiceAccountKeyPayload> {
        let key = set_enabled(ctx, &input.service_account_key_id, true).await?;
        Ok(EnableServiceAccountKeyPayload {
            service_account_key: key,
        })
    }

    /// Replaces a key with a new one of the same name and role ceiling. The old key
    /// keeps working for `overlapSeconds`, then expires. `secret` must be requested.
    #[graphql(guard = "HumanOnly")]
    async fn rotate_service_account_key(
        &self,
        ctx: &Context<'_>,
        input: RotateServiceAccountKeyInput,
    ) -> Result<ServiceAccountKey> {
        require_selected(ctx, "secret", ROTATION_SECRET_MESSAGE)?;
        let request = RotateKey {
            key_id: key_id(&input.service_account_key_id)?,
            expires_at: input.expires_at.map(|t| t.0),
            overlap: input.overlap()?,
        };
        let issued = kw(ctx)
            .rotate_key(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(ServiceAccountKey {
            key: issued.key,
            secret: Some(issued.secret.expose().to_owned()),
            owner_role: None,
        })
    }
}
