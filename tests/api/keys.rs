//! Key rotation against the real server and database: `buzon keys rotate` adds an
//! active key, new values use it once the server restarts, `reencrypt` moves every
//! old value over in resumable slices, `retire` is refused while a value still needs
//! the old key and works once none does, and afterwards everything still reads (the
//! worker's receipt, the inspector's reveal, the audit chain) without the old key.

use crate::advocates::{file_as, for_member, orgs};
use crate::helpers::*;
use crate::on_both_backends;
use crate::triage::options;
use serde_json::json;
use std::collections::BTreeSet;

const NAME: &str = "Teodora Llave-Rotada";
const NARRATIVE: &str = "Nos obligan a firmar la renuncia en blanco cada lunes";

/// Every `*_ct` column the database has, as `table.column`.
async fn encrypted_columns(server: &TestServer, backend: Backend) -> BTreeSet<String> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name LIKE '%\\_ct' ESCAPE '\\'"
        }
        Backend::Postgres => {
            "SELECT table_name || '.' || column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND column_name LIKE '%\\_ct' ESCAPE '\\'"
        }
    };
    let db = server.db().await;
    let rows = buzon::db::rows(&db, sql, vec![]).await.unwrap();
    db.close().await.ok();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

async fn by_key(server: &TestServer) -> Vec<(u32, i64)> {
    let db = server.db().await;
    let status = buzon::rekey::status(&db).await.unwrap();
    db.close().await.ok();
    status.by_key().into_iter().collect()
}

async fn rotate_reencrypt_and_retire(backend: Backend) {
    let mut o = orgs(backend).await;
    let http = client();

    // Every encrypted column is one `keys` knows about.
    let known: BTreeSet<String> = buzon::rekey::SEALED
        .iter()
        .map(|s| format!("{}.{}", s.table, s.column))
        .collect();
    assert_eq!(encrypted_columns(&o.server, backend).await, known);

    // Values under key 1: a worker's complaint and message, an organization's filing,
    // staff e-mails, and an audited reason.
    let (status, created) = post_json(
        &http,
        &o.server.url("/api/v1/complaints"),
        &complaint(NAME, "477 555 0142", "llave@example.org", NARRATIVE),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let receipt = created["receipt"].as_str().unwrap().to_owned();
    let (status, _) = post_json(
        &http,
        &o.server.url("/api/v1/status/messages"),
        &json!({"receipt": receipt, "message": "Sigue pasando"}),
    )
    .await;
    assert_eq!(status, 201);
    let filed = file_as(
        &o,
        &o.a,
        &for_member("Rosa Medina Ortiz", &["unpaid_wages"]),
    )
    .await;
    let a_ref = filed["case_ref"].as_str().unwrap().to_owned();
    let reveal = |o: &crate::advocates::Orgs| {
        let (http, url, token) = (
            o.http.clone(),
            o.server.url(&format!("/api/v1/cases/{a_ref}/reveal")),
            o.inspector.clone(),
        );
        async move {
            let (status, who) = crate::triage::call(
                &http,
                "POST",
                &url,
                Some(&token),
                Some(&json!({"reason": "citar a la trabajadora"})),
            )
            .await;
            assert_eq!(status, 200, "{who}");
            who
        }
    };
    reveal(&o).await;
    let note_url = format!("/api/v1/cases/{a_ref}/notes");
    let (status, _) = o
        .call(
            "POST",
            &note_url,
            &o.inspector,
            Some(&json!({"body": "Nota cifrada"})),
        )
        .await;
    assert_eq!(status, 201);
    let before = by_key(&o.server).await;
    assert_eq!(before.len(), 1, "{before:?}");
    let (old_key, total) = before[0];
    assert_eq!(old_key, 1);
    assert!(total > 15, "{before:?}");

    // Rotate; the restarted server writes new values under key 2.
    let (ok, out) = o.server.run(&["keys", "rotate"], "");
    assert!(ok && out.contains("key 2 added"), "{out}");
    o.server.terminate();
    o.server.start(&options());
    let (status, _) = post_json(
        &http,
        &o.server.url("/api/v1/complaints"),
        &complaint(
            "Otra Persona",
            "477 555 0143",
            "otra@example.org",
            NARRATIVE,
        ),
    )
    .await;
    assert_eq!(status, 201);
    let mixed = by_key(&o.server).await;
    assert_eq!(mixed.first(), Some(&(1, total)), "{mixed:?}");
    assert!(
        mixed.get(1).is_some_and(|(k, n)| *k == 2 && *n > 0),
        "{mixed:?}"
    );

    // A slice of three, while the server runs: three fewer under key 1.
    let (ok, out) = o
        .server
        .run(&["keys", "reencrypt", "--batch", "2", "--limit", "3"], "");
    assert!(ok && out.contains("re-encrypted 3 values"), "{out}");
    assert_eq!(by_key(&o.server).await[0], (1, total - 3));
    let (ok, _) = o.server.run(&["keys", "retire", "1"], "");
    assert!(!ok, "key 1 still protects values");
    let (ok, out) = o.server.run(&["keys", "status"], "");
    assert!(ok && out.contains("still in use"), "{out}");

    // The rest resumes where the slice stopped.
    let (ok, out) = o.server.run(&["keys", "reencrypt", "--batch", "5"], "");
    assert!(ok && out.contains("0 still under older keys"), "{out}");
    let after = by_key(&o.server).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].0, 2);
    let (ok, out) = o.server.run(&["keys", "retire", "1"], "");
    assert!(ok, "{out}");
    let keys = std::fs::read_to_string(o.server.keys_file()).unwrap();
    assert!(!keys.contains("id = 1"), "{keys}");
    let (ok, _) = o.server.run(&["keys", "retire", "2"], "");
    assert!(!ok, "the active key is never retired");

    // Without key 1, everything still reads.
    o.server.terminate();
    o.server.start(&options());
    let (status, seen) = post_json(
        &http,
        &o.server.url("/api/v1/status"),
        &json!({"receipt": receipt}),
    )
    .await;
    assert_eq!(status, 200, "{seen}");
    assert!(seen.to_string().contains("Sigue pasando"), "{seen}");
    let who = reveal(&o).await;
    assert_eq!(who["members"][0]["name"], "Rosa Medina Ortiz");
    let (status, case) = o
        .call("GET", &format!("/api/v1/cases/{a_ref}"), &o.inspector, None)
        .await;
    assert_eq!(status, 200);
    assert!(case.to_string().contains("Nota cifrada"), "{case}");
    let (ok, out) = o.server.run(&["audit", "verify"], "");
    assert!(ok && out.contains("audit log intact"), "{out}");
}

on_both_backends!(rotate_reencrypt_and_retire);
