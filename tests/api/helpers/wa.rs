use super::Options;
use crate::graph_stub::{self, GraphStub};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

/// An anonymous complaint in Spanish, message by message: whether it is a tap (on
/// a button or list row) or text, what is sent, and a text the answer contains.
/// The last message files the complaint.
pub const CONVERSATION: &[(bool, &str, &str)] = &[
    (false, "Hola", "[consent:yes]"),
    (true, "consent:yes", "[anon:yes]"),
    (true, "anon:yes", "¿En qué estado"),
    (false, "Chihuahua", "¿Cómo se llama la empresa"),
    (false, "Maquila del Desierto", "[city:skip]"),
    (true, "city:skip", "[sector:automotive]"),
    (true, "sector:electronics", "[viol:union_interference]"),
    (true, "viol:excessive_hours", "[viol:done]"),
    (true, "viol:done", "[trade:yes]"),
    (true, "trade:no", "Cuéntenos qué pasó"),
    (false, "Turnos de doce horas.", "[evidence:done]"),
    (true, "evidence:done", "[confirm:send]"),
    (true, "confirm:send", "Recibimos su queja"),
];

/// The channel's settings, replies going to `stub` (which learns from deliveries
/// signed with `secret` who wrote, to keep Meta's 24-hour window).
pub fn options(options: Options, stub: &GraphStub, secret: &str, verify_token: &str) -> Options {
    stub.link_secret(secret);
    options
        .env("BUZON_WHATSAPP_APP_SECRET", secret)
        .env("BUZON_WHATSAPP_VERIFY_TOKEN", verify_token)
        .env("BUZON_WHATSAPP_ACCESS_TOKEN", &stub.token)
        .env(
            "BUZON_WHATSAPP_PHONE_NUMBER_ID",
            graph_stub::PHONE_NUMBER_ID,
        )
        .env("BUZON_WHATSAPP_API_BASE", &stub.base)
        .env("BUZON_WHATSAPP_API_VERSION", graph_stub::VERSION)
}

/// Meta's envelope around messages (and statuses) of one delivery.
pub fn envelope(messages: Vec<Value>, statuses: Vec<Value>) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": graph_stub::PHONE_NUMBER_ID},
    });
    if let Some(from) = messages.first().and_then(|m| m["from"].as_str()) {
        value["contacts"] = json!([{"profile": {"name": "Perfil De WhatsApp"}, "wa_id": from}]);
    }
    if !messages.is_empty() {
        value["messages"] = Value::Array(messages);
    }
    if !statuses.is_empty() {
        value["statuses"] = Value::Array(statuses);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]
    })
}

/// `X-Hub-Signature-256` of a body. Every signed delivery is about to reach the
/// server: the stand-in linked to `secret` notes who wrote.
pub fn sign(secret: &str, body: &[u8]) -> String {
    graph_stub::delivered(secret, body);
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!(
        "sha256={}",
        buzon::crypto::hex(&mac.finalize().into_bytes())
    )
}

/// A message with its id (WhatsApp's ids embed the sender's number).
pub fn message(from: &str, id: &str, kind: &str) -> Value {
    json!({"from": from, "id": id, "timestamp": "1764300000", "type": kind})
}

pub fn text(from: &str, id: &str, body: &str) -> Value {
    let mut m = message(from, id, "text");
    m["text"] = json!({"body": body});
    m
}

/// A tap on a button or on a list row (lists carry sectors and violations).
pub fn tap(from: &str, id: &str, choice: &str) -> Value {
    let mut m = message(from, id, "interactive");
    m["interactive"] = if choice.starts_with("sector:") || choice.starts_with("viol:") {
        json!({"type": "list_reply", "list_reply": {"id": choice, "title": "x"}})
    } else {
        json!({"type": "button_reply", "button_reply": {"id": choice, "title": "x"}})
    };
    m
}

/// One delivery of one message, signed; the status, or the error when no answer
/// came (the server is down).
pub async fn deliver(
    http: &reqwest::Client,
    base: &str,
    secret: &str,
    message: &Value,
) -> Result<(u16, Value), reqwest::Error> {
    let body = envelope(vec![message.clone()], vec![])
        .to_string()
        .into_bytes();
    let res = http
        .post(format!("{base}/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(secret, &body))
        .body(body)
        .send()
        .await?;
    let status = res.status().as_u16();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

/// The case number in a reply.
pub fn case_ref_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("BZ-"))
        .unwrap_or_else(|| panic!("no case number in {text}"))
        .trim_end_matches(|c: char| !c.is_alphanumeric())
        .to_owned()
}
