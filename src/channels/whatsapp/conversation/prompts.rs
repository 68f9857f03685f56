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

/// A list of `items` (id, label), paged so a page plus its fixed rows and a "more"
/// row fit WhatsApp's ten rows. Long labels go whole into the row's description.
pub(super) fn paged_list(
    body: String,
    button: String,
    items: &[(String, &str)],
    page: usize,
    fixed: Vec<Row>,
    more: Row,
) -> Reply {
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
        button: truncate(&button, wa_limits::BUTTON_TITLE),
        rows,
    }
}

/// The question of the current step.
pub fn prompt(conv: &Conversation) -> Reply {
    let lang = conv.lang();
    match conv.step {
        Step::Consent => buttons(
            tr(
                lang,
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
                ("consent:yes", tr(lang, "Acepto", "I agree")),
                ("consent:no", tr(lang, "No acepto", "I don't agree")),
                match lang {
                    Language::Es => ("lang:en", "English".to_owned()),
                    Language::En => ("lang:es", "Español".to_owned()),
                },
            ],
        ),
        Step::Anonymity => buttons(
            tr(
                lang,
                "¿Quiere dar su nombre o quedar anónimo?\n\nSi queda anónimo no guardamos su nombre ni su número, y solo podrá ver su queja con el código que le daremos.",
                "Do you want to give your name or stay anonymous?\n\nIf you stay anonymous we keep neither your name nor your number, and you can only see your complaint with the code we will give you.",
            ),
            &[
                ("anon:yes", tr(lang, "Anónimo", "Anonymous")),
                ("anon:no", tr(lang, "Con mi nombre", "With my name")),
            ],
        ),
        Step::Name => Reply::Text(tr(lang, "¿Cuál es su nombre?", "What is your name?")),
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
        Step::City => buttons(
            tr(
                lang,
                "¿En qué ciudad o municipio está? Escríbalo, o toque «No sé».",
                "In which city or town is it? Write it, or tap \"I don't know\".",
            ),
            &[("city:skip", tr(lang, "No sé", "I don't know"))],
        ),
        Step::Sector => {
            let items: Vec<(String, &str)> = Sector::ALL
                .iter()
                .map(|s| (format!("sector:{}", s.code()), s.label(lang)))
                .collect();
            paged_list(
                tr(
                    lang,
                    "¿Qué tipo de trabajo hacen ahí?",
                    "What kind of work is done there?",
                ),
                tr(lang, "Elegir", "Choose"),
                &items,
                conv.page,
                Vec::new(),
                Row {
                    id: "sector:more".into(),
                    title: tr(lang, "Más opciones…", "More options…"),
                    description: None,
                },
            )
        }
        Step::Violations => {
            let chosen: Vec<&str> = conv
                .violations
                .iter()
                .filter_map(|c| Violation::parse(c))
                .map(|v| v.label(lang))
                .collect();
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
                    format!(
                        "{}\n• {}\n\n{}",
                        tr(lang, "Ya eligió:", "You chose:"),
                        chosen.join("\n• "),
                        tr(
                            lang,
                            "¿Pasó algo más? Elija otra cosa o «Eso es todo».",
                            "Did anything else happen? Choose another or \"That's all\".",
                        )
                    ),
                    vec![Row {
                        id: "viol:done".into(),
                        title: tr(lang, "✔ Eso es todo", "✔ That's all"),
                        description: None,
                    }],
                )
            };
            paged_list(
                body,
                tr(lang, "Elegir", "Choose"),
                &items,
                conv.page,
                fixed,
                Row {
                    id: "viol:more".into(),
                    title: tr(lang, "Más opciones…", "More options…"),
                    description: None,
                },
            )
        }
        Step::Trade => buttons(
            tr(
                lang,
                "¿Lo que hacen en su trabajo se vende a Estados Unidos (o compite con productos de allá)?",
                "Is what your workplace makes sold to the United States (or does it compete with products from there)?",
            ),
            &[
                ("trade:yes", tr(lang, "Sí", "Yes")),
                ("trade:no", "No".to_owned()),
                ("trade:unknown", tr(lang, "No sé", "I don't know")),
            ],
        ),
        Step::Narrative => Reply::Text(tr(
            lang,
            "Cuéntenos qué pasó, con sus palabras: qué, cuándo y a quién. Escríbalo en un solo mensaje.",
            "Tell us what happened, in your own words: what, when and to whom. Write it in one message.",
        )),
        Step::Evidence => buttons(
            tr(
                lang,
                "Si tiene fotos, documentos o notas de voz que muestren lo que pasó, envíelos ahora. Cuando termine (o si no tiene), toque «Listo».",
                "If you have photos, documents or voice notes that show what happened, send them now. When you are done (or if you have none), tap \"Done\".",
            ),
            &[("evidence:done", tr(lang, "Listo", "Done"))],
        ),
        Step::Confirm => buttons(
            summary(conv),
            &[
                ("confirm:send", tr(lang, "Enviar", "Send")),
                ("confirm:restart", tr(lang, "Corregir", "Start over")),
            ],
        ),
    }
}

/// The worker's answers, to check before sending.
pub(super) fn summary(conv: &Conversation) -> String {
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
    let narrative = truncate(conv.narrative.as_deref().unwrap_or(""), 200);
    let text = format!(
        "{}\n\n{}: {who}\n{}: {}\n{}: {state}\n{}: {}\n{}: {sector}\n{}: {}\n{}: {trade}\n{}: {narrative}\n{}: {}\n\n{}",
        tr(lang, "Revise su queja:", "Check your complaint:"),
        tr(lang, "Quién", "Who"),
        tr(lang, "Empresa", "Company"),
        conv.employer.as_deref().unwrap_or(""),
        tr(lang, "Estado", "State"),
        tr(lang, "Ciudad", "City"),
        conv.city.clone().unwrap_or_else(|| unknown.clone()),
        tr(lang, "Tipo de trabajo", "Kind of work"),
        tr(lang, "Qué pasó", "What happened"),
        violations.join("; "),
        tr(lang, "Vende a EE.UU.", "Sells to the US"),
        tr(lang, "Descripción", "Description"),
        tr(lang, "Archivos", "Files"),
        conv.attachments,
        tr(lang, "¿La enviamos?", "Shall we send it?"),
    );
    truncate(&text, wa_limits::INTERACTIVE_BODY)
}
