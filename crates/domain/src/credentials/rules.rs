//! An account's credential policy: the rules every service-account key of
//! the account keeps. For now, how long a key may live, whether it must
//! expire at all (GitHub's and Google Cloud's maximum lifetimes; Grafana's
//! `token_expiration_day_limit`), the address ranges its keys work from
//! (see [`crate::policy::ranges`]), and the days without use after which a
//! key is disabled (see [`crate::credentials::idle`]).
//!
//! A key made or rotated against the policy is refused with the rule and its
//! limit ([`DomainError::PolicyViolation`]). A key made before the policy
//! changed keeps existing, but verification refuses it while it breaks the
//! policy; its account's Admins see why ([`CredentialPolicy::judge_key`]), and
//! changing the policy back makes it work on its next request. A change of the
//! policy marks the account's scope, under which every verification of one
//! of its keys was read, so every server reads those keys again.

use chrono::{DateTime, Utc};
use entity::account;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::AccountId;
use crate::base::kinds;
use crate::base::time::{self, DAY_MS, to_millis};
use crate::coherence::Scope;
use crate::policy::principal::Principal;
use crate::policy::ranges::AddressRanges;
use crate::policy::table::{Action, authorize};
use crate::warden::audit::{AuditAction, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::locks;

/// A number of days as stored; under one (which no release writes) is one,
/// the strictest it could mean.
pub(crate) fn stored_days(days: Option<i32>) -> Option<u32> {
    days.map(|d| u32::try_from(d).unwrap_or(0).max(1))
}

/// What an account's Admins require of its credentials. The default
/// requires nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialPolicy {
    /// The longest a key may live, from its creation to its expiry, in days
    /// (1 to [`time::MAX_EXPIRY_DAYS`]); `None`: no limit. A limit requires an
    /// expiry too: a key that never expires lives longer than any.
    pub key_max_lifetime_days: Option<u32>,
    /// Whether every key must have an expiry.
    pub key_expiry_required: bool,
    /// Where the account's keys work; `None`: anywhere. A service account's
    /// and a key's own ranges lie within these.
    pub allowed_ranges: Option<AddressRanges>,
    /// The days without use after which a key is disabled (1 to
    /// [`time::MAX_EXPIRY_DAYS`]; see [`crate::credentials::idle`]); `None`: never.
    pub disable_unused_after_days: Option<u32>,
}

/// A rule of the policy, named as the API names its setting.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PolicyRule {
    KeyMaxLifetimeDays,
    KeyExpiryRequired,
}

impl PolicyRule {
    /// The setting's name in the API and the audit log.
    pub fn code(self) -> &'static str {
        match self {
            Self::KeyMaxLifetimeDays => "keyMaxLifetimeDays",
            Self::KeyExpiryRequired => "keyExpiryRequired",
        }
    }
}

/// How a credential breaks its account's policy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PolicyViolation {
    pub rule: PolicyRule,
    /// The rule's limit, for a rule that has one (days).
    pub limit: Option<u32>,
}

impl PolicyViolation {
    /// Says what is wrong, in the user's terms.
    pub fn message(self) -> String {
        match (self.rule, self.limit) {
            (PolicyRule::KeyMaxLifetimeDays, Some(days)) => format!(
                "The account's policy allows keys to live at most {days} days: give an expiry at most {days} days after the key's creation"
            ),
            _ => "The account's policy requires every key to have an expiry".to_owned(),
        }
    }
}

impl From<PolicyViolation> for DomainError {
    fn from(v: PolicyViolation) -> Self {
        DomainError::PolicyViolation {
            rule: v.rule.code(),
            limit: v.limit,
            message: v.message(),
        }
    }
}

impl CredentialPolicy {
    /// The policy an account's row holds.
    pub(crate) fn of(row: &account::Model) -> Self {
        Self {
            allowed_ranges: AddressRanges::from_stored(row.allowed_ranges.as_deref()),
            disable_unused_after_days: stored_days(row.disable_unused_after_days),
            ..Self::stored(row.key_max_lifetime_days, row.key_expiry_required)
        }
    }

    /// The lifetime rules from their stored columns; a value no release
    /// writes (a lifetime under one day) is read as the strictest it could
    /// mean.
    pub(crate) fn stored(max_days: Option<i32>, expiry_required: Option<bool>) -> Self {
        Self {
            key_max_lifetime_days: stored_days(max_days),
            key_expiry_required: expiry_required.unwrap_or(false),
            allowed_ranges: None,
            disable_unused_after_days: None,
        }
    }

    /// Whether a key created at `created_ms`, expiring at `expires_ms`,
    /// keeps the policy.
    pub fn judge_key(
        &self,
        created_ms: i64,
        expires_ms: Option<i64>,
    ) -> Result<(), PolicyViolation> {
        if let Some(days) = self.key_max_lifetime_days {
            let longest = i64::from(days) * DAY_MS;
            if expires_ms.is_none_or(|t| t - created_ms > longest) {
                return Err(PolicyViolation {
                    rule: PolicyRule::KeyMaxLifetimeDays,
                    limit: Some(days),
                });
            }
        }
        if self.key_expiry_required && expires_ms.is_none() {
            return Err(PolicyViolation {
                rule: PolicyRule::KeyExpiryRequired,
                limit: None,
            });
        }
        Ok(())
    }

    /// Whether a key made now, expiring at `expires_at`, keeps the policy.
    pub(crate) fn admits_new_key(
        &self,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> DomainResult<()> {
        Ok(self.judge_key(to_millis(now), expires_at.map(to_millis))?)
    }

    fn audited(&self) -> serde_json::Value {
        serde_json::json!({
            "keyMaxLifetimeDays": self.key_max_lifetime_days,
            "keyExpiryRequired": self.key_expiry_required,
            "allowedRanges": self.allowed_ranges.as_ref().map(AddressRanges::texts),
            "disableUnusedAfterDays": self.disable_unused_after_days,
        })
    }
}

/// A change of the policy: each rule given is set (`Some(None)` unsets a
/// limit); a rule not given is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyChange {
    pub key_max_lifetime_days: Option<Option<u32>>,
    pub key_expiry_required: Option<bool>,
    /// Checked as it is given ([`AddressRanges::parse`]); `Some(None)`
    /// allows every address again.
    pub allowed_ranges: Option<Option<AddressRanges>>,
    /// `Some(None)`: keys are never disabled for want of use.
    pub disable_unused_after_days: Option<Option<u32>>,
}

/// Refuses a number of days outside 1 to [`time::MAX_EXPIRY_DAYS`] for `setting`.
fn check_days(setting: &str, days: Option<Option<u32>>, unset: &str) -> DomainResult<()> {
    match days {
        Some(Some(days)) => time::check_days(
            setting,
            i64::from(days),
            &format!(" (leave it unset {unset})"),
        ),
        _ => Ok(()),
    }
}

impl PolicyChange {
    fn applied_to(self, policy: CredentialPolicy) -> DomainResult<CredentialPolicy> {
        check_days(
            "keyMaxLifetimeDays",
            self.key_max_lifetime_days,
            "for no limit",
        )?;
        check_days(
            "disableUnusedAfterDays",
            self.disable_unused_after_days,
            "to never disable keys for want of use",
        )?;
        Ok(CredentialPolicy {
            key_max_lifetime_days: self
                .key_max_lifetime_days
                .unwrap_or(policy.key_max_lifetime_days),
            key_expiry_required: self
                .key_expiry_required
                .unwrap_or(policy.key_expiry_required),
            allowed_ranges: self.allowed_ranges.unwrap_or(policy.allowed_ranges),
            disable_unused_after_days: self
                .disable_unused_after_days
                .unwrap_or(policy.disable_unused_after_days),
        })
    }
}

/// The policy of `account` as `db` reads it now.
pub(crate) async fn policy_of(
    db: &impl ConnectionTrait,
    account: AccountId,
) -> DomainResult<CredentialPolicy> {
    account::Entity::find_by_id(account.0)
        .one(db)
        .await?
        .map(|row| CredentialPolicy::of(&row))
        .ok_or(DomainError::NotFound(kinds::ACCOUNT))
}

impl Keywarden {
    /// The account's credential policy, for its Admins.
    pub async fn credential_policy(
        &self,
        caller: &Principal,
        account: AccountId,
    ) -> DomainResult<CredentialPolicy> {
        authorize(caller, account, Action::ManageKeys, kinds::ACCOUNT)?;
        policy_of(&self.db, account).await
    }

    /// Changes the account's credential policy, for an Admin of it. Every
    /// server judges the account's keys by the new policy on their next
    /// request.
    pub async fn set_credential_policy(
        &self,
        caller: &Principal,
        account: AccountId,
        change: PolicyChange,
        now: DateTime<Utc>,
    ) -> DomainResult<CredentialPolicy> {
        authorize(caller, account, Action::ManageKeys, kinds::ACCOUNT)?;
        let change_unit = self.change(caller, now).await?;
        let txn = change_unit.txn();
        locks::lock_account(txn, account).await?;
        let row = account::Entity::find_by_id(account.0)
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound(kinds::ACCOUNT))?;
        let before = CredentialPolicy::of(&row);
        let after = change.applied_to(before.clone())?;
        let as_stored = |days: Option<u32>| days.map(|d| i32::try_from(d).unwrap_or(i32::MAX));
        account::Entity::update_many()
            .col_expr(
                account::Column::KeyMaxLifetimeDays,
                Expr::value(as_stored(after.key_max_lifetime_days)),
            )
            .col_expr(
                account::Column::KeyExpiryRequired,
                Expr::value(Some(after.key_expiry_required)),
            )
            .col_expr(
                account::Column::AllowedRanges,
                Expr::value(after.allowed_ranges.as_ref().map(AddressRanges::stored)),
            )
            .col_expr(
                account::Column::DisableUnusedAfterDays,
                Expr::value(as_stored(after.disable_unused_after_days)),
            )
            .filter(account::Column::Id.eq(account.0))
            .exec(txn)
            .await?;
        // Every verification of one of the account's keys read the policy
        // under the account's scope: one mark, however many keys there are.
        let scopes: &[Scope] = if before == after {
            &[]
        } else {
            &[Scope::CredentialPolicy(account)]
        };
        let event = Event::new(
            Some(account),
            AuditAction::AccountUpdate,
            Target::new(kinds::ACCOUNT, account.0, Some(&row.name)),
        )
        .changing(Some(before.audited()), Some(after.audited()));
        change_unit.commit(event, scopes).await?;
        Ok(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;

    #[test]
    fn a_key_keeps_a_lifetime_of_up_to_its_limit_to_the_millisecond_and_an_expiry_if_required() {
        let none = CredentialPolicy::default();
        assert_eq!(none.judge_key(T0, None), Ok(()));
        let ninety = CredentialPolicy {
            key_max_lifetime_days: Some(90),
            key_expiry_required: false,
            allowed_ranges: None,
            disable_unused_after_days: None,
        };
        assert_eq!(ninety.judge_key(T0, Some(T0 + 90 * DAY_MS)), Ok(()));
        let too_long = ninety
            .judge_key(T0, Some(T0 + 90 * DAY_MS + 1))
            .unwrap_err();
        assert_eq!(too_long.rule, PolicyRule::KeyMaxLifetimeDays);
        assert_eq!(too_long.limit, Some(90));
        assert!(
            too_long.message().contains("at most 90 days"),
            "{}",
            too_long.message()
        );
        // No expiry lives longer than any limit.
        assert_eq!(
            ninety.judge_key(T0, None).unwrap_err().rule,
            PolicyRule::KeyMaxLifetimeDays
        );
        let required = CredentialPolicy {
            key_max_lifetime_days: None,
            key_expiry_required: true,
            allowed_ranges: None,
            disable_unused_after_days: None,
        };
        assert_eq!(required.judge_key(T0, Some(T0 + 3650 * DAY_MS)), Ok(()));
        let missing = required.judge_key(T0, None).unwrap_err();
        assert_eq!(
            (missing.rule, missing.limit),
            (PolicyRule::KeyExpiryRequired, None)
        );
        assert!(
            missing
                .message()
                .contains("requires every key to have an expiry")
        );
    }

    #[test]
    fn a_change_sets_what_it_gives_keeps_the_rest_and_refuses_a_lifetime_out_of_range() {
        let start = CredentialPolicy {
            key_max_lifetime_days: Some(30),
            key_expiry_required: true,
            allowed_ranges: None,
            disable_unused_after_days: None,
        };
        assert_eq!(
            PolicyChange::default().applied_to(start.clone()).unwrap(),
            start
        );
        let unset = PolicyChange {
            key_max_lifetime_days: Some(None),
            ..Default::default()
        };
        assert_eq!(
            unset.applied_to(start.clone()).unwrap(),
            CredentialPolicy {
                key_max_lifetime_days: None,
                key_expiry_required: true,
                allowed_ranges: None,
                disable_unused_after_days: None,
            }
        );
        let off = PolicyChange {
            key_expiry_required: Some(false),
            key_max_lifetime_days: Some(Some(3650)),
            allowed_ranges: None,
            disable_unused_after_days: None,
        };
        assert_eq!(
            off.applied_to(start.clone()).unwrap(),
            CredentialPolicy {
                key_max_lifetime_days: Some(3650),
                key_expiry_required: false,
                allowed_ranges: None,
                disable_unused_after_days: None,
            }
        );
        for days in [0, 3651] {
            let e = PolicyChange {
                key_max_lifetime_days: Some(Some(days)),
                ..Default::default()
            }
            .applied_to(start.clone())
            .unwrap_err();
            assert!(e.to_string().contains("between 1 and 3650"), "{days}: {e}");
        }
    }

    #[test]
    fn a_stored_policy_reads_as_written_and_a_lifetime_under_a_day_as_one_day() {
        assert_eq!(
            CredentialPolicy::stored(None, None),
            CredentialPolicy::default()
        );
        assert_eq!(
            CredentialPolicy::stored(Some(7), Some(true)),
            CredentialPolicy {
                key_max_lifetime_days: Some(7),
                key_expiry_required: true,
                allowed_ranges: None,
                disable_unused_after_days: None,
            }
        );
        for odd in [0, -5] {
            assert_eq!(
                CredentialPolicy::stored(Some(odd), None).key_max_lifetime_days,
                Some(1)
            );
        }
    }

    #[test]
    fn the_days_before_an_unused_key_is_disabled_are_one_to_ten_years_or_none() {
        let start = CredentialPolicy::default();
        for days in [1, 90, 3650] {
            let set = PolicyChange {
                disable_unused_after_days: Some(Some(days)),
                ..Default::default()
            }
            .applied_to(start.clone())
            .unwrap();
            assert_eq!(set.disable_unused_after_days, Some(days));
            assert_eq!(set.key_max_lifetime_days, None);
            let unset = PolicyChange {
                disable_unused_after_days: Some(None),
                ..Default::default()
            }
            .applied_to(set.clone())
            .unwrap();
            assert_eq!(unset, start);
            // Left out, it is kept.
            assert_eq!(
                PolicyChange::default().applied_to(set.clone()).unwrap(),
                set
            );
        }
        for days in [0, 3651] {
            let e = PolicyChange {
                disable_unused_after_days: Some(Some(days)),
                ..Default::default()
            }
            .applied_to(start.clone())
            .unwrap_err();
            let message = e.to_string();
            assert!(
                message.contains("disableUnusedAfterDays must be between 1 and 3650"),
                "{days}: {message}"
            );
        }
        assert_eq!(stored_days(Some(0)), Some(1));
        assert_eq!(stored_days(Some(-4)), Some(1));
        assert_eq!(stored_days(Some(30)), Some(30));
        assert_eq!(stored_days(None), None);
    }
}
