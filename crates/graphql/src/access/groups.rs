//! Groups and their grants: the `Group` and `GroupGrant` objects, a member's
//! groups, and the mutations of groups, their members and their grants.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use domain::ids::{AccountId, GrantId, GroupId, ProjectId};
use domain::{CreateGrant, CreateGroup, GroupMember, GroupName, UpdateGroup};

use crate::access::permissions::set_id;
use crate::access::projects::projects_by_id;
use crate::base::context::{HumanOnly, caller, kw, now, or_null};
use crate::base::error::{ApiResult, api, bad_input};
use crate::base::inputs::{
    account_id, description, description_change, id_of, member_of, not_null,
};
use crate::base::page::{LIST_PAGE, page};
use crate::base::scalars::{DateTime, ObjectId};
use crate::objects::{
    Group, GroupGrant, PermissionSet, PrincipalNode, Project, ServiceAccount, User,
};

#[Object]
impl Group {
    pub async fn id(&self) -> ObjectId {
        ObjectId::new("Group", self.0.id.0)
    }

    pub(crate) async fn name(&self) -> String {
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

#[Object]
impl GroupGrant {
    pub(crate) async fn id(&self) -> ObjectId {
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
pub struct GroupPayload {
    pub group: Group,
}

#[derive(SimpleObject, Debug)]
pub struct GroupGrantPayload {
    pub group_grant: GroupGrant,
}

pub(crate) fn members(ids: &[ObjectId]) -> Result<Vec<GroupMember>> {
    ids.iter().map(member_of).collect()
}

#[derive(Debug, Default)]
pub struct GroupMutation;

#[Object]
impl GroupMutation {
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
