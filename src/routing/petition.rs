//! A draft RRM petition for an advocate to complete: the recommended elements of a
//! petition to the U.S. Interagency Labor Committee (DOMAIN.md §2), in Spanish and
//! English, filled from the case and the advocate's answers, with every element
//! still unknown marked.
//!
//! One document model ([`Document`], built by [`documents`]) and three renderings:
//! Markdown ([`draft`], for `buzon rrm-draft`), HTML for print (the console's
//! template) and OpenDocument text ([`odt`], for the organization's lawyers to edit).
//!
//! Identities: a worker who filed directly is never named (the draft says they
//! left contact details, to be added only with their explicit consent). Members an
//! organization filed for are named only when their recorded consent covers a
//! petition; the others are counted, never named.

use super::{Criterion, Decision, RrmStatus};
use crate::domain::{Language, Sector, StateCode, TradeNexus, Violation};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// What the advocate adds to the case for a petition (stored encrypted as JSON).
/// Every field is optional: the draft marks what is still missing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RrmAnswers {
    /// Legal name, trade name, parent company and its country.
    pub legal_name: Option<String>,
    /// The facility's street address.
    pub address: Option<String>,
    /// Branch of industry (sector code), when the case did not know it.
    pub sector: Option<String>,
    /// What the facility makes or does, its customers, HS codes.
    pub goods: Option<String>,
    /// `yes`, `no` or `unknown`: does it sell to or compete with the U.S.?
    pub trade_with_us: Option<String>,
    /// How: exports, U.S. customers, competition with U.S. goods or services.
    pub trade_detail: Option<String>,
    /// Incumbent and challenger unions, the collective agreement, legitimation.
    pub union_history: Option<String>,
    /// When the denial of rights happened (YYYY-MM-DD).
    pub occurred_on: Option<NaiveDate>,
    /// A dated timeline with the actors.
    pub timeline: Option<String>,
    /// Complaints already brought in Mexico (CFCRL, labor courts, inspection).
    pub remedies_tried: Option<String>,
    /// What the workers ask for (reinstatement, back pay, a new vote...).
    pub remedy_sought: Option<String>,
}

impl RrmAnswers {
    /// The answer to a screening criterion, if the advocate gave one.
    pub fn answers(&self, c: Criterion) -> bool {
        let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        match c {
            Criterion::CoveredSector => has(&self.sector) || has(&self.goods),
            Criterion::TradeNexus => has(&self.trade_with_us) || has(&self.trade_detail),
            Criterion::DenialOfRights => has(&self.union_history) || has(&self.timeline),
            Criterion::AfterEntryIntoForce => self.occurred_on.is_some(),
        }
    }
}

/// A member who consented to be named in a petition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedMember {
    pub name: Option<String>,
    pub worker_id: Option<String>,
}

/// A piece of evidence on the case, described without its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceLine {
    pub description: Option<String>,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

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
    /// The screening shown is `decision.rrm` (callers screen again with the answers).
    pub decision: Decision,
    /// The organization that filed the case, when one did.
    pub organization: Option<String>,
    /// Collective complaints: the workers it is for.
    pub workers_affected: Option<u32>,
    /// Members on record who consented to be named.
    pub named: Vec<NamedMember>,
    /// Members on record not named (no consent to it, or anonymous).
    pub withheld: usize,
    pub answers: RrmAnswers,
    pub evidence: Vec<EvidenceLine>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("case {case_ref} is not an RRM candidate (screening: unlikely; not met: {not_met})")]
pub struct NotACandidate {
    pub case_ref: String,
    pub not_met: String,
}

/// One element of the draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    /// A labelled value; `None` is an element to complete, marked as missing.
    Field(&'static str, Option<String>),
    Paragraph(String),
    /// The worker's own words.
    Quote(String),
    Bullet(String),
}

/// The draft in one language.
#[derive(Clone, Debug)]
pub struct Document {
    pub lang: Language,
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Document {
    pub fn missing_marker(&self) -> &'static str {
        missing(self.lang)
    }
}

fn missing(lang: Language) -> &'static str {
    lang.pick("[FALTA: completar]", "[MISSING: to complete]")
}

fn present(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The draft in Spanish, then English.
pub fn documents(input: &PetitionInput) -> Result<[Document; 2], NotACandidate> {
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
    Ok([document(input, Language::Es), document(input, Language::En)])
}

/// Renders the bilingual draft (Spanish, then English) as Markdown.
pub fn draft(input: &PetitionInput) -> Result<String, NotACandidate> {
    let mut out = String::new();
    for doc in documents(input)? {
        markdown_into(&doc, &mut out);
    }
    Ok(out)
}

/// Appends one document, as Markdown, to `out`. Everything that can hold what a
/// worker or an advocate typed (values, paragraphs, bullets, quotes, the title) is
/// escaped ([`super::markdown::escape`]): no image, link or HTML of theirs renders.
/// Headings, labels and the missing-element markers are this module's own text.
pub fn markdown_into(doc: &Document, out: &mut String) {
    use super::markdown::escape;
    let _ = writeln!(out, "# {}\n", escape(&doc.title));
    let mut in_list = false;
    for b in &doc.blocks {
        let listy = matches!(b, Block::Field(..) | Block::Bullet(_));
        if in_list && !listy {
            out.push('\n');
        }
        in_list = listy;
        let _ = match b {
            Block::Heading(h) => writeln!(out, "## {h}\n"),
            Block::Field(label, value) => writeln!(
                out,
                "- {label}: {}",
                value
                    .as_deref()
                    .map_or_else(|| doc.missing_marker().to_owned(), escape)
            ),
            Block::Paragraph(p) => writeln!(out, "{}\n", escape(p)),
            Block::Quote(q) => {
                for line in q.lines() {
                    let _ = writeln!(out, "> {}", escape(line));
                }
                writeln!(out)
            }
            Block::Bullet(t) => writeln!(out, "- {}", escape(t)),
        };
    }
    out.push_str("\n---\n\n");
}

struct Builder {
    lang: Language,
    blocks: Vec<Block>,
}

impl Builder {
    fn t(&self, es: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(es, en)
    }
    fn heading(&mut self, es: &'static str, en: &'static str) {
        let h = self.t(es, en).to_owned();
        self.blocks.push(Block::Heading(h));
    }
    fn field(&mut self, es: &'static str, en: &'static str, value: Option<String>) {
        let label = self.t(es, en);
        self.blocks.push(Block::Field(label, value));
    }
    fn para(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Paragraph(text.into()));
    }
    fn bullet(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Bullet(text.into()));
    }
}

fn document(p: &PetitionInput, lang: Language) -> Document {
    let a = &p.answers;
    let mut d = Builder {
        lang,
        blocks: Vec::new(),
    };
    let title = format!(
        "{} {}",
        d.t(
            "Borrador de petición al Mecanismo Laboral de Respuesta Rápida (T-MEC) — caso",
            "Draft Rapid Response Labor Mechanism (USMCA) petition — case",
        ),
        p.case_ref
    );
    d.para(format!(
        "{} {} · {}: {}",
        d.t(
            "Preparado a partir de la queja recibida el",
            "Prepared from the complaint received on"
        ),
        p.filed_on,
        d.t("Evaluación", "Screening"),
        p.decision.rrm.status.code()
    ));
    d.para(d.t(
        "Borrador para que una organización defensora lo revise y complete. Envío: USMCA-petitions@dol.gov (confirmar la dirección vigente). Puede presentarse de forma anónima.",
        "Draft for an advocate to review and complete. Submission: USMCA-petitions@dol.gov (check the current address). Petitions may be anonymous.",
    ));

    d.heading("1. Peticionario", "1. Petitioner");
    match &p.organization {
        Some(org) => d.field(
            "Organización peticionaria",
            "Petitioning organization",
            Some(org.clone()),
        ),
        None => d.field(
            "Organización peticionaria",
            "Petitioning organization",
            None,
        ),
    }
    if let Some(n) = p.workers_affected {
        d.field(
            "Trabajadores afectados",
            "Workers affected",
            Some(n.to_string()),
        );
    }
    if p.organization.is_some() {
        for m in &p.named {
            let mut who = m.name.clone().unwrap_or_default();
            if let Some(id) = &m.worker_id {
                let label = d.t("núm. de empleado", "employee no.");
                who = format!("{who} ({label} {id})").trim().to_owned();
            }
            let label = d.t(
                "Trabajador que consintió ser nombrado",
                "Worker who consented to be named",
            );
            d.bullet(format!("{label}: {who}"));
        }
        if p.withheld > 0 {
            d.para(format!(
                "{} {}. {}",
                d.t(
                    "Identidad reservada de personas trabajadoras registradas:",
                    "Identity withheld of workers on record:"
                ),
                p.withheld,
                d.t(
                    "No consintieron ser nombradas en una petición; solicite trato confidencial.",
                    "They did not consent to be named in a petition; request confidential treatment.",
                )
            ));
        }
    } else if p.identified {
        d.para(d.t(
            "La persona dejó sus datos de contacto en Buzón, pero este borrador no los incluye: inclúyalos solo con su consentimiento expreso, y pida trato confidencial de su identidad. Indique la organización peticionaria.",
            "The worker left contact details in Buzón, but this draft leaves them out: include them only with their explicit consent, and request confidential treatment of their identity. Name the petitioning organization.",
        ));
    } else {
        d.para(d.t(
            "Identidad reservada: la persona presentó la queja de forma anónima. Indique la organización peticionaria y solicite trato confidencial.",
            "Identity withheld: the worker filed anonymously. Name the petitioning organization and request confidential treatment.",
        ));
    }

    d.heading("2. Centro de trabajo", "2. Facility");
    d.field(
        "Empresa (como la nombró la persona)",
        "Employer (as the worker named it)",
        Some(p.employer.clone()),
    );
    d.field(
        "Razón social, nombre comercial, empresa matriz y país",
        "Legal name, trade name, parent company and country",
        present(a.legal_name.as_deref()),
    );
    d.field("Domicilio", "Street address", present(a.address.as_deref()));
    d.field(
        "Ciudad o municipio",
        "City or municipality",
        present(p.city.as_deref()),
    );
    d.field(
        "Estado",
        "State",
        Some(format!("{} ({})", p.state.label(lang), p.state.code())),
    );
    d.field(
        "Número aproximado de trabajadores",
        "Approximate number of workers",
        p.workers.map(|n| n.to_string()),
    );

    d.heading("3. Instalación cubierta", "3. Covered facility");
    let sector = a
        .sector
        .as_deref()
        .and_then(Sector::parse)
        .filter(|s| *s != Sector::Unknown)
        .unwrap_or(p.sector);
    d.field(
        "Sector",
        "Sector",
        (sector != Sector::Unknown).then(|| format!("{} ({})", sector.label(lang), sector.code())),
    );
    d.field(
        "Bienes o servicios, clientes, fracciones arancelarias",
        "Goods or services, customers, HS codes",
        present(a.goods.as_deref()),
    );
    let trade = a
        .trade_with_us
        .as_deref()
        .and_then(TradeNexus::parse)
        .filter(|t| *t != TradeNexus::Unknown)
        .unwrap_or(p.trade_with_us);
    let trade_text = match trade {
        TradeNexus::Yes => Some(d.t("sí", "yes").to_owned()),
        TradeNexus::No => Some(
            d.t(
                "no vende a EE. UU.; verificar si compite con bienes o servicios de EE. UU.",
                "does not sell to the U.S.; check whether it competes with U.S. goods or services",
            )
            .to_owned(),
        ),
        TradeNexus::Unknown => None,
    };
    d.field(
        "Comercio con o competencia en EE. UU.",
        "Trade with or competition in the U.S.",
        trade_text,
    );
    d.field(
        "Detalle del comercio con EE. UU.",
        "Trade with the U.S. in detail",
        present(a.trade_detail.as_deref()),
    );

    d.heading("4. Situación sindical", "4. Union landscape");
    d.field(
        "Sindicato titular y central, sindicato alterno, contrato colectivo (¿legitimado?, folio CFCRL), constancias de representatividad",
        "Incumbent union and confederation, challenger union, collective agreement (legitimated?, CFCRL folio), representation certificates",
        present(a.union_history.as_deref()),
    );

    d.heading(
        "5. Hechos de la denegación de derechos",
        "5. Facts of the denial of rights",
    );
    d.field(
        "Fecha de los hechos",
        "Date of the events",
        a.occurred_on.or(p.occurred_on).map(|date| date.to_string()),
    );
    for v in &p.violations {
        d.bullet(format!("{} ({})", v.label(lang), v.code()));
    }
    let account = d.t("Relato de la persona trabajadora", "The worker's account");
    d.para(format!("{account}:"));
    d.blocks.push(Block::Quote(p.narrative.clone()));
    d.field(
        "Cronología con fechas y personas (gerentes, RR. HH., dirigentes)",
        "Dated timeline and actors (managers, HR, union officials)",
        present(a.timeline.as_deref()),
    );

    d.heading("6. Fundamento legal en México", "6. Mexican legal basis");
    d.para(d.t(
        "LFT arts. 133 fr. IV y XVI, 357, 358, 371, 386 Bis, 387, 390 Bis, 390 Ter; Anexo 23-A del T-MEC.",
        "LFT arts. 133 IV and XVI, 357, 358, 371, 386 Bis, 387, 390 Bis, 390 Ter; USMCA Annex 23-A.",
    ));
    d.para(
        if p.decision.rrm.met.contains(&Criterion::AfterEntryIntoForce) {
            d.t(
                "Hechos posteriores al 1 de julio de 2020.",
                "Events after 1 July 2020.",
            )
        } else {
            d.t(
                "[FALTA: confirmar que los hechos son posteriores al 1 de julio de 2020]",
                "[MISSING: confirm the events are after 1 July 2020]",
            )
        },
    );

    d.heading("7. Pruebas", "7. Evidence");
    d.field(
        "Mensajes de seguimiento en el caso",
        "Follow-up messages on the case",
        Some(p.messages.to_string()),
    );
    if p.evidence.is_empty() {
        d.field(
            "Documentos, fotos, grabaciones, testigos, cartas de despido, boletas",
            "Documents, photos, recordings, witnesses, dismissal letters, ballots",
            None,
        );
    }
    for (i, e) in p.evidence.iter().enumerate() {
        let what = e
            .description
            .clone()
            .unwrap_or_else(|| d.t("(sin descripción)", "(no description)").to_owned());
        d.bullet(format!(
            "{} {}: {what} — {}, {} KB, SHA-256 {}",
            d.t("Prueba", "Exhibit"),
            i + 1,
            e.mime_type,
            (e.size_bytes + 1023) / 1024,
            e.sha256
        ));
    }

    d.heading(
        "8. Recursos internos intentados (opcional)",
        "8. Domestic remedies attempted (optional)",
    );
    d.field(
        "Quejas o juicios en México",
        "Complaints or suits in Mexico",
        present(a.remedies_tried.as_deref()),
    );
    d.heading("9. Remedio solicitado", "9. Remedy sought");
    d.field(
        "Lo que piden las personas trabajadoras",
        "What the workers ask for",
        present(a.remedy_sought.as_deref()),
    );

    d.heading("Evaluación de elegibilidad", "Eligibility screening");
    let list = |cs: &[Criterion]| {
        if cs.is_empty() {
            "—".to_string()
        } else {
            cs.iter().map(|c| c.code()).collect::<Vec<_>>().join(", ")
        }
    };
    d.field("Cumplidos", "Met", Some(list(&p.decision.rrm.met)));
    d.field(
        "Por confirmar",
        "Missing",
        Some(list(&p.decision.rrm.missing)),
    );
    for c in &p.decision.rrm.missing {
        d.bullet(c.question(lang));
    }
    d.field(
        "Versión de reglas",
        "Rule version",
        Some(p.decision.rule_version.clone()),
    );
    Document {
        lang,
        title,
        blocks: d.blocks,
    }
}

// ---- OpenDocument text ----

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

const ODT_MIME: &str = "application/vnd.oasis.opendocument.text";

/// The body of `content.xml`: both documents, one after the other.
fn odt_content(docs: &[Document]) -> String {
    let mut body = String::new();
    for (i, doc) in docs.iter().enumerate() {
        let brk = if i > 0 { "Break" } else { "Title" };
        let _ = write!(
            body,
            "<text:h text:style-name=\"{brk}\" text:outline-level=\"1\">{}</text:h>",
            xml(&doc.title)
        );
        for b in &doc.blocks {
            let _ = match b {
                Block::Heading(h) => write!(
                    body,
                    "<text:h text:style-name=\"H2\" text:outline-level=\"2\">{}</text:h>",
                    xml(h)
                ),
                Block::Field(label, value) => match value {
                    Some(v) => write!(
                        body,
                        "<text:p><text:span text:style-name=\"Strong\">{}:</text:span> {}</text:p>",
                        xml(label),
                        xml(v)
                    ),
                    None => write!(
                        body,
                        "<text:p><text:span text:style-name=\"Strong\">{}:</text:span> <text:span text:style-name=\"Missing\">{}</text:span></text:p>",
                        xml(label),
                        xml(doc.missing_marker())
                    ),
                },
                Block::Paragraph(p) => write!(body, "<text:p>{}</text:p>", xml(p)),
                Block::Quote(q) => {
                    for line in q.lines() {
                        let _ = write!(
                            body,
                            "<text:p text:style-name=\"Quote\">{}</text:p>",
                            xml(line)
                        );
                    }
                    Ok(())
                }
                Block::Bullet(t) => write!(body, "<text:p>• {}</text:p>", xml(t)),
            };
        }
    }
    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.3"><office:automatic-styles><style:style style:name="Title" style:family="paragraph"><style:text-properties fo:font-size="16pt" fo:font-weight="bold"/></style:style><style:style style:name="Break" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/><style:text-properties fo:font-size="16pt" fo:font-weight="bold"/></style:style><style:style style:name="H2" style:family="paragraph"><style:paragraph-properties fo:margin-top="0.4cm"/><style:text-properties fo:font-size="13pt" fo:font-weight="bold"/></style:style><style:style style:name="Quote" style:family="paragraph"><style:paragraph-properties fo:margin-left="1cm"/><style:text-properties fo:font-style="italic"/></style:style><style:style style:name="Strong" style:family="text"><style:text-properties fo:font-weight="bold"/></style:style><style:style style:name="Missing" style:family="text"><style:text-properties fo:color="#b00020" fo:font-weight="bold"/></style:style></office:automatic-styles><office:body><office:text>{body}</office:text></office:body></office:document-content>"##
    )
}

/// The draft as an OpenDocument text file (`.odt`): a ZIP with the `mimetype`
/// entry first and uncompressed, the manifest, and the content.
pub fn odt(docs: &[Document]) -> anyhow::Result<Vec<u8>> {
    use std::io::Write as _;
    use zip::write::SimpleFileOptions;
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("mimetype", stored)?;
    zip.write_all(ODT_MIME.as_bytes())?;
    zip.start_file("META-INF/manifest.xml", stored)?;
    zip.write_all(
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" manifest:version="1.3" manifest:media-type="{ODT_MIME}"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#
        )
        .as_bytes(),
    )?;
    zip.start_file("content.xml", stored)?;
    zip.write_all(odt_content(docs).as_bytes())?;
    Ok(zip.finish()?.into_inner())
}

pub const ODT_CONTENT_TYPE: &str = ODT_MIME;

#[cfg(test)]
mod odt_tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_forbidden_controls() {
        assert_eq!(xml("a<b>&\"'\u{1}c"), "a&lt;b&gt;&amp;&quot;&apos;c");
    }
}

#[cfg(test)]
mod draft_tests {
    use super::*;
    use crate::routing::{Jurisdiction, JurisdictionFinding, RrmScreening};

    fn input() -> PetitionInput {
        PetitionInput {
            case_ref: "BZ-TEST0001".into(),
            filed_on: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            identified: true,
            employer: "Arneses <b>".into(),
            city: None,
            state: StateCode::parse("MX-GUA").unwrap(),
            sector: Sector::Unknown,
            trade_with_us: TradeNexus::Unknown,
            workers: None,
            violations: vec![Violation::UnionRetaliation],
            narrative: "Línea uno\nLínea dos".into(),
            occurred_on: None,
            messages: 0,
            decision: Decision {
                rule_version: "test".into(),
                jurisdiction: JurisdictionFinding {
                    status: Jurisdiction::Unknown,
                    basis: String::new(),
                },
                referrals: Vec::new(),
                rrm: RrmScreening {
                    status: RrmStatus::Possible,
                    met: vec![Criterion::DenialOfRights],
                    missing: vec![Criterion::CoveredSector],
                    not_met: Vec::new(),
                },
            },
            organization: Some("Sindicato & Co".into()),
            workers_affected: Some(12),
            named: vec![NamedMember {
                name: Some("Marta".into()),
                worker_id: Some("E-1".into()),
            }],
            withheld: 11,
            answers: RrmAnswers {
                goods: Some("Arneses".into()),
                ..Default::default()
            },
            evidence: Vec::new(),
        }
    }

    #[test]
    fn an_organizations_draft_names_only_consenting_members_and_counts_the_rest() {
        let text = draft(&input()).unwrap();
        assert!(text.contains("Sindicato &amp; Co") && text.contains("Marta (employee no. E-1)"));
        assert!(text.contains("Identity withheld of workers on record: 11"));
        assert!(text.contains("Workers affected: 12"));
        assert!(text.contains("Goods or services, customers, HS codes: Arneses"));
        assert!(text.contains("Street address: [MISSING: to complete]"));
        // The worker's own words stay quoted line by line.
        assert!(text.contains("> Línea uno\n> Línea dos"));
    }

    #[test]
    fn the_odt_is_a_zip_with_an_uncompressed_mimetype_first_and_escaped_content() {
        let docs = documents(&input()).unwrap();
        let bytes = odt(&docs).unwrap();
        // The ODF rule readers rely on: "mimetype" first, stored, at offset 30.
        assert_eq!(&bytes[30..38], b"mimetype");
        assert_eq!(&bytes[38..38 + ODT_MIME.len()], ODT_MIME.as_bytes());
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut content = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("content.xml").unwrap(), &mut content)
            .unwrap();
        assert!(content.contains("Arneses &lt;b&gt;") && content.contains("Sindicato &amp; Co"));
        assert!(!content.contains("<b>"));
    }

    #[test]
    fn an_unlikely_case_has_no_draft() {
        let mut i = input();
        i.decision.rrm.status = RrmStatus::Unlikely;
        i.decision.rrm.not_met = vec![Criterion::CoveredSector];
        assert!(documents(&i).is_err());
    }
}
