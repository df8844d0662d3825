//! Disabled keys: a key stops working, without being revoked, when an Admin
//! disables it, or when the server's housekeeping finds it unused for longer
//! than its account's policy allows (`disableUnusedAfterDays`). Enabling it
//! again is an Admin's audited change, and its idle time counts from then.
//!
//! A key is idle since its last use, or its making for one never used, or
//! its last enabling if that is later. The housekeeping disables each key
//! once, however many servers share the database: the account's row is
//! locked while its keys are judged, and the write is conditional on the key
//! being enabled still, so of two servers the second finds nothing to do and
//! records nothing. Each disabling is in the audit log, by keywarden, with
//! the days of the policy and the key's last use.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use entity::service_account_key as key;
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement, Value,
};

use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::{AccountId, KeyId};
use crate::base::kinds;
use crate::base::time::{DAY_MS, to_millis};
use crate::coherence::Scope;
use crate::credentials::disabled::{Disabled, DisabledReason, audited};
use crate::credentials::keys::{ServiceAccountKey, key_to_change};
use crate::credentials::rules::policy_of;
use crate::policy::principal::Principal;
use crate::warden::audit::{AuditAction, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::locks;

/// How many keys one turn of the housekeeping disables at most: the rest
/// wait for its next turn, so that no writer waits long behind it.
pub const IDLE_KEYS_PER_TURN: u64 = 100;

/// A key the housekeeping found idle past its account's policy.
#[derive(Debug)]
struct Candidate {
    id: i64,
    name: Option<String>,
    account: AccountId,
}

/// A key that works (neither revoked nor expired at `now_ms`, nor disabled)
/// and has been idle since `cutoff_ms` or before.
fn idle_since(now_ms: i64, cutoff_ms: i64) -> Condition {
    Condition::all()
        .add(key::Column::RevokedAt.is_null())
        .add(key::Column::DisabledAt.is_null())
        .add(
            Condition::any()
                .add(key::Column::ExpiresAt.is_null())
                .add(key::Column::ExpiresAt.gt(now_ms)),
        )
        .add(
            Expr::expr(Func::coalesce([
                Expr::col(key::Column::LastUsedAt),
                Expr::col(key::Column::CreatedAt),
            ]))
            .lte(cutoff_ms),
        )
        .add(
            Condition::any()
                .add(key::Column::EnabledAt.is_null())
                .add(key::Column::EnabledAt.lte(cutoff_ms)),
        )
}

/// The first keys, by id, of accounts whose policy disables unused keys,
/// idle past it at `now_ms`.
async fn candidates<C: ConnectionTrait>(db: &C, now_ms: i64) -> DomainResult<Vec<Candidate>> {
    let backend = db.get_database_backend();
    let p = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let cutoff = format!("CAST(a.disable_unused_after_days AS BIGINT) * {DAY_MS}");
    let sql = format!(
        "SELECT k.id AS key_id, k.name AS key_name, s.account_id AS account_id \
  FROM service_account_keys k JOIN service_accounts s ON s.id = k.service_account_id \
  JOIN accounts a ON a.id = s.account_id \
 WHERE a.disable_unused_after_days IS NOT NULL \
   AND k.revoked_at IS NULL AND k.disabled_at IS NULL \
   AND (k.expires_at IS NULL OR k.expires_at > {}) \
   AND COALESCE(k.last_used_at, k.created_at) <= {} - {cutoff} \
   AND (k.enabled_at IS NULL OR k.enabled_at <= {} - {cutoff}) \
 ORDER BY k.id LIMIT {IDLE_KEYS_PER_TURN}",
        p(1),
        p(2),
        p(3)
    );
    let values: Vec<Value> = vec![now_ms.into(), now_ms.into(), now_ms.into()];
    db.query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .iter()
        .map(|row| {
            Ok(Candidate {
                id: row.try_get("", "key_id")?,
                name: row.try_get("", "key_name")?,
                account: AccountId(row.try_get("", "account_id")?),
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(DomainError::from)
}

impl Keywarden {
    /// Enables or disables a key, for an Admin of its account. A key already
    /// as asked is returned as it is, with nothing written; a revoked or
    /// expired key can be neither.
    pub async fn set_key_enabled(
        &self,
        caller: &Principal,
        id: KeyId,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> DomainResult<ServiceAccountKey> {
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        let (row, sa) = key_to_change(txn, caller, id).await?;
        let account = AccountId(sa.account_id);
        let before = ServiceAccountKey::try_from(row)?;
        if before.disabled.is_none() == enabled {
            return Ok(before);
        }
        if !before.is_active(now) {
            return Err(DomainError::Conflict(
                "The key is revoked or expired: it can be neither enabled nor disabled".to_owned(),
            ));
        }
        let at = change.now_ms();
        let update = key::Entity::update_many().filter(key::Column::Id.eq(id.0));
        let update = if enabled {
            update
                .col_expr(key::Column::DisabledAt, Expr::value(Option::<i64>::None))
                .col_expr(
                    key::Column::DisabledReason,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(key::Column::EnabledAt, Expr::value(at))
        } else {
            update
                .col_expr(key::Column::DisabledAt, Expr::value(at))
                .col_expr(
                    key::Column::DisabledReason,
                    Expr::value(DisabledReason::Admin.code()),
                )
        };
        update.exec(txn).await?;
        let after = key::Entity::find_by_id(id.0)
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound(kinds::KEY))
            .and_then(ServiceAccountKey::try_from)?;
        let action = if enabled {
            AuditAction::KeyEnable
        } else {
            AuditAction::KeyDisable
        };
        let event = Event::new(
            Some(account),
            action,
            Target::new(kinds::KEY, id.0, after.name.as_deref()),
        )
        .changing(
            Some(audited(before.disabled)),
            Some(audited(after.disabled)),
        );
        change.commit(event, &[Scope::Key(id)]).await?;
        Ok(after)
    }

    /// One turn of the housekeeping: disables up to [`IDLE_KEYS_PER_TURN`]
    /// keys unused for longer than their account's policy allows at `now`;
    /// returns how many this call disabled (none that another server did).
    pub async fn disable_idle_keys(&self, now: DateTime<Utc>) -> DomainResult<u64> {
        let now_ms = to_millis(now);
        let found = candidates(&self.db, now_ms).await?;
        if found.is_empty() {
            return Ok(0);
        }
        let change = self.system_change(now).await?;
        let txn = change.txn();
        // Each account's row, in order, and its policy as it is now: a
        // change of the policy waits for this turn, or this turn for it.
        let accounts: BTreeSet<AccountId> = found.iter().map(|c| c.account).collect();
        let mut days = BTreeMap::new();
        for account in accounts {
            locks::lock_account(txn, account).await?;
            if let Some(d) = policy_of(txn, account).await?.disable_unused_after_days {
                days.insert(account, d);
            }
        }
        let mut events = Vec::new();
        let mut scopes = Vec::new();
        for candidate in found {
            let Some(&days) = days.get(&candidate.account) else {
                continue;
            };
            let cutoff = now_ms - i64::from(days) * DAY_MS;
            let Some(row) = key::Entity::find_by_id(candidate.id).one(txn).await? else {
                continue;
            };
            let disabled = key::Entity::update_many()
                .col_expr(key::Column::DisabledAt, Expr::value(now_ms))
                .col_expr(
                    key::Column::DisabledReason,
                    Expr::value(DisabledReason::Idle.code()),
                )
                .filter(key::Column::Id.eq(candidate.id))
                .filter(idle_since(now_ms, cutoff))
                .exec(txn)
                .await?
                .rows_affected;
            if disabled == 0 {
                continue;
            }
            let mut after = audited(Some(Disabled {
                at: now,
                reason: DisabledReason::Idle,
            }));
            after["disableUnusedAfterDays"] = days.into();
            after["lastUsedAt"] = row.last_used_at.into();
            events.push(
                Event::new(
                    Some(candidate.account),
                    AuditAction::KeyDisable,
                    Target::new(kinds::KEY, candidate.id, candidate.name.as_deref()),
                )
                .changing(Some(audited(None)), Some(after)),
            );
            scopes.push(Scope::Key(KeyId(candidate.id)));
        }
        if events.is_empty() {
            return Ok(0);
        }
        let count = events.len() as u64;
        change.commit_each(events, &scopes).await?;
        Ok(count)
    }
}
