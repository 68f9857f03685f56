//! One case as its reader sees it before any reveal: facts, routing, referrals,
//! messages, notes, attachments and members, identities masked.

use super::*;

#[derive(Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CaseMessage)]
pub struct MessageOut {
    /// `complainant` or `staff`.
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NoteOut {
    pub author_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AttachmentOut {
    pub id: Uuid,
    pub mime_type: String,
    pub size_bytes: Option<i64>,
    /// `stored` when the file is here and can be downloaded after a reveal.
    pub state: String,
    /// Why it was refused or given up on (`rejected`, `failed`).
    pub failure: Option<String>,
}

/// A notice to the complainant that their channel has not delivered (yet): waiting
/// for them to write (WhatsApp's 24-hour window), or refused (and why). The notice
/// is on their status page either way.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryOut {
    pub channel: String,
    /// `waiting` (will leave when the person writes) or `not_delivered`.
    pub state: String,
    /// `awaiting_window`, `window`, `template`, `unreachable`, `spam`, `account`,
    /// `rejected`, with the provider's error code after a colon when it gave one.
    pub reason: String,
    /// In plain words, in the reader's language.
    pub explanation: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CaseReferral)]
pub struct ReferralOut {
    pub authority: String,
    pub function: String,
    /// `rules` or `manual`.
    pub source: String,
    /// `active` or `withdrawn`.
    pub state: String,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SiblingOut {
    pub case_ref: String,
    pub status: String,
}

/// A case with its identifying fields masked.
#[derive(Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CaseOut {
    pub case_ref: String,
    pub status: String,
    /// Statuses it may move to.
    pub next_statuses: Vec<String>,
    pub channel: String,
    pub language: String,
    pub anonymous: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub occurred_on: Option<NaiveDate>,
    pub priority: i32,
    /// Why the case sits where it does in the queue.
    pub priority_reasons: Vec<String>,
    pub rrm_status: Option<String>,
    pub state: String,
    pub sector: String,
    pub trade_with_us: String,
    pub workers: Option<i32>,
    /// The workplace (a company, not a person).
    pub employer: String,
    pub city: Option<String>,
    pub violations: Vec<String>,
    /// Suggested by keywords (e-mail), for triage to confirm.
    pub suggested_violations: Vec<String>,
    pub narrative: String,
    #[schema(value_type = Option<Object>)]
    pub routing: Option<Decision>,
    pub referrals: Vec<ReferralOut>,
    pub messages: Vec<MessageOut>,
    /// Notices its channel has not delivered (yet), with why.
    pub deliveries: Vec<DeliveryOut>,
    pub notes: Vec<NoteOut>,
    pub attachments: Vec<AttachmentOut>,
    pub assigned_to: Option<Uuid>,
    pub duplicate_of: Option<String>,
    pub facility: String,
    /// Other cases from the same facility, within the caller's jurisdiction.
    pub same_facility: Vec<SiblingOut>,
    /// Which identifying fields are on record (masked: reveal to read them);
    /// `members` when members of the filing organization are named.
    pub identity_on_record: Vec<String>,
    /// The organization that filed the case for its members, if one did.
    pub filed_by_org: Option<String>,
    /// Collective complaints: how many workers the complaint is for.
    pub workers_affected: Option<i32>,
    /// The members it was filed for, with their consent; identities masked.
    pub members: Vec<crate::cases::members::MemberSummary>,
    /// The filing organization's RRM petition, once a draft was prepared: when, when
    /// it was filed with the U.S., and the committee's 30-day review window.
    pub petition: Option<super::petition::PetitionStatus>,
}

pub(crate) fn ct_aad(table: &'static str, column: &'static str, row: Uuid) -> Aad<'static> {
    Aad { table, column, row }
}

pub fn note_aad(id: Uuid) -> Aad<'static> {
    ct_aad("case_notes", "body_ct", id)
}

/// A case's `(id, author, body_ct, created_at)` rows (messages, notes), each body
/// decrypted under its own row's associated data.
async fn decrypted<A: sea_orm::TryGetable>(
    db: &DatabaseConnection,
    keys: &KeyRing,
    sql: &str,
    case_id: Uuid,
    aad: fn(Uuid) -> Aad<'static>,
) -> anyhow::Result<Vec<(A, String, DateTime<Utc>)>> {
    let mut out = Vec::new();
    for r in crate::db::rows(db, sql, vec![case_id.into()]).await? {
        let id: Uuid = r.try_get_by_index(0)?;
        let ct: Vec<u8> = r.try_get_by_index(2)?;
        let body = keys
            .cipher
            .decrypt_string(aad(id), &ct)
            .with_context(|| format!("cannot decrypt row {id}"))?;
        out.push((r.try_get_by_index(1)?, body, r.try_get_by_index(3)?));
    }
    Ok(out)
}

pub async fn detail(
    db: &DatabaseConnection,
    keys: &KeyRing,
    scope: &Scope,
    case: &entity::case::Model,
    lang: Language,
) -> anyhow::Result<CaseOut> {
    let id = case.id;
    let dec = |table, column, ct: &[u8]| {
        keys.cipher
            .decrypt_string(ct_aad(table, column, id), ct)
            .with_context(|| format!("cannot decrypt {table}.{column}"))
    };
    let w = crate::db::row(
        db,
        "SELECT state, sector, trade_with_us, workers, employer_ct, city_ct, employer_bidx FROM workplaces WHERE case_id = $1",
        vec![id.into()],
    )
    .await?
    .context("case without workplace")?;
    let state: String = w.try_get_by_index(0)?;
    let employer_ct: Vec<u8> = w.try_get_by_index(4)?;
    let city_ct: Option<Vec<u8>> = w.try_get_by_index(5)?;
    let employer_bidx: Vec<u8> = w.try_get_by_index(6)?;
    let strings = |sql: &'static str| {
        crate::db::all(db, sql, vec![id.into()], |r| {
            r.try_get_by_index::<String>(0)
        })
    };
    let violations =
        strings("SELECT violation FROM case_violations WHERE case_id = $1 ORDER BY violation")
            .await?;
    let suggested = strings(
        "SELECT violation FROM case_suggested_violations WHERE case_id = $1 ORDER BY violation",
    )
    .await?;
    let messages = decrypted(
        db,
        keys,
        "SELECT id, author, body_ct, created_at FROM case_messages WHERE case_id = $1 ORDER BY created_at",
        id,
        crate::intake::message_aad,
    )
    .await?
    .into_iter()
    .map(|(author, body, created_at)| MessageOut {
        author,
        body,
        created_at,
    })
    .collect();
    let deliveries = crate::db::all(
        db,
        // A row queued behind one that waits for the worker waits too; a sent one
        // whose delivery status came back `failed` was not delivered after all.
        "SELECT o.channel, o.state, COALESCE(o.last_error, w.last_error, o.delivery_error), \
           o.created_at, o.delivery FROM outbox o \
         LEFT JOIN outbox w ON w.recipient_bidx = o.recipient_bidx AND w.state = 'pending' \
           AND w.last_error = 'awaiting_window' AND w.id < o.id AND o.state = 'pending' \
         WHERE o.case_id = $1 AND (o.last_error IS NOT NULL OR w.id IS NOT NULL OR o.delivery = 'failed') \
         ORDER BY o.created_at",
        vec![id.into()],
        |r| {
            Ok((
                r.try_get_by_index::<String>(0)?,
                r.try_get_by_index::<String>(1)?,
                r.try_get_by_index::<Option<String>>(2)?,
                r.try_get_by_index::<DateTime<Utc>>(3)?,
                r.try_get_by_index::<Option<String>>(4)?,
            ))
        },
    )
    .await?
    .into_iter()
    .filter_map(|(channel, state, note, created_at, delivery)| {
        use crate::domain::Undelivered;
        let failed = delivery.as_deref() == Some("failed");
        let note = note.unwrap_or_else(|| Undelivered::Rejected.code().to_owned());
        let why = Undelivered::parse(&note)?;
        // A pending row whose last failure was a refusal is being retried: only
        // waiting, dead and failed rows are news for staff.
        let state = match (state.as_str(), why) {
            ("pending", Undelivered::Waiting) => "waiting",
            ("dead", _) => "not_delivered",
            ("sent", _) if failed => "not_delivered",
            _ => return None,
        };
        Some(DeliveryOut {
            channel,
            state: state.to_owned(),
            explanation: why.explain(lang).to_owned(),
            reason: note,
            created_at,
        })
    })
    .collect();
    // Internal notes are the authority's, never the filing organization's.
    let notes = if scope.is_org() {
        Vec::new()
    } else {
        decrypted(
        db,
        keys,
        "SELECT id, author_id, body_ct, created_at FROM case_notes WHERE case_id = $1 ORDER BY created_at",
        id,
        note_aad,
    )
    .await?
    .into_iter()
    .map(|(author_id, body, created_at)| NoteOut {
        author_id,
        body,
        created_at,
    })
    .collect()
    };
    let mut attachments = Vec::new();
    for r in crate::db::rows(db, "SELECT id, mime_type, size_ct, state, failure FROM attachments WHERE case_id = $1 ORDER BY created_at", vec![id.into()]).await? {
        let at: Uuid = r.try_get_by_index(0)?;
        let size: Option<Vec<u8>> = r.try_get_by_index(2)?;
        let size_aad = crate::intake::attachment_aad(at, "size_ct");
        attachments.push(AttachmentOut {
            id: at,
            mime_type: r.try_get_by_index(1)?,
            size_bytes: size.map(|ct| crate::intake::attachment_meta::open_size(keys, size_aad, &ct)).transpose()?,
            state: r.try_get_by_index(3)?,
            failure: r.try_get_by_index(4)?,
        });
    }
    let referrals = crate::db::all(db, "SELECT authority, function, source, state FROM case_referrals WHERE case_id = $1 ORDER BY created_at, authority", vec![id.into()], |r| { Ok(ReferralOut {
            authority: r.try_get_by_index(0)?,
            function: r.try_get_by_index(1)?,
            source: r.try_get_by_index(2)?,
            state: r.try_get_by_index(3)?,
        }) }).await?;
    let mut values: Vec<Value> = vec![
        employer_bidx.clone().into(),
        state.as_str().into(),
        id.into(),
    ];
    let sibling_sql = format!(
        "SELECT c.case_ref, c.status FROM cases c JOIN workplaces w ON w.case_id = c.id \
         WHERE w.employer_bidx = $1 AND w.state = $2 AND c.id <> $3{} ORDER BY c.created_at LIMIT 50",
        scope.sql(&mut values)
    );
    let same_facility = crate::db::all(db, &sibling_sql, values, |r| {
        Ok(SiblingOut {
            case_ref: r.try_get_by_index(0)?,
            status: r.try_get_by_index(1)?,
        })
    })
    .await?;
    // Only named when the caller may see it.
    let duplicate_of = match case.duplicate_of {
        Some(d) => {
            let mut values: Vec<Value> = vec![d.into()];
            let sql = format!(
                "SELECT c.case_ref FROM cases c WHERE c.id = $1{}",
                scope.sql(&mut values)
            );
            crate::db::row(db, &sql, values)
                .await?
                .map(|r| r.try_get_by_index::<String>(0))
                .transpose()?
        }
        None => None,
    };
    let members = crate::cases::members::member_summaries(db, id).await?;
    let petition = Some(super::petition::status(db, id).await?)
        .filter(|p| p.prepared_at.is_some() || p.filed_on.is_some());
    let filed_by_org = match case.org_id {
        Some(org) => crate::staff::org_name(db, org).await?,
        None => None,
    };
    let mut identity_on_record: Vec<String> = match crate::db::row(
        db,
        "SELECT name_ct IS NOT NULL, phone_ct IS NOT NULL, email_ct IS NOT NULL, worker_id_ct IS NOT NULL FROM complainants WHERE case_id = $1",
        vec![id.into()],
    )
    .await?
    {
        Some(r) => ["name", "phone", "email", "worker_id"]
            .into_iter()
            .enumerate()
            .filter_map(|(i, f)| {
                r.try_get_by_index::<bool>(i)
                    .ok()
                    .filter(|b| *b)
                    .map(|_| f.to_owned())
            })
            .collect(),
        None => Vec::new(),
    };
    // For the authority, only members whose consent shares their identity with it.
    if members
        .iter()
        .any(|m| m.named && (scope.is_org() || m.allows(crate::intake::members::Use::Authorities)))
    {
        identity_on_record.push("members".to_owned());
    }
    let status = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
    let priority = case.priority.unwrap_or(0);
    Ok(CaseOut {
        case_ref: case.case_ref.clone(),
        status: case.status.clone(),
        next_statuses: status.next().iter().map(|s| s.code().to_owned()).collect(),
        channel: case.channel.clone(),
        language: case.language.clone(),
        anonymous: case.anonymous,
        created_at: case.created_at,
        updated_at: case.updated_at,
        occurred_on: case.occurred_on,
        priority,
        priority_reasons: Breakdown::of_score(priority)
            .explain(lang)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        rrm_status: case.rrm_status.clone(),
        facility: facility_tag(&employer_bidx, &state),
        state,
        sector: w.try_get_by_index(1)?,
        trade_with_us: w.try_get_by_index(2)?,
        workers: w.try_get_by_index(3)?,
        employer: dec("workplaces", "employer_ct", &employer_ct)?,
        city: city_ct
            .map(|ct| dec("workplaces", "city_ct", &ct))
            .transpose()?,
        violations,
        suggested_violations: suggested,
        narrative: dec("cases", "narrative_ct", &case.narrative_ct)?,
        routing: case
            .routing
            .clone()
            .and_then(|j| serde_json::from_value(j).ok()),
        referrals,
        messages,
        deliveries,
        notes,
        attachments,
        assigned_to: case.assigned_to.filter(|_| !scope.is_org()),
        duplicate_of,
        same_facility,
        identity_on_record,
        filed_by_org,
        workers_affected: case.workers_affected,
        members,
        petition,
    })
}
