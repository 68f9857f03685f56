//! The advocates' pages (HTML under `/org`) and JSON (filing with a token, the
//! organization's cases, messages, the RRM workflow). Shares services with the
//! inspectors' console ([`crate::http::triage`]), never code.

pub mod api;
pub mod console;
