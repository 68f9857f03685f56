//! What inspectors and advocates both do with cases, whoever's page or JSON asks:
//! who may see a case ([`Scope`]), the scoped list of cases, the masked case, the
//! audited reveal of identities and attachments, and the members of a case filed by
//! an organization. Every function takes the caller's scope, and a case outside it
//! is indistinguishable from one that does not exist. The inspectors' own actions
//! are [`crate::triage`]; the advocates' RRM workflow is [`crate::advocacy`].

mod detail;
pub mod members;
pub mod petition;
mod queue;
mod reveal;
mod scope;

pub use detail::*;
pub use queue::*;
pub use reveal::*;
pub use scope::*;

use crate::audit::{self, Event};
use crate::crypto::{Aad, KeyRing};
use crate::domain::{CaseStatus, Channel, Language, Sector, StateCode, Violation};
use crate::error::ErrorCode;
use crate::routing::Decision;
use crate::routing::priority::Breakdown;
use crate::staff::{Member, Role};
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use uuid::Uuid;

pub const AUTHOR_STAFF: &str = "staff";
pub const PAGE: u64 = 50;
pub const MAX_NOTE_CHARS: usize = 4000;
pub const MAX_QUESTION_CHARS: usize = 1000;
pub const MAX_REASON_CHARS: usize = 500;

/// Why an action was refused (beyond "no such case", which callers answer first).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("field {0} is missing")]
    Missing(&'static str),
    #[error("field {0} is too long")]
    TooLong(&'static str),
    #[error("status change not allowed")]
    Transition,
    #[error("unknown authority")]
    Authority,
    #[error("staff member cannot take the case")]
    Staff,
    /// A case named in the body (e.g. `duplicate_of`) that the caller cannot see.
    #[error("case in {0} not found")]
    OtherCase(&'static str),
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("too many {0}")]
    TooMany(&'static str),
    /// The RRM workflow of a case the screening did not flag.
    #[error("not an RRM candidate")]
    NotCandidate,
    /// A petition recorded as filed before any draft was prepared.
    #[error("no petition prepared")]
    NotPrepared,
    #[error("unsupported evidence")]
    Evidence,
    #[error("case closed")]
    Closed,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Refused {
    /// The stable error code and the field it is about; `None` for `Other`
    /// (an internal failure, not the sender's).
    pub fn code(&self) -> Option<(ErrorCode, &'static str)> {
        Some(match self {
            Self::Missing(f) => (ErrorCode::MissingField, *f),
            Self::TooLong(f) => (ErrorCode::TooLong, *f),
            Self::Transition => (ErrorCode::InvalidTransition, "status"),
            Self::Authority => (ErrorCode::UnknownAuthority, "authority"),
            Self::Staff => (ErrorCode::UnknownStaff, "staff_id"),
            Self::OtherCase(f) => (ErrorCode::CaseNotFound, *f),
            Self::Invalid(f) => (ErrorCode::InvalidField, *f),
            Self::TooMany(f) => (ErrorCode::TooManyValues, *f),
            Self::NotCandidate => (ErrorCode::NotRrmCandidate, "case_ref"),
            Self::NotPrepared => (ErrorCode::PetitionNotPrepared, "filed_on"),
            Self::Evidence => (ErrorCode::UnsupportedEvidence, "file"),
            Self::Closed => (ErrorCode::CaseClosed, "message"),
            Self::Other(_) => return None,
        })
    }
}

impl From<sea_orm::DbErr> for Refused {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Other(e.into())
    }
}

pub(crate) fn text(
    value: Option<&str>,
    field: &'static str,
    max: usize,
) -> Result<String, Refused> {
    let v = crate::domain::clean_text(value.unwrap_or("")).unwrap_or_default();
    if v.is_empty() {
        return Err(Refused::Missing(field));
    }
    if v.chars().count() > max {
        return Err(Refused::TooLong(field));
    }
    Ok(v)
}

/// Marks the case changed (its `updated_at`) in the caller's transaction, for what
/// reads cases by when they changed (the indicators' cache), without counting it as
/// a staff action.
pub(crate) async fn changed(txn: &impl ConnectionTrait, case_id: Uuid) -> anyhow::Result<()> {
    crate::db::exec(
        txn,
        "UPDATE cases SET updated_at = $2 WHERE id = $1",
        vec![case_id.into(), crate::clock::now().into()],
    )
    .await?;
    Ok(())
}

/// Records, in the caller's transaction, that staff acted on the case: its
/// `updated_at`, and `first_action_at` the first time (an indicator).
pub(crate) async fn touch(txn: &impl ConnectionTrait, case_id: Uuid) -> anyhow::Result<()> {
    crate::db::exec(
        txn,
        "UPDATE cases SET updated_at = $2, first_action_at = COALESCE(first_action_at, $2) WHERE id = $1",
        vec![case_id.into(), crate::clock::now().into()],
    )
    .await?;
    Ok(())
}

/// Records, in the caller's transaction, the facts the indicators keep about a
/// status the case just moved to: the status's bit in `reached`, when it was first
/// referred, when it was closed and how (cleared again when it is reopened), and
/// that staff acted (as [`touch`] does, in the same statement).
pub(crate) async fn record_status(
    txn: &impl ConnectionTrait,
    case_id: Uuid,
    to: CaseStatus,
    outcome: Option<crate::domain::Outcome>,
) -> anyhow::Result<()> {
    // One statement: the status's facts and the staff action together ($3 is now).
    let mut values: Vec<Value> = vec![case_id.into(), to.bit().into(), crate::clock::now().into()];
    let set = match to {
        CaseStatus::Referred => "referred_at = COALESCE(referred_at, $3)",
        CaseStatus::Closed => {
            values.push(
                outcome
                    .unwrap_or(crate::domain::Outcome::Other)
                    .code()
                    .into(),
            );
            "closed_at = $3, outcome = $4"
        }
        _ => "closed_at = NULL, outcome = NULL",
    };
    crate::db::exec(
        txn,
        &format!(
            "UPDATE cases SET reached = (reached | $2), updated_at = $3, \
             first_action_at = COALESCE(first_action_at, $3), {set} WHERE id = $1"
        ),
        values,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cursors_round_trip(p in -1000i32..1000, nanos in 0i64..i64::MAX, id in any::<u128>()) {
            let c = Cursor {
                priority: p,
                created_at: DateTime::from_timestamp_nanos(nanos),
                id: Uuid::from_u128(id),
            };
            prop_assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }

        #[test]
        fn garbage_is_never_a_cursor_or_a_panic(s in ".{0,300}") {
            let _ = Cursor::decode(&s);
        }
    }

    #[test]
    fn a_scope_without_authorities_sees_nothing() {
        let mut v = Vec::new();
        assert_eq!(Scope::Authorities(vec![]).scope_sql(&mut v), " AND 1 = 0");
        assert!(Scope::All.scope_sql(&mut v).is_empty() && v.is_empty());
        let sql =
            Scope::Authorities(vec!["cfcrl".into(), "state_labor:MX-GUA".into()]).scope_sql(&mut v);
        assert!(sql.contains("IN ($1, $2)") && v.len() == 2, "{sql}");
        // Every scope, admins' too, leaves deferred cases out until their day.
        let mut v = Vec::new();
        assert!(Scope::All.sql(&mut v).contains("c.hold_until <= $1") && v.len() == 1);
    }

    #[test]
    fn facility_tags_are_stable_and_differ_by_state() {
        assert_eq!(facility_tag(b"x", "MX-GUA"), facility_tag(b"x", "MX-GUA"));
        assert_ne!(facility_tag(b"x", "MX-GUA"), facility_tag(b"x", "MX-JAL"));
    }
}
