//! Which credentials nobody uses: `unusedCredentials(accountId, days)`, the
//! account's working keys and its members' working tokens idle for that many
//! days or never used, the longest idle first, paged by cursor.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use domain::{Action, Unused, UnusedPlace};

use crate::base::context::{caller, kw, now};
use crate::base::error::{ApiResult, bad_input};
use crate::base::inputs::account_id;
use crate::base::page::{DEFAULT_PAGE, PageInfo, page_size};
use crate::base::scalars::{DateTime, ObjectId};
use crate::objects::{ServiceAccountKey, User, user_seen_from};

#[derive(Debug, Default)]
pub struct UnusedQuery;

#[Object]
impl UnusedQuery {
    /// The account's keys, and its members' personal access tokens, that
    /// work but have not been used for `days` days (1 to 3650) or were never
    /// used: the longest idle first (by last use, or by making for one never
    /// used), up to `first` (at most 100, by default 50) after the cursor
    /// `after`. Admins only.
    async fn unused_credentials(
        &self,
        ctx: &Context<'_>,
        account_id: ObjectId,
        days: i32,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<UnusedCredentialConnection> {
        let account = self::account_id(&account_id)?;
        let limit = page_size("first", first.unwrap_or(DEFAULT_PAGE))?;
        let place = after
            .as_deref()
            .map(|c| {
                UnusedPlace::from_cursor(c)
                    .ok_or_else(|| bad_input("after is not a cursor from this connection"))
            })
            .transpose()?;
        let page = kw(ctx)
            .unused_credentials(caller(ctx)?, account, i64::from(days), place, limit, now())
            .await
            .api()?;
        let nodes: Vec<UnusedCredential> = page
            .credentials
            .into_iter()
            .map(|credential| UnusedCredential {
                credential,
                account,
            })
            .collect();
        let cursor = |n: &UnusedCredential| n.credential.place().cursor();
        Ok(UnusedCredentialConnection {
            page_info: PageInfo {
                has_next_page: page.has_more,
                has_previous_page: place.is_some(),
                start_cursor: nodes.first().map(cursor),
                end_cursor: nodes.last().map(cursor),
            },
            total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
            edges: nodes
                .iter()
                .map(|n| UnusedCredentialEdge {
                    cursor: cursor(n),
                    node: n.clone(),
                })
                .collect(),
            nodes,
        })
    }
}

/// A page of unused credentials.
#[derive(SimpleObject, Debug)]
pub struct UnusedCredentialConnection {
    pub nodes: Vec<UnusedCredential>,
    /// One cursor for each node, in the same order.
    pub edges: Vec<UnusedCredentialEdge>,
    pub page_info: PageInfo,
    /// Unused credentials in the whole list, not just this page.
    pub total_count: i64,
}

#[derive(SimpleObject, Debug)]
pub struct UnusedCredentialEdge {
    pub cursor: String,
    pub node: UnusedCredential,
}

/// What kind of credential an unused one is.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    ServiceAccountKey,
    PersonalAccessToken,
}

/// A credential of the account that nobody has used for the days asked.
#[derive(Clone, Debug)]
pub struct UnusedCredential {
    credential: Unused,
    account: domain::ids::AccountId,
}

#[Object]
impl UnusedCredential {
    /// The key's or the token's id.
    async fn id(&self) -> ObjectId {
        match &self.credential {
            Unused::Key(k) => ObjectId::new("ServiceAccountKey", k.id.0),
            Unused::Token(t) => ObjectId::new("PersonalAccessToken", t.id.0),
        }
    }

    async fn kind(&self) -> CredentialKind {
        match self.credential {
            Unused::Key(_) => CredentialKind::ServiceAccountKey,
            Unused::Token(_) => CredentialKind::PersonalAccessToken,
        }
    }

    async fn name(&self) -> Option<String> {
        match &self.credential {
            Unused::Key(k) => k.name.clone(),
            Unused::Token(t) => t.name.clone(),
        }
    }

    async fn created_at(&self) -> DateTime {
        match &self.credential {
            Unused::Key(k) => k.created_at.into(),
            Unused::Token(t) => t.created_at.into(),
        }
    }

    /// `null` for one never used.
    async fn last_used_at(&self) -> Option<DateTime> {
        match &self.credential {
            Unused::Key(k) => k.last_used_at.map(DateTime),
            Unused::Token(t) => t.last_used_at.map(DateTime),
        }
    }

    async fn expires_at(&self) -> Option<DateTime> {
        match &self.credential {
            Unused::Key(k) => k.expires_at.map(DateTime),
            Unused::Token(t) => t.expires_at.map(DateTime),
        }
    }

    /// Since when it has been idle: its last use, or its making.
    async fn idle_since(&self) -> DateTime {
        self.credential.idle_since().into()
    }

    /// The key, with its service account, for a key.
    async fn service_account_key(&self) -> Option<ServiceAccountKey> {
        match &self.credential {
            Unused::Key(k) => Some(ServiceAccountKey {
                key: k.clone(),
                secret: None,
                owner_role: None,
            }),
            Unused::Token(_) => None,
        }
    }

    /// The member whose token it is, for a token. (Where the member used it
    /// is theirs alone to see.)
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match &self.credential {
            Unused::Key(_) => Ok(None),
            Unused::Token(t) => {
                user_seen_from(ctx, self.account, Action::ManageKeys, t.user_id).await
            }
        }
    }
}
