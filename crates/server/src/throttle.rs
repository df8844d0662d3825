//! Failed authentication, rate limited per client address.
//!
//! Each refused credential counts against its address's quota (governor's GCRA).
//! An address over quota is cooling down: every credential from it that fails is
//! answered 429 with `Retry-After` until the quota refills. A credential that is
//! good is never refused for what else its address sent (many clients may share
//! one address), and neither are requests with no credential or other addresses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

#[derive(Debug)]
pub struct FailedAuthLimiter {
    /// `None`: the operator switched the throttle off.
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    cooling: Mutex<HashMap<IpAddr, Instant>>,
    /// Whether `cooling` holds any address, so that the usual request (none
    /// does) is answered without taking the lock.
    any_cooling: AtomicBool,
}

impl FailedAuthLimiter {
    /// `per_minute` refusals per address, all of which may come at once; 0
    /// switches the throttle off.
    pub fn new(per_minute: u32) -> Self {
        Self {
            limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            cooling: Mutex::new(HashMap::new()),
            any_cooling: AtomicBool::new(false),
        }
    }

    /// How long `address` must still wait, if it is cooling down.
    pub fn cooling_down(&self, address: IpAddr) -> Option<Duration> {
        if !self.any_cooling.load(Ordering::Acquire) {
            return None;
        }
        let mut cooling = self.cooling.lock().ok()?;
        let until = *cooling.get(&address)?;
        let now = Instant::now();
        if until > now {
            Some(until - now)
        } else {
            cooling.remove(&address);
            self.any_cooling
                .store(!cooling.is_empty(), Ordering::Release);
            None
        }
    }

    /// Counts a refused credential; says how long to wait if that was one too many.
    pub fn refused(&self, address: IpAddr) -> Option<Duration> {
        match self.limiter.as_ref()?.check_key(&address) {
            Ok(()) => None,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                if let Ok(mut cooling) = self.cooling.lock() {
                    cooling.insert(address, Instant::now() + wait);
                    self.any_cooling.store(true, Ordering::Release);
                }
                Some(wait)
            }
        }
    }

    /// Forgets addresses whose quota has refilled.
    pub fn prune(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
        }
        let now = Instant::now();
        if let Ok(mut cooling) = self.cooling.lock() {
            cooling.retain(|_, until| *until > now);
            self.any_cooling
                .store(!cooling.is_empty(), Ordering::Release);
        }
    }
}

/// Whole seconds to wait, at least one, for `Retry-After`.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn an_address_over_quota_cools_down_and_others_do_not() {
        let limiter = FailedAuthLimiter::new(1);
        let guesser = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(limiter.cooling_down(guesser), None);
        assert_eq!(
            limiter.refused(guesser),
            None,
            "the first refusal is allowed"
        );
        assert!(
            limiter.refused(guesser).is_some(),
            "the second is one too many"
        );
        assert!(limiter.cooling_down(guesser).is_some());
        assert_eq!(limiter.cooling_down(other), None);
        // Pruning keeps an address that is still cooling down.
        limiter.prune();
        assert!(limiter.cooling_down(guesser).is_some());
    }

    #[test]
    fn zero_switches_the_throttle_off() {
        let limiter = FailedAuthLimiter::new(0);
        let guesser = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        for _ in 0..1_000 {
            assert_eq!(limiter.refused(guesser), None);
        }
        assert_eq!(limiter.cooling_down(guesser), None);
        limiter.prune();
    }
}
