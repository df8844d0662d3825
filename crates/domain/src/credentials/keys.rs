//! Service account keys: issued with an optional name, expiry and role ceiling,
//! revoked idempotently, rotated with an overlap, at most 50 active at a time.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::service_account_key as key;
use sea_orm::sea_query::{Condition, Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::{AccountId, KeyId, ServiceAccountId, UserId};
use crate::base::kinds;
use crate::base::names::{Description, KeyName};
use crate::base::page::Page;
use crate::base::time::{Expiry, from_millis, from_millis_opt, future, to_millis};
use crate::coherence::Scope;
use crate::credentials::disabled::Disabled;
use crate::credentials::leaks::Leak;
use crate::credentials::rules::{PolicyViolation, policy_of};
use crate::credentials::token::{Secret, issue_service_account_key};
use crate::policy::principal::{Principal, ServiceAccount};
use crate::policy::ranges::AddressRanges;
use crate::policy::role::Role;
use crate::policy::table::{Action, authorize};
use crate::warden::audit::{AuditAction, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::locks;
use crate::warden::write::Change;

/// Active keys (not revoked, not expired) a service account may hold.
pub const MAX_ACTIVE_KEYS: u64 = 50;
/// The longest a rotated key may keep working beside its successor.
pub const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 60 * 60);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccountKey {
    pub id: KeyId,
    pub service_account_id: ServiceAccountId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub role_ceiling: Option<Role>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The client's address at the use `last_used_at` records, when known.
    pub last_used_from: Option<std::net::IpAddr>,
    /// The `User-Agent` that use sent, cut to [`crate::MAX_AGENT_CHARS`].
    pub last_used_agent: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub rotated_from: Option<KeyId>,
    pub created_by_user_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// The key's start (`lmr_sa_12_AbCd`); `None` for keys made before
    /// keywarden kept it.
    pub prefix: Option<String>,
    /// The first report of the key as found in public, if any.
    pub leak: Option<Leak>,
    /// Where the key works, within its service account's and account's
    /// ranges; `None`: wherever they allow.
    pub allowed_ranges: Option<AddressRanges>,
    /// When and why the key was disabled, while it is (see
    /// [`crate::credentials::idle`]).
    pub disabled: Option<Disabled>,
    /// When it was last enabled again after being disabled.
    pub enabled_at: Option<DateTime<Utc>>,
}

impl ServiceAccountKey {
    /// Not revoked and not expired at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| t > now)
    }

    /// The key as the audit log shows it: never its secret, which it does not hold.
    fn audited(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id.0,
            "name": self.name,
            "description": self.description,
            "roleCeiling": self.role_ceiling.map(Role::code),
            "expiresAt": self.expires_at.map(crate::base::time::to_millis),
            "allowedRanges": self.allowed_ranges.as_ref().map(AddressRanges::texts),
        })
    }

    /// The role the key acts with under a service account of `role`.
    pub fn acts_with(&self, role: Role) -> Role {
        role.capped(self.role_ceiling)
    }
}

/// Refuses a ceiling above the service account's role: the key could never
/// act with it, and showing it would mislead.
fn check_ceiling(ceiling: Option<Role>, service_account_role: Role) -> DomainResult<()> {
    match ceiling {
        Some(ceiling) if ceiling > service_account_role => Err(DomainError::invalid(format!(
            "roleCode {} is above the service account's role {}: a key acts with at most \
             its service account's role",
            ceiling.code(),
            service_account_role.code()
        ))),
        _ => Ok(()),
    }
}

impl TryFrom<key::Model> for ServiceAccountKey {
    type Error = DomainError;

    fn try_from(m: key::Model) -> DomainResult<Self> {
        Ok(Self {
            id: KeyId(m.id),
            service_account_id: ServiceAccountId(m.service_account_id),
            name: m.name,
            description: m.description,
            role_ceiling: m
                .role_ceiling
                .as_deref()
                .map(Role::from_stored)
                .transpose()?,
            expires_at: from_millis_opt(m.expires_at)?,
            last_used_at: from_millis_opt(m.last_used_at)?,
            last_used_from: m.last_used_from.as_deref().and_then(|a| a.parse().ok()),
            last_used_agent: m.last_used_agent,
            revoked_at: from_millis_opt(m.revoked_at)?,
            rotated_from: m.rotated_from_id.map(KeyId),
            created_by_user_id: m.created_by_user_id.map(UserId),
            created_at: from_millis(m.created_at)?,
            prefix: m.prefix,
            leak: Leak::from_stored(m.leaked_at, m.leak_url, m.leak_source, m.leak_reporter)?,
            allowed_ranges: AddressRanges::from_stored(m.allowed_ranges.as_deref()),
            disabled: Disabled::from_stored(m.disabled_at, m.disabled_reason.as_deref())?,
            enabled_at: from_millis_opt(m.enabled_at)?,
        })
    }
}

/// A key and its secret, which exists only in this value.
#[derive(Debug)]
pub struct IssuedKey {
    pub key: ServiceAccountKey,
    pub secret: Secret,
}

#[derive(Clone, Debug)]
pub struct CreateKey {
    pub service_account_id: ServiceAccountId,
    pub name: Option<KeyName>,
    /// What the key is for, shown wherever keys are listed.
    pub description: Option<Description>,
    /// When the key stops working, resolved against the change that issues it.
    pub expires: Option<Expiry>,
    /// The highest role the key may act with.
    pub role_ceiling: Option<Role>,
    /// Where the key works, within its service account's and account's
    /// ranges (see [`AddressRanges::parse`]).
    pub allowed_ranges: Option<AddressRanges>,
}

#[derive(Clone, Debug)]
pub struct RotateKey {
    pub key_id: KeyId,
    /// The new key's expiry; it must lie in the future.
    pub expires_at: Option<DateTime<Utc>>,
    /// How long the old key keeps working; zero revokes it now.
    pub overlap: Duration,
}

/// The stored fields of a key about to be issued.
struct NewKey {
    service_account_id: ServiceAccountId,
    name: Option<String>,
    description: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    role_ceiling: Option<Role>,
    rotated_from: Option<KeyId>,
    allowed_ranges: Option<AddressRanges>,
}

/// Refuses a key's ranges that name anything outside its service account's
/// or its account's.
async fn check_ranges(
    conn: &impl ConnectionTrait,
    ranges: Option<&AddressRanges>,
    sa: &entity::service_account::Model,
) -> DomainResult<()> {
    let Some(ranges) = ranges else {
        return Ok(());
    };
    if let Some(outer) = AddressRanges::from_stored(sa.allowed_ranges.as_deref()) {
        ranges.within("allowedRanges", &outer, "service account")?;
    }
    if let Some(outer) = policy_of(conn, AccountId(sa.account_id))
        .await?
        .allowed_ranges
    {
        ranges.within("allowedRanges", &outer, "account")?;
    }
    Ok(())
}

/// The condition "active at `now`" in SQL.
fn active_at(now: DateTime<Utc>) -> Condition {
    Condition::all().add(key::Column::RevokedAt.is_null()).add(
        Condition::any()
            .add(key::Column::ExpiresAt.is_null())
            .add(key::Column::ExpiresAt.gt(to_millis(now))),
    )
}

async fn count_active<C: ConnectionTrait>(
    conn: &C,
    sa: ServiceAccountId,
    except: Option<KeyId>,
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    let mut select = key::Entity::find()
        .filter(key::Column::ServiceAccountId.eq(sa.0))
        .filter(active_at(now));
    if let Some(except) = except {
        select = select.filter(key::Column::Id.ne(except.0));
    }
    Ok(select.count(conn).await?)
}

/// How a service account's keys stand, as lists of service accounts show it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyUsage {
    /// Keys that work now: neither revoked nor expired.
    pub active: u64,
    /// When any of its keys, working or not, was last used.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl Keywarden {
    /// How the keys of each of `sas` stand, for an Admin of their accounts,
    /// in two reads however many there are. The service accounts are as this
    /// crate returned them; one with no key at all has none working, never
    /// used.
    pub async fn key_usages(
        &self,
        caller: &Principal,
        sas: &[ServiceAccount],
        now: DateTime<Utc>,
    ) -> DomainResult<HashMap<ServiceAccountId, KeyUsage>> {
        for sa in sas {
            authorize(
                caller,
                sa.account_id,
                Action::ManageKeys,
                kinds::SERVICE_ACCOUNT,
            )?;
        }
        let ids: Vec<i64> = sas.iter().map(|sa| sa.id.0).collect();
        let mut usages: HashMap<ServiceAccountId, KeyUsage> =
            sas.iter().map(|sa| (sa.id, KeyUsage::default())).collect();
        if ids.is_empty() {
            return Ok(usages);
        }
        let of_these =
            || key::Entity::find().filter(key::Column::ServiceAccountId.is_in(ids.clone()));
        let active: Vec<(i64, i64)> = of_these()
            .filter(active_at(now))
            .select_only()
            .column(key::Column::ServiceAccountId)
            .column_as(key::Column::Id.count(), "active")
            .group_by(key::Column::ServiceAccountId)
            .into_tuple()
            .all(&self.db)
            .await?;
        let last: Vec<(i64, Option<i64>)> = of_these()
            .select_only()
            .column(key::Column::ServiceAccountId)
            .column_as(
                Expr::from(Func::max(Expr::col(key::Column::LastUsedAt))),
                "last_used_at",
            )
            .group_by(key::Column::ServiceAccountId)
            .into_tuple()
            .all(&self.db)
            .await?;
        for (id, count) in active {
            if let Some(usage) = usages.get_mut(&ServiceAccountId(id)) {
                usage.active = u64::try_from(count).unwrap_or(0);
            }
        }
        for (id, at) in last {
            if let Some(usage) = usages.get_mut(&ServiceAccountId(id)) {
                usage.last_used_at = from_millis_opt(at)?;
            }
        }
        Ok(usages)
    }

    /// Inserts a key within `change`, created when the change is made.
    async fn insert_key(
        &self,
        change: &Change<'_>,
        caller: &Principal,
        new: NewKey,
    ) -> DomainResult<(IssuedKey, Scope)> {
        let secret = issue_service_account_key(new.service_account_id);
        let stored = self.keyring.digest(secret.expose());
        let scope = Scope::issued(&stored.digest);
        let row = key::ActiveModel {
            service_account_id: Set(new.service_account_id.0),
            name: Set(new.name),
            description: Set(new.description),
            digest: Set(stored.digest.to_vec()),
            pepper_id: Set(stored.pepper_id),
            role_ceiling: Set(new.role_ceiling.map(|r| r.code().to_owned())),
            expires_at: Set(new.expires_at.map(to_millis)),
            rotated_from_id: Set(new.rotated_from.map(|k| k.0)),
            created_by_user_id: Set(caller.user_id().map(|u| u.0)),
            created_at: Set(change.now_ms()),
            prefix: Set(Some(secret.prefix())),
            allowed_ranges: Set(new.allowed_ranges.as_ref().map(AddressRanges::stored)),
            ..Default::default()
        }
        .insert(change.txn())
        .await?;
        let issued = IssuedKey {
            key: row.try_into()?,
            secret,
        };
        Ok((issued, scope))
    }

    /// Issues a key. The secret is in the result and nowhere else.
    pub async fn create_key(
        &self,
        caller: &Principal,
        input: CreateKey,
        now: DateTime<Utc>,
    ) -> DomainResult<IssuedKey> {
        // Checked before the change begins, against the time it will be made at.
        let expires_at = input.expires.map(|e| e.at(now)).transpose()?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let sa = locks::service_account(txn, input.service_account_id, true).await?;
        let account = AccountId(sa.account_id);
        authorize(caller, account, Action::ManageKeys, kinds::SERVICE_ACCOUNT)?;
        check_ceiling(input.role_ceiling, Role::from_stored(&sa.role)?)?;
        check_ranges(txn, input.allowed_ranges.as_ref(), &sa).await?;
        policy_of(txn, account)
            .await?
            .admits_new_key(change.now(), expires_at)?;
        if count_active(txn, input.service_account_id, None, now).await? >= MAX_ACTIVE_KEYS {
            return Err(DomainError::LimitExceeded(
                "A service account can have at most 50 active keys: revoke one first",
            ));
        }
        let (issued, issued_scope) = self
            .insert_key(
                &change,
                caller,
                NewKey {
                    service_account_id: input.service_account_id,
                    name: input.name.map(KeyName::into_inner),
                    description: input.description.map(Description::into_inner),
                    expires_at,
                    role_ceiling: input.role_ceiling,
                    rotated_from: None,
                    allowed_ranges: input.allowed_ranges,
                },
            )
            .await?;
        let event = Event::new(
            Some(account),
            AuditAction::KeyCreate,
            Target::new(kinds::KEY, issued.key.id.0, issued.key.name.as_deref()),
        )
        .changing(None, Some(issued.key.audited()));
        change.commit(event, &[issued_scope]).await?;
        Ok(issued)
    }

    /// Revokes a key. Revoking it again keeps the first `revokedAt`.
    pub async fn revoke_key(
        &self,
        caller: &Principal,
        id: KeyId,
        now: DateTime<Utc>,
    ) -> DomainResult<ServiceAccountKey> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let (row, sa) = load_with_account(txn, id).await?;
        let account = AccountId(sa.account_id);
        authorize(caller, account, Action::ManageKeys, kinds::KEY)?;
        // Conditional, so that of two concurrent revocations the first time stands.
        key::Entity::update_many()
            .col_expr(key::Column::RevokedAt, Expr::value(change.now_ms()))
            .filter(key::Column::Id.eq(row.id))
            .filter(key::Column::RevokedAt.is_null())
            .exec(txn)
            .await?;
        let row = key::Entity::find_by_id(row.id)
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound(kinds::KEY))?;
        let event = Event::new(
            Some(account),
            AuditAction::KeyRevoke,
            Target::new(kinds::KEY, row.id, row.name.as_deref()),
        );
        change.commit(event, &[Scope::Key(id)]).await?;
        row.try_into()
    }

    /// Replaces an active key with a new one of the same name and role ceiling.
    /// The old key keeps working for `overlap`, then expires; with no overlap it is
    /// revoked at once.
    pub async fn rotate_key(
        &self,
        caller: &Principal,
        input: RotateKey,
        now: DateTime<Utc>,
    ) -> DomainResult<IssuedKey> {
        if input.overlap > MAX_OVERLAP {
            return Err(DomainError::invalid(
                "overlapSeconds must be between 0 and 604800 (7 days)",
            ));
        }
        let expires_at = input
            .expires_at
            .map(|t| future("expiresAt", t, now))
            .transpose()?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let old_sa = load_with_account(txn, input.key_id).await?.1;
        // Lock the service account before reading the key again, as creation does.
        let sa = locks::service_account(txn, ServiceAccountId(old_sa.id), true).await?;
        let account = AccountId(sa.account_id);
        authorize(caller, account, Action::ManageKeys, kinds::KEY)?;
        let old_row = key::Entity::find_by_id(input.key_id.0)
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound(kinds::KEY))?;
        let old: ServiceAccountKey = old_row.clone().try_into()?;
        if !old.is_active(now) {
            return Err(DomainError::invalid(
                "Only an active key can be rotated: this one is revoked or expired",
            ));
        }
        policy_of(txn, account)
            .await?
            .admits_new_key(change.now(), expires_at)?;
        let sa_id = ServiceAccountId(sa.id);
        if count_active(txn, sa_id, Some(old.id), now).await? >= MAX_ACTIVE_KEYS {
            return Err(DomainError::LimitExceeded(
                "A service account can have at most 50 active keys: revoke one first",
            ));
        }
        let (issued, issued_scope) = self
            .insert_key(
                &change,
                caller,
                NewKey {
                    service_account_id: sa_id,
                    name: old.name.clone(),
                    description: old.description.clone(),
                    expires_at,
                    role_ceiling: old.role_ceiling,
                    rotated_from: Some(old.id),
                    allowed_ranges: old.allowed_ranges.clone(),
                },
            )
            .await?;
        let mut retiring: key::ActiveModel = old_row.into();
        if input.overlap.is_zero() {
            retiring.revoked_at = Set(Some(change.now_ms()));
        } else {
            let overlap = chrono::Duration::from_std(input.overlap)
                .map_err(|e| DomainError::Internal(e.to_string()))?;
            let end = change.now() + overlap;
            let end = old.expires_at.map_or(end, |t| t.min(end));
            retiring.expires_at = Set(Some(to_millis(end)));
        }
        retiring.update(txn).await?;
        let event = Event::new(
            Some(account),
            AuditAction::KeyRotate,
            Target::new(kinds::KEY, old.id.0, old.name.as_deref()),
        )
        .changing(Some(old.audited()), Some(issued.key.audited()));
        change
            .commit(event, &[Scope::Key(old.id), issued_scope])
            .await?;
        Ok(issued)
    }

    /// Sets where a key works (`None`: wherever its service account and
    /// account allow), for an Admin of its account. Every server checks the
    /// new ranges on the key's next request.
    pub async fn set_key_ranges(
        &self,
        caller: &Principal,
        id: KeyId,
        ranges: Option<AddressRanges>,
        now: DateTime<Utc>,
    ) -> DomainResult<ServiceAccountKey> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let (row, sa) = key_to_change(txn, caller, id).await?;
        let account = AccountId(sa.account_id);
        check_ranges(txn, ranges.as_ref(), &sa).await?;
        let before: ServiceAccountKey = row.clone().try_into()?;
        let mut active: key::ActiveModel = row.into();
        active.allowed_ranges = Set(ranges.as_ref().map(AddressRanges::stored));
        let after: ServiceAccountKey = active.update(txn).await?.try_into()?;
        let event = Event::new(
            Some(account),
            AuditAction::KeyUpdate,
            Target::new(kinds::KEY, id.0, after.name.as_deref()),
        )
        .changing(Some(before.audited()), Some(after.audited()));
        let scopes: &[Scope] = if before == after {
            &[]
        } else {
            &[Scope::Key(id)]
        };
        change.commit(event, scopes).await?;
        Ok(after)
    }

    /// A page of a service account's keys, newest first; revoked and expired
    /// ones included. `page.after` is a key id.
    pub async fn keys(
        &self,
        caller: &Principal,
        sa: ServiceAccountId,
        page: Page,
    ) -> DomainResult<Vec<ServiceAccountKey>> {
        let row = locks::service_account(&self.db, sa, false).await?;
        authorize(
            caller,
            AccountId(row.account_id),
            Action::ManageKeys,
            kinds::SERVICE_ACCOUNT,
        )?;
        let mut select = key::Entity::find().filter(key::Column::ServiceAccountId.eq(sa.0));
        if let Some(after) = page.after {
            select = select.filter(key::Column::Id.lt(after));
        }
        select
            .order_by_desc(key::Column::Id)
            .limit(page.rows())
            .all(&self.db)
            .await?
            .into_iter()
            .map(ServiceAccountKey::try_from)
            .collect()
    }

    /// How `key` breaks its account's policy now, if it does, for an Admin
    /// of the account: verification refuses it for that reason. A key that
    /// is revoked or expired is not judged.
    pub async fn key_policy_violation(
        &self,
        caller: &Principal,
        key: &ServiceAccountKey,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<PolicyViolation>> {
        let sa = locks::service_account(&self.db, key.service_account_id, false).await?;
        let account = AccountId(sa.account_id);
        authorize(caller, account, Action::ManageKeys, kinds::KEY)?;
        if !key.is_active(now) {
            return Ok(None);
        }
        let policy = policy_of(&self.db, account).await?;
        Ok(policy
            .judge_key(to_millis(key.created_at), key.expires_at.map(to_millis))
            .err())
    }

    /// One key, for an Admin of its account.
    pub async fn key(&self, caller: &Principal, id: KeyId) -> DomainResult<ServiceAccountKey> {
        let (row, sa) = load_with_account(&self.db, id).await?;
        authorize(
            caller,
            AccountId(sa.account_id),
            Action::ManageKeys,
            kinds::KEY,
        )?;
        row.try_into()
    }
}

/// A key about to be changed by `caller`, an Admin of its account, read
/// under its service account's lock (so that changes of one service
/// account's keys are made one after the other), with that service account.
/// The caller is judged before the lock is taken (a service account never
/// changes account), so no one outside the account ever holds it.
pub(crate) async fn key_to_change<C: ConnectionTrait>(
    txn: &C,
    caller: &Principal,
    id: KeyId,
) -> DomainResult<(key::Model, entity::service_account::Model)> {
    let sa = load_with_account(txn, id).await?.1;
    authorize(
        caller,
        AccountId(sa.account_id),
        Action::ManageKeys,
        kinds::KEY,
    )?;
    let sa = locks::service_account(txn, ServiceAccountId(sa.id), true).await?;
    let row = key::Entity::find_by_id(id.0)
        .one(txn)
        .await?
        .ok_or(DomainError::NotFound(kinds::KEY))?;
    Ok((row, sa))
}

async fn load_with_account<C: ConnectionTrait>(
    conn: &C,
    id: KeyId,
) -> DomainResult<(key::Model, entity::service_account::Model)> {
    match key::Entity::find_by_id(id.0)
        .find_also_related(entity::service_account::Entity)
        .one(conn)
        .await?
    {
        Some((row, Some(sa))) => Ok((row, sa)),
        _ => Err(DomainError::NotFound(kinds::KEY)),
    }
}
