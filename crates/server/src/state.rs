//! What every handler shares: the handle, the schemas, the limits on a
//! request, and the parts that watch and throttle.

use std::sync::Arc;
use std::time::Duration;

use domain::Keywarden;
use graphql::Schemas;

use crate::client::ClientResolver;
use crate::origins::Origins;
use crate::scanning::{CustomPatterns, ScanningKeys};
use crate::telemetry::Telemetry;
use crate::throttle::FailedAuthLimiter;

/// Limits enforced at the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
    /// Most operations in one batched request.
    pub max_batch: usize,
    /// How long one request may run.
    pub request_timeout: Duration,
    /// How long a request's body may take to arrive, from its head.
    pub body_read_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_batch: 10,
            request_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, Debug)]
pub struct AppState {
    pub kw: Keywarden,
    /// Renders the Prometheus metrics; `None` when no recorder is installed.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub schemas: Schemas,
    pub limits: HttpLimits,
    pub throttle: Arc<FailedAuthLimiter>,
    /// Who the client of a request is (trusted proxies).
    pub clients: ClientResolver,
    pub telemetry: Telemetry,
    /// The web origins whose pages may call the API.
    pub origins: Origins,
    /// The keys that sign secret-scanning reports.
    pub scanning: ScanningKeys,
    /// GitHub's webhook of custom secret-scanning patterns.
    pub custom_patterns: CustomPatterns,
}
