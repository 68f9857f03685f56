//! What the conversation says: the prompt for each step, the buttons and paged
//! lists it offers, the summary before sending, and the help text.

use super::*;

pub(super) fn help_text(lang: Language) -> String {
    tr(
        lang,
        "Buzón recibe quejas de trabajo de forma segura. Puede escribir en cualquier momento:\n\
         • AYUDA: ver este mensaje\n\
         • CANCELAR: dejar la queja sin enviar (se borra lo que escribió)\n\
         • BORRAR: borrar ahora todo lo que escribió en esta conversación\n\
         • ESTADO y su código: ver cómo va una queja ya enviada\n\
         • DERECHOS: conocer sus derechos y adónde va su queja\n\
         • ENGLISH: cambiar a inglés",
        "Buzón takes workplace complaints safely. You can write at any time:\n\
         • HELP: see this message\n\
         • CANCEL: stop without sending (what you wrote is erased)\n\
         • DELETE: erase now everything you wrote in this conversation\n\
         • STATUS and your code: see how a complaint you sent is going\n\
         • RIGHTS: learn your rights and where your complaint goes\n\
         • ESPAÑOL: switch to Spanish",
    )
}

pub(super) fn buttons(body: String, buttons: &[(&str, String)]) -> Reply {
    Reply::Buttons {
        body: truncate(&body, wa_limits::INTERACTIVE_BODY),
        buttons: buttons
            .iter()
            .take(wa_limits::BUTTONS)
            .map(|(id, title)| ((*id).to_owned(), truncate(title, wa_limits::BUTTON_TITLE)))
            .collect(),
    }
}

/// A text in Spanish and in English.
type Words = (&'static str, &'static str);

/// A question with reply buttons, each (id, Spanish title, English title), all
/// in the reader's language.
fn ask(lang: Language, (es, en): Words, options: &[(&str, &str, &str)]) -> Reply {
    let options: Vec<(&str, String)> = options
        .iter()
        .map(|(id, es, en)| (*id, tr(lang, es, en)))
        .collect();
    buttons(tr(lang, es, en), &options)
}

/// The buttons more than one question offers.
const ANONYMOUS: (&str, &str, &str) = ("anon:yes", "Anónimo", "Anonymous");
const DONT_KNOW: Words = ("No sé", "I don't know");
const SEND_NOW: Words = ("No, enviar ahora", "No, send now");

/// The title of a list's button.
fn choose(lang: Language) -> String {
    tr(lang, "Elegir", "Choose")
}

/// What was chosen so far, one per line, then the question.
fn chosen_so_far(lang: Language, chosen: &[&str], (es, en): Words) -> String {
    format!(
        "{}\n• {}\n\n{}",
        tr(lang, "Ya eligió:", "You chose:"),
        chosen.join("\n• "),
        tr(lang, es, en)
    )
}

/// A list of `items` (id, label), paged so a page plus its fixed rows and a "more"
/// row (`{kind}:more`) fit WhatsApp's ten rows. Long labels go whole into the row's
/// description.
pub(super) fn paged_list(
    lang: Language,
    kind: &str,
    body: String,
    items: &[(String, &str)],
    page: usize,
    fixed: Vec<Row>,
) -> Reply {
    let more = Row {
        id: format!("{kind}:more"),
        title: tr(lang, "Más opciones…", "More options…"),
        description: None,
    };
    let per_page = wa_limits::LIST_ROWS - fixed.len() - 1;
    let pages = items.len().div_ceil(per_page).max(1);
    let page = page % pages;
    let mut rows = fixed;
    for (id, label) in items.iter().skip(page * per_page).take(per_page) {
        let title = truncate(label, wa_limits::ROW_TITLE);
        let description = (title != *label).then(|| truncate(label, wa_limits::ROW_DESCRIPTION));
        rows.push(Row {
            id: id.clone(),
            title,
            description,
        });
    }
    if pages > 1 {
        rows.push(more);
    }
    Reply::List {
        body: truncate(&body, wa_limits::INTERACTIVE_BODY),
        button: truncate(&choose(lang), wa_limits::BUTTON_TITLE),
        rows,
    }
}

/// The question of the current step.
pub fn prompt(conv: &Conversation) -> Reply {
    let lang = conv.lang();
    match conv.step {
        Step::Consent => ask(
            lang,
            (
                "Hola. Aquí puede presentar una queja sobre su trabajo. Antes, lea esto:\n\n\
                 • Guardamos sus respuestas cifradas (bajo llave). Su empresa no las ve.\n\
                 • Solo el personal de inspección laboral que revisa su caso puede verlas.\n\
                 • Puede quedar anónimo: así no guardamos ni su nombre ni su número.\n\
                 • Si da su nombre, guardamos también su número de WhatsApp para contactarle.\n\
                 • Escriba BORRAR en cualquier momento para borrar lo que escribió, o AYUDA para ver las opciones.\n\n\
                 ¿Acepta seguir?",
                "Hello. Here you can file a complaint about your work. First, please read this:\n\n\
                 • We keep your answers encrypted (locked). Your employer does not see them.\n\
                 • Only the labor inspection staff who review your case can see them.\n\
                 • You can stay anonymous: then we keep neither your name nor your number.\n\
                 • If you give your name, we also keep your WhatsApp number to contact you.\n\
                 • Write DELETE at any time to erase what you wrote, or HELP to see the options.\n\n\
                 Do you agree to go on?",
            ),
            &[
                ("consent:yes", "Acepto", "I agree"),
                ("consent:no", "No acepto", "I don't agree"),
                match lang {
                    Language::Es => ("lang:en", "English", "English"),
                    Language::En => ("lang:es", "Español", "Español"),
                },
            ],
        ),
        Step::Anonymity => ask(
            lang,
            (
                "¿Quiere dar su nombre o quedar anónimo?\n\nSi queda anónimo no guardamos su nombre ni su número, y solo podrá ver su queja con el código que le daremos.",
                "Do you want to give your name or stay anonymous?\n\nIf you stay anonymous we keep neither your name nor your number, and you can only see your complaint with the code we will give you.",
            ),
            &[ANONYMOUS, ("anon:no", "Con mi nombre", "With my name")],
        ),
        Step::Name => ask(
            lang,
            (
                "¿Cuál es su nombre? Escríbalo, o toque «Anónimo» si prefiere no darlo.",
                "What is your name? Write it, or tap \"Anonymous\" if you would rather not give it.",
            ),
            &[ANONYMOUS],
        ),
        Step::State => Reply::Text(tr(
            lang,
            "¿En qué estado está su trabajo? Escriba el nombre, por ejemplo: Guanajuato",
            "In which state is your workplace? Write its name, for example: Guanajuato",
        )),
        Step::Employer => Reply::Text(tr(
            lang,
            "¿Cómo se llama la empresa o el lugar donde trabaja?",
            "What is the name of the company or place where you work?",
        )),
        Step::City => ask(
            lang,
            (
                "¿En qué ciudad o municipio está? Escríbalo, o toque «No sé».",
                "In which city or town is it? Write it, or tap \"I don't know\".",
            ),
            &[("city:skip", DONT_KNOW.0, DONT_KNOW.1)],
        ),
        Step::Sector => {
            // "No sé" takes the first page's last row, so nobody pages through every
            // sector for it; the sector it displaces goes last, and the other pages
            // stay as they were.
            let mut items: Vec<(String, &str)> = Sector::ALL
                .iter()
                .filter(|s| **s != Sector::Unknown)
                .map(|s| (format!("sector:{}", s.code()), s.label(lang)))
                .collect();
            let at = wa_limits::LIST_ROWS - 2;
            if at < items.len() {
                let displaced = items.remove(at);
                items.push(displaced);
            }
            let unknown = Sector::Unknown;
            let at = at.min(items.len());
            items.insert(
                at,
                (format!("sector:{}", unknown.code()), unknown.label(lang)),
            );
            paged_list(
                lang,
                "sector",
                tr(
                    lang,
                    "¿Qué tipo de trabajo hacen ahí?",
                    "What kind of work is done there?",
                ),
                &items,
                conv.page,
                Vec::new(),
            )
        }
        Step::Violations => {
            let chosen: Vec<&str> = conv
                .violations
                .iter()
                .filter_map(|c| Violation::parse(c))
                .map(|v| v.label(lang))
                .collect();
            if conv.fixing {
                return fix_violations(conv, &chosen);
            }
            let items: Vec<(String, &str)> = Violation::ALL
                .iter()
                .filter(|v| !conv.violations.iter().any(|c| c == v.code()))
                .map(|v| (format!("viol:{}", v.code()), v.label(lang)))
                .collect();
            let (body, fixed) = if chosen.is_empty() {
                (
                    tr(
                        lang,
                        "¿Qué pasó? Elija lo que más se parezca. Después podrá agregar más.",
                        "What happened? Choose what fits best. You can add more afterwards.",
                    ),
                    Vec::new(),
                )
            } else {
                (
                    chosen_so_far(
                        lang,
                        &chosen,
                        (
                            "¿Pasó algo más? Elija otra cosa o «Eso es todo».",
                            "Did anything else happen? Choose another or \"That's all\".",
                        ),
                    ),
                    vec![Row {
                        id: "viol:done".into(),
                        title: tr(lang, "✔ Eso es todo", "✔ That's all"),
                        description: None,
                    }],
                )
            };
            paged_list(lang, "viol", body, &items, conv.page, fixed)
        }
        Step::Trade => ask(
            lang,
            (
                "¿Lo que hacen en su trabajo se vende a Estados Unidos (o compite con productos de allá)?",
                "Is what your workplace makes sold to the United States (or does it compete with products from there)?",
            ),
            &[
                ("trade:yes", "Sí", "Yes"),
                ("trade:no", "No", "No"),
                ("trade:unknown", DONT_KNOW.0, DONT_KNOW.1),
            ],
        ),
        Step::Narrative => Reply::Text(tr(
            lang,
            "Cuéntenos qué pasó, con sus palabras: qué, cuándo y a quién. Puede escribirlo en uno o varios mensajes.",
            "Tell us what happened, in your own words: what, when and to whom. You can write it in one or several messages.",
        )),
        Step::Evidence => ask(
            lang,
            (
                "Si tiene fotos, documentos o notas de voz que muestren lo que pasó, envíelos ahora.\n\n\
                 Si teme represalias, podemos guardar su queja sin que nadie la revise ni le escriba hasta la fecha que usted elija (hasta 90 días), por ejemplo después de dejar ese trabajo. ¿Quiere que esperemos?",
                "If you have photos, documents or voice notes that show what happened, send them now.\n\n\
                 If you fear retaliation, we can store your complaint and nobody will review it or write to you until a date you choose (up to 90 days), for example after you leave that job. Do you want us to wait?",
            ),
            &[
                ("evidence:done", SEND_NOW.0, SEND_NOW.1),
                ("hold:yes", "Sí, esperar", "Yes, wait"),
            ],
        ),
        Step::HoldDate => ask(
            lang,
            (
                "¿Hasta qué fecha esperamos? Escríbala como día/mes/año, por ejemplo 01/03/2027. Puede ser hasta 90 días desde hoy. Guardamos su queja hoy, pero nadie la revisa ni le escribimos antes de esa fecha.",
                "Until which date shall we wait? Write it as day/month/year, for example 01/03/2027. It can be up to 90 days from today. We store your complaint today, but nobody reviews it or writes to you before that date.",
            ),
            &[("hold:no", SEND_NOW.0, SEND_NOW.1)],
        ),
        Step::Confirm => buttons(
            summary(conv),
            &[
                ("confirm:send", tr(lang, "Enviar", "Send")),
                ("confirm:restart", tr(lang, "Corregir", "Change an answer")),
            ],
        ),
        Step::Fix => fix_list(conv),
    }
}

/// One answer as the summary and the list of answers show it: the id of its row
/// in that list, its name, and what the worker answered.
struct Answer {
    fix: &'static str,
    name: String,
    value: String,
}

/// The worker's answers in the order asked, the story last.
fn answers(conv: &Conversation) -> Vec<Answer> {
    let lang = conv.lang();
    let unknown = tr(lang, "no sé", "don't know");
    let who = if conv.anonymous.unwrap_or(true) {
        tr(lang, "anónimo", "anonymous")
    } else {
        conv.name.clone().unwrap_or_default()
    };
    let state = conv
        .state
        .as_deref()
        .and_then(StateCode::parse)
        .map_or(unknown.clone(), |s| s.label(lang).to_owned());
    let sector = conv
        .sector
        .as_deref()
        .and_then(Sector::parse)
        .map_or(unknown.clone(), |s| s.label(lang).to_owned());
    let violations: Vec<&str> = conv
        .violations
        .iter()
        .filter_map(|c| Violation::parse(c))
        .map(|v| v.label(lang))
        .collect();
    let trade = conv
        .trade_with_us
        .as_deref()
        .and_then(TradeNexus::parse)
        .map_or(unknown.clone(), |t| t.label(lang).to_owned());
    let when = match conv.held_until() {
        Some(day) => format!(
            "{} {}",
            tr(lang, "no antes del", "not before"),
            date_words(day, lang)
        ),
        None => tr(lang, "lo antes posible", "as soon as possible"),
    };
    let answer = |fix, es, en, value| Answer {
        fix,
        name: tr(lang, es, en),
        value,
    };
    vec![
        answer("who", "Quién", "Who", who),
        answer(
            "employer",
            "Empresa",
            "Company",
            conv.employer.clone().unwrap_or_default(),
        ),
        answer("state", "Estado", "State", state),
        answer(
            "city",
            "Ciudad",
            "City",
            conv.city.clone().unwrap_or_else(|| unknown.clone()),
        ),
        answer("sector", "Tipo de trabajo", "Kind of work", sector),
        answer("viol", "Qué pasó", "What happened", violations.join("; ")),
        answer("trade", "Vende a EE.UU.", "Sells to the US", trade),
        answer("hold", "Revisión", "Review", when),
        answer(
            "story",
            "Descripción",
            "Description",
            conv.narrative.clone().unwrap_or_default(),
        ),
    ]
}

/// The worker's answers, to check before sending: the whole story, as much of it as
/// fits the message after the other answers.
pub(super) fn summary(conv: &Conversation) -> String {
    let lang = conv.lang();
    let mut lines = vec![
        tr(lang, "Revise su queja:", "Check your complaint:"),
        String::new(),
    ];
    let mut story = String::new();
    for answer in answers(conv) {
        if answer.fix == "story" {
            story = format!("{}: {}", answer.name, answer.value);
        } else {
            lines.push(format!("{}: {}", answer.name, answer.value));
        }
        if answer.fix == "hold" {
            lines.push(format!(
                "{}: {}",
                tr(lang, "Archivos", "Files"),
                conv.attachments
            ));
        }
    }
    let head = lines.join("\n");
    let question = tr(lang, "¿La enviamos?", "Shall we send it?");
    let room = wa_limits::INTERACTIVE_BODY
        .saturating_sub(head.chars().count() + question.chars().count() + 4);
    let text = format!("{head}\n{}\n\n{question}", truncate(&story, room));
    truncate(&text, wa_limits::INTERACTIVE_BODY)
}

/// "Corregir": the answers, one row each with what was answered; the one chosen is
/// asked again and the summary comes back.
fn fix_list(conv: &Conversation) -> Reply {
    let lang = conv.lang();
    let mut rows: Vec<Row> = answers(conv)
        .into_iter()
        .map(|a| Row {
            id: format!("fix:{}", a.fix),
            title: truncate(&a.name, wa_limits::ROW_TITLE),
            description: Some(truncate(
                if a.value.trim().is_empty() {
                    "—"
                } else {
                    a.value.as_str()
                },
                wa_limits::ROW_DESCRIPTION,
            )),
        })
        .collect();
    rows.push(Row {
        id: "fix:back".into(),
        title: tr(lang, "Volver al resumen", "Back to the summary"),
        description: Some(tr(lang, "Sin cambios", "No changes")),
    });
    rows.truncate(wa_limits::LIST_ROWS);
    Reply::List {
        body: tr(
            lang,
            "¿Qué quiere cambiar? Elija una respuesta: se la preguntamos otra vez y volvemos al resumen. Lo demás se queda igual.",
            "What do you want to change? Choose an answer: we ask it again and come back to the summary. The rest stays as it is.",
        ),
        button: choose(lang),
        rows,
    }
}

/// What happened, changed from the summary: chosen items come first, marked; a tap
/// adds or takes out one and goes back to the summary.
pub(super) fn fix_violations(conv: &Conversation, chosen: &[&str]) -> Reply {
    let lang = conv.lang();
    let marked: Vec<(String, String)> = Violation::ALL
        .iter()
        .filter(|v| conv.violations.iter().any(|c| c == v.code()))
        .map(|v| (format!("viol:{}", v.code()), format!("✔ {}", v.label(lang))))
        .chain(
            Violation::ALL
                .iter()
                .filter(|v| !conv.violations.iter().any(|c| c == v.code()))
                .map(|v| (format!("viol:{}", v.code()), v.label(lang).to_owned())),
        )
        .collect();
    let items: Vec<(String, &str)> = marked
        .iter()
        .map(|(id, l)| (id.clone(), l.as_str()))
        .collect();
    paged_list(
        lang,
        "viol",
        chosen_so_far(
            lang,
            chosen,
            (
                "Toque otra opción para agregarla, o una marcada con ✔ para quitarla.",
                "Tap another option to add it, or one marked ✔ to take it out.",
            ),
        ),
        &items,
        conv.page,
        Vec::new(),
    )
}

/// A typed state that fits several: which one (buttons for up to three, a list
/// otherwise). The step stays, so typing the whole name works too.
pub(super) fn which_state(lang: Language, states: &[StateCode]) -> Reply {
    let body = tr(
        lang,
        "¿Cuál de estos estados? Toque uno o escriba el nombre completo.",
        "Which of these states? Tap one or write the whole name.",
    );
    if states.len() <= wa_limits::BUTTONS {
        let options: Vec<(String, String)> = states
            .iter()
            .map(|s| (format!("state:{}", s.code()), s.label(lang).to_owned()))
            .collect();
        let refs: Vec<(&str, String)> = options
            .iter()
            .map(|(id, title)| (id.as_str(), title.clone()))
            .collect();
        return buttons(body, &refs);
    }
    Reply::List {
        body,
        button: choose(lang),
        rows: states
            .iter()
            .take(wa_limits::LIST_ROWS)
            .map(|s| Row {
                id: format!("state:{}", s.code()),
                title: truncate(s.label(lang), wa_limits::ROW_TITLE),
                description: None,
            })
            .collect(),
    }
}
