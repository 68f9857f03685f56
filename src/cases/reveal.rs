//! The audited reveal: identities (the complainant, and members as their consent
//! allows) and attachments, each recorded in the audit log before it is shown.

use super::*;

/// The identifying fields, decrypted.
#[derive(Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Identity {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub worker_id: Option<String>,
    /// A complaint filed by an organization: its members, with their consent.
    pub members: Vec<crate::cases::members::MemberIdentity>,
}

impl Identity {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.phone.is_none()
            && self.email.is_none()
            && self.worker_id.is_none()
            && self.members.is_empty()
    }
}

pub(crate) async fn identity(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    case_id: Uuid,
) -> anyhow::Result<Identity> {
    let [name, phone, email, worker_id] = complainant_fields(
        db,
        keys,
        case_id,
        ["name_ct", "phone_ct", "email_ct", "worker_id_ct"],
    )
    .await?;
    Ok(Identity {
        name,
        phone,
        email,
        worker_id,
        members: Vec::new(),
    })
}

/// Sealed `columns` of a case's complainant row, decrypted in memory (`None` for an
/// empty column; all `None` when the case keeps no complainant, as an anonymous one).
pub(crate) async fn complainant_fields<const N: usize>(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    case_id: Uuid,
    columns: [&'static str; N],
) -> anyhow::Result<[Option<String>; N]> {
    let mut fields: [Option<String>; N] = std::array::from_fn(|_| None);
    let sql = format!(
        "SELECT {} FROM complainants WHERE case_id = $1",
        columns.join(", ")
    );
    let Some(r) = crate::db::row(db, &sql, vec![case_id.into()]).await? else {
        return Ok(fields);
    };
    for (i, (column, field)) in columns.into_iter().zip(&mut fields).enumerate() {
        let ct: Option<Vec<u8>> = r.try_get_by_index(i)?;
        *field = ct
            .map(|ct| {
                keys.cipher
                    .decrypt_string(ct_aad("complainants", column, case_id), &ct)
                    .with_context(|| format!("cannot decrypt {column}"))
            })
            .transpose()?;
    }
    Ok(fields)
}

/// Reads the identifying fields and records that (and why) in the audit log first:
/// the record is committed before anything is shown.
///
/// Members of a complaint an organization filed are shown to the organization in
/// full, and to the authority as their consent allows ([`crate::cases::members::Reader`]).
pub async fn reveal(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    scope: &Scope,
    case: &entity::case::Model,
    reason: Option<&str>,
) -> Result<Identity, Refused> {
    let reason = text(reason, "reason", MAX_REASON_CHARS)?;
    audit::record(
        db,
        keys,
        Event::new(Some(actor), "reveal")
            .case(case.id)
            .target("complainant")
            .reason(&reason),
    )
    .await?;
    tracing::info!(case_ref = %case.case_ref, "identity revealed (audited)");
    let mut who = identity(db, keys, case.id).await?;
    let reader = if scope.is_org() {
        crate::cases::members::Reader::Organization
    } else {
        crate::cases::members::Reader::Authority
    };
    who.members = crate::cases::members::member_identities(db, keys, case.id, reader).await?;
    Ok(who)
}

/// An attachment's content, decrypted, after an audited reveal.
pub async fn reveal_attachment(
    db: &DatabaseConnection,
    keys: &KeyRing,
    actor: Uuid,
    case: &entity::case::Model,
    attachment_id: Uuid,
    reason: Option<&str>,
) -> Result<Option<(String, Vec<u8>)>, Refused> {
    let reason = text(reason, "reason", MAX_REASON_CHARS)?;
    let Some(row) = crate::db::row(
        db,
        "SELECT mime_type, content_ct FROM attachments WHERE id = $1 AND case_id = $2",
        vec![attachment_id.into(), case.id.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let mime: String = row.try_get_by_index(0).map_err(anyhow::Error::from)?;
    let Some(ct) = row
        .try_get_by_index::<Option<Vec<u8>>>(1)
        .map_err(anyhow::Error::from)?
    else {
        return Ok(None);
    };
    audit::record(
        db,
        keys,
        Event::new(Some(actor), "reveal_attachment")
            .case(case.id)
            .target(&attachment_id.to_string())
            .reason(&reason),
    )
    .await?;
    let content = keys
        .cipher
        .decrypt(
            crate::intake::attachment_aad(attachment_id, "content_ct"),
            &ct,
        )
        .context("cannot decrypt attachment")?;
    Ok(Some((mime, content)))
}
