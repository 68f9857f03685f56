//! What the clients send: complaints as JSON and form bodies, advocates' filings,
//! signed webhook deliveries, dry runs, 20 KB e-mails.

pub(super) const BENCH_INTAKE: &str = "quejas@buzon.bench";

/// A 20 KB complaint e-mail (lettre builds it once per message: a text body and
/// a unique Message-ID), from one of 500 senders, so the per-sender limit is not
/// what is measured.
pub(super) fn mail_20kb(i: u64) -> (String, Vec<u8>) {
    let line = "Nos obligan a trabajar doce horas sin descanso y no pagan las horas extra. ";
    let body: String = line.repeat(20 * 1024 / line.len());
    let from = format!("obrera{}@ejemplo.mx", i % 500);
    let message = lettre::Message::builder()
        .from(from.parse().unwrap())
        .to(BENCH_INTAKE.parse().unwrap())
        .subject(format!("Queja {i}"))
        .message_id(Some(format!("<bench-{i}@ejemplo.mx>")))
        .body(body)
        .unwrap();
    (from, message.formatted())
}

/// The complaint every intake row sends (as JSON, to be extended by the advocate rows).
pub(super) fn complaint(i: u64) -> serde_json::Value {
    serde_json::json!({
        "language": "es",
        "anonymous": false,
        "complainant": {"name": format!("Trabajadora {i}"), "phone": "+52 1 477 123 4567",
                        "email": format!("t{i}@example.org"), "worker_id": format!("E{i}")},
        "workplace": {"employer": "Arneses del Bajío", "city": "León", "state": "MX-GUA",
                      "sector": "auto_parts", "trade_with_us": "yes", "workers": 800},
        "violations": ["union_retaliation", "unjust_dismissal"],
        "narrative": "Me despidieron dos días después de la asamblea. ".repeat(8),
        "occurred_on": "2025-03-14"
    })
}

pub(super) fn body(i: u64) -> String {
    complaint(i).to_string()
}

/// The same complaint as the web form posts it (`application/x-www-form-urlencoded`,
/// the CSRF token appended by the row).
pub(super) fn form_body(i: u64) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let narrative = "Me despidieron dos días después de la asamblea. ".repeat(8);
    let (name, email, worker_id) = (
        format!("Trabajadora {i}"),
        format!("t{i}@example.org"),
        format!("E{i}"),
    );
    let fields: [(&str, &str); 16] = [
        ("lang", "es"),
        ("employer", "Arneses del Bajío"),
        ("state", "MX-GUA"),
        ("city", "León"),
        ("sector", "auto_parts"),
        ("trade_with_us", "yes"),
        ("workers", "800"),
        ("violations", "union_retaliation"),
        ("violations", "unjust_dismissal"),
        ("narrative", &narrative),
        ("occurred_on", "2025-03-14"),
        ("identity", "contact"),
        ("name", &name),
        ("phone", "+52 1 477 123 4567"),
        ("email", &email),
        ("worker_id", &worker_id),
    ];
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A member's consent as the advocate rows record it.
pub(super) fn member_consent() -> serde_json::Value {
    serde_json::json!({"given_by": "member", "method": "written", "date": "2026-11-01", "uses": ["complaint"]})
}

/// Listed members of the collective row.
pub(super) const COLLECTIVE_MEMBERS: u64 = 40;

/// Filed by an advocate for one member: the usual body (its `complainant`, with a
/// name, is the member) and the member's consent.
pub(super) fn advocate_body(i: u64) -> String {
    let mut body = complaint(i);
    body["consent"] = member_consent();
    body.to_string()
}

/// Filed by an advocate for a group: the usual body without a `complainant` (a
/// group's identities are its members'), the group's consent to file, 40 workers
/// affected and 40 listed members, each named and with their own consent (and so
/// each with a receipt of their own: 40 more Argon2 hashes).
pub(super) fn collective_body(i: u64) -> String {
    let mut body = complaint(i);
    let fields = body.as_object_mut().unwrap();
    fields.remove("complainant");
    fields.remove("anonymous");
    fields.insert(
        "consent".into(),
        serde_json::json!({"given_by": "representative", "method": "written", "date": "2026-11-01", "uses": ["complaint"]}),
    );
    fields.insert("workers_affected".into(), COLLECTIVE_MEMBERS.into());
    let members: Vec<serde_json::Value> = (1..=COLLECTIVE_MEMBERS)
        .map(|k| serde_json::json!({"name": format!("Trabajadora {i}-{k}"), "consent": member_consent()}))
        .collect();
    fields.insert("members".into(), members.into());
    body.to_string()
}

pub(super) const BENCH_APP_SECRET: &str = "bench-app-secret";

/// One signed-ready webhook delivery in Meta's shape: a new message from one of 500
/// senders (so the per-sender limit is not what is measured). Written out rather
/// than built as a `serde_json::Value`: the client shares the cores with the server,
/// and building the tree cost it about 3% of the webhook rows' CPU.
pub(super) fn webhook_body(i: u64) -> String {
    let from = format!("52147755{:05}", i % 500);
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550001111","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Trabajadora"}},"wa_id":"{from}"}}],"messages":[{{"from":"{from}","id":"wamid.BENCH{i:012}","timestamp":"1764300000","type":"text","text":{{"body":"Hola, quiero poner una queja"}}}}]}}}}]}}]}}"#
    )
}

pub(super) fn signature(body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(BENCH_APP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!(
        "sha256={}",
        buzon::crypto::hex(&mac.finalize().into_bytes())
    )
}

pub(super) fn route_body(i: u64) -> String {
    let sectors = [
        "auto_parts",
        "electronics",
        "garment",
        "mining",
        "unknown",
        "call_center",
    ];
    let sector = sectors[(i % sectors.len() as u64) as usize];
    serde_json::json!({
        "workplace": {"state": "MX-CHH", "sector": sector, "trade_with_us": "unknown"},
        "violations": ["union_retaliation", "unpaid_wages", "safety_health"],
        "occurred_on": "2024-05-01"
    })
    .to_string()
}
