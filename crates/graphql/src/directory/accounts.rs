//! The `Account` object: a tenant and everything listed under it.

use async_graphql::{Context, Object, Result};

use crate::access::groups::account_groups;
use crate::access::permissions::{account_permission_sets, account_permissions};
use crate::access::projects::account_projects;
use crate::audit::{AuditEventConnection, AuditEventFilter, page_query};
use crate::base::context::{caller, kw, or_null};
use crate::base::error::ApiResult;
use crate::base::page::{LIST_PAGE, page};
use crate::base::roles::RoleCode;
use crate::base::scalars::{DateTime, ObjectId};
use crate::credentials::leaks::LeakResponse;
use crate::credentials::rules::CredentialPolicy;
use crate::objects::{
    Account, AccountInvitation, AccountMember, Group, Permission, PermissionSet, Project,
    ServiceAccount,
};

/// A tenant: everything else belongs to one.
#[Object]
impl Account {
    pub(crate) async fn id(&self) -> ObjectId {
        ObjectId::new("Account", self.0.id.0)
    }

    pub(crate) async fn name(&self) -> String {
        self.0.name.clone()
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// What a leak of one of this account's credentials does. Admins only
    /// (`null`, with an error, for anyone else).
    async fn leak_response(&self, ctx: &Context<'_>) -> Option<LeakResponse> {
        let found = async {
            let response = kw(ctx).leak_response(caller(ctx)?, self.0.id).await.api()?;
            Ok(Some(response.into()))
        }
        .await;
        or_null(ctx, found)
    }

    /// What the account requires of its keys. Admins only (`null`, with an
    /// error, for anyone else).
    async fn credential_policy(&self, ctx: &Context<'_>) -> Option<CredentialPolicy> {
        let found = async {
            let policy = kw(ctx)
                .credential_policy(caller(ctx)?, self.0.id)
                .await
                .api()?;
            Ok(Some(policy.into()))
        }
        .await;
        or_null(ctx, found)
    }

    /// The caller's role in this account.
    async fn viewer_role_code(&self, ctx: &Context<'_>) -> Result<Option<RoleCode>> {
        Ok(caller(ctx)?.role_in(self.0.id).map(RoleCode::from))
    }

    /// The account's service accounts, oldest first: up to `first` (at most and
    /// by default 100) after the one whose id is `after`; with `search`, only
    /// those whose name contains it (ignoring the case of ASCII letters).
    async fn service_accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ObjectId>,
        search: Option<String>,
    ) -> Option<Vec<ServiceAccount>> {
        let found: Result<Option<Vec<ServiceAccount>>> = async {
            let page = page(first, after.as_ref(), "ServiceAccount", LIST_PAGE)?;
            let list = kw(ctx)
                .service_accounts(caller(ctx)?, self.0.id, page, search.as_deref())
                .await
                .api()?;
            // A list that shows its keys' usage reads it for all at once; if
            // that is refused, each item asks, and says why.
            let mut usages = if ctx.look_ahead().field("keyUsage").exists() {
                kw(ctx)
                    .key_usages(caller(ctx)?, &list, domain::time::now())
                    .await
                    .unwrap_or_default()
            } else {
                std::collections::HashMap::new()
            };
            Ok(Some(
                list.into_iter()
                    .map(|sa| {
                        let usage = usages.remove(&sa.id);
                        ServiceAccount(sa, usage)
                    })
                    .collect(),
            ))
        }
        .await;
        or_null(ctx, found)
    }

    /// The users of this account and their roles, in the order they joined: up
    /// to `first` (at most and by default 100) after the membership `after`.
    /// Service accounts are not members.
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ObjectId>,
    ) -> Option<Vec<AccountMember>> {
        let found: Result<Option<Vec<AccountMember>>> = async {
            let page = page(first, after.as_ref(), "AccountMember", LIST_PAGE)?;
            let list = kw(ctx).members(caller(ctx)?, self.0.id, page).await.api()?;
            Ok(Some(list.into_iter().map(AccountMember).collect()))
        }
        .await;
        or_null(ctx, found)
    }

    /// Invitations that can still be accepted, newest first (Admins only; an
    /// account has at most 100).
    async fn invitations(&self, ctx: &Context<'_>) -> Option<Vec<AccountInvitation>> {
        let found: Result<Option<Vec<AccountInvitation>>> = async {
            let list = kw(ctx)
                .pending_invitations(caller(ctx)?, self.0.id, domain::time::now())
                .await
                .api()?;
            Ok(Some(
                list.into_iter()
                    .map(|invitation| AccountInvitation {
                        invitation,
                        secret: None,
                    })
                    .collect(),
            ))
        }
        .await;
        or_null(ctx, found)
    }

    /// The account's projects, oldest first: up to `first` (at most and by
    /// default 100) after the project `after` (Admins only).
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ObjectId>,
    ) -> Option<Vec<Project>> {
        account_projects(ctx, self.0.id, first, after).await
    }

    /// The permissions the account defines, by name (Admins only). keywarden's
    /// own are listed in the built-in permission sets.
    async fn permissions(&self, ctx: &Context<'_>) -> Option<Vec<Permission>> {
        account_permissions(ctx, self.0.id).await
    }

    /// The built-in permission sets (Admin, Editor, Viewer), then the
    /// account's own by name (Admins only).
    async fn permission_sets(&self, ctx: &Context<'_>) -> Option<Vec<PermissionSet>> {
        account_permission_sets(ctx, self.0.id).await
    }

    /// The account's groups, oldest first: up to `first` (at most and by
    /// default 100) after the group `after` (Admins only).
    async fn groups(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ObjectId>,
    ) -> Option<Vec<Group>> {
        account_groups(ctx, self.0.id, first, after).await
    }

    /// The audit log, oldest first (`last` takes the newest), with only the
    /// events `filter` matches when it is given.
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AuditEventFilter>,
    ) -> Option<AuditEventConnection> {
        let found: Result<Option<AuditEventConnection>> = async {
            let mut query = page_query(first, after.as_deref(), last, before.as_deref())?;
            if let Some(filter) = filter {
                query.filter = filter.read()?;
            }
            let page = kw(ctx)
                .audit_events(caller(ctx)?, self.0.id, &query)
                .await
                .api()?;
            Ok(Some(AuditEventConnection::of(&query, page)))
        }
        .await;
        or_null(ctx, found)
    }
}
