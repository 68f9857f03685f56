//! The inspectors' work on the queue: a prioritized queue limited to their
//! jurisdiction, and the actions on a case (status, notes, assignment, referrals,
//! duplicates, confirmed facts), each audited. What inspectors share with advocates
//! (scope, masked detail, reveal, messages) is [`crate::cases`]; their pages and
//! JSON are [`crate::http::triage`].
//!
//! - [`actions`]: what an inspector does to a case.
//! - [`question`]: asking the complainant, through the notification port.
//! - [`facts`]: confirmed facts, routed again.
//! - [`stats`]: the counts for coordinators, and the start-up backfill.

pub mod actions;
pub mod facts;
pub mod question;
pub mod stats;

pub use actions::*;
pub use facts::*;
pub use question::ask;
pub use stats::*;
