//! The HTTP accept loop: connections are a bounded resource. Replaces `axum::serve`,
//! which had no header timeout and no connection cap (issue 30, finding 2):
//! - at most `max` connections open (fitted at start under the open-file limit,
//!   [`crate::net::files`]) and `max_per_ip` per client address (IPv6 by /64;
//!   trusted proxies exempt, as they carry everyone, but counted in the total).
//!   Over a cap a connection is accepted and closed at once, so the listen backlog
//!   never fills with connections nobody will serve;
//! - a request's header must arrive within `header_timeout` of its first byte (of
//!   the connection, for the first request), and a connection with no request in
//!   progress is closed after `idle_timeout` quiet. hyper's own
//!   `header_read_timeout` also starts while a kept-alive connection is idle, so it
//!   cannot tell the two apart: the connection's reads and requests are watched here
//!   ([`Activity`]) instead;
//! - accept errors (EMFILE when files run out after all) back off instead of spinning;
//! - on shutdown the listener closes, idle connections close, and requests in
//!   progress finish (hyper-util's `GracefulShutdown`).
//!
//! Handlers see the peer as `ConnectInfo<SocketAddr>`, IPv4-mapped addresses
//! already as IPv4 ([`crate::net::canonical_peer`]). HTTP/1.1 with keep-alive, as
//! axum's default build serves.

use crate::config::HttpConnections;
use crate::net::conn_limit::{PerAddress, Refusals};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use ipnet::IpNet;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

/// Pause after a failed accept (EMFILE, ENFILE, ENOBUFS...): the failing
/// connection stays in the backlog, so retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

static REFUSALS: Refusals = Refusals::new("http");

/// The caps in force (the total already fitted under the open-file limit).
pub struct Limits {
    pub conn: HttpConnections,
    pub trusted_proxies: Vec<IpNet>,
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in
/// progress finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let total = Arc::new(Semaphore::new(limits.conn.max));
    let per_address = PerAddress::new(limits.conn.max_per_ip);
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Timeouts are ours (see the module's comment); hyper's default one, without a
    // timer, would only warn on every connection.
    builder.keep_alive(true).header_read_timeout(None);
    let builder = Arc::new(builder);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e);
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let peer = crate::net::canonical_peer(peer);
        let Ok(slot) = Arc::clone(&total).try_acquire_owned() else {
            REFUSALS.refused("total");
            drop(stream);
            continue;
        };
        let address = if limits
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer.ip()))
        {
            None
        } else {
            match per_address.try_acquire(peer.ip()) {
                Some(permit) => Some(permit),
                None => {
                    REFUSALS.refused("per_address");
                    drop(stream);
                    continue;
                }
            }
        };
        let activity = Activity::new();
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: Arc::clone(&activity),
        });
        // Each request counts as in progress from its head until its answer is ready
        // and its body is done with (a refused body drained by `linger` included).
        let router = router.clone();
        let watched = Arc::clone(&activity);
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let in_progress = Arc::new(InProgress::begin(Arc::clone(&watched)));
            let body_holds = Arc::clone(&in_progress);
            let mut request = request.map(|body| {
                Body::new(Tracked {
                    inner: body,
                    _in_progress: body_holds,
                })
            });
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await;
                drop(in_progress);
                response
            }
        });
        let connection = graceful.watch(builder.serve_connection(io, service));
        let conn = limits.conn;
        tokio::spawn(async move {
            let _held = Held::new(slot, address);
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "HTTP connection ended with an error");
                    }
                }
                () = activity.expired(conn.header_timeout, conn.idle_timeout) => {
                    tracing::debug!("HTTP connection closed: header or idle timeout");
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

fn accept_failed(e: &io::Error) {
    static LAST: Mutex<Option<std::time::Instant>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
    let now = std::time::Instant::now();
    if last.is_none_or(|at| now.duration_since(at) >= crate::net::conn_limit::REFUSAL_LOG_EVERY) {
        *last = Some(now);
        tracing::warn!(error = %e, "HTTP accept failed; backing off (logged once per 10 s)");
    }
}

/// What a connection holds while open: its place in the total and, unless from a
/// trusted proxy, in its address's share; and the open-connections gauge.
struct Held {
    _slot: OwnedSemaphorePermit,
    _address: Option<crate::net::conn_limit::AddressPermit>,
}

impl Held {
    fn new(
        slot: OwnedSemaphorePermit,
        address: Option<crate::net::conn_limit::AddressPermit>,
    ) -> Self {
        crate::metrics::get().http_connections.inc();
        Self {
            _slot: slot,
            _address: address,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        crate::metrics::get().http_connections.dec();
    }
}

/// What a connection has been doing, for its timeouts.
struct Activity {
    state: Mutex<State>,
    /// Wakes the watchdog when a deadline may have come closer (a request's first
    /// byte) or a request ended.
    changed: Notify,
}

struct State {
    /// Requests whose answer or body is not done with.
    in_progress: usize,
    /// When the first byte of a request still without its head was read (the
    /// connection's start for the first request).
    head_since: Option<Instant>,
    /// The last byte read or written, or the end of the last request.
    last: Instant,
}

impl Activity {
    fn new() -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            state: Mutex::new(State {
                in_progress: 0,
                head_since: Some(now),
                last: now,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self) {
        let mut s = self.state();
        s.last = Instant::now();
        if s.in_progress == 0 && s.head_since.is_none() {
            s.head_since = Some(s.last);
            drop(s);
            self.changed.notify_one();
        }
    }

    fn wrote(&self) {
        self.state().last = Instant::now();
    }

    /// When the connection is to be closed, as things stand (`None`: a request
    /// is in progress, the request's own time limit applies).
    fn deadline(&self, header: Duration, idle: Duration) -> Option<Instant> {
        let s = self.state();
        if s.in_progress > 0 {
            return None;
        }
        Some(match s.head_since {
            Some(since) => since + header,
            None => s.last + idle,
        })
    }

    /// Resolves when the connection has gone past its header or idle timeout.
    async fn expired(&self, header: Duration, idle: Duration) {
        loop {
            let changed = self.changed.notified();
            match self.deadline(header, idle) {
                Some(at) if Instant::now() >= at => return,
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// One request in progress on a connection; dropped when both its answer and its
/// body are done with.
struct InProgress(Arc<Activity>);

impl InProgress {
    fn begin(activity: Arc<Activity>) -> Self {
        {
            let mut s = activity.state();
            s.in_progress += 1;
            s.head_since = None;
        }
        Self(activity)
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        {
            let mut s = self.0.state();
            s.in_progress = s.in_progress.saturating_sub(1);
            s.last = Instant::now();
        }
        self.0.changed.notify_one();
    }
}

/// A request body that keeps its request counted in progress until dropped.
struct Tracked {
    inner: Incoming,
    _in_progress: Arc<InProgress>,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

/// The connection's socket, noting each read and write in its [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
