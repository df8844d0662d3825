//! Projects: the `Project` object, an account's projects, and the mutations
//! that make, change and delete one.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use domain::ids::{AccountId, ProjectId};
use domain::{CreateProject, ProjectName, UpdateProject};

use crate::base::context::{HumanOnly, caller, kw, now, or_null};
use crate::base::error::{ApiResult, api};
use crate::base::inputs::{account_id, description, description_change, id_of, not_null};
use crate::base::page::{LIST_PAGE, page};
use crate::base::scalars::{DateTime, ObjectId};
use crate::objects::{Account, Project};

#[Object]
impl Project {
    pub async fn id(&self) -> ObjectId {
        ObjectId::new("Project", self.0.id.0)
    }

    /// Unique in the account; services may name the project by it.
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

    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        Ok(Account(
            kw(ctx)
                .account(caller(ctx)?, self.0.account_id)
                .await
                .api()?,
        ))
    }
}

pub(crate) async fn projects_by_id(ctx: &Context<'_>, ids: &[ProjectId]) -> Result<Vec<Project>> {
    let caller = caller(ctx)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(Project(kw(ctx).project(caller, *id).await.api()?));
    }
    Ok(out)
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

#[derive(SimpleObject, Debug)]
pub struct ProjectPayload {
    pub project: Project,
}

#[derive(Debug, Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
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
}
