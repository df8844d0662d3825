//! Per-address quotas of what may be asked with no credential: a holder's
//! report of a leaked credential.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Reports a holder may make from one address a minute, all at once if
/// they like.
pub const HOLDER_REPORTS_PER_MINUTE: u32 = 30;

/// Holders' reports, counted per client address.
#[derive(Debug)]
pub(crate) struct HolderQuota {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl HolderQuota {
    pub(crate) fn new(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// Counts a report from `client`; `false` when that was one too many. A
    /// report with no address (made outside a request) is not counted.
    pub(crate) fn admit(&self, client: Option<IpAddr>) -> bool {
        client.is_none_or(|c| self.limiter.check_key(&c).is_ok())
    }

    /// Forgets the addresses whose quota has refilled; returns how many are
    /// still counted.
    pub(crate) fn prune(&self) -> usize {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.limiter.len()
    }
}

impl Default for HolderQuota {
    fn default() -> Self {
        Self::new(NonZeroU32::MIN.saturating_add(HOLDER_REPORTS_PER_MINUTE - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_quota_at_once_then_is_refused_while_others_are_not() {
        let quota = HolderQuota::new(NonZeroU32::MIN.saturating_add(2));
        let one: IpAddr = [192, 0, 2, 1].into();
        let two: IpAddr = [192, 0, 2, 2].into();
        for _ in 0..3 {
            assert!(quota.admit(Some(one)));
        }
        assert!(!quota.admit(Some(one)));
        assert!(quota.admit(Some(two)));
        // A report made outside any request has no address to count.
        for _ in 0..10 {
            assert!(quota.admit(None));
        }
    }
}
