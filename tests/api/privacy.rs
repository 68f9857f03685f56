//! Nothing identifying is stored or logged in the clear, and ciphertexts are bound
//! to their place.

use crate::helpers::*;
use crate::on_both_backends;
use buzon::crypto::{Aad, CryptoError, KeyRing};
use sea_orm::{ConnectionTrait, Statement};

const NAME: &str = "Zacarías Quiñonez-Ybarra";
const PHONE: &str = "+52 1 477 555 0199";
const EMAIL: &str = "zq.ybarra.7731@example.org";
const NARRATIVE: &str = "El supervisor Pancracio Ledezma nos encerró en la bodega siete";
const MESSAGE: &str = "Segundo aviso de Pancracio: firmen o se van";
const WEB_NAME: &str = "Eulalia Formulario-Tlaxcoapan";
const WEB_PHONE: &str = "662 555 0147";
const WEB_NARRATIVE: &str = "La gerente Hermenegilda revisa nuestras mochilas cada día";

/// What must not appear anywhere: the values as typed, their normalized forms, and
/// the distinctive words inside them.
fn needles() -> Vec<&'static str> {
    vec![
        NAME,
        "Quiñonez",
        "Zacarías",
        EMAIL,
        "zq.ybarra",
        "4775550199",
        "+524775550199",
        NARRATIVE,
        "Pancracio",
        "Ledezma",
        MESSAGE,
        WEB_NAME,
        "Eulalia",
        "6625550147",
        WEB_NARRATIVE,
        "Hermenegilda",
        "EMP-55821",
        "Arneses del Baj",
    ]
}

async fn file_everything(server: &TestServer) -> String {
    let http = client();
    let (status, created) = post_json(
        &http,
        &server.url("/api/v1/complaints"),
        &complaint(NAME, PHONE, EMAIL, NARRATIVE),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let receipt = created["receipt"].as_str().unwrap().to_string();
    let (status, _) = post_json(
        &http,
        &server.url("/api/v1/status/messages"),
        &serde_json::json!({"receipt": receipt, "message": MESSAGE}),
    )
    .await;
    assert_eq!(status, 201);

    // And through the web form.
    let page = get_text(&http, &server.url("/")).await;
    let form = [
        ("csrf", csrf_token(&page)),
        ("lang", "es".into()),
        ("employer", "Arneses del Bajío".into()),
        ("state", "MX-SON".into()),
        ("violations", "harassment_discrimination".into()),
        ("narrative", WEB_NARRATIVE.into()),
        ("identity", "contact".into()),
        ("name", WEB_NAME.into()),
        ("phone", WEB_PHONE.into()),
    ];
    let (status, html) = post_form(&http, &server.url("/complaints"), &form).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"receipt\""));
    receipt
}

async fn personal_data_never_reaches_the_database_or_the_logs(backend: Backend) {
    let mut server = TestServer::spawn(backend).await;
    let receipt = file_everything(&server).await;

    let places = server.everything_written();
    assert_none_in(&places, &needles());
    let logs = server.logs();
    assert!(logs.contains("complaint filed"), "logs were captured");
    assert!(!logs.contains(&receipt), "the receipt is logged");

    // The encrypted values are really there and decrypt with the key file.
    let keys = KeyRing::load(&server.keys_file()).unwrap();
    let db = server.db().await;
    let row = one_row(&db, "SELECT case_id, name_ct, phone_ct FROM complainants WHERE name_ct IS NOT NULL AND email_ct IS NOT NULL").await;
    let case_id: uuid::Uuid = row.try_get_by_index(0).unwrap();
    let name_ct: Vec<u8> = row.try_get_by_index(1).unwrap();
    let aad = Aad {
        table: "complainants",
        column: "name_ct",
        row: case_id,
    };
    assert_eq!(keys.cipher.decrypt_string(aad, &name_ct).unwrap(), NAME);
    let phone_ct: Vec<u8> = row.try_get_by_index(2).unwrap();
    let aad = Aad {
        table: "complainants",
        column: "phone_ct",
        row: case_id,
    };
    assert_eq!(
        keys.cipher.decrypt_string(aad, &phone_ct).unwrap(),
        "+524775550199"
    );
}

/// Copies the name ciphertext of one complainant into another's row (and into the
/// phone column): reading it there fails with an error instead of yielding garbage
/// or the other person's name.
async fn a_ciphertext_moved_to_another_row_or_column_does_not_decrypt(backend: Backend) {
    let server = TestServer::spawn(backend).await;
    let http = client();
    for (name, email) in [
        ("Ana Primera", "ana1@example.org"),
        ("Beto Segundo", "beto2@example.org"),
    ] {
        let (status, _) = post_json(
            &http,
            &server.url("/api/v1/complaints"),
            &complaint(name, "+52 33 1234 5678", email, "Narración"),
        )
        .await;
        assert_eq!(status, 201);
    }
    let keys = KeyRing::load(&server.keys_file()).unwrap();
    let db = server.db().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT case_id, name_ct FROM complainants",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let a: uuid::Uuid = rows[0].try_get_by_index(0).unwrap();
    let a_name: Vec<u8> = rows[0].try_get_by_index(1).unwrap();
    let b: uuid::Uuid = rows[1].try_get_by_index(0).unwrap();

    // Move A's name into B's row, in the database.
    let update = "UPDATE complainants SET \
        name_ct = (SELECT name_ct FROM complainants WHERE case_id = $1), \
        phone_ct = (SELECT name_ct FROM complainants WHERE case_id = $1) \
        WHERE case_id = $2";
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        update,
        [a.into(), b.into()],
    ))
    .await
    .unwrap();
    let moved = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT name_ct, phone_ct FROM complainants WHERE case_id = $1",
            [b.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let b_name: Vec<u8> = moved.try_get_by_index(0).unwrap();
    let b_phone: Vec<u8> = moved.try_get_by_index(1).unwrap();
    assert_eq!(b_name, a_name, "the bytes really moved");

    let at = |column, row| Aad {
        table: "complainants",
        column,
        row,
    };
    assert_eq!(
        keys.cipher
            .decrypt_string(at("name_ct", a), &a_name)
            .unwrap(),
        "Ana Primera"
    );
    assert_eq!(
        keys.cipher.decrypt(at("name_ct", b), &b_name),
        Err(CryptoError::Authentication)
    );
    assert_eq!(
        keys.cipher.decrypt(at("phone_ct", b), &b_phone),
        Err(CryptoError::Authentication)
    );
}

on_both_backends!(
    personal_data_never_reaches_the_database_or_the_logs,
    a_ciphertext_moved_to_another_row_or_column_does_not_decrypt,
);
