//! The inspectors' work on their queue: the actions on a case (status, notes,
//! assignment, referrals, duplicates, confirmed facts, questions to the
//! complainant), each audited. What inspectors share with advocates (scope, the
//! scoped and prioritized list, masked detail, reveal, members) is [`crate::cases`];
//! their pages and JSON are [`crate::http::triage`].
//!
//! - `actions`: what an inspector does to a case.
//! - `question`: asking the complainant, through the notification port.
//! - `facts`: confirmed facts, routed again.
//! - `stats`: the start-up backfill (the coordinators' counts are
//!   [`crate::indicators`]).

mod actions;
mod facts;
mod question;
mod stats;

pub use actions::*;
pub use facts::*;
pub use question::ask;
pub use stats::*;
