//! Times as the domain sees them: UTC, to the millisecond.
//!
//! Storage keeps whole milliseconds since the Unix epoch; the API shows RFC 3339
//! with milliseconds. Truncating `now` once, here, keeps every stored and returned
//! time identical.

use chrono::{DateTime, SubsecRound, Utc};

use crate::error::DomainError;

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

/// The longest expiry that may be given in days (ten years).
pub const MAX_EXPIRY_DAYS: i64 = 3650;

/// `days` whole days after `now`, for an expiry given in days (Datafold's
/// form): 1 to [`MAX_EXPIRY_DAYS`].
pub fn in_days(field: &str, days: i64, now: DateTime<Utc>) -> Result<DateTime<Utc>, DomainError> {
    if !(1..=MAX_EXPIRY_DAYS).contains(&days) {
        return Err(DomainError::invalid(format!(
            "{field} must be between 1 and {MAX_EXPIRY_DAYS} days"
        )));
    }
    Ok(now + chrono::Duration::days(days))
}
