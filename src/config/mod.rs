//! Settings: built-in defaults, then an optional TOML file (`--config`), then
//! `BUZON_*` environment variables; validated once at start, with every problem
//! reported in one message that says what to fix.
//!
//! The embedded default needs no settings at all: data in `./data`, an SQLite file
//! there, a key file created there on first start, HTTP on 127.0.0.1:8080.

mod channels;
mod help;
#[cfg(test)]
mod tests;
use channels::*;
pub use help::*;

use crate::crypto::receipt::HashCost;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Settings as written by a person, before validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    data_dir: PathBuf,
    database_url: Option<String>,
    http_addr: String,
    keys_file: Option<PathBuf>,
    trusted_proxies: ListOrString,
    secure_cookies: bool,
    max_body_bytes: u64,
    intake_per_minute: u32,
    intake_burst: u32,
    status_per_minute: u32,
    status_burst: u32,
    general_per_minute: u32,
    general_burst: u32,
    staff_idle_minutes: u32,
    staff_session_hours: u32,
    retention_days: u32,
    indicator_min_cell: u64,
    purge_interval_secs: u64,
    ratelimit_sweep_secs: u64,
    redis_url: Option<String>,
    #[serde(default, deserialize_with = "scalar_as_string")]
    metrics_token: Option<String>,
    login_per_minute: u32,
    login_burst: u32,
    argon2_memory_kib: u32,
    argon2_iterations: u32,
    argon2_parallelism: u32,
    db_max_connections: u32,
    request_timeout_secs: u64,
    http_header_timeout_secs: u64,
    http_idle_timeout_secs: u64,
    http_max_connections: u32,
    http_max_connections_per_ip: u32,
    routing_rules: Option<PathBuf>,
    outbox_max_attempts: u32,
    outbox_retry_base_ms: u64,
    lease_secs: u64,
    #[serde(default, deserialize_with = "scalar_as_string")]
    whatsapp_app_secret: Option<String>,
    #[serde(default, deserialize_with = "scalar_as_string")]
    whatsapp_verify_token: Option<String>,
    #[serde(default, deserialize_with = "scalar_as_string")]
    whatsapp_access_token: Option<String>,
    #[serde(default, deserialize_with = "scalar_as_string")]
    whatsapp_phone_number_id: Option<String>,
    whatsapp_api_base: String,
    whatsapp_api_version: String,
    whatsapp_idle_secs: u64,
    whatsapp_media_max_bytes: u64,
    whatsapp_media_hosts: ListOrString,
    whatsapp_sender_per_minute: u32,
    whatsapp_sender_burst: u32,
    whatsapp_timeout_secs: u64,
    whatsapp_template_name: String,
    whatsapp_template_language_es: String,
    whatsapp_template_language_en: String,
    webhook_max_body_bytes: u64,
    webhook_per_minute: u32,
    webhook_burst: u32,
    smtp_addr: Option<String>,
    email_intake_addresses: ListOrString,
    #[serde(default, deserialize_with = "scalar_as_string")]
    email_webhook_token: Option<String>,
    smtp_relay_url: Option<String>,
    email_from: Option<String>,
    smtp_hostname: Option<String>,
    smtp_tls_cert: Option<PathBuf>,
    smtp_tls_key: Option<PathBuf>,
    email_max_bytes: u64,
    email_attachment_max_bytes: u64,
    email_daily_acks: u32,
    email_authserv_id: Option<String>,
    smtp_sender_per_minute: u32,
    smtp_sender_burst: u32,
    smtp_ip_per_minute: u32,
    smtp_ip_burst: u32,
    smtp_max_connections: u32,
    smtp_max_connections_per_ip: u32,
    log: String,
    log_format: String,
}

/// Meta's media hosts: the Cloud API answers a media look-up with a URL on
/// `lookaside.fbsbx.com`; its CDN is under `fbcdn.net`.
pub const DEFAULT_MEDIA_HOSTS: &str = "lookaside.fbsbx.com, .fbcdn.net";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum ListOrString {
    List(Vec<String>),
    One(String),
}

impl ListOrString {
    fn items(&self) -> Vec<String> {
        match self {
            Self::List(v) => v.clone(),
            Self::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        }
    }
}

impl Default for RawSettings {
    fn default() -> Self {
        let cost = HashCost::default();
        Self {
            data_dir: PathBuf::from("./data"),
            database_url: None,
            http_addr: "127.0.0.1:8080".into(),
            keys_file: None,
            trusted_proxies: ListOrString::List(Vec::new()),
            secure_cookies: false,
            max_body_bytes: 64 * 1024,
            intake_per_minute: 10,
            intake_burst: 10,
            status_per_minute: 5,
            status_burst: 5,
            general_per_minute: 300,
            general_burst: 100,
            staff_idle_minutes: 30,
            staff_session_hours: 12,
            retention_days: 730,
            indicator_min_cell: crate::indicators::DEFAULT_MIN_CELL,
            purge_interval_secs: 3600,
            ratelimit_sweep_secs: 60,
            redis_url: None,
            metrics_token: None,
            login_per_minute: 10,
            login_burst: 10,
            argon2_memory_kib: cost.memory_kib,
            argon2_iterations: cost.iterations,
            argon2_parallelism: cost.parallelism,
            db_max_connections: 10,
            request_timeout_secs: 30,
            http_header_timeout_secs: 5,
            http_idle_timeout_secs: 30,
            http_max_connections: 10_000,
            http_max_connections_per_ip: 64,
            routing_rules: None,
            outbox_max_attempts: 16,
            outbox_retry_base_ms: 2000,
            lease_secs: 120,
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
            whatsapp_access_token: None,
            whatsapp_phone_number_id: None,
            whatsapp_api_base: "https://graph.facebook.com".into(),
            whatsapp_api_version: "v23.0".into(),
            whatsapp_idle_secs: 3600,
            whatsapp_media_max_bytes: 16 * 1024 * 1024,
            whatsapp_media_hosts: ListOrString::One(DEFAULT_MEDIA_HOSTS.into()),
            whatsapp_sender_per_minute: 30,
            whatsapp_sender_burst: 20,
            whatsapp_timeout_secs: 20,
            whatsapp_template_name: "buzon_mensaje_nuevo".into(),
            whatsapp_template_language_es: "es_MX".into(),
            whatsapp_template_language_en: "en".into(),
            webhook_max_body_bytes: 3 * 1024 * 1024,
            webhook_per_minute: 6000,
            webhook_burst: 1000,
            smtp_addr: None,
            email_intake_addresses: ListOrString::List(Vec::new()),
            email_webhook_token: None,
            smtp_relay_url: None,
            email_from: None,
            smtp_hostname: None,
            smtp_tls_cert: None,
            smtp_tls_key: None,
            email_max_bytes: 25 * 1024 * 1024,
            email_attachment_max_bytes: 16 * 1024 * 1024,
            email_daily_acks: 5,
            email_authserv_id: None,
            smtp_sender_per_minute: 10,
            smtp_sender_burst: 20,
            smtp_ip_per_minute: 120,
            smtp_ip_burst: 60,
            smtp_max_connections: 100,
            smtp_max_connections_per_ip: 10,
            log: "info,sqlx=warn".into(),
            log_format: "text".into(),
        }
    }
}

/// A per-client-IP limit: `per_minute` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub per_minute: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub http_addr: SocketAddr,
    pub keys_file: PathBuf,
    pub trusted_proxies: Vec<IpNet>,
    pub secure_cookies: bool,
    pub max_body_bytes: usize,
    /// Webhook deliveries are Meta's, not people's, and may carry many messages.
    pub webhook_max_body_bytes: usize,
    pub intake_limit: Limit,
    pub status_limit: Limit,
    pub general_limit: Limit,
    /// Sign-in attempts per client IP (each account has its own fixed limit too).
    pub login_limit: Limit,
    /// A console session ends after this long without a request...
    pub staff_session_idle: chrono::Duration,
    /// ...and this long after sign-in in any case.
    pub staff_session_absolute: chrono::Duration,
    pub hash_cost: HashCost,
    /// Cases closed (and unchanged) longer than this lose their identifying data;
    /// `None`: never (`retention_days = 0`).
    pub retention: Option<chrono::Duration>,
    /// How often the server runs the retention purge.
    pub purge_interval: std::time::Duration,
    /// Indicators show a count under this as "< n" (small-cell protection).
    pub indicator_min_cell: u64,
    /// How often rate limiters forget clients whose limits have recovered.
    pub ratelimit_sweep: std::time::Duration,
    /// `None`: rate limits in memory, per instance. Set: shared by every instance
    /// through this Redis (the URL may hold a password: never logged as is).
    pub redis_url: Option<Secret>,
    /// `None`: `/metrics` answers anyone (a warning at start). Set: it asks for
    /// `Authorization: Bearer` with this token.
    pub metrics_token: Option<Secret>,
    pub db_max_connections: u32,
    pub request_timeout: std::time::Duration,
    pub connections: HttpConnections,
    /// `None`: the rules built into the binary.
    pub routing_rules: Option<PathBuf>,
    pub outbox: OutboxSettings,
    /// `None`: the WhatsApp channel is off.
    pub whatsapp: Option<WhatsAppSettings>,
    pub webhook_limit: Limit,
    /// `None`: the e-mail channel is off.
    pub email: Option<EmailSettings>,
    pub log: String,
    pub log_format: LogFormat,
}

/// Bounds on the HTTP server's connections (http/serve.rs).
#[derive(Debug, Clone, Copy)]
pub struct HttpConnections {
    /// A request's header must arrive within this long of its first byte (of the
    /// connection, for its first request).
    pub header_timeout: std::time::Duration,
    /// A connection with no request in progress is closed after this long quiet.
    pub idle_timeout: std::time::Duration,
    /// Open connections at once (shrunk at start to fit the open-file limit).
    pub max: usize,
    /// Open connections per client address (IPv6 by /64); trusted proxies are exempt.
    pub max_per_ip: usize,
}

/// How the outbox retries: `base`, doubled after each failed attempt (capped at ten
/// minutes), until `max_attempts` have failed and the message is dead-lettered.
#[derive(Debug, Clone, Copy)]
pub struct OutboxSettings {
    pub max_attempts: u32,
    pub retry_base: std::time::Duration,
    /// How long a claim on an inbox, outbox or download row lasts (see
    /// [`crate::outbox::claim`]).
    pub lease: std::time::Duration,
}

/// A secret from the configuration: never printed, compared in constant time.
#[derive(Clone)]
pub struct Secret(secrecy::SecretString);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(secrecy::SecretString::from(value))
    }

    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The e-mail channel: inbound (SMTP listener and/or webhook) and acknowledgements.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// `None`: no SMTP listener (the webhook may still take mail).
    pub smtp_addr: Option<SocketAddr>,
    /// Lower-cased; at least one.
    pub intake_addresses: Vec<String>,
    pub webhook_token: Option<Secret>,
    /// `None`: acknowledgements are not sent (the relay URL holds credentials).
    pub relay_url: Option<Secret>,
    pub from: Option<lettre::message::Mailbox>,
    /// Announced in the greeting, used in our Message-IDs.
    pub hostname: String,
    /// Both or neither: STARTTLS is offered when set.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub max_bytes: usize,
    pub attachment_max_bytes: usize,
    pub daily_acks: u32,
    /// The receiving relay's `authserv-id`: only its `Authentication-Results` are
    /// read (lower-cased); `None`: the top-most header is.
    pub authserv_id: Option<String>,
    pub sender_limit: Limit,
    pub ip_limit: Limit,
    pub max_connections: u32,
    /// SMTP sessions at once from one client address (IPv6 by /64).
    pub max_connections_per_ip: u32,
}

impl EmailSettings {
    /// True when acknowledgements can be sent.
    pub fn outbound(&self) -> bool {
        self.relay_url.is_some() && self.from.is_some()
    }
}

/// The WhatsApp Business Cloud API channel.
#[derive(Debug, Clone)]
pub struct WhatsAppSettings {
    pub app_secret: Secret,
    pub verify_token: Secret,
    pub access_token: Secret,
    pub phone_number_id: String,
    /// Without a trailing slash.
    pub api_base: String,
    pub api_version: String,
    pub idle: std::time::Duration,
    pub media_max_bytes: u64,
    /// Hosts a media download may go to with the access token, besides the API
    /// base's own: exact names, or `.suffix` for any name under it (lower case).
    pub media_hosts: Vec<String>,
    pub sender_limit: Limit,
    pub timeout: std::time::Duration,
    /// The utility template sent when the 24-hour window is closed.
    pub template: WhatsAppTemplate,
}

/// The approved utility template (name and language codes) that asks a worker to
/// write when Meta's 24-hour window is closed.
#[derive(Debug, Clone)]
pub struct WhatsAppTemplate {
    pub name: String,
    pub language_es: String,
    pub language_en: String,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

impl Settings {
    /// The built-in defaults alone (no file, no environment).
    pub fn defaults() -> Self {
        match Self::validate(RawSettings::default()) {
            Ok(s) => s,
            // The defaults are checked by a unit test; this arm is unreachable.
            Err(e) => unreachable!("built-in defaults are invalid: {e}"),
        }
    }

    /// Defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(RawSettings::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError(vec![format!(
                    "config file {} does not exist",
                    file.display()
                )]));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("BUZON_").only(ENV_KEYS));
        let raw: RawSettings = figment.extract().map_err(|e| {
            ConfigError(
                e.into_iter()
                    .map(|e| {
                        let key = e.path.join(".");
                        let source = e
                            .metadata
                            .as_ref()
                            .map(|m| m.name.to_string())
                            .unwrap_or_default();
                        format!("{key}: {} ({source})", e.kind)
                    })
                    .collect(),
            )
        })?;
        Self::validate(raw)
    }

    fn validate(raw: RawSettings) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let http_addr = raw.http_addr.parse::<SocketAddr>().unwrap_or_else(|_| {
            problems.push(format!(
                "http_addr / BUZON_HTTP_ADDR: {:?} is not an address like 127.0.0.1:8080",
                raw.http_addr
            ));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        let database_url = raw.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                raw.data_dir.join("buzon.db").display()
            )
        });
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            problems.push(
                "database_url / BUZON_DATABASE_URL must start with sqlite:// or postgres://".into(),
            );
        }
        let mut trusted_proxies = Vec::new();
        for item in raw.trusted_proxies.items() {
            match item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
            {
                Ok(net) => trusted_proxies.push(net),
                Err(_) => problems.push(format!(
                    "trusted_proxies / BUZON_TRUSTED_PROXIES: {item:?} is not an IP address or CIDR block"
                )),
            }
        }
        if !(1024..=16 * 1024 * 1024).contains(&raw.webhook_max_body_bytes) {
            problems.push(
                "webhook_max_body_bytes / BUZON_WEBHOOK_MAX_BODY_BYTES must be between 1024 and 16777216"
                    .into(),
            );
        }
        if !(1024..=16 * 1024 * 1024).contains(&raw.max_body_bytes) {
            problems.push(
                "max_body_bytes / BUZON_MAX_BODY_BYTES must be between 1024 and 16777216".into(),
            );
        }
        for (name, value) in [
            ("intake_per_minute", raw.intake_per_minute),
            ("intake_burst", raw.intake_burst),
            ("status_per_minute", raw.status_per_minute),
            ("status_burst", raw.status_burst),
            ("general_per_minute", raw.general_per_minute),
            ("general_burst", raw.general_burst),
            ("login_per_minute", raw.login_per_minute),
            ("login_burst", raw.login_burst),
            ("staff_idle_minutes", raw.staff_idle_minutes),
            ("staff_session_hours", raw.staff_session_hours),
            ("db_max_connections", raw.db_max_connections),
        ] {
            if value == 0 {
                problems.push(format!(
                    "{name} / BUZON_{} must be at least 1",
                    name.to_ascii_uppercase()
                ));
            }
        }
        let hash_cost = HashCost {
            memory_kib: raw.argon2_memory_kib,
            iterations: raw.argon2_iterations,
            parallelism: raw.argon2_parallelism,
        };
        if let Err(e) = argon2::Params::new(
            hash_cost.memory_kib,
            hash_cost.iterations,
            hash_cost.parallelism,
            None,
        ) {
            problems.push(format!(
                "argon2_* settings are not valid Argon2id parameters: {e}"
            ));
        }
        let log_format = match raw.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                problems.push(format!(
                    "log_format / BUZON_LOG_FORMAT must be text or json, not {other:?}"
                ));
                LogFormat::Text
            }
        };
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&raw.log) {
            problems.push(format!("log / BUZON_LOG is not a valid filter: {e}"));
        }
        if raw.request_timeout_secs == 0 {
            problems.push(
                "request_timeout_secs / BUZON_REQUEST_TIMEOUT_SECS must be at least 1".into(),
            );
        }
        if !(1..=300).contains(&raw.http_header_timeout_secs) {
            problems.push(
                "http_header_timeout_secs / BUZON_HTTP_HEADER_TIMEOUT_SECS must be from 1 to 300"
                    .into(),
            );
        }
        if !(1..=3600).contains(&raw.http_idle_timeout_secs) {
            problems.push(
                "http_idle_timeout_secs / BUZON_HTTP_IDLE_TIMEOUT_SECS must be from 1 to 3600"
                    .into(),
            );
        }
        for (name, value) in [
            ("http_max_connections", u64::from(raw.http_max_connections)),
            (
                "http_max_connections_per_ip",
                u64::from(raw.http_max_connections_per_ip),
            ),
            ("outbox_max_attempts", u64::from(raw.outbox_max_attempts)),
            ("outbox_retry_base_ms", raw.outbox_retry_base_ms),
            ("purge_interval_secs", raw.purge_interval_secs),
            ("ratelimit_sweep_secs", raw.ratelimit_sweep_secs),
            ("whatsapp_idle_secs", raw.whatsapp_idle_secs),
            ("whatsapp_media_max_bytes", raw.whatsapp_media_max_bytes),
            (
                "whatsapp_sender_per_minute",
                u64::from(raw.whatsapp_sender_per_minute),
            ),
            (
                "whatsapp_sender_burst",
                u64::from(raw.whatsapp_sender_burst),
            ),
            ("whatsapp_timeout_secs", raw.whatsapp_timeout_secs),
            ("lease_secs", raw.lease_secs),
            ("webhook_per_minute", u64::from(raw.webhook_per_minute)),
            ("webhook_burst", u64::from(raw.webhook_burst)),
        ] {
            if value == 0 {
                problems.push(format!(
                    "{name} / BUZON_{} must be at least 1",
                    name.to_ascii_uppercase()
                ));
            }
        }
        if !(2..=100).contains(&raw.indicator_min_cell) {
            problems
                .push("indicator_min_cell / BUZON_INDICATOR_MIN_CELL must be from 2 to 100".into());
        }
        if raw.retention_days > 36_500 {
            problems.push(
                "retention_days / BUZON_RETENTION_DAYS must be at most 36500 (0 keeps cases forever)"
                    .into(),
            );
        }
        if raw.whatsapp_idle_secs > 30 * 24 * 3600 {
            problems.push(
                "whatsapp_idle_secs / BUZON_WHATSAPP_IDLE_SECS must be at most 2592000 (30 days)"
                    .into(),
            );
        }
        if raw.whatsapp_timeout_secs > 60 {
            problems.push(
                "whatsapp_timeout_secs / BUZON_WHATSAPP_TIMEOUT_SECS must be at most 60".into(),
            );
        }
        if raw.lease_secs > 3600 {
            problems.push("lease_secs / BUZON_LEASE_SECS must be at most 3600".into());
        }
        if raw.lease_secs <= raw.whatsapp_timeout_secs {
            // A claim outlives the longest Graph API call: no second instance resends a
            // message whose first send is still waiting for an answer.
            problems.push(
                "lease_secs / BUZON_LEASE_SECS must be longer than whatsapp_timeout_secs / \
                 BUZON_WHATSAPP_TIMEOUT_SECS"
                    .into(),
            );
        }
        if raw.outbox_retry_base_ms > 600_000 {
            problems.push(
                "outbox_retry_base_ms / BUZON_OUTBOX_RETRY_BASE_MS must be at most 600000".into(),
            );
        }
        let redis_url = present(&raw.redis_url).map(str::to_owned);
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("redis+unix://"))
        {
            problems.push(
                "redis_url / BUZON_REDIS_URL must start with redis:// (or redis+unix:// for a \
                 socket)"
                    .into(),
            );
        }
        let metrics_token = present(&raw.metrics_token).map(str::to_owned);
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            problems
                .push("metrics_token / BUZON_METRICS_TOKEN must be at least 16 characters".into());
        }
        let whatsapp = whatsapp_settings(&raw, &mut problems);
        let email = email_settings(&raw, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(Self {
            keys_file: raw
                .keys_file
                .clone()
                .unwrap_or_else(|| raw.data_dir.join("keys.toml")),
            data_dir: raw.data_dir,
            database_url,
            http_addr,
            trusted_proxies,
            secure_cookies: raw.secure_cookies,
            max_body_bytes: usize::try_from(raw.max_body_bytes).unwrap_or(64 * 1024),
            webhook_max_body_bytes: usize::try_from(raw.webhook_max_body_bytes)
                .unwrap_or(3 * 1024 * 1024),
            intake_limit: Limit {
                per_minute: raw.intake_per_minute,
                burst: raw.intake_burst,
            },
            status_limit: Limit {
                per_minute: raw.status_per_minute,
                burst: raw.status_burst,
            },
            general_limit: Limit {
                per_minute: raw.general_per_minute,
                burst: raw.general_burst,
            },
            login_limit: Limit {
                per_minute: raw.login_per_minute,
                burst: raw.login_burst,
            },
            staff_session_idle: chrono::Duration::minutes(i64::from(raw.staff_idle_minutes)),
            staff_session_absolute: chrono::Duration::hours(i64::from(
                raw.staff_session_hours.max(1),
            )),
            hash_cost,
            retention: (raw.retention_days > 0)
                .then(|| chrono::Duration::days(i64::from(raw.retention_days))),
            indicator_min_cell: raw.indicator_min_cell,
            purge_interval: std::time::Duration::from_secs(raw.purge_interval_secs),
            ratelimit_sweep: std::time::Duration::from_secs(raw.ratelimit_sweep_secs),
            redis_url: redis_url.map(Secret::new),
            metrics_token: metrics_token.map(Secret::new),
            db_max_connections: raw.db_max_connections,
            request_timeout: std::time::Duration::from_secs(raw.request_timeout_secs),
            connections: HttpConnections {
                header_timeout: std::time::Duration::from_secs(raw.http_header_timeout_secs),
                idle_timeout: std::time::Duration::from_secs(raw.http_idle_timeout_secs),
                max: usize::try_from(raw.http_max_connections).unwrap_or(10_000),
                max_per_ip: usize::try_from(raw.http_max_connections_per_ip).unwrap_or(64),
            },
            routing_rules: raw.routing_rules,
            outbox: OutboxSettings {
                max_attempts: raw.outbox_max_attempts,
                retry_base: std::time::Duration::from_millis(raw.outbox_retry_base_ms),
                lease: std::time::Duration::from_secs(raw.lease_secs),
            },
            whatsapp,
            webhook_limit: Limit {
                per_minute: raw.webhook_per_minute,
                burst: raw.webhook_burst,
            },
            email,
            log: raw.log,
            log_format,
        })
    }

    /// Whether the console's cookies are marked Secure: always, except on a loopback
    /// address with `secure_cookies` off (local development over plain HTTP).
    pub fn staff_cookies_secure(&self) -> bool {
        self.secure_cookies || !self.http_addr.ip().is_loopback()
    }

    /// The database URL with any password replaced, for logs.
    pub fn database_url_redacted(&self) -> String {
        redact_userinfo(&self.database_url)
    }

    /// The Redis URL with any password replaced, for logs.
    pub fn redis_url_redacted(&self) -> Option<String> {
        self.redis_url
            .as_ref()
            .map(|url| redact_userinfo(url.expose()))
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// `scheme://user:***@host…`: the password (or a lone password) replaced.
fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// The channel is on when its four secrets and ids are set; some but not all of them
/// is a mistake worth stopping for.
/// Reads a value that must stay text even when it looks like a number: environment
/// values are typed by figment, and a phone number id or token may be all digits.
fn scalar_as_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Scalar;
    impl<'de> serde::de::Visitor<'de> for Scalar {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("text")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(Scalar)
        }
    }
    d.deserialize_option(Scalar)
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}
