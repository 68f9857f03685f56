//! The inbound SMTP listener. Commands are parsed by `smtp-proto` (Stalwart's parser);
//! the session is ours, on tokio:
//! - only the configured intake addresses (and their `+tag` forms) are accepted;
//!   anything else is refused at RCPT with 550 (no relaying);
//! - the size limit is announced in EHLO (`SIZE`), refused at MAIL when declared too
//!   large, and at the end of DATA (552) when the message grows past it;
//! - STARTTLS is offered when a certificate is configured;
//! - per-client-IP and per-sender-address limits (450/421), a cap on sessions at
//!   once and on sessions at once from one client address (IPv6 by /64, shared
//!   with the HTTP server: [`crate::net::conn_limit`]), idle timeouts;
//! - commands with a bare CR and addresses with control characters are refused
//!   (501), and a quoted local part holding an address of ours
//!   (`"quejas@buzon.test"@evil.test`) is not ours (550);
//! - the message is committed to the database before the final `250`; if that fails
//!   the answer is `451` and the sending server keeps it and retries;
//! - on shutdown, sessions waiting for a command get `421` and the listener stops;
//!   a message in the middle of DATA is finished first.
//!
//! Replies never echo addresses or content.

use super::parse::Envelope;
use super::{Email, Stored};
use crate::crypto::KeyRing;
use crate::db::group::GroupCommit;
use crate::net::conn_limit::{PerAddress, Refusals};
use anyhow::Context;
use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver, RequestReceiver};
use smtp_proto::{EhloResponse, Error as ProtoError, Request};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Longest wait for the next command or the next piece of DATA (RFC 5321 §4.5.3.2
/// suggests minutes; one is enough for our clients and frees sessions faster).
const IDLE: Duration = Duration::from_secs(120);
/// Most recipients per message, and bad commands per session before we hang up.
const MAX_RECIPIENTS: usize = 50;
const MAX_ERRORS: u32 = 10;
/// A session ends after this many commands or this long, whatever it does: a
/// client that never reads its replies, or sends NOOP forever, does not keep a
/// session slot.
const MAX_COMMANDS: u32 = 10_000;
const MAX_SESSION: Duration = Duration::from_secs(30 * 60);

/// Writes a reply; a client that does not read it within [`IDLE`] is dropped.
async fn send<S: AsyncWrite + Unpin>(io: &mut S, bytes: &[u8]) -> std::io::Result<()> {
    tokio::time::timeout(IDLE, async {
        io.write_all(bytes).await?;
        io.flush().await
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client does not read"))?
}

/// Everything a session needs.
pub struct Listener {
    pub email: Arc<Email>,
    /// Where messages are committed, with those of other sessions ending together.
    pub deliveries: GroupCommit,
    pub keys: Arc<KeyRing>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    sessions: Arc<tokio::sync::Semaphore>,
    per_address: Arc<PerAddress>,
}

static REFUSALS: Refusals = Refusals::new("smtp");

impl Listener {
    pub fn new(
        email: Arc<Email>,
        deliveries: GroupCommit,
        keys: Arc<KeyRing>,
    ) -> anyhow::Result<Self> {
        let tls = match &email.settings.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None => None,
        };
        let sessions = Arc::new(tokio::sync::Semaphore::new(
            usize::try_from(email.settings.max_connections).unwrap_or(100),
        ));
        let per_address =
            PerAddress::new(usize::try_from(email.settings.max_connections_per_ip).unwrap_or(10));
        Ok(Self {
            email,
            deliveries,
            keys,
            tls,
            sessions,
            per_address,
        })
    }

    /// Accepts connections until `shutdown` turns true; then waits (briefly) for
    /// the sessions in progress.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let this = Arc::clone(&self);
                        let stop = shutdown.clone();
                        tasks.spawn(async move { this.connection(stream, peer, stop).await });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "SMTP accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = shutdown.changed() => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(listener);
        // Sessions waiting for a command close at once; one in DATA finishes first.
        let _ =
            tokio::time::timeout(IDLE, async { while tasks.join_next().await.is_some() {} }).await;
        tasks.abort_all();
    }

    async fn connection(
        &self,
        mut stream: TcpStream,
        peer: SocketAddr,
        stop: watch::Receiver<bool>,
    ) {
        let _ = stream.set_nodelay(true);
        let peer = crate::net::canonical_peer(peer);
        // Per address first: an address over its share takes no place in the total.
        let Some(_address) = self.per_address.try_acquire(peer.ip()) else {
            REFUSALS.refused("per_address");
            let _ = send(
                &mut stream,
                b"421 4.7.0 Too many connections from your address, try again later\r\n",
            )
            .await;
            return;
        };
        let Ok(_permit) = Arc::clone(&self.sessions).try_acquire_owned() else {
            REFUSALS.refused("total");
            let _ = send(
                &mut stream,
                b"421 4.3.2 Too many connections, try again later\r\n",
            )
            .await;
            return;
        };
        if !self.email.ip_allowed(peer.ip()).await {
            let _ = send(
                &mut stream,
                b"421 4.7.0 Too many messages from your address, try again later\r\n",
            )
            .await;
            return;
        }
        let mut session = Session::new(peer.ip());
        let greeting = format!("220 {} ESMTP Buzon\r\n", self.email.settings.hostname);
        if send(&mut stream, greeting.as_bytes()).await.is_err() {
            return;
        }
        let end = self.run(&mut stream, &mut session, stop.clone()).await;
        if let Ok(End::StartTls) = end
            && let Some(acceptor) = &self.tls
        {
            match tokio::time::timeout(IDLE, acceptor.accept(stream)).await {
                Ok(Ok(mut tls)) => {
                    session = Session::new(peer.ip());
                    session.secured = true;
                    let _ = self.run(&mut tls, &mut session, stop).await;
                    let _ = tls.shutdown().await;
                }
                _ => tracing::info!("SMTP TLS handshake failed"),
            }
        }
    }

    /// Runs commands until the client quits, we hang up, or STARTTLS.
    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: &mut S,
        s: &mut Session,
        mut stop: watch::Receiver<bool>,
    ) -> std::io::Result<End> {
        let mut requests = RequestReceiver::default();
        let mut chunk = vec![0u8; 16 * 1024];
        let mut data: Option<Data> = None;
        // After a line over smtp-proto's 4096 bytes: the rest of it is skipped, not
        // read as commands.
        let mut skipping = false;
        // The command being read, as it came.
        let mut line: Vec<u8> = Vec::new();
        let started = tokio::time::Instant::now();
        loop {
            if started.elapsed() > MAX_SESSION || s.commands > MAX_COMMANDS {
                send(io, b"421 4.7.0 Session too long, closing\r\n").await?;
                return Ok(End::Closed);
            }
            let read = tokio::select! {
                read = tokio::time::timeout(IDLE, io.read(&mut chunk)) => read,
                _ = stop.changed(), if data.is_none() => {
                    send(io, b"421 4.3.2 Service shutting down, try again later\r\n").await?;
                    return Ok(End::Closed);
                }
            };
            let n = match read {
                Err(_) => {
                    send(io, b"421 4.4.2 Idle for too long, closing\r\n").await?;
                    return Ok(End::Closed);
                }
                Ok(Ok(0)) => return Ok(End::Closed),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(e),
            };
            let mut bytes = chunk[..n].iter();
            let mut out = Vec::new();
            loop {
                if let Some(d) = data.as_mut() {
                    if !d.ingest(&mut bytes, self.email.settings.max_bytes) {
                        break;
                    }
                    let finished = data.take();
                    if let Some(finished) = finished {
                        out.extend(self.finish_data(s, finished).await.as_bytes());
                    }
                    continue;
                }
                if skipping {
                    let rest = bytes.as_slice();
                    match rest.iter().position(|b| *b == b'\n') {
                        Some(at) => {
                            bytes = rest[at + 1..].iter();
                            skipping = false;
                        }
                        None => break,
                    }
                }
                if bytes.as_slice().is_empty() {
                    break;
                }
                let before = bytes.as_slice();
                let parsed = requests.ingest(&mut bytes);
                let consumed = &before[..before.len() - bytes.as_slice().len()];
                // The command's raw bytes, for what smtp-proto drops silently (a
                // bare CR inside an address). Its lines stop at 4096 bytes.
                if line.len() < 4100 {
                    line.extend_from_slice(&consumed[..consumed.len().min(4100 - line.len())]);
                }
                let bare_cr =
                    !matches!(parsed, Err(ProtoError::NeedsMoreData { .. })) && has_bare_cr(&line);
                if !matches!(parsed, Err(ProtoError::NeedsMoreData { .. })) {
                    line.clear();
                }
                match parsed {
                    Ok(request) => {
                        s.commands += 1;
                        let request = request.into_owned();
                        let step = if bare_cr {
                            Step::reply(bare_cr_refusal(&request))
                        } else {
                            self.command(s, request).await
                        };
                        out.extend(step.reply.as_bytes());
                        match step.next {
                            Next::Continue => {}
                            Next::Data => data = Some(Data::new()),
                            Next::Close => {
                                send(io, &out).await?;
                                return Ok(End::Closed);
                            }
                            Next::StartTls => {
                                // Whatever the client pipelined after STARTTLS is
                                // dropped unread (RFC 3207 §4.2: no command injection).
                                send(io, &out).await?;
                                return Ok(End::StartTls);
                            }
                        }
                    }
                    Err(ProtoError::NeedsMoreData { .. }) => break,
                    Err(e) => {
                        s.errors += 1;
                        skipping = matches!(e, ProtoError::ResponseTooLong);
                        out.extend(protocol_error(&e).as_bytes());
                        if s.errors >= MAX_ERRORS {
                            out.extend(b"421 4.7.0 Too many errors, closing\r\n");
                            send(io, &out).await?;
                            return Ok(End::Closed);
                        }
                    }
                }
            }
            if !out.is_empty() {
                send(io, &out).await?;
            }
        }
    }

    async fn command(&self, s: &mut Session, request: Request<String>) -> Step {
        let settings = &self.email.settings;
        match request {
            Request::Ehlo { host } => {
                s.helo = Some(host);
                s.reset();
                let mut ehlo = EhloResponse::new(settings.hostname.as_str());
                ehlo.capabilities = smtp_proto::EXT_8BIT_MIME
                    | smtp_proto::EXT_ENHANCED_STATUS_CODES
                    | smtp_proto::EXT_PIPELINING
                    | smtp_proto::EXT_SIZE
                    | smtp_proto::EXT_SMTP_UTF8;
                if self.tls.is_some() && !s.secured {
                    ehlo.capabilities |= smtp_proto::EXT_START_TLS;
                }
                ehlo.size = settings.max_bytes;
                let mut reply = Vec::new();
                let _ = ehlo.write(&mut reply);
                Step::reply(String::from_utf8_lossy(&reply).into_owned())
            }
            Request::Helo { host } | Request::Lhlo { host } => {
                s.helo = Some(host);
                s.reset();
                Step::reply(format!("250 {}\r\n", settings.hostname))
            }
            Request::StartTls if self.tls.is_some() && !s.secured => Step {
                reply: "220 2.0.0 Ready to start TLS\r\n".into(),
                next: Next::StartTls,
            },
            Request::StartTls => Step::reply("502 5.5.1 STARTTLS not available\r\n"),
            Request::Mail { from } => {
                if s.helo.is_none() {
                    return Step::reply("503 5.5.1 Say EHLO first\r\n");
                }
                if s.mail_from.is_some() {
                    return Step::reply("503 5.5.1 Sender already given\r\n");
                }
                if from.size > settings.max_bytes {
                    return Step::reply(format!(
                        "552 5.3.4 Message too big: the limit is {} bytes\r\n",
                        settings.max_bytes
                    ));
                }
                if has_control(&from.address) {
                    return Step::reply("501 5.1.7 Bad sender address syntax\r\n");
                }
                let address = from.address.trim().to_lowercase();
                if !self.email.ip_allowed(s.peer).await {
                    return Step::reply(
                        "450 4.7.1 Too many messages from your address, try again later\r\n",
                    );
                }
                if !self
                    .email
                    .sender_allowed(&super::sender_key(&self.keys, &address))
                    .await
                {
                    return Step::reply(
                        "450 4.7.1 Too many messages from this sender, try again later\r\n",
                    );
                }
                s.mail_from = Some(address);
                Step::reply("250 2.1.0 Sender OK\r\n")
            }
            Request::Rcpt { to } => {
                if s.mail_from.is_none() {
                    return Step::reply("503 5.5.1 Give MAIL FROM first\r\n");
                }
                if s.rcpt_to.len() >= MAX_RECIPIENTS {
                    return Step::reply("452 4.5.3 Too many recipients\r\n");
                }
                if has_control(&to.address) {
                    return Step::reply("501 5.1.3 Bad recipient address syntax\r\n");
                }
                if !self.email.is_intake_address(&to.address) {
                    return Step::reply("550 5.1.1 No such mailbox here (we do not relay)\r\n");
                }
                s.rcpt_to.push(to.address.trim().to_lowercase());
                Step::reply("250 2.1.5 Recipient OK\r\n")
            }
            Request::Data => {
                if s.mail_from.is_none() {
                    Step::reply("503 5.5.1 Give MAIL FROM first\r\n")
                } else if s.rcpt_to.is_empty() {
                    Step::reply("554 5.5.1 No valid recipients\r\n")
                } else {
                    Step {
                        reply: "354 Start mail input; end with <CRLF>.<CRLF>\r\n".into(),
                        next: Next::Data,
                    }
                }
            }
            Request::Bdat { .. } => Step::reply("502 5.5.1 CHUNKING not offered: use DATA\r\n"),
            Request::Rset => {
                s.reset();
                Step::reply("250 2.0.0 OK\r\n")
            }
            Request::Noop { .. } => Step::reply("250 2.0.0 OK\r\n"),
            Request::Quit => Step {
                reply: "221 2.0.0 Bye\r\n".into(),
                next: Next::Close,
            },
            Request::Vrfy { .. } => Step::reply("252 2.1.5 Cannot verify, but will accept\r\n"),
            Request::Help { .. } => Step::reply("214 2.0.0 See RFC 5321\r\n"),
            Request::Auth { .. } => Step::reply("502 5.5.1 AUTH not offered\r\n"),
            Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => Step::reply("502 5.5.1 Command not implemented\r\n"),
        }
    }

    /// The end of DATA: refuse what is over the limit, otherwise commit, then answer.
    async fn finish_data(&self, s: &mut Session, data: Data) -> String {
        let envelope = Envelope {
            mail_from: s.mail_from.take().unwrap_or_default(),
            rcpt_to: std::mem::take(&mut s.rcpt_to),
        };
        if data.oversized {
            tracing::info!("SMTP message refused: over the size limit");
            return format!(
                "552 5.3.4 Message too big: the limit is {} bytes\r\n",
                self.email.settings.max_bytes
            );
        }
        match super::store(
            &self.deliveries,
            &self.keys,
            "smtp",
            &data.buf,
            Some(&envelope),
        )
        .await
        {
            Ok(Stored::New(id)) => {
                tracing::info!(inbox_id = %id, bytes = data.buf.len(), "e-mail received by SMTP");
                self.email.inbox_notify.notify_one();
                format!("250 2.0.0 Queued as {}\r\n", id.simple())
            }
            Ok(Stored::Duplicate) => {
                tracing::info!("e-mail received by SMTP again: already stored");
                "250 2.0.0 Already received\r\n".into()
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot store e-mail; sender told to retry");
                "451 4.3.0 Temporary failure, please try again later\r\n".into()
            }
        }
    }
}

/// The transaction state of one SMTP session.
struct Session {
    peer: IpAddr,
    helo: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    secured: bool,
    errors: u32,
    commands: u32,
}

impl Session {
    fn new(peer: IpAddr) -> Self {
        Self {
            peer,
            helo: None,
            mail_from: None,
            rcpt_to: Vec::new(),
            secured: false,
            errors: 0,
            commands: 0,
        }
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }
}

/// A message being received; past the limit the rest is read and discarded.
struct Data {
    receiver: DataReceiver,
    discard: Option<DummyDataReceiver>,
    buf: Vec<u8>,
    oversized: bool,
}

impl Data {
    fn new() -> Self {
        // The receiver looks for `<CRLF>.`; the CRLF that ended the DATA command
        // counts, so an empty message (`.` at once) or a dot-stuffed first line is
        // read right.
        let mut receiver = DataReceiver::new();
        let mut buf = Vec::new();
        receiver.ingest(&mut b"\r\n".iter(), &mut buf);
        buf.clear();
        Self {
            receiver,
            discard: None,
            buf,
            oversized: false,
        }
    }

    /// True when the end of data (`<CRLF>.<CRLF>`) was reached.
    fn ingest(&mut self, bytes: &mut std::slice::Iter<'_, u8>, max: usize) -> bool {
        if let Some(discard) = self.discard.as_mut() {
            return discard.ingest(bytes);
        }
        let done = self.receiver.ingest(bytes, &mut self.buf);
        if !done && self.buf.len() > max {
            self.oversized = true;
            self.buf = Vec::new();
            let mut discard = DummyDataReceiver::new_data(&self.receiver);
            let done = discard.ingest(bytes);
            self.discard = Some(discard);
            return done;
        }
        if done && self.buf.len() > max {
            self.oversized = true;
            self.buf = Vec::new();
        }
        done
    }
}

enum Next {
    Continue,
    Data,
    Close,
    StartTls,
}

struct Step {
    reply: String,
    next: Next,
}

impl Step {
    fn reply(text: impl Into<String>) -> Self {
        Self {
            reply: text.into(),
            next: Next::Continue,
        }
    }
}

enum End {
    Closed,
    StartTls,
}

/// True when an address holds a control character: a bare CR or LF (which
/// smtp-proto lets through inside an address) or any other.
fn has_control(address: &str) -> bool {
    address.chars().any(char::is_control)
}

/// True when a command line holds a CR that is not the one ending it: smtp-proto
/// drops such a CR, so `MAIL FROM:<a\rb@x>` would be read as `ab@x`. (A bare LF
/// ends the line for smtp-proto, so the address it was in is refused as broken.)
fn has_bare_cr(line: &[u8]) -> bool {
    line.iter()
        .enumerate()
        .any(|(i, b)| *b == b'\r' && line.get(i + 1) != Some(&b'\n'))
}

/// The refusal of a command that held a bare CR.
fn bare_cr_refusal(request: &Request<String>) -> &'static str {
    match request {
        Request::Mail { .. } => "501 5.1.7 Bad sender address syntax\r\n",
        Request::Rcpt { .. } => "501 5.1.3 Bad recipient address syntax\r\n",
        _ => "501 5.5.2 Syntax error: bare CR\r\n",
    }
}

fn protocol_error(e: &ProtoError) -> String {
    match e {
        ProtoError::UnknownCommand => "500 5.5.2 Command not recognized\r\n".into(),
        ProtoError::InvalidSenderAddress => "501 5.1.7 Bad sender address syntax\r\n".into(),
        ProtoError::InvalidRecipientAddress => "501 5.1.3 Bad recipient address syntax\r\n".into(),
        ProtoError::SyntaxError { syntax } => format!("501 5.5.4 Syntax: {syntax}\r\n"),
        ProtoError::InvalidParameter { param } => {
            format!("501 5.5.4 Invalid parameter {param}\r\n")
        }
        ProtoError::UnsupportedParameter { .. } => "555 5.5.4 Unsupported parameter\r\n".into(),
        ProtoError::ResponseTooLong => "500 5.5.6 Line too long\r\n".into(),
        _ => "500 5.5.2 Syntax error\r\n".into(),
    }
}

fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .with_context(|| {
            format!(
                "cannot read the STARTTLS certificate {} (BUZON_SMTP_TLS_CERT)",
                cert.display()
            )
        })?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "cannot read the STARTTLS private key {} (BUZON_SMTP_TLS_KEY)",
            key.display()
        )
    })?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("cannot set up TLS")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("the STARTTLS certificate and key do not match or are not usable")?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cr_is_bare_unless_it_ends_the_line() {
        assert!(!has_bare_cr(b"MAIL FROM:<a@x.test>\r\n"));
        assert!(has_bare_cr(b"MAIL FROM:<a\rb@x.test>\r\n"));
        assert!(has_bare_cr(b"RCPT TO:<quejas@buzon.test\r>\r\n"));
        assert!(!has_bare_cr(b"MAIL FROM:<a@x.test>\n"));
    }
}
