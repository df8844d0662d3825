//! Whether a key works: enabled, or disabled (by an Admin, or for want of
//! use; see [`crate::credentials::idle`]) since a time.

use chrono::{DateTime, Utc};

use crate::base::error::DomainResult;
use crate::base::time::{from_millis, to_millis};

/// Why a key is disabled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DisabledReason {
    /// Unused for longer than its account's policy allows.
    Idle,
    /// An Admin disabled it.
    Admin,
}

impl DisabledReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Admin => "admin",
        }
    }
}

/// When and why a key was disabled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Disabled {
    pub at: DateTime<Utc>,
    pub reason: DisabledReason,
}

impl Disabled {
    /// From the stored columns: disabled whenever a time is stored, whatever
    /// the reason says (one no release writes is read as an Admin's).
    pub(crate) fn from_stored(at: Option<i64>, reason: Option<&str>) -> DomainResult<Option<Self>> {
        let Some(at) = at else {
            return Ok(None);
        };
        let reason = match reason {
            Some("idle") => DisabledReason::Idle,
            _ => DisabledReason::Admin,
        };
        Ok(Some(Self {
            at: from_millis(at)?,
            reason,
        }))
    }
}

/// The audit log's view of whether a key works.
pub(crate) fn audited(disabled: Option<Disabled>) -> serde_json::Value {
    serde_json::json!({
        "disabledAt": disabled.map(|d| to_millis(d.at)),
        "disabledReason": disabled.map(|d| d.reason.code()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_time_is_disabled_whatever_its_reason_says() {
        assert_eq!(Disabled::from_stored(None, Some("idle")).ok(), Some(None));
        let idle = Disabled::from_stored(Some(1_000), Some("idle"))
            .ok()
            .flatten();
        assert_eq!(idle.map(|d| d.reason), Some(DisabledReason::Idle));
        for reason in [Some("admin"), Some("unknown"), None] {
            let read = Disabled::from_stored(Some(1_000), reason).ok().flatten();
            assert_eq!(
                read.map(|d| d.reason),
                Some(DisabledReason::Admin),
                "{reason:?}"
            );
        }
    }
}
