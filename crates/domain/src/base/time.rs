//! Times as the domain sees them: UTC, to the millisecond.
//!
//! Storage keeps whole milliseconds since the Unix epoch; the API shows RFC 3339
//! with milliseconds. Truncating `now` once, here, keeps every stored and returned
//! time identical.

use chrono::{DateTime, SubsecRound, Utc};

use crate::base::error::DomainError;

/// The current time, truncated to the millisecond.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, DomainError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| DomainError::Internal(format!("stored time {ms} is out of range")))
}

pub(crate) fn from_millis_opt(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, DomainError> {
    ms.map(from_millis).transpose()
}

/// A time chosen by a user must lie in the future and be storable.
pub(crate) fn future(
    field: &str,
    t: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, DomainError> {
    let t = t.trunc_subsecs(3);
    if t <= now {
        return Err(DomainError::invalid(format!(
            "{field} must be in the future"
        )));
    }
    Ok(t)
}

/// When a new credential stops working, as its creator gave it. It is
/// resolved against the change that issues the credential, so that an expiry
/// in days lies exactly that many days after the stored `createdAt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// At this time, which must lie in the future (`expiresAt`).
    At(DateTime<Utc>),
    /// This many whole days after the change (`expiresInDays`).
    InDays(i64),
}

impl Expiry {
    /// The time this expiry names for a change made at `now`.
    pub(crate) fn at(self, now: DateTime<Utc>) -> Result<DateTime<Utc>, DomainError> {
        match self {
            Expiry::At(t) => future("expiresAt", t, now),
            Expiry::InDays(days) => in_days("expiresInDays", days, now),
        }
    }
}

/// The longest expiry that may be given in days (ten years).
pub const MAX_EXPIRY_DAYS: i64 = 3650;

/// A day, as stored times count it.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// Refuses a number of days given as `field` outside 1 to
/// [`MAX_EXPIRY_DAYS`] (every number of days the API takes); `hint` ends
/// the message.
pub(crate) fn check_days(field: &str, days: i64, hint: &str) -> Result<(), DomainError> {
    if (1..=MAX_EXPIRY_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(DomainError::invalid(format!(
            "{field} must be between 1 and {MAX_EXPIRY_DAYS} days{hint}"
        )))
    }
}

/// `days` whole days after `now`, for an expiry given in days (Datafold's
/// form): 1 to [`MAX_EXPIRY_DAYS`].
pub(crate) fn in_days(
    field: &str,
    days: i64,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, DomainError> {
    check_days(field, days, "")?;
    Ok(now + chrono::Duration::days(days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_one_to_ten_years_and_the_refusal_names_the_field() {
        assert!(check_days("days", 1, "").is_ok());
        assert!(check_days("days", MAX_EXPIRY_DAYS, "").is_ok());
        for days in [0, -1, MAX_EXPIRY_DAYS + 1] {
            let e = check_days("days", days, " (or none)")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(
                e, "days must be between 1 and 3650 days (or none)",
                "{days}"
            );
        }
    }
}
