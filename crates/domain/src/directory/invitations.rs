//! Invitations: how a user who already exists joins another account, by their
//! own action.
//!
//! An Admin creates an invitation for a role and hands its secret to the
//! person out of band, as with a key. The person redeems it with their own
//! personal access token; until then nothing about them changes, and the Admin
//! learns nothing about any user from creating it. An invitation is used once,
//! expires (a week by default, a month at most) and can be revoked.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{account_invitation as invitation, membership, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::{AccountId, InvitationId, UserId};
use crate::base::kinds;
use crate::base::time::{from_millis, from_millis_opt, future, to_millis};
use crate::coherence::Scope;
use crate::credentials::token::{Secret, issue_invitation, parse_invitation};
use crate::directory::accounts::{self, Member};
use crate::policy::principal::Principal;
use crate::policy::role::Role;
use crate::policy::table::{Action, authorize};
use crate::warden::audit::{AuditAction, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::keyring::{Keyring, digests};
use crate::warden::locks;

/// How long an invitation lasts when its creator names no expiry.
pub const DEFAULT_INVITATION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The longest an invitation may last.
pub const MAX_INVITATION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Invitations an account may have waiting at once.
pub const MAX_PENDING_INVITATIONS: u64 = 100;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub account_id: AccountId,
    pub role: Role,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<UserId>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// Whether it can still be accepted: neither used, revoked nor expired.
    pub fn is_pending(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

impl TryFrom<invitation::Model> for Invitation {
    type Error = DomainError;

    fn try_from(m: invitation::Model) -> DomainResult<Self> {
        Ok(Self {
            id: InvitationId(m.id),
            account_id: AccountId(m.account_id),
            role: Role::from_stored(&m.role)?,
            created_by: m.created_by_user_id.map(UserId),
            created_at: from_millis(m.created_at)?,
            expires_at: from_millis(m.expires_at)?,
            accepted_at: from_millis_opt(m.accepted_at)?,
            accepted_by: m.accepted_by_user_id.map(UserId),
            revoked_at: from_millis_opt(m.revoked_at)?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct CreateInvitation {
    pub account_id: AccountId,
    pub role: Role,
    /// When it stops working; a week from now when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// An invitation and its secret, which exists only in this value.
#[derive(Debug)]
pub struct IssuedInvitation {
    pub invitation: Invitation,
    pub secret: Secret,
}

/// The expiry an invitation gets: the one asked for, in the future and within
/// the longest lifetime, or the default.
fn expiry(asked: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DomainResult<DateTime<Utc>> {
    let longest = now + MAX_INVITATION_LIFETIME;
    match asked {
        None => Ok(now + DEFAULT_INVITATION_LIFETIME),
        Some(t) => {
            let t = future("expiresAt", t, now)?;
            if t > longest {
                return Err(DomainError::invalid(
                    "expiresAt must be at most 30 days from now",
                ));
            }
            Ok(t)
        }
    }
}

fn pending<E: QueryFilter>(select: E, now: DateTime<Utc>) -> E {
    select
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(to_millis(now)))
}

impl Keywarden {
    /// Creates an invitation to the account. The caller must be its Admin.
    pub async fn create_invitation(
        &self,
        caller: &Principal,
        input: CreateInvitation,
        now: DateTime<Utc>,
    ) -> DomainResult<IssuedInvitation> {
        authorize(
            caller,
            input.account_id,
            Action::ManageMembers,
            kinds::INVITATION,
        )?;
        let expires_at = expiry(input.expires_at, now)?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        locks::lock_account(txn, input.account_id).await?;
        let waiting = pending(
            invitation::Entity::find().filter(invitation::Column::AccountId.eq(input.account_id.0)),
            now,
        )
        .count(txn)
        .await?;
        if waiting >= MAX_PENDING_INVITATIONS {
            return Err(DomainError::LimitExceeded(
                "An account can have at most 100 pending invitations: revoke one first",
            ));
        }
        let secret = issue_invitation();
        let stored = self.keyring.digest(secret.expose());
        let row = invitation::ActiveModel {
            account_id: Set(input.account_id.0),
            role: Set(input.role.code().to_owned()),
            digest: Set(stored.digest.to_vec()),
            pepper_id: Set(stored.pepper_id),
            created_by_user_id: Set(caller.user_id().map(|u| u.0)),
            created_at: Set(change.now_ms()),
            expires_at: Set(to_millis(expires_at)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let event = Event::new(
            Some(input.account_id),
            AuditAction::InvitationCreate,
            Target::new(kinds::INVITATION, row.id, None),
        );
        // An invitation is not a credential: no verification depends on it.
        change.commit(event, &[]).await?;
        Ok(IssuedInvitation {
            invitation: row.try_into()?,
            secret,
        })
    }

    /// One invitation, for an Admin of its account.
    pub async fn invitation(
        &self,
        caller: &Principal,
        id: InvitationId,
    ) -> DomainResult<Invitation> {
        let row = invitation::Entity::find_by_id(id.0)
            .one(&self.db)
            .await?
            .ok_or(DomainError::NotFound(kinds::INVITATION))?;
        authorize(
            caller,
            AccountId(row.account_id),
            Action::ManageMembers,
            kinds::INVITATION,
        )?;
        row.try_into()
    }

    /// The account's invitations that can still be accepted, newest first.
    pub async fn pending_invitations(
        &self,
        caller: &Principal,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> DomainResult<Vec<Invitation>> {
        authorize(caller, account, Action::ManageMembers, kinds::INVITATION)?;
        pending(
            invitation::Entity::find().filter(invitation::Column::AccountId.eq(account.0)),
            now,
        )
        .order_by_desc(invitation::Column::Id)
        .limit(MAX_PENDING_INVITATIONS)
        .all(&self.db)
        .await?
        .into_iter()
        .map(Invitation::try_from)
        .collect()
    }

    /// Revokes an invitation; revoking twice keeps the first time. One that was
    /// accepted is refused: its member is removed with `remove_member`.
    pub async fn revoke_invitation(
        &self,
        caller: &Principal,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> DomainResult<Invitation> {
        let found = self.invitation(caller, id).await?;
        if found.accepted_at.is_some() {
            return Err(DomainError::invalid(
                "This invitation was already accepted: remove the member instead",
            ));
        }
        let account = found.account_id;
        let change = self.change(caller, now).await?;
        invitation::Entity::update_many()
            .col_expr(invitation::Column::RevokedAt, Expr::value(change.now_ms()))
            .filter(invitation::Column::Id.eq(id.0))
            .filter(invitation::Column::RevokedAt.is_null())
            .filter(invitation::Column::AcceptedAt.is_null())
            .exec(change.txn())
            .await?;
        let row = invitation::Entity::find_by_id(id.0)
            .one(change.txn())
            .await?
            .ok_or(DomainError::NotFound(kinds::INVITATION))?;
        let event = Event::new(
            Some(account),
            AuditAction::InvitationRevoke,
            Target::new(kinds::INVITATION, id.0, None),
        );
        change.commit(event, &[]).await?;
        row.try_into()
    }

    /// The caller, a user, joins the account of the invitation whose secret
    /// they present. Every way the secret can fail (malformed, unknown, used,
    /// revoked, expired) gets the same answer.
    pub async fn accept_invitation(
        &self,
        caller: &Principal,
        secret: &str,
        now: DateTime<Utc>,
    ) -> DomainResult<Member> {
        let Principal::User(joiner) = caller else {
            return Err(DomainError::Unauthorized(
                "invitations are accepted by users, with their own personal access token",
            ));
        };
        let raw = parse_invitation(secret).map_err(|_| DomainError::NotFound(kinds::INVITATION))?;
        let candidates = self
            .keyring
            .candidates(raw, self.keyring.current_digest(raw));
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let row = invitation::Entity::find()
            .filter(invitation::Column::Digest.is_in(digests(&candidates)))
            .lock_exclusive()
            .one(txn)
            .await?
            .filter(|row| Keyring::matches(&candidates, &row.pepper_id, &row.digest))
            .ok_or(DomainError::NotFound(kinds::INVITATION))?;
        let found = Invitation::try_from(row.clone())?;
        if !found.is_pending(now) {
            return Err(DomainError::NotFound(kinds::INVITATION));
        }
        let account = found.account_id;
        locks::lock_account(txn, account).await?;
        if accounts::load_member(txn, account, joiner.user_id)
            .await
            .is_ok()
        {
            return Err(DomainError::Conflict(
                "You are already a member of this account".to_owned(),
            ));
        }
        let user_row = user::Entity::find_by_id(joiner.user_id.0)
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound("User"))?;
        accounts::ensure_username_free(txn, account, &user_row.username).await?;
        let others: Vec<AccountId> = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_row.id))
            .all(txn)
            .await?
            .into_iter()
            .map(|m| AccountId(m.account_id))
            .collect();
        let m = accounts::insert_membership(txn, account, joiner.user_id, found.role, now).await?;
        let mut used: invitation::ActiveModel = row.into();
        used.accepted_at = Set(Some(change.now_ms()));
        used.accepted_by_user_id = Set(Some(joiner.user_id.0));
        used.update(txn).await?;
        let target = || Target::new(kinds::USER, user_row.id, Some(&user_row.username));
        // Joining changes what a user's credential says when no account is
        // named, so each account they were already in hears of it (without
        // learning which account they joined).
        for other in others {
            change
                .also_record(Event::new(
                    Some(other),
                    AuditAction::MemberJoinElsewhere,
                    target(),
                ))
                .await?;
        }
        let event = Event::new(Some(account), AuditAction::MemberJoin, target());
        // Every token of the user carries its memberships.
        change.commit(event, &[Scope::User(joiner.user_id)]).await?;
        accounts::member(m, user_row)
    }
}
