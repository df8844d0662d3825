//! Where the request being served came from: the client's address and the
//! request's id, kept with every audit event the request writes.
//!
//! A transport sets it once around the whole request ([`Origin::within`]),
//! because the request's client is the transport's to know (behind trusted
//! proxies it is not the connection's peer) and every change made while
//! serving the request belongs to it. A change made outside a request (the
//! first start, `keywarden bootstrap`, the domain's own tests) has none.

use std::future::Future;
use std::net::IpAddr;

tokio::task_local! {
    static ORIGIN: Origin;
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub client: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl Origin {
    /// Runs `serve` with this origin as the origin of every change it makes.
    pub async fn within<F: Future>(self, serve: F) -> F::Output {
        ORIGIN.scope(self, serve).await
    }

    /// The origin of the request being served, if any.
    pub(crate) fn current() -> Origin {
        ORIGIN.try_with(Clone::clone).unwrap_or_default()
    }
}
