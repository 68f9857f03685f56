//! `buzon backup`: a consistent copy of the SQLite database taken while the server
//! runs and keeps writing; restoring it (stop, put the copy in place, start) brings
//! back exactly what it held. The copy holds no identifying data in the clear.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn an_online_sqlite_backup_restores_what_it_held() {
    let mut server = TestServer::spawn(Backend::Sqlite).await;
    let http = client();
    let filed = |name: &'static str| {
        let (http, url) = (http.clone(), server.url("/api/v1/complaints"));
        async move {
            let body = complaint(
                name,
                "+52 1 477 555 0199",
                "respaldo@example.org",
                "Antes del respaldo.",
            );
            let (status, created) = post_json(&http, &url, &body).await;
            assert_eq!(status, 201, "{created}");
            created["receipt"].as_str().unwrap().to_owned()
        }
    };
    let before = filed("Beatriz Respaldo").await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("buzon-backup.db");
    let (ok, _) = server.run(&["backup", copy.to_str().unwrap()], "");
    assert!(ok, "backup while the server runs");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&copy).unwrap().permissions());
    assert_eq!(mode & 0o077, 0, "the copy is its owner's only");
    // Never over an existing file.
    let (ok, _) = server.run(&["backup", copy.to_str().unwrap()], "");
    assert!(!ok);
    let after = filed("Claudio Despues").await;

    // Restore: stop, put the copy in place of the database, start.
    assert!(server.terminate().is_some_and(|s| s.success()));
    let backup = std::fs::read(&copy).unwrap();
    assert_none_in(
        &[("the backup".into(), backup)],
        &[
            "Beatriz Respaldo",
            "4775550199",
            "respaldo@example.org",
            "Antes del respaldo",
        ],
    );
    for (path, _) in server.sqlite_files() {
        std::fs::remove_file(path).unwrap();
    }
    std::fs::copy(&copy, server.sqlite_files_dir().join("buzon.db")).unwrap();
    server.start(&Options::default());
    let status = |receipt: String| {
        let (http, url) = (http.clone(), server.url("/api/v1/status"));
        async move { post_json(&http, &url, &json!({"receipt": receipt})).await.0 }
    };
    assert_eq!(
        status(before).await,
        200,
        "the case the backup held is back"
    );
    assert_eq!(
        status(after).await,
        404,
        "the later one was not in the backup"
    );
}

#[tokio::test]
async fn postgresql_backups_are_pg_dumps() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let server = TestServer::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let out = server
        .command(&Options::args(&[
            "backup",
            dir.path().join("x.db").to_str().unwrap(),
        ]))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
}
