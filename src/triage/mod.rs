//! The triage console and staff API: inspectors work a prioritized queue limited to
//! their jurisdiction, see identities only after an audited reveal, and act on cases.
//!
//! - [`staff`]: accounts, roles, passwords, TOTP, lockout, API tokens.
//! - [`session`]: server-side sessions, cookies, CSRF, the request's principal.
//! - [`priority`]: the queue's order, a pure function of the facts.
//! - [`cases`]: queue, masked case, reveal and actions; scope-checked.
//! - [`console`] (HTML under `/triage`) and [`api`] (JSON under `/api/v1/cases`).

pub mod api;
pub mod cases;
pub mod console;
pub mod priority;
pub mod session;
pub mod staff;

pub use cases::{SOURCE_MANUAL, SOURCE_RULES, insert_referral};
