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
    /// 429, 5xx, 401/403 (token), timeouts, refused connections: try again later.
    #[error("temporary failure: {0}")]
    Retry(String),
    /// Any other 4xx, or an answer we cannot use: trying again won't help.
    #[error("permanent failure: {0}")]
    Permanent(String),
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
        if !response.status().is_success() {
            return Err(classify(response.status()));
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
    /// the SHA-256 WhatsApp announced (hex).
    pub async fn download(
        &self,
        url: &str,
        max: u64,
        sha256_hex: &str,
    ) -> Result<Vec<u8>, GraphError> {
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
        let digest = crate::crypto::sha256_hex(&bytes);
        if !crate::crypto::ct_eq(
            digest.as_bytes(),
            sha256_hex.trim().to_ascii_lowercase().as_bytes(),
        ) {
            // A download cut short or altered on the way: worth another try.
            return Err(GraphError::Retry("sha256 mismatch".into()));
        }
        Ok(bytes)
    }
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
    without_nulls(to_value(&message))
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
