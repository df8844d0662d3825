//! The object types of the schema. Each wraps a domain value; fields that reach
//! further (an account's service accounts, a key's creator) ask the domain, with
//! the caller, so that every read is authorised where the rules live.

use async_graphql::{Context, Enum, Interface, Object, Result, SimpleObject};
use domain::ids::{AccountId, ServiceAccountId, UserId};
use domain::{Action, ActorKind, AuditQuery, Principal, Role};

use crate::access::{
    Group, Permission, PermissionSet, Project, account_groups, account_permission_sets,
    account_permissions, account_projects, groups_of,
};
use crate::context::{caller, kw, or_null};
use crate::error::{ApiResult, Code, bad_input, coded};
use crate::scalars::{DateTime, ObjectId};

/// The role codes, spelled as the API spells them.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "RoleCode", rename_items = "PascalCase")]
pub enum RoleCode {
    Admin,
    Editor,
    Viewer,
}

impl From<Role> for RoleCode {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => RoleCode::Admin,
            Role::Editor => RoleCode::Editor,
            Role::Viewer => RoleCode::Viewer,
        }
    }
}

impl From<RoleCode> for Role {
    fn from(r: RoleCode) -> Self {
        match r {
            RoleCode::Admin => Role::Admin,
            RoleCode::Editor => Role::Editor,
            RoleCode::Viewer => Role::Viewer,
        }
    }
}

/// A role, with its code and a readable name.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "Role")]
pub struct RoleInfo {
    pub code: RoleCode,
    pub name: String,
}

impl From<Role> for RoleInfo {
    fn from(r: Role) -> Self {
        RoleInfo {
            code: r.into(),
            name: r.name().to_owned(),
        }
    }
}

/// Every object with a global id.
#[derive(Interface, Debug)]
#[graphql(field(name = "id", ty = "ObjectId"))]
pub enum Node {
    Account(Account),
    User(User),
    ServiceAccount(ServiceAccount),
    ServiceAccountKey(ServiceAccountKey),
    PersonalAccessToken(PersonalAccessToken),
    AccountMember(AccountMember),
    AccountInvitation(AccountInvitation),
    AuditEvent(AuditEvent),
    Project(Project),
    Group(Group),
}

/// Whoever makes a request: a user or a service account.
#[derive(Interface, Debug)]
#[graphql(
    name = "Principal",
    field(name = "id", ty = "ObjectId"),
    field(name = "name", ty = "String"),
    field(name = "is_service_account", ty = "bool")
)]
pub enum PrincipalNode {
    User(User),
    ServiceAccount(ServiceAccount),
}

#[derive(Debug)]
pub struct Account(pub domain::Account);

/// A tenant: everything else belongs to one.
#[Object]
impl Account {
    async fn id(&self) -> ObjectId {
        ObjectId::new("Account", self.0.id.0)
    }

    async fn name(&self) -> String {
        self.0.name.clone()
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
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

/// The size of an audit page when none is asked for.
pub(crate) const DEFAULT_PAGE: i32 = 50;
/// The size of a plain list's page when none is asked for: the largest.
pub(crate) const LIST_PAGE: u64 = domain::MAX_PAGE;
/// The size of a page of keys when none is asked for: as many as can be active.
pub(crate) const KEYS_PAGE: u64 = domain::MAX_ACTIVE_KEYS;

/// A page of a plain list: `first` between 0 and the largest page, `after` the
/// id of an item of the list (of type `kind`).
pub(crate) fn page(
    first: Option<i32>,
    after: Option<&ObjectId>,
    kind: &str,
    default: u64,
) -> Result<domain::Page> {
    let limit = match first {
        None => default,
        Some(n) => page_size("first", n)?,
    };
    let after = after
        .map(|id| {
            id.of(kind)
                .ok_or_else(|| bad_input(format!("after must be the id of a {kind} of this list")))
        })
        .transpose()?;
    Ok(domain::Page { after, limit })
}

/// A page size asked for as `name`: between 0 and the largest page.
fn page_size(name: &str, n: i32) -> Result<u64> {
    u64::try_from(n)
        .ok()
        .filter(|n| *n <= domain::MAX_PAGE)
        .ok_or_else(|| bad_input(format!("{name} must be between 0 and {}", domain::MAX_PAGE)))
}

fn cursor_of(id: i64) -> String {
    domain::object_id::encode("AuditEvent", id)
}

fn parse_cursor(name: &str, cursor: &str) -> Result<domain::ids::AuditEventId> {
    match domain::object_id::decode(cursor) {
        Some((kind, id)) if kind == "AuditEvent" => Ok(domain::ids::AuditEventId(id)),
        _ => Err(bad_input(format!(
            "{name} is not a cursor from this connection"
        ))),
    }
}

fn page_query(
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

/// How a service account's keys stand.
#[derive(SimpleObject, Debug)]
pub struct KeyUsage {
    /// Keys that work now: neither revoked nor expired.
    pub active_keys: i32,
    /// When any of its keys, working or not, was last used.
    pub last_used_at: Option<DateTime>,
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
    fn read(self) -> Result<domain::AuditFilter> {
        let actor = self
            .actor_id
            .as_ref()
            .map(crate::access::member_of)
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
    fn of(query: &AuditQuery, page: domain::AuditPage) -> Self {
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
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
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

#[derive(Debug)]
pub struct User(pub domain::User);

/// A person. Authenticates with personal access tokens.
#[Object]
impl User {
    async fn id(&self) -> ObjectId {
        ObjectId::new("User", self.0.id.0)
    }

    async fn username(&self) -> String {
        self.0.username.clone()
    }

    /// The username: a user's name as a principal.
    async fn name(&self) -> String {
        self.0.username.clone()
    }

    async fn email(&self) -> Option<String> {
        self.0.email.clone()
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    async fn is_service_account(&self) -> bool {
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

/// A service account, with how its keys stand when a list read that for all
/// of its service accounts at once.
#[derive(Debug)]
pub struct ServiceAccount(pub domain::ServiceAccount, Option<domain::KeyUsage>);

impl From<domain::ServiceAccount> for ServiceAccount {
    fn from(sa: domain::ServiceAccount) -> Self {
        Self(sa, None)
    }
}

/// A machine identity in one account.
#[Object]
impl ServiceAccount {
    async fn id(&self) -> ObjectId {
        ObjectId::new("ServiceAccount", self.0.id.0)
    }

    async fn name(&self) -> String {
        self.0.name.clone()
    }

    async fn description(&self) -> Option<String> {
        self.0.description.clone()
    }

    async fn role_code(&self) -> RoleCode {
        self.0.role.into()
    }

    async fn role(&self) -> RoleInfo {
        self.0.role.into()
    }

    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }

    async fn is_service_account(&self) -> bool {
        true
    }

    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let account = kw(ctx)
            .account(caller(ctx)?, self.0.account_id)
            .await
            .api()?;
        Ok(Account(account))
    }

    /// The user who created it, while that user exists. `null`, with an
    /// error, for a caller who may not read users (a service account).
    async fn created_by_user(&self, ctx: &Context<'_>) -> Option<User> {
        let found = match self.0.created_by_user_id {
            Some(id) => {
                user_seen_from(ctx, self.0.account_id, Action::ReadServiceAccounts, id).await
            }
            None => Ok(None),
        };
        or_null(ctx, found)
    }

    /// The user its actions are attributed to: its creator while a member of the
    /// account, otherwise the account's oldest Admin. `null`, with an error, for
    /// a caller who may not read users (a service account).
    async fn attributed_user(&self, ctx: &Context<'_>) -> Option<User> {
        let found = async {
            let who = kw(ctx)
                .attributed_user(caller(ctx)?, self.0.id)
                .await
                .api()?;
            match who {
                Some(id) => {
                    user_seen_from(ctx, self.0.account_id, Action::ReadServiceAccounts, id).await
                }
                None => Ok(None),
            }
        }
        .await;
        or_null(ctx, found)
    }

    /// The groups it is in, by name (Admins, and the service account itself).
    async fn groups(&self, ctx: &Context<'_>) -> Option<Vec<Group>> {
        groups_of(
            ctx,
            self.0.account_id,
            domain::GroupMember::ServiceAccount(self.0.id),
        )
        .await
    }

    /// How many of its keys work now, and when any was last used (Admins).
    async fn key_usage(&self, ctx: &Context<'_>) -> Option<KeyUsage> {
        let found = async {
            let usage = match self.1 {
                Some(usage) => usage,
                None => kw(ctx)
                    .key_usages(
                        caller(ctx)?,
                        std::slice::from_ref(&self.0),
                        domain::time::now(),
                    )
                    .await
                    .api()?
                    .remove(&self.0.id)
                    .unwrap_or_default(),
            };
            Ok(Some(KeyUsage {
                active_keys: i32::try_from(usage.active).unwrap_or(i32::MAX),
                last_used_at: usage.last_used_at.map(DateTime),
            }))
        }
        .await;
        or_null(ctx, found)
    }

    /// Its keys, newest first, revoked and expired ones included: up to `first`
    /// (by default 50, at most 100) after the key whose id is `after`.
    async fn keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ObjectId>,
    ) -> Option<Vec<ServiceAccountKey>> {
        let found: Result<Option<Vec<ServiceAccountKey>>> = async {
            let page = page(first, after.as_ref(), "ServiceAccountKey", KEYS_PAGE)?;
            let list = kw(ctx).keys(caller(ctx)?, self.0.id, page).await.api()?;
            Ok(Some(
                list.into_iter()
                    .map(|key| ServiceAccountKey {
                        key,
                        secret: None,
                        owner_role: Some(self.0.role),
                    })
                    .collect(),
            ))
        }
        .await;
        or_null(ctx, found)
    }
}

async fn user_seen_from(
    ctx: &Context<'_>,
    account: AccountId,
    action: Action,
    id: UserId,
) -> Result<Option<User>> {
    let user = kw(ctx)
        .user_seen_from(caller(ctx)?, account, action, id)
        .await
        .api()?;
    Ok(user.map(User))
}

pub struct ServiceAccountKey {
    pub key: domain::ServiceAccountKey,
    /// Present only in the response of the mutation that made the key.
    pub secret: Option<String>,
    /// Its service account's role, when the key was read through that service
    /// account; otherwise `roleCode` reads it.
    pub owner_role: Option<domain::Role>,
}

/// An API key of a service account.
#[Object]
impl ServiceAccountKey {
    async fn id(&self) -> ObjectId {
        ObjectId::new("ServiceAccountKey", self.key.id.0)
    }

    async fn name(&self) -> Option<String> {
        self.key.name.clone()
    }

    /// What the key is for.
    async fn description(&self) -> Option<String> {
        self.key.description.clone()
    }

    /// The key itself: only in the response that created it, never again.
    async fn secret(&self) -> Option<String> {
        self.secret.clone()
    }

    /// The role this key acts with: the lower of its ceiling and its service
    /// account's role. (Never null; nullable for clients of earlier versions.)
    async fn role_code(&self, ctx: &Context<'_>) -> Result<Option<RoleCode>> {
        let role = match self.owner_role {
            Some(role) => role,
            None => self.owner(ctx).await?.role,
        };
        Ok(Some(self.key.acts_with(role).into()))
    }

    /// The ceiling set on this key, if any: it acts with at most this role.
    async fn role_ceiling(&self) -> Option<RoleCode> {
        self.key.role_ceiling.map(RoleCode::from)
    }

    /// The start of the key (`lmr_sa_12_AbCd`), to tell keys apart: its
    /// service account and the first four characters of its secret. `null`
    /// for keys made before keywarden kept it.
    async fn prefix(&self) -> Option<String> {
        self.key.prefix.clone()
    }

    async fn last_used_at(&self) -> Option<DateTime> {
        self.key.last_used_at.map(DateTime)
    }

    async fn expires_at(&self) -> Option<DateTime> {
        self.key.expires_at.map(DateTime)
    }

    async fn revoked_at(&self) -> Option<DateTime> {
        self.key.revoked_at.map(DateTime)
    }

    async fn created_at(&self) -> DateTime {
        self.key.created_at.into()
    }

    /// The key this one replaced, when it was made by rotation.
    async fn rotated_from_id(&self) -> Option<ObjectId> {
        self.key
            .rotated_from
            .map(|k| ObjectId::new("ServiceAccountKey", k.0))
    }

    async fn created_by_user(&self, ctx: &Context<'_>) -> Option<User> {
        let found = async {
            let Some(id) = self.key.created_by_user_id else {
                return Ok(None);
            };
            let sa = self.owner(ctx).await?;
            user_seen_from(ctx, sa.account_id, Action::ManageKeys, id).await
        }
        .await;
        or_null(ctx, found)
    }

    async fn service_account(&self, ctx: &Context<'_>) -> Result<ServiceAccount> {
        Ok(ServiceAccount::from(self.owner(ctx).await?))
    }
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("key", &self.key)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ServiceAccountKey {
    async fn owner(&self, ctx: &Context<'_>) -> Result<domain::ServiceAccount> {
        kw(ctx)
            .service_account(
                caller(ctx)?,
                ServiceAccountId(self.key.service_account_id.0),
            )
            .await
            .api()
    }
}

pub struct PersonalAccessToken {
    pub token: domain::PersonalAccessToken,
    /// Present only in the response of the mutation that made or rotated it.
    pub secret: Option<String>,
}

/// A user's own credential.
#[Object]
impl PersonalAccessToken {
    async fn id(&self) -> ObjectId {
        ObjectId::new("PersonalAccessToken", self.token.id.0)
    }

    async fn name(&self) -> Option<String> {
        self.token.name.clone()
    }

    /// The token itself: only in the response that created or rotated it.
    async fn secret(&self) -> Option<String> {
        self.secret.clone()
    }

    async fn last_used_at(&self) -> Option<DateTime> {
        self.token.last_used_at.map(DateTime)
    }

    async fn expires_at(&self) -> Option<DateTime> {
        self.token.expires_at.map(DateTime)
    }

    async fn revoked_at(&self) -> Option<DateTime> {
        self.token.revoked_at.map(DateTime)
    }

    async fn rotated_at(&self) -> Option<DateTime> {
        self.token.rotated_at.map(DateTime)
    }

    async fn created_at(&self) -> DateTime {
        self.token.created_at.into()
    }
}

impl std::fmt::Debug for PersonalAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonalAccessToken")
            .field("token", &self.token)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// An invitation to join an account, with its secret only in the response
/// that created it.
pub struct AccountInvitation {
    pub invitation: domain::Invitation,
    pub secret: Option<String>,
}

impl std::fmt::Debug for AccountInvitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountInvitation")
            .field("invitation", &self.invitation)
            .finish_non_exhaustive()
    }
}

/// An Admin's invitation to join an account. Whoever accepts it, with their
/// own personal access token, becomes a member with its role; it works once.
#[Object]
impl AccountInvitation {
    async fn id(&self) -> ObjectId {
        ObjectId::new("AccountInvitation", self.invitation.id.0)
    }

    /// The invitation's secret, to hand to the invitee: only in the response of
    /// `createAccountInvitation`, `null` ever after.
    async fn secret(&self) -> Option<String> {
        self.secret.clone()
    }

    /// The role the invitee will hold.
    async fn role_code(&self) -> RoleCode {
        self.invitation.role.into()
    }

    async fn role(&self) -> RoleInfo {
        self.invitation.role.into()
    }

    async fn created_at(&self) -> DateTime {
        self.invitation.created_at.into()
    }

    async fn expires_at(&self) -> DateTime {
        self.invitation.expires_at.into()
    }

    async fn accepted_at(&self) -> Option<DateTime> {
        self.invitation.accepted_at.map(Into::into)
    }

    async fn revoked_at(&self) -> Option<DateTime> {
        self.invitation.revoked_at.map(Into::into)
    }
}

#[derive(Debug)]
pub struct AccountMember(pub domain::Member);

/// A user's membership of an account.
#[Object]
impl AccountMember {
    async fn id(&self) -> ObjectId {
        ObjectId::new("AccountMember", self.0.id.0)
    }

    async fn user(&self) -> User {
        User(domain::User {
            id: self.0.user_id,
            username: self.0.username.clone(),
            email: self.0.email.clone(),
            created_at: self.0.user_created_at,
        })
    }

    async fn role_code(&self) -> RoleCode {
        self.0.role.into()
    }

    async fn role(&self) -> RoleInfo {
        self.0.role.into()
    }

    /// When the user joined the account.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// The groups of this account the user is in, by name (Admins, and the
    /// user themself).
    async fn groups(&self, ctx: &Context<'_>) -> Option<Vec<Group>> {
        groups_of(
            ctx,
            self.0.account_id,
            domain::GroupMember::User(self.0.user_id),
        )
        .await
    }
}

#[derive(Debug)]
pub struct AuditEvent(pub domain::AuditEvent);

/// One successful change: who did what to which object, and when.
#[Object]
impl AuditEvent {
    async fn id(&self) -> ObjectId {
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
