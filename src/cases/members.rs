//! The members of a case filed by an organization, as inspectors and the
//! organization read them: consent and whether an identity is on record, and the
//! identities themselves after an audited reveal, as each member's consent allows.

use crate::crypto::KeyRing;
use crate::intake::members::{Use, member_aad};
use anyhow::Context;
use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use uuid::Uuid;

/// A member as staff and the organization see them before a reveal: consent, and
/// whether an identity is on record, never the identity itself.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MemberSummary {
    pub position: i32,
    pub named: bool,
    pub has_own_receipt: bool,
    pub consent_given_by: String,
    pub consent_method: String,
    pub consent_date: NaiveDate,
    /// `complaint`, `contact`, `authorities`, `petition`.
    pub consent_uses: Vec<String>,
}

impl MemberSummary {
    pub fn allows(&self, u: Use) -> bool {
        self.consent_uses.iter().any(|c| c == u.code())
    }
}

/// A member's identity, decrypted (after an audited reveal, or for a petition that
/// names only those who consented).
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct MemberIdentity {
    #[serde(flatten)]
    pub summary: MemberSummary,
    /// Shown to the authority: the member did not consent to share their identity
    /// with it (`authorities`), so nothing is shown; contact details need `contact`.
    pub withheld: bool,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub worker_id: Option<String>,
}

/// What [`summary_of`] reads; the identities follow at 8 to 11 where they are read.
const MEMBER_COLUMNS: &str = "id, position, receipt_lookup IS NOT NULL, \
     name_ct IS NOT NULL OR phone_ct IS NOT NULL OR email_ct IS NOT NULL OR worker_id_ct IS NOT NULL, \
     consent_given_by, consent_method, consent_date, consent_uses";

fn summary_of(r: &sea_orm::QueryResult) -> Result<(Uuid, MemberSummary), sea_orm::DbErr> {
    let uses: String = r.try_get_by_index(7)?;
    Ok((
        r.try_get_by_index(0)?,
        MemberSummary {
            position: r.try_get_by_index(1)?,
            has_own_receipt: r.try_get_by_index(2)?,
            named: r.try_get_by_index(3)?,
            consent_given_by: r.try_get_by_index(4)?,
            consent_method: r.try_get_by_index(5)?,
            consent_date: r.try_get_by_index(6)?,
            consent_uses: uses
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        },
    ))
}

pub async fn member_summaries(
    db: &impl ConnectionTrait,
    case_id: Uuid,
) -> anyhow::Result<Vec<MemberSummary>> {
    let rows = crate::db::rows(
        db,
        &format!("SELECT {MEMBER_COLUMNS} FROM case_members WHERE case_id = $1 ORDER BY position"),
        vec![case_id.into()],
    )
    .await?;
    rows.iter()
        .map(|r| summary_of(r).map(|(_, s)| s).map_err(Into::into))
        .collect()
}

/// Who reads members' identities: the organization that filed them reads all of
/// them; the authority reads what each member's consent shares with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    Organization,
    Authority,
}

/// Every member of a case with their identity decrypted, as `reader` may read it.
/// Callers audit first.
pub async fn member_identities(
    db: &impl ConnectionTrait,
    keys: &KeyRing,
    case_id: Uuid,
    reader: Reader,
) -> anyhow::Result<Vec<MemberIdentity>> {
    let rows = crate::db::rows(
        db,
        &format!(
            "SELECT {MEMBER_COLUMNS}, name_ct, phone_ct, email_ct, worker_id_ct \
             FROM case_members WHERE case_id = $1 ORDER BY position"
        ),
        vec![case_id.into()],
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let (id, summary) = summary_of(r)?;
        let authority = reader == Reader::Authority;
        let withheld = authority && summary.named && !summary.allows(Use::Authorities);
        let no_contact = authority && !summary.allows(Use::Contact);
        let field = |i: usize, column: &'static str| -> anyhow::Result<Option<String>> {
            if withheld || (no_contact && matches!(column, "phone_ct" | "email_ct")) {
                return Ok(None);
            }
            let ct: Option<Vec<u8>> = r.try_get_by_index(i)?;
            ct.map(|ct| {
                keys.cipher
                    .decrypt_string(member_aad(id, column), &ct)
                    .with_context(|| format!("cannot decrypt case_members.{column}"))
            })
            .transpose()
        };
        out.push(MemberIdentity {
            summary,
            withheld,
            name: field(8, "name_ct")?,
            phone: field(9, "phone_ct")?,
            email: field(10, "email_ct")?,
            worker_id: field(11, "worker_id_ct")?,
        });
    }
    Ok(out)
}
