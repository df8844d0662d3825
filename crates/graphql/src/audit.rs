//! The audit log: the `AuditEvent` object and its connection, filtered and
//! paged by cursor.

use async_graphql::{Context, Object, Result, SimpleObject};
use domain::ids::{ServiceAccountId, UserId};
use domain::{Action, ActorKind, AuditQuery};

use crate::base::context::{caller, kw};
use crate::base::error::{ApiResult, bad_input};
use crate::base::page::{DEFAULT_PAGE, PageInfo, page_size};
use crate::base::scalars::{DateTime, ObjectId};
use crate::objects::{AuditEvent, PrincipalNode, ServiceAccount, User, user_seen_from};

pub(crate) fn cursor_of(id: i64) -> String {
    domain::object_id::encode("AuditEvent", id)
}

pub(crate) fn parse_cursor(name: &str, cursor: &str) -> Result<domain::ids::AuditEventId> {
    match domain::object_id::decode(cursor) {
        Some((kind, id)) if kind == "AuditEvent" => Ok(domain::ids::AuditEventId(id)),
        _ => Err(bad_input(format!(
            "{name} is not a cursor from this connection"
        ))),
    }
}

pub(crate) fn page_query(
    first: Option<i32>,
    after: Option<&str>,
    last: Option<i32>,
    before: Option<&str>,
) -> Result<AuditQuery> {
    let (limit, from_end) = match (first, last) {
        (Some(_), Some(_)) => return Err(bad_input("use first or last, not both")),
        (Some(n), None) => (page_size("first", n)?, false),
        (None, Some(n)) => (page_size("last", n)?, true),
        (None, None) => (page_size("first", DEFAULT_PAGE)?, false),
    };
    Ok(AuditQuery {
        after: after.map(|c| parse_cursor("after", c)).transpose()?,
        before: before.map(|c| parse_cursor("before", c)).transpose()?,
        limit,
        from_end,
        filter: domain::AuditFilter::default(),
    })
}

/// Which audit events to list: every field given must match.
#[derive(async_graphql::InputObject, Debug, Default)]
pub struct AuditEventFilter {
    /// Events by this user or service account.
    pub actor_id: Option<ObjectId>,
    /// Events about this object (the events' `targetId`).
    pub target_id: Option<ObjectId>,
    /// Events whose action is this one (`service_account.create`) or begins
    /// with it and a dot (`service_account`).
    pub action: Option<String>,
}

impl AuditEventFilter {
    pub(crate) fn read(self) -> Result<domain::AuditFilter> {
        let actor = self
            .actor_id
            .as_ref()
            .map(crate::base::inputs::member_of)
            .transpose()
            .map_err(|_| {
                bad_input("filter.actorId must be the id of a user or of a service account")
            })?;
        let action = match self.action {
            Some(action)
                if (1..=64).contains(&action.len())
                    && action
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.') =>
            {
                Some(action)
            }
            Some(_) => {
                return Err(bad_input(
                    "filter.action must be 1 to 64 characters of a-z, _ and . (as in service_account.create)",
                ));
            }
            None => None,
        };
        Ok(domain::AuditFilter {
            actor,
            target: self.target_id.map(|id| (id.type_name, id.id)),
            action,
        })
    }
}

impl AuditEventConnection {
    pub(crate) fn of(query: &AuditQuery, page: domain::AuditPage) -> Self {
        let (has_next, has_previous) = if query.from_end {
            (query.before.is_some(), page.has_more)
        } else {
            (page.has_more, query.after.is_some())
        };
        let nodes: Vec<AuditEvent> = page.events.into_iter().map(AuditEvent).collect();
        let cursor = |e: &AuditEvent| cursor_of(e.0.id.0);
        AuditEventConnection {
            page_info: PageInfo {
                has_next_page: has_next,
                has_previous_page: has_previous,
                start_cursor: nodes.first().map(cursor),
                end_cursor: nodes.last().map(cursor),
            },
            edges: nodes
                .iter()
                .map(|n| AuditEventEdge {
                    cursor: cursor(n),
                    node: AuditEvent(n.0.clone()),
                })
                .collect(),
            total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
            nodes,
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct AuditEventEdge {
    pub cursor: String,
    pub node: AuditEvent,
}

/// A page of audit events.
#[derive(SimpleObject, Debug)]
pub struct AuditEventConnection {
    pub nodes: Vec<AuditEvent>,
    pub edges: Vec<AuditEventEdge>,
    pub page_info: PageInfo,
    /// Events in the whole log, not just this page.
    pub total_count: i64,
}

/// One successful change: who did what to which object, and when.
#[Object]
impl AuditEvent {
    pub(crate) async fn id(&self) -> ObjectId {
        ObjectId::new("AuditEvent", self.0.id.0)
    }

    /// What was done, as in `service_account.create`.
    async fn action(&self) -> String {
        self.0.action.clone()
    }

    /// Who did it, while they still exist and the caller may see them.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<PrincipalNode>> {
        let kw = kw(ctx);
        let caller = caller(ctx)?;
        match self.0.actor_kind {
            ActorKind::User => {
                let id = UserId(self.0.actor_id);
                let user = match self.0.account_id {
                    Some(account) => kw
                        .user_seen_from(caller, account, Action::ReadAuditLog, id)
                        .await
                        .api()?,
                    None => kw.user(caller, id).await.ok(),
                };
                Ok(user.map(|u| PrincipalNode::User(User(u))))
            }
            ActorKind::ServiceAccount => {
                let sa = kw
                    .service_account(caller, ServiceAccountId(self.0.actor_id))
                    .await
                    .ok();
                Ok(sa.map(|s| PrincipalNode::ServiceAccount(ServiceAccount::from(s))))
            }
            ActorKind::System => Ok(None),
        }
    }

    /// `User`, `ServiceAccount`, or `System` for keywarden itself.
    async fn actor_type(&self) -> String {
        format!("{:?}", self.0.actor_kind)
    }

    /// The actor's name when the event was written.
    async fn actor_name(&self) -> String {
        self.0.actor_name.clone()
    }

    /// The human the action is attributed to.
    async fn attributed_user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match (self.0.attributed_user_id, self.0.account_id) {
            (Some(id), Some(account)) => {
                user_seen_from(ctx, account, Action::ReadAuditLog, id).await
            }
            (Some(id), None) => Ok(kw(ctx).user(caller(ctx)?, id).await.ok().map(User)),
            (None, _) => Ok(None),
        }
    }

    async fn target_type(&self) -> String {
        self.0.target_type.clone()
    }

    async fn target_id(&self) -> ObjectId {
        ObjectId::new(&self.0.target_type, self.0.target_id)
    }

    /// The target's name when the event was written.
    async fn target_name(&self) -> Option<String> {
        self.0.target_name.clone()
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// The address of the client whose request made the change (behind trusted
    /// proxies, the client they forwarded for); null for changes keywarden made
    /// itself.
    async fn client_address(&self) -> Option<String> {
        self.0.origin.client.map(|a| a.to_string())
    }

    /// The id of the request that made the change, as in its `X-Request-Id`
    /// and the access log.
    async fn request_id(&self) -> Option<String> {
        self.0.origin.request_id.clone()
    }

    /// The changed object as it was before the change (`null` for one it
    /// created, and for changes that record no before and after).
    async fn before(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.before.clone().map(async_graphql::Json)
    }

    /// The changed object as it is after the change (`null` for one it
    /// deleted, and for changes that record no before and after).
    async fn after(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.after.clone().map(async_graphql::Json)
    }
}
