//! Service accounts: machine identities in one account, with a role, an enabled
//! flag and keys. Not users: they never appear in member lists.

use chrono::{DateTime, Utc};
use entity::service_account;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::GroupMember;
use crate::base::ids::{AccountId, GroupId, ServiceAccountId, UserId};
use crate::base::kinds;
use crate::base::names::{Description, ServiceAccountName};
use crate::base::page::Page;
use crate::coherence::Scope;
use crate::credentials::rules::policy_of;
use crate::policy::principal::{Principal, ServiceAccount};
use crate::policy::ranges::AddressRanges;
use crate::policy::role::Role;
use crate::policy::table::{Action, authorize};
use crate::warden::audit::{self, AuditAction, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::locks;

#[derive(Clone, Debug)]
pub struct CreateServiceAccount {
    pub account_id: AccountId,
    pub name: ServiceAccountName,
    pub description: Option<Description>,
    pub role: Role,
    /// Groups of the account to put it in (Datafold's form asks for them).
    pub groups: Vec<GroupId>,
    /// Where its keys work, within the account's ranges; `None`: wherever
    /// the account allows.
    pub allowed_ranges: Option<AddressRanges>,
}

/// A partial update: `None` leaves a field alone. For `description`,
/// `Some(None)` clears it and `Some(Some(_))` sets it.
#[derive(Clone, Debug, Default)]
pub struct UpdateServiceAccount {
    pub name: Option<ServiceAccountName>,
    pub description: Option<Option<Description>>,
    pub role: Option<Role>,
    pub enabled: Option<bool>,
    /// Where its keys work, checked as given ([`AddressRanges::parse`]) and
    /// within the account's ranges; `Some(None)` clears it.
    pub allowed_ranges: Option<Option<AddressRanges>>,
}

impl UpdateServiceAccount {
    /// The audit action: a change of `enabled` alone reads as disable or enable.
    fn action(&self) -> AuditAction {
        match self {
            Self {
                name: None,
                description: None,
                role: None,
                enabled: Some(enabled),
                allowed_ranges: None,
            } => {
                if *enabled {
                    AuditAction::ServiceAccountEnable
                } else {
                    AuditAction::ServiceAccountDisable
                }
            }
            _ => AuditAction::ServiceAccountUpdate,
        }
    }
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
        let change = self.change(caller, now).await?;
        if !input.groups.is_empty() {
            // Group limits are counted under the account's lock, as
            // `add_group_members` counts them.
            locks::lock_account(change.txn(), input.account_id).await?;
        }
        if let Some(ranges) = &input.allowed_ranges
            && let Some(outer) = policy_of(change.txn(), input.account_id)
                .await?
                .allowed_ranges
        {
            ranges.within("allowedRanges", &outer, "account")?;
        }
        let row = service_account::ActiveModel {
            account_id: Set(input.account_id.0),
            name: Set(input.name.into_inner()),
            description: Set(input.description.map(Description::into_inner)),
            role: Set(input.role.code().to_owned()),
            enabled: Set(true),
            created_by_user_id: Set(caller.user_id().map(|u| u.0)),
            created_at: Set(change.now_ms()),
            updated_at: Set(change.now_ms()),
            allowed_ranges: Set(input.allowed_ranges.as_ref().map(AddressRanges::stored)),
            ..Default::default()
        }
        .insert(change.txn())
        .await?;
        // The creation first (with its ranges, when it has some), then its
        // place in each group.
        let mut created = Event::new(
            Some(input.account_id),
            AuditAction::ServiceAccountCreate,
            Target::new(kinds::SERVICE_ACCOUNT, row.id, Some(&row.name)),
        );
        if let Some(ranges) = &input.allowed_ranges {
            created = created.changing(
                None,
                Some(serde_json::json!({ "allowedRanges": ranges.texts() })),
            );
        }
        let mut events = vec![created];
        for group in &input.groups {
            let group = entity::group::Entity::find_by_id(group.0)
                .one(change.txn())
                .await?
                .filter(|g| g.account_id == input.account_id.0)
                .ok_or(DomainError::NotFound(kinds::GROUP))?;
            let (_, joined) = crate::access::groups::join(
                &change,
                &group,
                &[GroupMember::ServiceAccount(ServiceAccountId(row.id))],
            )
            .await?;
            events.extend(joined);
        }
        // A new service account has no keys: no verification depends on it.
        change.commit_each(events, &[]).await?;
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
            Principal::User(_) => Err(DomainError::NotFound(kinds::SERVICE_ACCOUNT)),
        }
    }

    pub async fn service_accounts(
        &self,
        caller: &Principal,
        account: AccountId,
        page: Page,
        search: Option<&str>,
    ) -> DomainResult<Vec<ServiceAccount>> {
        authorize(caller, account, Action::ReadServiceAccounts, "Account")?;
        let mut select = service_account::Entity::find()
            .filter(service_account::Column::AccountId.eq(account.0));
        if let Some(text) = search.map(str::trim).filter(|t| !t.is_empty()) {
            // Case-insensitive for ASCII letters on every database.
            let pattern = format!("%{}%", crate::db::like_literal(&text.to_ascii_lowercase()));
            select = select.filter(
                Expr::expr(Func::lower(Expr::col(service_account::Column::Name)))
                    .like(LikeExpr::new(pattern).escape('\\')),
            );
        }
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
        update: UpdateServiceAccount,
        now: DateTime<Utc>,
    ) -> DomainResult<ServiceAccount> {
        let change = self.change(caller, now).await?;
        let row = locks::service_account(change.txn(), id, true).await?;
        let account = AccountId(row.account_id);
        authorize(
            caller,
            account,
            Action::ManageServiceAccounts,
            kinds::SERVICE_ACCOUNT,
        )?;
        let action = update.action();
        let ranges_before = AddressRanges::from_stored(row.allowed_ranges.as_deref());
        if let Some(Some(ranges)) = &update.allowed_ranges
            && let Some(outer) = policy_of(change.txn(), account).await?.allowed_ranges
        {
            ranges.within("allowedRanges", &outer, "account")?;
        }
        let mut active: service_account::ActiveModel = row.into();
        if let Some(name) = update.name {
            active.name = Set(name.into_inner());
        }
        if let Some(description) = update.description {
            active.description = Set(description.map(Description::into_inner));
        }
        if let Some(role) = update.role {
            active.role = Set(role.code().to_owned());
        }
        if let Some(enabled) = update.enabled {
            active.enabled = Set(enabled);
        }
        if let Some(ranges) = &update.allowed_ranges {
            active.allowed_ranges = Set(ranges.as_ref().map(AddressRanges::stored));
        }
        active.updated_at = Set(change.now_ms());
        let row = active.update(change.txn()).await?;
        let mut event = Event::new(
            Some(account),
            action,
            Target::new(kinds::SERVICE_ACCOUNT, row.id, Some(&row.name)),
        );
        if let Some(after) = &update.allowed_ranges
            && *after != ranges_before
        {
            let audited = |r: &Option<AddressRanges>| serde_json::json!({ "allowedRanges": r.as_ref().map(AddressRanges::texts) });
            event = event.changing(Some(audited(&ranges_before)), Some(audited(after)));
        }
        // Its keys' verifications carry the service account as it was read.
        change.commit(event, &[Scope::ServiceAccount(id)]).await?;
        row.try_into()
    }

    /// Deletes a service account for good; its keys go with it.
    pub async fn delete_service_account(
        &self,
        caller: &Principal,
        id: ServiceAccountId,
        now: DateTime<Utc>,
    ) -> DomainResult<ServiceAccount> {
        // Begun first: the actor may be resolved through this very row.
        let change = self.change(caller, now).await?;
        let row = locks::service_account(change.txn(), id, true).await?;
        let account = AccountId(row.account_id);
        authorize(
            caller,
            account,
            Action::ManageServiceAccounts,
            kinds::SERVICE_ACCOUNT,
        )?;
        let deleted: ServiceAccount = row.clone().try_into()?;
        service_account::Entity::delete_by_id(row.id)
            .exec(change.txn())
            .await?;
        let event = Event::new(
            Some(account),
            AuditAction::ServiceAccountDelete,
            Target::new(kinds::SERVICE_ACCOUNT, row.id, Some(&row.name)),
        );
        change.commit(event, &[Scope::ServiceAccount(id)]).await?;
        Ok(deleted)
    }

    /// The user a service account's actions are attributed to.
    pub async fn attributed_user(
        &self,
        caller: &Principal,
        id: ServiceAccountId,
    ) -> DomainResult<Option<UserId>> {
        self.readable(caller, id).await?;
        audit::attributed_user(&self.db, id).await
    }

    /// A service account's row, if `caller` may read it.
    async fn readable(
        &self,
        caller: &Principal,
        id: ServiceAccountId,
    ) -> DomainResult<service_account::Model> {
        let row = locks::service_account(&self.db, id, false).await?;
        authorize(
            caller,
            AccountId(row.account_id),
            Action::ReadServiceAccounts,
            kinds::SERVICE_ACCOUNT,
        )?;
        Ok(row)
    }
}
