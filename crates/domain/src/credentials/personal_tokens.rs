//! Personal access tokens: a user's own credentials, at most five active, rotated
//! by the Lightdash rules (a new expiry in the future, only tokens that expire,
//! at most once an hour, the old secret dead at once).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{personal_access_token as pat, user};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::base::error::{DomainError, DomainResult, duplicate_is_conflict};
use crate::base::ids::{TokenId, UserId};
use crate::base::kinds;
use crate::base::names::KeyName;
use crate::base::page::MAX_PAGE;
use crate::base::time::{from_millis, from_millis_opt, future, to_millis};
use crate::coherence::Scope;
use crate::credentials::leaks::Leak;
use crate::credentials::token::{Secret, issue_personal_access_token};
use crate::policy::principal::Principal;
use crate::policy::table::require_user;
use crate::warden::audit::{AuditAction, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::keyring::Keyring;

/// Active tokens (not revoked, not expired) a user may hold.
pub const MAX_ACTIVE_TOKENS: u64 = 5;
/// The shortest time between two rotations of one token.
pub const ROTATION_INTERVAL: Duration = Duration::from_secs(60 * 60);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalAccessToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The client's address at the use `last_used_at` records, when known.
    pub last_used_from: Option<std::net::IpAddr>,
    /// The `User-Agent` that use sent, cut to [`crate::MAX_AGENT_CHARS`].
    pub last_used_agent: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The first report of the token as found in public, if any.
    pub leak: Option<Leak>,
}

impl PersonalAccessToken {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| t > now)
    }
}

impl TryFrom<pat::Model> for PersonalAccessToken {
    type Error = DomainError;

    fn try_from(m: pat::Model) -> DomainResult<Self> {
        Ok(Self {
            id: TokenId(m.id),
            user_id: UserId(m.user_id),
            name: m.name,
            expires_at: from_millis_opt(m.expires_at)?,
            last_used_at: from_millis_opt(m.last_used_at)?,
            last_used_from: m.last_used_from.as_deref().and_then(|a| a.parse().ok()),
            last_used_agent: m.last_used_agent,
            revoked_at: from_millis_opt(m.revoked_at)?,
            rotated_at: from_millis_opt(m.rotated_at)?,
            created_at: from_millis(m.created_at)?,
            leak: Leak::from_stored(m.leaked_at, m.leak_url, m.leak_source, m.leak_reporter)?,
        })
    }
}

/// A token and its secret, which exists only in this value.
#[derive(Debug)]
pub struct IssuedPersonalAccessToken {
    pub token: PersonalAccessToken,
    pub secret: Secret,
}

#[derive(Clone, Debug, Default)]
pub struct CreatePersonalAccessToken {
    pub name: Option<KeyName>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Issues a token for `user` inside the caller's transaction, enforcing the limit.
/// The user row is locked first, so concurrent issues for one user queue up.
/// Returns the scope the change makes stale: any refusal of the new secret.
pub(crate) async fn issue<C: ConnectionTrait>(
    conn: &C,
    keyring: &Keyring,
    user: UserId,
    name: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DomainResult<(IssuedPersonalAccessToken, Scope)> {
    let secret = issue_personal_access_token();
    install(conn, keyring, user, name, expires_at, secret, now).await
}

/// Revokes every active token of `user`; returns how many.
pub(crate) async fn revoke_all<C: ConnectionTrait>(
    conn: &C,
    user: UserId,
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    let done = pat::Entity::update_many()
        .col_expr(pat::Column::RevokedAt, Expr::value(to_millis(now)))
        .filter(pat::Column::UserId.eq(user.0))
        .filter(pat::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(done.rows_affected)
}

/// Stores `secret` as a token of `user`, within the limit of active tokens;
/// a secret that some token already has is a conflict.
pub(crate) async fn install<C: ConnectionTrait>(
    conn: &C,
    keyring: &Keyring,
    user: UserId,
    name: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    secret: Secret,
    now: DateTime<Utc>,
) -> DomainResult<(IssuedPersonalAccessToken, Scope)> {
    user::Entity::find_by_id(user.0)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound("User"))?;
    let active = pat::Entity::find()
        .filter(pat::Column::UserId.eq(user.0))
        .filter(pat::Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(pat::Column::ExpiresAt.is_null())
                .add(pat::Column::ExpiresAt.gt(to_millis(now))),
        )
        .count(conn)
        .await?;
    if active >= MAX_ACTIVE_TOKENS {
        return Err(DomainError::LimitExceeded(
            "A user can have at most 5 active personal access tokens: revoke one first",
        ));
    }
    let stored = keyring.digest(secret.expose());
    let row = pat::ActiveModel {
        user_id: Set(user.0),
        name: Set(name),
        digest: Set(stored.digest.to_vec()),
        pepper_id: Set(stored.pepper_id),
        expires_at: Set(expires_at.map(to_millis)),
        created_at: Set(to_millis(now)),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map_err(duplicate_is_conflict(
        "this token is already in use: make a new one with `keywarden new-token`".to_owned(),
    ))?;
    let issued = IssuedPersonalAccessToken {
        token: row.try_into()?,
        secret,
    };
    Ok((issued, Scope::issued(&stored.digest)))
}

/// Loads one of the caller's own tokens; anyone else's is "not found".
async fn load_own<C: ConnectionTrait>(
    conn: &C,
    owner: UserId,
    id: TokenId,
    lock: bool,
) -> DomainResult<pat::Model> {
    let mut select = pat::Entity::find_by_id(id.0).filter(pat::Column::UserId.eq(owner.0));
    if lock {
        select = select.lock_exclusive();
    }
    select
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound(kinds::TOKEN))
}

impl Keywarden {
    pub async fn create_personal_access_token(
        &self,
        caller: &Principal,
        input: CreatePersonalAccessToken,
        now: DateTime<Utc>,
    ) -> DomainResult<IssuedPersonalAccessToken> {
        let user = require_user(caller)?;
        let expires_at = input
            .expires_at
            .map(|t| future("expiresAt", t, now))
            .transpose()?;
        let change = self.change(caller, now).await?;
        let (issued, issued_scope) = issue(
            change.txn(),
            &self.keyring,
            user.user_id,
            input.name.map(KeyName::into_inner),
            expires_at,
            now,
        )
        .await?;
        let event = Event::new(
            None,
            AuditAction::TokenCreate,
            Target::new(
                kinds::TOKEN,
                issued.token.id.0,
                issued.token.name.as_deref(),
            ),
        );
        change.commit(event, &[issued_scope]).await?;
        Ok(issued)
    }

    /// Revokes one of the caller's tokens. Revoking it again keeps the first time.
    pub async fn revoke_personal_access_token(
        &self,
        caller: &Principal,
        id: TokenId,
        now: DateTime<Utc>,
    ) -> DomainResult<PersonalAccessToken> {
        let user = require_user(caller)?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = load_own(txn, user.user_id, id, false).await?;
        pat::Entity::update_many()
            .col_expr(pat::Column::RevokedAt, Expr::value(change.now_ms()))
            .filter(pat::Column::Id.eq(row.id))
            .filter(pat::Column::RevokedAt.is_null())
            .exec(txn)
            .await?;
        let row = load_own(txn, user.user_id, id, false).await?;
        let event = Event::new(
            None,
            AuditAction::TokenRevoke,
            Target::new(kinds::TOKEN, row.id, row.name.as_deref()),
        );
        change.commit(event, &[Scope::Token(id)]).await?;
        row.try_into()
    }

    /// Gives one of the caller's tokens a new secret and a new expiry. The old
    /// secret stops working when this commits.
    pub async fn rotate_personal_access_token(
        &self,
        caller: &Principal,
        id: TokenId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DomainResult<IssuedPersonalAccessToken> {
        let user = require_user(caller)?;
        let expires_at = future("expiresAt", expires_at, now)?;
        let change = self.change(caller, now).await?;
        let row = load_own(change.txn(), user.user_id, id, true).await?;
        let token: PersonalAccessToken = row.clone().try_into()?;
        if token.revoked_at.is_some() {
            return Err(DomainError::invalid("A revoked token cannot be rotated"));
        }
        if token.expires_at.is_none() {
            return Err(DomainError::invalid(
                "A token without an expiry cannot be rotated",
            ));
        }
        if !token.is_active(now) {
            return Err(DomainError::invalid("An expired token cannot be rotated"));
        }
        let interval = chrono::Duration::from_std(ROTATION_INTERVAL)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        if token.rotated_at.is_some_and(|t| now - t < interval) {
            return Err(DomainError::LimitExceeded(
                "A personal access token can be rotated at most once an hour",
            ));
        }
        let secret = issue_personal_access_token();
        let stored = self.keyring.digest(secret.expose());
        let mut active: pat::ActiveModel = row.into();
        active.digest = Set(stored.digest.to_vec());
        active.pepper_id = Set(stored.pepper_id);
        active.expires_at = Set(Some(to_millis(expires_at)));
        active.rotated_at = Set(Some(change.now_ms()));
        let row = active.update(change.txn()).await?;
        let event = Event::new(
            None,
            AuditAction::TokenRotate,
            Target::new(kinds::TOKEN, row.id, row.name.as_deref()),
        );
        let issued_scope = Scope::issued(&stored.digest);
        change
            .commit(event, &[Scope::Token(id), issued_scope])
            .await?;
        Ok(IssuedPersonalAccessToken {
            token: row.try_into()?,
            secret,
        })
    }

    /// One of the caller's own tokens. A service account has none, so for it
    /// every token is "not found".
    pub async fn personal_access_token(
        &self,
        caller: &Principal,
        id: TokenId,
    ) -> DomainResult<PersonalAccessToken> {
        let Principal::User(user) = caller else {
            return Err(DomainError::NotFound(kinds::TOKEN));
        };
        load_own(&self.db, user.user_id, id, false)
            .await?
            .try_into()
    }

    /// The caller's own tokens, newest first.
    pub async fn personal_access_tokens(
        &self,
        caller: &Principal,
    ) -> DomainResult<Vec<PersonalAccessToken>> {
        let user = require_user(caller)?;
        pat::Entity::find()
            .filter(pat::Column::UserId.eq(user.user_id.0))
            .order_by_desc(pat::Column::Id)
            .limit(MAX_PAGE)
            .all(&self.db)
            .await?
            .into_iter()
            .map(PersonalAccessToken::try_from)
            .collect()
    }
}
