//! DERECHOS / RIGHTS on WhatsApp: the rights guide's messages, generated from the
//! routing rules the server runs with, reach the worker through the Graph API; a
//! topic word gives that topic; an intake in progress is kept.

use super::{WA_ID, start};
use crate::graph_stub::render;
use crate::helpers::*;
use buzon::domain::Language;
use buzon::routing::{Directory, Rules};

fn shipped() -> (Rules, Directory) {
    (
        Rules::default_rules().unwrap(),
        Directory::builtin().unwrap(),
    )
}

/// The text bodies sent to `to` from index `from` on.
fn texts_after(wa: &super::Wa, to: &str, from: usize) -> Vec<String> {
    wa.stub.sent_to(to)[from..]
        .iter()
        .map(|m| m["text"]["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn derechos_sends_the_rights_guide_and_keeps_an_intake() {
    let wa = start(Backend::Sqlite, &[]).await;
    let (rules, dir) = shipped();

    // The whole short guide, in order, each message within WhatsApp's limits.
    let guide = buzon::rights::whatsapp_messages(&rules, &dir, Language::Es);
    let last = wa
        .say(wa.text(WA_ID, "Derechos"), "DERECHOS SINDICATO")
        .await;
    assert_eq!(&last, guide.last().unwrap());
    assert_eq!(texts_after(&wa, WA_ID, 0), guide);
    assert!(guide.iter().all(|m| m.chars().count() < 1024));
    assert!(
        guide
            .concat()
            .contains("Centro de Conciliación Laboral de su estado")
    );

    // One topic, by its word.
    let other = "5213331234567";
    let topic = buzon::rights::whatsapp_topic(&rules, &dir, Language::En, "salario").unwrap();
    wa.say(wa.text(other, "RIGHTS WAGES"), "RIGHTS UNION").await;
    assert_eq!(texts_after(&wa, other, 0), topic);
    assert!(topic[0].contains("Unpaid wages"));

    // In the middle of an intake: the guide, then the same question again.
    let worker = "5214441234567";
    wa.say(wa.text(worker, "hi"), "[consent:yes]").await;
    wa.say(wa.tap(worker, "consent:yes"), "[anon:yes]").await;
    let before = wa.stub.sent_to(worker).len();
    let prompt = wa.say(wa.text(worker, "rights"), "[anon:yes]").await;
    let english = buzon::rights::whatsapp_messages(&rules, &dir, Language::En);
    let sent = texts_after(&wa, worker, before);
    assert_eq!(sent[..english.len()], english[..]);
    assert!(sent[english.len()].contains("still saved"), "{sent:?}");
    assert!(prompt.contains("[anon:no]"), "{prompt}");
    // The intake goes on where it was.
    wa.say(wa.tap(worker, "anon:yes"), "In which state").await;
    let rendered: Vec<String> = wa.stub.sent_to(worker).iter().map(render).collect();
    assert!(rendered.iter().all(|m| !m.is_empty()));
    assert!(wa.stub.problems().is_empty(), "{:?}", wa.stub.problems());
}
