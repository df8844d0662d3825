//! The permissions an account defines, and the named sets of them that
//! groups grant. keywarden's own permissions belong to the built-in sets of
//! the roles and to no other set: managing keywarden stays with human Admins.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use entity::{group, group_grant, permission, permission_set, permission_set_permission as held};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::access::projects::quoted;
use crate::base::error::{DomainError, DomainResult, duplicate_is_conflict};
use crate::base::ids::{AccountId, PermissionId, PermissionSetId};
use crate::base::kinds;
use crate::base::limits;
use crate::base::names::{Description, PermissionName, PermissionSetName, SAME_NAME, name_key};
use crate::base::time::from_millis;
use crate::coherence::Scope;
use crate::policy::principal::Principal;
use crate::policy::role::Role;
use crate::policy::table::{Action, RESERVED_RESOURCES, authorize, role_permissions};
use crate::warden::audit::{AuditAction, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::locks::lock_account;

/// A permission an account defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permission {
    pub id: PermissionId,
    pub account_id: AccountId,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Permission {
    fn audited(&self) -> serde_json::Value {
        serde_json::json!({ "name": self.name, "description": self.description })
    }
}

impl TryFrom<permission::Model> for Permission {
    type Error = DomainError;

    fn try_from(m: permission::Model) -> DomainResult<Self> {
        Ok(Self {
            id: PermissionId(m.id),
            account_id: AccountId(m.account_id),
            name: m.name,
            description: m.description,
            created_at: from_millis(m.created_at)?,
        })
    }
}

/// Which set: a role's built-in one, or one an Admin made.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SetKind {
    BuiltIn(Role),
    Custom(PermissionSetId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionSet {
    pub kind: SetKind,
    pub account_id: AccountId,
    pub name: String,
    pub description: Option<String>,
    /// Sorted. The Admin set lists keywarden's own permissions; it also holds
    /// every permission the account defines.
    pub permissions: Vec<String>,
    /// `None` for a built-in set.
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl PermissionSet {
    /// The built-in set of `role` in `account`.
    pub fn built_in(account: AccountId, role: Role) -> Self {
        let mut permissions: Vec<String> = role_permissions(role)
            .into_iter()
            .map(str::to_owned)
            .collect();
        permissions.sort();
        Self {
            kind: SetKind::BuiltIn(role),
            account_id: account,
            name: role.code().to_owned(),
            description: Some(match role {
                Role::Admin => "Everything: keywarden's own permissions and every permission \
                                the account defines, on every project"
                    .to_owned(),
                _ => format!("What the {} role holds: reading its account", role.code()),
            }),
            permissions,
            created_at: None,
            updated_at: None,
        }
    }

    fn audited(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "permissions": self.permissions,
        })
    }
}

#[derive(Clone, Debug)]
pub struct CreatePermission {
    pub account_id: AccountId,
    pub name: PermissionName,
    pub description: Option<Description>,
}

#[derive(Clone, Debug)]
pub struct CreatePermissionSet {
    pub account_id: AccountId,
    pub name: PermissionSetName,
    pub description: Option<Description>,
    pub permissions: Vec<PermissionName>,
}

/// A partial update: `None` leaves a field alone; `permissions` replaces the
/// whole list.
#[derive(Clone, Debug, Default)]
pub struct UpdatePermissionSet {
    pub name: Option<PermissionSetName>,
    pub description: Option<Option<Description>>,
    pub permissions: Option<Vec<PermissionName>>,
}

/// Refuses a permission on one of keywarden's own resources.
fn not_reserved(name: &PermissionName) -> DomainResult<()> {
    if RESERVED_RESOURCES.contains(&name.resource()) {
        return Err(DomainError::invalid(format!(
            "{} is on {:?}, one of keywarden's own resources ({}): those permissions come \
             with the roles and cannot be defined or put in a set",
            name.as_str(),
            name.resource(),
            RESERVED_RESOURCES.join(", ")
        )));
    }
    Ok(())
}

async fn load_set<C: ConnectionTrait>(
    conn: &C,
    id: PermissionSetId,
) -> DomainResult<permission_set::Model> {
    permission_set::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound(kinds::PERMISSION_SET))
}

/// The permission names of each of `sets`, sorted.
pub(crate) async fn permissions_of<C: ConnectionTrait>(
    conn: &C,
    sets: &[i64],
) -> Result<Vec<(i64, Vec<String>)>, sea_orm::DbErr> {
    if sets.is_empty() {
        return Ok(Vec::new());
    }
    let pairs = held::Entity::find()
        .filter(held::Column::PermissionSetId.is_in(sets.iter().copied()))
        .all(conn)
        .await?;
    let names: std::collections::HashMap<i64, String> = permission::Entity::find()
        .filter(permission::Column::Id.is_in(pairs.iter().map(|p| p.permission_id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    Ok(sets
        .iter()
        .map(|set| {
            let mut list: Vec<String> = pairs
                .iter()
                .filter(|p| p.permission_set_id == *set)
                .filter_map(|p| names.get(&p.permission_id).cloned())
                .collect();
            list.sort();
            (*set, list)
        })
        .collect())
}

/// A custom set's row with its permissions.
fn custom(row: permission_set::Model, permissions: Vec<String>) -> DomainResult<PermissionSet> {
    Ok(PermissionSet {
        kind: SetKind::Custom(PermissionSetId(row.id)),
        account_id: AccountId(row.account_id),
        name: row.name,
        description: row.description,
        permissions,
        created_at: Some(from_millis(row.created_at)?),
        updated_at: Some(from_millis(row.updated_at)?),
    })
}

async fn custom_set<C: ConnectionTrait>(
    conn: &C,
    row: permission_set::Model,
) -> DomainResult<PermissionSet> {
    let permissions = permissions_of(conn, &[row.id])
        .await?
        .pop()
        .map(|(_, list)| list)
        .unwrap_or_default();
    custom(row, permissions)
}

/// Puts exactly `names` in set `set`, each defined by the account: refuses,
/// naming them, any it does not define.
async fn fill<C: ConnectionTrait>(
    conn: &C,
    account: AccountId,
    set: i64,
    names: &[PermissionName],
) -> DomainResult<()> {
    let wanted: BTreeSet<&str> = names.iter().map(PermissionName::as_str).collect();
    limits::SET_PERMISSIONS.allows(0, wanted.len() as u64)?;
    for name in names {
        not_reserved(name)?;
    }
    let defined = permission::Entity::find()
        .filter(permission::Column::AccountId.eq(account.0))
        .filter(permission::Column::Name.is_in(wanted.iter().copied()))
        .all(conn)
        .await?;
    let missing: Vec<String> = wanted
        .iter()
        .filter(|w| !defined.iter().any(|d| d.name == **w))
        .map(|w| (*w).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(DomainError::invalid(format!(
            "The account defines no permission {}: create it first (createPermission)",
            quoted(&missing)
        )));
    }
    held::Entity::delete_many()
        .filter(held::Column::PermissionSetId.eq(set))
        .exec(conn)
        .await?;
    if !defined.is_empty() {
        held::Entity::insert_many(defined.into_iter().map(|d| held::ActiveModel {
            permission_set_id: Set(set),
            permission_id: Set(d.id),
            ..Default::default()
        }))
        .exec(conn)
        .await?;
    }
    Ok(())
}

fn set_taken(name: &str) -> String {
    format!("A permission set named {name:?} exists already in this account{SAME_NAME}")
}

impl Keywarden {
    pub async fn create_permission(
        &self,
        caller: &Principal,
        input: CreatePermission,
        now: DateTime<Utc>,
    ) -> DomainResult<Permission> {
        authorize(caller, input.account_id, Action::ManageAccess, "Account")?;
        not_reserved(&input.name)?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        lock_account(txn, input.account_id).await?;
        let count = permission::Entity::find()
            .filter(permission::Column::AccountId.eq(input.account_id.0))
            .count(txn)
            .await?;
        limits::PERMISSIONS.check(count)?;
        let name = input.name.into_inner();
        let row = permission::ActiveModel {
            account_id: Set(input.account_id.0),
            name: Set(name.clone()),
            description: Set(input.description.map(Description::into_inner)),
            created_at: Set(change.now_ms()),
            updated_at: Set(change.now_ms()),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(duplicate_is_conflict(format!(
            "The account defines {name} already"
        )))?;
        let created = Permission::try_from(row)?;
        let event = Event::new(
            Some(created.account_id),
            AuditAction::PermissionCreate,
            Target::new(kinds::PERMISSION, created.id.0, Some(&created.name)),
        )
        .changing(None, Some(created.audited()));
        // No set holds it yet: no verification depends on it.
        change.commit(event, &[]).await?;
        Ok(created)
    }

    /// The permissions an account defines, by name.
    pub async fn permissions(
        &self,
        caller: &Principal,
        account: AccountId,
    ) -> DomainResult<Vec<Permission>> {
        authorize(caller, account, Action::ReadAccess, "Account")?;
        permission::Entity::find()
            .filter(permission::Column::AccountId.eq(account.0))
            .order_by_asc(permission::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Permission::try_from)
            .collect()
    }

    /// Deletes a permission no set holds; refuses, naming the sets, while any
    /// does.
    pub async fn delete_permission(
        &self,
        caller: &Principal,
        id: PermissionId,
        now: DateTime<Utc>,
    ) -> DomainResult<Permission> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = permission::Entity::find_by_id(id.0)
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound(kinds::PERMISSION))?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::PERMISSION)?;
        lock_account(txn, account).await?;
        let sets: Vec<i64> = held::Entity::find()
            .filter(held::Column::PermissionId.eq(id.0))
            .all(txn)
            .await?
            .into_iter()
            .map(|h| h.permission_set_id)
            .collect();
        if !sets.is_empty() {
            let names: Vec<String> = permission_set::Entity::find()
                .filter(permission_set::Column::Id.is_in(sets))
                .order_by_asc(permission_set::Column::Name)
                .all(txn)
                .await?
                .into_iter()
                .map(|s| s.name)
                .collect();
            return Err(DomainError::Conflict(format!(
                "{} is held by the permission sets {}: take it out of them first",
                row.name,
                quoted(&names)
            )));
        }
        let deleted = Permission::try_from(row)?;
        permission::Entity::delete_by_id(id.0).exec(txn).await?;
        let event = Event::new(
            Some(account),
            AuditAction::PermissionDelete,
            Target::new(kinds::PERMISSION, id.0, Some(&deleted.name)),
        )
        .changing(Some(deleted.audited()), None);
        change.commit(event, &[]).await?;
        Ok(deleted)
    }

    pub async fn create_permission_set(
        &self,
        caller: &Principal,
        input: CreatePermissionSet,
        now: DateTime<Utc>,
    ) -> DomainResult<PermissionSet> {
        authorize(caller, input.account_id, Action::ManageAccess, "Account")?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        lock_account(txn, input.account_id).await?;
        let count = permission_set::Entity::find()
            .filter(permission_set::Column::AccountId.eq(input.account_id.0))
            .count(txn)
            .await?;
        limits::PERMISSION_SETS.check(count)?;
        let name = input.name.into_inner();
        let row = permission_set::ActiveModel {
            account_id: Set(input.account_id.0),
            name_key: Set(Some(name_key(&name))),
            name: Set(name.clone()),
            description: Set(input.description.map(Description::into_inner)),
            created_at: Set(change.now_ms()),
            updated_at: Set(change.now_ms()),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(duplicate_is_conflict(set_taken(&name)))?;
        fill(txn, input.account_id, row.id, &input.permissions).await?;
        let created = custom_set(txn, row).await?;
        let SetKind::Custom(id) = created.kind else {
            return Err(DomainError::Internal("a new set is custom".to_owned()));
        };
        let event = Event::new(
            Some(input.account_id),
            AuditAction::PermissionSetCreate,
            Target::new(kinds::PERMISSION_SET, id.0, Some(&created.name)),
        )
        .changing(None, Some(created.audited()));
        // No group grants it yet.
        change.commit(event, &[]).await?;
        Ok(created)
    }

    /// One custom set.
    pub async fn permission_set(
        &self,
        caller: &Principal,
        id: PermissionSetId,
    ) -> DomainResult<PermissionSet> {
        let row = load_set(&self.db, id).await?;
        authorize(
            caller,
            AccountId(row.account_id),
            Action::ReadAccess,
            kinds::PERMISSION_SET,
        )?;
        custom_set(&self.db, row).await
    }

    /// The built-in sets, Admin first, then the account's own by name.
    pub async fn permission_sets(
        &self,
        caller: &Principal,
        account: AccountId,
    ) -> DomainResult<Vec<PermissionSet>> {
        authorize(caller, account, Action::ReadAccess, "Account")?;
        let rows = permission_set::Entity::find()
            .filter(permission_set::Column::AccountId.eq(account.0))
            .order_by_asc(permission_set::Column::Name)
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut permissions = permissions_of(&self.db, &ids).await?.into_iter();
        let mut sets: Vec<PermissionSet> = Role::ALL
            .into_iter()
            .map(|role| PermissionSet::built_in(account, role))
            .collect();
        for row in rows {
            let list = permissions.next().map(|(_, l)| l).unwrap_or_default();
            sets.push(custom(row, list)?);
        }
        Ok(sets)
    }

    pub async fn update_permission_set(
        &self,
        caller: &Principal,
        id: PermissionSetId,
        update: UpdatePermissionSet,
        now: DateTime<Utc>,
    ) -> DomainResult<PermissionSet> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = load_set(txn, id).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::PERMISSION_SET)?;
        let before = custom_set(txn, row.clone()).await?;
        let mut active: permission_set::ActiveModel = row.into();
        let mut renamed = String::new();
        if let Some(name) = update.name {
            renamed = name.as_str().to_owned();
            active.name_key = Set(Some(name_key(name.as_str())));
            active.name = Set(name.into_inner());
        }
        if let Some(description) = update.description {
            active.description = Set(description.map(Description::into_inner));
        }
        active.updated_at = Set(change.now_ms());
        let row = active
            .update(txn)
            .await
            .map_err(duplicate_is_conflict(set_taken(&renamed)))?;
        let changes_permissions = update.permissions.is_some();
        if let Some(permissions) = &update.permissions {
            fill(txn, account, id.0, permissions).await?;
        }
        let after = custom_set(txn, row).await?;
        let event = Event::new(
            Some(account),
            AuditAction::PermissionSetUpdate,
            Target::new(kinds::PERMISSION_SET, id.0, Some(&after.name)),
        )
        .changing(Some(before.audited()), Some(after.audited()));
        let scopes: &[Scope] = if changes_permissions && after.permissions != before.permissions {
            &[Scope::PermissionSet(id)]
        } else {
            &[]
        };
        change.commit(event, scopes).await?;
        Ok(after)
    }

    /// Deletes a set no group grants; refuses, naming the groups, while any
    /// does.
    pub async fn delete_permission_set(
        &self,
        caller: &Principal,
        id: PermissionSetId,
        now: DateTime<Utc>,
    ) -> DomainResult<PermissionSet> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = load_set(txn, id).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::PERMISSION_SET)?;
        lock_account(txn, account).await?;
        let groups: Vec<i64> = group_grant::Entity::find()
            .filter(group_grant::Column::PermissionSetId.eq(id.0))
            .all(txn)
            .await?
            .into_iter()
            .map(|g| g.group_id)
            .collect();
        if !groups.is_empty() {
            let names: Vec<String> = group::Entity::find()
                .filter(group::Column::Id.is_in(groups))
                .order_by_asc(group::Column::Name)
                .all(txn)
                .await?
                .into_iter()
                .map(|g| g.name)
                .collect();
            return Err(DomainError::Conflict(format!(
                "Permission set {:?} is granted by the groups {}: remove those grants first",
                row.name,
                quoted(&names)
            )));
        }
        let deleted = custom_set(txn, row).await?;
        permission_set::Entity::delete_by_id(id.0).exec(txn).await?;
        let event = Event::new(
            Some(account),
            AuditAction::PermissionSetDelete,
            Target::new(kinds::PERMISSION_SET, id.0, Some(&deleted.name)),
        )
        .changing(Some(deleted.audited()), None);
        change.commit(event, &[]).await?;
        Ok(deleted)
    }
}
