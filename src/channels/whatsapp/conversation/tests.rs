use super::*;

mod interview;

const WA: &str = "5214771234567";

/// The day the tests run on (the hold date's bounds follow it).
fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default()
}

fn run(inputs: &[Input]) -> (Option<Conversation>, Vec<Reply>, bool) {
    let mut conv = None;
    let mut last = Vec::new();
    let mut file = false;
    for input in inputs {
        let out = advance_on(conv.take(), WA, input.clone(), today());
        conv = out.conversation;
        last = out.replies;
        file = out.file;
    }
    (conv, last, file)
}

fn text(t: &str) -> Input {
    Input::Text(t.into())
}

fn choice(id: &str) -> Input {
    Input::Choice(id.into())
}

#[test]
fn a_whole_anonymous_conversation_gives_a_valid_complaint() {
    let (conv, _, file) = run(&[
        text("Hola"),
        choice("consent:yes"),
        choice("anon:yes"),
        text("guanajato"),
        text("Arneses del Bajío"),
        choice("city:skip"),
        choice("sector:auto_parts"),
        choice("viol:unpaid_wages"),
        choice("viol:excessive_hours"),
        choice("viol:done"),
        choice("trade:yes"),
        text("No nos pagan las horas extra desde marzo."),
        choice("evidence:done"),
        choice("confirm:send"),
    ]);
    // "Baja" is asked, not guessed.
    assert_eq!(match_state("Baja"), None);
    assert!(file);
    let conv = conv.expect("conversation kept until filed");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).expect("date");
    let complaint = conv.complaint(today).expect("valid complaint");
    assert_eq!(complaint.workplace.state, StateCode::Gua);
    assert_eq!(complaint.violations.len(), 2);
    assert!(matches!(
        complaint.complainant,
        crate::domain::Complainant::Anonymous
    ));
}

#[test]
fn a_named_worker_is_contacted_at_their_number_in_either_form() {
    let (conv, _, _) = run(&[
        text("hi"),
        choice("consent:yes"),
        choice("anon:no"),
        text("Juana Pérez"),
    ]);
    let conv = conv.expect("kept");
    assert_eq!(conv.lang(), Language::En);
    assert_eq!(conv.draft().phone.as_deref(), Some("+524771234567"));
    let other = Conversation {
        wa_id: "524771234567".into(),
        ..conv.clone()
    };
    assert_eq!(other.draft().phone, conv.draft().phone);
}

#[test]
fn keywords_work_at_any_step_and_cancel_erases() {
    let (conv, replies, _) = run(&[text("Hola"), choice("consent:yes"), text("AYUDA")]);
    assert!(conv.is_some());
    assert!(matches!(&replies[0], Reply::Text(t) if t.contains("CANCELAR")));
    let (conv, _, _) = run(&[text("Hola"), choice("consent:yes"), text("cancelar")]);
    assert!(conv.is_none());
    let (conv, _, _) = run(&[text("Hola"), text("¡Borrar!")]);
    assert!(conv.is_none());
    let out = advance(None, WA, text("ESTADO  abcd-efgh-jkmn-pqrs-tvwx-yz01"));
    assert_eq!(
        out.status_lookup.as_deref(),
        Some("abcd-efgh-jkmn-pqrs-tvwx-yz01")
    );
    assert!(out.conversation.is_none());
    // At the state question, "Estado de México" is an answer, not a keyword.
    let (conv, _, _) = run(&[
        text("Hola"),
        choice("consent:yes"),
        choice("anon:yes"),
        text("Estado de México"),
    ]);
    let conv = conv.expect("kept");
    assert_eq!(conv.state.as_deref(), Some("MX-MEX"));
    assert_eq!(conv.step, Step::Employer);
    let out = advance(Some(conv), WA, text("Estado de cosas: nos pagan tarde"));
    assert!(out.status_lookup.is_none());
    let out = advance(None, WA, text("estado 7KQM-2X9P"));
    assert_eq!(
        out.status_lookup.as_deref(),
        Some("7KQM-2X9P"),
        "a short code is still a look-up"
    );
}

#[test]
fn unsupported_and_stale_inputs_repeat_the_question() {
    let (conv, replies, _) = run(&[text("Hola"), choice("consent:yes"), Input::Unsupported]);
    assert_eq!(conv.map(|c| c.step), Some(Step::Anonymity));
    assert_eq!(replies.len(), 2);
    let (conv, _, _) = run(&[text("Hola"), choice("consent:yes"), choice("trade:yes")]);
    assert_eq!(conv.map(|c| c.step), Some(Step::Anonymity));
}

#[test]
fn every_prompt_respects_whatsapp_limits_on_every_page() {
    let mut conv = Conversation::new(WA, Language::Es);
    for lang in [Language::Es, Language::En] {
        conv.language = lang.code().into();
        for step in [
            Step::Consent,
            Step::Anonymity,
            Step::City,
            Step::Sector,
            Step::Violations,
            Step::Trade,
            Step::Evidence,
            Step::Confirm,
            Step::Name,
            Step::HoldDate,
            Step::Fix,
        ] {
            conv.step = step;
            for page in 0..4 {
                conv.page = page;
                for chosen in [0, 1] {
                    conv.violations = if chosen == 1 {
                        vec!["other".into()]
                    } else {
                        Vec::new()
                    };
                    check_limits(&prompt(&conv));
                    conv.fixing = true;
                    check_limits(&prompt(&conv));
                    conv.fixing = false;
                }
            }
        }
    }
}

pub(super) fn check_limits(reply: &Reply) {
    match reply {
        Reply::Text(t) => assert!(t.chars().count() <= wa_limits::TEXT_BODY),
        Reply::Buttons { body, buttons } => {
            assert!(body.chars().count() <= wa_limits::INTERACTIVE_BODY);
            assert!((1..=wa_limits::BUTTONS).contains(&buttons.len()));
            for (_, title) in buttons {
                assert!(title.chars().count() <= wa_limits::BUTTON_TITLE, "{title}");
            }
        }
        Reply::List { body, button, rows } => {
            assert!(body.chars().count() <= wa_limits::INTERACTIVE_BODY);
            assert!(button.chars().count() <= wa_limits::BUTTON_TITLE);
            assert!((1..=wa_limits::LIST_ROWS).contains(&rows.len()));
            for row in rows {
                assert!(
                    row.title.chars().count() <= wa_limits::ROW_TITLE,
                    "{}",
                    row.title
                );
                assert!(
                    row.description
                        .as_ref()
                        .is_none_or(|d| d.chars().count() <= wa_limits::ROW_DESCRIPTION)
                );
            }
        }
    }
}

#[test]
fn every_sector_and_violation_is_reachable_through_the_pages() {
    let mut conv = Conversation::new(WA, Language::Es);
    conv.step = Step::Sector;
    let mut seen = std::collections::BTreeSet::new();
    for page in 0..3 {
        conv.page = page;
        if let Reply::List { rows, .. } = prompt(&conv) {
            seen.extend(rows.into_iter().map(|r| r.id));
        }
    }
    for s in Sector::ALL {
        assert!(seen.contains(&format!("sector:{}", s.code())), "{s}");
    }
    conv.step = Step::Violations;
    seen.clear();
    for page in 0..3 {
        conv.page = page;
        if let Reply::List { rows, .. } = prompt(&conv) {
            seen.extend(rows.into_iter().map(|r| r.id));
        }
    }
    for v in Violation::ALL {
        assert!(seen.contains(&format!("viol:{}", v.code())), "{v}");
    }
}

#[test]
fn states_match_forgivingly_but_not_wildly() {
    assert_eq!(match_state("Guanajuato"), Some(StateCode::Gua));
    assert_eq!(match_state("  nuevo leon "), Some(StateCode::Nle));
    assert_eq!(match_state("N.L."), Some(StateCode::Nle));
    assert_eq!(match_state("Estado de México"), Some(StateCode::Mex));
    assert_eq!(match_state("cdmx"), Some(StateCode::Cmx));
    assert_eq!(match_state("Querétaro"), Some(StateCode::Que));
    assert_eq!(match_state("queretaro arteaga"), None);
    assert_eq!(match_state("Chihuaua"), Some(StateCode::Chh));
    assert_eq!(match_state("MX-COA"), Some(StateCode::Coa));
    assert_eq!(match_state("Texas"), None);
    assert_eq!(match_state(""), None);
    for s in StateCode::ALL {
        assert_eq!(match_state(s.label(Language::Es)), Some(*s));
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Everything a phone can send: keywords, answers, taps on current and stale
    /// buttons and rows, files of any type, unsupported messages, random text.
    fn any_input() -> impl Strategy<Value = Input> {
        let words = prop::sample::select(vec![
            "Hola",
            "hi",
            "AYUDA",
            "help",
            "CANCELAR",
            "borrar",
            "ESTADO",
            "estado 7KQM-2X9P",
            "STATUS abc",
            "English",
            "español",
            "sí",
            "no",
            "listo",
            "done",
            "send",
            "Guanajuato",
            "Estado de México",
            "N.L.",
            "Texas",
            "no sé",
            "ns",
            "Baja",
            "01/03/2027",
            "2027-01-15",
            "corregir",
            "Juana Pérez",
            "مصنع 🏭",
            "",
        ]);
        let choices = prop::sample::select(vec![
            "consent:yes",
            "consent:no",
            "lang:en",
            "lang:es",
            "lang:xx",
            "anon:yes",
            "anon:no",
            "city:skip",
            "sector:more",
            "sector:mining",
            "sector:nope",
            "viol:more",
            "viol:done",
            "viol:other",
            "viol:unpaid_wages",
            "trade:yes",
            "trade:unknown",
            "trade:maybe",
            "evidence:done",
            "confirm:send",
            "confirm:restart",
            "fix:who",
            "fix:state",
            "fix:viol",
            "fix:story",
            "fix:hold",
            "fix:back",
            "fix:nope",
            "hold:yes",
            "hold:no",
            "state:MX-BCS",
            "state:MX-XXX",
            "sector:unknown",
            "",
            ":",
            "x:y:z",
        ]);
        prop_oneof![
            words.prop_map(|w| Input::Text(w.to_owned())),
            "\\PC{0,300}".prop_map(Input::Text),
            choices.prop_map(|c| Input::Choice(c.to_owned())),
            "\\PC{0,40}".prop_map(Input::Choice),
            prop::sample::select(vec![
                "image/jpeg",
                "audio/ogg; codecs=opus",
                "application/x-msdownload",
                ""
            ])
            .prop_map(|m| Input::Media(Media {
                id: "1".into(),
                mime_type: m.into(),
                sha256: None,
                caption: None,
            })),
            Just(Input::Unsupported),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever arrives in whatever order: no panic, every reply within
        /// WhatsApp's limits, and "file" only with a complaint that validates.
        #[test]
        fn any_conversation_stays_valid(inputs in prop::collection::vec(any_input(), 1..40)) {
            let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
            let mut conv: Option<Conversation> = None;
            for input in inputs {
                let out = advance_on(conv.take(), WA, input, today);
                for reply in &out.replies {
                    check_limits(reply);
                }
                if out.file {
                    let c = out.conversation.as_ref();
                    prop_assert!(c.is_some_and(|c| c.complaint(today).is_some()));
                    conv = None;
                } else {
                    conv = out.conversation;
                }
                if let Some(c) = &conv {
                    prop_assert!(c.attachments <= MAX_ATTACHMENTS);
                    prop_assert!(c.violations.iter().all(|v| Violation::parse(v).is_some()));
                }
            }
        }

        /// The happy path with noise between the steps: every filing it reaches
        /// carries a complaint that validates, whatever the noise did.
        #[test]
        fn noise_between_the_steps_never_files_an_invalid_complaint(
            noise in prop::collection::vec(prop::collection::vec(any_input(), 0..2), 14)
        ) {
            let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
            let happy = [
                text("Hola"), choice("consent:yes"), choice("anon:no"), text("Juana"),
                text("Coahuila"), text("Planta Norte"), choice("city:skip"),
                choice("sector:auto_parts"), choice("viol:unpaid_wages"), choice("viol:done"),
                choice("trade:yes"), text("No pagan."), choice("evidence:done"),
                choice("confirm:send"),
            ];
            let mut conv: Option<Conversation> = None;
            for (step, extra) in happy.iter().zip(noise) {
                for input in std::iter::once(step.clone()).chain(extra) {
                    let out = advance_on(conv.take(), WA, input, today);
                    if out.file {
                        let c = out.conversation.as_ref();
                        prop_assert!(c.is_some_and(|c| c.complaint(today).is_some()));
                    } else {
                        conv = out.conversation;
                    }
                }
            }
        }

        #[test]
        fn state_matching_never_panics(text in "\\PC{0,200}") {
            let _ = match_state(&text);
        }
    }
}

fn shipped() -> (Rules, Directory) {
    (
        Rules::default_rules().expect("rules"),
        Directory::builtin().expect("directory"),
    )
}

fn texts_of(replies: &[Reply]) -> Vec<String> {
    replies
        .iter()
        .map(|r| match r {
            Reply::Text(t) => t.clone(),
            other => panic!("not a text: {other:?}"),
        })
        .collect()
}

#[test]
fn derechos_and_rights_send_the_guide_in_their_language() {
    let (rules, dir) = shipped();
    for (typed, lang) in [
        ("DERECHOS", Language::Es),
        ("¡derechos!", Language::Es),
        ("Derechos", Language::Es),
        ("RIGHTS", Language::En),
        ("rights", Language::En),
    ] {
        let mut out = advance(None, WA, text(typed));
        assert_eq!(out.rights, Some(RightsAsk { lang, topic: None }), "{typed}");
        assert!(out.conversation.is_none(), "no intake is started: {typed}");
        assert!(!out.file && out.status_lookup.is_none());
        send_rights(&mut out, &rules, &dir);
        assert!(out.rights.is_none());
        assert_eq!(
            texts_of(&out.replies),
            crate::rights::whatsapp_messages(&rules, &dir, lang),
            "{typed}"
        );
    }
}

#[test]
fn derechos_with_a_topic_word_sends_that_topic() {
    let (rules, dir) = shipped();
    for (typed, lang, id) in [
        ("DERECHOS SINDICATO", Language::Es, "sindicato"),
        ("derechos t-mec", Language::Es, "tmec"),
        ("Rights wages", Language::En, "salario"),
        ("DERECHOS 5", Language::Es, "seguridad"),
    ] {
        let mut out = advance(None, WA, text(typed));
        assert_eq!(
            out.rights,
            Some(RightsAsk {
                lang,
                topic: Some(id)
            }),
            "{typed}"
        );
        send_rights(&mut out, &rules, &dir);
        assert_eq!(
            Some(texts_of(&out.replies)),
            crate::rights::whatsapp_topic(&rules, &dir, lang, id),
            "{typed}"
        );
    }
    // Anything else after the word is not the keyword: it starts an intake.
    let out = advance(None, WA, text("Derechos humanos"));
    assert!(out.rights.is_none());
    assert_eq!(out.conversation.map(|c| c.step), Some(Step::Consent));
}

#[test]
fn derechos_in_the_middle_of_an_intake_keeps_it() {
    let (rules, dir) = shipped();
    let (conv, _, _) = run(&[
        text("Hola"),
        choice("consent:yes"),
        choice("anon:yes"),
        text("Jalisco"),
    ]);
    let conv = conv.expect("in progress");
    assert_eq!(conv.step, Step::Employer);
    let mut out = advance(Some(conv.clone()), WA, text("derechos"));
    let kept = out.conversation.clone().expect("the intake is kept");
    assert_eq!(kept.step, Step::Employer);
    assert_eq!(kept.state.as_deref(), Some("MX-JAL"));
    assert!(!out.file);
    send_rights(&mut out, &rules, &dir);
    let guide = crate::rights::whatsapp_messages(&rules, &dir, Language::Es);
    assert_eq!(texts_of(&out.replies[..guide.len()]), guide);
    // Then the question it was at, asked again.
    assert_eq!(out.replies.last(), Some(&prompt(&kept)));
    assert!(matches!(&out.replies[guide.len()], Reply::Text(t) if t.contains("sigue guardada")));
    // And the intake goes on where it was.
    let out = advance(Some(kept), WA, text("Arneses del Bajío"));
    let conv = out.conversation.expect("kept");
    assert_eq!(conv.employer.as_deref(), Some("Arneses del Bajío"));
    assert_eq!(conv.step, Step::City);
    // In English too; the conversation's language wins, like the other keywords.
    let (conv, _, _) = run(&[text("hi"), choice("consent:yes")]);
    let out = advance(conv, WA, text("RIGHTS"));
    assert_eq!(
        out.rights,
        Some(RightsAsk {
            lang: Language::En,
            topic: None
        })
    );
    assert_eq!(out.conversation.map(|c| c.step), Some(Step::Anonymity));
}

#[test]
fn the_help_text_names_the_rights_keyword() {
    assert!(help_text(Language::Es).contains("DERECHOS"));
    assert!(help_text(Language::En).contains("RIGHTS"));
}
