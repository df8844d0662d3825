//! Groups: named sets of an account's users and service accounts, each
//! holding grants of a permission set on all of the account's projects or on
//! listed ones. What a group grants reaches its members' credentials on their
//! next request, in every process: a change to a group's grants marks the
//! group, a change of its members marks each member (see [`crate::coherence`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    group, group_grant, group_grant_project, group_member, membership, permission_set, project,
    service_account,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::base::error::{DomainError, DomainResult, duplicate_is_conflict};
use crate::base::ids::GroupMember;
use crate::base::ids::{
    AccountId, GrantId, GroupId, PermissionSetId, ProjectId, ServiceAccountId, UserId,
};
use crate::base::kinds;
use crate::base::limits;
use crate::base::names::{Description, GroupName, SAME_NAME, name_key};
use crate::base::page::Page;
use crate::base::time::from_millis;
use crate::coherence::Scope;
use crate::policy::principal::Principal;
use crate::policy::table::{Action, authorize};
use crate::warden::audit::{AuditAction, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::locks::lock_account;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub account_id: AccountId,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Group {
    fn audited(&self) -> serde_json::Value {
        serde_json::json!({ "name": self.name, "description": self.description })
    }
}

impl TryFrom<group::Model> for Group {
    type Error = DomainError;

    fn try_from(m: group::Model) -> DomainResult<Self> {
        Ok(Self {
            id: GroupId(m.id),
            account_id: AccountId(m.account_id),
            name: m.name,
            description: m.description,
            created_at: from_millis(m.created_at)?,
            updated_at: from_millis(m.updated_at)?,
        })
    }
}

impl GroupMember {
    /// The scope every credential of this member depends on.
    fn scope(self) -> Scope {
        match self {
            GroupMember::User(id) => Scope::User(id),
            GroupMember::ServiceAccount(id) => Scope::ServiceAccount(id),
        }
    }

    fn of(row: &group_member::Model) -> DomainResult<Self> {
        match (row.user_id, row.service_account_id) {
            (Some(user), None) => Ok(GroupMember::User(UserId(user))),
            (None, Some(sa)) => Ok(GroupMember::ServiceAccount(ServiceAccountId(sa))),
            _ => Err(DomainError::Internal(format!(
                "group member row {} is neither a user nor a service account",
                row.id
            ))),
        }
    }

    fn filter<S: QueryFilter>(self, select: S) -> S {
        match self {
            GroupMember::User(id) => select.filter(group_member::Column::UserId.eq(id.0)),
            GroupMember::ServiceAccount(id) => {
                select.filter(group_member::Column::ServiceAccountId.eq(id.0))
            }
        }
    }
}

/// A group's grant of a custom permission set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupGrant {
    pub id: GrantId,
    pub group_id: GroupId,
    pub account_id: AccountId,
    pub permission_set_id: PermissionSetId,
    /// `None`: every project of the account.
    pub projects: Option<Vec<ProjectId>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct CreateGroup {
    pub account_id: AccountId,
    pub name: GroupName,
    pub description: Option<Description>,
}

#[derive(Clone, Debug, Default)]
pub struct UpdateGroup {
    pub name: Option<GroupName>,
    pub description: Option<Option<Description>>,
}

#[derive(Clone, Debug)]
pub struct CreateGrant {
    pub group_id: GroupId,
    pub permission_set_id: PermissionSetId,
    /// `None`: every project of the account, now and to come.
    pub projects: Option<Vec<ProjectId>>,
}

async fn load<C: ConnectionTrait>(conn: &C, id: GroupId) -> DomainResult<group::Model> {
    group::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound(kinds::GROUP))
}

fn taken(name: &str) -> String {
    format!("A group named {name:?} exists already in this account{SAME_NAME}")
}

/// The projects each listing grant of `rows` names.
async fn listed_projects<C: ConnectionTrait>(
    conn: &C,
    rows: &[group_grant::Model],
) -> Result<HashMap<i64, Vec<ProjectId>>, DbErr> {
    let listing: Vec<i64> = rows
        .iter()
        .filter(|g| !g.all_projects)
        .map(|g| g.id)
        .collect();
    let mut listed: HashMap<i64, Vec<ProjectId>> = HashMap::new();
    if listing.is_empty() {
        return Ok(listed);
    }
    for row in group_grant_project::Entity::find()
        .filter(group_grant_project::Column::GrantId.is_in(listing))
        .all(conn)
        .await?
    {
        listed
            .entry(row.grant_id)
            .or_default()
            .push(ProjectId(row.project_id));
    }
    Ok(listed)
}

/// The most members one change may name (to add or to remove).
pub const MEMBERS_PER_CHANGE: usize = 100;

fn too_many_members(members: &[GroupMember]) -> DomainResult<()> {
    if members.len() > MEMBERS_PER_CHANGE {
        return Err(DomainError::invalid(format!(
            "name at most {MEMBERS_PER_CHANGE} members in one change (got {})",
            members.len()
        )));
    }
    Ok(())
}

/// The members in their order of first mention, each once.
fn distinct(members: &[GroupMember]) -> Vec<GroupMember> {
    let mut seen = std::collections::HashSet::new();
    members
        .iter()
        .copied()
        .filter(|m| seen.insert(*m))
        .collect()
}

/// The users and the service accounts among `members`.
fn split(members: &[GroupMember]) -> (Vec<i64>, Vec<i64>) {
    let mut users = Vec::new();
    let mut service_accounts = Vec::new();
    for member in members {
        match member {
            GroupMember::User(id) => users.push(id.0),
            GroupMember::ServiceAccount(id) => service_accounts.push(id.0),
        }
    }
    (users, service_accounts)
}

/// Group member rows of any of `members`.
fn of_any(members: &[GroupMember]) -> sea_orm::Condition {
    let (users, service_accounts) = split(members);
    sea_orm::Condition::any()
        .add(group_member::Column::UserId.is_in(users))
        .add(group_member::Column::ServiceAccountId.is_in(service_accounts))
}

/// The name each member is shown by in the audit log, in two reads; the first
/// member (in order) that is not in `account` is refused: an outsider's id
/// names nothing.
async fn names_in_account<C: ConnectionTrait>(
    conn: &C,
    account: AccountId,
    members: &[GroupMember],
) -> DomainResult<HashMap<GroupMember, String>> {
    let (users, service_accounts) = split(members);
    let mut names = HashMap::new();
    if !users.is_empty() {
        let rows = membership::Entity::find()
            .filter(membership::Column::AccountId.eq(account.0))
            .filter(membership::Column::UserId.is_in(users))
            .find_also_related(entity::user::Entity)
            .all(conn)
            .await?;
        names.extend(
            rows.into_iter().filter_map(|(_, user)| {
                user.map(|u| (GroupMember::User(UserId(u.id)), u.username))
            }),
        );
    }
    if !service_accounts.is_empty() {
        let rows = service_account::Entity::find()
            .filter(service_account::Column::AccountId.eq(account.0))
            .filter(service_account::Column::Id.is_in(service_accounts))
            .all(conn)
            .await?;
        names.extend(rows.into_iter().map(|sa| {
            (
                GroupMember::ServiceAccount(ServiceAccountId(sa.id)),
                sa.name,
            )
        }));
    }
    if let Some(outsider) = members.iter().find(|m| !names.contains_key(m)) {
        return Err(DomainError::NotFound(match outsider {
            GroupMember::User(_) => kinds::USER,
            GroupMember::ServiceAccount(_) => kinds::SERVICE_ACCOUNT,
        }));
    }
    Ok(names)
}

fn member_json(member: GroupMember, name: &str) -> serde_json::Value {
    match member {
        GroupMember::User(id) => {
            serde_json::json!({ "type": kinds::USER, "id": id.0, "name": name })
        }
        GroupMember::ServiceAccount(id) => {
            serde_json::json!({ "type": kinds::SERVICE_ACCOUNT, "id": id.0, "name": name })
        }
    }
}

/// Adds `members` to `group` inside a change; returns the scopes of those
/// newly added and an audit event for each. A member named twice counts once,
/// and one already in the group is left as it is. However many are named, the
/// change makes the same five statements.
pub(crate) async fn join(
    change: &crate::warden::write::Change<'_>,
    group: &group::Model,
    members: &[GroupMember],
) -> DomainResult<(Vec<Scope>, Vec<Event>)> {
    let txn = change.txn();
    let account = AccountId(group.account_id);
    let members = distinct(members);
    let names = names_in_account(txn, account, &members).await?;
    let already: std::collections::HashSet<GroupMember> = group_member::Entity::find()
        .filter(group_member::Column::GroupId.eq(group.id))
        .filter(of_any(&members))
        .all(txn)
        .await?
        .iter()
        .map(GroupMember::of)
        .collect::<DomainResult<_>>()?;
    let new: Vec<GroupMember> = members
        .into_iter()
        .filter(|m| !already.contains(m))
        .collect();
    if new.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let existing = group_member::Entity::find()
        .filter(group_member::Column::GroupId.eq(group.id))
        .count(txn)
        .await?;
    limits::GROUP_MEMBERS.allows(existing, new.len() as u64)?;
    // How many of the account's groups each is in already.
    let mut places: HashMap<GroupMember, u64> = HashMap::new();
    let rows = group_member::Entity::find()
        .filter(of_any(&new))
        .filter(
            group_member::Column::GroupId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(group::Column::Id)
                    .from(group::Entity)
                    .and_where(group::Column::AccountId.eq(account.0))
                    .to_owned(),
            ),
        )
        .all(txn)
        .await?;
    for row in &rows {
        *places.entry(GroupMember::of(row)?).or_default() += 1;
    }
    for member in &new {
        limits::GROUPS_PER_MEMBER.check(places.get(member).copied().unwrap_or(0))?;
    }
    let inserted = new.iter().map(|member| {
        let (user_id, service_account_id) = match member {
            GroupMember::User(id) => (Some(id.0), None),
            GroupMember::ServiceAccount(id) => (None, Some(id.0)),
        };
        group_member::ActiveModel {
            group_id: Set(group.id),
            user_id: Set(user_id),
            service_account_id: Set(service_account_id),
            created_at: Set(change.now_ms()),
            ..Default::default()
        }
    });
    group_member::Entity::insert_many(inserted)
        .exec(txn)
        .await?;
    let mut scopes = Vec::with_capacity(new.len());
    let mut events = Vec::with_capacity(new.len());
    for member in new {
        let name = names.get(&member).map_or("", String::as_str);
        events.push(
            Event::new(
                Some(account),
                AuditAction::GroupMemberAdd,
                Target::new(kinds::GROUP, group.id, Some(&group.name)),
            )
            .changing(None, Some(member_json(member, name))),
        );
        scopes.push(member.scope());
    }
    Ok((scopes, events))
}

/// Takes a user out of every group of `account`, as they leave it.
pub(crate) async fn leave_account<C: ConnectionTrait>(
    conn: &C,
    account: AccountId,
    user: UserId,
) -> Result<(), DbErr> {
    let groups: Vec<i64> = group::Entity::find()
        .filter(group::Column::AccountId.eq(account.0))
        .all(conn)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    if !groups.is_empty() {
        group_member::Entity::delete_many()
            .filter(group_member::Column::UserId.eq(user.0))
            .filter(group_member::Column::GroupId.is_in(groups))
            .exec(conn)
            .await?;
    }
    Ok(())
}

fn grant_of(
    row: group_grant::Model,
    account: AccountId,
    projects: Option<Vec<ProjectId>>,
) -> DomainResult<GroupGrant> {
    Ok(GroupGrant {
        id: GrantId(row.id),
        group_id: GroupId(row.group_id),
        account_id: account,
        permission_set_id: PermissionSetId(row.permission_set_id),
        projects,
        created_at: from_millis(row.created_at)?,
    })
}

impl Keywarden {
    pub async fn create_group(
        &self,
        caller: &Principal,
        input: CreateGroup,
        now: DateTime<Utc>,
    ) -> DomainResult<Group> {
        authorize(caller, input.account_id, Action::ManageAccess, "Account")?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        lock_account(txn, input.account_id).await?;
        let count = group::Entity::find()
            .filter(group::Column::AccountId.eq(input.account_id.0))
            .count(txn)
            .await?;
        limits::GROUPS.check(count)?;
        let name = input.name.into_inner();
        let row = group::ActiveModel {
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
        .map_err(duplicate_is_conflict(taken(&name)))?;
        let created = Group::try_from(row)?;
        let event = Event::new(
            Some(created.account_id),
            AuditAction::GroupCreate,
            Target::new(kinds::GROUP, created.id.0, Some(&created.name)),
        )
        .changing(None, Some(created.audited()));
        // No members, no grants: nothing depends on it yet.
        change.commit(event, &[]).await?;
        Ok(created)
    }

    pub async fn group(&self, caller: &Principal, id: GroupId) -> DomainResult<Group> {
        let row = load(&self.db, id).await?;
        authorize(
            caller,
            AccountId(row.account_id),
            Action::ReadAccess,
            kinds::GROUP,
        )?;
        row.try_into()
    }

    /// An account's groups, oldest first.
    pub async fn groups(
        &self,
        caller: &Principal,
        account: AccountId,
        page: Page,
    ) -> DomainResult<Vec<Group>> {
        authorize(caller, account, Action::ReadAccess, "Account")?;
        let mut select = group::Entity::find().filter(group::Column::AccountId.eq(account.0));
        if let Some(after) = page.after {
            select = select.filter(group::Column::Id.gt(after));
        }
        select
            .order_by_asc(group::Column::Id)
            .limit(page.rows())
            .all(&self.db)
            .await?
            .into_iter()
            .map(Group::try_from)
            .collect()
    }

    /// The groups of `account` that `member` is in: for an Admin of the
    /// account, or for the member itself.
    pub async fn groups_of(
        &self,
        caller: &Principal,
        account: AccountId,
        member: GroupMember,
    ) -> DomainResult<Vec<Group>> {
        let itself = match (caller, member) {
            (Principal::User(u), GroupMember::User(id)) => u.user_id == id,
            (Principal::ServiceAccount(s), GroupMember::ServiceAccount(id)) => {
                s.service_account_id == id
            }
            _ => false,
        };
        if !itself {
            authorize(caller, account, Action::ReadAccess, "Account")?;
        }
        let ids: Vec<i64> = member
            .filter(group_member::Entity::find())
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| m.group_id)
            .collect();
        group::Entity::find()
            .filter(group::Column::AccountId.eq(account.0))
            .filter(group::Column::Id.is_in(ids))
            .order_by_asc(group::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Group::try_from)
            .collect()
    }

    pub async fn update_group(
        &self,
        caller: &Principal,
        id: GroupId,
        update: UpdateGroup,
        now: DateTime<Utc>,
    ) -> DomainResult<Group> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = load(txn, id).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::GROUP)?;
        let before = Group::try_from(row.clone())?;
        let mut active: group::ActiveModel = row.into();
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
            .map_err(duplicate_is_conflict(taken(&renamed)))?;
        let after = Group::try_from(row)?;
        let event = Event::new(
            Some(account),
            AuditAction::GroupUpdate,
            Target::new(kinds::GROUP, id.0, Some(&after.name)),
        )
        .changing(Some(before.audited()), Some(after.audited()));
        // A verification holds no group's name or description.
        change.commit(event, &[]).await?;
        Ok(after)
    }

    /// Deletes a group, its members' places in it and its grants.
    pub async fn delete_group(
        &self,
        caller: &Principal,
        id: GroupId,
        now: DateTime<Utc>,
    ) -> DomainResult<Group> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = load(txn, id).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::GROUP)?;
        let deleted = Group::try_from(row)?;
        group::Entity::delete_by_id(id.0).exec(txn).await?;
        let event = Event::new(
            Some(account),
            AuditAction::GroupDelete,
            Target::new(kinds::GROUP, id.0, Some(&deleted.name)),
        )
        .changing(Some(deleted.audited()), None);
        change.commit(event, &[Scope::Group(id)]).await?;
        Ok(deleted)
    }

    /// The members of a group in the order they joined: up to `limit` after
    /// the member `after` (which must be in the group).
    pub async fn group_members(
        &self,
        caller: &Principal,
        id: GroupId,
        limit: u64,
        after: Option<GroupMember>,
    ) -> DomainResult<Vec<GroupMember>> {
        let row = load(&self.db, id).await?;
        authorize(
            caller,
            AccountId(row.account_id),
            Action::ReadAccess,
            kinds::GROUP,
        )?;
        let mut select =
            group_member::Entity::find().filter(group_member::Column::GroupId.eq(id.0));
        if let Some(after) = after {
            let mark = after
                .filter(group_member::Entity::find())
                .filter(group_member::Column::GroupId.eq(id.0))
                .one(&self.db)
                .await?
                .ok_or_else(|| DomainError::invalid("after must be a member of the group"))?;
            select = select.filter(group_member::Column::Id.gt(mark.id));
        }
        select
            .order_by_asc(group_member::Column::Id)
            .limit(limit.min(crate::base::page::MAX_PAGE))
            .all(&self.db)
            .await?
            .iter()
            .map(GroupMember::of)
            .collect()
    }

    /// Adds users and service accounts of the group's account to it; those
    /// already in it stay as they are.
    pub async fn add_group_members(
        &self,
        caller: &Principal,
        id: GroupId,
        members: &[GroupMember],
        now: DateTime<Utc>,
    ) -> DomainResult<Group> {
        if members.is_empty() {
            return Err(DomainError::invalid("name at least one member to add"));
        }
        too_many_members(members)?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = load(txn, id).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::GROUP)?;
        lock_account(txn, account).await?;
        let (scopes, events) = join(&change, &row, members).await?;
        let group = Group::try_from(row)?;
        if events.is_empty() {
            // Every one was in it already: nothing changes, nothing to record.
            return Ok(group);
        }
        change.commit_each(events, &scopes).await?;
        Ok(group)
    }

    /// Takes members out of a group; one not in it is refused, so that a
    /// typo does not pass for done.
    pub async fn remove_group_members(
        &self,
        caller: &Principal,
        id: GroupId,
        members: &[GroupMember],
        now: DateTime<Utc>,
    ) -> DomainResult<Group> {
        if members.is_empty() {
            return Err(DomainError::invalid("name at least one member to remove"));
        }
        too_many_members(members)?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = load(txn, id).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::GROUP)?;
        let members = distinct(members);
        let found = group_member::Entity::find()
            .filter(group_member::Column::GroupId.eq(id.0))
            .filter(of_any(&members))
            .all(txn)
            .await?;
        let mut rows = HashMap::new();
        for row in found {
            rows.insert(GroupMember::of(&row)?, row.id);
        }
        if members.iter().any(|m| !rows.contains_key(m)) {
            return Err(DomainError::NotFound("GroupMember"));
        }
        let names = names_in_account(txn, account, &members).await?;
        group_member::Entity::delete_many()
            .filter(group_member::Column::Id.is_in(rows.values().copied()))
            .exec(txn)
            .await?;
        let mut scopes = Vec::with_capacity(members.len());
        let mut events = Vec::with_capacity(members.len());
        for member in members {
            let name = names.get(&member).map_or("", String::as_str);
            events.push(
                Event::new(
                    Some(account),
                    AuditAction::GroupMemberRemove,
                    Target::new(kinds::GROUP, id.0, Some(&row.name)),
                )
                .changing(Some(member_json(member, name)), None),
            );
            scopes.push(member.scope());
        }
        let group = Group::try_from(row)?;
        change.commit_each(events, &scopes).await?;
        Ok(group)
    }

    /// A group's grants, oldest first.
    pub async fn group_grants(
        &self,
        caller: &Principal,
        id: GroupId,
    ) -> DomainResult<Vec<GroupGrant>> {
        let row = load(&self.db, id).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ReadAccess, kinds::GROUP)?;
        let rows = group_grant::Entity::find()
            .filter(group_grant::Column::GroupId.eq(id.0))
            .order_by_asc(group_grant::Column::Id)
            .all(&self.db)
            .await?;
        let mut listed = listed_projects(&self.db, &rows).await?;
        rows.into_iter()
            .map(|row| {
                let projects =
                    (!row.all_projects).then(|| listed.remove(&row.id).unwrap_or_default());
                grant_of(row, account, projects)
            })
            .collect()
    }

    /// Grants a custom permission set of the group's account to the group, on
    /// all its projects or on listed ones.
    pub async fn create_group_grant(
        &self,
        caller: &Principal,
        input: CreateGrant,
        now: DateTime<Utc>,
    ) -> DomainResult<GroupGrant> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let group_row = load(txn, input.group_id).await?;
        let account = AccountId(group_row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::GROUP)?;
        lock_account(txn, account).await?;
        let set = permission_set::Entity::find_by_id(input.permission_set_id.0)
            .one(txn)
            .await?
            .filter(|s| s.account_id == account.0)
            .ok_or(DomainError::NotFound(kinds::PERMISSION_SET))?;
        let in_account = group_grant::Entity::find()
            .filter(
                group_grant::Column::GroupId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(group::Column::Id)
                        .from(group::Entity)
                        .and_where(group::Column::AccountId.eq(account.0))
                        .to_owned(),
                ),
            )
            .count(txn)
            .await?;
        limits::GRANTS.check(in_account)?;
        let in_group = group_grant::Entity::find()
            .filter(group_grant::Column::GroupId.eq(input.group_id.0))
            .count(txn)
            .await?;
        limits::GROUP_GRANTS.check(in_group)?;
        let projects = match &input.projects {
            None => None,
            Some(listed) => {
                let mut ids: Vec<i64> = listed.iter().map(|p| p.0).collect();
                ids.sort_unstable();
                ids.dedup();
                if ids.is_empty() {
                    return Err(DomainError::invalid(
                        "a grant lists at least one project, or covers all projects",
                    ));
                }
                limits::GRANT_PROJECTS.allows(0, ids.len() as u64)?;
                let found = project::Entity::find()
                    .filter(project::Column::AccountId.eq(account.0))
                    .filter(project::Column::Id.is_in(ids.iter().copied()))
                    .all(txn)
                    .await?;
                if found.len() != ids.len() {
                    return Err(DomainError::NotFound(kinds::PROJECT));
                }
                Some(found)
            }
        };
        let row = group_grant::ActiveModel {
            group_id: Set(input.group_id.0),
            permission_set_id: Set(set.id),
            all_projects: Set(projects.is_none()),
            created_at: Set(change.now_ms()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        if let Some(projects) = &projects {
            group_grant_project::Entity::insert_many(projects.iter().map(|p| {
                group_grant_project::ActiveModel {
                    grant_id: Set(row.id),
                    project_id: Set(p.id),
                    ..Default::default()
                }
            }))
            .exec(txn)
            .await?;
        }
        let project_names: Option<Vec<String>> = projects
            .as_ref()
            .map(|ps| ps.iter().map(|p| p.name.clone()).collect());
        let grant = grant_of(
            row,
            account,
            projects.map(|ps| ps.into_iter().map(|p| ProjectId(p.id)).collect()),
        )?;
        let event = Event::new(
            Some(account),
            AuditAction::GroupGrantCreate,
            Target::new(kinds::GROUP, group_row.id, Some(&group_row.name)),
        )
        .changing(
            None,
            Some(grant_json(grant.id, &set.name, project_names.as_deref())),
        );
        change
            .commit(event, &[Scope::Group(input.group_id)])
            .await?;
        Ok(grant)
    }

    /// Removes a grant from its group.
    pub async fn delete_group_grant(
        &self,
        caller: &Principal,
        id: GrantId,
        now: DateTime<Utc>,
    ) -> DomainResult<GroupGrant> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = group_grant::Entity::find_by_id(id.0)
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound(kinds::GRANT))?;
        let group_row = load(txn, GroupId(row.group_id)).await?;
        let account = AccountId(group_row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::GRANT)?;
        let set_name = permission_set::Entity::find_by_id(row.permission_set_id)
            .one(txn)
            .await?
            .map(|s| s.name)
            .unwrap_or_default();
        let mut listed = listed_projects(txn, std::slice::from_ref(&row)).await?;
        let projects = (!row.all_projects).then(|| listed.remove(&row.id).unwrap_or_default());
        let names = match &projects {
            None => None,
            Some(ids) => Some(
                project::Entity::find()
                    .filter(project::Column::Id.is_in(ids.iter().map(|p| p.0)))
                    .order_by_asc(project::Column::Name)
                    .all(txn)
                    .await?
                    .into_iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>(),
            ),
        };
        let grant = grant_of(row, account, projects)?;
        group_grant::Entity::delete_by_id(id.0).exec(txn).await?;
        let event = Event::new(
            Some(account),
            AuditAction::GroupGrantDelete,
            Target::new(kinds::GROUP, group_row.id, Some(&group_row.name)),
        )
        .changing(Some(grant_json(id, &set_name, names.as_deref())), None);
        change
            .commit(event, &[Scope::Group(grant.group_id)])
            .await?;
        Ok(grant)
    }
}

fn grant_json(id: GrantId, set: &str, projects: Option<&[String]>) -> serde_json::Value {
    serde_json::json!({
        "grant": id.0,
        "permissionSet": set,
        "projects": projects.map_or_else(|| serde_json::json!("all"), |p| serde_json::json!(p)),
    })
}
