//! The e-mail channel's outbox sender: an outbox row as a MIME message (lettre),
//! delivered through the configured relay.

use super::*;

/// Sends outbox rows of the e-mail channel through the relay.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpSender {
    pub fn new(relay_url: &str, from: lettre::message::Mailbox) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(relay_url)
            .context("smtp_relay_url / BUZON_SMTP_RELAY_URL is not a usable SMTP URL")?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Self { transport, from })
    }

    fn message(&self, p: &Outgoing) -> anyhow::Result<lettre::Message> {
        compose(&self.from, p)
    }
}

/// The e-mail an outbox row describes, from our address.
pub(crate) fn compose(
    from: &lettre::message::Mailbox,
    p: &Outgoing,
) -> anyhow::Result<lettre::Message> {
    let raw = |name: &'static str, value: String| {
        HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
    };
    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .to(p.to.parse().context("recipient is not an address")?)
        .subject(p.subject.clone())
        .message_id(Some(format!("<{}>", p.message_id)))
        // RFC 3834: an automatic reply; well-behaved systems answer it with nothing.
        .raw_header(raw("Auto-Submitted", "auto-replied".into()))
        .raw_header(raw("X-Auto-Response-Suppress", "All".into()))
        .raw_header(raw("Content-Language", p.language.clone()));
    if let Some(reply_to) = &p.reply_to {
        builder = builder.reply_to(reply_to.parse().context("reply-to is not an address")?);
    }
    if let Some(in_reply_to) = &p.in_reply_to {
        builder = builder.in_reply_to(format!("<{in_reply_to}>"));
    }
    if !p.references.is_empty() {
        let refs: Vec<String> = p.references.iter().map(|r| format!("<{r}>")).collect();
        builder = builder.references(refs.join(" "));
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(p.body.clone())
        .context("cannot build message")
}

/// An e-mail in the outbox (encrypted there).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Without angle brackets.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub reply_to: Option<String>,
    pub language: String,
}

impl outbox::Sender for SmtpSender {
    async fn deliver(&self, payload: serde_json::Value) -> Attempt {
        let Ok(outgoing) = serde_json::from_value::<Outgoing>(payload) else {
            return Attempt::Permanent("payload unreadable".into());
        };
        let message = match self.message(&outgoing) {
            Ok(m) => m,
            Err(e) => return Attempt::Permanent(format!("{e}")),
        };
        match self.transport.send(message).await {
            Ok(_) => Attempt::Sent(None),
            // The relay's words may quote the address: only the code is kept.
            Err(e) if e.is_permanent() => Attempt::Permanent(format!(
                "relay refused ({})",
                e.status().map_or(0, u16::from)
            )),
            Err(e) => Attempt::Retry(match e.status() {
                Some(code) => format!("relay deferred ({})", u16::from(code)),
                None if e.is_timeout() => "relay timed out".into(),
                None => "relay unreachable".into(),
            }),
        }
    }
}
