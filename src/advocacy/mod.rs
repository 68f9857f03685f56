//! Advocates: organizations, complaints filed on behalf of members (one member, or a
//! group at one facility), each member's consent and own receipt, the organization's
//! view of its cases, and the RRM petition workflow ([`rrm`]).
//!
//! What an advocate may see: only cases their organization filed (`cases.org_id`),
//! and identities only of the members their organization filed. Everything else
//! (cases filed by workers, other organizations' cases) is indistinguishable from a
//! case that does not exist. Inspectors see advocate-filed cases like any other,
//! with the members' identities behind the same audited reveal as a complainant's.
//!
//! Organizations are [`crate::staff::orgs`]; members and consent as filed are
//! [`crate::intake::members`], as read [`crate::cases::members`]; the pages and JSON
//! are [`crate::http::org`]. This module holds the filing's record ([`filing`]) and the RRM petition
//! workflow ([`rrm`]).

pub mod filing;
pub mod rrm;
