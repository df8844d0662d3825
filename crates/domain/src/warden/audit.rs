//! The audit log: one event per successful mutation, written in the mutation's own
//! transaction, so an event exists exactly when its change does.
//!
//! Events hold names as well as ids and no secrets, ever.

use chrono::{DateTime, Utc};
use entity::{audit_event, membership, service_account};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Set,
};

use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::GroupMember;
use crate::base::ids::{AccountId, AuditEventId, ServiceAccountId, UserId};
use crate::base::origin::Origin;
use crate::base::time::{from_millis, to_millis};
use crate::policy::principal::Principal;
use crate::policy::role::Role;
use crate::policy::table::{Action, authorize};
use crate::warden::handle::Keywarden;

/// Who did it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ActorKind {
    User,
    ServiceAccount,
    /// keywarden itself: the first-start set-up and `keywarden bootstrap`.
    System,
}

impl ActorKind {
    fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "User",
            ActorKind::ServiceAccount => "ServiceAccount",
            ActorKind::System => "System",
        }
    }

    fn from_stored(s: &str) -> DomainResult<Self> {
        match s {
            "User" => Ok(ActorKind::User),
            "ServiceAccount" => Ok(ActorKind::ServiceAccount),
            "System" => Ok(ActorKind::System),
            other => Err(DomainError::Internal(format!(
                "stored actor type {other:?}"
            ))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub account_id: Option<AccountId>,
    pub action: String,
    pub actor_kind: ActorKind,
    pub actor_id: i64,
    pub actor_name: String,
    pub attributed_user_id: Option<UserId>,
    pub target_type: String,
    pub target_id: i64,
    pub target_name: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Where the request that made the change came from, when one did.
    pub origin: Origin,
    /// The changed object as it was, for changes that record it.
    pub before: Option<serde_json::Value>,
    /// The changed object as it is after the change.
    pub after: Option<serde_json::Value>,
}

impl TryFrom<audit_event::Model> for AuditEvent {
    type Error = DomainError;

    fn try_from(m: audit_event::Model) -> DomainResult<Self> {
        let mut changes: serde_json::Value = match &m.changes {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| DomainError::Internal(format!("stored audit changes: {e}")))?,
            None => serde_json::Value::Null,
        };
        let mut part = |name: &str| match changes.get_mut(name).map(serde_json::Value::take) {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => Some(value),
        };
        let (before, after) = (part("before"), part("after"));
        Ok(Self {
            before,
            after,
            id: AuditEventId(m.id),
            account_id: m.account_id.map(AccountId),
            action: m.action,
            actor_kind: ActorKind::from_stored(&m.actor_type)?,
            actor_id: m.actor_id,
            actor_name: m.actor_name,
            attributed_user_id: m.attributed_user_id.map(UserId),
            target_type: m.target_type,
            target_id: m.target_id,
            target_name: m.target_name,
            created_at: from_millis(m.created_at)?,
            origin: Origin {
                client: m.client_address.as_deref().and_then(|a| a.parse().ok()),
                request_id: m.request_id,
            },
        })
    }
}

/// What was done: every action the log records.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum AuditAction {
    AccountCreate,
    /// An account's settings changed (what a leak does).
    AccountUpdate,
    MemberAdd,
    MemberUpdate,
    MemberRemove,
    MemberJoin,
    MemberJoinElsewhere,
    InvitationCreate,
    InvitationRevoke,
    ServiceAccountCreate,
    ServiceAccountUpdate,
    ServiceAccountEnable,
    ServiceAccountDisable,
    ServiceAccountDelete,
    KeyCreate,
    KeyRevoke,
    KeyRotate,
    /// A key's address ranges changed.
    KeyUpdate,
    /// A key stopped working until enabled: by an Admin, or for want of use.
    KeyDisable,
    KeyEnable,
    TokenCreate,
    TokenRevoke,
    TokenRotate,
    /// The operator gave an Admin a new token from the server's machine.
    TokenRecover,
    /// A credential was reported as found in public.
    CredentialLeak,
    ProjectCreate,
    ProjectUpdate,
    ProjectDelete,
    PermissionCreate,
    PermissionDelete,
    PermissionSetCreate,
    PermissionSetUpdate,
    PermissionSetDelete,
    GroupCreate,
    GroupUpdate,
    GroupDelete,
    GroupMemberAdd,
    GroupMemberRemove,
    GroupGrantCreate,
    GroupGrantDelete,
}

impl AuditAction {
    /// The name the log stores and shows.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuditAction::AccountCreate => "account.create",
            AuditAction::AccountUpdate => "account.update",
            AuditAction::MemberAdd => "account_member.add",
            AuditAction::MemberUpdate => "account_member.update",
            AuditAction::MemberRemove => "account_member.remove",
            AuditAction::MemberJoin => "account_member.join",
            AuditAction::MemberJoinElsewhere => "account_member.join_elsewhere",
            AuditAction::InvitationCreate => "account_invitation.create",
            AuditAction::InvitationRevoke => "account_invitation.revoke",
            AuditAction::ServiceAccountCreate => "service_account.create",
            AuditAction::ServiceAccountUpdate => "service_account.update",
            AuditAction::ServiceAccountEnable => "service_account.enable",
            AuditAction::ServiceAccountDisable => "service_account.disable",
            AuditAction::ServiceAccountDelete => "service_account.delete",
            AuditAction::KeyCreate => "service_account_key.create",
            AuditAction::KeyRevoke => "service_account_key.revoke",
            AuditAction::KeyRotate => "service_account_key.rotate",
            AuditAction::KeyUpdate => "service_account_key.update",
            AuditAction::KeyDisable => "service_account_key.disable",
            AuditAction::KeyEnable => "service_account_key.enable",
            AuditAction::TokenCreate => "personal_access_token.create",
            AuditAction::TokenRevoke => "personal_access_token.revoke",
            AuditAction::TokenRotate => "personal_access_token.rotate",
            AuditAction::TokenRecover => "personal_access_token.recover",
            AuditAction::CredentialLeak => "credential.leak",
            AuditAction::ProjectCreate => "project.create",
            AuditAction::ProjectUpdate => "project.update",
            AuditAction::ProjectDelete => "project.delete",
            AuditAction::PermissionCreate => "permission.create",
            AuditAction::PermissionDelete => "permission.delete",
            AuditAction::PermissionSetCreate => "permission_set.create",
            AuditAction::PermissionSetUpdate => "permission_set.update",
            AuditAction::PermissionSetDelete => "permission_set.delete",
            AuditAction::GroupCreate => "group.create",
            AuditAction::GroupUpdate => "group.update",
            AuditAction::GroupDelete => "group.delete",
            AuditAction::GroupMemberAdd => "group_member.add",
            AuditAction::GroupMemberRemove => "group_member.remove",
            AuditAction::GroupGrantCreate => "group_grant.create",
            AuditAction::GroupGrantDelete => "group_grant.delete",
        }
    }
}

/// Who is acting, as the log records it, resolved once when a change begins.
#[derive(Clone, Debug)]
pub(crate) struct Actor {
    kind: ActorKind,
    id: i64,
    name: String,
    attributed: Option<UserId>,
}

impl Actor {
    /// `principal`, with the user a service account's actions are attributed to.
    pub(crate) async fn of<C: ConnectionTrait>(
        conn: &C,
        principal: &Principal,
    ) -> DomainResult<Self> {
        Ok(match principal {
            Principal::User(u) => Self {
                kind: ActorKind::User,
                id: u.user_id.0,
                name: u.username.clone(),
                attributed: Some(u.user_id),
            },
            Principal::ServiceAccount(s) => Self {
                kind: ActorKind::ServiceAccount,
                id: s.service_account_id.0,
                name: s.name.clone(),
                attributed: attributed_user(conn, s.service_account_id).await?,
            },
        })
    }

    /// keywarden acting for someone who holds no principal, by `name` (a
    /// leak's reporter), about `concerning`'s own credential if it is one: the
    /// event is then in that user's own log.
    pub(crate) fn system_for(name: String, concerning: Option<UserId>) -> Self {
        Self {
            name,
            attributed: concerning,
            ..Self::system()
        }
    }

    /// keywarden itself.
    pub(crate) fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: 0,
            name: "keywarden".to_owned(),
            attributed: None,
        }
    }
}

/// What was acted on.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub kind: &'static str,
    pub id: i64,
    pub name: Option<String>,
}

impl Target {
    pub fn new(kind: &'static str, id: i64, name: Option<&str>) -> Self {
        Self {
            kind,
            id,
            name: name.map(str::to_owned),
        }
    }
}

/// One event: in which account's log, what, and on what.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub account: Option<AccountId>,
    pub action: AuditAction,
    pub target: Target,
    /// What the object was before the change and is after it (`null` for
    /// one that did not exist before, or does not after).
    pub changes: Option<serde_json::Value>,
}

impl Event {
    pub fn new(account: Option<AccountId>, action: AuditAction, target: Target) -> Self {
        Self {
            account,
            action,
            target,
            changes: None,
        }
    }

    /// The event with the object as it was and as it is.
    pub fn changing(
        mut self,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Self {
        self.changes = Some(serde_json::json!({ "before": before, "after": after }));
        self
    }
}

/// Writes one event, inside the change's transaction (see [`crate::warden::write`]).
pub(crate) async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    origin: &Origin,
    event: Event,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    audit_event::ActiveModel {
        account_id: Set(event.account.map(|a| a.0)),
        action: Set(event.action.as_str().to_owned()),
        actor_type: Set(actor.kind.as_str().to_owned()),
        actor_id: Set(actor.id),
        actor_name: Set(actor.name.clone()),
        attributed_user_id: Set(actor.attributed.map(|u| u.0)),
        target_type: Set(event.target.kind.to_owned()),
        target_id: Set(event.target.id),
        target_name: Set(event.target.name),
        created_at: Set(to_millis(now)),
        client_address: Set(origin.client.map(|a| a.to_string())),
        request_id: Set(origin.request_id.clone()),
        changes: Set(event.changes.map(|c| c.to_string())),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The human a service account's actions are attributed to: its creator while
/// the creator is still a member of the account, otherwise the account's oldest
/// Admin (earliest membership, then lowest user id). Deterministic: the same
/// service account resolves to the same user until that user is gone too.
pub(crate) async fn attributed_user<C: ConnectionTrait>(
    conn: &C,
    id: ServiceAccountId,
) -> DomainResult<Option<UserId>> {
    let sa = service_account::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound("ServiceAccount"))?;
    if let Some(creator) = sa.created_by_user_id {
        let still_member = membership::Entity::find()
            .filter(membership::Column::AccountId.eq(sa.account_id))
            .filter(membership::Column::UserId.eq(creator))
            .one(conn)
            .await?
            .is_some();
        if still_member {
            return Ok(Some(UserId(creator)));
        }
    }
    let oldest_admin = membership::Entity::find()
        .filter(membership::Column::AccountId.eq(sa.account_id))
        .filter(membership::Column::Role.eq(Role::Admin.code()))
        .order_by_asc(membership::Column::CreatedAt)
        .order_by_asc(membership::Column::UserId)
        .one(conn)
        .await?;
    Ok(oldest_admin.map(|m| UserId(m.user_id)))
}

/// A page of an account's log, oldest first.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Only events after this one.
    pub after: Option<AuditEventId>,
    /// Only events before this one.
    pub before: Option<AuditEventId>,
    /// At most this many.
    pub limit: u64,
    /// Take the page from the end of the range (`last` rather than `first`).
    pub from_end: bool,
    pub filter: AuditFilter,
}

/// Which events of the log a page is taken from; every part that is set must
/// match.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Events by this user or service account.
    pub actor: Option<GroupMember>,
    /// Events about this target: its type (`ServiceAccount`, `Group`, ...) and id.
    pub target: Option<(String, i64)>,
    /// Events whose action is this one (`service_account.create`), or whose
    /// action begins with it and a dot (`service_account`).
    pub action: Option<String>,
}

impl AuditFilter {
    fn apply(&self, mut select: Select<audit_event::Entity>) -> Select<audit_event::Entity> {
        if let Some(actor) = self.actor {
            let (kind, id) = match actor {
                GroupMember::User(user) => (ActorKind::User, user.0),
                GroupMember::ServiceAccount(sa) => (ActorKind::ServiceAccount, sa.0),
            };
            select = select
                .filter(audit_event::Column::ActorType.eq(kind.as_str()))
                .filter(audit_event::Column::ActorId.eq(id));
        }
        if let Some((kind, id)) = &self.target {
            select = select
                .filter(audit_event::Column::TargetType.eq(kind.as_str()))
                .filter(audit_event::Column::TargetId.eq(*id));
        }
        if let Some(action) = &self.action {
            let prefix = format!("{}.%", crate::db::like_literal(action));
            select = select.filter(
                Condition::any()
                    .add(audit_event::Column::Action.eq(action.as_str()))
                    .add(
                        Expr::col(audit_event::Column::Action)
                            .like(LikeExpr::new(prefix).escape('\\')),
                    ),
            );
        }
        select
    }
}

#[derive(Clone, Debug)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Whether more events lie beyond the page in the direction it was taken.
    pub has_more: bool,
    /// Events in the whole log of the account.
    pub total: u64,
}

/// Whose log a page is taken from.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Log {
    /// Everything done in an account.
    Account(AccountId),
    /// What a user did outside any account: their own tokens.
    Own(UserId),
}

pub(crate) async fn list<C: ConnectionTrait>(
    conn: &C,
    log: Log,
    query: &AuditQuery,
) -> DomainResult<AuditPage> {
    let whose = match log {
        Log::Account(account) => {
            audit_event::Entity::find().filter(audit_event::Column::AccountId.eq(account.0))
        }
        Log::Own(user) => audit_event::Entity::find()
            .filter(audit_event::Column::AccountId.is_null())
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(audit_event::Column::ActorType.eq(ActorKind::User.as_str()))
                            .add(audit_event::Column::ActorId.eq(user.0)),
                    )
                    // What keywarden did to the user's own credentials (a
                    // leak's revocation), attributed to them.
                    .add(
                        Condition::all()
                            .add(audit_event::Column::ActorType.eq(ActorKind::System.as_str()))
                            .add(audit_event::Column::AttributedUserId.eq(user.0)),
                    ),
            ),
    };
    let scoped = query.filter.apply(whose);
    let total = scoped.clone().count(conn).await?;
    let mut select = scoped;
    if let Some(after) = query.after {
        select = select.filter(audit_event::Column::Id.gt(after.0));
    }
    if let Some(before) = query.before {
        select = select.filter(audit_event::Column::Id.lt(before.0));
    }
    select = if query.from_end {
        select.order_by_desc(audit_event::Column::Id)
    } else {
        select.order_by_asc(audit_event::Column::Id)
    };
    let mut rows = select
        .limit(query.limit.saturating_add(1))
        .all(conn)
        .await?;
    let has_more = rows.len() as u64 > query.limit;
    rows.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
    if query.from_end {
        rows.reverse();
    }
    let events = rows
        .into_iter()
        .map(AuditEvent::try_from)
        .collect::<DomainResult<_>>()?;
    Ok(AuditPage {
        events,
        has_more,
        total,
    })
}

impl Keywarden {
    /// The caller's own events outside any account (their tokens), for a user.
    pub async fn own_audit_events(
        &self,
        caller: &Principal,
        query: &AuditQuery,
    ) -> DomainResult<AuditPage> {
        let user = crate::policy::table::require_user(caller)?;
        list(&self.db, Log::Own(user.user_id), query).await
    }

    /// One event: for an Admin of its account, or, for an event about a user's
    /// own tokens, for that user.
    pub async fn audit_event(
        &self,
        caller: &Principal,
        id: AuditEventId,
    ) -> DomainResult<AuditEvent> {
        let event: AuditEvent = audit_event::Entity::find_by_id(id.0)
            .one(&self.db)
            .await?
            .ok_or(DomainError::NotFound("AuditEvent"))?
            .try_into()?;
        match event.account_id {
            Some(account) => authorize(caller, account, Action::ReadAuditLog, "AuditEvent")?,
            None => {
                let own = matches!(caller, Principal::User(u) if
                    (event.actor_kind == ActorKind::User && event.actor_id == u.user_id.0)
                    || (event.actor_kind == ActorKind::System
                        && event.attributed_user_id == Some(u.user_id)));
                if !own {
                    return Err(DomainError::NotFound("AuditEvent"));
                }
            }
        }
        Ok(event)
    }
}
