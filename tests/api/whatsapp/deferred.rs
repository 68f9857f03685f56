//! A deferred case followed on WhatsApp: ESTADO with its receipt says it is stored
//! and waiting for the worker's date, in the worker's words.

use super::{WA_ID, start};
use crate::helpers::*;
use chrono::Duration;
use serde_json::json;

#[tokio::test]
async fn estado_says_a_deferred_case_waits_for_its_date() {
    let wa = start(Backend::Sqlite, &[]).await;
    let day = buzon::clock::today() + Duration::days(20);
    let (status, created) = post_json(
        &wa.http,
        &wa.server.url("/api/v1/complaints"),
        &json!({
            "anonymous": true,
            "workplace": {"employer": "Arneses del Centro", "state": "MX-GUA", "sector": "auto_parts"},
            "violations": ["union_retaliation"],
            "narrative": "Me van a despedir si saben que me quejé.",
            "hold_until": day.to_string(),
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let receipt = created["receipt"].as_str().unwrap();
    let reply = wa
        .say(
            wa.text(WA_ID, &format!("ESTADO {receipt}")),
            "Guardamos su queja",
        )
        .await;
    assert!(reply.contains(&day.to_string()), "{reply}");
    assert!(reply.contains(created["case_ref"].as_str().unwrap()));
}
