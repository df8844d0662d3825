//! Projects, permissions, permission sets and groups: their types, the
//! mutations that manage them (human Admins only; the domain decides) and the
//! question of whether a principal holds a permission on a project.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use domain::ids::{
    AccountId, GrantId, GroupId, PermissionId, PermissionSetId, ProjectId, ServiceAccountId, UserId,
};
use domain::{
    Because, CreateGrant, CreateGroup, CreatePermission, CreatePermissionSet, CreateProject,
    GroupMember, GroupName, PermissionName, PermissionSetName, ProjectName, ProjectRef, SetKind,
    UpdateGroup, UpdatePermissionSet, UpdateProject,
};

use crate::context::{HumanOnly, caller, kw, or_null};
use crate::error::{ApiResult, api, bad_input};
use crate::inputs::{account_id, description, description_change, id_of, not_null};
use crate::scalars::{DateTime, ObjectId};
use crate::types::{Account, LIST_PAGE, PrincipalNode, RoleCode, ServiceAccount, User, page};

fn now() -> chrono::DateTime<chrono::Utc> {
    domain::time::now()
}

fn permission_names(list: &[String]) -> Result<Vec<PermissionName>> {
    list.iter()
        .map(|p| PermissionName::parse(p).map_err(api))
        .collect()
}

/// A user or a service account, by its global id.
pub fn member_of(id: &ObjectId) -> Result<GroupMember> {
    match id.type_name.as_str() {
        "User" => Ok(GroupMember::User(UserId(id.id))),
        "ServiceAccount" => Ok(GroupMember::ServiceAccount(ServiceAccountId(id.id))),
        _ => Err(bad_input("expected the id of a User or a ServiceAccount")),
    }
}

/// A named scope inside an account, which grants can be limited to.
#[derive(Debug, Clone)]
pub struct Project(pub domain::Project);

#[Object]
impl Project {
    pub async fn id(&self) -> ObjectId {
        ObjectId::new("Project", self.0.id.0)
    }

    /// Unique in the account; services may name the project by it.
    async fn name(&self) -> String {
        self.0.name.clone()
    }

    async fn description(&self) -> Option<String> {
        self.0.description.clone()
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }

    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        Ok(Account(
            kw(ctx)
                .account(caller(ctx)?, self.0.account_id)
                .await
                .api()?,
        ))
    }
}

/// A permission, `resource:action`: one the account defines, or one of
/// keywarden's own (`builtIn`), which come with the roles.
#[derive(Debug, Clone)]
pub struct Permission(pub domain::Permission);

#[Object]
impl Permission {
    async fn id(&self) -> ObjectId {
        ObjectId::new("Permission", self.0.id.0)
    }

    async fn name(&self) -> String {
        self.0.name.clone()
    }

    async fn resource(&self) -> String {
        self.0.name.split_once(':').map_or("", |p| p.0).to_owned()
    }

    async fn action(&self) -> String {
        self.0.name.split_once(':').map_or("", |p| p.1).to_owned()
    }

    async fn description(&self) -> Option<String> {
        self.0.description.clone()
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

/// A named set of permissions. The three built-in sets are the roles' own and
/// cannot be changed or granted to groups.
#[derive(Debug, Clone)]
pub struct PermissionSet(pub domain::PermissionSet);

#[Object]
impl PermissionSet {
    /// A custom set's id is a `PermissionSet` id; a built-in one's is the
    /// same in every account.
    async fn id(&self) -> ObjectId {
        match self.0.kind {
            SetKind::Custom(id) => ObjectId::new("PermissionSet", id.0),
            SetKind::BuiltIn(role) => ObjectId::new("RolePermissionSet", role as i64 + 1),
        }
    }

    async fn name(&self) -> String {
        self.0.name.clone()
    }

    async fn description(&self) -> Option<String> {
        self.0.description.clone()
    }

    async fn built_in(&self) -> bool {
        matches!(self.0.kind, SetKind::BuiltIn(_))
    }

    /// The role whose set this is, for a built-in set.
    async fn role_code(&self) -> Option<RoleCode> {
        match self.0.kind {
            SetKind::BuiltIn(role) => Some(role.into()),
            SetKind::Custom(_) => None,
        }
    }

    /// Its permissions, sorted. The Admin set lists keywarden's own; it also
    /// holds every permission the account defines.
    async fn permissions(&self) -> Vec<String> {
        self.0.permissions.clone()
    }

    async fn created_at(&self) -> Option<DateTime> {
        self.0.created_at.map(Into::into)
    }

    async fn updated_at(&self) -> Option<DateTime> {
        self.0.updated_at.map(Into::into)
    }
}

/// A named set of an account's users and service accounts, holding grants.
#[derive(Debug, Clone)]
pub struct Group(pub domain::Group);

#[Object]
impl Group {
    pub async fn id(&self) -> ObjectId {
        ObjectId::new("Group", self.0.id.0)
    }

    async fn name(&self) -> String {
        self.0.name.clone()
    }

    async fn description(&self) -> Option<String> {
        self.0.description.clone()
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }

    /// Its users and service accounts in the order they joined: up to `first`
    /// (at most and by default 100) after the member `after` (Admins only).
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ObjectId>,
    ) -> Option<Vec<PrincipalNode>> {
        let found: Result<Option<Vec<PrincipalNode>>> = async {
            let caller = caller(ctx)?;
            let kw = kw(ctx);
            let limit = page(first, None, "Group", LIST_PAGE)?.limit;
            let after = after.as_ref().map(member_of).transpose()?;
            let mut out = Vec::new();
            for member in kw
                .group_members(caller, self.0.id, limit, after)
                .await
                .api()?
            {
                out.push(match member {
                    GroupMember::User(id) => {
                        PrincipalNode::User(User(kw.user(caller, id).await.api()?))
                    }
                    GroupMember::ServiceAccount(id) => PrincipalNode::ServiceAccount(
                        ServiceAccount::from(kw.service_account(caller, id).await.api()?),
                    ),
                });
            }
            Ok(Some(out))
        }
        .await;
        or_null(ctx, found)
    }

    /// What it grants, oldest first (Admins only).
    async fn grants(&self, ctx: &Context<'_>) -> Option<Vec<GroupGrant>> {
        let found: Result<Option<Vec<GroupGrant>>> = async {
            let list = kw(ctx).group_grants(caller(ctx)?, self.0.id).await.api()?;
            Ok(Some(list.into_iter().map(GroupGrant).collect()))
        }
        .await;
        or_null(ctx, found)
    }
}

/// A group's grant of a permission set on all projects or on listed ones.
#[derive(Debug, Clone)]
pub struct GroupGrant(pub domain::GroupGrant);

#[Object]
impl GroupGrant {
    async fn id(&self) -> ObjectId {
        ObjectId::new("GroupGrant", self.0.id.0)
    }

    async fn group(&self, ctx: &Context<'_>) -> Result<Group> {
        Ok(Group(
            kw(ctx).group(caller(ctx)?, self.0.group_id).await.api()?,
        ))
    }

    async fn permission_set(&self, ctx: &Context<'_>) -> Result<PermissionSet> {
        Ok(PermissionSet(
            kw(ctx)
                .permission_set(caller(ctx)?, self.0.permission_set_id)
                .await
                .api()?,
        ))
    }

    /// Whether it covers every project of the account, now and to come.
    async fn all_projects(&self) -> bool {
        self.0.projects.is_none()
    }

    /// The projects it covers, when it lists them.
    async fn projects(&self, ctx: &Context<'_>) -> Result<Vec<Project>> {
        projects_by_id(ctx, self.0.projects.as_deref().unwrap_or_default()).await
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

async fn projects_by_id(ctx: &Context<'_>, ids: &[ProjectId]) -> Result<Vec<Project>> {
    let caller = caller(ctx)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(Project(kw(ctx).project(caller, *id).await.api()?));
    }
    Ok(out)
}

/// What gives a permission: a role's built-in set, or a group's grant.
#[derive(Debug)]
pub struct PermissionSource(Because);

#[Object]
impl PermissionSource {
    /// The role, when the role's built-in set gives it.
    async fn role_code(&self) -> Option<RoleCode> {
        match &self.0 {
            Because::Role(role) => Some((*role).into()),
            Because::Grant { .. } => None,
        }
    }

    /// The grant, when a group's grant gives it.
    async fn group_grant_id(&self) -> Option<ObjectId> {
        match &self.0 {
            Because::Grant { id, .. } => Some(ObjectId::new("GroupGrant", id.0)),
            Because::Role(_) => None,
        }
    }

    /// The group, when a group's grant gives it.
    async fn group(&self) -> Option<Group> {
        match &self.0 {
            Because::Grant { group, .. } => Some(Group(group.clone())),
            Because::Role(_) => None,
        }
    }

    /// The set that holds the permission: the role's built-in set, or the
    /// custom set the grant gives.
    async fn permission_set_name(&self) -> String {
        match &self.0 {
            Because::Role(role) => role.code().to_owned(),
            Because::Grant {
                permission_set_name,
                ..
            } => permission_set_name.clone(),
        }
    }

    /// Whether it covers every project of the account.
    async fn all_projects(&self) -> bool {
        matches!(
            &self.0,
            Because::Role(_) | Because::Grant { projects: None, .. }
        )
    }

    /// The projects it covers, when it lists them.
    async fn projects(&self) -> Vec<Project> {
        match &self.0 {
            Because::Grant {
                projects: Some(listed),
                ..
            } => listed.iter().cloned().map(Project).collect(),
            _ => Vec::new(),
        }
    }
}

/// Whether a principal holds a permission on a project, and what gives it.
#[derive(Debug)]
pub struct PermissionCheck(domain::PermissionCheck);

#[Object]
impl PermissionCheck {
    async fn allowed(&self) -> bool {
        self.0.allowed
    }

    async fn permission(&self) -> String {
        self.0.permission.clone()
    }

    /// The project asked about; `null` when the question was about the
    /// account as a whole.
    async fn project(&self) -> Option<Project> {
        self.0.project.clone().map(Project)
    }

    /// The principal's role in the account (for a key, under its ceiling).
    async fn role_code(&self) -> RoleCode {
        self.0.role.into()
    }

    /// Everything that gives the permission; empty when it is not held.
    async fn sources(&self) -> Vec<PermissionSource> {
        self.0
            .because
            .iter()
            .cloned()
            .map(PermissionSource)
            .collect()
    }
}

#[derive(InputObject, Debug)]
pub struct CheckPermissionInput {
    pub account_id: ObjectId,
    /// `resource:action`, as in `jobs:run`.
    pub permission: String,
    /// A project's id or name; absent, the question is about the account as a
    /// whole (answered by the role and by grants on all projects).
    pub project: Option<String>,
    /// A User or ServiceAccount of the account to ask about (Admins only);
    /// absent, the caller itself.
    pub principal_id: Option<ObjectId>,
}

/// Every permission a principal holds on a project, and what gives each.
#[derive(Debug)]
pub struct HeldPermissions(domain::HeldPermissions);

#[Object]
impl HeldPermissions {
    /// The project asked about; `null` for the account as a whole.
    async fn project(&self) -> Option<Project> {
        self.0.project.clone().map(Project)
    }

    /// The principal's role in the account (for a key, under its ceiling).
    async fn role_code(&self) -> RoleCode {
        self.0.role.into()
    }

    /// Whether the principal holds every permission there is (the Admin
    /// role); `permissions` is then empty.
    async fn every(&self) -> bool {
        self.0.every
    }

    /// Each permission held, by name, with the role or grants that give it.
    async fn permissions(&self) -> Vec<HeldPermission> {
        self.0
            .permissions
            .iter()
            .map(|(name, because)| HeldPermission {
                name: name.clone(),
                sources: because.iter().cloned().map(PermissionSource).collect(),
            })
            .collect()
    }
}

#[derive(SimpleObject, Debug)]
pub struct HeldPermission {
    /// `resource:action`.
    pub name: String,
    pub sources: Vec<PermissionSource>,
}

#[derive(InputObject, Debug)]
pub struct HeldPermissionsInput {
    pub account_id: ObjectId,
    /// A project's id or name; absent, the account as a whole.
    pub project: Option<String>,
    /// A User or ServiceAccount of the account to ask about (Admins only);
    /// absent, the caller itself.
    pub principal_id: Option<ObjectId>,
}

#[derive(Debug, Default)]
pub struct AccessQuery;

#[Object]
impl AccessQuery {
    /// Whether the caller (or, for an Admin, `principalId`) holds a permission
    /// on a project, with the role or grants that give it.
    async fn check_permission(
        &self,
        ctx: &Context<'_>,
        input: CheckPermissionInput,
    ) -> Result<PermissionCheck> {
        let account = account_id(&input.account_id)?;
        let permission = PermissionName::parse(&input.permission).map_err(api)?;
        let project = input.project.as_deref().map(ProjectRef::parse);
        let subject = input.principal_id.as_ref().map(member_of).transpose()?;
        let check = kw(ctx)
            .check_permission(
                caller(ctx)?,
                account,
                &permission,
                project.as_ref(),
                subject,
            )
            .await
            .api()?;
        Ok(PermissionCheck(check))
    }

    /// Every permission the caller (or, for an Admin, `principalId`) holds on
    /// a project, with the role or grants that give each.
    async fn held_permissions(
        &self,
        ctx: &Context<'_>,
        input: HeldPermissionsInput,
    ) -> Result<HeldPermissions> {
        let account = account_id(&input.account_id)?;
        let project = input.project.as_deref().map(ProjectRef::parse);
        let subject = input.principal_id.as_ref().map(member_of).transpose()?;
        let held = kw(ctx)
            .held_permissions(caller(ctx)?, account, project.as_ref(), subject)
            .await
            .api()?;
        Ok(HeldPermissions(held))
    }
}

/// The lists an Account shows of its access objects.
pub async fn account_projects(
    ctx: &Context<'_>,
    account: AccountId,
    first: Option<i32>,
    after: Option<ObjectId>,
) -> Option<Vec<Project>> {
    let found: Result<Option<Vec<Project>>> = async {
        let page = page(first, after.as_ref(), "Project", LIST_PAGE)?;
        let list = kw(ctx).projects(caller(ctx)?, account, page).await.api()?;
        Ok(Some(list.into_iter().map(Project).collect()))
    }
    .await;
    or_null(ctx, found)
}

pub async fn account_groups(
    ctx: &Context<'_>,
    account: AccountId,
    first: Option<i32>,
    after: Option<ObjectId>,
) -> Option<Vec<Group>> {
    let found: Result<Option<Vec<Group>>> = async {
        let page = page(first, after.as_ref(), "Group", LIST_PAGE)?;
        let list = kw(ctx).groups(caller(ctx)?, account, page).await.api()?;
        Ok(Some(list.into_iter().map(Group).collect()))
    }
    .await;
    or_null(ctx, found)
}

pub async fn account_permissions(ctx: &Context<'_>, account: AccountId) -> Option<Vec<Permission>> {
    let found: Result<Option<Vec<Permission>>> = async {
        let list = kw(ctx).permissions(caller(ctx)?, account).await.api()?;
        Ok(Some(list.into_iter().map(Permission).collect()))
    }
    .await;
    or_null(ctx, found)
}

pub async fn account_permission_sets(
    ctx: &Context<'_>,
    account: AccountId,
) -> Option<Vec<PermissionSet>> {
    let found: Result<Option<Vec<PermissionSet>>> = async {
        let list = kw(ctx).permission_sets(caller(ctx)?, account).await.api()?;
        Ok(Some(list.into_iter().map(PermissionSet).collect()))
    }
    .await;
    or_null(ctx, found)
}

/// The groups of `account` that `member` is in (Admins, and the member itself).
pub async fn groups_of(
    ctx: &Context<'_>,
    account: AccountId,
    member: GroupMember,
) -> Option<Vec<Group>> {
    let found: Result<Option<Vec<Group>>> = async {
        let list = kw(ctx)
            .groups_of(caller(ctx)?, account, member)
            .await
            .api()?;
        Ok(Some(list.into_iter().map(Group).collect()))
    }
    .await;
    or_null(ctx, found)
}

#[derive(InputObject, Debug)]
pub struct CreateProjectInput {
    pub account_id: ObjectId,
    /// 1 to 100 letters, digits and `. _ -`, unique in the account.
    pub name: String,
    pub description: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct UpdateProjectInput {
    pub project_id: ObjectId,
    pub name: MaybeUndefined<String>,
    /// `null` clears it.
    pub description: MaybeUndefined<String>,
}

#[derive(InputObject, Debug)]
pub struct DeleteProjectInput {
    pub project_id: ObjectId,
}

#[derive(InputObject, Debug)]
pub struct CreatePermissionInput {
    pub account_id: ObjectId,
    /// `resource:action`: each part 1 to 64 lower-case letters, digits, `_` and
    /// `-`, beginning with a letter. keywarden's own resources are reserved.
    pub name: String,
    pub description: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct DeletePermissionInput {
    pub permission_id: ObjectId,
}

#[derive(InputObject, Debug)]
pub struct CreatePermissionSetInput {
    pub account_id: ObjectId,
    pub name: String,
    pub description: Option<String>,
    /// Permissions the account defines (at most 100).
    pub permissions: Vec<String>,
}

#[derive(InputObject, Debug)]
pub struct UpdatePermissionSetInput {
    pub permission_set_id: ObjectId,
    pub name: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    /// Replaces the whole list when given.
    pub permissions: MaybeUndefined<Vec<String>>,
}

#[derive(InputObject, Debug)]
pub struct DeletePermissionSetInput {
    pub permission_set_id: ObjectId,
}

#[derive(InputObject, Debug)]
pub struct CreateGroupInput {
    pub account_id: ObjectId,
    pub name: String,
    pub description: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct UpdateGroupInput {
    pub group_id: ObjectId,
    pub name: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
}

#[derive(InputObject, Debug)]
pub struct DeleteGroupInput {
    pub group_id: ObjectId,
}

#[derive(InputObject, Debug)]
pub struct GroupMembersInput {
    pub group_id: ObjectId,
    /// Users and service accounts of the group's account.
    pub member_ids: Vec<ObjectId>,
}

#[derive(InputObject, Debug)]
pub struct CreateGroupGrantInput {
    pub group_id: ObjectId,
    /// A custom permission set of the account.
    pub permission_set_id: ObjectId,
    /// `true`: every project of the account, now and to come. Give this or
    /// `projectIds`, not both.
    pub all_projects: Option<bool>,
    /// The projects the grant covers (at most 100).
    pub project_ids: Option<Vec<ObjectId>>,
}

#[derive(InputObject, Debug)]
pub struct DeleteGroupGrantInput {
    pub group_grant_id: ObjectId,
}

#[derive(SimpleObject, Debug)]
pub struct ProjectPayload {
    pub project: Project,
}

#[derive(SimpleObject, Debug)]
pub struct PermissionPayload {
    pub permission: Permission,
}

#[derive(SimpleObject, Debug)]
pub struct PermissionSetPayload {
    pub permission_set: PermissionSet,
}

#[derive(SimpleObject, Debug)]
pub struct GroupPayload {
    pub group: Group,
}

#[derive(SimpleObject, Debug)]
pub struct GroupGrantPayload {
    pub group_grant: GroupGrant,
}

fn set_id(id: &ObjectId) -> Result<PermissionSetId> {
    if id.type_name == "RolePermissionSet" {
        return Err(bad_input(
            "a built-in permission set comes with its role and cannot be changed or granted: \
             give the role, or grant a custom set",
        ));
    }
    id_of(id, "PermissionSet").map(PermissionSetId)
}

fn members(ids: &[ObjectId]) -> Result<Vec<GroupMember>> {
    ids.iter().map(member_of).collect()
}

#[derive(Debug, Default)]
pub struct AccessMutation;

#[Object]
impl AccessMutation {
    #[graphql(guard = "HumanOnly")]
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: CreateProjectInput,
    ) -> Result<ProjectPayload> {
        let request = CreateProject {
            account_id: account_id(&input.account_id)?,
            name: ProjectName::parse(&input.name).map_err(api)?,
            description: description(input.description.as_deref())?,
        };
        let project = kw(ctx)
            .create_project(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(ProjectPayload {
            project: Project(project),
        })
    }

    #[graphql(guard = "HumanOnly")]
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        input: UpdateProjectInput,
    ) -> Result<ProjectPayload> {
        let id = ProjectId(id_of(&input.project_id, "Project")?);
        let update = UpdateProject {
            name: not_null("name", input.name)?
                .map(|n| ProjectName::parse(&n))
                .transpose()
                .map_err(api)?,
            description: description_change(input.description)?,
        };
        let project = kw(ctx)
            .update_project(caller(ctx)?, id, update, now())
            .await
            .api()?;
        Ok(ProjectPayload {
            project: Project(project),
        })
    }

    /// Deletes a project that no grant lists.
    #[graphql(guard = "HumanOnly")]
    async fn delete_project(
        &self,
        ctx: &Context<'_>,
        input: DeleteProjectInput,
    ) -> Result<ProjectPayload> {
        let id = ProjectId(id_of(&input.project_id, "Project")?);
        let project = kw(ctx)
            .delete_project(caller(ctx)?, id, now())
            .await
            .api()?;
        Ok(ProjectPayload {
            project: Project(project),
        })
    }

    #[graphql(guard = "HumanOnly")]
    async fn create_permission(
        &self,
        ctx: &Context<'_>,
        input: CreatePermissionInput,
    ) -> Result<PermissionPayload> {
        let request = CreatePermission {
            account_id: account_id(&input.account_id)?,
            name: PermissionName::parse(&input.name).map_err(api)?,
            description: description(input.description.as_deref())?,
        };
        let permission = kw(ctx)
            .create_permission(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(PermissionPayload {
            permission: Permission(permission),
        })
    }

    /// Deletes a permission that no set holds.
    #[graphql(guard = "HumanOnly")]
    async fn delete_permission(
        &self,
        ctx: &Context<'_>,
        input: DeletePermissionInput,
    ) -> Result<PermissionPayload> {
        let id = PermissionId(id_of(&input.permission_id, "Permission")?);
        let permission = kw(ctx)
            .delete_permission(caller(ctx)?, id, now())
            .await
            .api()?;
        Ok(PermissionPayload {
            permission: Permission(permission),
        })
    }

    #[graphql(guard = "HumanOnly")]
    async fn create_permission_set(
        &self,
        ctx: &Context<'_>,
        input: CreatePermissionSetInput,
    ) -> Result<PermissionSetPayload> {
        let request = CreatePermissionSet {
            account_id: account_id(&input.account_id)?,
            name: PermissionSetName::parse(&input.name).map_err(api)?,
            description: description(input.description.as_deref())?,
            permissions: permission_names(&input.permissions)?,
        };
        let set = kw(ctx)
            .create_permission_set(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(PermissionSetPayload {
            permission_set: PermissionSet(set),
        })
    }

    /// Changes a custom set; its new permissions reach every credential it is
    /// granted to on their next request.
    #[graphql(guard = "HumanOnly")]
    async fn update_permission_set(
        &self,
        ctx: &Context<'_>,
        input: UpdatePermissionSetInput,
    ) -> Result<PermissionSetPayload> {
        let id = set_id(&input.permission_set_id)?;
        let update = UpdatePermissionSet {
            name: not_null("name", input.name)?
                .map(|n| PermissionSetName::parse(&n))
                .transpose()
                .map_err(api)?,
            description: description_change(input.description)?,
            permissions: not_null("permissions", input.permissions)?
                .map(|list| permission_names(&list))
                .transpose()?,
        };
        let set = kw(ctx)
            .update_permission_set(caller(ctx)?, id, update, now())
            .await
            .api()?;
        Ok(PermissionSetPayload {
            permission_set: PermissionSet(set),
        })
    }

    /// Deletes a custom set that no group grants.
    #[graphql(guard = "HumanOnly")]
    async fn delete_permission_set(
        &self,
        ctx: &Context<'_>,
        input: DeletePermissionSetInput,
    ) -> Result<PermissionSetPayload> {
        let id = set_id(&input.permission_set_id)?;
        let set = kw(ctx)
            .delete_permission_set(caller(ctx)?, id, now())
            .await
            .api()?;
        Ok(PermissionSetPayload {
            permission_set: PermissionSet(set),
        })
    }

    #[graphql(guard = "HumanOnly")]
    async fn create_group(
        &self,
        ctx: &Context<'_>,
        input: CreateGroupInput,
    ) -> Result<GroupPayload> {
        let request = CreateGroup {
            account_id: account_id(&input.account_id)?,
            name: GroupName::parse(&input.name).map_err(api)?,
            description: description(input.description.as_deref())?,
        };
        let group = kw(ctx)
            .create_group(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(GroupPayload {
            group: Group(group),
        })
    }

    #[graphql(guard = "HumanOnly")]
    async fn update_group(
        &self,
        ctx: &Context<'_>,
        input: UpdateGroupInput,
    ) -> Result<GroupPayload> {
        let id = GroupId(id_of(&input.group_id, "Group")?);
        let update = UpdateGroup {
            name: not_null("name", input.name)?
                .map(|n| GroupName::parse(&n))
                .transpose()
                .map_err(api)?,
            description: description_change(input.description)?,
        };
        let group = kw(ctx)
            .update_group(caller(ctx)?, id, update, now())
            .await
            .api()?;
        Ok(GroupPayload {
            group: Group(group),
        })
    }

    /// Deletes a group with its grants; its members lose what it granted on
    /// their next request.
    #[graphql(guard = "HumanOnly")]
    async fn delete_group(
        &self,
        ctx: &Context<'_>,
        input: DeleteGroupInput,
    ) -> Result<GroupPayload> {
        let id = GroupId(id_of(&input.group_id, "Group")?);
        let group = kw(ctx).delete_group(caller(ctx)?, id, now()).await.api()?;
        Ok(GroupPayload {
            group: Group(group),
        })
    }

    /// Adds users and service accounts of the account; those already in the
    /// group stay as they are.
    #[graphql(guard = "HumanOnly")]
    async fn add_group_members(
        &self,
        ctx: &Context<'_>,
        input: GroupMembersInput,
    ) -> Result<GroupPayload> {
        let id = GroupId(id_of(&input.group_id, "Group")?);
        let members = members(&input.member_ids)?;
        let group = kw(ctx)
            .add_group_members(caller(ctx)?, id, &members, now())
            .await
            .api()?;
        Ok(GroupPayload {
            group: Group(group),
        })
    }

    /// Takes members out of the group; each must be in it.
    #[graphql(guard = "HumanOnly")]
    async fn remove_group_members(
        &self,
        ctx: &Context<'_>,
        input: GroupMembersInput,
    ) -> Result<GroupPayload> {
        let id = GroupId(id_of(&input.group_id, "Group")?);
        let members = members(&input.member_ids)?;
        let group = kw(ctx)
            .remove_group_members(caller(ctx)?, id, &members, now())
            .await
            .api()?;
        Ok(GroupPayload {
            group: Group(group),
        })
    }

    /// Grants a custom permission set to a group on all projects or on listed
    /// ones.
    #[graphql(guard = "HumanOnly")]
    async fn create_group_grant(
        &self,
        ctx: &Context<'_>,
        input: CreateGroupGrantInput,
    ) -> Result<GroupGrantPayload> {
        let projects = match (input.all_projects, &input.project_ids) {
            (Some(true), None) => None,
            (None | Some(false), Some(ids)) => Some(
                ids.iter()
                    .map(|id| id_of(id, "Project").map(ProjectId))
                    .collect::<Result<Vec<_>>>()?,
            ),
            _ => {
                return Err(bad_input(
                    "give allProjects: true, or projectIds, but not both",
                ));
            }
        };
        let request = CreateGrant {
            group_id: GroupId(id_of(&input.group_id, "Group")?),
            permission_set_id: set_id(&input.permission_set_id)?,
            projects,
        };
        let grant = kw(ctx)
            .create_group_grant(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(GroupGrantPayload {
            group_grant: GroupGrant(grant),
        })
    }

    #[graphql(guard = "HumanOnly")]
    async fn delete_group_grant(
        &self,
        ctx: &Context<'_>,
        input: DeleteGroupGrantInput,
    ) -> Result<GroupGrantPayload> {
        let id = GrantId(id_of(&input.group_grant_id, "GroupGrant")?);
        let grant = kw(ctx)
            .delete_group_grant(caller(ctx)?, id, now())
            .await
            .api()?;
        Ok(GroupGrantPayload {
            group_grant: GroupGrant(grant),
        })
    }
}
