//! The questions asked of access: `checkPermission` (may this principal do
//! this on that project, and what gives it) and `heldPermissions`.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use domain::{Because, PermissionName, ProjectRef};

use crate::base::context::{caller, kw};
use crate::base::error::{ApiResult, api};
use crate::base::inputs::{account_id, member_of};
use crate::base::roles::RoleCode;
use crate::base::scalars::ObjectId;
use crate::objects::{Group, Project};

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
pub struct CheckQuery;

#[Object]
impl CheckQuery {
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
