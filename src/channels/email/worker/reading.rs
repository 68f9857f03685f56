//! Reading a stored message on a thread of its own, off the async workers.
//!
//! [`parse::read`] bounds a message's structure before mail-parser builds it (see
//! `mime_limits`), nesting inside encoded parts included, so the tree it builds is
//! at most a few dozen levels deep. The thread's generous stack is a second line:
//! should a limit ever miss a shape, a deep tree overflows a 64 MiB stack only at
//! hundreds of thousands of levels, which no message under the size limit's few
//! dozen containers can reach. The stack is reserved, not committed: only what the
//! parse touches costs memory.

use crate::channels::email::parse::{self, Envelope, Mail, Unreadable};
use anyhow::Context;

/// The reading thread's stack.
const STACK: usize = 64 * 1024 * 1024;

/// Reads `raw` on a thread of its own; gives the bytes back with what came of them.
pub(super) async fn read(
    raw: Vec<u8>,
    envelope: Option<Envelope>,
    authserv_id: Option<String>,
) -> anyhow::Result<(Vec<u8>, Result<Mail, Unreadable>)> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("buzon-mail-read".into())
        .stack_size(STACK)
        .spawn(move || {
            let read = parse::read(&raw, envelope.as_ref(), authserv_id.as_deref());
            // The receiver is gone only when the worker was stopped.
            let _ = tx.send((raw, read));
        })
        .context("cannot start a thread to read the message")?;
    rx.await
        .map_err(|_| crate::outbox::Poison("reading the message panicked").into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::email::mime_limits::TooComplex;
    use base64::Engine;

    /// The message that crashed the server (about 60 000 nested message parts)
    /// and the same nesting inside a base64 message part are held as too complex,
    /// and the bytes come back for the inbox row to keep.
    #[tokio::test]
    async fn deep_nesting_is_refused_whatever_the_encoding() {
        let level = b"content-type:message/global\n\n";
        let mut inner = b"From: a@example.org\r\n".to_vec();
        for _ in 0..60_000 {
            inner.extend_from_slice(level);
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(&inner);
        let wrapped = format!(
            "From: a@example.org\r\nSubject: x\r\nContent-Type: message/rfc822\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n"
        )
        .into_bytes();
        for raw in [inner, wrapped] {
            let (back, read) = read(raw.clone(), None, None).await.unwrap();
            assert_eq!(back, raw, "the bytes come back");
            assert!(matches!(
                read,
                Err(Unreadable::TooComplex(TooComplex::Containers))
            ));
        }
    }
}
