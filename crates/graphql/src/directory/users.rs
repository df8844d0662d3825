//! The `User` object: a person, the accounts they belong to, their tokens
//! and their own audit log.

use async_graphql::{Context, Object, Result};
use domain::Principal;

use crate::audit::{AuditEventConnection, page_query};
use crate::base::context::{caller, kw, or_null};
use crate::base::error::{ApiResult, Code, coded};
use crate::base::scalars::{DateTime, ObjectId};
use crate::objects::{Account, PersonalAccessToken, User};

/// A person. Authenticates with personal access tokens.
#[Object]
impl User {
    pub(crate) async fn id(&self) -> ObjectId {
        ObjectId::new("User", self.0.id.0)
    }

    async fn username(&self) -> String {
        self.0.username.clone()
    }

    /// The username: a user's name as a principal.
    pub(crate) async fn name(&self) -> String {
        self.0.username.clone()
    }

    async fn email(&self) -> Option<String> {
        self.0.email.clone()
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    pub(crate) async fn is_service_account(&self) -> bool {
        false
    }

    /// The accounts this user belongs to (the first 100). Only for the user
    /// themself.
    async fn accounts(&self, ctx: &Context<'_>) -> Option<Vec<Account>> {
        let found: Result<Option<Vec<Account>>> = async {
            self.only_self(ctx)?;
            let list = kw(ctx).accounts_of(self.0.id).await.api()?;
            Ok(Some(list.into_iter().map(|(a, _)| Account(a)).collect()))
        }
        .await;
        or_null(ctx, found)
    }

    /// This user's tokens, newest first (the latest 100). Only for the user
    /// themself.
    async fn personal_access_tokens(&self, ctx: &Context<'_>) -> Option<Vec<PersonalAccessToken>> {
        let found: Result<Option<Vec<PersonalAccessToken>>> = async {
            self.only_self(ctx)?;
            let list = kw(ctx).personal_access_tokens(caller(ctx)?).await.api()?;
            Ok(Some(
                list.into_iter()
                    .map(|t| PersonalAccessToken {
                        token: t,
                        secret: None,
                    })
                    .collect(),
            ))
        }
        .await;
        or_null(ctx, found)
    }

    /// What this user did outside any account (their own tokens), oldest
    /// first (`last` takes the newest). Only for the user themself; an
    /// account's events are in its `auditEvents`.
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Option<AuditEventConnection> {
        let found: Result<Option<AuditEventConnection>> = async {
            self.only_self(ctx)?;
            let query = page_query(first, after.as_deref(), last, before.as_deref())?;
            let page = kw(ctx).own_audit_events(caller(ctx)?, &query).await.api()?;
            Ok(Some(AuditEventConnection::of(&query, page)))
        }
        .await;
        or_null(ctx, found)
    }
}

impl User {
    fn only_self(&self, ctx: &Context<'_>) -> Result<()> {
        match caller(ctx)? {
            Principal::User(u) if u.user_id == self.0.id => Ok(()),
            _ => Err(coded(
                Code::Unauthorized,
                "Unauthorized: only a user can see their own accounts and tokens",
            )),
        }
    }
}
