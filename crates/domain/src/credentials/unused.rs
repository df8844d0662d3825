//! Which of an account's credentials nobody uses: its service accounts' keys
//! and its members' personal access tokens that work (neither revoked nor
//! expired) and were last used `days` ago or more, or never.
//!
//! The list is ordered by how long each has been idle, the longest first: by
//! its last use, or by its making for one never used; keys before tokens at
//! the same moment, then by id. It is paged by that order, so a page goes on
//! where the last one ended however the list changes in between.
//!
//! A member's token is the member's own: its last use may be in any account
//! the member belongs to, and the list shows when, never from where.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chrono::{DateTime, Utc};
use entity::{
    membership, personal_access_token as pat, service_account, service_account_key as key,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::base::error::DomainResult;
use crate::base::ids::AccountId;
use crate::base::kinds;
use crate::base::time::{DAY_MS, check_days, to_millis};
use crate::credentials::keys::ServiceAccountKey;
use crate::credentials::personal_tokens::PersonalAccessToken;
use crate::policy::principal::Principal;
use crate::policy::table::{Action, authorize};
use crate::warden::handle::Keywarden;

/// A credential of the account that has not been used for the days asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unused {
    Key(ServiceAccountKey),
    /// A member's token.
    Token(PersonalAccessToken),
}

impl Unused {
    /// Since when it has been idle: its last use, or its making.
    pub fn idle_since(&self) -> DateTime<Utc> {
        match self {
            Unused::Key(k) => k.last_used_at.unwrap_or(k.created_at),
            Unused::Token(t) => t.last_used_at.unwrap_or(t.created_at),
        }
    }

    /// Where it stands in the list, for a page to go on after it.
    pub fn place(&self) -> UnusedPlace {
        let idle_since_ms = to_millis(self.idle_since());
        match self {
            Unused::Key(k) => UnusedPlace {
                idle_since_ms,
                token: false,
                id: k.id.0,
            },
            Unused::Token(t) => UnusedPlace {
                idle_since_ms,
                token: true,
                id: t.id.0,
            },
        }
    }
}

/// A place in the list: idle since when, a token or a key, and its id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnusedPlace {
    pub idle_since_ms: i64,
    pub token: bool,
    pub id: i64,
}

/// The longest cursor [`UnusedPlace::from_cursor`] reads.
const MAX_CURSOR_LEN: usize = 64;

impl UnusedPlace {
    /// The place as a connection's opaque cursor.
    pub fn cursor(self) -> String {
        let kind = if self.token { 't' } else { 'k' };
        STANDARD_NO_PAD.encode(format!("U{}.{kind}.{}", self.idle_since_ms, self.id))
    }

    /// The place a cursor from [`UnusedPlace::cursor`] names; `None` for
    /// anything else.
    pub fn from_cursor(cursor: &str) -> Option<Self> {
        if cursor.len() > MAX_CURSOR_LEN {
            return None;
        }
        let bytes = STANDARD_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?.strip_prefix('U')?;
        let mut parts = text.split('.');
        let idle_since_ms = parts.next()?.parse().ok()?;
        let token = match parts.next()? {
            "k" => false,
            "t" => true,
            _ => return None,
        };
        let id = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self {
            idle_since_ms,
            token,
            id,
        })
    }
}

/// A page of the list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnusedPage {
    pub credentials: Vec<Unused>,
    /// Whether more lie after the page.
    pub has_more: bool,
    /// How many the whole list holds.
    pub total: u64,
}

/// `COALESCE(last_used_at, created_at)` of a table.
fn idle_since(last_used: impl ColumnTrait, created: impl ColumnTrait) -> Expr {
    Func::coalesce([Expr::col(last_used), Expr::col(created)]).into()
}

/// Rows after `place` in the list's order, of a table whose rows are tokens
/// (`token`) or keys.
fn after_place(idle: Expr, id: impl ColumnTrait, token: bool, place: UnusedPlace) -> Condition {
    let at = place.idle_since_ms;
    if token == place.token {
        Condition::any()
            .add(idle.clone().gt(at))
            .add(Condition::all().add(idle.eq(at)).add(id.gt(place.id)))
    } else if token {
        // A token idle since the place's moment comes after a key idle since it.
        Condition::all().add(idle.gte(at))
    } else {
        // A key idle since the place's moment comes before a token idle since it.
        Condition::all().add(idle.gt(at))
    }
}

impl Keywarden {
    /// The account's working keys and its members' working tokens not used
    /// for `days` days (or never), the longest idle first: at most
    /// `limit` (up to [`crate::MAX_PAGE`]) after `after`. For its Admins.
    pub async fn unused_credentials(
        &self,
        caller: &Principal,
        account: AccountId,
        days: i64,
        after: Option<UnusedPlace>,
        limit: u64,
        now: DateTime<Utc>,
    ) -> DomainResult<UnusedPage> {
        authorize(caller, account, Action::ManageKeys, kinds::ACCOUNT)?;
        check_days("days", days, "")?;
        let now_ms = to_millis(now);
        let cutoff = now_ms - days * DAY_MS;
        let limit = Ord::min(limit, crate::MAX_PAGE);

        let keys_of_account = Condition::all()
            .add(
                key::Column::ServiceAccountId.in_subquery(
                    Query::select()
                        .column(service_account::Column::Id)
                        .from(service_account::Entity)
                        .and_where(service_account::Column::AccountId.eq(account.0))
                        .to_owned(),
                ),
            )
            .add(key::Column::RevokedAt.is_null())
            .add(
                Condition::any()
                    .add(key::Column::ExpiresAt.is_null())
                    .add(key::Column::ExpiresAt.gt(now_ms)),
            )
            .add(
                Condition::any()
                    .add(key::Column::LastUsedAt.is_null())
                    .add(key::Column::LastUsedAt.lte(cutoff)),
            );
        let tokens_of_members = Condition::all()
            .add(
                pat::Column::UserId.in_subquery(
                    Query::select()
                        .column(membership::Column::UserId)
                        .from(membership::Entity)
                        .and_where(membership::Column::AccountId.eq(account.0))
                        .to_owned(),
                ),
            )
            .add(pat::Column::RevokedAt.is_null())
            .add(
                Condition::any()
                    .add(pat::Column::ExpiresAt.is_null())
                    .add(pat::Column::ExpiresAt.gt(now_ms)),
            )
            .add(
                Condition::any()
                    .add(pat::Column::LastUsedAt.is_null())
                    .add(pat::Column::LastUsedAt.lte(cutoff)),
            );

        let key_idle = || idle_since(key::Column::LastUsedAt, key::Column::CreatedAt);
        let token_idle = || idle_since(pat::Column::LastUsedAt, pat::Column::CreatedAt);
        let mut keys = key::Entity::find().filter(keys_of_account.clone());
        let mut tokens = pat::Entity::find().filter(tokens_of_members.clone());
        if let Some(place) = after {
            keys = keys.filter(after_place(key_idle(), key::Column::Id, false, place));
            tokens = tokens.filter(after_place(token_idle(), pat::Column::Id, true, place));
        }
        let db = &self.db;
        let rows = limit + 1;
        let keys = keys
            .order_by_asc(key_idle())
            .order_by_asc(key::Column::Id)
            .limit(rows)
            .all(db)
            .await?;
        let tokens = tokens
            .order_by_asc(token_idle())
            .order_by_asc(pat::Column::Id)
            .limit(rows)
            .all(db)
            .await?;
        let mut found = keys
            .into_iter()
            .map(|m| ServiceAccountKey::try_from(m).map(Unused::Key))
            .chain(
                tokens
                    .into_iter()
                    .map(|m| PersonalAccessToken::try_from(m).map(Unused::Token)),
            )
            .collect::<DomainResult<Vec<_>>>()?;
        found.sort_by_key(Unused::place);
        let has_more = found.len() as u64 > limit;
        found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let total = key::Entity::find()
            .filter(keys_of_account)
            .count(db)
            .await?
            + pat::Entity::find()
                .filter(tokens_of_members)
                .count(db)
                .await?;
        Ok(UnusedPage {
            credentials: found,
            has_more,
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_names_its_place_and_nothing_else_is_one() {
        for place in [
            UnusedPlace {
                idle_since_ms: 1_700_000_000_000,
                token: false,
                id: 42,
            },
            UnusedPlace {
                idle_since_ms: -5,
                token: true,
                id: 1,
            },
        ] {
            assert_eq!(UnusedPlace::from_cursor(&place.cursor()), Some(place));
        }
        let forged = |text: &str| UnusedPlace::from_cursor(&STANDARD_NO_PAD.encode(text));
        assert_eq!(forged("U5.k.1").map(|p| p.id), Some(1));
        for bad in ["U5.x.1", "U5.k", "U5.k.1.2", "5.k.1", "Ux.k.1", "U5.k.y"] {
            assert_eq!(forged(bad), None, "{bad}");
        }
        assert_eq!(UnusedPlace::from_cursor("not base64!"), None);
        // A cursor of 64 characters is read; a longer one is not, even one
        // that would decode (the digits' leading zeros make it long).
        let padded = |zeros: usize| STANDARD_NO_PAD.encode(format!("U{}5.k.1", "0".repeat(zeros)));
        let longest = padded(42);
        assert_eq!(longest.len(), MAX_CURSOR_LEN);
        assert_eq!(
            UnusedPlace::from_cursor(&longest).map(|p| p.idle_since_ms),
            Some(5)
        );
        let over = padded(43);
        assert!(over.len() > MAX_CURSOR_LEN);
        assert_eq!(UnusedPlace::from_cursor(&over), None);
    }

    #[test]
    fn keys_come_before_tokens_idle_since_the_same_moment() {
        let key = UnusedPlace {
            idle_since_ms: 5,
            token: false,
            id: 9,
        };
        let token = UnusedPlace {
            idle_since_ms: 5,
            token: true,
            id: 1,
        };
        let older_token = UnusedPlace {
            idle_since_ms: 4,
            token: true,
            id: 2,
        };
        let mut places = vec![token, key, older_token];
        places.sort();
        assert_eq!(places, vec![older_token, key, token]);
    }
}
