//! Service accounts: the `ServiceAccount` object, its keys' usage, and the
//! mutations that make, change and delete one.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use domain::ids::ServiceAccountId;
use domain::{Action, CreateServiceAccount, ServiceAccountName, UpdateServiceAccount};

use crate::access::groups::groups_of;
use crate::base::context::{HumanOnly, caller, kw, now, or_null};
use crate::base::error::{ApiResult, api};
use crate::base::inputs::{
    account_id, address_ranges, address_ranges_change, description, description_change, group_id,
    not_null, service_account_id,
};
use crate::base::page::{KEYS_PAGE, page};
use crate::base::roles::{RoleCode, RoleInfo};
use crate::base::scalars::{DateTime, ObjectId};
use crate::objects::{Account, Group, ServiceAccount, ServiceAccountKey, User, user_seen_from};

/// How a service account's keys stand.
#[derive(SimpleObject, Debug)]
pub struct KeyUsage {
    /// Keys that work now: neither revoked nor expired.
    pub active_keys: i32,
    /// When any of its keys, working or not, was last used.
    pub last_used_at: Option<DateTime>,
}

/// A machine identity in one account.
#[Object]
impl ServiceAccount {
    pub(crate) async fn id(&self) -> ObjectId {
        ObjectId::new("ServiceAccount", self.0.id.0)
    }

    pub(crate) async fn name(&self) -> String {
        self.0.name.clone()
    }

    async fn description(&self) -> Option<String> {
        self.0.description.clone()
    }

    async fn role_code(&self) -> RoleCode {
        self.0.role.into()
    }

    async fn role(&self) -> RoleInfo {
        self.0.role.into()
    }

    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// The networks (CIDR) its keys work from, within its account's; `null`:
    /// wherever the account allows.
    async fn allowed_ranges(&self) -> Option<Vec<String>> {
        self.0
            .allowed_ranges
            .as_ref()
            .map(domain::AddressRanges::texts)
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }

    pub(crate) async fn is_service_account(&self) -> bool {
        true
    }

    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let account = kw(ctx)
            .account(caller(ctx)?, self.0.account_id)
            .await
            .api()?;
        Ok(Account(account))
    }

    /// The user who created it, while that user exists. `null`, with an
    /// error, for a caller who may not read users (a service account).
    async fn created_by_user(&self, ctx: &Context<'_>) -> Option<User> {
        let found = match self.0.created_by_user_id {
            Some(id) => {
                user_seen_from(ctx, self.0.account_id, Action::ReadServiceAccounts, id).await
            }
            None => Ok(None),
        };
        or_null(ctx, found)
    }

    /// The user its actions are attributed to: its creator while a member of the
    /// account, otherwise the account's oldest Admin. `null`, with an error, for
    /// a caller who may not read users (a service account).
    async fn attributed_user(&self, ctx: &Context<'_>) -> Option<User> {
        let found = async {
            let who = kw(ctx)
                .attributed_user(caller(ctx)?, self.0.id)
                .await
                .api()?;
            match who {
                Some(id) => {
                    user_seen_from(ctx, self.0.account_id, Action::ReadServiceAccounts, id).await
                }
                None => Ok(None),
            }
        }
        .await;
        or_null(ctx, found)
    }

    /// The groups it is in, by name (Admins, and the service account itself).
    async fn groups(&self, ctx: &Context<'_>) -> Option<Vec<Group>> {
        groups_of(
            ctx,
            self.0.account_id,
            domain::GroupMember::ServiceAccount(self.0.id),
        )
        .await
    }

    /// How many of its keys work now, and when any was last used (Admins).
    async fn key_usage(&self, ctx: &Context<'_>) -> Option<KeyUsage> {
        let found = async {
            let usage = match self.1 {
                Some(usage) => usage,
                None => kw(ctx)
                    .key_usages(
                        caller(ctx)?,
                        std::slice::from_ref(&self.0),
                        domain::time::now(),
                    )
                    .await
                    .api()?
                    .remove(&self.0.id)
                    .unwrap_or_default(),
            };
            Ok(Some(KeyUsage {
                active_keys: i32::try_from(usage.active).unwrap_or(i32::MAX),
                last_used_at: usage.last_used_at.map(DateTime),
            }))
        }
        .await;
        or_null(ctx, found)
    }

    /// Its keys, newest first, revoked and expired ones included: up to `first`
    /// (by default 50, at most 100) after the key whose id is `after`.
    async fn keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ObjectId>,
    ) -> Option<Vec<ServiceAccountKey>> {
        let found: Result<Option<Vec<ServiceAccountKey>>> = async {
            let page = page(first, after.as_ref(), "ServiceAccountKey", KEYS_PAGE)?;
            let list = kw(ctx).keys(caller(ctx)?, self.0.id, page).await.api()?;
            Ok(Some(
                list.into_iter()
                    .map(|key| ServiceAccountKey {
                        key,
                        secret: None,
                        owner_role: Some(self.0.role),
                    })
                    .collect(),
            ))
        }
        .await;
        or_null(ctx, found)
    }
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
    /// 1 to 20 networks in CIDR notation (or addresses) its keys work from,
    /// within its account's; left out: wherever the account allows.
    pub allowed_ranges: Option<Vec<String>>,
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
    /// 1 to 20 networks in CIDR notation (or addresses) its keys work from,
    /// within its account's; `null`: wherever the account allows.
    pub allowed_ranges: MaybeUndefined<Vec<String>>,
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
            allowed_ranges: address_ranges_change(&self.allowed_ranges)?,
        };
        Ok((id, change))
    }
}

#[derive(InputObject, Debug)]
pub struct DeleteServiceAccountInput {
    pub service_account_id: ObjectId,
}

#[derive(SimpleObject)]
pub struct CreateServiceAccountPayload {
    pub service_account: ServiceAccount,
}

#[derive(SimpleObject)]
pub struct UpdateServiceAccountPayload {
    pub service_account: ServiceAccount,
}

#[derive(SimpleObject)]
pub struct DeleteServiceAccountPayload {
    /// The service account as it was before deletion.
    pub service_account: ServiceAccount,
}

#[derive(Debug, Default)]
pub struct ServiceAccountMutation;

#[Object]
impl ServiceAccountMutation {
    #[graphql(guard = "HumanOnly")]
    async fn create_service_account(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceAccountInput,
    ) -> Result<CreateServiceAccountPayload> {
        let request = CreateServiceAccount {
            account_id: account_id(&input.account_id)?,
            name: ServiceAccountName::parse(&input.name).map_err(api)?,
            description: description(input.description.as_deref())?,
            role: input.role_code.into(),
            groups: input
                .group_ids
                .iter()
                .flatten()
                .map(group_id)
                .collect::<Result<_>>()?,
            allowed_ranges: address_ranges(input.allowed_ranges.as_deref())?,
        };
        let sa = kw(ctx)
            .create_service_account(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(CreateServiceAccountPayload {
            service_account: ServiceAccount::from(sa),
        })
    }

    #[graphql(guard = "HumanOnly")]
    async fn update_service_account(
        &self,
        ctx: &Context<'_>,
        input: UpdateServiceAccountInput,
    ) -> Result<UpdateServiceAccountPayload> {
        let (id, change) = input.into_change()?;
        let sa = kw(ctx)
            .update_service_account(caller(ctx)?, id, change, now())
            .await
            .api()?;
        Ok(UpdateServiceAccountPayload {
            service_account: ServiceAccount::from(sa),
        })
    }

    /// Deletes a service account for good. All of its keys stop working at once.
    #[graphql(guard = "HumanOnly")]
    async fn delete_service_account(
        &self,
        ctx: &Context<'_>,
        input: DeleteServiceAccountInput,
    ) -> Result<DeleteServiceAccountPayload> {
        let id = service_account_id(&input.service_account_id)?;
        let sa = kw(ctx)
            .delete_service_account(caller(ctx)?, id, now())
            .await
            .api()?;
        Ok(DeleteServiceAccountPayload {
            service_account: ServiceAccount::from(sa),
        })
    }
}
