//! `lastUsedAt`, kept to the minute without a write on the request path.
//!
//! Verification notes each use here, in memory. A use is worth writing only when
//! the stored time is a minute old or more, and then only once per minute per
//! credential in this process; [`UsageTracker::flush`], run off the request path
//! by the server, writes what was noted. The write itself is conditional on the
//! stored time being a minute old, so several processes sharing a database
//! still write each credential at most once a minute between them.

use std::collections::HashMap;
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

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    Key(KeyId),
    Token(TokenId),
}

#[derive(Debug, Default)]
struct State {
    /// Uses waiting to be written, with the time to write.
    pending: HashMap<Credential, i64>,
    /// The last time noted for writing per credential, to skip repeats within a minute.
    noted: HashMap<Credential, i64>,
}

#[derive(Debug, Default)]
pub struct UsageTracker {
    state: Mutex<State>,
}

impl UsageTracker {
    /// Notes a use at `now_ms` of a credential whose stored `lastUsedAt` is `stored_ms`.
    pub(crate) fn note(&self, credential: Credential, stored_ms: Option<i64>, now_ms: i64) {
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
        state.pending.insert(credential, now_ms);
    }

    /// Writes the pending uses, [`USES_PER_WRITE`] to a transaction, each in
    /// its turn among the process's writers; returns how many rows changed.
    pub(crate) async fn flush(
        &self,
        db: &DatabaseConnection,
        writes: &WriteQueue,
    ) -> Result<u64, DbErr> {
        let batch: Vec<(Credential, i64)> = match self.state.lock() {
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
    uses: &[(Credential, i64)],
) -> Result<u64, DbErr> {
    let mut changed = 0;
    for &(credential, at) in uses {
        changed += match credential {
            Credential::Key(id) => {
                key::Entity::update_many()
                    .col_expr(key::Column::LastUsedAt, Expr::value(at))
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
