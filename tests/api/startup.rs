//! Start-up, configuration, keys and shutdown of the real binary.

use crate::helpers::*;
use std::process::Command;

fn buzon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_buzon"))
}

#[test]
fn help_documents_every_setting() {
    let out = buzon().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "BUZON_DATA_DIR",
        "BUZON_DATABASE_URL",
        "BUZON_HTTP_ADDR",
        "BUZON_KEYS_FILE",
        "BUZON_TRUSTED_PROXIES",
        "serve",
        "migrate",
        "--config",
    ] {
        assert!(help.contains(var), "{var} missing from --help");
    }
}

#[test]
fn bad_settings_stop_the_start_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = buzon()
        .arg("serve")
        .env("BUZON_DATA_DIR", dir.path())
        .env("BUZON_HTTP_ADDR", "not-an-address")
        .env("BUZON_DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("BUZON_HTTP_ADDR") && err.contains("BUZON_DATABASE_URL"),
        "{err}"
    );

    let file = dir.path().join("buzon.toml");
    std::fs::write(&file, "http_adr = \"127.0.0.1:1\"\n").unwrap();
    let out = buzon()
        .args(["--config", file.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("http_adr"),
        "a typo in the file is named"
    );
}

#[tokio::test]
async fn first_start_creates_a_private_key_file_and_says_so_loudly() {
    let mut server = TestServer::spawn(Backend::Sqlite).await;
    let logs = server.logs();
    assert!(
        logs.contains("NEW KEY FILE CREATED") && logs.contains("Back it up"),
        "{logs}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(server.keys_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    // A second start reuses it silently, and what was filed before is still there.
    let (status, created) = post_json(
        &client(),
        &server.url("/api/v1/complaints"),
        &anonymous_complaint(),
    )
    .await;
    assert_eq!(status, 201);
    let status = server.terminate().expect("was running");
    assert!(status.success(), "SIGTERM is a clean shutdown: {status:?}");
    assert!(server.logs().contains("stopped"));
    server.start(&Options::default());
    assert_eq!(server.logs().matches("NEW KEY FILE CREATED").count(), 1);
    let (status, _) = post_json(
        &client(),
        &server.url("/api/v1/status"),
        &serde_json::json!({"receipt": created["receipt"]}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_key_file_that_does_not_belong_to_the_database_is_refused() {
    let mut server = TestServer::spawn(Backend::Sqlite).await;
    server.terminate();
    let original = std::fs::read(server.keys_file()).unwrap();

    // Lost key file: refused, and no new one is made in its place.
    std::fs::remove_file(server.keys_file()).unwrap();
    let out = server.command(&Options::default()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is missing, but this database was created with one"),
        "{err}"
    );
    assert!(!server.keys_file().exists());

    // Someone else's key file: refused (made private first: an open one is refused
    // for that before anything else).
    std::fs::write(
        server.keys_file(),
        buzon::crypto::KeyRing::generate_file().unwrap(),
    )
    .unwrap();
    set_mode(&server.keys_file(), 0o600);
    let out = server.command(&Options::default()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("key file does not belong to this database"),
        "{err}"
    );

    // The right one again: starts.
    std::fs::write(server.keys_file(), original).unwrap();
    server.start(&Options::default());
    assert!(server.is_running());
}

#[tokio::test]
async fn migrate_applies_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let out = buzon()
        .arg("migrate")
        .env(
            "BUZON_DATABASE_URL",
            format!("sqlite://{}?mode=rwc", db.display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&db).unwrap_or_default();
    let wal = std::fs::read(dir.path().join("m.db-wal")).unwrap_or_default();
    assert!(contains_bytes(&bytes, b"CREATE TABLE") || contains_bytes(&wal, b"CREATE TABLE"));
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs a command; asserts it fails and names `fix`.
fn refused(server: &TestServer, args: &[&str], fix: &str) {
    let out = server.command(&Options::args(args)).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(fix),
        "{args:?}: {err}"
    );
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A data directory or key file other users may open is refused at start, by
/// `serve` and the commands alike, with the `chmod` that fixes it; a fresh start
/// makes the database file 0600 (issue 30, finding 10).
#[tokio::test]
async fn an_open_data_directory_or_key_file_is_refused_with_the_fix() {
    let mut server = TestServer::spawn(Backend::Sqlite).await;
    assert_eq!(mode_of(&server.data_dir), 0o700);
    let db = server.data_dir.join("buzon.db");
    assert_eq!(
        mode_of(&db),
        0o600,
        "the database file is the owner's alone"
    );
    for side in ["buzon.db-wal", "buzon.db-shm"] {
        let path = server.data_dir.join(side);
        if path.exists() {
            assert_eq!(mode_of(&path), 0o600, "{side}");
        }
    }
    server.terminate();

    // A key file made 0644.
    set_mode(&server.keys_file(), 0o644);
    let fix = format!("chmod 600 {}", server.keys_file().display());
    let out = server.command(&Options::default()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&fix) && err.contains("mode 0644"), "{err}");
    refused(&server, &["staff", "list"], &fix);
    set_mode(&server.keys_file(), 0o600);

    // A data directory made 0755.
    set_mode(&server.data_dir, 0o755);
    let fix = format!("chmod 700 {}", server.data_dir.display());
    let out = server.command(&Options::default()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&fix) && err.contains("mode 0755"), "{err}");
    for args in [&["migrate"][..], &["staff", "list"], &["audit", "verify"]] {
        refused(&server, args, &fix);
    }

    // Fixed as told: starts.
    set_mode(&server.data_dir, 0o700);
    server.start(&Options::default());
    assert!(server.is_running());
}

/// A data directory created 0755 before the first start (as `mkdir` makes it) is
/// refused before any database file is made in it.
#[test]
fn a_precreated_open_data_directory_gets_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    set_mode(&data, 0o755);
    let mut child = buzon()
        .arg("serve")
        .env("BUZON_DATA_DIR", &data)
        .env("BUZON_HTTP_ADDR", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It must stop by itself; one that serves is stopped here, not waited for.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let started = child.try_wait().unwrap().is_none();
    if started {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(!started, "it started with an open data directory");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("chmod 700 {}", data.display())),
        "{err}"
    );
    assert!(!data.join("buzon.db").exists());
    assert!(!data.join("keys.toml").exists());
}
