use super::*;

#[test]
fn defaults_are_the_embedded_setup() {
    let s = Settings::validate(RawSettings::default()).map_err(|e| e.to_string());
    let s = s.as_ref().ok();
    assert_eq!(
        s.map(|s| s.http_addr.to_string()),
        Some("127.0.0.1:8080".into())
    );
    assert_eq!(
        s.map(|s| s.keys_file.clone()),
        Some(PathBuf::from("./data/keys.toml"))
    );
    assert!(s.is_some_and(|s| s.is_sqlite()));
}

#[test]
fn every_problem_is_reported_with_what_to_fix() {
    let raw = RawSettings {
        http_addr: "localhost".into(),
        database_url: Some("mysql://x".into()),
        trusted_proxies: ListOrString::One("10.0.0.0/8, nope".into()),
        log_format: "xml".into(),
        ..RawSettings::default()
    };
    let err = Settings::validate(raw)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    for needle in [
        "BUZON_HTTP_ADDR",
        "BUZON_DATABASE_URL",
        "\"nope\"",
        "BUZON_LOG_FORMAT",
    ] {
        assert!(err.contains(needle), "{needle} missing from {err}");
    }
}

#[test]
fn email_is_off_until_configured_and_its_problems_are_named() {
    let off = Settings::validate(RawSettings::default()).map(|s| s.email.is_none());
    assert!(matches!(off, Ok(true)));
    let err = Settings::validate(RawSettings {
        smtp_addr: Some("0.0.0.0:25".into()),
        email_intake_addresses: ListOrString::One("quejas+x@example.org, nope".into()),
        smtp_relay_url: Some("http://relay".into()),
        smtp_tls_cert: Some("cert.pem".into()),
        ..RawSettings::default()
    })
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    for needle in [
        "\"quejas+x@example.org\"",
        "\"nope\"",
        "BUZON_EMAIL_INTAKE_ADDRESSES: the addresses",
        "BUZON_SMTP_RELAY_URL must start with smtp://",
        "BUZON_EMAIL_FROM",
        "BUZON_SMTP_TLS_KEY",
    ] {
        assert!(err.contains(needle), "{needle} missing from {err}");
    }
    let on = Settings::validate(RawSettings {
        email_webhook_token: Some("0123456789abcdef".into()),
        email_intake_addresses: ListOrString::One("Quejas@Example.org".into()),
        ..RawSettings::default()
    });
    let email = on.ok().and_then(|s| s.email);
    assert_eq!(
        email
            .as_ref()
            .map(|e| (e.intake_addresses.clone(), e.hostname.clone(), e.outbound())),
        Some((
            vec!["quejas@example.org".to_owned()],
            "example.org".to_owned(),
            false
        ))
    );
}

#[test]
fn whatsapp_is_off_until_configured_and_half_a_configuration_is_refused() {
    let off = Settings::validate(RawSettings::default()).map(|s| s.whatsapp.is_none());
    assert!(matches!(off, Ok(true)));
    let half = Settings::validate(RawSettings {
        whatsapp_app_secret: Some("s".into()),
        whatsapp_access_token: Some("t".into()),
        ..RawSettings::default()
    })
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(half.contains("BUZON_WHATSAPP_VERIFY_TOKEN"), "{half}");
    assert!(half.contains("BUZON_WHATSAPP_PHONE_NUMBER_ID"), "{half}");
    assert!(!half.contains("BUZON_WHATSAPP_APP_SECRET"), "{half}");
    let on = Settings::validate(RawSettings {
        whatsapp_app_secret: Some("s".into()),
        whatsapp_access_token: Some("t".into()),
        whatsapp_verify_token: Some("v".into()),
        whatsapp_phone_number_id: Some("1234".into()),
        whatsapp_api_base: "http://127.0.0.1:9/".into(),
        ..RawSettings::default()
    });
    let on = on.ok().and_then(|s| s.whatsapp);
    assert_eq!(
        on.as_ref().map(|w| w.api_base.as_str()),
        Some("http://127.0.0.1:9")
    );
    assert!(!format!("{on:?}").contains("\"t\""));
}

#[test]
fn whatsapp_keys_are_read_from_the_toml_file_even_when_they_look_like_numbers() {
    let dir = tempfile::tempdir().map_err(|e| e.to_string());
    let path = dir
        .as_ref()
        .map(|d| d.path().join("buzon.toml"))
        .unwrap_or_default();
    let written = std::fs::write(
        &path,
        "whatsapp_app_secret = \"s3cr3t\"\nwhatsapp_verify_token = 123456\n\
         whatsapp_access_token = \"EAAG\"\nwhatsapp_phone_number_id = 106540352242922\n\
         whatsapp_idle_secs = 60\n",
    );
    assert!(written.is_ok());
    let wa = Settings::load(Some(&path))
        .map_err(|e| e.to_string())
        .map(|s| s.whatsapp);
    let wa = wa.as_ref().ok().and_then(Option::as_ref);
    assert_eq!(
        wa.map(|w| w.phone_number_id.as_str()),
        Some("106540352242922")
    );
    assert_eq!(wa.map(|w| w.verify_token.expose()), Some("123456"));
    assert_eq!(wa.map(|w| w.idle.as_secs()), Some(60));
}

#[test]
fn passwords_are_redacted() {
    let s = Settings::validate(RawSettings {
        database_url: Some("postgres://buzon:s3cret@db:5432/buzon".into()),
        ..RawSettings::default()
    });
    let url = s.map(|s| s.database_url_redacted()).unwrap_or_default();
    assert_eq!(url, "postgres://buzon:***@db:5432/buzon");
}

#[test]
fn redis_is_off_by_default_its_url_checked_and_its_password_redacted() {
    assert!(Settings::defaults().redis_url.is_none());
    let with = |url: &str| {
        Settings::validate(RawSettings {
            redis_url: Some(url.into()),
            ..RawSettings::default()
        })
    };
    let s = with("redis://:hunter2-redis@10.0.0.5:6379/2").ok();
    assert_eq!(
        s.as_ref().and_then(Settings::redis_url_redacted),
        Some("redis://:***@10.0.0.5:6379/2".into())
    );
    assert!(
        !format!("{s:?}").contains("hunter2-redis"),
        "Debug hides it too"
    );
    assert_eq!(
        with("redis://cache:6379")
            .ok()
            .and_then(|s| s.redis_url_redacted()),
        Some("redis://cache:6379".into())
    );
    // Blank is off; another scheme is named as the problem.
    assert!(with("  ").is_ok_and(|s| s.redis_url.is_none()));
    let err = with("http://cache:6379").err().map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("BUZON_REDIS_URL")));
}
