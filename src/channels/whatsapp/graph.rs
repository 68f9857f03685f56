//! The one client for Meta's Graph API (WhatsApp Business Cloud API): sending
//! messages, looking up media and downloading it. Its base URL and version come from
//! the settings, so tests (and a proxy, if an operator needs one) stand in for
//! `graph.facebook.com`.
//!
//! Errors carry only the HTTP status or the kind of failure, never a URL, a
//! recipient or a message: they end up in logs and in the outbox's `last_error`.

use crate::config::{Secret, WhatsAppSettings};
use serde::Serialize;
use whatsapp::models::{
    Interactive, InteractiveActionButton, InteractiveActionSection, InteractiveActionSectionRow,
    MediaResponse, Message, MessageResponse, Text,
};

use super::conversation::Reply;

/// Why a call failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// 429, 5xx, 401/403 (token), timeouts, refused connections, and the error codes
    /// Meta documents as temporary (rate limits, service unavailable): try again later.
    #[error("temporary failure: {0}")]
    Retry(String),
    /// Any other 4xx, or an answer we cannot use: trying again won't help.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// Meta refused this message for a documented reason that trying again won't fix
    /// (the 24-hour window closed, a template missing or paused, a recipient who
    /// cannot receive it, a spam limit): shown to staff, counted by code.
    #[error("refused by WhatsApp: {}", .0.code)]
    Refused(Refusal),
}

/// A documented Graph API error that no retry fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Meta's error code (`error.code`), e.g. 131047.
    pub code: i64,
    pub kind: crate::domain::Undelivered,
}

impl Refusal {
    /// What the outbox row keeps (`last_error`): the kind staff are shown, and the code.
    pub fn note(&self) -> String {
        format!("{}:{}", self.kind.code(), self.code)
    }
}

/// What Meta's error codes mean for a send (the error-codes page of the Cloud API
/// documentation). `None`: not one we know; the HTTP status decides.
pub fn meaning(code: i64) -> Option<Result<(), crate::domain::Undelivered>> {
    use crate::domain::Undelivered::*;
    Some(Err(match code {
        // Temporary: rate limits (API, app, pair, spam throughput), service or
        // server unavailable, maintenance, unknown and service errors.
        1 | 2 | 4 | 17 | 341 | 80007 | 130429 | 131000 | 131016 | 131056 | 131057 | 133004 => {
            return Some(Ok(()));
        }
        // The customer-service window is closed: the worker must write first.
        131047 => Window,
        // Template missing, paused, disabled, or its parameters or text refused.
        132000 | 132001 | 132005 | 132007 | 132012 | 132015 | 132016 | 132068 | 132069 => Template,
        // Not on WhatsApp, cannot receive it, stopped messages from the business,
        // part of an experiment, or the country is restricted.
        131026 | 131050 | 130472 | 130497 | 131021 => Unreachable,
        // Meta's spam and engagement limits: more sends make it worse.
        131048 | 131049 | 368 => Spam,
        // The business account or number: an operator must act.
        131031 | 131042 | 131045 | 131037 | 133010 | 131005 | 3 | 10 | 200..=299 => Account,
        // A message Meta will never take as written.
        100 | 131008 | 131009 | 131051 | 135000 => Rejected,
        _ => return None,
    }))
}

/// Meta's error body: `{"error": {"message", "type", "code", "error_subcode",
/// "error_data": {"messaging_product", "details"}, "fbtrace_id"}}`; only the code is
/// read (the message may quote the request).
fn error_code(body: &[u8]) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("error")?.get("code")?.as_i64()
}

/// A failed answer: its error code when Meta gave one, else its HTTP status.
fn refused(status: reqwest::StatusCode, body: &[u8]) -> GraphError {
    match error_code(body).map(|code| (code, meaning(code))) {
        Some((code, Some(Err(kind)))) => GraphError::Refused(Refusal { code, kind }),
        Some((code, Some(Ok(())))) => GraphError::Retry(format!("graph {code}")),
        _ => classify(status),
    }
}

pub struct GraphClient {
    http: reqwest::Client,
    base: String,
    /// Where a media URL may point (the token goes with the download).
    media_hosts: MediaHosts,
    version: String,
    phone_number_id: String,
    token: Secret,
}

fn network(err: &reqwest::Error) -> GraphError {
    GraphError::Retry(
        if err.is_timeout() {
            "timeout"
        } else if err.is_connect() {
            "connection refused"
        } else {
            "network error"
        }
        .into(),
    )
}

fn classify(status: reqwest::StatusCode) -> GraphError {
    let text = format!("http {}", status.as_u16());
    // 401/403: an expired or revoked token, fixed by an operator: keep the message.
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::UNAUTHORIZED
        || status == reqwest::StatusCode::FORBIDDEN
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        GraphError::Retry(text)
    } else {
        GraphError::Permanent(text)
    }
}

impl GraphClient {
    pub fn new(settings: &WhatsAppSettings) -> anyhow::Result<Self> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(10)))
            // Media URLs are fetched with the access token: never follow a redirect
            // that could carry it somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("buzon/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: settings.api_base.clone(),
            media_hosts: MediaHosts::new(&settings.api_base, &settings.media_hosts),
            version: settings.api_version.clone(),
            phone_number_id: settings.phone_number_id.clone(),
            token: settings.access_token.clone(),
        })
    }

    /// Sends one message (a JSON body in the Cloud API's shape); the WhatsApp id of
    /// the sent message.
    pub async fn send(&self, body: &serde_json::Value) -> Result<String, GraphError> {
        let url = format!(
            "{}/{}/{}/messages",
            self.base, self.version, self.phone_number_id
        );
        let response = self
            .http
            .post(url)
            .bearer_auth(self.token.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| network(&e))?;
        let status = response.status();
        if !status.is_success() {
            // The body is read only for its code; an unreadable one counts as empty.
            let body = response.bytes().await.unwrap_or_default();
            return Err(refused(status, &body));
        }
        let answer: MessageResponse = response
            .json()
            .await
            .map_err(|_| GraphError::Permanent("unexpected answer".into()))?;
        answer
            .messages
            .into_iter()
            .next()
            .map(|m| m.id)
            .ok_or_else(|| GraphError::Permanent("answer without message id".into()))
    }

    /// An authenticated GET that succeeded.
    async fn get(&self, url: &str) -> Result<reqwest::Response, GraphError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| network(&e))?;
        if !response.status().is_success() {
            return Err(classify(response.status()));
        }
        Ok(response)
    }

    /// Where a media file can be downloaded, its type, size and SHA-256.
    pub async fn media(&self, media_id: &str) -> Result<MediaResponse, GraphError> {
        if media_id.is_empty()
            || media_id.len() > 128
            || !media_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(GraphError::Permanent("invalid media id".into()));
        }
        let url = format!("{}/{}/{}", self.base, self.version, media_id);
        self.get(&url)
            .await?
            .json()
            .await
            .map_err(|_| GraphError::Permanent("unexpected media answer".into()))
    }

    /// Downloads a media file, refusing more than `max` bytes, and checks it against
    /// the SHA-256 WhatsApp announced (base64 as webhooks carry it, or hex).
    pub async fn download(&self, url: &str, max: u64, sha256: &str) -> Result<Vec<u8>, GraphError> {
        // The access token goes with the request: only to Meta (issue 30, finding 8).
        if !self.media_hosts.allows(url) {
            return Err(GraphError::Permanent(
                "media URL on a host not allowed".into(),
            ));
        }
        let mut response = self.get(url).await?;
        if response.content_length().is_some_and(|len| len > max) {
            return Err(GraphError::Permanent("file too large".into()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| network(&e))? {
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(GraphError::Permanent("file too large".into()));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !digest_matches(&bytes, sha256) {
            // A download cut short or altered on the way: worth another try.
            return Err(GraphError::Retry("sha256 mismatch".into()));
        }
        Ok(bytes)
    }
}

/// The 32 bytes of an announced SHA-256: Meta's webhooks give base64 (standard
/// alphabet, padded, e.g. `m04pFf2ERdaopTyFkGPA0+bX3i+YY2dYgVFwOgDLSDI=`), a Graph
/// answer may give 64 hex digits; URL-safe or unpadded base64 is taken too.
pub fn announced_digest(text: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    let text = text.trim();
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?
    } else {
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        engines.iter().find_map(|e| e.decode(text).ok())?
    };
    bytes.try_into().ok()
}

/// Whether `bytes` hash to the announced digest, compared in constant time. An
/// announcement that is neither base64 nor hex of 32 bytes matches nothing.
pub fn digest_matches(bytes: &[u8], announced: &str) -> bool {
    use sha2::Digest;
    let Some(expected) = announced_digest(announced) else {
        return false;
    };
    crate::crypto::ct_eq(&sha2::Sha256::digest(bytes), &expected)
}

/// The places a media download may go with the access token: the API base itself
/// (scheme, host and port), and the configured media hosts over https on the
/// default port (over http too when the API base is http, as in tests).
#[derive(Debug, Clone)]
pub struct MediaHosts {
    base: Option<(String, String, Option<u16>)>,
    hosts: Vec<String>,
}

impl MediaHosts {
    pub fn new(api_base: &str, hosts: &[String]) -> Self {
        let base = reqwest::Url::parse(api_base).ok().and_then(|u| {
            let host = u.host_str()?.to_ascii_lowercase();
            Some((u.scheme().to_owned(), host, u.port_or_known_default()))
        });
        Self {
            base,
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether `url` is one the access token may be sent to.
    pub fn allows(&self, url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url) else {
            return false;
        };
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        if !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let port = url.port_or_known_default();
        if let Some((scheme, base_host, base_port)) = &self.base
            && url.scheme() == scheme
            && host == *base_host
            && port == *base_port
        {
            return true;
        }
        let base_is_http = self.base.as_ref().is_some_and(|(s, _, _)| s == "http");
        let scheme_ok = url.scheme() == "https" || (base_is_http && url.scheme() == "http");
        scheme_ok
            && url.port().is_none()
            && self
                .hosts
                .iter()
                .any(|allowed| match allowed.strip_prefix('.') {
                    Some(domain) => host
                        .strip_suffix(domain)
                        .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                    None => host == *allowed,
                })
    }
}

/// Addresses a body to a WhatsApp id as Meta documents it: a phone number (digits)
/// in `to`, a business-scoped user id (`US.13491208655302741918`, a username-only
/// user) in `recipient`, exactly as the worker wrote from it.
fn addressed(mut body: serde_json::Value, to: &str) -> serde_json::Value {
    if !super::is_phone_id(to)
        && let Some(map) = body.as_object_mut()
    {
        map.remove("to");
        map.insert("recipient".into(), to.into());
    }
    body
}

/// The Cloud API body of the utility template that asks a worker to write when the
/// 24-hour window is closed: no parameters, no case content (see the README for its
/// text as registered with Meta).
pub fn template_body(to: &str, name: &str, language: &str) -> serde_json::Value {
    addressed(
        serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": {"name": name, "language": {"code": language}},
        }),
        to,
    )
}

/// The WhatsApp id a stored body is addressed to (`to` or `recipient`).
pub fn addressee(body: &serde_json::Value) -> Option<&str> {
    body.get("to")
        .or_else(|| body.get("recipient"))
        .and_then(|v| v.as_str())
}

/// The Cloud API body for a reply, built with the `whatsapp` crate's models. Fields
/// the crate leaves empty are dropped rather than sent as `null`.
pub fn message_body(to: &str, reply: &Reply) -> serde_json::Value {
    let message = match reply {
        Reply::Text(body) => Message::from_text(to, Text::new(body), None),
        Reply::Buttons { body, buttons } => Message::from_interactive(
            to,
            Interactive::for_button(
                buttons
                    .iter()
                    .map(|(id, title)| InteractiveActionButton::new(title, id))
                    .collect(),
                body,
            ),
            None,
        ),
        Reply::List { body, button, rows } => Message::from_interactive(
            to,
            Interactive::for_list(
                button,
                vec![InteractiveActionSection::new(
                    rows.iter()
                        .map(|r| match &r.description {
                            Some(d) => {
                                InteractiveActionSectionRow::with_description(&r.id, &r.title, d)
                            }
                            None => InteractiveActionSectionRow::new(&r.id, &r.title),
                        })
                        .collect(),
                )],
                body,
            ),
            None,
        ),
    };
    addressed(without_nulls(to_value(&message)), to)
}

fn to_value(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn without_nulls(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::whatsapp::conversation::Row;

    #[test]
    fn the_token_goes_only_to_the_api_base_and_meta_media_hosts() {
        let hosts: Vec<String> = crate::config::DEFAULT_MEDIA_HOSTS
            .split(',')
            .map(|h| h.trim().to_owned())
            .collect();
        let meta = MediaHosts::new("https://graph.facebook.com", &hosts);
        for ok in [
            "https://graph.facebook.com/v23.0/x",
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
            "https://LOOKASIDE.fbsbx.com/x",
            "https://scontent.xx.fbcdn.net/v/t1.jpg",
        ] {
            assert!(meta.allows(ok), "{ok}");
        }
        for refused in [
            "http://lookaside.fbsbx.com/x",
            "https://lookaside.fbsbx.com:8443/x",
            "https://fbcdn.net.evil.test/x",
            "https://evilfbcdn.net/x",
            "https://fbcdn.net/x",
            "https://graph.facebook.com.evil.test/x",
            "https://user:pw@lookaside.fbsbx.com/x",
            "https://tracker.test/x",
            "ftp://lookaside.fbsbx.com/x",
            "not a url",
        ] {
            assert!(!meta.allows(refused), "{refused}");
        }
        let local = MediaHosts::new("http://127.0.0.1:4000", &hosts);
        assert!(local.allows("http://127.0.0.1:4000/media/1"));
        assert!(!local.allows("http://127.0.0.1:4001/media/1"));
        assert!(!local.allows("http://127.0.0.2:4000/media/1"));
    }

    #[test]
    fn digests_are_read_as_meta_sends_them() {
        use sha2::Digest;
        let bytes = b"evidence";
        let digest = sha2::Sha256::digest(bytes);
        let hex = crate::crypto::hex(&digest);
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        assert!(b64.ends_with('='));
        for good in [
            hex.clone(),
            hex.to_uppercase(),
            b64.clone(),
            b64.trim_end_matches('=').to_owned(),
            base64::engine::general_purpose::URL_SAFE.encode(digest),
        ] {
            assert!(digest_matches(bytes, &good), "{good}");
        }
        assert!(!digest_matches(b"other", &b64));
        assert!(!digest_matches(bytes, ""));
        assert!(!digest_matches(bytes, "ab"));
        assert!(!digest_matches(bytes, &hex[..62]));
        // The corpus' example decodes to 32 bytes.
        assert!(announced_digest("m04pFf2ERdaopTyFkGPA0+bX3i+YY2dYgVFwOgDLSDI=").is_some());
    }

    #[test]
    fn documented_error_codes_are_not_retried_blindly() {
        use crate::domain::Undelivered;
        assert_eq!(meaning(131047), Some(Err(Undelivered::Window)));
        for code in [132001, 132015, 132016, 132000] {
            assert_eq!(meaning(code), Some(Err(Undelivered::Template)), "{code}");
        }
        assert_eq!(meaning(131026), Some(Err(Undelivered::Unreachable)));
        assert_eq!(meaning(131050), Some(Err(Undelivered::Unreachable)));
        assert_eq!(meaning(131048), Some(Err(Undelivered::Spam)));
        for code in [130429, 131056, 131000, 131016, 133004, 4, 80007] {
            assert_eq!(meaning(code), Some(Ok(())), "{code}");
        }
        assert_eq!(meaning(999_999), None);
        let body = br#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"x"},"fbtrace_id":"A"}}"#;
        assert_eq!(
            refused(reqwest::StatusCode::BAD_REQUEST, body),
            GraphError::Refused(Refusal {
                code: 131047,
                kind: Undelivered::Window
            })
        );
        let limit = br#"{"error":{"code":130429}}"#;
        assert!(matches!(
            refused(reqwest::StatusCode::BAD_REQUEST, limit),
            GraphError::Retry(_)
        ));
        assert!(matches!(
            refused(reqwest::StatusCode::BAD_GATEWAY, b"<html>"),
            GraphError::Retry(_)
        ));
        assert!(matches!(
            refused(reqwest::StatusCode::BAD_REQUEST, b"{}"),
            GraphError::Permanent(_)
        ));
    }

    #[test]
    fn a_user_id_is_addressed_as_recipient_a_phone_as_to() {
        let user = message_body("US.13491208655302741918", &Reply::Text("hola".into()));
        assert_eq!(user["recipient"], "US.13491208655302741918");
        assert!(user.get("to").is_none());
        assert_eq!(addressee(&user), Some("US.13491208655302741918"));
        let phone = message_body("5214771234567", &Reply::Text("hola".into()));
        assert_eq!(phone["to"], "5214771234567");
        assert!(phone.get("recipient").is_none());
        let template = template_body("US.1", "buzon_mensaje_nuevo", "es_MX");
        assert_eq!(template["type"], "template");
        assert_eq!(template["recipient"], "US.1");
        assert_eq!(template["template"]["language"]["code"], "es_MX");
        assert!(
            template["template"].get("components").is_none(),
            "no case content"
        );
    }

    #[test]
    fn bodies_follow_the_cloud_api_shape_without_nulls() {
        let text = message_body("5214771234567", &Reply::Text("hola".into()));
        assert_eq!(text["messaging_product"], "whatsapp");
        assert_eq!(text["type"], "text");
        assert_eq!(text["text"]["body"], "hola");
        assert!(!text.to_string().contains("null"));
        let list = message_body(
            "1",
            &Reply::List {
                body: "b".into(),
                button: "Elegir".into(),
                rows: vec![Row {
                    id: "sector:mining".into(),
                    title: "Mina".into(),
                    description: None,
                }],
            },
        );
        assert_eq!(list["interactive"]["type"], "list");
        assert_eq!(
            list["interactive"]["action"]["sections"][0]["rows"][0]["id"],
            "sector:mining"
        );
        let buttons = message_body(
            "1",
            &Reply::Buttons {
                body: "b".into(),
                buttons: vec![("a:b".into(), "A".into())],
            },
        );
        assert_eq!(
            buttons["interactive"]["action"]["buttons"][0]["type"],
            "reply"
        );
        assert_eq!(
            buttons["interactive"]["action"]["buttons"][0]["reply"]["id"],
            "a:b"
        );
    }
}
