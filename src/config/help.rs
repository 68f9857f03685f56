//! The settings' reference (`buzon --help-settings`) and the environment variables
//! read, so a misspelt `BUZON_` variable is reported instead of ignored.

/// Every setting, its environment variable and what it does; `buzon --help` prints
/// this table, so it is the one list to keep up to date.
pub const SETTINGS_HELP: &str = "\
Settings (TOML file keys; environment variables override the file):
  BUZON_DATA_DIR             data_dir             Data directory, created if missing [./data]
  BUZON_DATABASE_URL         database_url         sqlite://PATH or postgres://USER@HOST/DB
                                                  [sqlite://DATA_DIR/buzon.db]
  BUZON_HTTP_ADDR            http_addr            Address to listen on [127.0.0.1:8080]
  BUZON_KEYS_FILE            keys_file            Key file, created with mode 0600 if missing
                                                  [DATA_DIR/keys.toml]. Back it up!
  BUZON_TRUSTED_PROXIES      trusted_proxies      Comma-separated IPs/CIDRs of reverse proxies
                                                  whose X-Forwarded-For is believed [none]
  BUZON_SECURE_COOKIES       secure_cookies       Mark cookies Secure (set when served over HTTPS)
                                                  [false]
  BUZON_MAX_BODY_BYTES       max_body_bytes       Largest request body accepted [65536]
  BUZON_INTAKE_PER_MINUTE    intake_per_minute    Complaints per client IP per minute [10]
  BUZON_INTAKE_BURST         intake_burst         ...allowed at once before that rate applies [10]
  BUZON_STATUS_PER_MINUTE    status_per_minute    Receipt look-ups and messages per IP per minute [5]
  BUZON_STATUS_BURST         status_burst         ...allowed at once [5]
  BUZON_GENERAL_PER_MINUTE   general_per_minute   Any other request per IP per minute [300]
  BUZON_GENERAL_BURST        general_burst        ...allowed at once [100]
  BUZON_ARGON2_MEMORY_KIB    argon2_memory_kib    Argon2id memory for receipt hashes [19456]
  BUZON_ARGON2_ITERATIONS    argon2_iterations    Argon2id passes [2]
  BUZON_ARGON2_PARALLELISM   argon2_parallelism   Argon2id lanes [1]
  BUZON_DB_MAX_CONNECTIONS   db_max_connections   Database pool size; SQLite: readers, plus one writer [10]
  BUZON_REQUEST_TIMEOUT_SECS request_timeout_secs Longest a request may take [30]
  BUZON_HTTP_HEADER_TIMEOUT_SECS http_header_timeout_secs A request's headers must arrive within
                                                  this long of its first byte, or the connection
                                                  is closed [5]
  BUZON_HTTP_IDLE_TIMEOUT_SECS http_idle_timeout_secs A connection with no request in progress is
                                                  closed after this long quiet [30]
  BUZON_HTTP_MAX_CONNECTIONS http_max_connections HTTP connections open at once; lowered at start
                                                  to fit the open-file limit [10000]
  BUZON_HTTP_MAX_CONNECTIONS_PER_IP http_max_connections_per_ip ...from one client address (IPv6:
                                                  its /64); trusted proxies are exempt [64]
  BUZON_ROUTING_RULES        routing_rules        Routing rules file [built in: rules/routing.toml]
  BUZON_OUTBOX_MAX_ATTEMPTS  outbox_max_attempts  Sends tried before a message is dead-lettered
                                                  [16: about 1.5 h with the default base]
  BUZON_OUTBOX_RETRY_BASE_MS outbox_retry_base_ms First retry delay; doubles each attempt [2000]
  BUZON_LEASE_SECS           lease_secs           How long a worker's claim on an inbox, outbox or
                                                  download row lasts: rows of an instance that died
                                                  are taken over after this long [120]
  BUZON_STAFF_IDLE_MINUTES   staff_idle_minutes   Console sessions end after this long unused [30]
  BUZON_STAFF_SESSION_HOURS  staff_session_hours  ...and this long after sign-in, used or not [12]
  BUZON_LOGIN_PER_MINUTE     login_per_minute     Sign-in attempts per client IP per minute [10]
  BUZON_LOGIN_BURST          login_burst          ...allowed at once [10]
  BUZON_METRICS_TOKEN        metrics_token        Bearer token GET /metrics asks for (16+ characters)
                                                  [none: /metrics answers anyone; warned at start]
  BUZON_RETENTION_DAYS       retention_days       Identifying data of cases closed longer than this
                                                  is erased (facts stay for statistics); 0: never
                                                  [730]
  BUZON_PURGE_INTERVAL_SECS  purge_interval_secs  How often the server runs that purge [3600]
  BUZON_INDICATOR_MIN_CELL   indicator_min_cell   Indicators show counts under this as < n, and
                                                  hide others that would reveal them [5]
  BUZON_RATELIMIT_SWEEP_SECS ratelimit_sweep_secs How often rate limiters forget recovered
                                                  clients (bounds their memory) [60]
  BUZON_REDIS_URL            redis_url            redis://[:PASSWORD@]HOST:PORT[/DB]: every rate limit
                                                  is shared by all instances through this Redis
                                                  [off: per instance, in memory]. While it is
                                                  unreachable, sign-in and receipt look-ups answer
                                                  503 limits_unavailable; the rest fall back to
                                                  per-instance limits
WhatsApp channel (off, and /webhooks/whatsapp answers 404, until the first four are set):
  BUZON_WHATSAPP_APP_SECRET  whatsapp_app_secret  App secret: webhook signatures (X-Hub-Signature-256)
  BUZON_WHATSAPP_VERIFY_TOKEN whatsapp_verify_token Token of the webhook verification handshake
  BUZON_WHATSAPP_ACCESS_TOKEN whatsapp_access_token Cloud API access token (Bearer)
  BUZON_WHATSAPP_PHONE_NUMBER_ID whatsapp_phone_number_id Business phone number id
  BUZON_WHATSAPP_API_BASE    whatsapp_api_base    Graph API base URL [https://graph.facebook.com]
  BUZON_WHATSAPP_API_VERSION whatsapp_api_version Graph API version [v23.0]
  BUZON_WHATSAPP_IDLE_SECS   whatsapp_idle_secs   An unfinished conversation is erased after this
                                                  long without a message [3600]
  BUZON_WHATSAPP_MEDIA_MAX_BYTES whatsapp_media_max_bytes Largest photo/document/voice note [16777216]
  BUZON_WHATSAPP_MEDIA_HOSTS whatsapp_media_hosts Comma-separated hosts media is downloaded from
                                                  with the access token, besides the API base's
                                                  (.domain: any host under it); https only
                                                  [lookaside.fbsbx.com, .fbcdn.net]
  BUZON_WHATSAPP_SENDER_PER_MINUTE whatsapp_sender_per_minute Messages per sender per minute [30]
  BUZON_WHATSAPP_SENDER_BURST whatsapp_sender_burst ...allowed at once [20]
  BUZON_WHATSAPP_TIMEOUT_SECS whatsapp_timeout_secs Longest wait for a Graph API answer [20]
  BUZON_WHATSAPP_TEMPLATE_NAME whatsapp_template_name Approved utility template sent when the
                                                  24-hour window is closed [buzon_mensaje_nuevo]
  BUZON_WHATSAPP_TEMPLATE_LANGUAGE_ES whatsapp_template_language_es ...its Spanish language code [es_MX]
  BUZON_WHATSAPP_TEMPLATE_LANGUAGE_EN whatsapp_template_language_en ...its English language code [en]
  BUZON_WEBHOOK_MAX_BODY_BYTES webhook_max_body_bytes Largest webhook delivery (Meta: up to 3 MB)
                                                  [3145728]
  BUZON_WEBHOOK_PER_MINUTE   webhook_per_minute   Webhook deliveries per source IP per minute [6000]
  BUZON_WEBHOOK_BURST        webhook_burst        ...allowed at once [1000]
E-mail channel (off until BUZON_SMTP_ADDR or BUZON_EMAIL_WEBHOOK_TOKEN is set; both need
BUZON_EMAIL_INTAKE_ADDRESSES; acknowledgements need BUZON_SMTP_RELAY_URL and BUZON_EMAIL_FROM):
  BUZON_SMTP_ADDR            smtp_addr            Inbound SMTP listener, e.g. 0.0.0.0:25 [off]
  BUZON_EMAIL_INTAKE_ADDRESSES email_intake_addresses Comma-separated addresses that take complaints;
                                                  only these (and their +tag forms) are accepted
  BUZON_EMAIL_WEBHOOK_TOKEN  email_webhook_token  Bearer token of POST /webhooks/email [off]
  BUZON_SMTP_RELAY_URL       smtp_relay_url       Outbound relay: smtp://user:pass@host:587?tls=required
                                                  or smtps://user:pass@host [off: no acknowledgements]
  BUZON_EMAIL_FROM           email_from           From of acknowledgements: Buzón <buzon@example.org>
  BUZON_SMTP_HOSTNAME        smtp_hostname        Name in the SMTP greeting [domain of the first intake address]
  BUZON_SMTP_TLS_CERT        smtp_tls_cert        PEM certificate chain: STARTTLS is offered when set
  BUZON_SMTP_TLS_KEY         smtp_tls_key         PEM private key of that certificate
  BUZON_EMAIL_MAX_BYTES      email_max_bytes      Largest message (announced as SIZE) [26214400]
  BUZON_EMAIL_ATTACHMENT_MAX_BYTES email_attachment_max_bytes Largest attachment kept [16777216]
  BUZON_EMAIL_DAILY_ACKS     email_daily_acks     Acknowledgements per sender address per 24 h [5]
  BUZON_EMAIL_AUTHSERV_ID    email_authserv_id    The relay whose Authentication-Results are read
                                                  (its authserv-id) [off: the top-most header]
  BUZON_SMTP_SENDER_PER_MINUTE smtp_sender_per_minute Messages per sender address per minute [10]
  BUZON_SMTP_SENDER_BURST    smtp_sender_burst    ...allowed at once [20]
  BUZON_SMTP_IP_PER_MINUTE   smtp_ip_per_minute   Messages per client IP per minute [120]
  BUZON_SMTP_IP_BURST        smtp_ip_burst        ...allowed at once [60]
  BUZON_SMTP_MAX_CONNECTIONS smtp_max_connections SMTP sessions at once [100]
  BUZON_SMTP_MAX_CONNECTIONS_PER_IP smtp_max_connections_per_ip ...from one client address (IPv6:
                                                  its /64) [10]
  BUZON_LOG                  log                  tracing filter [info,sqlx=warn]
  BUZON_LOG_FORMAT           log_format           text or json [text]";

/// Keys read from the environment; anything else starting with `BUZON_` is ignored
/// (so unrelated variables such as test switches never break start-up).
pub(super) const ENV_KEYS: &[&str] = &[
    "data_dir",
    "database_url",
    "http_addr",
    "keys_file",
    "trusted_proxies",
    "secure_cookies",
    "max_body_bytes",
    "intake_per_minute",
    "intake_burst",
    "status_per_minute",
    "status_burst",
    "general_per_minute",
    "general_burst",
    "argon2_memory_kib",
    "argon2_iterations",
    "argon2_parallelism",
    "db_max_connections",
    "request_timeout_secs",
    "http_header_timeout_secs",
    "http_idle_timeout_secs",
    "http_max_connections",
    "http_max_connections_per_ip",
    "routing_rules",
    "outbox_max_attempts",
    "outbox_retry_base_ms",
    "lease_secs",
    "staff_idle_minutes",
    "staff_session_hours",
    "retention_days",
    "indicator_min_cell",
    "purge_interval_secs",
    "ratelimit_sweep_secs",
    "redis_url",
    "metrics_token",
    "login_per_minute",
    "login_burst",
    "whatsapp_app_secret",
    "whatsapp_verify_token",
    "whatsapp_access_token",
    "whatsapp_phone_number_id",
    "whatsapp_api_base",
    "whatsapp_api_version",
    "whatsapp_idle_secs",
    "whatsapp_media_max_bytes",
    "whatsapp_media_hosts",
    "whatsapp_sender_per_minute",
    "whatsapp_sender_burst",
    "whatsapp_timeout_secs",
    "whatsapp_template_name",
    "whatsapp_template_language_es",
    "whatsapp_template_language_en",
    "webhook_max_body_bytes",
    "webhook_per_minute",
    "webhook_burst",
    "smtp_addr",
    "email_intake_addresses",
    "email_webhook_token",
    "smtp_relay_url",
    "email_from",
    "smtp_hostname",
    "smtp_tls_cert",
    "smtp_tls_key",
    "email_max_bytes",
    "email_attachment_max_bytes",
    "email_daily_acks",
    "email_authserv_id",
    "smtp_sender_per_minute",
    "smtp_sender_burst",
    "smtp_ip_per_minute",
    "smtp_ip_burst",
    "smtp_max_connections",
    "smtp_max_connections_per_ip",
    "log",
    "log_format",
];
