//! Dates as workers write them, and the deferral rule every channel applies: the
//! web form and the API (`IntakeDraft::validate`), the WhatsApp interview's hold
//! question and the e-mail `ESPERAR HASTA` line all read and check a date here.

use super::{Language, fold, limits};
use chrono::{Datelike, NaiveDate};

/// Deferred filing: a worker may ask us to wait until a day after `today` (Mexico
/// City's date) and at most [`limits::MAX_HOLD_DAYS`] ahead.
pub fn hold_allowed(day: NaiveDate, today: NaiveDate) -> bool {
    day > today && (day - today).num_days() <= limits::MAX_HOLD_DAYS
}

const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A date as workers in Mexico type it: day first (01/03/2027, 1-3-2027, 1.3.27),
/// ISO (2027-03-01, 2027/03/01), or with the month's name ("1 de marzo de 2027",
/// "1 marzo 2027", "March 1, 2027"). "ESPERAR HASTA" / "HASTA" / "HOLD UNTIL" before
/// it is allowed. `None` for anything else, so a story is never read as a date.
pub fn parse_date(typed: &str) -> Option<NaiveDate> {
    let folded = fold(typed);
    let rest = [
        "ESPERAR HASTA EL ",
        "ESPERAR HASTA ",
        "HASTA EL ",
        "HASTA ",
        "HOLD UNTIL ",
        "WAIT UNTIL ",
        "UNTIL ",
    ]
    .iter()
    .find_map(|p| folded.strip_prefix(p))
    .unwrap_or(&folded);
    let parts: Vec<&str> = rest
        .split(['/', '-', '.', ' ', ','])
        .filter(|p| !p.is_empty() && *p != "DE" && *p != "DEL" && *p != "OF")
        .collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let month_named = |word: &str| {
        let lower = word.to_lowercase();
        MONTHS_ES
            .iter()
            .chain(MONTHS_EN.iter())
            .position(|m| {
                let m = m.to_lowercase();
                m == lower || (lower.chars().count() >= 3 && m.starts_with(&lower))
            })
            .map(|i| (i % 12) as u32 + 1)
    };
    let number = |s: &str| -> Option<u32> {
        (s.len() <= 4 && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let year = |s: &str| -> Option<i32> {
        let n = i32::try_from(number(s)?).ok()?;
        match s.len() {
            2 => Some(2000 + n),
            4 => Some(n),
            _ => None,
        }
    };
    let (y, m, d) = if a.len() == 4 {
        (year(a)?, number(b)?, number(c)?)
    } else if let Some(m) = month_named(b) {
        (year(c)?, m, number(a)?)
    } else if let Some(m) = month_named(a) {
        (year(c)?, m, number(b)?)
    } else {
        (year(c)?, number(b)?, number(a)?)
    };
    NaiveDate::from_ymd_opt(y, m, d)
}

/// A date in words, unambiguous in both languages: "1 de marzo de 2027", "March 1, 2027".
pub fn date_words(date: NaiveDate, lang: Language) -> String {
    let month = date.month0() as usize % 12;
    match lang {
        Language::Es => format!("{} de {} de {}", date.day(), MONTHS_ES[month], date.year()),
        Language::En => format!("{} {}, {}", MONTHS_EN[month], date.day(), date.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn the_hold_rule_is_after_today_and_at_most_90_days_ahead() {
        let today = day(2026, 12, 8);
        assert!(!hold_allowed(today, today));
        assert!(!hold_allowed(day(2026, 12, 7), today));
        assert!(hold_allowed(day(2026, 12, 9), today));
        assert!(hold_allowed(day(2027, 3, 8), today));
        assert!(!hold_allowed(day(2027, 3, 9), today));
    }

    #[test]
    fn odd_text_is_no_date_and_no_panic() {
        for typed in [
            "ñoño",
            "ñ ñ ñ",
            "1 ñoñoño 2027",
            "🏭/🏭/🏭",
            "1 mä 2027",
            "99999/1/1",
        ] {
            assert_eq!(parse_date(typed), None, "{typed}");
        }
        assert_eq!(parse_date("wait until 1/3/27"), Some(day(2027, 3, 1)));
    }
}
