//! Verification: from a presented token to a [`Principal`], or a refusal.
//!
//! A token verified recently is found in the cache by its digest (see
//! [`crate::cache`]), checked for expiry, and accepted with no database read.
//! Otherwise its shape and checksum are checked before anything is read, then
//! one indexed lookup by digest (one per configured pepper, in a
//! single query), a constant-time comparison, and every condition of the
//! contract: not revoked, not expired, the service account present and enabled,
//! and the id in the token matching the key's service account. Only acceptances
//! are cached, and any committed change in any process makes them stale, so a
//! role change, a disable or a revoke shows on the very next request.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::{
    membership, personal_access_token as pat, service_account, service_account_key as key, user,
};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::cache::Verified;
use crate::ids::{AccountId, KeyId, ServiceAccountId, TokenId, UserId};
use crate::principal::{Membership, Principal, ServiceAccountPrincipal, UserPrincipal};
use crate::role::Role;
use crate::service_accounts::ServiceAccount;
use crate::time::to_millis;
use crate::token::{Keyring, MAX_TOKEN_LEN, StoredDigest, TokenError, TokenKind, digests, parse};
use crate::usage::Credential;
use crate::warden::Keywarden;

/// Why a presented credential was refused. Transports show all of these the same
/// way; the distinction is for the log and for tests.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("malformed token: {0}")]
    Malformed(#[from] TokenError),
    #[error("no such credential")]
    Unknown,
    #[error("the credential is revoked")]
    Revoked,
    #[error("the credential is expired")]
    Expired,
    #[error("the service account is disabled")]
    Disabled,
    #[error("the token names another service account than its key's")]
    Mismatch,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

fn role(s: &str) -> Result<Role, AuthError> {
    Role::from_stored(s).map_err(|e| AuthError::Corrupt(e.to_string()))
}

fn check_times(
    revoked_at: Option<i64>,
    expires_at: Option<i64>,
    now_ms: i64,
) -> Result<(), AuthError> {
    if revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    if expires_at.is_some_and(|t| t <= now_ms) {
        return Err(AuthError::Expired);
    }
    Ok(())
}

impl Keywarden {
    /// Checks a presented token and says who it belongs to.
    pub async fn authenticate(
        &self,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Principal, AuthError> {
        let now_ms = to_millis(now);
        // A string accepted before needs no second look at its shape: its
        // digest finds it. (Only strings of a token's length are digested here.)
        let known =
            (presented.len() <= MAX_TOKEN_LEN).then(|| self.keyring.current_digest(presented));
        if let Some(key) = &known
            && let Some(hit) = self.cache.get(key, now_ms)
            && hit.verified.expires_at.is_none_or(|t| t > now_ms)
        {
            if hit.use_to_record(now_ms) {
                self.usage.note(hit.verified.credential, None, now_ms);
            }
            return Ok(hit.verified.principal.clone());
        }
        let token = parse(presented)?;
        let cache_key = match known {
            Some(key) => key,
            None => self.keyring.current_digest(token.as_str()),
        };
        // Taken before the read, so that a change committed meanwhile makes the
        // entry stale at once.
        let stamp = self.cache.stamp();
        let candidates = self.keyring.candidates(token.as_str(), cache_key);
        let verified = match token.kind() {
            TokenKind::ServiceAccountKey(claimed) => {
                self.authenticate_key(claimed, &candidates, now_ms).await?
            }
            TokenKind::PersonalAccessToken => self.authenticate_token(&candidates, now_ms).await?,
        };
        self.usage
            .note(verified.credential, verified.last_used_at, now_ms);
        let principal = verified.principal.clone();
        if let Some(stamp) = stamp {
            self.cache.insert(cache_key, stamp, now_ms, verified);
        }
        Ok(principal)
    }

    async fn authenticate_key(
        &self,
        claimed: ServiceAccountId,
        candidates: &[StoredDigest],
        now_ms: i64,
    ) -> Result<Verified, AuthError> {
        let (row, sa) = key::Entity::find()
            .filter(key::Column::Digest.is_in(digests(candidates)))
            .find_also_related(service_account::Entity)
            .one(&self.db)
            .await?
            .ok_or(AuthError::Unknown)?;
        if !Keyring::matches(candidates, &row.pepper_id, &row.digest) {
            return Err(AuthError::Unknown);
        }
        check_times(row.revoked_at, row.expires_at, now_ms)?;
        let sa = sa.ok_or(AuthError::Unknown)?;
        if !sa.enabled {
            return Err(AuthError::Disabled);
        }
        if sa.id != claimed.0 {
            return Err(AuthError::Mismatch);
        }
        let sa_role = role(&sa.role)?;
        let ceiling = row.role_ceiling.as_deref().map(role).transpose()?;
        let effective = sa_role.capped(ceiling);
        let record = ServiceAccount::try_from(sa).map_err(|e| AuthError::Corrupt(e.to_string()))?;
        Ok(Verified {
            principal: Principal::ServiceAccount(ServiceAccountPrincipal {
                service_account_id: record.id,
                name: record.name.clone(),
                account_id: record.account_id,
                role: effective,
                service_account_role: sa_role,
                key_id: KeyId(row.id),
                service_account: Arc::new(record),
            }),
            credential: Credential::Key(KeyId(row.id)),
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
        })
    }

    async fn authenticate_token(
        &self,
        candidates: &[StoredDigest],
        now_ms: i64,
    ) -> Result<Verified, AuthError> {
        let row = pat::Entity::find()
            .filter(pat::Column::Digest.is_in(digests(candidates)))
            .one(&self.db)
            .await?
            .ok_or(AuthError::Unknown)?;
        if !Keyring::matches(candidates, &row.pepper_id, &row.digest) {
            return Err(AuthError::Unknown);
        }
        check_times(row.revoked_at, row.expires_at, now_ms)?;
        let user = user::Entity::find_by_id(row.user_id)
            .one(&self.db)
            .await?
            .ok_or(AuthError::Unknown)?;
        let memberships = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user.id))
            .order_by_asc(membership::Column::AccountId)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| {
                Ok(Membership {
                    account_id: AccountId(m.account_id),
                    role: role(&m.role)?,
                })
            })
            .collect::<Result<_, AuthError>>()?;
        Ok(Verified {
            principal: Principal::User(UserPrincipal {
                user_id: UserId(user.id),
                username: user.username,
                memberships,
                token_id: TokenId(row.id),
            }),
            credential: Credential::Token(TokenId(row.id)),
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
        })
    }
}
