use super::Options;
use crate::smtp_sink::SmtpSink;
use std::time::Duration;

pub const INTAKE: &str = "quejas@buzon.test";

/// The channel's settings: SMTP on a random port, acknowledgements to `sink`.
pub fn options(options: Options, sink: &SmtpSink) -> Options {
    options
        .env("BUZON_SMTP_ADDR", "127.0.0.1:0")
        .env("BUZON_EMAIL_INTAKE_ADDRESSES", INTAKE)
        .env("BUZON_SMTP_RELAY_URL", &sink.url())
        .env("BUZON_EMAIL_FROM", &format!("Buzón <{INTAKE}>"))
}

/// A plain complaint from `from` with this Message-ID.
pub fn complaint(from: &str, message_id: &str, body: &str) -> lettre::Message {
    lettre::Message::builder()
        .from(from.parse().expect("sender address"))
        .to(INTAKE.parse().expect("intake address"))
        .subject("Despidos en la planta")
        .message_id(Some(format!("<{message_id}>")))
        .body(body.to_owned())
        .expect("message")
}

/// Submits a message over SMTP (a connection of its own); Ok only for a 250.
pub async fn submit(
    smtp: std::net::SocketAddr,
    message: lettre::Message,
) -> Result<(), lettre::transport::smtp::Error> {
    use lettre::AsyncTransport;
    let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(
        smtp.ip().to_string(),
    )
    .port(smtp.port())
    .timeout(Some(Duration::from_secs(20)))
    .build();
    transport.send(message).await.map(|_| ())
}
