//! A local stand-in for Meta's Graph API (WhatsApp Business Cloud API), on a random
//! port in the test process. It checks the bearer token and the shape of every
//! request against the documented format (messages: text, interactive buttons and
//! lists with their size limits, templates; media lookup; media download), records
//! what it received, and can be told to fail (HTTP status, a Meta error code, or a
//! hang) to exercise retries. Anything malformed is recorded as a problem: tests
//! assert there are none.
//!
//! It keeps Meta's rules as documented, so a test that breaks them fails:
//! - the 24-hour customer-service window, per recipient, from the last message the
//!   test delivered from them (every signed delivery goes through
//!   [`crate::helpers::wa::sign`], which tells the stand-in linked to that app
//!   secret), on the test clock when one is followed ([`GraphStub::follow_clock`]):
//!   a free-form message outside it is refused with 131047, as Meta does, and
//!   recorded as a problem;
//! - templates: only registered names and languages (132001), with their number of
//!   body parameters (132000);
//! - recipients: a phone number in `to` or a business-scoped user id in
//!   `recipient`; a Mexican mobile's `521…` and `52…` forms are one person;
//! - errors in Meta's shape: `{"error": {"message", "type", "code",
//!   "error_subcode", "error_data": {"messaging_product", "details"}, "fbtrace_id"}}`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

pub const VERSION: &str = "v23.0";
pub const PHONE_NUMBER_ID: &str = "106540352242922";

/// The template Buzón sends by default when the window is closed, as registered
/// with Meta (see the README): no parameters.
pub const TEMPLATE: &str = "buzon_mensaje_nuevo";
pub const TEMPLATE_LANGUAGES: [&str; 2] = ["es_MX", "en"];

/// Meta's window: free-form messages only this long after the person's last one.
const WINDOW: chrono::Duration = chrono::Duration::hours(24);

#[derive(Clone, Copy, Debug)]
pub enum Failure {
    Status(u16),
    /// A Graph error in Meta's shape: HTTP status and error code (e.g. 400, 131047).
    Meta(u16, i64),
    /// Answers only after this long (longer than the client waits).
    Hang(Duration),
}

#[derive(Default)]
struct Inner {
    token: String,
    base: String,
    sent: Vec<Value>,
    attempts: usize,
    problems: Vec<String>,
    failures: VecDeque<Failure>,
    media: HashMap<String, (String, Vec<u8>)>,
    media_failures: HashMap<String, u32>,
    /// Media look-ups answered with this URL instead of the stand-in's own.
    media_urls: HashMap<String, String>,
    downloads: HashMap<String, u32>,
    counter: u64,
    /// Ids given to accepted messages: `wamid.{prefix}{counter:08}`.
    prefix: String,
    /// The test clock followed (seconds added to real time), if any.
    clock: Option<PathBuf>,
    /// When each recipient last wrote (by the clock followed), by normalised id.
    inbound: HashMap<String, DateTime<Utc>>,
    /// Registered templates: (name, language) -> number of body parameters.
    templates: HashMap<(String, String), usize>,
    /// Free-form messages refused because the window was closed.
    window_refusals: usize,
}

impl Inner {
    fn now(&self) -> DateTime<Utc> {
        let offset = self
            .clock
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        Utc::now() + chrono::Duration::seconds(offset)
    }
}

/// Stand-ins by the app secret their server verifies deliveries with: a signed
/// delivery tells its stand-in who wrote.
/// Several instances (scale-out tests) share one secret, each with its stand-in.
type Linked = Vec<std::sync::Weak<Mutex<Inner>>>;
static BY_SECRET: LazyLock<Mutex<HashMap<String, Linked>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// One person, as Meta sees them: a Mexican mobile's `521…` is its `52…`.
pub fn person(id: &str) -> String {
    match id.strip_prefix("521") {
        Some(rest) if id.len() == 13 && id.chars().all(|c| c.is_ascii_digit()) => {
            format!("52{rest}")
        }
        _ => id.to_owned(),
    }
}

/// The recipient of a send: `to` (phone) or `recipient` (user id).
pub fn addressee(m: &Value) -> Option<&str> {
    m["to"].as_str().or_else(|| m["recipient"].as_str())
}

/// A signed webhook body was delivered to the server verifying with `secret`: its
/// senders' windows open now (on the stand-in's clock).
pub fn delivered(secret: &str, body: &[u8]) {
    let stubs: Vec<Arc<Mutex<Inner>>> = BY_SECRET
        .lock()
        .unwrap()
        .get(secret)
        .into_iter()
        .flatten()
        .filter_map(std::sync::Weak::upgrade)
        .collect();
    let Ok(payload) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    for inner in stubs {
        note_senders(&mut inner.lock().unwrap(), &payload);
    }
}

fn note_senders(s: &mut Inner, payload: &Value) {
    let now = s.now();
    for change in payload["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
    {
        let value = &change["value"];
        let contact_user = value["contacts"][0]["user_id"].as_str().map(str::to_owned);
        for m in value["messages"].as_array().into_iter().flatten() {
            for id in [
                m["from"].as_str().map(str::to_owned),
                m["from_user_id"].as_str().map(str::to_owned),
                contact_user.clone(),
            ]
            .into_iter()
            .flatten()
            {
                s.inbound.insert(person(&id), now);
            }
        }
    }
}

#[derive(Clone)]
pub struct GraphStub {
    pub base: String,
    pub token: String,
    inner: Arc<Mutex<Inner>>,
}

/// An error in Meta's documented shape.
fn meta_error(status: u16, code: i64, title: &str, details: &str) -> Response {
    let http = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        http,
        axum::Json(json!({"error": {
            "message": format!("(#{code}) {title}"),
            "type": "OAuthException",
            "code": code,
            "error_subcode": 2494010,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "AbCdStubTrace"
        }})),
    )
        .into_response()
}

fn graph_error(status: u16, message: &str) -> Response {
    let code = match status {
        401 => 190,
        429 => 130429,
        500..=599 => 131000,
        _ => 100,
    };
    meta_error(status, code, message, message)
}

impl GraphStub {
    pub async fn start() -> Self {
        Self::start_with_prefix("OUT").await
    }

    /// A stand-in whose message ids start `wamid.{prefix}` (stand-ins of several
    /// instances must not give the same ids).
    pub async fn start_with_prefix(prefix: &str) -> Self {
        let token = format!("EAAG{}", uuid::Uuid::new_v4().simple());
        let inner = Arc::new(Mutex::new(Inner {
            token: token.clone(),
            prefix: prefix.to_owned(),
            templates: TEMPLATE_LANGUAGES
                .iter()
                .map(|l| ((TEMPLATE.to_owned(), (*l).to_owned()), 0))
                .collect(),
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        inner.lock().unwrap().base = base.clone();
        let app = Router::new()
            .route("/{version}/{id}/messages", post(messages))
            .route("/{version}/{id}", get(media_info))
            .route("/download/{id}", get(download))
            .with_state(Arc::clone(&inner));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, token, inner }
    }

    /// Deliveries signed with `secret` tell this stand-in who wrote (its server
    /// verifies with that secret).
    pub fn link_secret(&self, secret: &str) {
        BY_SECRET
            .lock()
            .unwrap()
            .entry(secret.to_owned())
            .or_default()
            .push(Arc::downgrade(&self.inner));
    }

    /// Judges the window on this test clock (the server's).
    pub fn follow_clock(&self, clock: &crate::helpers::TestClock) {
        self.inner.lock().unwrap().clock = Some(clock.file.clone());
    }

    /// Registers a template (name, language, number of body parameters).
    pub fn register_template(&self, name: &str, language: &str, parameters: usize) {
        self.inner
            .lock()
            .unwrap()
            .templates
            .insert((name.to_owned(), language.to_owned()), parameters);
    }

    /// Free-form messages refused because the recipient's window was closed.
    pub fn window_refusals(&self) -> usize {
        self.inner.lock().unwrap().window_refusals
    }

    /// Posts `body` as a send, as Buzón would: the status and Meta's answer.
    pub async fn post_message(&self, body: &Value) -> (u16, Value) {
        let res = reqwest::Client::new()
            .post(format!(
                "{}/{VERSION}/{PHONE_NUMBER_ID}/messages",
                self.base
            ))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Forgets the problems recorded so far (a test that broke a rule on purpose).
    pub fn clear_problems(&self) {
        self.inner.lock().unwrap().problems.clear();
    }

    /// Fail the next send attempts, in this order.
    pub fn fail_next(&self, failures: &[Failure]) {
        self.inner
            .lock()
            .unwrap()
            .failures
            .extend(failures.iter().copied());
    }

    /// Makes a media file available; its SHA-256 for the webhook, as Meta's webhooks
    /// carry it: base64 (the media look-up answers hex).
    pub fn add_media(&self, id: &str, mime: &str, bytes: &[u8], failures: u32) -> String {
        use base64::Engine;
        let mut inner = self.inner.lock().unwrap();
        inner.media.insert(id.into(), (mime.into(), bytes.to_vec()));
        inner.media_failures.insert(id.into(), failures);
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
    }

    /// Answers look-ups of media `id` with `url` as where to download it.
    pub fn media_url(&self, id: &str, url: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.media_urls.insert(id.into(), url.into());
    }

    /// Forgets the failures [`GraphStub::fail_next`] queued that were not used yet.
    pub fn clear_failures(&self) {
        self.inner.lock().unwrap().failures.clear();
    }

    /// Every message accepted, in the order accepted, with the id it was given.
    pub fn accepted(&self) -> Vec<(String, Value)> {
        let inner = self.inner.lock().unwrap();
        inner
            .sent
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("wamid.{}{:08}", inner.prefix, i + 1), m.clone()))
            .collect()
    }

    pub fn downloads(&self, id: &str) -> u32 {
        self.inner
            .lock()
            .unwrap()
            .downloads
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    pub fn problems(&self) -> Vec<String> {
        self.inner.lock().unwrap().problems.clone()
    }

    /// The id the next accepted message will get.
    pub fn next_wamid(&self) -> String {
        let inner = self.inner.lock().unwrap();
        format!("wamid.{}{:08}", inner.prefix, inner.counter + 1)
    }

    pub fn attempts(&self) -> usize {
        self.inner.lock().unwrap().attempts
    }

    /// Every message accepted, to one recipient.
    pub fn sent_to(&self, to: &str) -> Vec<Value> {
        self.inner
            .lock()
            .unwrap()
            .sent
            .iter()
            .filter(|m| addressee(m) == Some(to))
            .cloned()
            .collect()
    }

    /// Waits for a message to `to`, at index `from` or later, whose text (see
    /// [`render`]) contains `needle`; its index.
    pub async fn wait_for(&self, to: &str, from: usize, needle: &str) -> usize {
        for _ in 0..300 {
            let sent = self.sent_to(to);
            if let Some(i) = sent
                .iter()
                .skip(from)
                .position(|m| render(m).contains(needle))
            {
                return from + i;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let sent: Vec<String> = self.sent_to(to).iter().skip(from).map(render).collect();
        panic!(
            "no message to {to} containing {needle:?} after #{from}; got: {sent:#?}; problems: {:?}",
            self.problems()
        );
    }
}

/// A message's text, button and row ids and titles, on one line each.
pub fn render(m: &Value) -> String {
    let mut out = Vec::new();
    if let Some(name) = m["template"]["name"].as_str() {
        out.push(format!(
            "[template {name} {}]",
            m["template"]["language"]["code"].as_str().unwrap_or("")
        ));
    }
    if let Some(t) = m["text"]["body"].as_str() {
        out.push(t.to_owned());
    }
    let i = &m["interactive"];
    if let Some(t) = i["body"]["text"].as_str() {
        out.push(t.to_owned());
    }
    for b in i["action"]["buttons"].as_array().into_iter().flatten() {
        out.push(format!(
            "[{}] {}",
            b["reply"]["id"].as_str().unwrap_or(""),
            b["reply"]["title"].as_str().unwrap_or("")
        ));
    }
    for s in i["action"]["sections"].as_array().into_iter().flatten() {
        for r in s["rows"].as_array().into_iter().flatten() {
            out.push(format!(
                "[{}] {}",
                r["id"].as_str().unwrap_or(""),
                r["title"].as_str().unwrap_or("")
            ));
        }
    }
    out.join("\n")
}

fn bearer_ok(inner: &Inner, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", inner.token))
}

fn text_len(v: &Value, min: usize, max: usize) -> Result<(), String> {
    let s = v.as_str().ok_or_else(|| format!("not a string: {v}"))?;
    let n = s.chars().count();
    if n < min || n > max {
        return Err(format!("length {n} outside {min}..={max}: {s:?}"));
    }
    Ok(())
}

fn no_nulls(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(m) => m.values().all(no_nulls),
        Value::Array(a) => a.iter().all(no_nulls),
        _ => true,
    }
}

/// The documented shape of `POST /{phone-number-id}/messages`.
pub fn check_message(m: &Value) -> Result<(), String> {
    if !no_nulls(m) {
        return Err("null field".into());
    }
    let obj = m.as_object().ok_or("body is not an object")?;
    for key in obj.keys() {
        if ![
            "messaging_product",
            "recipient_type",
            "to",
            "recipient",
            "type",
            "text",
            "interactive",
            "template",
            "context",
            "biz_opaque_callback_data",
        ]
        .contains(&key.as_str())
        {
            return Err(format!("unexpected field {key}"));
        }
    }
    if m["messaging_product"] != "whatsapp" {
        return Err("messaging_product must be whatsapp".into());
    }
    match (m.get("to"), m.get("recipient")) {
        (None, None) => return Err("to or recipient missing".into()),
        (Some(to), _) => {
            let to = to.as_str().ok_or("to must be a string")?;
            if to.is_empty() || !to.chars().all(|c| c.is_ascii_digit()) {
                return Err("to must be digits".into());
            }
        }
        (None, Some(user)) => {
            // A business-scoped user id: `CC.` then letters, digits, periods.
            let user = user.as_str().ok_or("recipient must be a string")?;
            let (country, rest) = user.split_once('.').ok_or("recipient is not a user id")?;
            if country.len() != 2
                || !country.chars().all(|c| c.is_ascii_uppercase())
                || rest.is_empty()
                || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
            {
                return Err(format!("recipient is not a user id: {user}"));
            }
        }
    }
    match m["type"].as_str() {
        Some("template") => {
            let t = &m["template"];
            text_len(&t["name"], 1, 512)?;
            text_len(&t["language"]["code"], 2, 16)?;
            Ok(())
        }
        Some("text") => text_len(&m["text"]["body"], 1, 4096),
        Some("interactive") => {
            let i = &m["interactive"];
            text_len(&i["body"]["text"], 1, 1024)?;
            match i["type"].as_str() {
                Some("button") => {
                    let buttons = i["action"]["buttons"].as_array().ok_or("buttons missing")?;
                    if buttons.is_empty() || buttons.len() > 3 {
                        return Err(format!("{} buttons", buttons.len()));
                    }
                    let mut ids = HashSet::new();
                    let mut titles = HashSet::new();
                    for b in buttons {
                        if b["type"] != "reply" {
                            return Err("button type must be reply".into());
                        }
                        text_len(&b["reply"]["id"], 1, 256)?;
                        text_len(&b["reply"]["title"], 1, 20)?;
                        if !ids.insert(b["reply"]["id"].to_string())
                            || !titles.insert(b["reply"]["title"].to_string())
                        {
                            return Err("duplicate button".into());
                        }
                    }
                    Ok(())
                }
                Some("list") => {
                    text_len(&i["action"]["button"], 1, 20)?;
                    let sections = i["action"]["sections"]
                        .as_array()
                        .ok_or("sections missing")?;
                    if sections.is_empty() || sections.len() > 10 {
                        return Err("1 to 10 sections".into());
                    }
                    let mut ids = HashSet::new();
                    let mut rows_total = 0;
                    for s in sections {
                        if sections.len() > 1 {
                            text_len(&s["title"], 1, 24)?;
                        }
                        for r in s["rows"].as_array().ok_or("rows missing")? {
                            rows_total += 1;
                            text_len(&r["id"], 1, 200)?;
                            text_len(&r["title"], 1, 24)?;
                            if !r["description"].is_null() {
                                text_len(&r["description"], 0, 72)?;
                            }
                            if !ids.insert(r["id"].to_string()) {
                                return Err("duplicate row id".into());
                            }
                        }
                    }
                    if rows_total == 0 || rows_total > 10 {
                        return Err(format!("{rows_total} rows"));
                    }
                    Ok(())
                }
                other => Err(format!("unsupported interactive type {other:?}")),
            }
        }
        other => Err(format!("unsupported type {other:?}")),
    }
}

async fn messages(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let failure = {
        let mut s = inner.lock().unwrap();
        s.attempts += 1;
        if !bearer_ok(&s, &headers) {
            s.problems
                .push("send without the right bearer token".into());
            return graph_error(401, "Invalid OAuth access token");
        }
        if version != VERSION || id != PHONE_NUMBER_ID {
            s.problems.push(format!("send to /{version}/{id}/messages"));
            return graph_error(400, "Unsupported post request");
        }
        s.failures.pop_front()
    };
    match failure {
        Some(Failure::Status(code)) => return graph_error(code, "stub failure"),
        Some(Failure::Meta(status, code)) => {
            return meta_error(status, code, "stub failure", "stub failure");
        }
        Some(Failure::Hang(d)) => {
            tokio::time::sleep(d).await;
            return graph_error(500, "stub hang");
        }
        None => {}
    }
    let mut s = inner.lock().unwrap();
    let Ok(m) = serde_json::from_slice::<Value>(&body) else {
        s.problems.push("send body is not JSON".into());
        return graph_error(400, "Invalid JSON");
    };
    if let Err(problem) = check_message(&m) {
        s.problems.push(format!("{problem}: {m}"));
        return graph_error(400, &problem);
    }
    if let Some(refusal) = meta_rules(&mut s, &m) {
        return refusal;
    }
    s.counter += 1;
    let wamid = format!("wamid.{}{:08}", s.prefix, s.counter);
    let to = addressee(&m).map(str::to_owned).unwrap_or_default();
    s.sent.push(m);
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": wamid}]
    }))
    .into_response()
}

/// Meta's rules on a well-formed send: templates registered with their parameters;
/// free-form messages only inside the recipient's window.
fn meta_rules(s: &mut Inner, m: &Value) -> Option<Response> {
    let to = person(addressee(m).unwrap_or(""));
    if m["type"] == "template" {
        let t = &m["template"];
        let key = (
            t["name"].as_str().unwrap_or("").to_owned(),
            t["language"]["code"].as_str().unwrap_or("").to_owned(),
        );
        let Some(&want) = s.templates.get(&key) else {
            s.problems.push(format!("template not registered: {key:?}"));
            return Some(meta_error(
                404,
                132001,
                "Template name does not exist in the translation",
                "template name and language are not registered",
            ));
        };
        let given: usize = t["components"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["type"] == "body")
            .map(|c| c["parameters"].as_array().map_or(0, Vec::len))
            .sum();
        if given != want {
            s.problems.push(format!(
                "template {key:?}: {given} parameters, {want} registered"
            ));
            return Some(meta_error(
                400,
                132000,
                "Number of parameters does not match the expected number of params",
                "body parameters do not match the template",
            ));
        }
        return None;
    }
    let now = s.now();
    let open = s.inbound.get(&to).is_some_and(|at| now - *at < WINDOW);
    if !open {
        s.window_refusals += 1;
        s.problems.push(format!(
            "free-form {} message outside the 24-hour window",
            m["type"]
        ));
        return Some(meta_error(
            400,
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        ));
    }
    None
}

async fn media_info(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut s = inner.lock().unwrap();
    if !bearer_ok(&s, &headers) {
        s.problems
            .push("media lookup without the right bearer token".into());
        return graph_error(401, "Invalid OAuth access token");
    }
    if version != VERSION {
        s.problems
            .push(format!("media lookup with version {version}"));
    }
    let Some((mime, bytes)) = s.media.get(&id).cloned() else {
        return graph_error(404, "Unknown media");
    };
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "url": s.media_urls.get(&id).cloned().unwrap_or_else(|| format!("{}/download/{id}", s.base)),
        "mime_type": mime,
        "sha256": buzon::crypto::hex(&Sha256::digest(&bytes)),
        "file_size": bytes.len(),
        "id": id,
    }))
    .into_response()
}

async fn download(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut s = inner.lock().unwrap();
    if !bearer_ok(&s, &headers) {
        s.problems
            .push("media download without the right bearer token".into());
        return graph_error(401, "Invalid OAuth access token");
    }
    *s.downloads.entry(id.clone()).or_default() += 1;
    if let Some(left) = s.media_failures.get_mut(&id)
        && *left > 0
    {
        *left -= 1;
        return graph_error(500, "stub download failure");
    }
    match s.media.get(&id) {
        Some((mime, bytes)) => ([("content-type", mime.clone())], bytes.clone()).into_response(),
        None => graph_error(404, "Unknown media"),
    }
}
