//! `lastUsedAt`, kept to the minute without a write on the request path, with
//! the address and `User-Agent` of the use it records.
//!
//! Verification notes each use here, in memory, with its [`Client`]. A use is worth writing only when
//! the stored time is a minute old or more, and then only once per minute per
//! credential in this process; [`UsageTracker::flush`], run off the request path
//! by the server, writes what was noted. The write itself is conditional on the
//! stored time being a minute old, so several processes sharing a database
//! still write each credential at most once a minute between them. The address
//! and agent written are those of the use that was written: the first of its
//! minute, as the time is.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use entity::{personal_access_token as pat, service_account_key as key};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use crate::base::ids::{KeyId, TokenId};
use crate::db::WriteQueue;

pub(crate) const MINUTE_MS: i64 = 60_000;

/// How many uses one write transaction of a flush holds: a flush of many takes
/// several turns, so that no other writer waits behind all of them.
const USES_PER_WRITE: usize = 100;

/// The most characters of a `User-Agent` kept: the rest is cut.
pub const MAX_AGENT_CHARS: usize = 256;

/// Who presented a credential: the client's address as the transport resolved
/// it (through its trusted proxies), and the `User-Agent` it sent.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Client<'a> {
    pub address: Option<IpAddr>,
    pub agent: Option<&'a str>,
}

impl From<Option<IpAddr>> for Client<'static> {
    fn from(address: Option<IpAddr>) -> Self {
        Self {
            address,
            agent: None,
        }
    }
}

/// A `User-Agent` as it is stored: at most [`MAX_AGENT_CHARS`] characters,
/// control characters made spaces, the ends trimmed; `None` when nothing is
/// left.
pub(crate) fn stored_agent(agent: &str) -> Option<String> {
    let kept: String = agent
        .chars()
        .take(MAX_AGENT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = kept.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// A use waiting to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Use {
    at: i64,
    from: Option<String>,
    agent: Option<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    Key(KeyId),
    Token(TokenId),
}

#[derive(Debug, Default)]
struct State {
    /// Uses waiting to be written.
    pending: HashMap<Credential, Use>,
    /// The last time noted for writing per credential, to skip repeats within a minute.
    noted: HashMap<Credential, i64>,
}

#[derive(Debug, Default)]
pub struct UsageTracker {
    state: Mutex<State>,
}

impl UsageTracker {
    /// Notes a use at `now_ms`, by `client`, of a credential whose stored
    /// `lastUsedAt` is `stored_ms`.
    pub(crate) fn note(
        &self,
        credential: Credential,
        stored_ms: Option<i64>,
        client: Client<'_>,
        now_ms: i64,
    ) {
        if stored_ms.is_some_and(|t| now_ms - t < MINUTE_MS) {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state
            .noted
            .get(&credential)
            .is_some_and(|&t| now_ms - t < MINUTE_MS)
        {
            return;
        }
        state.noted.insert(credential, now_ms);
        let noted = Use {
            at: now_ms,
            from: client.address.map(|a| a.to_string()),
            agent: client.agent.and_then(stored_agent),
        };
        state.pending.insert(credential, noted);
    }

    /// Writes the pending uses, [`USES_PER_WRITE`] to a transaction, each in
    /// its turn among the process's writers; returns how many rows changed.
    pub(crate) async fn flush(
        &self,
        db: &DatabaseConnection,
        writes: &WriteQueue,
    ) -> Result<u64, DbErr> {
        let batch: Vec<(Credential, Use)> = match self.state.lock() {
            Ok(mut state) => {
                let batch = state.pending.drain().collect();
                let newest = state.noted.values().copied().max().unwrap_or(0);
                state.noted.retain(|_, &mut t| newest - t < MINUTE_MS);
                batch
            }
            Err(_) => return Ok(0),
        };
        let mut changed = 0;
        for chunk in batch.chunks(USES_PER_WRITE) {
            let (_turn, txn) = writes.begin(db).await?;
            changed += write_uses(&txn, chunk).await?;
            txn.commit().await?;
        }
        Ok(changed)
    }
}

async fn write_uses<C: sea_orm::ConnectionTrait>(
    db: &C,
    uses: &[(Credential, Use)],
) -> Result<u64, DbErr> {
    let mut changed = 0;
    for (credential, noted) in uses {
        let at = noted.at;
        changed += match *credential {
            Credential::Key(id) => {
                key::Entity::update_many()
                    .col_expr(key::Column::LastUsedAt, Expr::value(at))
                    .col_expr(key::Column::LastUsedFrom, Expr::value(noted.from.clone()))
                    .col_expr(key::Column::LastUsedAgent, Expr::value(noted.agent.clone()))
                    .filter(key::Column::Id.eq(id.0))
                    .filter(
                        Condition::any()
                            .add(key::Column::LastUsedAt.is_null())
                            .add(key::Column::LastUsedAt.lte(at - MINUTE_MS)),
                    )
                    .exec(db)
                    .await?
                    .rows_affected
            }
            Credential::Token(id) => {
                pat::Entity::update_many()
                    .col_expr(pat::Column::LastUsedAt, Expr::value(at))
                    .col_expr(pat::Column::LastUsedFrom, Expr::value(noted.from.clone()))
                    .col_expr(pat::Column::LastUsedAgent, Expr::value(noted.agent.clone()))
                    .filter(pat::Column::Id.eq(id.0))
                    .filter(
                        Condition::any()
                            .add(pat::Column::LastUsedAt.is_null())
                            .add(pat::Column::LastUsedAt.lte(at - MINUTE_MS)),
                    )
                    .exec(db)
                    .await?
                    .rows_affected
            }
        };
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_is_kept_to_its_printable_first_characters() {
        assert_eq!(stored_agent("curl/8.5.0").as_deref(), Some("curl/8.5.0"));
        assert_eq!(
            stored_agent(" deploy\tbot\r\n").as_deref(),
            Some("deploy bot")
        );
        assert_eq!(stored_agent(" \n\t"), None);
        assert_eq!(stored_agent(""), None);
        let long = "é".repeat(MAX_AGENT_CHARS + 1);
        let kept = stored_agent(&long).unwrap_or_default();
        assert_eq!(kept.chars().count(), MAX_AGENT_CHARS);
        let exact = "a".repeat(MAX_AGENT_CHARS);
        assert_eq!(stored_agent(&exact), Some(exact));
    }

    #[test]
    fn a_use_within_the_minute_keeps_the_first_client() {
        let tracker = UsageTracker::default();
        let key = Credential::Key(KeyId(1));
        let first = Client {
            address: "192.0.2.1".parse().ok(),
            agent: Some("first"),
        };
        let second = Client {
            address: "192.0.2.2".parse().ok(),
            agent: Some("second"),
        };
        tracker.note(key, None, first, 1_000);
        tracker.note(key, None, second, 1_000 + MINUTE_MS - 1);
        let pending = tracker
            .state
            .lock()
            .map(|s| s.pending.clone())
            .unwrap_or_default();
        assert_eq!(
            pending.get(&key),
            Some(&Use {
                at: 1_000,
                from: Some("192.0.2.1".into()),
                agent: Some("first".into()),
            })
        );
    }
}
