//! The interview's cost in worker messages, and its forgiving parts: changing one
//! answer from the summary, a story in several messages, "no sé" typed, a state
//! that fits several, and the deferral question.

use super::super::*;
use super::{WA, check_limits, choice, text, today};

/// A conversation as the worker lives it: every message they send is counted.
struct Chat {
    conv: Option<Conversation>,
    sent: usize,
    replies: Vec<Reply>,
    filed: bool,
}

impl Chat {
    fn new() -> Self {
        Self {
            conv: None,
            sent: 0,
            replies: Vec::new(),
            filed: false,
        }
    }

    fn say(&mut self, input: Input) -> &mut Self {
        assert!(!self.filed, "a message after filing");
        let out = advance_on(self.conv.take(), WA, input, today());
        self.sent += 1;
        for reply in &out.replies {
            check_limits(reply);
        }
        self.conv = out.conversation;
        self.replies = out.replies;
        self.filed = out.file;
        self
    }

    fn conv(&self) -> &Conversation {
        self.conv.as_ref().expect("a conversation in progress")
    }

    fn step(&self) -> Step {
        self.conv().step
    }

    /// Every text the worker was last shown, bodies, titles and rows included.
    fn shown(&self) -> String {
        self.replies
            .iter()
            .map(|r| match r {
                Reply::Text(t) => t.clone(),
                Reply::Buttons { body, buttons } => {
                    let ids: Vec<String> = buttons
                        .iter()
                        .map(|(id, title)| format!("[{id}] {title}"))
                        .collect();
                    format!("{body}\n{}", ids.join("\n"))
                }
                Reply::List { body, rows, .. } => {
                    let ids: Vec<String> = rows
                        .iter()
                        .map(|r| format!("[{}] {}", r.id, r.title))
                        .collect();
                    format!("{body}\n{}", ids.join("\n"))
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The quickest anonymous filing, message by message, up to the summary.
fn quickest_to_summary() -> Chat {
    let mut chat = Chat::new();
    for input in [
        text("hola"),
        choice("consent:yes"),
        choice("anon:yes"),
        text("Coahuila"),
        text("Planta Norte"),
        choice("city:skip"),
        choice("sector:auto_parts"),
        choice("viol:unpaid_wages"),
        choice("viol:done"),
        choice("trade:yes"),
        text("No nos pagan las horas extra desde marzo."),
        choice("evidence:done"),
    ] {
        chat.say(input);
        assert!(!chat.filed);
    }
    assert_eq!(chat.step(), Step::Confirm);
    chat
}

#[test]
fn the_quickest_anonymous_filing_takes_at_most_13_messages() {
    let mut chat = quickest_to_summary();
    chat.say(choice("confirm:send"));
    assert!(chat.filed, "the 13th message files");
    assert!(chat.sent <= 13, "{} messages", chat.sent);
    let complaint = chat.conv().complaint(today()).expect("valid");
    assert_eq!(complaint.hold_until, None);
    // The same, typing where typing is natural ("no sé", "no", "listo", "sí").
    let mut chat = Chat::new();
    for input in [
        text("hola"),
        text("acepto"),
        text("anónimo"),
        text("coahuila"),
        text("Planta Norte"),
        text("no sé"),
        text("ns"),
        choice("viol:other"),
        text("listo"),
        text("No se"),
        text("Nos gritan."),
        text("no"),
        text("sí"),
    ] {
        chat.say(input);
    }
    assert!(chat.filed && chat.sent <= 13, "{}", chat.sent);
}

/// From the summary: "Corregir", the answer, the new value; back at the summary with
/// only that answer changed.
fn change(field: &str, answer: Input) -> (Conversation, Conversation, Chat) {
    let mut chat = quickest_to_summary();
    let before = chat.conv().clone();
    chat.sent = 0;
    chat.say(choice("confirm:restart"));
    assert_eq!(chat.step(), Step::Fix);
    assert!(
        chat.shown().contains(&format!("[fix:{field}]")),
        "{}",
        chat.shown()
    );
    chat.say(choice(&format!("fix:{field}")));
    chat.say(answer);
    assert!(chat.sent <= 3, "{field}: {} messages", chat.sent);
    assert_eq!(chat.step(), Step::Confirm, "{field}: {}", chat.shown());
    assert!(chat.shown().contains("[confirm:send]"), "{field}");
    let after = chat.conv().clone();
    assert!(!after.fixing);
    (before, after, chat)
}

#[test]
fn changing_one_answer_at_the_summary_costs_at_most_3_messages() {
    let (before, after, chat) = change("state", text("Jalisco"));
    assert_eq!(after.state.as_deref(), Some("MX-JAL"));
    assert_eq!(after.employer, before.employer);
    assert_eq!(after.violations, before.violations);
    assert_eq!(after.narrative, before.narrative);
    assert!(chat.shown().contains("Jalisco"));

    let (_, after, _) = change("employer", text("Planta Sur"));
    assert_eq!(after.employer.as_deref(), Some("Planta Sur"));
    assert_eq!(after.state.as_deref(), Some("MX-COA"));

    let (_, after, _) = change("city", text("Saltillo"));
    assert_eq!(after.city.as_deref(), Some("Saltillo"));

    let (_, after, _) = change("sector", choice("sector:electronics"));
    assert_eq!(after.sector.as_deref(), Some("electronics"));
    assert_eq!(after.violations, vec!["unpaid_wages".to_owned()]);

    let (_, after, _) = change("trade", text("no sé"));
    assert_eq!(after.trade_with_us.as_deref(), Some("unknown"));

    let (_, after, _) = change("story", text("Nos deben tres semanas."));
    assert_eq!(after.narrative.as_deref(), Some("Nos deben tres semanas."));

    // Giving a name, or taking it back.
    let (_, after, _) = change("who", text("Juana Pérez"));
    assert_eq!(after.anonymous, Some(false));
    assert_eq!(after.name.as_deref(), Some("Juana Pérez"));
    assert_eq!(after.draft().phone.as_deref(), Some("+524771234567"));
    let mut chat = Chat {
        conv: Some(after),
        ..Chat::new()
    };
    chat.say(choice("confirm:restart"))
        .say(choice("fix:who"))
        .say(choice("anon:yes"));
    assert_eq!(chat.step(), Step::Confirm);
    assert_eq!(chat.conv().anonymous, Some(true));
    assert_eq!(chat.conv().name, None);

    // What happened: a tap adds one, a tap on a marked one takes it out.
    let (_, after, chat) = change("viol", choice("viol:excessive_hours"));
    assert_eq!(
        after.violations,
        vec!["unpaid_wages".to_owned(), "excessive_hours".to_owned()]
    );
    assert!(chat.shown().contains("Demasiadas horas"));
    let mut chat = Chat {
        conv: Some(after),
        ..Chat::new()
    };
    chat.say(choice("confirm:restart")).say(choice("fix:viol"));
    assert!(chat.shown().contains("✔ No me pagan"), "{}", chat.shown());
    chat.say(choice("viol:unpaid_wages"));
    assert_eq!(chat.step(), Step::Confirm);
    assert_eq!(chat.conv().violations, vec!["excessive_hours".to_owned()]);
    // The last one cannot go: the complaint needs one.
    chat.say(choice("confirm:restart"))
        .say(choice("fix:viol"))
        .say(choice("viol:excessive_hours"));
    assert_eq!(chat.step(), Step::Violations);
    assert_eq!(chat.conv().violations, vec!["excessive_hours".to_owned()]);

    // The deferral: a date, or none.
    let (_, after, chat) = change("hold", text("15/01/2027"));
    assert_eq!(after.hold_until.as_deref(), Some("2027-01-15"));
    assert!(
        chat.shown().contains("15 de enero de 2027"),
        "{}",
        chat.shown()
    );
    let mut chat = Chat {
        conv: Some(after),
        ..Chat::new()
    };
    chat.say(choice("confirm:restart"))
        .say(choice("fix:hold"))
        .say(choice("hold:no"));
    assert_eq!(chat.step(), Step::Confirm);
    assert_eq!(chat.conv().hold_until, None);

    // Nothing to change: back to the summary as it was.
    let mut chat = quickest_to_summary();
    let before = chat.conv().clone();
    chat.say(choice("confirm:restart")).say(choice("fix:back"));
    assert_eq!(chat.step(), Step::Confirm);
    assert_eq!(chat.conv().draft().state, before.draft().state);
    // Typed too, and the summary's "Enviar" still sends from the list.
    chat.say(text("corregir"));
    assert_eq!(chat.step(), Step::Fix);
    chat.say(choice("confirm:send"));
    assert!(chat.filed);
}

#[test]
fn a_story_in_several_messages_is_kept_whole_and_shown() {
    let mut chat = quickest_to_summary();
    // Back to the question after the story, as the worker is right after it.
    let mut conv = chat.conv().clone();
    conv.step = Step::Evidence;
    conv.story_open = true;
    chat.conv = Some(conv);
    chat.say(text("Y el supervisor nos amenaza si reclamamos."));
    assert_eq!(chat.step(), Step::Evidence);
    assert!(
        chat.shown().contains("Agregamos este mensaje"),
        "{}",
        chat.shown()
    );
    assert!(chat.shown().contains("[evidence:done]"));
    chat.say(text("Somos unas 40 personas en el turno."));
    let story = chat.conv().narrative.clone().unwrap_or_default();
    assert_eq!(
        story,
        "No nos pagan las horas extra desde marzo.\nY el supervisor nos amenaza si reclamamos.\nSomos unas 40 personas en el turno."
    );
    chat.say(choice("evidence:done"));
    let shown = chat.shown();
    assert!(
        shown.contains("desde marzo")
            && shown.contains("nos amenaza")
            && shown.contains("40 personas"),
        "{shown}"
    );
    // At the summary, text is not more of the story unless the story was just told.
    chat.say(text("otra cosa"));
    assert!(chat.shown().contains("use los botones"));
    assert!(
        !chat
            .conv()
            .narrative
            .clone()
            .unwrap_or_default()
            .contains("otra cosa")
    );
    chat.say(choice("confirm:restart"))
        .say(choice("fix:story"))
        .say(text("Primera parte."))
        .say(text("Segunda parte."));
    assert_eq!(chat.step(), Step::Confirm);
    assert_eq!(
        chat.conv().narrative.as_deref(),
        Some("Primera parte.\nSegunda parte.")
    );
    assert!(chat.shown().contains("Segunda parte."));
    let complaint = chat.conv().complaint(today()).expect("valid");
    assert!(complaint.narrative.as_str().ends_with("Segunda parte."));
}

#[test]
fn a_long_story_fills_the_summary_within_whatsapp_limits() {
    let mut chat = quickest_to_summary();
    let mut conv = chat.conv().clone();
    conv.narrative = Some(format!("{} FIN", "palabra ".repeat(300)));
    chat.conv = Some(conv);
    chat.say(choice("confirm:restart")).say(choice("fix:back"));
    let Reply::Buttons { body, .. } = &chat.replies[0] else {
        panic!("the summary has buttons");
    };
    assert!(body.chars().count() <= wa_limits::INTERACTIVE_BODY);
    assert!(body.ends_with("¿La enviamos?"), "{body}");
    // More of it than the 200 characters it used to show.
    assert!(body.matches("palabra").count() > 60, "{body}");
    // A story too long to add to is kept as it was, and said so.
    let mut conv = chat.conv().clone();
    conv.narrative = Some("x".repeat(limits::NARRATIVE - 3));
    conv.step = Step::Evidence;
    chat.conv = Some(conv);
    chat.say(text("más texto"));
    assert!(chat.shown().contains("muy largo"));
    assert_eq!(
        chat.conv().narrative.as_ref().map(|n| n.chars().count()),
        Some(limits::NARRATIVE - 3)
    );
}

#[test]
fn no_se_is_understood_wherever_no_se_is_a_choice() {
    for typed in [
        "no sé",
        "No Se",
        "NO SÉ.",
        "ns",
        "NS",
        "nose",
        "I don't know",
        "I don’t know",
    ] {
        assert!(is_dont_know(typed), "{typed}");
    }
    for typed in ["no", "nos", "sé", "no sabemos nada de eso"] {
        assert!(!is_dont_know(typed), "{typed}");
    }
    let mut chat = quickest_to_summary();
    let mut conv = chat.conv().clone();
    conv.city = Some("Saltillo".into());
    chat.conv = Some(conv);
    for (step, typed, check) in [
        (Step::City, "no se", Step::Sector),
        (Step::Sector, "NS", Step::Violations),
        (Step::Trade, "No sé", Step::Narrative),
    ] {
        let mut conv = chat.conv().clone();
        conv.step = step;
        chat.conv = Some(conv);
        chat.say(text(typed));
        assert_eq!(chat.step(), check, "{typed}");
    }
    let conv = chat.conv();
    assert_eq!(conv.city, None);
    assert_eq!(conv.sector.as_deref(), Some("unknown"));
    assert_eq!(conv.trade_with_us.as_deref(), Some("unknown"));
    // "No sé" is on the sector list's first page, and every sector still on a page.
    let mut conv = Conversation::new(WA, Language::Es);
    conv.step = Step::Sector;
    let Reply::List { rows, .. } = prompt(&conv) else {
        panic!("a list");
    };
    assert!(
        rows.iter()
            .any(|r| r.id == "sector:unknown" && r.title == "No sé")
    );
    conv.language = "en".into();
    let Reply::List { rows, .. } = prompt(&conv) else {
        panic!("a list");
    };
    assert!(
        rows.iter()
            .any(|r| r.id == "sector:unknown" && r.title == "I don't know")
    );
}

#[test]
fn a_state_that_fits_several_is_asked() {
    assert_eq!(
        state_candidates("Baja"),
        vec![StateCode::Bcn, StateCode::Bcs]
    );
    assert_eq!(state_candidates("baja california"), vec![StateCode::Bcn]);
    assert_eq!(
        state_candidates("Baja California Sur"),
        vec![StateCode::Bcs]
    );
    assert_eq!(state_candidates("BCS"), vec![StateCode::Bcs]);
    assert_eq!(state_candidates("San Luis"), vec![StateCode::Slp]);
    assert_eq!(state_candidates("Texas"), Vec::<StateCode>::new());
    let mut chat = Chat::new();
    chat.say(text("hola"))
        .say(choice("consent:yes"))
        .say(choice("anon:yes"))
        .say(text("Baja"));
    assert_eq!(chat.step(), Step::State);
    assert_eq!(chat.conv().state, None);
    let shown = chat.shown();
    assert!(
        shown.contains("[state:MX-BCN] Baja California\n")
            && shown.contains("[state:MX-BCS] Baja California Sur"),
        "{shown}"
    );
    chat.say(choice("state:MX-BCS"));
    assert_eq!(chat.conv().state.as_deref(), Some("MX-BCS"));
    assert_eq!(chat.step(), Step::Employer);
    // A tap on a state row is only an answer at the state question.
    chat.say(choice("state:MX-BCN"));
    assert_eq!(chat.conv().state.as_deref(), Some("MX-BCS"));
    // In English too.
    let reply = which_state(Language::En, &[StateCode::Bcn, StateCode::Bcs]);
    check_limits(&reply);
    assert!(matches!(&reply, Reply::Buttons { body, .. } if body.starts_with("Which")));
}

#[test]
fn typed_dates_are_read_as_workers_write_them() {
    let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 1);
    for typed in [
        "01/03/2027",
        "1/3/2027",
        "01-03-2027",
        "1.3.27",
        "2027-03-01",
        "2027/03/01",
        "1 de marzo de 2027",
        "1 marzo 2027",
        "March 1, 2027",
        "esperar hasta 01/03/2027",
        "ESPERAR HASTA 2027-03-01",
    ] {
        assert_eq!(parse_date(typed), day, "{typed}");
    }
    for typed in [
        "31/02/2027",
        "01/03",
        "mañana",
        "el 1 de marzo de 2027 me despidieron",
        "",
    ] {
        assert_eq!(parse_date(typed), None, "{typed}");
    }
    let d = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap_or_default();
    assert_eq!(date_words(d, Language::Es), "1 de marzo de 2027");
    assert_eq!(date_words(d, Language::En), "March 1, 2027");
}

#[test]
fn the_complaint_can_be_held_until_a_date_with_the_web_forms_rule() {
    // The question before the summary, and its cheap "no" is the quickest path.
    let mut chat = quickest_to_summary();
    let mut conv = chat.conv().clone();
    conv.step = Step::Evidence;
    chat.conv = Some(conv);
    chat.say(Input::Unsupported);
    let shown = chat.shown();
    assert!(shown.contains("[evidence:done] No, enviar ahora") && shown.contains("[hold:yes]"));
    chat.say(choice("hold:yes"));
    assert_eq!(chat.step(), Step::HoldDate);
    assert!(chat.shown().contains("[hold:no]"));
    // Today and the past are refused, and more than 90 days ahead (the web form's limits).
    let last = today() + chrono::Duration::days(limits::MAX_HOLD_DAYS);
    for typed in [
        today().format("%d/%m/%Y").to_string(),
        "01/01/2020".to_owned(),
        (last + chrono::Duration::days(1))
            .format("%d/%m/%Y")
            .to_string(),
    ] {
        chat.say(text(&typed));
        assert_eq!(chat.step(), Step::HoldDate, "{typed}");
        assert!(
            chat.shown().contains("26 de febrero de 2027"),
            "{}",
            chat.shown()
        );
        assert_eq!(chat.conv().hold_until, None);
    }
    chat.say(text("pronto"));
    assert!(chat.shown().contains("No entendimos la fecha"));
    chat.say(text(&last.format("%Y-%m-%d").to_string()));
    assert_eq!(chat.step(), Step::Confirm);
    assert!(
        chat.shown().contains("no antes del 26 de febrero de 2027"),
        "{}",
        chat.shown()
    );
    let complaint = chat.conv().complaint(today()).expect("valid");
    assert_eq!(complaint.hold_until, Some(last));
    chat.say(choice("confirm:send"));
    assert!(chat.filed);
    // A date typed right at the question answers it too.
    let mut chat = quickest_to_summary();
    let mut conv = chat.conv().clone();
    conv.step = Step::Evidence;
    chat.conv = Some(conv);
    chat.say(text("esperar hasta 15/01/2027"));
    assert_eq!(chat.step(), Step::Confirm);
    assert_eq!(chat.conv().hold_until.as_deref(), Some("2027-01-15"));
    // A date that has come while the conversation waited holds nothing back.
    let later = chrono::NaiveDate::from_ymd_opt(2027, 1, 15).unwrap_or_default();
    assert_eq!(
        chat.conv().complaint(later).map(|c| c.hold_until),
        Some(None)
    );
    // In English.
    let mut conv = chat.conv().clone();
    conv.language = "en".into();
    conv.step = Step::HoldDate;
    chat.conv = Some(conv);
    chat.say(text("tomorrow"));
    assert!(chat.shown().contains("We did not understand the date"));
    chat.say(text("01/01/2020"));
    assert!(
        chat.shown()
            .contains("between November 29, 2026 and February 26, 2027"),
        "{}",
        chat.shown()
    );
    chat.say(text("send now"));
    assert_eq!(chat.step(), Step::Confirm);
    assert!(
        chat.shown().contains("Review: as soon as possible"),
        "{}",
        chat.shown()
    );
}

#[test]
fn every_new_question_speaks_english_too() {
    let mut chat = quickest_to_summary();
    chat.say(choice("confirm:restart"));
    let mut conv = chat.conv().clone();
    for step in [
        Step::Name,
        Step::Evidence,
        Step::HoldDate,
        Step::Fix,
        Step::Confirm,
    ] {
        conv.step = step;
        conv.language = "es".into();
        let es = prompt(&conv);
        conv.language = "en".into();
        let en = prompt(&conv);
        assert_ne!(es, en, "{step:?}");
        check_limits(&en);
    }
    conv.step = Step::Fix;
    let Reply::List { rows, .. } = prompt(&conv) else {
        panic!("a list");
    };
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().any(|r| r.title == "Back to the summary"));
    conv.step = Step::Violations;
    conv.fixing = true;
    let Reply::List { body, .. } = prompt(&conv) else {
        panic!("a list");
    };
    assert!(body.contains("take it out"), "{body}");
}

#[test]
fn a_conversation_stored_before_these_questions_is_still_read() {
    let stored = r#"{"wa_id":"5214771234567","language":"es","step":"Evidence","page":0,
        "anonymous":true,"name":null,"state":"MX-COA","employer":"Planta","city":null,
        "sector":"auto_parts","violations":["unpaid_wages"],"trade_with_us":"yes",
        "narrative":"No pagan.","attachments":1}"#;
    let conv: Conversation = serde_json::from_str(stored).expect("old state reads");
    assert_eq!(conv.hold_until, None);
    assert!(!conv.fixing);
    let mut chat = Chat {
        conv: Some(conv),
        ..Chat::new()
    };
    chat.say(text("Y no nos dan recibos."));
    assert_eq!(
        chat.conv().narrative.as_deref(),
        Some("No pagan.\nY no nos dan recibos.")
    );
    chat.say(choice("evidence:done"))
        .say(choice("confirm:send"));
    assert!(chat.filed);
}

#[test]
fn a_blank_answer_is_asked_again_and_only_a_long_one_is_too_long() {
    for (step, max) in [
        (Step::Name, limits::NAME),
        (Step::Employer, limits::EMPLOYER),
        (Step::City, limits::CITY),
        (Step::Narrative, limits::NARRATIVE),
    ] {
        let mut chat = quickest_to_summary();
        let mut conv = chat.conv().clone();
        conv.step = step;
        chat.conv = Some(conv);
        chat.say(text(" \t "));
        assert_eq!(chat.step(), step);
        assert!(
            !chat.shown().contains("largo"),
            "{step:?}: {}",
            chat.shown()
        );
        assert_eq!(chat.replies.len(), 1, "{step:?}: only the question");
        chat.say(text(&"x".repeat(max + 1)));
        assert_eq!(chat.step(), step);
        assert!(chat.shown().contains("demasiado largo"), "{step:?}");
    }
}
