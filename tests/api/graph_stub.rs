//! A local stand-in for Meta's Graph API (WhatsApp Business Cloud API), on a random
//! port in the test process. It checks the bearer token and the shape of every
//! request against the documented format (messages: text, interactive buttons and
//! lists with their size limits; media lookup; media download), records what it
//! received, and can be told to fail (HTTP status or a hang) to exercise retries.
//! Anything malformed is recorded as a problem: tests assert there are none.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const VERSION: &str = "v23.0";
pub const PHONE_NUMBER_ID: &str = "106540352242922";

#[derive(Clone, Copy, Debug)]
pub enum Failure {
    Status(u16),
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
}

#[derive(Clone)]
pub struct GraphStub {
    pub base: String,
    pub token: String,
    inner: Arc<Mutex<Inner>>,
}

fn graph_error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        axum::Json(json!({"error": {"message": message, "type": "OAuthException", "code": 100, "fbtrace_id": "stub"}})),
    )
        .into_response()
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

    /// Fail the next send attempts, in this order.
    pub fn fail_next(&self, failures: &[Failure]) {
        self.inner
            .lock()
            .unwrap()
            .failures
            .extend(failures.iter().copied());
    }

    /// Makes a media file available; its SHA-256 (hex) for the webhook.
    pub fn add_media(&self, id: &str, mime: &str, bytes: &[u8], failures: u32) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.media.insert(id.into(), (mime.into(), bytes.to_vec()));
        inner.media_failures.insert(id.into(), failures);
        buzon::crypto::hex(&Sha256::digest(bytes))
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
            .filter(|m| m["to"] == to)
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
            "type",
            "text",
            "interactive",
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
    let to = m["to"].as_str().ok_or("to missing")?;
    if to.is_empty() || !to.chars().all(|c| c.is_ascii_digit()) {
        return Err("to must be digits".into());
    }
    match m["type"].as_str() {
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
    s.counter += 1;
    let wamid = format!("wamid.{}{:08}", s.prefix, s.counter);
    let to = m["to"].clone();
    s.sent.push(m);
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": wamid}]
    }))
    .into_response()
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
