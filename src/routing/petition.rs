//! A draft RRM petition for an advocate to complete: the recommended elements of a
//! petition to the U.S. Interagency Labor Committee (DOMAIN.md §2), in Spanish and
//! English, filled from the case, with every element the case can't fill marked.
//! The worker's identity is never in the draft: an anonymous worker left none, and
//! an identified one is named in a petition only with their explicit consent.

use super::{Criterion, Decision, RrmStatus};
use crate::domain::{Language, Sector, StateCode, TradeNexus, Violation};
use chrono::NaiveDate;
use std::fmt::Write;

/// Everything the draft uses, decrypted by the caller.
pub struct PetitionInput {
    pub case_ref: String,
    pub filed_on: NaiveDate,
    /// Whether the worker left any identity. The draft never prints it: the
    /// worker's identity goes into a petition only with their explicit consent.
    pub identified: bool,
    pub employer: String,
    pub city: Option<String>,
    pub state: StateCode,
    pub sector: Sector,
    pub trade_with_us: TradeNexus,
    pub workers: Option<u32>,
    pub violations: Vec<Violation>,
    pub narrative: String,
    pub occurred_on: Option<NaiveDate>,
    pub messages: usize,
    pub decision: Decision,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("case {case_ref} is not an RRM candidate (screening: unlikely; not met: {not_met})")]
pub struct NotACandidate {
    pub case_ref: String,
    pub not_met: String,
}

fn missing(lang: Language) -> &'static str {
    match lang {
        Language::Es => "[FALTA: completar]",
        Language::En => "[MISSING: to complete]",
    }
}

fn or_missing(value: Option<String>, lang: Language) -> String {
    value
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| missing(lang).to_string())
}

/// Renders the bilingual draft (Spanish, then English) as Markdown.
pub fn draft(input: &PetitionInput) -> Result<String, NotACandidate> {
    if input.decision.rrm.status == RrmStatus::Unlikely {
        return Err(NotACandidate {
            case_ref: input.case_ref.clone(),
            not_met: input
                .decision
                .rrm
                .not_met
                .iter()
                .map(|c| c.code())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut out = String::new();
    for lang in [Language::Es, Language::En] {
        section(&mut out, input, lang);
    }
    Ok(out)
}

/// A Markdown document in one language: every label is given in both and the
/// document picks its own.
struct Doc<'a> {
    out: &'a mut String,
    lang: Language,
}

impl Doc<'_> {
    fn t(&self, es: &'static str, en: &'static str) -> &'static str {
        match self.lang {
            Language::Es => es,
            Language::En => en,
        }
    }

    fn line(&mut self, text: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{text}");
    }

    fn heading(&mut self, number: &str, es: &'static str, en: &'static str) {
        let text = self.t(es, en);
        self.line(format_args!("## {number}{text}\n"));
    }

    fn item(&mut self, es: &'static str, en: &'static str, value: impl std::fmt::Display) {
        let label = self.t(es, en);
        self.line(format_args!("- {label}: {value}"));
    }

    /// An element the case cannot fill: the advocate completes it.
    fn blank_item(&mut self, es: &'static str, en: &'static str) {
        self.item(es, en, missing(self.lang));
    }
}

fn section(out: &mut String, p: &PetitionInput, lang: Language) {
    let mut d = Doc { out, lang };
    let m = missing(lang);
    let title = d.t(
        "Borrador de petición al Mecanismo Laboral de Respuesta Rápida (T-MEC) — caso",
        "Draft Rapid Response Labor Mechanism (USMCA) petition — case",
    );
    d.line(format_args!("# {title} {}\n", p.case_ref));
    let (prepared, screening) = (
        d.t(
            "Preparado a partir de la queja recibida el",
            "Prepared from the complaint received on",
        ),
        d.t("Evaluación", "Screening"),
    );
    d.line(format_args!(
        "{prepared} {} · {screening}: **{}**\n",
        p.filed_on,
        p.decision.rrm.status.code()
    ));
    let note = d.t(
        "Borrador para que una organización defensora lo revise y complete. Envío: USMCA-petitions@dol.gov (confirmar la dirección vigente). Puede presentarse de forma anónima.",
        "Draft for an advocate to review and complete. Submission: USMCA-petitions@dol.gov (check the current address). Petitions may be anonymous.",
    );
    d.line(format_args!("> {note}\n"));

    d.heading("1. ", "Peticionario", "Petitioner");
    let note = if p.identified {
        d.t(
            "La persona dejó sus datos de contacto en Buzón, pero este borrador no los incluye: inclúyalos solo con su consentimiento expreso, y pida trato confidencial de su identidad. Indique la organización peticionaria.",
            "The worker left contact details in Buzón, but this draft leaves them out: include them only with their explicit consent, and request confidential treatment of their identity. Name the petitioning organization.",
        )
    } else {
        d.t(
            "Identidad reservada: la persona presentó la queja de forma anónima. Indique la organización peticionaria y solicite trato confidencial.",
            "Identity withheld: the worker filed anonymously. Name the petitioning organization and request confidential treatment.",
        )
    };
    d.line(format_args!("{note}\n"));

    d.heading("2. ", "Centro de trabajo", "Facility");
    d.item(
        "Empresa (como la nombró la persona)",
        "Employer (as the worker named it)",
        &p.employer,
    );
    d.blank_item(
        "Razón social, nombre comercial, empresa matriz y país",
        "Legal name, trade name, parent company and country",
    );
    d.blank_item("Domicilio", "Street address");
    d.item(
        "Ciudad o municipio",
        "City or municipality",
        or_missing(p.city.clone(), lang),
    );
    d.item(
        "Estado",
        "State",
        format_args!("{} ({})", p.state.label(lang), p.state.code()),
    );
    d.item(
        "Número aproximado de trabajadores",
        "Approximate number of workers",
        or_missing(p.workers.map(|n| n.to_string()), lang),
    );
    d.line("");

    d.heading("3. ", "Instalación cubierta", "Covered facility");
    d.item(
        "Sector",
        "Sector",
        format_args!("{} (`{}`)", p.sector.label(lang), p.sector.code()),
    );
    let trade = match p.trade_with_us {
        TradeNexus::Yes => d.t("sí, según la persona", "yes, according to the worker"),
        TradeNexus::No => d.t(
            "la persona dice que no vende a EE. UU.; verificar si compite con bienes o servicios de EE. UU.",
            "the worker says it does not sell to the U.S.; check whether it competes with U.S. goods or services",
        ),
        TradeNexus::Unknown => m,
    };
    d.item(
        "Comercio con o competencia en EE. UU.",
        "Trade with or competition in the U.S.",
        trade,
    );
    d.blank_item(
        "Bienes o servicios, clientes, fracciones arancelarias",
        "Goods or services, customers, HS codes",
    );
    d.line("");

    d.heading("4. ", "Situación sindical", "Union landscape");
    d.blank_item(
        "Sindicato titular y central, sindicato alterno, contrato colectivo (¿legitimado?, folio CFCRL), constancias de representatividad",
        "Incumbent union and confederation, challenger union, collective agreement (legitimated?, CFCRL folio), representation certificates",
    );
    d.line("");

    d.heading(
        "5. ",
        "Hechos de la denegación de derechos",
        "Facts of the denial of rights",
    );
    d.item(
        "Fecha de los hechos",
        "Date of the events",
        or_missing(p.occurred_on.map(|date| date.to_string()), lang),
    );
    for v in &p.violations {
        d.line(format_args!("- {} (`{}`)", v.label(lang), v.code()));
    }
    let account = d.t("Relato de la persona trabajadora", "The worker's account");
    d.line(format_args!("\n{account}:\n"));
    for line in p.narrative.lines() {
        d.line(format_args!("> {line}"));
    }
    d.line("");
    d.blank_item(
        "Cronología con fechas y personas (gerentes, RR. HH., dirigentes)",
        "Dated timeline and actors (managers, HR, union officials)",
    );
    d.line("");

    d.heading("6. ", "Fundamento legal en México", "Mexican legal basis");
    let basis = d.t(
        "LFT arts. 133 fr. IV y XVI, 357, 358, 371, 386 Bis, 387, 390 Bis, 390 Ter; Anexo 23-A del T-MEC.",
        "LFT arts. 133 IV and XVI, 357, 358, 371, 386 Bis, 387, 390 Bis, 390 Ter; USMCA Annex 23-A.",
    );
    d.line(basis);
    let after = if p.decision.rrm.met.contains(&Criterion::AfterEntryIntoForce) {
        d.t(
            "Hechos posteriores al 1 de julio de 2020.",
            "Events after 1 July 2020.",
        )
    } else {
        d.t(
            "[FALTA: confirmar que los hechos son posteriores al 1 de julio de 2020]",
            "[MISSING: confirm the events are after 1 July 2020]",
        )
    };
    d.line(format_args!("{after}\n"));

    d.heading("7. ", "Pruebas", "Evidence");
    d.item(
        "Mensajes de seguimiento en el caso",
        "Follow-up messages on the case",
        p.messages,
    );
    d.blank_item(
        "Documentos, fotos, grabaciones, testigos, cartas de despido, boletas",
        "Documents, photos, recordings, witnesses, dismissal letters, ballots",
    );
    d.line("");

    d.heading(
        "8. ",
        "Recursos internos intentados (opcional)",
        "Domestic remedies attempted (optional)",
    );
    d.line(format_args!("- {m}\n"));
    d.heading("9. ", "Remedio solicitado", "Remedy sought");
    d.line(format_args!("- {m}\n"));

    d.heading("", "Evaluación de elegibilidad", "Eligibility screening");
    let list = |cs: &[Criterion]| {
        if cs.is_empty() {
            "—".to_string()
        } else {
            cs.iter().map(|c| c.code()).collect::<Vec<_>>().join(", ")
        }
    };
    d.item("Cumplidos", "Met", list(&p.decision.rrm.met));
    d.item("Por confirmar", "Missing", list(&p.decision.rrm.missing));
    for c in &p.decision.rrm.missing {
        d.line(format_args!("  - {}", c.question(lang)));
    }
    d.item(
        "Versión de reglas",
        "Rule version",
        &p.decision.rule_version,
    );
    d.line("\n---\n");
}
