//! The Prometheus metrics: what they are called, what they mean, and where
//! their values come from.
//!
//! Every label has a closed set of values (routes, statuses, outcomes,
//! states): no metric carries a secret, a token prefix, an id or anything a
//! client chooses. Counters kept by the domain (the verification cache's) and
//! states (the pool, the listener) are read when `/metrics` is scraped.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::http::StatusCode;
use metrics::{
    Counter, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const REQUESTS: &str = "keywarden_http_requests_total";
const DURATION: &str = "keywarden_http_request_duration_seconds";
const VERIFICATIONS: &str = "keywarden_verifications_total";
const READS: &str = "keywarden_verification_reads_total";
const STATEMENTS: &str = "keywarden_verification_statements_total";
const UNREAD: &str = "keywarden_verification_unknown_unread_total";
const FILTER_BUILDS: &str = "keywarden_verification_filter_builds_total";
const CACHE_HITS: &str = "keywarden_verification_cache_hits_total";
const CACHE_MISSES: &str = "keywarden_verification_cache_misses_total";
const INVALIDATIONS: &str = "keywarden_verification_cache_invalidations_total";
const POOL: &str = "keywarden_db_pool_connections";
const VERIFICATION_POOL: &str = "keywarden_db_verification_pool_connections";
const VERIFICATION_OWN: &str = "keywarden_db_verification_connections";
const LISTENER_UP: &str = "keywarden_change_listener_up";
const LISTENER_HEARD: &str = "keywarden_change_listener_last_heard_seconds";
const LISTENER_PEERS: &str = "keywarden_change_listener_peers";
const LISTENER_SERVING: &str = "keywarden_change_listener_serving";
const LAST_USED_WRITES: &str = "keywarden_last_used_writes_total";
const IDLE_DISABLED: &str = "keywarden_keys_disabled_unused_total";
const BUILD_INFO: &str = "keywarden_build_info";

/// Request latency buckets, in seconds: a cached verification is well under a
/// millisecond, a GraphQL mutation a few.
const LATENCY_BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Installs the process's recorder and describes every metric; `None` (and a
/// warning) if a recorder is already installed.
pub fn install() -> Option<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), &LATENCY_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| tracing::warn!(error = %e, "metrics are off"))
        .ok()?;
    describe_counter!(REQUESTS, "HTTP requests answered, by route and status.");
    describe_histogram!(
        DURATION,
        Unit::Seconds,
        "Time from a request's head to its answer, by route and status."
    );
    describe_counter!(
        VERIFICATIONS,
        "Credentials presented, by outcome: ok, malformed, unknown, revoked, expired, disabled, throttled (refused with 429), ambiguous (two different credentials), error (the database failed)."
    );
    describe_counter!(READS, "Database reads made to verify a credential.");
    describe_counter!(
        UNREAD,
        "Well-formed tokens refused as unknown with no database read (the filter of stored digests)."
    );
    describe_counter!(
        FILTER_BUILDS,
        "Times the filter of stored digests was built from the database."
    );
    describe_counter!(
        STATEMENTS,
        "Statements verification's reads ran (one a credential, two for a principal in a group), with gateways' project lookups."
    );
    describe_counter!(
        CACHE_HITS,
        "Verifications answered from this process's memory."
    );
    describe_counter!(
        CACHE_MISSES,
        "Verifications this process's memory could not answer (nothing kept, or what was kept is stale), while caching is on."
    );
    describe_counter!(
        INVALIDATIONS,
        "Scopes (a key, a service account, a token, a user, a new secret) marked changed by this process's changes and those it heard of; forgetting everything counts one."
    );
    describe_gauge!(POOL, "Database pool connections, by state: in_use or idle.");
    describe_gauge!(
        VERIFICATION_POOL,
        "Connections of the pool kept for verification's reads, by state: in_use or idle."
    );
    describe_gauge!(
        VERIFICATION_OWN,
        "PostgreSQL only: verification's connections of its own, tried before that pool, by state: in_use or idle."
    );
    describe_gauge!(
        LISTENER_UP,
        "PostgreSQL only: 1 while the connection that hears other processes' changes is listening."
    );
    describe_gauge!(
        LISTENER_HEARD,
        Unit::Seconds,
        "PostgreSQL only: seconds since that connection last heard a notification (heartbeats arrive five times a second)."
    );
    describe_gauge!(
        LISTENER_PEERS,
        "PostgreSQL only: the other processes' listening connections, by the protocol they were heard speaking (1: releases up to 0.1.0; 2) or unconfirmed."
    );
    describe_gauge!(
        LISTENER_SERVING,
        "PostgreSQL only: 1 while this process may answer verifications from memory (it holds its lease, has confirmed every listener and read every notification)."
    );
    describe_counter!(
        LAST_USED_WRITES,
        "Rows written to record when credentials were last used."
    );
    describe_counter!(
        IDLE_DISABLED,
        "Keys this process disabled because they were unused past their account's disableUnusedAfterDays."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; its labels say which keywarden this is."
    );
    gauge!(BUILD_INFO, "version" => crate::version::VERSION, "commit" => crate::version::COMMIT)
        .set(1.0);
    Some(handle)
}

/// How a presented credential was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Malformed,
    Unknown,
    Revoked,
    Expired,
    Disabled,
    /// A key its account's policy no longer allows.
    Policy,
    /// A good key from an address its ranges do not allow.
    Address,
    Throttled,
    Ambiguous,
    Error,
}

impl Outcome {
    const ALL: [Outcome; 11] = [
        Outcome::Ok,
        Outcome::Malformed,
        Outcome::Unknown,
        Outcome::Revoked,
        Outcome::Expired,
        Outcome::Disabled,
        Outcome::Policy,
        Outcome::Address,
        Outcome::Throttled,
        Outcome::Ambiguous,
        Outcome::Error,
    ];

    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Malformed => "malformed",
            Outcome::Unknown => "unknown",
            Outcome::Revoked => "revoked",
            Outcome::Expired => "expired",
            Outcome::Disabled => "disabled",
            Outcome::Policy => "policy",
            Outcome::Address => "address",
            Outcome::Throttled => "throttled",
            Outcome::Ambiguous => "ambiguous",
            Outcome::Error => "error",
        }
    }

    /// The outcome of a refusal the domain gave.
    pub fn of_refusal(reason: &domain::AuthError) -> Self {
        use domain::AuthError;
        match reason {
            AuthError::Malformed(_) => Outcome::Malformed,
            // A token that names another service account than its key's is
            // unknown as that token.
            AuthError::Unknown | AuthError::Mismatch => Outcome::Unknown,
            AuthError::Revoked => Outcome::Revoked,
            AuthError::Expired => Outcome::Expired,
            AuthError::Disabled => Outcome::Disabled,
            AuthError::Policy => Outcome::Policy,
            AuthError::Address => Outcome::Address,
            AuthError::Corrupt(_) | AuthError::Db(_) => Outcome::Error,
        }
    }
}

/// The routes requests are counted by (see `observe::route_label`).
pub const ROUTES: [&str; 6] = [
    "/graphql",
    "/v1/verify",
    "/metrics",
    "/healthz",
    "/readyz",
    "other",
];

/// A request's counter and histogram, for one route and status.
#[derive(Debug)]
struct Series {
    count: Counter,
    duration: metrics::Histogram,
}

/// Every (route, status) pair's series, registered on first use and then
/// found by index, so that a request looks nothing up by name.
type SeriesTable = [[OnceLock<Series>; STATUS_LABELS]; ROUTES.len()];

/// The counters the request path touches, registered once so that a request
/// does not look them up.
#[derive(Clone, Debug)]
pub struct Telemetry {
    verifications: [Counter; Outcome::ALL.len()],
    requests: Arc<SeriesTable>,
}

impl Telemetry {
    /// Registers with the recorder installed now (none: they count nothing).
    pub fn register() -> Self {
        Self {
            verifications: Outcome::ALL.map(|o| counter!(VERIFICATIONS, "outcome" => o.label())),
            requests: Arc::new(std::array::from_fn(|_| {
                std::array::from_fn(|_| OnceLock::new())
            })),
        }
    }

    pub fn verification(&self, outcome: Outcome) {
        let index = Outcome::ALL.iter().position(|o| *o == outcome);
        if let Some(counter) = index.and_then(|i| self.verifications.get(i)) {
            counter.increment(1);
        }
    }

    pub fn request(&self, route: &'static str, status: StatusCode, elapsed: Duration) {
        let route_index = ROUTES
            .iter()
            .position(|r| *r == route)
            .unwrap_or(ROUTES.len() - 1);
        let status_index = status_index(status);
        let Some(slot) = self
            .requests
            .get(route_index)
            .and_then(|row| row.get(status_index))
        else {
            return;
        };
        let series = slot.get_or_init(|| {
            let route = ROUTES.get(route_index).copied().unwrap_or("other");
            let status = STATUS_LABEL_LIST
                .get(status_index)
                .copied()
                .unwrap_or("5xx");
            Series {
                count: counter!(REQUESTS, "route" => route, "status" => status),
                duration: metrics::histogram!(DURATION, "route" => route, "status" => status),
            }
        });
        series.count.increment(1);
        series.duration.record(elapsed.as_secs_f64());
    }
}

/// The statuses keywarden answers with, each its own label, then the classes
/// any other status is counted in.
const STATUS_LABEL_LIST: [&str; 19] = [
    "200", "204", "400", "401", "403", "404", "405", "406", "408", "413", "415", "429", "500",
    "503", "1xx", "2xx", "3xx", "4xx", "5xx",
];
const STATUS_LABELS: usize = STATUS_LABEL_LIST.len();
/// How many of the labels are statuses themselves.
const KNOWN_STATUSES: usize = 14;

/// Where a status's label is in [`STATUS_LABEL_LIST`]: the known ones as
/// themselves, any other as its class.
fn status_index(status: StatusCode) -> usize {
    let known = STATUS_LABEL_LIST
        .iter()
        .take(KNOWN_STATUSES)
        .position(|s| *s == status.as_str());
    known.unwrap_or(match status.as_u16() {
        100..=199 => KNOWN_STATUSES,
        200..=299 => KNOWN_STATUSES + 1,
        300..=399 => KNOWN_STATUSES + 2,
        400..=499 => KNOWN_STATUSES + 3,
        _ => KNOWN_STATUSES + 4,
    })
}

#[cfg(test)]
fn status_label(status: StatusCode) -> &'static str {
    STATUS_LABEL_LIST
        .get(status_index(status))
        .copied()
        .unwrap_or_default()
}

pub fn last_used_written(rows: u64) {
    counter!(LAST_USED_WRITES).increment(rows);
}

/// Counts keys this process disabled for want of use.
pub fn idle_keys_disabled(keys: u64) {
    counter!(IDLE_DISABLED).increment(keys);
}

/// Brings the values read at scrape time up to date, then renders everything.
pub fn render(handle: &PrometheusHandle, kw: &domain::Keywarden) -> String {
    let stats = kw.stats();
    counter!(READS).absolute(stats.verification_reads);
    counter!(STATEMENTS).absolute(stats.verification_statements);
    counter!(UNREAD).absolute(stats.unknown_unread);
    counter!(FILTER_BUILDS).absolute(stats.filter_builds);
    counter!(CACHE_HITS).absolute(stats.cache_hits);
    counter!(CACHE_MISSES).absolute(stats.cache_misses);
    counter!(INVALIDATIONS).absolute(stats.cache_invalidations);
    let (open, idle) = domain::db::pool_connections(kw.db());
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    gauge!(POOL, "state" => "in_use").set(f64::from(open.saturating_sub(idle)));
    gauge!(POOL, "state" => "idle").set(f64::from(idle));
    let (open, idle) = domain::db::pool_connections(kw.verification_db());
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    gauge!(VERIFICATION_POOL, "state" => "in_use").set(f64::from(open.saturating_sub(idle)));
    gauge!(VERIFICATION_POOL, "state" => "idle").set(f64::from(idle));
    if let Some((reading, idle)) = kw.verification_connections() {
        gauge!(VERIFICATION_OWN, "state" => "in_use").set(reading as f64);
        gauge!(VERIFICATION_OWN, "state" => "idle").set(idle as f64);
    }
    if let Some(listener) = stats.listener {
        gauge!(LISTENER_UP).set(if listener.up { 1.0 } else { 0.0 });
        // Never heard: as old as can be said, rather than fresh.
        let age = listener
            .last_heard
            .map_or(f64::INFINITY, |d| d.as_secs_f64());
        gauge!(LISTENER_HEARD).set(age);
        let peers = listener.peers;
        for (protocol, count) in [
            ("1", peers.v1),
            ("2", peers.v2),
            ("unconfirmed", peers.unconfirmed),
        ] {
            #[allow(clippy::cast_precision_loss)]
            gauge!(LISTENER_PEERS, "protocol" => protocol).set(count as f64);
        }
        gauge!(LISTENER_SERVING).set(if listener.serving { 1.0 } else { 0.0 });
    }
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_own_counter_and_label() {
        let labels: std::collections::HashSet<_> = Outcome::ALL.iter().map(|o| o.label()).collect();
        assert_eq!(labels.len(), Outcome::ALL.len());
    }

    #[test]
    fn statuses_outside_the_known_set_fall_into_their_class() {
        assert_eq!(status_label(StatusCode::OK), "200");
        assert_eq!(status_label(StatusCode::TOO_MANY_REQUESTS), "429");
        assert_eq!(status_label(StatusCode::IM_A_TEAPOT), "4xx");
        assert_eq!(status_label(StatusCode::BAD_GATEWAY), "5xx");
        assert_eq!(status_label(StatusCode::MOVED_PERMANENTLY), "3xx");
    }
}
