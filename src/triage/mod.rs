//! The inspectors' work on their queue: the actions on a case (status, notes,
//! assignment, referrals, duplicates, confirmed facts, questions to the
//! complainant), each audited. What inspectors share with advocates (scope, the
//! scoped and prioritized list, masked detail, reveal, members) is [`crate::cases`];
//! their pages and JSON are [`crate::http::triage`].
//!
//! - `actions`: what an inspector does to a case.
//! - `question`: asking the complainant, through the notification port.
//! - `notice`: telling the complainant (a question, how their case ended).
//! - `facts`: confirmed facts, routed again.
//! - `backfill`: priority and referrals for cases stored before triage existed
//!   (the coordinators' counts are [`crate::indicators`]).

mod actions;
mod backfill;
mod facts;
mod notice;
mod question;

pub use actions::*;
pub use backfill::*;
pub use facts::*;
pub use notice::Tell;
pub use question::ask;
