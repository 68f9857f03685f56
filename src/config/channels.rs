//! The channels' settings, checked as a whole: WhatsApp (all of its secrets or
//! none) and e-mail (addresses, SMTP listener and relay, webhook token).

use super::*;

pub(super) fn whatsapp_settings(
    raw: &RawSettings,
    problems: &mut Vec<String>,
) -> Option<WhatsAppSettings> {
    let required = [
        ("whatsapp_app_secret", present(&raw.whatsapp_app_secret)),
        ("whatsapp_verify_token", present(&raw.whatsapp_verify_token)),
        ("whatsapp_access_token", present(&raw.whatsapp_access_token)),
        (
            "whatsapp_phone_number_id",
            present(&raw.whatsapp_phone_number_id),
        ),
    ];
    let missing: Vec<&str> = required
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| *k)
        .collect();
    if missing.len() == required.len() {
        return None;
    }
    if !missing.is_empty() {
        problems.push(format!(
            "the WhatsApp channel needs all of app secret, verify token, access token and \
             phone number id; missing: {}",
            missing
                .iter()
                .map(|k| format!("{k} / BUZON_{}", k.to_ascii_uppercase()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return None;
    }
    let [
        (_, Some(app_secret)),
        (_, Some(verify_token)),
        (_, Some(access_token)),
        (_, Some(phone_number_id)),
    ] = required
    else {
        return None;
    };
    let api_base = raw
        .whatsapp_api_base
        .trim()
        .trim_end_matches('/')
        .to_owned();
    if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
        problems.push("whatsapp_api_base / BUZON_WHATSAPP_API_BASE must be an http(s) URL".into());
    }
    if !phone_number_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        problems.push(
            "whatsapp_phone_number_id / BUZON_WHATSAPP_PHONE_NUMBER_ID must be letters and digits"
                .into(),
        );
    }
    let version = raw.whatsapp_api_version.trim();
    if !(version.starts_with('v')
        && version.len() <= 16
        && version[1..].chars().all(|c| c.is_ascii_digit() || c == '.'))
    {
        problems
            .push("whatsapp_api_version / BUZON_WHATSAPP_API_VERSION must look like v23.0".into());
    }
    let mut media_hosts = Vec::new();
    for item in raw.whatsapp_media_hosts.items() {
        let host = item.to_ascii_lowercase();
        let name = host.strip_prefix('.').unwrap_or(&host);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            problems.push(format!(
                "whatsapp_media_hosts / BUZON_WHATSAPP_MEDIA_HOSTS: {item:?} is not a host name \
                 (or .domain for any host under it)"
            ));
        } else {
            media_hosts.push(host);
        }
    }
    let template_field = |value: &str, key: &str, problems: &mut Vec<String>| {
        let value = value.trim();
        // Meta: template names are lower case letters, digits and underscores;
        // language codes like es_MX or en.
        if value.is_empty()
            || value.len() > 512
            || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            problems.push(format!(
                "{key} / BUZON_{} must be letters, digits and underscores",
                key.to_ascii_uppercase()
            ));
        }
        value.to_owned()
    };
    let template = WhatsAppTemplate {
        name: template_field(
            &raw.whatsapp_template_name,
            "whatsapp_template_name",
            problems,
        ),
        language_es: template_field(
            &raw.whatsapp_template_language_es,
            "whatsapp_template_language_es",
            problems,
        ),
        language_en: template_field(
            &raw.whatsapp_template_language_en,
            "whatsapp_template_language_en",
            problems,
        ),
    };
    Some(WhatsAppSettings {
        app_secret: Secret::new(app_secret.to_owned()),
        verify_token: Secret::new(verify_token.to_owned()),
        access_token: Secret::new(access_token.to_owned()),
        phone_number_id: phone_number_id.to_owned(),
        api_base,
        api_version: version.to_owned(),
        idle: std::time::Duration::from_secs(raw.whatsapp_idle_secs),
        media_max_bytes: raw.whatsapp_media_max_bytes,
        media_hosts,
        sender_limit: Limit {
            per_minute: raw.whatsapp_sender_per_minute,
            burst: raw.whatsapp_sender_burst,
        },
        timeout: std::time::Duration::from_secs(raw.whatsapp_timeout_secs),
        template,
    })
}

pub(super) fn email_settings(
    raw: &RawSettings,
    problems: &mut Vec<String>,
) -> Option<EmailSettings> {
    let smtp_addr = present(&raw.smtp_addr);
    let webhook_token = present(&raw.email_webhook_token);
    if smtp_addr.is_none() && webhook_token.is_none() {
        return None;
    }
    let smtp_addr = smtp_addr.and_then(|a| match a.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            problems.push(format!(
                "smtp_addr / BUZON_SMTP_ADDR: {a:?} is not an address like 0.0.0.0:25"
            ));
            None
        }
    });
    let mut intake_addresses = Vec::new();
    for item in raw.email_intake_addresses.items() {
        match crate::domain::Email::parse(&item) {
            Ok(email) if !email.as_str().split('@').next().unwrap_or("").contains('+') => {
                intake_addresses.push(email.as_str().to_owned());
            }
            _ => problems.push(format!(
                "email_intake_addresses / BUZON_EMAIL_INTAKE_ADDRESSES: {item:?} is not a plain \
                 e-mail address (no +tag)"
            )),
        }
    }
    if intake_addresses.is_empty() {
        problems.push(
            "the e-mail channel needs email_intake_addresses / BUZON_EMAIL_INTAKE_ADDRESSES: \
             the addresses that take complaints"
                .into(),
        );
    }
    if webhook_token.is_some_and(|t| t.len() < 16) {
        problems.push(
            "email_webhook_token / BUZON_EMAIL_WEBHOOK_TOKEN must be at least 16 characters".into(),
        );
    }
    let relay_url = present(&raw.smtp_relay_url);
    if let Some(url) = relay_url
        && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
    {
        problems.push(
            "smtp_relay_url / BUZON_SMTP_RELAY_URL must start with smtp:// or smtps://".into(),
        );
    }
    let from = present(&raw.email_from).and_then(|from| {
        from.parse::<lettre::message::Mailbox>()
            .map_err(|_| {
                problems.push(format!(
                    "email_from / BUZON_EMAIL_FROM: {from:?} is not a mailbox like \
                     \"Buzón <buzon@example.org>\""
                ));
            })
            .ok()
    });
    if relay_url.is_some() != present(&raw.email_from).is_some() {
        problems.push(
            "acknowledgements need both smtp_relay_url / BUZON_SMTP_RELAY_URL and \
             email_from / BUZON_EMAIL_FROM"
                .into(),
        );
    }
    let tls = match (&raw.smtp_tls_cert, &raw.smtp_tls_key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        (None, None) => None,
        _ => {
            problems.push(
                "STARTTLS needs both smtp_tls_cert / BUZON_SMTP_TLS_CERT and smtp_tls_key / \
                 BUZON_SMTP_TLS_KEY"
                    .into(),
            );
            None
        }
    };
    if !(1024..=64 * 1024 * 1024).contains(&raw.email_max_bytes) {
        problems.push(
            "email_max_bytes / BUZON_EMAIL_MAX_BYTES must be between 1024 and 67108864".into(),
        );
    }
    for (name, value) in [
        ("email_attachment_max_bytes", raw.email_attachment_max_bytes),
        (
            "smtp_sender_per_minute",
            u64::from(raw.smtp_sender_per_minute),
        ),
        ("smtp_sender_burst", u64::from(raw.smtp_sender_burst)),
        ("smtp_ip_per_minute", u64::from(raw.smtp_ip_per_minute)),
        ("smtp_ip_burst", u64::from(raw.smtp_ip_burst)),
        ("smtp_max_connections", u64::from(raw.smtp_max_connections)),
        (
            "smtp_max_connections_per_ip",
            u64::from(raw.smtp_max_connections_per_ip),
        ),
    ] {
        if value == 0 {
            problems.push(format!(
                "{name} / BUZON_{} must be at least 1",
                name.to_ascii_uppercase()
            ));
        }
    }
    let hostname = present(&raw.smtp_hostname)
        .map(str::to_owned)
        .or_else(|| {
            intake_addresses
                .first()
                .and_then(|a| a.rsplit('@').next())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "localhost".into());
    if !hostname
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        problems.push("smtp_hostname / BUZON_SMTP_HOSTNAME must be a host name".into());
    }
    Some(EmailSettings {
        smtp_addr,
        intake_addresses,
        webhook_token: webhook_token.map(|t| Secret::new(t.to_owned())),
        relay_url: relay_url.map(|u| Secret::new(u.to_owned())),
        from,
        hostname,
        tls,
        max_bytes: usize::try_from(raw.email_max_bytes).unwrap_or(25 * 1024 * 1024),
        attachment_max_bytes: usize::try_from(raw.email_attachment_max_bytes)
            .unwrap_or(16 * 1024 * 1024),
        daily_acks: raw.email_daily_acks,
        authserv_id: present(&raw.email_authserv_id).map(str::to_ascii_lowercase),
        sender_limit: Limit {
            per_minute: raw.smtp_sender_per_minute,
            burst: raw.smtp_sender_burst,
        },
        ip_limit: Limit {
            per_minute: raw.smtp_ip_per_minute,
            burst: raw.smtp_ip_burst,
        },
        max_connections: raw.smtp_max_connections,
        max_connections_per_ip: raw.smtp_max_connections_per_ip,
    })
}
