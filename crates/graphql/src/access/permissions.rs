//! Permissions and permission sets: their objects and mutations.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use domain::ids::{AccountId, PermissionId, PermissionSetId};
use domain::{
    CreatePermission, CreatePermissionSet, PermissionName, PermissionSetName, SetKind,
    UpdatePermissionSet,
};

use crate::base::context::{HumanOnly, caller, kw, now, or_null};
use crate::base::error::{ApiResult, api, bad_input};
use crate::base::inputs::{account_id, description, description_change, id_of, not_null};
use crate::base::roles::RoleCode;
use crate::base::scalars::{DateTime, ObjectId};
use crate::objects::{Permission, PermissionSet};

pub(crate) fn permission_names(list: &[String]) -> Result<Vec<PermissionName>> {
    list.iter()
        .map(|p| PermissionName::parse(p).map_err(api))
        .collect()
}

#[Object]
impl Permission {
    pub(crate) async fn id(&self) -> ObjectId {
        ObjectId::new("Permission", self.0.id.0)
    }

    pub(crate) async fn name(&self) -> String {
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

#[Object]
impl PermissionSet {
    /// A custom set's id is a `PermissionSet` id; a built-in one's is the
    /// same in every account.
    pub(crate) async fn id(&self) -> ObjectId {
        match self.0.kind {
            SetKind::Custom(id) => ObjectId::new("PermissionSet", id.0),
            SetKind::BuiltIn(role) => ObjectId::new("RolePermissionSet", role as i64 + 1),
        }
    }

    pub(crate) async fn name(&self) -> String {
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

#[derive(SimpleObject, Debug)]
pub struct PermissionPayload {
    pub permission: Permission,
}

#[derive(SimpleObject, Debug)]
pub struct PermissionSetPayload {
    pub permission_set: PermissionSet,
}

pub(crate) fn set_id(id: &ObjectId) -> Result<PermissionSetId> {
    if id.type_name == "RolePermissionSet" {
        return Err(bad_input(
            "a built-in permission set comes with its role and cannot be changed or granted: \
             give the role, or grant a custom set",
        ));
    }
    id_of(id, "PermissionSet").map(PermissionSetId)
}

#[derive(Debug, Default)]
pub struct PermissionMutation;

#[Object]
impl PermissionMutation {
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
}
