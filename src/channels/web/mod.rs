//! The web form channel: form bodies decoded strictly ([`form`]), their fields as a
//! complaint ([`draft`]), and the worker-facing texts in Spanish and English
//! ([`texts`]). The pages themselves are the HTTP layer's (`crate::http::web`).

pub mod draft;
pub mod form;
pub mod texts;
