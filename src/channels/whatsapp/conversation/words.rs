//! Reading what a worker typed: accents and case folded, the keywords in both
//! languages (DERECHOS / RIGHTS alone or with a topic's word), what looks like a
//! receipt, a greeting in English, a state's name. Dates are read by
//! [`crate::domain::parse_date`], the reader the e-mail deferral line uses too.

use super::*;

pub use crate::domain::{date_words, fold, parse_date};

pub(super) enum Keyword {
    Help,
    Cancel,
    Delete,
    Status(Option<String>),
    Language(Language),
    /// The rights guide: all of it, or one topic (its id).
    Rights(Option<&'static str>),
}

pub(super) fn keyword(text: &str) -> Option<(Keyword, Language)> {
    let folded = fold(text);
    let mut words = folded.splitn(2, ' ');
    let first = words.next().unwrap_or("");
    let rest = words.next();
    let receipt = || {
        // The receipt exactly as typed after the keyword (Receipt::parse forgives spacing).
        let trimmed = text.trim();
        trimmed
            .split_once(char::is_whitespace)
            .map(|(_, r)| r.trim().to_owned())
            .filter(|r| !r.is_empty())
    };
    let kw = match (first, rest) {
        ("AYUDA", None) => (Keyword::Help, Language::Es),
        ("HELP", None) => (Keyword::Help, Language::En),
        ("CANCELAR", None) => (Keyword::Cancel, Language::Es),
        ("CANCEL", None) => (Keyword::Cancel, Language::En),
        ("BORRAR", None) => (Keyword::Delete, Language::Es),
        ("DELETE", None) => (Keyword::Delete, Language::En),
        // "Estado de México" or a description that starts with "Estado..." is not a
        // status request: only the bare keyword, or the keyword and a receipt, is.
        ("ESTADO", None) => (Keyword::Status(None), Language::Es),
        ("STATUS", None) => (Keyword::Status(None), Language::En),
        ("ESTADO", Some(_)) if receipt().is_some_and(|r| looks_like_receipt(&r)) => {
            (Keyword::Status(receipt()), Language::Es)
        }
        ("STATUS", Some(_)) if receipt().is_some_and(|r| looks_like_receipt(&r)) => {
            (Keyword::Status(receipt()), Language::En)
        }
        ("DERECHOS", None) => (Keyword::Rights(None), Language::Es),
        ("RIGHTS", None) => (Keyword::Rights(None), Language::En),
        // "DERECHOS SINDICATO": one topic; anything else after it is not the keyword.
        ("DERECHOS", Some(word)) if crate::rights::topic_for_word(word).is_some() => (
            Keyword::Rights(crate::rights::topic_for_word(word)),
            Language::Es,
        ),
        ("RIGHTS", Some(word)) if crate::rights::topic_for_word(word).is_some() => (
            Keyword::Rights(crate::rights::topic_for_word(word)),
            Language::En,
        ),
        ("ENGLISH" | "INGLES", None) => (Keyword::Language(Language::En), Language::En),
        ("ESPANOL" | "SPANISH", None) => (Keyword::Language(Language::Es), Language::Es),
        _ => return None,
    };
    Some(kw)
}

/// Whether `text` is one of the keywords the interview answers (AYUDA, ESTADO and a
/// code, DERECHOS and a topic...): a worker's message about a filed case leaves those
/// to it.
pub(crate) fn is_keyword(text: &str) -> bool {
    keyword(text).is_some()
}

/// A receipt, or something typed as one (a code with a digit in it, perhaps mistyped,
/// which then gets "check your code" rather than the start of a new complaint).
pub(super) fn looks_like_receipt(text: &str) -> bool {
    if Receipt::parse(text).is_some() {
        return true;
    }
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    (8..=40).contains(&compact.len())
        && compact.chars().all(|c| c.is_ascii_alphanumeric())
        && compact.chars().any(|c| c.is_ascii_digit())
}

pub(super) fn is_english_greeting(text: &str) -> bool {
    matches!(
        fold(text).as_str(),
        "HI" | "HELLO" | "HEY" | "GOOD MORNING" | "GOOD AFTERNOON" | "GOOD EVENING"
    )
}

/// "No sé" typed: "no sé", "no se", "ns", "nose", "I don't know"... (folded first).
pub fn is_dont_know(text: &str) -> bool {
    let folded = fold(&text.replace('’', "'"));
    matches!(
        folded.as_str(),
        "NO SE"
            | "NOSE"
            | "NS"
            | "NO LO SE"
            | "NO SABEMOS"
            | "NPI"
            | "I DON'T KNOW"
            | "I DONT KNOW"
            | "DON'T KNOW"
            | "DONT KNOW"
            | "IDK"
            | "UNKNOWN"
    )
}

/// The states a typed name may mean: one when it is clear, several when it is not
/// ("Baja" is Baja California or Baja California Sur), none when it is no state.
pub fn state_candidates(typed: &str) -> Vec<StateCode> {
    const ALIASES: &[(&str, StateCode)] = &[
        ("AGS", StateCode::Agu),
        ("BC", StateCode::Bcn),
        ("BCN", StateCode::Bcn),
        ("BAJA CALIFORNIA NORTE", StateCode::Bcn),
        ("BCS", StateCode::Bcs),
        ("CDMX", StateCode::Cmx),
        ("DF", StateCode::Cmx),
        ("DISTRITO FEDERAL", StateCode::Cmx),
        ("CIUDAD DE MEXICO", StateCode::Cmx),
        ("MEXICO CITY", StateCode::Cmx),
        ("COAHUILA DE ZARAGOZA", StateCode::Coa),
        ("CHIS", StateCode::Chp),
        ("CHIH", StateCode::Chh),
        ("EDOMEX", StateCode::Mex),
        ("EDO MEX", StateCode::Mex),
        ("EDO DE MEXICO", StateCode::Mex),
        ("ESTADO DE MEXICO", StateCode::Mex),
        ("STATE OF MEXICO", StateCode::Mex),
        ("MEXICO", StateCode::Mex),
        ("GTO", StateCode::Gua),
        ("GRO", StateCode::Gro),
        ("HGO", StateCode::Hid),
        ("JAL", StateCode::Jal),
        ("MICH", StateCode::Mic),
        ("MICHOACAN DE OCAMPO", StateCode::Mic),
        ("NL", StateCode::Nle),
        ("N L", StateCode::Nle),
        ("OAX", StateCode::Oax),
        ("QRO", StateCode::Que),
        ("QROO", StateCode::Roo),
        ("Q ROO", StateCode::Roo),
        ("SLP", StateCode::Slp),
        ("SIN", StateCode::Sin),
        ("SON", StateCode::Son),
        ("TAMPS", StateCode::Tam),
        ("TLAX", StateCode::Tla),
        ("VER", StateCode::Ver),
        ("VERACRUZ DE IGNACIO DE LA LLAVE", StateCode::Ver),
        ("YUC", StateCode::Yuc),
        ("ZAC", StateCode::Zac),
    ];
    if let Some(code) = StateCode::parse(&typed.trim().to_ascii_uppercase()) {
        return vec![code];
    }
    let folded = fold(&typed.replace(['.', ',', '-'], " "));
    if folded.is_empty() || folded.chars().count() > 60 {
        return Vec::new();
    }
    if let Some(code) =
        StateCode::parse(&format!("MX-{folded}")).or_else(|| StateCode::parse(&folded))
    {
        return vec![code];
    }
    if let Some((_, code)) = ALIASES.iter().find(|(alias, _)| *alias == folded) {
        return vec![*code];
    }
    let stripped = folded
        .strip_prefix("ESTADO DE ")
        .or_else(|| folded.strip_prefix("EDO DE "))
        .or_else(|| folded.strip_prefix("EDO "))
        .unwrap_or(&folded);
    let names: Vec<(String, StateCode)> = StateCode::ALL
        .iter()
        .map(|s| (fold(s.label(Language::Es)), *s))
        .collect();
    if let Some((_, code)) = names.iter().find(|(name, _)| name == stripped) {
        return vec![*code];
    }
    // The first words of one or more names: "Baja", "San Luis", "Nuevo".
    let starts: Vec<StateCode> = names
        .iter()
        .filter(|(name, _)| {
            name.strip_prefix(stripped)
                .is_some_and(|rest| rest.starts_with(' '))
        })
        .map(|(_, code)| *code)
        .collect();
    if !starts.is_empty() {
        return starts;
    }
    // Small typos: the names within edit distance 2 (1 for short names).
    let allowed = if stripped.chars().count() >= 6 { 2 } else { 1 };
    names
        .iter()
        .filter(|(name, _)| strsim::levenshtein(name, stripped) <= allowed)
        .map(|(_, code)| *code)
        .collect()
}

/// Matches a typed state name forgivingly: case, accents, "Estado de", common
/// abbreviations and small typos don't matter. `None` when it is not clearly one
/// state (see [`state_candidates`] for the ones it may be).
pub fn match_state(typed: &str) -> Option<StateCode> {
    match state_candidates(typed).as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}
