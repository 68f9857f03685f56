//! Advocates: organizations, complaints filed on behalf of members (one member, or a
//! group at one facility), each member's consent and own receipt, the organization's
//! view of its cases, and the RRM petition workflow ([`rrm`]).
//!
//! What an advocate may see: only cases their organization filed (`cases.org_id`),
//! and identities only of the members their organization filed. Everything else
//! (cases filed by workers, other organizations' cases) is indistinguishable from a
//! case that does not exist. Inspectors see advocate-filed cases like any other,
//! with the members' identities behind the same audited reveal as a complainant's.

pub mod api;
pub mod console;
pub mod rrm;

use crate::crypto::{Aad, KeyRing};
use crate::domain::{Email, Identity, PhoneNumber, Text, limits};
use crate::error::ErrorCode;
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

/// How many members one collective complaint may list (the count of workers
/// affected may be larger: not every worker need be listed).
pub const MAX_MEMBERS: usize = 200;
pub const MAX_ORG_NAME: usize = 120;

// ---- organizations ----

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("the organization's name must be 1 to {MAX_ORG_NAME} characters")]
    Name,
    #[error("an organization with that name already exists")]
    Exists,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Adds an organization (`buzon org add NAME`). Names are unique, compared as typed
/// after trimming.
pub async fn add_org(db: &DatabaseConnection, name: &str) -> Result<Organization, OrgError> {
    let name = crate::domain::clean_text(name).unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_ORG_NAME || name.contains('\n') {
        return Err(OrgError::Name);
    }
    if org_by_name(db, &name).await?.is_some() {
        return Err(OrgError::Exists);
    }
    let org = Organization {
        id: Uuid::new_v4(),
        name,
        created_at: Utc::now(),
    };
    crate::db::exec(
        db,
        "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)",
        vec![
            org.id.into(),
            org.name.clone().into(),
            org.created_at.into(),
        ],
    )
    .await
    .map_err(|e| {
        if crate::intake::is_unique_violation(&e) {
            OrgError::Exists
        } else {
            OrgError::Other(e)
        }
    })?;
    Ok(org)
}

fn org_row(r: &sea_orm::QueryResult) -> Result<Organization, sea_orm::DbErr> {
    Ok(Organization {
        id: r.try_get_by_index(0)?,
        name: r.try_get_by_index(1)?,
        created_at: r.try_get_by_index(2)?,
    })
}

pub async fn orgs(db: &DatabaseConnection) -> anyhow::Result<Vec<Organization>> {
    crate::db::all(
        db,
        "SELECT id, name, created_at FROM organizations ORDER BY name",
        vec![],
        org_row,
    )
    .await
}

pub async fn org_by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> anyhow::Result<Option<Organization>> {
    let Some(r) = crate::db::row(
        db,
        "SELECT id, name, created_at FROM organizations WHERE name = $1",
        vec![name.trim().into()],
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(org_row(&r)?))
}

pub async fn org_name(db: &impl ConnectionTrait, id: Uuid) -> anyhow::Result<Option<String>> {
    Ok(crate::db::row(
        db,
        "SELECT name FROM organizations WHERE id = $1",
        vec![id.into()],
    )
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()?)
}

// ---- consent ----

/// What a member agreed to. `complaint` (that the organization files for them) is
/// required; the others are asked for separately because each exposes them more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Use {
    /// File this complaint on their behalf.
    Complaint,
    /// Be contacted by the labor authority about it.
    Contact,
    /// Have their identity shared with the labor authority handling the case.
    Authorities,
    /// Be named in an RRM petition (otherwise the petition withholds them).
    Petition,
}

impl Use {
    pub const ALL: [Use; 4] = [
        Self::Complaint,
        Self::Contact,
        Self::Authorities,
        Self::Petition,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Complaint => "complaint",
            Self::Contact => "contact",
            Self::Authorities => "authorities",
            Self::Petition => "petition",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.code() == code.trim())
    }

    pub fn label(self, lang: crate::domain::Language) -> &'static str {
        match self {
            Self::Complaint => lang.pick("presentar la queja", "file the complaint"),
            Self::Contact => lang.pick(
                "ser contactado por la autoridad",
                "be contacted by the authority",
            ),
            Self::Authorities => lang.pick(
                "compartir su identidad con la autoridad",
                "share their identity with the authority",
            ),
            Self::Petition => lang.pick(
                "ser nombrado en una petición del MLRR",
                "be named in an RRM petition",
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// `member` (the member themself) or `representative` (someone they authorized).
    pub given_by: &'static str,
    /// `verbal`, `written` or `message`.
    pub method: &'static str,
    pub date: NaiveDate,
    pub uses: BTreeSet<Use>,
}

pub const GIVEN_BY: [&str; 2] = ["member", "representative"];
pub const METHODS: [&str; 3] = ["verbal", "written", "message"];

impl Consent {
    pub fn uses_codes(&self) -> String {
        self.uses
            .iter()
            .map(|u| u.code())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn allows(&self, u: Use) -> bool {
        self.uses.contains(&u)
    }
}

/// The consent object of the JSON API and the forms.
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ConsentIn {
    /// `member` or `representative`.
    #[schema(example = "member")]
    pub given_by: Option<String>,
    /// `verbal`, `written` or `message`.
    #[schema(example = "written")]
    pub method: Option<String>,
    /// When consent was given (YYYY-MM-DD, not in the future).
    #[schema(example = "2026-11-20")]
    pub date: Option<String>,
    /// What the member agreed to: `complaint` (required), `contact`, `authorities`,
    /// `petition` (be named in an RRM petition).
    pub uses: Option<Vec<String>>,
}

/// A refusal about one field of the input: its stable code and its path.
pub type FieldRefusal = (ErrorCode, String);

impl ConsentIn {
    pub fn validate(&self, path: &str, today: NaiveDate) -> Result<Consent, FieldRefusal> {
        let at = |f: &str| format!("{path}.{f}");
        let pick = |value: &Option<String>, list: &[&'static str], f: &str| match value
            .as_deref()
            .map(str::trim)
        {
            None | Some("") => Err((ErrorCode::MissingField, at(f))),
            Some(v) => list
                .iter()
                .find(|c| **c == v)
                .copied()
                .ok_or((ErrorCode::InvalidField, at(f))),
        };
        let given_by = pick(&self.given_by, &GIVEN_BY, "given_by")?;
        let method = pick(&self.method, &METHODS, "method")?;
        let date = match self.date.as_deref().map(str::trim) {
            None | Some("") => return Err((ErrorCode::MissingField, at("date"))),
            Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .filter(|d| *d <= today && chrono::Datelike::year(d) >= 2000)
                .ok_or((ErrorCode::InvalidDate, at("date")))?,
        };
        let raw = self.uses.as_deref().unwrap_or_default();
        if raw.len() > Use::ALL.len() * 2 {
            return Err((ErrorCode::TooManyValues, at("uses")));
        }
        let mut uses = BTreeSet::new();
        for code in raw {
            uses.insert(Use::parse(code).ok_or((ErrorCode::InvalidField, at("uses")))?);
        }
        if !uses.contains(&Use::Complaint) {
            return Err((ErrorCode::ConsentRequired, at("uses")));
        }
        Ok(Consent {
            given_by,
            method,
            date,
            uses,
        })
    }
}

// ---- members ----

/// A member's identity as sent; every field optional (an anonymous member).
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MemberIn {
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 40)]
    pub phone: Option<String>,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[schema(max_length = 64)]
    pub worker_id: Option<String>,
    /// Required for every listed member.
    pub consent: Option<ConsentIn>,
}

/// A member ready to be stored.
#[derive(Clone)]
pub struct NewMember {
    pub identity: Option<Identity>,
    pub consent: Consent,
    /// Collective complaints: each listed member gets a receipt of their own. For one
    /// member, the case's receipt is theirs.
    pub own_receipt: bool,
}

/// Validates identity fields; `None` when all are empty (an anonymous member).
pub fn parse_identity(
    path: &str,
    name: Option<&str>,
    phone: Option<&str>,
    email: Option<&str>,
    worker_id: Option<&str>,
) -> Result<Option<Identity>, FieldRefusal> {
    let at = |f: &str| format!("{path}{f}");
    let text = |v: Option<&str>, max, f: &str| -> Result<Option<Text>, FieldRefusal> {
        match v.and_then(crate::domain::clean_text) {
            None => Ok(None),
            Some(t) => Text::parse(&t, max).map(Some).map_err(|c| (c, at(f))),
        }
    };
    let name = text(name, limits::NAME, "name")?;
    let worker_id = text(worker_id, limits::WORKER_ID, "worker_id")?;
    let phone = match phone.and_then(crate::domain::clean_text) {
        None => None,
        Some(p) if p.chars().count() > limits::PHONE => {
            return Err((ErrorCode::TooLong, at("phone")));
        }
        Some(p) => Some(PhoneNumber::parse(&p).map_err(|c| (c, at("phone")))?),
    };
    let email = match email.and_then(crate::domain::clean_text) {
        None => None,
        Some(e) if e.chars().count() > limits::EMAIL => {
            return Err((ErrorCode::TooLong, at("email")));
        }
        Some(e) => Some(Email::parse(&e).map_err(|c| (c, at("email")))?),
    };
    if name.is_none() && phone.is_none() && email.is_none() && worker_id.is_none() {
        return Ok(None);
    }
    Ok(Some(Identity {
        name,
        phone,
        email,
        worker_id,
    }))
}

impl MemberIn {
    pub fn validate(&self, index: usize, today: NaiveDate) -> Result<NewMember, FieldRefusal> {
        let path = format!("members[{index}]");
        let identity = parse_identity(
            &format!("{path}."),
            self.name.as_deref(),
            self.phone.as_deref(),
            self.email.as_deref(),
            self.worker_id.as_deref(),
        )?;
        let consent = self
            .consent
            .as_ref()
            .ok_or((ErrorCode::ConsentRequired, format!("{path}.consent")))?
            .validate(&format!("{path}.consent"), today)?;
        Ok(NewMember {
            identity,
            consent,
            own_receipt: true,
        })
    }
}

/// How a complaint filed by an organization differs from a worker's.
pub struct OnBehalf {
    pub org: Uuid,
    pub advocate: Uuid,
    /// Collective complaints: how many workers it is for.
    pub workers_affected: Option<u32>,
    pub members: Vec<NewMember>,
}

pub fn member_aad(id: Uuid, column: &'static str) -> Aad<'static> {
    Aad {
        table: "case_members",
        column,
        row: id,
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    fn consent(uses: &[&str]) -> ConsentIn {
        ConsentIn {
            given_by: Some("member".into()),
            method: Some("written".into()),
            date: Some("2026-11-01".into()),
            uses: Some(uses.iter().map(|u| (*u).to_owned()).collect()),
        }
    }

    #[test]
    fn consent_must_cover_filing_and_say_how_and_when() {
        let ok = consent(&["complaint", "petition", "petition"])
            .validate("consent", today())
            .unwrap();
        assert!(ok.allows(Use::Petition) && !ok.allows(Use::Contact));
        assert_eq!(ok.uses_codes(), "complaint,petition");
        let refused = |c: ConsentIn| c.validate("members[2].consent", today()).unwrap_err();
        assert_eq!(
            refused(consent(&["contact"])),
            (ErrorCode::ConsentRequired, "members[2].consent.uses".into())
        );
        assert_eq!(
            refused(consent(&["complaint", "selling"])),
            (ErrorCode::InvalidField, "members[2].consent.uses".into())
        );
        for (date, code) in [
            (None, ErrorCode::MissingField),
            (Some("2026-11-29"), ErrorCode::InvalidDate),
            (Some("1999-12-31"), ErrorCode::InvalidDate),
            (Some("01/11/2026"), ErrorCode::InvalidDate),
        ] {
            let mut c = consent(&["complaint"]);
            c.date = date.map(str::to_owned);
            assert_eq!(refused(c).0, code, "{date:?}");
        }
        let mut c = consent(&["complaint"]);
        c.method = Some("telepathy".into());
        assert_eq!(
            refused(c),
            (ErrorCode::InvalidField, "members[2].consent.method".into())
        );
    }

    #[test]
    fn a_member_without_any_identity_is_anonymous_and_bad_contacts_name_their_field() {
        assert!(
            parse_identity("m.", Some("  "), None, Some(""), None)
                .unwrap()
                .is_none()
        );
        let who = parse_identity("m.", Some("Ana"), Some("477 123 4567"), None, None)
            .unwrap()
            .unwrap();
        assert_eq!(who.phone.unwrap().e164(), "+524771234567");
        assert_eq!(
            parse_identity("members[0].", None, Some("12"), None, None).unwrap_err(),
            (ErrorCode::InvalidPhone, "members[0].phone".into())
        );
        assert_eq!(
            parse_identity("members[0].", None, None, Some("no-at"), None).unwrap_err(),
            (ErrorCode::InvalidEmail, "members[0].email".into())
        );
        assert_eq!(
            parse_identity("m.", Some(&"x".repeat(201)), None, None, None).unwrap_err(),
            (ErrorCode::TooLong, "m.name".into())
        );
    }

    #[test]
    fn every_listed_member_needs_their_own_consent() {
        let m = MemberIn {
            name: Some("Ana".into()),
            ..Default::default()
        };
        assert_eq!(
            m.validate(4, today()).err(),
            Some((ErrorCode::ConsentRequired, "members[4].consent".into()))
        );
        let m = MemberIn {
            consent: Some(consent(&["complaint"])),
            ..Default::default()
        };
        let ok = m.validate(0, today()).unwrap();
        assert!(ok.identity.is_none() && ok.own_receipt);
    }

    proptest::proptest! {
        #[test]
        fn consent_validation_never_panics(
            given_by in proptest::option::of(".{0,20}"),
            method in proptest::option::of(".{0,20}"),
            date in proptest::option::of(".{0,12}"),
            uses in proptest::option::of(proptest::collection::vec(".{0,12}", 0..12)),
        ) {
            let c = ConsentIn { given_by, method, date, uses };
            if let Ok(ok) = c.validate("consent", today()) {
                proptest::prop_assert!(ok.allows(Use::Complaint));
                proptest::prop_assert!(ok.date <= today());
            }
        }
    }
}
