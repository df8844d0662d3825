//! Projects: named scopes inside an account that grants can be limited to.
//! keywarden does not know what a project holds; the services behind a
//! gateway name it, by id or by name, when they ask whether a credential holds
//! a permission there.

use chrono::{DateTime, Utc};
use entity::{group, group_grant, group_grant_project, project};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::base::error::{DomainError, DomainResult, duplicate_is_conflict};
use crate::base::ids::{AccountId, ProjectId};
use crate::base::kinds;
use crate::base::limits;
use crate::base::names::{Description, ProjectName, SAME_NAME, name_key};
use crate::base::page::Page;
use crate::base::time::from_millis;
use crate::coherence::Scope;
use crate::db::{Columns, Param, Reads};
use crate::policy::principal::Principal;
use crate::policy::table::{Action, authorize};
use crate::warden::audit::{AuditAction, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::locks::lock_account;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub account_id: AccountId,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Project {
    fn audited(&self) -> serde_json::Value {
        serde_json::json!({ "name": self.name, "description": self.description })
    }
}

impl TryFrom<project::Model> for Project {
    type Error = DomainError;

    fn try_from(m: project::Model) -> DomainResult<Self> {
        Ok(Self {
            id: ProjectId(m.id),
            account_id: AccountId(m.account_id),
            name: m.name,
            description: m.description,
            created_at: from_millis(m.created_at)?,
            updated_at: from_millis(m.updated_at)?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct CreateProject {
    pub account_id: AccountId,
    pub name: ProjectName,
    pub description: Option<Description>,
}

/// A partial update: `None` leaves a field alone; for `description`,
/// `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct UpdateProject {
    pub name: Option<ProjectName>,
    pub description: Option<Option<Description>>,
}

fn taken(name: &str) -> String {
    format!("A project named {name:?} exists already in this account{SAME_NAME}")
}

pub(crate) async fn load<C: ConnectionTrait>(
    conn: &C,
    id: ProjectId,
) -> DomainResult<project::Model> {
    project::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound(kinds::PROJECT))
}

/// The project an account knows by `id` or `name`: a project id of another
/// account, like a name no project has, names nothing.
pub(crate) async fn find<C: ConnectionTrait>(
    conn: &C,
    account: AccountId,
    named: &ProjectRef,
) -> Result<Option<project::Model>, sea_orm::DbErr> {
    let select = project::Entity::find().filter(project::Column::AccountId.eq(account.0));
    match named {
        ProjectRef::Id(id) => select.filter(project::Column::Id.eq(id.0)),
        // What no project could be named is not looked for (nor sent to the
        // database, which may refuse some bytes outright).
        ProjectRef::Name(name) if ProjectName::parse(name).is_err() => return Ok(None),
        ProjectRef::Name(name) => select.filter(project::Column::Name.eq(name.as_str())),
    }
    .one(conn)
    .await
}

/// The id of the project `named` names in `account`, read for a gateway's
/// question: on a SQLite file directly (see [`crate::db::Direct`]), on
/// PostgreSQL on verification's own connections ([`crate::db::PgDirect`]),
/// else through the verification pool.
pub(crate) async fn find_id(
    reads: &Reads<'_>,
    account: AccountId,
    named: &ProjectRef,
) -> Result<Option<i64>, sea_orm::DbErr> {
    let (sql, value) = match named {
        ProjectRef::Id(id) => (
            "SELECT id FROM projects WHERE account_id = $1 AND id = $2",
            rusqlite::types::Value::Integer(id.0),
        ),
        ProjectRef::Name(name) if ProjectName::parse(name).is_err() => return Ok(None),
        ProjectRef::Name(name) => (
            "SELECT id FROM projects WHERE account_id = $1 AND name = $2",
            rusqlite::types::Value::Text(name.clone()),
        ),
    };
    if let Some(direct) = reads.direct
        && let Some(ids) = direct.read(sql, &[&account.0, &value], |r| r.int("id"))
    {
        return Ok(ids.first().copied());
    }
    if let Some(pg) = reads.pg {
        let second = match named {
            ProjectRef::Id(id) => Param::Int(id.0),
            ProjectRef::Name(name) => Param::Text(name),
        };
        if let Some(ids) = pg
            .read(sql.into(), &[Param::Int(account.0), second], |r| {
                r.int("id")
            })
            .await
        {
            return Ok(ids.first().copied());
        }
    }
    Ok(find(reads.pool, account, named).await?.map(|row| row.id))
}

/// How a project is named in a question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectRef {
    Id(ProjectId),
    Name(String),
}

impl ProjectRef {
    /// A project's global id, or else its name.
    pub fn parse(text: &str) -> Self {
        match crate::base::object_id::decode(text) {
            Some((kind, id)) if kind == kinds::PROJECT => ProjectRef::Id(ProjectId(id)),
            _ => ProjectRef::Name(text.to_owned()),
        }
    }
}

/// The names of the groups whose grants list `project`, for a refusal.
async fn granted_by<C: ConnectionTrait>(conn: &C, project: ProjectId) -> DomainResult<Vec<String>> {
    let grants: Vec<i64> = group_grant_project::Entity::find()
        .filter(group_grant_project::Column::ProjectId.eq(project.0))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.grant_id)
        .collect();
    if grants.is_empty() {
        return Ok(Vec::new());
    }
    let groups: Vec<i64> = group_grant::Entity::find()
        .filter(group_grant::Column::Id.is_in(grants))
        .all(conn)
        .await?
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    Ok(group::Entity::find()
        .filter(group::Column::Id.is_in(groups))
        .order_by_asc(group::Column::Name)
        .all(conn)
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect())
}

impl Keywarden {
    pub async fn create_project(
        &self,
        caller: &Principal,
        input: CreateProject,
        now: DateTime<Utc>,
    ) -> DomainResult<Project> {
        authorize(caller, input.account_id, Action::ManageAccess, "Account")?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        lock_account(txn, input.account_id).await?;
        let count = project::Entity::find()
            .filter(project::Column::AccountId.eq(input.account_id.0))
            .count(txn)
            .await?;
        limits::PROJECTS.check(count)?;
        let name = input.name.into_inner();
        let row = project::ActiveModel {
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
        let created = Project::try_from(row)?;
        let event = Event::new(
            Some(created.account_id),
            AuditAction::ProjectCreate,
            Target::new(kinds::PROJECT, created.id.0, Some(&created.name)),
        )
        .changing(None, Some(created.audited()));
        // A lookup by this name may have found nothing before.
        change
            .commit(event, &[Scope::Projects(created.account_id)])
            .await?;
        Ok(created)
    }

    pub async fn project(&self, caller: &Principal, id: ProjectId) -> DomainResult<Project> {
        let row = load(&self.db, id).await?;
        authorize(
            caller,
            AccountId(row.account_id),
            Action::ReadAccess,
            kinds::PROJECT,
        )?;
        row.try_into()
    }

    /// An account's projects by name.
    pub async fn projects(
        &self,
        caller: &Principal,
        account: AccountId,
        page: Page,
    ) -> DomainResult<Vec<Project>> {
        authorize(caller, account, Action::ReadAccess, "Account")?;
        let mut select = project::Entity::find().filter(project::Column::AccountId.eq(account.0));
        if let Some(after) = page.after {
            select = select.filter(project::Column::Id.gt(after));
        }
        select
            .order_by_asc(project::Column::Id)
            .limit(page.rows())
            .all(&self.db)
            .await?
            .into_iter()
            .map(Project::try_from)
            .collect()
    }

    pub async fn update_project(
        &self,
        caller: &Principal,
        id: ProjectId,
        update: UpdateProject,
        now: DateTime<Utc>,
    ) -> DomainResult<Project> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = load(txn, id).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::PROJECT)?;
        let before = Project::try_from(row.clone())?;
        let mut active: project::ActiveModel = row.into();
        let mut renamed = None;
        if let Some(name) = update.name {
            renamed = Some(name.as_str().to_owned());
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
            .map_err(duplicate_is_conflict(taken(
                renamed.as_deref().unwrap_or(""),
            )))?;
        let after = Project::try_from(row)?;
        let event = Event::new(
            Some(account),
            AuditAction::ProjectUpdate,
            Target::new(kinds::PROJECT, id.0, Some(&after.name)),
        )
        .changing(Some(before.audited()), Some(after.audited()));
        let scopes: &[Scope] = if renamed.is_some() {
            &[Scope::Projects(account)]
        } else {
            &[]
        };
        change.commit(event, scopes).await?;
        Ok(after)
    }

    /// Deletes a project no grant lists; refuses, naming the groups, while
    /// any does.
    pub async fn delete_project(
        &self,
        caller: &Principal,
        id: ProjectId,
        now: DateTime<Utc>,
    ) -> DomainResult<Project> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = load(txn, id).await?;
        let account = AccountId(row.account_id);
        authorize(caller, account, Action::ManageAccess, kinds::PROJECT)?;
        lock_account(txn, account).await?;
        let groups = granted_by(txn, id).await?;
        if !groups.is_empty() {
            return Err(DomainError::Conflict(format!(
                "Project {:?} is listed by grants of the groups {}: remove those grants first",
                row.name,
                quoted(&groups)
            )));
        }
        let deleted = Project::try_from(row)?;
        project::Entity::delete_by_id(id.0).exec(txn).await?;
        let event = Event::new(
            Some(account),
            AuditAction::ProjectDelete,
            Target::new(kinds::PROJECT, id.0, Some(&deleted.name)),
        )
        .changing(Some(deleted.audited()), None);
        change.commit(event, &[Scope::Projects(account)]).await?;
        Ok(deleted)
    }
}

/// Names for a message: `"a", "b"`.
pub(crate) fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
