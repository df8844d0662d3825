//! Failed authentication, rate limited per client address.
//!
//! Each refused credential counts against its address's quota (governor's GCRA).
//! An address over quota is cooling down: every credential it presents is answered
//! 429 with `Retry-After` until the quota refills, before any lookup, so guessing
//! gets nowhere. Other addresses, and requests that present no credential, are
//! never slowed by it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

#[derive(Debug)]
pub struct FailedAuthLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    cooling: Mutex<HashMap<IpAddr, Instant>>,
}

impl FailedAuthLimiter {
    /// `per_minute` refusals per address, all of which may come at once.
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            cooling: Mutex::new(HashMap::new()),
        }
    }

    /// How long `address` must still wait, if it is cooling down.
    pub fn cooling_down(&self, address: IpAddr) -> Option<Duration> {
        let mut cooling = self.cooling.lock().ok()?;
        let until = *cooling.get(&address)?;
        let now = Instant::now();
        if until > now {
            Some(until - now)
        } else {
            cooling.remove(&address);
            None
        }
    }

    /// Counts a refused credential; says how long to wait if that was one too many.
    pub fn refused(&self, address: IpAddr) -> Option<Duration> {
        match self.limiter.check_key(&address) {
            Ok(()) => None,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                if let Ok(mut cooling) = self.cooling.lock() {
                    cooling.insert(address, Instant::now() + wait);
                }
                Some(wait)
            }
        }
    }

    /// Forgets addresses whose quota has refilled.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        let now = Instant::now();
        if let Ok(mut cooling) = self.cooling.lock() {
            cooling.retain(|_, until| *until > now);
        }
    }
}

/// Whole seconds to wait, at least one, for `Retry-After`.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}
