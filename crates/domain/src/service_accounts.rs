//! Service accounts: machine identities in one account, with a role, an enabled
//! flag and keys. Not users: they never appear in member lists.

use chrono::{DateTime, Utc};
use entity::{membership, service_account};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::audit::{self, Actor, Target};
use crate::db::write_txn;
use crate::error::{DomainError, DomainResult};
use crate::ids::{AccountId, ServiceAccountId, UserId};
use crate::names::{Description, ServiceAccountName};
use crate::page::Page;
use crate::policy::{Action, authorize};
use crate::principal::Principal;
use crate::role::Role;
use crate::time::{from_millis, to_millis};
use crate::warden::Keywarden;

pub(crate) const KIND: &str = "ServiceAccount";

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
        })
    }
}

#[derive(Clone, Debug)]
pub struct CreateServiceAccount {
    pub account_id: AccountId,
    pub name: ServiceAccountName,
    pub description: Option<Description>,
    pub role: Role,
}

/// A partial update: `None` leaves a field alone. For `description`,
/// `Some(None)` clears it and `Some(Some(_))` sets it.
#[derive(Clone, Debug, Default)]
pub struct UpdateServiceAccount {
    pub name: Option<ServiceAccountName>,
    pub description: Option<Option<Description>>,
    pub role: Option<Role>,
    pub enabled: Option<bool>,
}

impl UpdateServiceAccount {
    /// The audit action: a change of `enabled` alone reads as disable or enable.
    fn action(&self) -> &'static str {
        match self {
            Self {
                name: None,
                description: None,
                role: None,
                enabled: Some(enabled),
            } => {
                if *enabled {
                    "service_account.enable"
                } else {
                    "service_account.disable"
                }
            }
            _ => "service_account.update",
        }
    }
}

/// Loads a service account row, locking it on PostgreSQL when `lock` is set.
pub(crate) async fn load<C: ConnectionTrait>(
    conn: &C,
    id: ServiceAccountId,
    lock: bool,
) -> DomainResult<service_account::Model> {
    let mut select = service_account::Entity::find_by_id(id.0);
    if lock {
        select = select.lock_exclusive();
    }
    select.one(conn).await?.ok_or(DomainError::NotFound(KIND))
}

/// The human a service account's actions are attributed to: its creator while
/// the creator is still a member of the account, otherwise the account's oldest
/// Admin (earliest membership, then lowest user id). Deterministic: the same
/// service account resolves to the same user until that user is gone too.
pub(crate) async fn attributed_user<C: ConnectionTrait>(
    conn: &C,
    id: ServiceAccountId,
) -> DomainResult<Option<UserId>> {
    let sa = load(conn, id, false).await?;
    if let Some(creator) = sa.created_by_user_id {
        let still_member = membership::Entity::find()
            .filter(membership::Column::AccountId.eq(sa.account_id))
            .filter(membership::Column::UserId.eq(creator))
            .one(conn)
            .await?
            .is_some();
        if still_member {
            return Ok(Some(UserId(creator)));
        }
    }
    let oldest_admin = membership::Entity::find()
        .filter(membership::Column::AccountId.eq(sa.account_id))
        .filter(membership::Column::Role.eq(Role::Admin.code()))
        .order_by_asc(membership::Column::CreatedAt)
        .order_by_asc(membership::Column::UserId)
        .one(conn)
        .await?;
    Ok(oldest_admin.map(|m| UserId(m.user_id)))
}

impl Keywarden {
    pub async fn create_service_account(
        &self,
        caller: &Principal,
        input: CreateServiceAccount,
        now: DateTime<Utc>,
    ) -> DomainResult<ServiceAccount> {
        authorize(
            caller,
            input.account_id,
            Action::ManageServiceAccounts,
            "Account",
        )?;
        let txn = write_txn(&self.db).await?;
        let creator = match caller {
            Principal::User(u) => Some(u.user_id.0),
            Principal::ServiceAccount(_) => None,
        };
        let row = service_account::ActiveModel {
            account_id: Set(input.account_id.0),
            name: Set(input.name.into_inner()),
            description: Set(input.description.map(Description::into_inner)),
            role: Set(input.role.code().to_owned()),
            enabled: Set(true),
            created_by_user_id: Set(creator),
            created_at: Set(to_millis(now)),
            updated_at: Set(to_millis(now)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            Actor::Principal(caller),
            Some(input.account_id),
            "service_account.create",
            Target::new(KIND, row.id, Some(&row.name)),
            now,
        )
        .await?;
        self.commit(txn).await?;
        row.try_into()
    }

    /// One service account, for an Admin of its account.
    pub async fn service_account(
        &self,
        caller: &Principal,
        id: ServiceAccountId,
    ) -> DomainResult<ServiceAccount> {
        self.readable(caller, id).await?.try_into()
    }

    /// The caller's own service account, for `me`, as it was when the caller's
    /// key was verified for this request. Needs no permission.
    pub async fn own_service_account(&self, caller: &Principal) -> DomainResult<ServiceAccount> {
        match caller {
            Principal::ServiceAccount(s) => Ok(s.service_account.as_ref().clone()),
            Principal::User(_) => Err(DomainError::NotFound(KIND)),
        }
    }

    pub async fn service_accounts(
        &self,
        caller: &Principal,
        account: AccountId,
        page: Page,
    ) -> DomainResult<Vec<ServiceAccount>> {
        authorize(caller, account, Action::ReadServiceAccounts, "Account")?;
        let mut select = service_account::Entity::find()
            .filter(service_account::Column::AccountId.eq(account.0));
        if let Some(after) = page.after {
            select = select.filter(service_account::Column::Id.gt(after));
        }
        select
            .order_by_asc(service_account::Column::Id)
            .limit(page.rows())
            .all(&self.db)
            .await?
            .into_iter()
            .map(ServiceAccount::try_from)
            .collect()
    }

    pub async fn update_service_account(
        &self,
        caller: &Principal,
        id: ServiceAccountId,
        change: UpdateServiceAccount,
        now: DateTime<Utc>,
    ) -> DomainResult<ServiceAccount> {
        let txn = write_txn(&self.db).await?;
        let row = load(&txn, id, true).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageServiceAccounts, KIND)?;
        let action = change.action();
        let mut active: service_account::ActiveModel = row.into();
        if let Some(name) = change.name {
            active.name = Set(name.into_inner());
        }
        if let Some(description) = change.description {
            active.description = Set(description.map(Description::into_inner));
        }
        if let Some(role) = change.role {
            active.role = Set(role.code().to_owned());
        }
        if let Some(enabled) = change.enabled {
            active.enabled = Set(enabled);
        }
        active.updated_at = Set(to_millis(now));
        let row = active.update(&txn).await?;
        audit::record(
            &txn,
            Actor::Principal(caller),
            Some(account),
            action,
            Target::new(KIND, row.id, Some(&row.name)),
            now,
        )
        .await?;
        self.commit(txn).await?;
        row.try_into()
    }

    /// Deletes a service account for good; its keys go with it.
    pub async fn delete_service_account(
        &self,
        caller: &Principal,
        id: ServiceAccountId,
        now: DateTime<Utc>,
    ) -> DomainResult<ServiceAccount> {
        let txn = write_txn(&self.db).await?;
        let row = load(&txn, id, true).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageServiceAccounts, KIND)?;
        let deleted: ServiceAccount = row.clone().try_into()?;
        // Record first: the actor may be resolved through this very row.
        audit::record(
            &txn,
            Actor::Principal(caller),
            Some(account),
            "service_account.delete",
            Target::new(KIND, row.id, Some(&row.name)),
            now,
        )
        .await?;
        service_account::Entity::delete_by_id(row.id)
            .exec(&txn)
            .await?;
        self.commit(txn).await?;
        Ok(deleted)
    }

    /// The user a service account's actions are attributed to.
    pub async fn attributed_user(
        &self,
        caller: &Principal,
        id: ServiceAccountId,
    ) -> DomainResult<Option<UserId>> {
        self.readable(caller, id).await?;
        attributed_user(&self.db, id).await
    }

    /// A service account's row, if `caller` may read it.
    async fn readable(
        &self,
        caller: &Principal,
        id: ServiceAccountId,
    ) -> DomainResult<service_account::Model> {
        let row = load(&self.db, id, false).await?;
        authorize(
            caller,
            AccountId(row.account_id),
            Action::ReadServiceAccounts,
            KIND,
        )?;
        Ok(row)
    }
}
