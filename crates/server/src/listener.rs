//! Serving connections: the accept loop, a cap on open connections, deadlines
//! on every connection, and a graceful stop.
//!
//! A client that sends its request head a byte at a time, or opens a
//! connection and says nothing, or keeps a connection open between requests
//! for ever, would otherwise hold a connection (and a file descriptor) as long
//! as it likes; enough of them and nobody else gets in. So each connection is
//! watched:
//!
//! - from the moment it opens, and from the first byte of each later request,
//!   its request head must arrive whole within the header timeout;
//! - between requests, it may sit idle for the keep-alive timeout, then it is
//!   closed;
//! - while a request runs, neither applies: reading its body has its own
//!   deadline (see `http::read_body`), and running it the request timeout.
//!
//! At most `max_connections` are open at once; past that, new connections wait
//! in the kernel's backlog until one closes.
//!
//! A request costs the watch a few atomic stores and nothing more: one sweeper
//! looks over every open connection a few times a second (a quarter of the
//! shorter timeout, at most a second apart) and closes those past their
//! deadline, so a timeout is kept to within that step.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// The limits on connections, each a setting of `serve` (defaults below).
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// How long a request head may take to arrive, from its first byte (or from
    /// the connection's opening, for the first request).
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request.
    pub keep_alive_timeout: Duration,
    pub max_connections: u32,
    /// After the shutdown signal, how long requests in flight may take to
    /// finish before the connections still open are dropped.
    pub shutdown_grace: Duration,
}

pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_KEEP_ALIVE_TIMEOUT_MS: u64 = 60_000;
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 15_000;

/// What one connection is doing, shared by its reads, its requests and the
/// sweeper.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    /// Requests being answered.
    in_flight: AtomicUsize,
    /// Whether a request head is being read (bytes came, no request yet).
    reading_head: AtomicBool,
    /// When the current wait (for a head, or idle) began, in milliseconds
    /// since `opened`.
    since_ms: AtomicU64,
    /// Told by the sweeper when the connection is past its deadline.
    expired: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            // A new connection owes its first request head.
            reading_head: AtomicBool::new(true),
            since_ms: AtomicU64::new(0),
            expired: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Bytes arrived: on an idle connection, a request head has begun.
    fn read_some(&self) {
        if self.in_flight.load(Ordering::SeqCst) == 0 && !self.reading_head.load(Ordering::Relaxed)
        {
            self.since_ms.store(self.now_ms(), Ordering::SeqCst);
            self.reading_head.store(true, Ordering::SeqCst);
        }
    }

    /// A request head arrived whole: the request runs.
    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.reading_head.store(false, Ordering::SeqCst);
    }

    /// A response is written: with nothing else running, the connection is idle.
    fn request_finished(&self) {
        self.since_ms.store(self.now_ms(), Ordering::SeqCst);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// When the current wait runs out, if the connection is waiting at all.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let allowed = if self.reading_head.load(Ordering::SeqCst) {
            limits.header_read_timeout
        } else {
            limits.keep_alive_timeout
        };
        let since = Duration::from_millis(self.since_ms.load(Ordering::SeqCst));
        Some(self.opened + since + allowed)
    }
}

/// The open connections, for the sweeper.
#[derive(Debug, Default)]
struct Open {
    next: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Activity>>>,
}

impl Open {
    fn add(self: &Arc<Self>, activity: Arc<Activity>) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut open) = self.connections.lock() {
            open.insert(id, activity);
        }
        Registered {
            open: self.clone(),
            id,
        }
    }

    /// Tells every connection past its deadline to close.
    fn sweep(&self, limits: &ConnectionLimits) {
        let now = Instant::now();
        if let Ok(open) = self.connections.lock() {
            for activity in open.values() {
                if activity.deadline(limits).is_some_and(|d| d <= now) {
                    activity.expired.notify_one();
                }
            }
        }
    }
}

/// A connection's place in [`Open`], given up when the connection ends.
struct Registered {
    open: Arc<Open>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.connections.lock() {
            open.remove(&self.id);
        }
    }
}

/// How often the sweeper looks: a quarter of the shorter timeout, between
/// 10 ms and a second.
fn sweep_step(limits: &ConnectionLimits) -> Duration {
    (limits.header_read_timeout.min(limits.keep_alive_timeout) / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Ends the request's share of the connection's activity however its future
/// ends (answered, or dropped with the connection).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The connection's stream, telling its activity when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish and returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stop, stopping) = watch::channel(false);
    let open = Arc::new(Open::default());
    let sweeper = {
        let (open, limits) = (open.clone(), limits.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(sweep_step(&limits));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                open.sweep(&limits);
            }
        })
    };
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before
                    // it was taken: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let activity = Arc::new(Activity::new());
        let registered = open.add(activity.clone());
        tokio::spawn(connection(
            stream,
            remote,
            router.clone(),
            activity,
            limits.clone(),
            stopping.clone(),
            (slot, registered),
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it closes. One that is still open
    // when the grace is over (a request still running, a client not reading
    // its answer) is dropped with the runtime.
    let drained = tokio::time::timeout(
        limits.shutdown_grace,
        slots.acquire_many(limits.max_connections),
    )
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = limits.max_connections as usize - slots.available_permits(),
            grace_ms = limits.shutdown_grace.as_millis() as u64,
            "connections still open after the shutdown grace: closing them"
        );
    }
    sweeper.abort();
}

async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    activity: Arc<Activity>,
    limits: Arc<ConnectionLimits>,
    mut stopping: watch::Receiver<bool>,
    _held: (OwnedSemaphorePermit, Registered),
) {
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        requests.request_started();
        let in_flight = InFlight(requests.clone());
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(remote));
        let answered = router.clone().oneshot(request);
        async move {
            let response = answered.await;
            drop(in_flight);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopped = *stopping.borrow();
    if stopped {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, peer = %remote, "connection ended with an error");
                }
                return;
            }
            () = activity.expired.notified() => {
                // Looked at again: a request may have begun since the sweep.
                if activity.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    // No request runs: dropping the connection closes it.
                    tracing::debug!(peer = %remote, "closing a connection that sent no request in time");
                    return;
                }
            }
            changed = stopping.changed(), if !stopped => {
                stopped = true;
                let _: Result<(), _> = changed;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
