//! Domain types: parse, don't validate. Everything a channel receives becomes an
//! [`IntakeDraft`] (plain strings, in memory only); [`IntakeDraft::validate`] turns it
//! into a [`NewComplaint`] whose fields are types that cannot hold invalid values, or
//! into the list of [`FieldError`]s to show next to each field.

mod codes;
mod dates;
mod status;
mod undelivered;
mod vocab;

pub use codes::ErrorCode;
pub use dates::{date_words, hold_allowed, parse_date};
pub use status::{CaseStatus, Outcome, closing_notice, held_notice};
pub use undelivered::Undelivered;
pub use vocab::{Channel, Sector, StateCode, TradeNexus, Violation};

use chrono::{Datelike, NaiveDate};
use std::collections::BTreeSet;
use unicode_normalization::UnicodeNormalization;

/// Limits on everything a worker can type, in characters (after trimming).
pub mod limits {
    pub const NAME: usize = 200;
    pub const PHONE: usize = 40;
    pub const EMAIL: usize = 254;
    pub const WORKER_ID: usize = 64;
    pub const EMPLOYER: usize = 200;
    pub const CITY: usize = 100;
    pub const NARRATIVE: usize = 10_000;
    pub const MESSAGE: usize = 5_000;
    pub const MAX_WORKERS: i64 = 1_000_000;
    /// Deferred filing: the latest date a worker may ask us to wait for, in days
    /// from today.
    pub const MAX_HOLD_DAYS: i64 = 90;
    /// The receipt field accepts a little more than a code so that spaces and dashes
    /// typed by hand still fit.
    pub const RECEIPT_INPUT: usize = 64;
}

/// The language a worker reads. Spanish is the default everywhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    #[default]
    Es,
    En,
}

impl Language {
    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "es" => Some(Self::Es),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Es => "es",
            Self::En => "en",
        }
    }

    /// The text in this language, of a Spanish and English pair.
    pub fn pick<'a>(self, es: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Es => es,
            Self::En => en,
        }
    }

    /// Picks the first supported language from an `Accept-Language` header, honouring
    /// q-values; Spanish when nothing matches.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for part in header.split(',').take(16) {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            if let Some(lang) = Self::parse(primary)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

/// A field that failed validation: where, and which stable error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path in the JSON body (`workplace.state`); the web form maps it to its input.
    pub field: &'static str,
    pub code: ErrorCode,
}

impl FieldError {
    fn new(field: &'static str, code: ErrorCode) -> Self {
        Self { field, code }
    }
}

/// Normalizes free text: Unicode NFC, trimmed, control characters other than line
/// breaks and tabs removed. `None` when nothing is left.
pub fn clean_text(raw: &str) -> Option<String> {
    let text: String = raw
        .nfc()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// `text` without combining marks (accents): `Querétaro` → `Queretaro`.
pub fn strip_accents(text: &str) -> impl Iterator<Item = char> + '_ {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
}

/// Upper case, accents off, outer punctuation and spaces trimmed: "¡Ayúdame!" → "AYUDAME".
pub fn fold(text: &str) -> String {
    let folded: String = strip_accents(text).flat_map(char::to_uppercase).collect();
    folded
        .trim_matches(|c: char| !c.is_alphanumeric())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `max` characters, the last one an ellipsis when something was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Free text with a length limit that is known to be non-empty.
#[derive(Clone, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    pub fn parse(raw: &str, max: usize) -> Result<Self, ErrorCode> {
        let text = clean_text(raw).ok_or(ErrorCode::MissingField)?;
        if text.chars().count() > max {
            return Err(ErrorCode::TooLong);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Text {
    // Free text may identify a worker: it never reaches a log through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Text(<{} chars>)", self.0.chars().count())
    }
}

/// A phone number in E.164 form, parsed with libphonenumber's metadata (Mexico is
/// the default region). Mexican mobiles written with the old `1` after `+52` normalize
/// to the same value as without it.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        let raw = raw.trim();
        if raw.chars().count() > limits::PHONE {
            return Err(ErrorCode::TooLong);
        }
        let number = phonenumber::parse(Some(phonenumber::country::Id::MX), raw)
            .map_err(|_| ErrorCode::InvalidPhone)?;
        let number = strip_mexican_mobile_one(number)?;
        if !phonenumber::is_valid(&number) {
            return Err(ErrorCode::InvalidPhone);
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// E.164, e.g. `+524771234567`.
    pub fn e164(&self) -> &str {
        &self.0
    }
}

/// Since 2019 Mexican mobiles are dialled without the `1` that used to follow `+52`;
/// people still write it. libphonenumber keeps it as part of the national number, so
/// a 11-digit national number starting with 1 loses it here.
fn strip_mexican_mobile_one(
    number: phonenumber::PhoneNumber,
) -> Result<phonenumber::PhoneNumber, ErrorCode> {
    let national = number.national().value();
    if number.code().value() == 52 && (10_000_000_000..20_000_000_000).contains(&national) {
        let e164 = format!("+52{}", national - 10_000_000_000);
        return phonenumber::parse(None, e164).map_err(|_| ErrorCode::InvalidPhone);
    }
    Ok(number)
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneNumber(<redacted>)")
    }
}

/// An e-mail address, syntax-checked and lower-cased for matching.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        let raw = raw.trim();
        if raw.chars().count() > limits::EMAIL {
            return Err(ErrorCode::TooLong);
        }
        let options = email_address::Options {
            minimum_sub_domains: 2,
            allow_domain_literal: false,
            allow_display_text: false,
            ..Default::default()
        };
        email_address::EmailAddress::parse_with_options(raw, options)
            .map_err(|_| ErrorCode::InvalidEmail)?;
        Ok(Self(raw.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

/// Who filed. Anonymous is a first-class choice: nothing identifying is kept at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Complainant {
    Anonymous,
    Identified(Identity),
}

/// At least one of these is present (enforced by [`IntakeDraft::validate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: Option<Text>,
    pub phone: Option<PhoneNumber>,
    pub email: Option<Email>,
    pub worker_id: Option<Text>,
}

/// The workplace a complaint is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workplace {
    pub employer: Text,
    pub city: Option<Text>,
    pub state: StateCode,
    pub sector: Sector,
    pub trade_with_us: TradeNexus,
    /// Approximate number of workers; `None` when the worker does not know.
    pub workers: Option<u32>,
}

/// A complaint that passed validation, ready to be encrypted and stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewComplaint {
    pub channel: Channel,
    pub language: Language,
    pub complainant: Complainant,
    pub workplace: Workplace,
    pub violations: BTreeSet<Violation>,
    pub narrative: Text,
    pub occurred_on: Option<NaiveDate>,
    /// Deferred filing: not to be acted on before this date (in Mexico City).
    pub hold_until: Option<NaiveDate>,
}

/// What a channel adapter hands to the intake core: the sender's input as text, in
/// memory only. Field names follow the JSON API.
#[derive(Clone, Default)]
pub struct IntakeDraft {
    pub language: Option<String>,
    pub anonymous: bool,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub worker_id: Option<String>,
    pub employer: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub sector: Option<String>,
    pub trade_with_us: Option<String>,
    pub workers: Option<String>,
    pub violations: Vec<String>,
    pub narrative: Option<String>,
    pub occurred_on: Option<String>,
    /// Deferred filing: `YYYY-MM-DD`, after today and at most 90 days ahead.
    pub hold_until: Option<String>,
}

impl IntakeDraft {
    /// True when any identifying field holds something.
    pub fn has_identity(&self) -> bool {
        [&self.name, &self.phone, &self.email, &self.worker_id]
            .iter()
            .any(|f| f.as_deref().and_then(clean_text).is_some())
    }

    /// Validates every field and collects every error, so a form can show them all
    /// at once. `today` bounds `occurred_on` (no dates in the future).
    pub fn validate(
        &self,
        channel: Channel,
        today: NaiveDate,
    ) -> Result<NewComplaint, Vec<FieldError>> {
        let mut errors = Vec::new();

        let language = match self.language.as_deref().map(str::trim) {
            None | Some("") => Language::Es,
            Some(code) => Language::parse(code).unwrap_or_else(|| {
                errors.push(FieldError::new("language", ErrorCode::InvalidLanguage));
                Language::Es
            }),
        };

        let employer = required_text(
            self.employer.as_deref(),
            "workplace.employer",
            limits::EMPLOYER,
            &mut errors,
        );
        let city = optional_text(
            self.city.as_deref(),
            "workplace.city",
            limits::CITY,
            &mut errors,
        );
        let state = match self.state.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(FieldError::new("workplace.state", ErrorCode::MissingField));
                None
            }
            Some(code) => StateCode::parse(&code.to_ascii_uppercase()).or_else(|| {
                errors.push(FieldError::new("workplace.state", ErrorCode::InvalidState));
                None
            }),
        };
        let sector = match self.sector.as_deref().map(str::trim) {
            None | Some("") => Sector::Unknown,
            Some(code) => Sector::parse(code).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "workplace.sector",
                    ErrorCode::UnknownSector,
                ));
                Sector::Unknown
            }),
        };
        let trade_with_us = match self.trade_with_us.as_deref().map(str::trim) {
            None | Some("") => TradeNexus::Unknown,
            Some(code) => TradeNexus::parse(code).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "workplace.trade_with_us",
                    ErrorCode::InvalidTradeWithUs,
                ));
                TradeNexus::Unknown
            }),
        };
        let workers = match self.workers.as_deref().map(str::trim) {
            None | Some("") | Some("unknown") => None,
            Some(n) => match n.replace([',', '.', ' '], "").parse::<i64>() {
                Ok(n) if (1..=limits::MAX_WORKERS).contains(&n) => u32::try_from(n).ok(),
                _ => {
                    errors.push(FieldError::new(
                        "workplace.workers",
                        ErrorCode::InvalidNumber,
                    ));
                    None
                }
            },
        };

        let mut violations = BTreeSet::new();
        if self.violations.len() > Violation::ALL.len() {
            errors.push(FieldError::new("violations", ErrorCode::TooManyValues));
        } else {
            for code in &self.violations {
                match Violation::parse(code.trim()) {
                    Some(v) => {
                        violations.insert(v);
                    }
                    None => {
                        errors.push(FieldError::new("violations", ErrorCode::UnknownViolation));
                        break;
                    }
                }
            }
            if self.violations.is_empty() {
                errors.push(FieldError::new("violations", ErrorCode::MissingField));
            }
        }

        let narrative = required_text(
            self.narrative.as_deref(),
            "narrative",
            limits::NARRATIVE,
            &mut errors,
        );

        let occurred_on = match self.occurred_on.as_deref().map(str::trim) {
            None | Some("") | Some("unknown") => None,
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) if d <= today && d.year_ce().1 >= 1970 => Some(d),
                _ => {
                    errors.push(FieldError::new("occurred_on", ErrorCode::InvalidDate));
                    None
                }
            },
        };

        let hold_until = match self.hold_until.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) if hold_allowed(d, today) => Some(d),
                _ => {
                    errors.push(FieldError::new("hold_until", ErrorCode::InvalidHoldDate));
                    None
                }
            },
        };

        let complainant = if self.anonymous {
            Complainant::Anonymous
        } else {
            let name = optional_text(
                self.name.as_deref(),
                "complainant.name",
                limits::NAME,
                &mut errors,
            );
            let worker_id = optional_text(
                self.worker_id.as_deref(),
                "complainant.worker_id",
                limits::WORKER_ID,
                &mut errors,
            );
            let phone = parse_optional(
                &self.phone,
                "complainant.phone",
                PhoneNumber::parse,
                &mut errors,
            );
            let email = parse_optional(&self.email, "complainant.email", Email::parse, &mut errors);
            if !self.has_identity() {
                errors.push(FieldError::new("complainant", ErrorCode::ContactRequired));
            }
            Complainant::Identified(Identity {
                name,
                phone,
                email,
                worker_id,
            })
        };

        match (employer, state, narrative) {
            (Some(employer), Some(state), Some(narrative)) if errors.is_empty() => {
                Ok(NewComplaint {
                    channel,
                    language,
                    complainant,
                    workplace: Workplace {
                        employer,
                        city,
                        state,
                        sector,
                        trade_with_us,
                        workers,
                    },
                    violations,
                    narrative,
                    occurred_on,
                    hold_until,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A field the worker may leave out: empty (after cleaning) means not given.
fn optional_text(
    raw: Option<&str>,
    field: &'static str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<Text> {
    match Text::parse(raw?, max) {
        Ok(text) => Some(text),
        Err(ErrorCode::MissingField) => None,
        Err(code) => {
            errors.push(FieldError::new(field, code));
            None
        }
    }
}

/// A field that must be there: absent or empty is `missing_field`.
fn required_text(
    raw: Option<&str>,
    field: &'static str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<Text> {
    let parsed = Text::parse(raw.unwrap_or_default(), max);
    parsed
        .map_err(|code| errors.push(FieldError::new(field, code)))
        .ok()
}

fn parse_optional<T>(
    raw: &Option<String>,
    field: &'static str,
    parse: fn(&str) -> Result<T, ErrorCode>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let raw = raw.as_deref().map(str::trim).filter(|r| !r.is_empty())?;
    parse(raw)
        .map_err(|code| errors.push(FieldError::new(field, code)))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default()
    }

    fn minimal() -> IntakeDraft {
        IntakeDraft {
            anonymous: true,
            employer: Some("Arneses del Bajío".into()),
            state: Some("MX-GUA".into()),
            violations: vec!["union_retaliation".into()],
            narrative: Some("Me despidieron.".into()),
            ..Default::default()
        }
    }

    #[test]
    fn mexican_mobiles_with_and_without_the_old_one_are_the_same_number() {
        let forms = [
            "+52 1 477 123 4567",
            "+52 477 123 4567",
            "+5214771234567",
            "477 123 4567",
            "(477) 123-4567",
        ];
        for raw in forms {
            let phone = PhoneNumber::parse(raw).map_err(|e| format!("{raw}: {e:?}"));
            assert_eq!(
                phone.as_ref().map(|p| p.e164()),
                Ok("+524771234567"),
                "{raw}"
            );
        }
    }

    #[test]
    fn garbage_is_not_a_phone() {
        for raw in ["hola", "123", "+52 1", "+1 555"] {
            assert!(PhoneNumber::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn foreign_numbers_keep_their_country() {
        let phone = PhoneNumber::parse("+1 213 373 4253").map(|p| p.e164().to_string());
        assert_eq!(phone, Ok("+12133734253".to_string()));
    }

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(
            Email::parse(" Ana.Lopez@Example.MX ").map(|e| e.as_str().to_string()),
            Ok("ana.lopez@example.mx".to_string())
        );
        assert_eq!(Email::parse("ana@"), Err(ErrorCode::InvalidEmail));
        assert_eq!(Email::parse("ana@localhost"), Err(ErrorCode::InvalidEmail));
    }

    #[test]
    fn a_minimal_anonymous_complaint_is_valid() {
        let c = minimal()
            .validate(Channel::Api, today())
            .map_err(|e| format!("{e:?}"));
        let c = c.as_ref().ok();
        assert_eq!(c.map(|c| &c.complainant), Some(&Complainant::Anonymous));
        assert_eq!(c.map(|c| c.workplace.sector), Some(Sector::Unknown));
        assert_eq!(
            c.map(|c| c.workplace.trade_with_us),
            Some(TradeNexus::Unknown)
        );
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let draft = IntakeDraft {
            state: Some("MX-XXX".into()),
            sector: Some("cars".into()),
            violations: vec!["bad_boss".into()],
            workers: Some("lots".into()),
            occurred_on: Some("2099-01-01".into()),
            email: Some("nope".into()),
            ..Default::default()
        };
        let errors = draft
            .validate(Channel::Web, today())
            .err()
            .unwrap_or_default();
        let got: Vec<(&str, ErrorCode)> = errors.iter().map(|e| (e.field, e.code)).collect();
        for want in [
            ("workplace.employer", ErrorCode::MissingField),
            ("workplace.state", ErrorCode::InvalidState),
            ("workplace.sector", ErrorCode::UnknownSector),
            ("workplace.workers", ErrorCode::InvalidNumber),
            ("violations", ErrorCode::UnknownViolation),
            ("narrative", ErrorCode::MissingField),
            ("occurred_on", ErrorCode::InvalidDate),
            ("complainant.email", ErrorCode::InvalidEmail),
        ] {
            assert!(got.contains(&want), "{want:?} not in {got:?}");
        }
    }

    #[test]
    fn identified_without_any_contact_is_refused() {
        let draft = IntakeDraft {
            anonymous: false,
            name: Some("   ".into()),
            ..minimal()
        };
        let errors = draft
            .validate(Channel::Web, today())
            .err()
            .unwrap_or_default();
        assert_eq!(
            errors,
            vec![FieldError::new("complainant", ErrorCode::ContactRequired)]
        );
    }

    #[test]
    fn anonymous_drops_whatever_identity_was_typed() {
        let draft = IntakeDraft {
            name: Some("Rosa".into()),
            ..minimal()
        };
        let c = draft
            .validate(Channel::Web, today())
            .ok()
            .map(|c| c.complainant);
        assert_eq!(c, Some(Complainant::Anonymous));
    }

    #[test]
    fn accept_language_honours_q_values() {
        assert_eq!(
            Language::from_accept_language("en-US,en;q=0.9"),
            Language::En
        );
        assert_eq!(
            Language::from_accept_language("fr, en;q=0.5, es;q=0.8"),
            Language::Es
        );
        assert_eq!(Language::from_accept_language("de"), Language::Es);
        assert_eq!(Language::from_accept_language(""), Language::Es);
    }

    #[test]
    fn debug_output_never_shows_personal_text() {
        let text = format!("{:?}", Text::parse("Rosa Martínez", 100).unwrap());
        assert!(
            text.starts_with("Text(") && !text.contains("Rosa"),
            "{text}"
        );
        let phone = format!("{:?}", PhoneNumber::parse("4771234567").unwrap());
        assert!(!phone.contains("477"), "{phone}");
        let email = format!("{:?}", Email::parse("rosa@example.org").unwrap());
        assert!(!email.contains("rosa"), "{email}");
    }

    proptest! {
        #[test]
        fn validation_never_panics(
            name in proptest::option::of(".{0,300}"),
            phone in proptest::option::of(".{0,50}"),
            email in proptest::option::of(".{0,300}"),
            state in proptest::option::of(".{0,10}"),
            workers in proptest::option::of(".{0,12}"),
            date in proptest::option::of(".{0,12}"),
            narrative in proptest::option::of(".{0,50}"),
            anonymous in any::<bool>(),
        ) {
            let draft = IntakeDraft {
                anonymous, name, phone, email, state, workers, narrative,
                occurred_on: date,
                employer: Some("X".into()),
                violations: vec!["other".into()],
                ..Default::default()
            };
            let _ = draft.validate(Channel::Api, today());
        }

        #[test]
        fn any_valid_mexican_mobile_normalizes_the_same_with_or_without_one(n in 2_000_000_000u64..9_999_999_999u64) {
            let with = PhoneNumber::parse(&format!("+52 1 {n}"));
            let without = PhoneNumber::parse(&format!("+52 {n}"));
            if let (Ok(a), Ok(b)) = (&with, &without) {
                prop_assert_eq!(a.e164(), b.e164());
            }
            prop_assert_eq!(with.is_ok(), without.is_ok());
        }
    }
}
