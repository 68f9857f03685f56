//! The RRM petition workflow of a flagged case (screened `likely` or `possible`):
//! the advocate answers what the screening could not settle and what a petition
//! needs, attaches evidence, exports the bilingual draft (HTML for print, OpenDocument
//! text to edit), and records that the petition was prepared and when it was filed.
//! Filing starts the U.S. Interagency Labor Committee's 30-day review (19 U.S.C.
//! §4646(b)(1), DOMAIN.md §1.3), which the case then tracks.
//!
//! Answers and evidence (content, file name, description) are encrypted: they name
//! people. Every export and every evidence download is on the audit record.

use crate::audit::{self, Event};
use crate::cases::Refused;
use crate::crypto::{Aad, KeyRing};
use crate::routing::petition::{EvidenceLine, NamedMember, PetitionInput, RrmAnswers};
use crate::routing::{CaseFacts, Decision, Rules};
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde::Serialize;
use uuid::Uuid;

/// The ILC decides within 30 days of a petition (DOMAIN.md §1.3 step 2).
use crate::cases::petition::{PetitionStatus, status};
pub const MAX_ANSWER_CHARS: usize = 4000;
pub const MAX_EVIDENCE_BYTES: usize = 10 * 1024 * 1024;

/// The body cap of an evidence upload: the file and, around it, a form's worth.
pub fn evidence_body_cap(max_body_bytes: usize) -> usize {
    MAX_EVIDENCE_BYTES + max_body_bytes
}
pub const MAX_EVIDENCE_FILES: i64 = 20;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_FILENAME_CHARS: usize = 200;

fn answers_aad(case_id: Uuid) -> Aad<'static> {
    Aad {
        table: "rrm_petitions",
        column: "answers_ct",
        row: case_id,
    }
}

fn evidence_aad(id: Uuid, column: &'static str) -> Aad<'static> {
    Aad {
        table: "case_evidence",
        column,
        row: id,
    }
}

pub async fn answers(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    case_id: Uuid,
) -> anyhow::Result<RrmAnswers> {
    let ct: Option<Vec<u8>> = crate::db::row(
        db,
        "SELECT answers_ct FROM rrm_petitions WHERE case_id = $1",
        vec![case_id.into()],
    )
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()?
    .flatten();
    let Some(ct) = ct else {
        return Ok(RrmAnswers::default());
    };
    let json = keys
        .cipher
        .decrypt_string(answers_aad(case_id), &ct)
        .context("cannot decrypt the petition answers")?;
    serde_json::from_str(&json).context("stored petition answers are not valid")
}

/// The answers as sent: text trimmed, blanks dropped, codes and dates checked.
pub fn clean_answers(mut a: RrmAnswers, today: NaiveDate) -> Result<RrmAnswers, Refused> {
    let fields: [(&mut Option<String>, &'static str); 9] = [
        (&mut a.legal_name, "legal_name"),
        (&mut a.address, "address"),
        (&mut a.sector, "sector"),
        (&mut a.goods, "goods"),
        (&mut a.trade_with_us, "trade_with_us"),
        (&mut a.trade_detail, "trade_detail"),
        (&mut a.union_history, "union_history"),
        (&mut a.timeline, "timeline"),
        (&mut a.remedies_tried, "remedies_tried"),
    ];
    for (value, name) in fields {
        *value = clean(value.take(), name)?;
    }
    a.remedy_sought = clean(a.remedy_sought.take(), "remedy_sought")?;
    if let Some(s) = &a.sector
        && crate::domain::Sector::parse(s).is_none()
    {
        return Err(Refused::Invalid("sector"));
    }
    if let Some(t) = &a.trade_with_us
        && crate::domain::TradeNexus::parse(t).is_none()
    {
        return Err(Refused::Invalid("trade_with_us"));
    }
    if a.occurred_on.is_some_and(|d| d > today) {
        return Err(Refused::Invalid("occurred_on"));
    }
    Ok(a)
}

fn clean(value: Option<String>, field: &'static str) -> Result<Option<String>, Refused> {
    match value.as_deref().and_then(crate::domain::clean_text) {
        None => Ok(None),
        Some(v) if v.chars().count() > MAX_ANSWER_CHARS => Err(Refused::TooLong(field)),
        Some(v) => Ok(Some(v)),
    }
}

/// Stores the advocate's answers (replacing earlier ones), on the record.
pub async fn save_answers(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    case: &entity::case::Model,
    answers: RrmAnswers,
) -> Result<RrmAnswers, Refused> {
    flagged(case)?;
    let answers = clean_answers(answers, Utc::now().date_naive())?;
    let json = serde_json::to_string(&answers).context("cannot serialize answers")?;
    let ct = keys
        .cipher
        .encrypt_str(answers_aad(case.id), &json)
        .context("cannot encrypt answers")?;
    let now = Utc::now();
    let txn = db.begin().await?;
    crate::db::exec(
        &txn,
        "INSERT INTO rrm_petitions (case_id, answers_ct, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (case_id) DO UPDATE SET answers_ct = excluded.answers_ct, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        vec![case.id.into(), ct.into(), now.into(), actor.into()],
    )
    .await?;
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "rrm_answers").case(case.id),
    )
    .await?;
    txn.commit().await.context("cannot commit answers")?;
    Ok(answers)
}

/// Only flagged cases have a petition to prepare.
pub fn flagged(case: &entity::case::Model) -> Result<(), Refused> {
    match case.rrm_status.as_deref() {
        Some("likely" | "possible") => Ok(()),
        _ => Err(Refused::NotCandidate),
    }
}

/// Records the date the organization filed the petition: the 30-day review runs
/// from it. Filing needs a prepared draft first.
pub async fn mark_filed(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    case: &entity::case::Model,
    filed_on: Option<&str>,
) -> Result<PetitionStatus, Refused> {
    flagged(case)?;
    let raw = filed_on
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(Refused::Missing("filed_on"))?;
    let date =
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| Refused::Invalid("filed_on"))?;
    let earliest = NaiveDate::from_ymd_opt(2020, 7, 1).context("date")?;
    if date > Utc::now().date_naive() || date < earliest {
        return Err(Refused::Invalid("filed_on"));
    }
    let txn = db.begin().await?;
    let updated = crate::db::exec(
        &txn,
        "UPDATE rrm_petitions SET filed_on = $2, filed_by = $3 WHERE case_id = $1 AND prepared_at IS NOT NULL",
        vec![case.id.into(), date.into(), actor.into()],
    )
    .await?;
    if updated == 0 {
        return Err(Refused::NotPrepared);
    }
    crate::cases::changed(&txn, case.id).await?;
    let detail = format!("filed_on={date}");
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "rrm_filed")
            .case(case.id)
            .detail(&detail),
    )
    .await?;
    txn.commit().await.context("cannot commit")?;
    Ok(status(db, case.id).await?)
}

// ---- evidence ----

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EvidenceOut {
    pub id: Uuid,
    pub filename: String,
    pub description: Option<String>,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// The file types evidence may be, recognized by their first bytes (the declared
/// type is not trusted).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"%PDF-") {
        Some("application/pdf")
    } else if at(0, &[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if at(0, b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Some("image/webp")
    } else if at(0, b"OggS") {
        Some("audio/ogg")
    } else if at(0, b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
        Some("audio/mpeg")
    } else if at(4, b"ftypM4A") {
        Some("audio/mp4")
    } else if at(4, b"ftyp") {
        Some("video/mp4")
    } else if !bytes.is_empty() && std::str::from_utf8(bytes).is_ok_and(|t| !t.contains('\0')) {
        Some("text/plain; charset=utf-8")
    } else {
        None
    }
}

/// Stores one piece of evidence, encrypted, on the record.
pub async fn add_evidence(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    case: &entity::case::Model,
    filename: Option<&str>,
    description: Option<&str>,
    bytes: &[u8],
) -> Result<EvidenceOut, Refused> {
    flagged(case)?;
    if bytes.is_empty() {
        return Err(Refused::Missing("file"));
    }
    if bytes.len() > MAX_EVIDENCE_BYTES {
        return Err(Refused::Evidence);
    }
    let mime = sniff(bytes).ok_or(Refused::Evidence)?;
    let filename = crate::domain::clean_text(filename.unwrap_or(""))
        .map(|f| f.replace(['/', '\\'], "_"))
        .unwrap_or_else(|| "evidence".to_owned());
    if filename.chars().count() > MAX_FILENAME_CHARS {
        return Err(Refused::TooLong("filename"));
    }
    let description = match description.and_then(crate::domain::clean_text) {
        Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => {
            return Err(Refused::TooLong("description"));
        }
        d => d,
    };
    let id = Uuid::new_v4();
    let enc = |column, text: &[u8]| {
        keys.cipher
            .encrypt(evidence_aad(id, column), text)
            .with_context(|| format!("cannot encrypt case_evidence.{column}"))
    };
    let out = EvidenceOut {
        id,
        sha256: crate::crypto::sha256_hex(bytes),
        size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        mime_type: mime.to_owned(),
        created_at: Utc::now(),
        filename,
        description,
    };
    let txn = db.begin().await?;
    crate::db::exec(
        &txn,
        "INSERT INTO case_evidence (id, case_id, uploaded_by, mime_type, size_ct, sha256_ct, filename_ct, description_ct, content_ct, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        vec![
            id.into(),
            case.id.into(),
            actor.into(),
            out.mime_type.clone().into(),
            enc("size_ct", out.size_bytes.to_string().as_bytes())?.into(),
            enc("sha256_ct", out.sha256.as_bytes())?.into(),
            enc("filename_ct", out.filename.as_bytes())?.into(),
            out.description
                .as_deref()
                .map(|d| enc("description_ct", d.as_bytes()))
                .transpose()?
                .into(),
            // Padded: the ciphertext's length must not give the file's size.
            keys.cipher
                .encrypt_padded(evidence_aad(id, "content_ct"), bytes)
                .context("cannot encrypt case_evidence.content_ct")?
                .into(),
            out.created_at.into(),
        ],
    )
    .await?;
    // Counted after the insert, in its transaction: concurrent uploads can't pass
    // the cap together.
    let count: i64 = crate::db::row(
        &txn,
        "SELECT COUNT(*) FROM case_evidence WHERE case_id = $1",
        vec![case.id.into()],
    )
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()?
    .unwrap_or(0);
    if count > MAX_EVIDENCE_FILES {
        return Err(Refused::TooMany("file"));
    }
    audit::append(
        &txn,
        keys,
        Event::new(Some(actor), "evidence_add")
            .case(case.id)
            // No size: the audit log is in clear, and an exact size can match a
            // known document.
            .target(&id.to_string()),
    )
    .await?;
    txn.commit().await.context("cannot commit evidence")?;
    Ok(out)
}

pub async fn evidence(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    case_id: Uuid,
) -> anyhow::Result<Vec<EvidenceOut>> {
    let rows = crate::db::rows(
        db,
        "SELECT id, mime_type, size_ct, sha256_ct, filename_ct, description_ct, created_at \
         FROM case_evidence WHERE case_id = $1 ORDER BY created_at, id",
        vec![case_id.into()],
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: Uuid = r.try_get_by_index(0)?;
        let dec = |column, ct: Vec<u8>| -> anyhow::Result<String> {
            let bytes = keys
                .cipher
                .decrypt(evidence_aad(id, column), &ct)
                .with_context(|| format!("cannot decrypt case_evidence.{column}"))?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        let description: Option<Vec<u8>> = r.try_get_by_index(5)?;
        out.push(EvidenceOut {
            id,
            mime_type: r.try_get_by_index(1)?,
            size_bytes: dec("size_ct", r.try_get_by_index(2)?)?
                .parse()
                .context("case_evidence.size_ct is not a number")?,
            sha256: dec("sha256_ct", r.try_get_by_index(3)?)?,
            filename: dec("filename_ct", r.try_get_by_index(4)?)?,
            description: description
                .map(|ct| dec("description_ct", ct))
                .transpose()?,
            created_at: r.try_get_by_index(6)?,
        });
    }
    Ok(out)
}

/// One piece of evidence, decrypted, on the record: `(type, file name, content)`.
pub async fn evidence_file(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    case: &entity::case::Model,
    id: Uuid,
) -> anyhow::Result<Option<(String, String, Vec<u8>)>> {
    let Some(r) = crate::db::row(
        db,
        "SELECT mime_type, filename_ct, content_ct FROM case_evidence WHERE id = $1 AND case_id = $2",
        vec![id.into(), case.id.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    audit::record(
        db,
        keys,
        Event::new(Some(actor), "evidence_download")
            .case(case.id)
            .target(&id.to_string()),
    )
    .await?;
    let filename = keys
        .cipher
        .decrypt(
            evidence_aad(id, "filename_ct"),
            &r.try_get_by_index::<Vec<u8>>(1)?,
        )
        .context("cannot decrypt the file name")?;
    let content = keys
        .cipher
        .decrypt(
            evidence_aad(id, "content_ct"),
            &r.try_get_by_index::<Vec<u8>>(2)?,
        )
        .context("cannot decrypt the evidence")?;
    Ok(Some((
        r.try_get_by_index(0)?,
        String::from_utf8_lossy(&filename).into_owned(),
        content.to_vec(),
    )))
}

// ---- the draft ----

/// The screening with the advocate's answers taken as facts (sector, trade with
/// the U.S., date): what a petition could claim. The case's own routing is left as
/// it is: inspectors confirm facts.
pub fn rescreen(rules: &Rules, facts: &CaseFacts, answers: &RrmAnswers) -> Decision {
    let mut facts = facts.clone();
    if let Some(s) = answers
        .sector
        .as_deref()
        .and_then(crate::domain::Sector::parse)
        .filter(|s| *s != crate::domain::Sector::Unknown)
    {
        facts.sector = s;
    }
    if let Some(t) = answers
        .trade_with_us
        .as_deref()
        .and_then(crate::domain::TradeNexus::parse)
        .filter(|t| *t != crate::domain::TradeNexus::Unknown)
    {
        facts.trade_with_us = t;
    }
    if let Some(d) = answers.occurred_on {
        facts.occurred_on = Some(d);
    }
    crate::routing::route(rules, &facts)
}

/// What the screening asks, with the advocate's answer state: the form's order.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Question {
    /// `covered_sector`, `trade_nexus`, `denial_of_rights`, `after_2020_07_01`.
    pub criterion: &'static str,
    pub question: &'static str,
    pub answered: bool,
}

pub fn questions(
    decision: &Decision,
    answers: &RrmAnswers,
    lang: crate::domain::Language,
) -> Vec<Question> {
    decision
        .rrm
        .missing
        .iter()
        .map(|c| Question {
            criterion: c.code(),
            question: c.question(lang),
            answered: answers.answers(*c),
        })
        .collect()
}

/// A case's facts as routing reads them, the advocate's answers, and the screening
/// they give together: what the RRM view needs, nothing decrypted but the answers.
pub struct Screening {
    pub facts: CaseFacts,
    pub violations: Vec<crate::domain::Violation>,
    pub answers: RrmAnswers,
    /// The screening with the answers taken as facts.
    pub decision: Decision,
    /// The case's own decision: what its screening asked.
    pub asked: Decision,
}

/// Fails when the case's state is not known yet (a mail complaint before triage).
pub async fn screening(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    rules: &Rules,
    case: &entity::case::Model,
) -> anyhow::Result<Screening> {
    use crate::domain::{Sector, StateCode, TradeNexus, Violation};
    let id = case.id;
    let w = crate::db::row(
        db,
        "SELECT state, sector, trade_with_us, workers FROM workplaces WHERE case_id = $1",
        vec![id.into()],
    )
    .await?
    .context("case has no workplace")?;
    let violations: Vec<Violation> = crate::db::all(
        db,
        "SELECT violation FROM case_violations WHERE case_id = $1 ORDER BY violation",
        vec![id.into()],
        |r| r.try_get_by_index::<String>(0),
    )
    .await?
    .iter()
    .filter_map(|v| Violation::parse(v))
    .collect();
    let state_code: String = w.try_get_by_index(0)?;
    let state = StateCode::parse(&state_code).with_context(|| {
        format!(
            "the state of {} is not known yet: confirm it at triage first",
            case.case_ref
        )
    })?;
    let facts = CaseFacts {
        state,
        sector: Sector::parse(&w.try_get_by_index::<String>(1)?).unwrap_or(Sector::Unknown),
        trade_with_us: TradeNexus::parse(&w.try_get_by_index::<String>(2)?)
            .unwrap_or(TradeNexus::Unknown),
        workers: w
            .try_get_by_index::<Option<i32>>(3)?
            .and_then(|n| u32::try_from(n).ok()),
        violations: violations.iter().copied().collect(),
        occurred_on: case.occurred_on,
    };
    let answers = answers(db, keys, id).await?;
    let asked = case
        .routing
        .clone()
        .and_then(|json| serde_json::from_value::<Decision>(json).ok())
        .unwrap_or_else(|| crate::routing::route(rules, &facts));
    // The stored decision when nothing was answered; screened again with answers.
    let decision = if answers == RrmAnswers::default() {
        asked.clone()
    } else {
        rescreen(rules, &facts, &answers)
    };
    Ok(Screening {
        facts,
        violations,
        answers,
        decision,
        asked,
    })
}

/// Everything a petition draft needs about a case, decrypted: the case, the
/// answers, the members (named only with consent to a petition) and the evidence.
/// Fails when the case's state is not known yet (a mail complaint before triage).
pub async fn petition_input(
    db: &DatabaseConnection,
    keys: &KeyRing,
    rules: &Rules,
    case: &entity::case::Model,
) -> anyhow::Result<PetitionInput> {
    let id = case.id;
    let decrypt = |table: &'static str, column: &'static str, ct: &[u8]| {
        keys.cipher
            .decrypt_string(
                Aad {
                    table,
                    column,
                    row: id,
                },
                ct,
            )
            .with_context(|| format!("cannot decrypt {table}.{column} of {}", case.case_ref))
    };
    let Screening {
        facts,
        violations,
        answers,
        decision,
        ..
    } = screening(db, keys, rules, case).await?;
    let w = crate::db::row(
        db,
        "SELECT employer_ct, city_ct FROM workplaces WHERE case_id = $1",
        vec![id.into()],
    )
    .await?
    .context("case has no workplace")?;
    let messages: i64 = crate::db::row(
        db,
        "SELECT COUNT(*) FROM case_messages WHERE case_id = $1",
        vec![id.into()],
    )
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()?
    .unwrap_or(0);
    let members = crate::cases::members::member_identities(
        db,
        keys,
        id,
        crate::cases::members::Reader::Organization,
    )
    .await?;
    // Named: consent to a petition, and a name or worker id to name them by (contact
    // details never go into a petition).
    let (named, withheld): (Vec<_>, Vec<_>) = members.into_iter().partition(|m| {
        m.summary.allows(crate::intake::members::Use::Petition)
            && (m.name.is_some() || m.worker_id.is_some())
    });
    let organization = match case.org_id {
        Some(org) => crate::staff::org_name(db, org).await?,
        None => None,
    };
    let employer_ct: Vec<u8> = w.try_get_by_index(0)?;
    let city_ct: Option<Vec<u8>> = w.try_get_by_index(1)?;
    Ok(PetitionInput {
        case_ref: case.case_ref.clone(),
        filed_on: case.created_at.date_naive(),
        identified: !case.anonymous,
        employer: decrypt("workplaces", "employer_ct", &employer_ct)?,
        city: city_ct
            .map(|ct| decrypt("workplaces", "city_ct", &ct))
            .transpose()?,
        state: facts.state,
        sector: facts.sector,
        trade_with_us: facts.trade_with_us,
        workers: facts.workers,
        violations,
        narrative: decrypt("cases", "narrative_ct", &case.narrative_ct)?,
        occurred_on: case.occurred_on,
        messages: usize::try_from(messages).unwrap_or(0),
        decision,
        organization,
        workers_affected: case.workers_affected.and_then(|n| u32::try_from(n).ok()),
        named: named
            .into_iter()
            .map(|m| NamedMember {
                name: m.name,
                worker_id: m.worker_id,
            })
            .collect(),
        withheld: withheld.len(),
        answers,
        evidence: evidence(db, keys, id)
            .await?
            .into_iter()
            .map(|e| EvidenceLine {
                description: e.description,
                mime_type: e.mime_type,
                size_bytes: e.size_bytes,
                sha256: e.sha256,
            })
            .collect(),
    })
}

/// Builds the draft of a flagged case and records the export (and, the first
/// time, that a petition was prepared). `format` names the export on the record.
pub async fn export(
    db: &DatabaseConnection,
    keys: &KeyRing,
    rules: &Rules,
    actor: Option<Uuid>,
    case: &entity::case::Model,
    format: &str,
) -> Result<[crate::routing::petition::Document; 2], Refused> {
    let input = petition_input(db, keys, rules, case).await?;
    let docs = crate::routing::petition::documents(&input).map_err(|_| Refused::NotCandidate)?;
    let now = Utc::now();
    let txn = db.begin().await?;
    if let Some(actor) = actor {
        crate::db::exec(
            &txn,
            "INSERT INTO rrm_petitions (case_id, answers_ct, updated_at, updated_by, prepared_at, prepared_by) \
             VALUES ($1, NULL, $2, $3, $2, $3) \
             ON CONFLICT (case_id) DO UPDATE SET \
             prepared_at = COALESCE(rrm_petitions.prepared_at, excluded.prepared_at), \
             prepared_by = COALESCE(rrm_petitions.prepared_by, excluded.prepared_by)",
            vec![case.id.into(), now.into(), actor.into()],
        )
        .await?;
        crate::cases::changed(&txn, case.id).await?;
    }
    let target = format!("rrm_draft_{format}");
    audit::append(
        &txn,
        keys,
        Event::new(actor, "export").case(case.id).target(&target),
    )
    .await?;
    txn.commit().await.context("cannot commit export")?;
    Ok(docs)
}

/// Everything an RRM petition draft needs about a case, decrypted. For the
/// `buzon rrm-draft` command (staff only); `None` when no case has that reference.
pub async fn petition_input_by_ref(
    db: &DatabaseConnection,
    keys: &KeyRing,
    rules: &Rules,
    case_ref: &str,
) -> anyhow::Result<Option<crate::routing::petition::PetitionInput>> {
    use entity::case;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let Some(case) = case::Entity::find()
        .filter(case::Column::CaseRef.eq(case_ref))
        .one(db)
        .await
        .context("cannot look up case")?
    else {
        return Ok(None);
    };
    Ok(Some(petition_input(db, keys, rules, &case).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_recognized_by_its_bytes_not_its_name() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nxxxx"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"OggS\0\x02"), Some("audio/ogg"));
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42"), Some("video/mp4"));
        assert_eq!(
            sniff("Testimonio: nos amenazaron.".as_bytes()),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0"), None, "a Windows executable");
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn answers_are_trimmed_checked_and_bounded() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let a = clean_answers(
            RrmAnswers {
                goods: Some("  arneses  ".into()),
                address: Some("   ".into()),
                trade_with_us: Some("yes".into()),
                ..Default::default()
            },
            today,
        )
        .unwrap();
        assert_eq!(a.goods.as_deref(), Some("arneses"));
        assert_eq!(a.address, None);
        let bad = |a: RrmAnswers| clean_answers(a, today).unwrap_err().code().unwrap().1;
        assert_eq!(
            bad(RrmAnswers {
                sector: Some("steel_mills".into()),
                ..Default::default()
            }),
            "sector"
        );
        assert_eq!(
            bad(RrmAnswers {
                trade_with_us: Some("maybe".into()),
                ..Default::default()
            }),
            "trade_with_us"
        );
        assert_eq!(
            bad(RrmAnswers {
                occurred_on: today.succ_opt(),
                ..Default::default()
            }),
            "occurred_on"
        );
        assert_eq!(
            bad(RrmAnswers {
                timeline: Some("x".repeat(MAX_ANSWER_CHARS + 1)),
                ..Default::default()
            }),
            "timeline"
        );
    }
}
