//! The inspectors' console (HTML under `/triage`) and staff API (JSON under
//! `/api/v1/cases`, `/api/v1/audit`, `/api/v1/indicators`). Shares services with the
//! advocates' pages ([`crate::http::org`]), never code.

pub mod api;
pub mod console;
pub mod indicators;
