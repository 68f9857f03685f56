//! Lingering close: a request refused before its body was read (413, 429, 404, a
//! handler's early error) still has the rest of its body on the wire. Closing the
//! connection then makes the kernel answer the unread bytes with a reset, and a
//! client that sends its whole body before reading (Python's `urllib`, many mobile
//! HTTP stacks) sees a broken pipe instead of the answer. So every request body is
//! wrapped: when the handler drops it unfinished, the rest is read and discarded in
//! the background while the answer goes out, up to [`LINGER_BYTES`] and
//! [`LINGER_TIME`] (with [`LINGER_IDLE`] between chunks), nginx's defaults for its
//! `lingering_close`. Beyond the bound the body is dropped and hyper closes the
//! connection, as before.
//!
//! A client that asked `Expect: 100-continue` and was never told to continue has
//! sent no body, so nothing is read on its behalf (reading would invite it to send).

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The most bytes read and discarded after a refusal.
pub const LINGER_BYTES: usize = 16 * 1024 * 1024;
/// The longest a refused body is read for.
pub const LINGER_TIME: Duration = Duration::from_secs(30);
/// The longest wait for the next chunk of a refused body.
pub const LINGER_IDLE: Duration = Duration::from_secs(5);

/// Wraps every request's body so that an unfinished one lingers when dropped.
pub async fn linger(request: Request, next: Next) -> Response {
    let expects_continue = request
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let request = request.map(|body| {
        Body::new(Lingering {
            inner: Some(body),
            finished: false,
            polled: false,
            expects_continue,
        })
    });
    next.run(request).await
}

struct Lingering {
    inner: Option<Body>,
    finished: bool,
    /// Whether anyone read from the body (for `Expect: 100-continue`, whether the
    /// client was told to send it).
    polled: bool,
    expects_continue: bool,
}

impl http_body::Body for Lingering {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        this.polled = true;
        let Some(body) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = Pin::new(body).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            this.finished = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.finished
            || self
                .inner
                .as_ref()
                .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if self.finished
            || http_body::Body::is_end_stream(&body)
            || (self.expects_continue && !self.polled)
        {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(discard(body));
        }
    }
}

/// Reads and throws away what is left of a refused body, within the bounds.
async fn discard(body: Body) {
    let deadline = tokio::time::Instant::now() + LINGER_TIME;
    let mut left = LINGER_BYTES;
    let mut chunks = body.into_data_stream();
    loop {
        let wait = deadline.min(tokio::time::Instant::now() + LINGER_IDLE);
        match tokio::time::timeout_at(wait, chunks.next()).await {
            Ok(Some(Ok(chunk))) if chunk.len() < left => left -= chunk.len(),
            // Over the bound, too slow, finished or broken: let hyper close.
            _ => return,
        }
    }
}
