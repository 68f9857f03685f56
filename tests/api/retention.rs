//! Retention against the real server: a case closed longer than `retention_days`
//! loses its identifying data (and, on SQLite, no trace of the erased ciphertexts
//! stays in the database files), keeps its facts and receipt; a case closed recently
//! or still open is untouched; `--dry-run` changes nothing; the server's own schedule
//! purges without the command line.

use crate::advocates::orgs;
use crate::helpers::*;
use crate::on_both_backends;
use crate::triage::options;
use serde_json::json;

const OLD_NAME: &str = "Casimira Retención-Vencida";

async fn file(o: &crate::advocates::Orgs, name: &str) -> (String, String) {
    let (status, created) = post_json(
        &o.http,
        &o.server.url("/api/v1/complaints"),
        &complaint(
            name,
            "477 555 0150",
            "ret@example.org",
            "Nos quitan la prima vacacional",
        ),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let receipt = created["receipt"].as_str().unwrap().to_owned();
    let (status, _) = post_json(
        &o.http,
        &o.server.url("/api/v1/status/messages"),
        &json!({"receipt": receipt, "message": "Sigue igual"}),
    )
    .await;
    assert_eq!(status, 201);
    (created["case_ref"].as_str().unwrap().to_owned(), receipt)
}

async fn close(o: &crate::advocates::Orgs, case_ref: &str, days_ago: i64) {
    for (path, body) in [
        ("notes", json!({"body": "Nota de cierre con datos"})),
        (
            "status",
            json!({"status": "closed", "outcome": "no_response"}),
        ),
    ] {
        let (status, body) = o
            .call(
                "POST",
                &format!("/api/v1/cases/{case_ref}/{path}"),
                &o.inspector,
                Some(&body),
            )
            .await;
        assert!(status == 200 || status == 201, "{path}: {status} {body}");
    }
    let db = o.server.db().await;
    let when = chrono::Utc::now() - chrono::Duration::days(days_ago);
    buzon::db::exec(
        &db,
        "UPDATE cases SET updated_at = $1 WHERE case_ref = $2",
        vec![when.into(), case_ref.into()],
    )
    .await
    .unwrap();
    db.close().await.ok();
}

async fn purged(server: &TestServer, case_ref: &str) -> bool {
    server
        .count(&format!(
            "SELECT COUNT(*) FROM cases WHERE case_ref = '{case_ref}' AND purged_at IS NOT NULL"
        ))
        .await
        == 1
}

async fn closed_cases_lose_identifying_data_after_the_retention_period(backend: Backend) {
    let mut o = orgs(backend).await;
    o.server.terminate();
    let with_retention = || options().env("BUZON_RETENTION_DAYS", "30");
    o.server.start(&with_retention());

    let (old, old_receipt) = file(&o, OLD_NAME).await;
    let (recent, _) = file(&o, "Reciente Cerrada").await;
    let (open, _) = file(&o, "Abierta Todavía").await;
    close(&o, &old, 40).await;
    close(&o, &recent, 3).await;
    let old_name_ct: Vec<u8> = {
        let db = o.server.db().await;
        let row = buzon::db::row(
            &db,
            "SELECT name_ct FROM complainants WHERE case_id = (SELECT id FROM cases WHERE case_ref = $1)",
            vec![old.clone().into()],
        )
        .await
        .unwrap()
        .unwrap();
        db.close().await.ok();
        row.try_get_by_index(0).unwrap()
    };

    // A dry run counts and changes nothing.
    let purge = |flag: &str| {
        o.server.run_with(
            Options::args(&["purge", flag]).env("BUZON_RETENTION_DAYS", "30"),
            "",
        )
    };
    let (ok, out) = purge("--dry-run");
    assert!(ok, "{out}");
    assert!(
        out.contains("would erase the identifying data of 1 cases")
            && out.contains("1 messages, 1 notes"),
        "{out}"
    );
    assert!(!purged(&o.server, &old).await);
    let (ok, _) = o.server.run(&["purge"], "");
    assert!(!ok, "purge says which: --dry-run or --execute");

    let (ok, out) = purge("--execute");
    assert!(ok && out.contains("purged 1 cases"), "{out}");
    assert!(purged(&o.server, &old).await);
    let of = |table: &str, case_ref: &str| {
        format!(
            "SELECT COUNT(*) FROM {table} WHERE case_id = (SELECT id FROM cases WHERE case_ref = '{case_ref}')"
        )
    };
    for (table, case_ref, left) in [
        ("case_messages", &old, 0),
        ("case_notes", &old, 0),
        ("case_violations", &old, 2),
        ("case_messages", &recent, 1),
        ("case_notes", &recent, 1),
        ("case_messages", &open, 1),
    ] {
        assert_eq!(
            o.server.count(&of(table, case_ref)).await,
            left,
            "{table} of {case_ref}"
        );
    }
    let identity = |case_ref: &str| {
        format!(
            "SELECT COUNT(*) FROM complainants WHERE case_id = (SELECT id FROM cases WHERE case_ref = '{case_ref}') \
             AND name_ct IS NULL AND phone_ct IS NULL AND email_ct IS NULL AND worker_id_ct IS NULL \
             AND phone_bidx IS NULL AND email_bidx IS NULL"
        )
    };
    assert_eq!(o.server.count(&identity(&old)).await, 1);
    assert_eq!(o.server.count(&identity(&recent)).await, 0);
    assert!(!purged(&o.server, &recent).await && !purged(&o.server, &open).await);

    // The worker's receipt still tells them the case was closed.
    let (status, seen) = post_json(
        &o.http,
        &o.server.url("/api/v1/status"),
        &json!({"receipt": old_receipt}),
    )
    .await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["status"], "closed", "{seen}");
    // The inspector still reads the case's facts.
    let (status, case) = o
        .call("GET", &format!("/api/v1/cases/{old}"), &o.inspector, None)
        .await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["status"], "closed");
    // The purge is on the record, and the record is intact.
    assert_eq!(
        o.server
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'purge'")
            .await,
        1
    );
    let (ok, out) = o.server.run(&["audit", "verify"], "");
    assert!(ok && out.contains("audit log intact"), "{out}");
    // SQLite: the erased ciphertext is not left behind in free pages or the WAL.
    if backend == Backend::Sqlite {
        let needle = &old_name_ct[5..37];
        for (path, bytes) in o.server.sqlite_files() {
            assert!(
                !contains_bytes(&bytes, needle),
                "erased ciphertext still in {}",
                path.display()
            );
        }
    }

    // The server's schedule purges on its own.
    close(&o, &open, 45).await;
    o.server.terminate();
    o.server
        .start(&with_retention().env("BUZON_PURGE_INTERVAL_SECS", "1"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !purged(&o.server, &open).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the schedule never purged"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(!purged(&o.server, &recent).await);
    assert!(!o.server.logs().contains(OLD_NAME));
}

on_both_backends!(closed_cases_lose_identifying_data_after_the_retention_period);
