//! The root queries that reach every concept: `me`, `node`, `nodes`,
//! `serviceAccount`, `getAccount`.

use async_graphql::{Context, Object, Result};
use domain::ids::{
    AccountId, AuditEventId, GroupId, InvitationId, KeyId, MemberId, ProjectId, ServiceAccountId,
    TokenId, UserId,
};
use domain::{DomainError, Principal};

use crate::base::context::{caller, kw};
use crate::base::error::{ApiResult, api, bad_input, not_found};
use crate::base::scalars::ObjectId;
use crate::objects::{
    Account, AccountInvitation, AccountMember, AuditEvent, Group, Node, PersonalAccessToken,
    PrincipalNode, Project, ServiceAccount, ServiceAccountKey, User,
};

/// The most ids `nodes` takes at once.
pub const MAX_NODES: usize = 100;

#[derive(Debug, Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// Who the request's credential belongs to.
    async fn me(&self, ctx: &Context<'_>) -> Result<PrincipalNode> {
        let caller = caller(ctx)?;
        let kw = kw(ctx);
        Ok(match caller {
            Principal::User(u) => {
                PrincipalNode::User(User(kw.user(caller, u.user_id).await.api()?))
            }
            Principal::ServiceAccount(_) => PrincipalNode::ServiceAccount(ServiceAccount::from(
                kw.own_service_account(caller).await.api()?,
            )),
        })
    }

    /// Any object by its global id; `null` when it is missing or not the caller's.
    async fn node(&self, ctx: &Context<'_>, id: ObjectId) -> Result<Option<Node>> {
        fetch(ctx, &id).await
    }

    /// Several objects by their global ids, in order; `null` for each one that is
    /// missing or not the caller's.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ObjectId>) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(bad_input(format!("nodes takes at most {MAX_NODES} ids")));
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(fetch(ctx, id).await?);
        }
        Ok(out)
    }

    async fn service_account(&self, ctx: &Context<'_>, id: ObjectId) -> Result<ServiceAccount> {
        let id = id
            .of("ServiceAccount")
            .ok_or_else(|| not_found("ServiceAccount"))?;
        let sa = kw(ctx)
            .service_account(caller(ctx)?, ServiceAccountId(id))
            .await
            .api()?;
        Ok(ServiceAccount::from(sa))
    }

    async fn get_account(&self, ctx: &Context<'_>, id: ObjectId) -> Result<Account> {
        let id = id.of("Account").ok_or_else(|| not_found("Account"))?;
        let account = kw(ctx).account(caller(ctx)?, AccountId(id)).await.api()?;
        Ok(Account(account))
    }
}

/// Resolves a global id for the caller. "Not found" becomes `None`; a refusal
/// inside the caller's own account stays an error.
pub(crate) async fn fetch(ctx: &Context<'_>, id: &ObjectId) -> Result<Option<Node>> {
    let caller = caller(ctx)?;
    let kw = kw(ctx);
    let n = id.id;
    let found: Result<Node, DomainError> = match id.type_name.as_str() {
        "Account" => kw
            .account(caller, AccountId(n))
            .await
            .map(|a| Node::Account(Account(a))),
        "User" => kw
            .user(caller, UserId(n))
            .await
            .map(|u| Node::User(User(u))),
        "ServiceAccount" => kw
            .service_account(caller, ServiceAccountId(n))
            .await
            .map(|s| Node::ServiceAccount(ServiceAccount::from(s))),
        "ServiceAccountKey" => kw.key(caller, KeyId(n)).await.map(|key| {
            Node::ServiceAccountKey(ServiceAccountKey {
                key,
                secret: None,
                owner_role: None,
            })
        }),
        "PersonalAccessToken" => kw
            .personal_access_token(caller, TokenId(n))
            .await
            .map(|token| {
                Node::PersonalAccessToken(PersonalAccessToken {
                    token,
                    secret: None,
                })
            }),
        "AccountMember" => kw
            .member(caller, MemberId(n))
            .await
            .map(|m| Node::AccountMember(AccountMember(m))),
        "AccountInvitation" => kw
            .invitation(caller, InvitationId(n))
            .await
            .map(|invitation| {
                Node::AccountInvitation(AccountInvitation {
                    invitation,
                    secret: None,
                })
            }),
        "AuditEvent" => kw
            .audit_event(caller, AuditEventId(n))
            .await
            .map(|e| Node::AuditEvent(AuditEvent(e))),
        "Project" => kw
            .project(caller, ProjectId(n))
            .await
            .map(|p| Node::Project(Project(p))),
        "Group" => kw
            .group(caller, GroupId(n))
            .await
            .map(|g| Node::Group(Group(g))),
        _ => return Ok(None),
    };
    match found {
        Ok(node) => Ok(Some(node)),
        Err(DomainError::NotFound(_)) => Ok(None),
        Err(e) => Err(api(e)),
    }
}
