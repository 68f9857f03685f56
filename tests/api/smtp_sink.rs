//! An SMTP server started by the tests: the relay Buzón sends acknowledgements to.
//! It speaks enough ESMTP for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT),
//! records every message it accepts, and can be told to refuse the next ones with a
//! temporary (451) or permanent (550) error at the end of DATA.

use smtp_proto::Request;
use smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Debug)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    /// A header's value (unfolded), parsed by mail-parser.
    pub fn header(&self, name: &str) -> Option<String> {
        let msg = mail_parser::MessageParser::new().parse(&self.data)?;
        msg.header_raw(name)
            .map(|v| v.replace("\r\n", "").trim().to_owned())
    }

    pub fn subject(&self) -> String {
        mail_parser::MessageParser::new()
            .parse(&self.data)
            .and_then(|m| m.subject().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn body(&self) -> String {
        mail_parser::MessageParser::new()
            .parse(&self.data)
            .and_then(|m| m.body_text(0).map(|b| b.into_owned()))
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    refuse_next: Vec<u16>,
    /// Count only, keep nothing (the benchmark's bare SMTP server).
    discard: bool,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// A sink that answers like [`SmtpSink::start`] but keeps nothing.
    #[allow(dead_code)]
    pub async fn discarding() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(discard: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared {
            discard,
            ..Shared::default()
        }));
        let state = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, Arc::clone(&state)));
            }
        });
        Self { port, shared }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next `codes.len()` messages are refused at the end of DATA with these codes.
    pub fn refuse_next(&self, codes: &[u16]) {
        self.shared.lock().unwrap().refuse_next = codes.to_vec();
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// Waits until at least `n` messages arrived; all of them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..300 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} messages at the SMTP sink, got {}",
            self.received().len()
        );
    }
}

async fn session(mut stream: tokio::net::TcpStream, shared: Arc<Mutex<Shared>>) {
    // As a real server does: replies are not held back waiting for the client's ACK.
    let _ = stream.set_nodelay(true);
    let _ = stream.write_all(b"220 sink.test ESMTP\r\n").await;
    let mut requests = RequestReceiver::default();
    let mut data: Option<(DataReceiver, Vec<u8>)> = None;
    let (mut from, mut rcpts) = (String::new(), Vec::new());
    let mut chunk = vec![0u8; 8192];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        let mut bytes = chunk[..n].iter();
        let mut out = Vec::new();
        loop {
            if let Some((receiver, buf)) = data.as_mut() {
                if !receiver.ingest(&mut bytes, buf) {
                    break;
                }
                let buf = std::mem::take(buf);
                data = None;
                let mut s = shared.lock().unwrap();
                if s.discard {
                    out.extend(b"250 2.0.0 OK\r\n");
                } else if s.refuse_next.is_empty() {
                    s.received.push(Received {
                        mail_from: std::mem::take(&mut from),
                        rcpt_to: std::mem::take(&mut rcpts),
                        data: buf,
                    });
                    out.extend(b"250 2.0.0 OK\r\n");
                } else {
                    let code = s.refuse_next.remove(0);
                    out.extend(
                        format!("{code} {}.0.0 refused by the test\r\n", code / 100).as_bytes(),
                    );
                }
                continue;
            }
            if bytes.as_slice().is_empty() {
                break;
            }
            match requests.ingest(&mut bytes) {
                Ok(request) => match request.into_owned() {
                    Request::Ehlo { .. } => {
                        out.extend(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    }
                    Request::Mail { from: f } => {
                        from = f.address;
                        out.extend(b"250 OK\r\n");
                    }
                    Request::Rcpt { to } => {
                        rcpts.push(to.address);
                        out.extend(b"250 OK\r\n");
                    }
                    Request::Data => {
                        data = Some((DataReceiver::new(), Vec::new()));
                        out.extend(b"354 go on\r\n");
                    }
                    Request::Quit => {
                        let _ = stream.write_all(&out).await;
                        let _ = stream.write_all(b"221 bye\r\n").await;
                        return;
                    }
                    _ => out.extend(b"250 OK\r\n"),
                },
                Err(smtp_proto::Error::NeedsMoreData { .. }) => break,
                Err(_) => out.extend(b"500 what\r\n"),
            }
        }
        if !out.is_empty() && stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// Reads one SMTP reply, all its lines (the last has a space after the code).
pub async fn read_reply(read: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    try_read_reply(read).await.expect("a reply in time")
}

/// [`read_reply`], or the I/O failure or 20 s of silence that ended it (an empty
/// reply: the connection was closed).
pub async fn try_read_reply(
    read: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<String> {
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(20), read.read_line(&mut line))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no reply in 20 s"))??;
        reply.push_str(&line);
        if n == 0 || line.as_bytes().get(3) != Some(&b'-') {
            return Ok(reply);
        }
    }
}
