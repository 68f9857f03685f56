//! A draft RRM petition for an advocate to complete: the recommended elements of a
//! petition to the U.S. Interagency Labor Committee (DOMAIN.md §2), in Spanish and
//! English, filled from the case, with every element the case can't fill marked.
//! The worker's identity is never in the draft: an anonymous worker left none, and
//! an identified one is named in a petition only with their explicit consent.

use super::{Decision, RrmStatus};
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

fn section(out: &mut String, p: &PetitionInput, lang: Language) {
    let es = lang == Language::Es;
    let t = |s_es: &'static str, s_en: &'static str| if es { s_es } else { s_en };
    let m = missing(lang);
    let _ = writeln!(
        out,
        "# {} {}\n",
        t(
            "Borrador de petición al Mecanismo Laboral de Respuesta Rápida (T-MEC) — caso",
            "Draft Rapid Response Labor Mechanism (USMCA) petition — case"
        ),
        p.case_ref
    );
    let _ = writeln!(
        out,
        "{} {} · {}: **{}**\n",
        t(
            "Preparado a partir de la queja recibida el",
            "Prepared from the complaint received on"
        ),
        p.filed_on,
        t("Evaluación", "Screening"),
        p.decision.rrm.status.code()
    );
    let _ = writeln!(
        out,
        "> {}\n",
        t(
            "Borrador para que una organización defensora lo revise y complete. Envío: USMCA-petitions@dol.gov (confirmar la dirección vigente). Puede presentarse de forma anónima.",
            "Draft for an advocate to review and complete. Submission: USMCA-petitions@dol.gov (check the current address). Petitions may be anonymous."
        )
    );

    let _ = writeln!(out, "## 1. {}\n", t("Peticionario", "Petitioner"));
    let note = if p.identified {
        t(
            "La persona dejó sus datos de contacto en Buzón, pero este borrador no los incluye: inclúyalos solo con su consentimiento expreso, y pida trato confidencial de su identidad. Indique la organización peticionaria.",
            "The worker left contact details in Buzón, but this draft leaves them out: include them only with their explicit consent, and request confidential treatment of their identity. Name the petitioning organization.",
        )
    } else {
        t(
            "Identidad reservada: la persona presentó la queja de forma anónima. Indique la organización peticionaria y solicite trato confidencial.",
            "Identity withheld: the worker filed anonymously. Name the petitioning organization and request confidential treatment.",
        )
    };
    let _ = writeln!(out, "{note}\n");

    let _ = writeln!(out, "## 2. {}\n", t("Centro de trabajo", "Facility"));
    let _ = writeln!(
        out,
        "- {}: {}",
        t(
            "Empresa (como la nombró la persona)",
            "Employer (as the worker named it)"
        ),
        p.employer
    );
    let _ = writeln!(
        out,
        "- {}: {m}",
        t(
            "Razón social, nombre comercial, empresa matriz y país",
            "Legal name, trade name, parent company and country"
        )
    );
    let _ = writeln!(out, "- {}: {m}", t("Domicilio", "Street address"));
    let _ = writeln!(
        out,
        "- {}: {}",
        t("Ciudad o municipio", "City or municipality"),
        or_missing(p.city.clone(), lang)
    );
    let _ = writeln!(
        out,
        "- {}: {} ({})",
        t("Estado", "State"),
        p.state.label(lang),
        p.state.code()
    );
    let _ = writeln!(
        out,
        "- {}: {}\n",
        t(
            "Número aproximado de trabajadores",
            "Approximate number of workers"
        ),
        or_missing(p.workers.map(|n| n.to_string()), lang)
    );

    let _ = writeln!(
        out,
        "## 3. {}\n",
        t("Instalación cubierta", "Covered facility")
    );
    let _ = writeln!(
        out,
        "- {}: {} (`{}`)",
        t("Sector", "Sector"),
        p.sector.label(lang),
        p.sector.code()
    );
    let trade = match p.trade_with_us {
        TradeNexus::Yes => t("sí, según la persona", "yes, according to the worker").to_string(),
        TradeNexus::No => t(
            "la persona dice que no vende a EE. UU.; verificar si compite con bienes o servicios de EE. UU.",
            "the worker says it does not sell to the U.S.; check whether it competes with U.S. goods or services",
        )
        .to_string(),
        TradeNexus::Unknown => m.to_string(),
    };
    let _ = writeln!(
        out,
        "- {}: {trade}",
        t(
            "Comercio con o competencia en EE. UU.",
            "Trade with or competition in the U.S."
        )
    );
    let _ = writeln!(
        out,
        "- {}: {m}\n",
        t(
            "Bienes o servicios, clientes, fracciones arancelarias",
            "Goods or services, customers, HS codes"
        )
    );

    let _ = writeln!(
        out,
        "## 4. {}\n",
        t("Situación sindical", "Union landscape")
    );
    let _ = writeln!(
        out,
        "- {}: {m}\n",
        t(
            "Sindicato titular y central, sindicato alterno, contrato colectivo (¿legitimado?, folio CFCRL), constancias de representatividad",
            "Incumbent union and confederation, challenger union, collective agreement (legitimated?, CFCRL folio), representation certificates"
        )
    );

    let _ = writeln!(
        out,
        "## 5. {}\n",
        t(
            "Hechos de la denegación de derechos",
            "Facts of the denial of rights"
        )
    );
    let _ = writeln!(
        out,
        "- {}: {}",
        t("Fecha de los hechos", "Date of the events"),
        or_missing(p.occurred_on.map(|d| d.to_string()), lang)
    );
    for v in &p.violations {
        let _ = writeln!(out, "- {} (`{}`)", v.label(lang), v.code());
    }
    let _ = writeln!(
        out,
        "\n{}:\n",
        t("Relato de la persona trabajadora", "The worker's account")
    );
    for line in p.narrative.lines() {
        let _ = writeln!(out, "> {line}");
    }
    let _ = writeln!(
        out,
        "\n- {}: {m}\n",
        t(
            "Cronología con fechas y personas (gerentes, RR. HH., dirigentes)",
            "Dated timeline and actors (managers, HR, union officials)"
        )
    );

    let _ = writeln!(
        out,
        "## 6. {}\n",
        t("Fundamento legal en México", "Mexican legal basis")
    );
    let _ = writeln!(
        out,
        "{}",
        t(
            "LFT arts. 133 fr. IV y XVI, 357, 358, 371, 386 Bis, 387, 390 Bis, 390 Ter; Anexo 23-A del T-MEC.",
            "LFT arts. 133 IV and XVI, 357, 358, 371, 386 Bis, 387, 390 Bis, 390 Ter; USMCA Annex 23-A."
        )
    );
    let after = p
        .decision
        .rrm
        .met
        .contains(&super::Criterion::AfterEntryIntoForce);
    let _ = writeln!(
        out,
        "{}\n",
        if after {
            t(
                "Hechos posteriores al 1 de julio de 2020.",
                "Events after 1 July 2020.",
            )
        } else {
            t(
                "[FALTA: confirmar que los hechos son posteriores al 1 de julio de 2020]",
                "[MISSING: confirm the events are after 1 July 2020]",
            )
        }
    );

    let _ = writeln!(out, "## 7. {}\n", t("Pruebas", "Evidence"));
    let _ = writeln!(
        out,
        "- {}: {}",
        t(
            "Mensajes de seguimiento en el caso",
            "Follow-up messages on the case"
        ),
        p.messages
    );
    let _ = writeln!(
        out,
        "- {}: {m}\n",
        t(
            "Documentos, fotos, grabaciones, testigos, cartas de despido, boletas",
            "Documents, photos, recordings, witnesses, dismissal letters, ballots"
        )
    );

    let _ = writeln!(
        out,
        "## 8. {}\n",
        t(
            "Recursos internos intentados (opcional)",
            "Domestic remedies attempted (optional)"
        )
    );
    let _ = writeln!(out, "- {m}\n");
    let _ = writeln!(out, "## 9. {}\n", t("Remedio solicitado", "Remedy sought"));
    let _ = writeln!(out, "- {m}\n");

    let _ = writeln!(
        out,
        "## {}\n",
        t("Evaluación de elegibilidad", "Eligibility screening")
    );
    let list = |cs: &[super::Criterion]| {
        if cs.is_empty() {
            "—".to_string()
        } else {
            cs.iter().map(|c| c.code()).collect::<Vec<_>>().join(", ")
        }
    };
    let _ = writeln!(
        out,
        "- {}: {}",
        t("Cumplidos", "Met"),
        list(&p.decision.rrm.met)
    );
    let _ = writeln!(
        out,
        "- {}: {}",
        t("Por confirmar", "Missing"),
        list(&p.decision.rrm.missing)
    );
    for c in &p.decision.rrm.missing {
        let _ = writeln!(out, "  - {}", c.question(lang));
    }
    let _ = writeln!(
        out,
        "- {}: {}\n",
        t("Versión de reglas", "Rule version"),
        p.decision.rule_version
    );
    let _ = writeln!(out, "---\n");
}
