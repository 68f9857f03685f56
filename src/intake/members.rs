//! Complaints filed on behalf of members: each member's consent (who gave it, how,
//! when, for which uses), the member's identity as typed, and what the intake
//! stores for a filing by an organization ([`OnBehalf`]).

use crate::crypto::Aad;
use crate::domain::{Email, Identity, PhoneNumber, Text, limits};
use crate::error::ErrorCode;
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeSet;
use uuid::Uuid;

/// How many members one collective complaint may list (the count of workers
/// affected may be larger: not every worker need be listed).
pub const MAX_MEMBERS: usize = 200;

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
