//! Verification: from a presented token to a [`Principal`], or a refusal.
//!
//! A token's digest under the current pepper names it in the cache (see
//! [`crate::coherence`]): a conclusion reached before, for or against, is
//! served with no database read for as long as nothing it depends on has
//! changed. Otherwise its shape and checksum are checked before anything is
//! read, and a token whose digests are surely not stored is refused unread
//! (see [`crate::coherence`]'s filter of stored digests); then one statement by the digest's index (one digest per configured
//! pepper; see [`crate::credentials::lookup`]), a constant-time comparison,
//! and every condition of the contract: not revoked, not expired, the service
//! account present and enabled, the id in the token matching the key's
//! service account, and the key within its account's policy (see
//! [`crate::credentials::rules`]). Where the key works from is concluded
//! with it and checked on every request against the request's client (see
//! [`crate::policy::ranges`]). What the principal's groups grant is read
//! with it, in a second statement only when it is in a group (see
//! [`crate::policy::held`]),
//! so that a gateway's question of permission needs no read either. Concurrent
//! lookups of one token wait for a single read.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::DbErr;

use crate::access::grants::grants_found;
use crate::base::ids::GroupMember;
use crate::base::ids::{AccountId, KeyId, ServiceAccountId, TokenId, UserId};
use crate::base::time::to_millis;
use crate::coherence::{Client, Credential, Entry, Read, Scope};
use crate::credentials::lookup;
use crate::credentials::token::{MAX_TOKEN_LEN, TokenError, TokenKind, parse};
use crate::policy::principal::{
    Membership, Principal, ServiceAccount, ServiceAccountPrincipal, UserPrincipal,
};
use crate::policy::ranges::AllowedFrom;
use crate::policy::role::Role;
use crate::warden::handle::Keywarden;
use crate::warden::keyring::{Keyring, StoredDigest};
use crate::warden::verdict::{Refusal, Verdict, Verified};

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
    #[error("the key or its service account is disabled")]
    Disabled,
    #[error("the token names another service account than its key's")]
    Mismatch,
    #[error("the credential breaks its account's policy")]
    Policy,
    /// The credential is good, but not from the request's address (see
    /// [`crate::policy::ranges`]).
    #[error("the credential does not work from this address")]
    Address,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

impl From<Refusal> for AuthError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unknown => AuthError::Unknown,
            Refusal::Revoked => AuthError::Revoked,
            Refusal::Expired => AuthError::Expired,
            Refusal::Disabled => AuthError::Disabled,
            Refusal::Mismatch => AuthError::Mismatch,
            Refusal::Policy => AuthError::Policy,
        }
    }
}

fn role(s: &str) -> Result<Role, AuthError> {
    Role::from_stored(s).map_err(|e| AuthError::Corrupt(e.to_string()))
}

/// Whether a credential with these times is in force at `now_ms`.
fn in_force(revoked_at: Option<i64>, expires_at: Option<i64>, now_ms: i64) -> Result<(), Refusal> {
    if revoked_at.is_some() {
        return Err(Refusal::Revoked);
    }
    if expires_at.is_some_and(|t| t <= now_ms) {
        return Err(Refusal::Expired);
    }
    Ok(())
}

/// A conclusion and the scopes whose change would make it untrue.
fn concluded(value: Verdict, scopes: Vec<Scope>) -> Result<Read<Verdict>, AuthError> {
    Ok(Read { value, scopes })
}

impl Keywarden {
    /// Checks a presented token, from a client whose address is not known,
    /// and says who it belongs to: a credential restricted to address ranges
    /// is refused.
    pub async fn authenticate(
        &self,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Principal, AuthError> {
        self.authenticate_from(presented, Client::default(), now)
            .await
    }

    /// Checks a token presented by `client` and says who it belongs to. Its
    /// use is recorded with the client's address and agent (see
    /// [`crate::coherence::UsageTracker`]).
    pub async fn authenticate_from<'a>(
        &self,
        presented: &str,
        client: impl Into<Client<'a>>,
        now: DateTime<Utc>,
    ) -> Result<Principal, AuthError> {
        let client = client.into();
        let now_ms = to_millis(now);
        let cache = &self.coherence.cache;
        // A string concluded on before needs no second look at its shape: its
        // digest finds it. (Only strings of a token's length are digested here.)
        let known =
            (presented.len() <= MAX_TOKEN_LEN).then(|| self.keyring.current_digest(presented));
        if let Some(digest) = &known
            && let Some(hit) = cache.get(digest, now_ms)
        {
            return self.conclude(&hit, false, client, now_ms);
        }
        let token = parse(presented)?;
        let digest = match known {
            Some(digest) => digest,
            None => self.keyring.current_digest(token.as_str()),
        };
        let candidates = self.keyring.candidates(token.as_str(), digest);
        if self
            .coherence
            .known
            .surely_unknown(candidates.iter().map(|c| &c.digest))
        {
            return Err(AuthError::Unknown);
        }
        let found = cache
            .read_through(digest, now_ms, || async {
                match token.kind() {
                    TokenKind::ServiceAccountKey(claimed) => {
                        self.read_key(claimed, &candidates, digest, now_ms).await
                    }
                    TokenKind::PersonalAccessToken => {
                        self.read_token(&candidates, digest, now_ms).await
                    }
                }
            })
            .await?;
        self.conclude(&found.entry, found.read_here, client, now_ms)
    }

    /// The answer a conclusion gives to `client` at `now_ms`. An
    /// acceptance's use is passed on to the usage tracker: after a read of our
    /// own, for the stored time to decide (see `UsageTracker::note`);
    /// otherwise once a minute. A refusal is no use.
    fn conclude(
        &self,
        entry: &Entry<Verdict>,
        read_here: bool,
        client: Client<'_>,
        now_ms: i64,
    ) -> Result<Principal, AuthError> {
        let verified = entry.value.as_ref().map_err(|r| AuthError::from(*r))?;
        if verified.expires_at.is_some_and(|t| t <= now_ms) {
            return Err(AuthError::Expired);
        }
        if !verified.allowed.admits(client.address) {
            return Err(AuthError::Address);
        }
        if read_here || entry.use_to_record(now_ms) {
            self.usage
                .note(verified.credential, verified.last_used_at, client, now_ms);
        }
        Ok(verified.principal.clone())
    }

    async fn read_key(
        &self,
        claimed: ServiceAccountId,
        candidates: &[StoredDigest],
        digest: [u8; 32],
        now_ms: i64,
    ) -> Result<Read<Verdict>, AuthError> {
        let found = lookup::keys(&self.verification_reads_from(), candidates)
            .await?
            .into_iter()
            .find(|row| Keyring::matches(candidates, &row.pepper_id, &row.digest));
        let Some(row) = found else {
            return concluded(Err(Refusal::Unknown), vec![Scope::issued(&digest)]);
        };
        let key_scope = Scope::Key(KeyId(row.id));
        let Some(sa) = row.service_account else {
            return concluded(Err(Refusal::Unknown), vec![key_scope]);
        };
        let mut scopes = vec![
            key_scope,
            Scope::ServiceAccount(ServiceAccountId(sa.id)),
            // Its account's credential policy (see `credentials::rules`).
            Scope::CredentialPolicy(AccountId(sa.account_id)),
        ];
        if let Err(refusal) = in_force(row.revoked_at, row.expires_at, now_ms) {
            return concluded(Err(refusal), scopes);
        }
        // A disabled key, by an Admin or for want of use (see
        // `credentials::idle`), is refused as a disabled service account is.
        if row.disabled_at.is_some() || !sa.enabled {
            return concluded(Err(Refusal::Disabled), scopes);
        }
        if sa.id != claimed.0 {
            return concluded(Err(Refusal::Mismatch), scopes);
        }
        // The policy is read with the service account and marks it when it
        // changes (see `credentials::rules`).
        if row
            .policy
            .judge_key(row.created_at, row.expires_at)
            .is_err()
        {
            return concluded(Err(Refusal::Policy), scopes);
        }
        let sa_role = role(&sa.role)?;
        let ceiling = row.role_ceiling.as_deref().map(role).transpose()?;
        let effective = sa_role.capped(ceiling);
        let record = ServiceAccount::try_from(sa).map_err(|e| AuthError::Corrupt(e.to_string()))?;
        let (grants, depends) = grants_found(
            &self.verification_reads_from(),
            GroupMember::ServiceAccount(record.id),
            &row.groups,
        )
        .await?;
        scopes.extend(depends);
        let verified = Verified {
            principal: Principal::ServiceAccount(ServiceAccountPrincipal {
                service_account_id: record.id,
                name: record.name.clone(),
                account_id: record.account_id,
                role: effective,
                service_account_role: sa_role,
                role_ceiling: ceiling,
                key_id: KeyId(row.id),
                service_account: Arc::new(record),
                grants: grants.into(),
            }),
            credential: Credential::Key(KeyId(row.id)),
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            allowed: row.allowed,
        };
        concluded(Ok(verified), scopes)
    }

    async fn read_token(
        &self,
        candidates: &[StoredDigest],
        digest: [u8; 32],
        now_ms: i64,
    ) -> Result<Read<Verdict>, AuthError> {
        let found = lookup::tokens(&self.verification_reads_from(), candidates)
            .await?
            .into_iter()
            .find(|row| Keyring::matches(candidates, &row.pepper_id, &row.digest));
        let Some(row) = found else {
            return concluded(Err(Refusal::Unknown), vec![Scope::issued(&digest)]);
        };
        let user_id = UserId(row.user_id);
        let mut scopes = vec![Scope::Token(TokenId(row.id)), Scope::User(user_id)];
        if let Err(refusal) = in_force(row.revoked_at, row.expires_at, now_ms) {
            return concluded(Err(refusal), scopes);
        }
        let Some(username) = row.username else {
            return concluded(Err(Refusal::Unknown), scopes);
        };
        let memberships = row
            .memberships
            .iter()
            .map(|(account, stored)| {
                Ok(Membership {
                    account_id: AccountId(*account),
                    role: role(stored)?,
                })
            })
            .collect::<Result<_, AuthError>>()?;
        let (grants, depends) = grants_found(
            &self.verification_reads_from(),
            GroupMember::User(user_id),
            &row.groups,
        )
        .await?;
        scopes.extend(depends);
        let verified = Verified {
            principal: Principal::User(UserPrincipal {
                user_id,
                username,
                memberships,
                token_id: TokenId(row.id),
                grants: grants.into(),
            }),
            credential: Credential::Token(TokenId(row.id)),
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            allowed: AllowedFrom::default(),
        };
        concluded(Ok(verified), scopes)
    }
}
