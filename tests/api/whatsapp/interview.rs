//! The forgiving interview end to end: "Baja" is asked, "no se" is understood, a
//! story in two messages is kept whole, the complaint is held until a typed date,
//! and "Corregir" changes one answer in three messages; the filed case waits for
//! the worker's date.

use super::{WA_ID, start};
use crate::helpers::*;
use crate::on_both_backends;
use chrono::Duration;

async fn a_worker_corrects_one_answer_and_holds_the_complaint(backend: Backend) {
    let wa = start(backend, &[]).await;
    // The worker's calendar (Mexico City, UTC-6) twenty days on.
    let day = buzon::clock::today() + Duration::days(20);
    wa.script(vec![
        (wa.text(WA_ID, "hola"), "[consent:yes]"),
        (wa.tap(WA_ID, "consent:yes"), "[anon:yes]"),
        (wa.tap(WA_ID, "anon:yes"), "¿En qué estado"),
        (wa.text(WA_ID, "Baja"), "[state:MX-BCS]"),
        (wa.tap(WA_ID, "state:MX-BCS"), "¿Cómo se llama la empresa"),
        (wa.text(WA_ID, "Empacadora del Pacífico"), "[city:skip]"),
        (wa.text(WA_ID, "no se"), "[sector:unknown]"),
        (wa.text(WA_ID, "NS"), "[viol:union_interference]"),
        (wa.tap(WA_ID, "viol:unpaid_wages"), "[viol:done]"),
        (wa.tap(WA_ID, "viol:done"), "[trade:yes]"),
        (wa.text(WA_ID, "no sé"), "Cuéntenos qué pasó"),
        (
            wa.text(WA_ID, "Nos deben dos quincenas."),
            "[evidence:done]",
        ),
        (
            wa.text(WA_ID, "Y el capataz amenaza a quien reclame."),
            "Agregamos este mensaje",
        ),
        (wa.tap(WA_ID, "hold:yes"), "¿Hasta qué fecha"),
    ])
    .await;
    let summary = wa
        .say(
            wa.text(WA_ID, &day.format("%d/%m/%Y").to_string()),
            "[confirm:send]",
        )
        .await;
    assert!(
        summary.contains("Baja California Sur")
            && summary.contains("dos quincenas")
            && summary.contains("amenaza a quien reclame")
            && summary.contains("no antes del"),
        "{summary}"
    );
    // One answer changed: three messages, and back at the summary.
    wa.script(vec![
        (wa.tap(WA_ID, "confirm:restart"), "[fix:employer]"),
        (wa.tap(WA_ID, "fix:employer"), "¿Cómo se llama la empresa"),
    ])
    .await;
    let summary = wa
        .say(wa.text(WA_ID, "Empacadora del Golfo"), "[confirm:send]")
        .await;
    assert!(
        summary.contains("Empacadora del Golfo")
            && !summary.contains("Empacadora del Pacífico")
            && summary.contains("Baja California Sur")
            && summary.contains("amenaza a quien reclame"),
        "{summary}"
    );
    let receipt_text = wa
        .say(wa.tap(WA_ID, "confirm:send"), "Recibimos su queja")
        .await;
    // The receipt says the complaint waits for the worker's date.
    assert!(
        receipt_text.contains("Guardamos su queja") && receipt_text.contains(&day.to_string()),
        "{receipt_text}"
    );
    let receipt = super::receipt_in(&receipt_text, "Su código secreto");
    // The case waits for the worker's date.
    let status = wa
        .say(
            wa.text(WA_ID, &format!("ESTADO {receipt}")),
            "Guardamos su queja",
        )
        .await;
    assert!(status.contains(&day.to_string()), "{status}");
}

on_both_backends!(a_worker_corrects_one_answer_and_holds_the_complaint);
