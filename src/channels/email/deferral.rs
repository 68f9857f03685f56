//! Deferred filing by e-mail: a line the worker writes in a new complaint,
//! `ESPERAR HASTA 2027-03-01` (or `WAIT UNTIL 2027-03-01`; `01/03/2027`, day first,
//! and the other forms [`crate::domain::parse_date`] reads for WhatsApp too), asks
//! that nobody reviews the case or writes to them before that day. The rule is the
//! web form's ([`crate::domain::hold_allowed`]): a day after today in Mexico City
//! and at most `limits::MAX_HOLD_DAYS` ahead. Pure: no I/O.

use crate::domain::{hold_allowed, parse_date};
use chrono::NaiveDate;

/// What a message asks about deferral.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deferral {
    /// No such line: reviewed as soon as possible.
    None,
    Until(NaiveDate),
    /// A line that asks but whose date is not one Buzón can wait for (unreadable,
    /// not after today, or too far ahead): answered, not filed.
    Invalid,
}

/// The words that start the line, accents and case aside.
const KEYWORDS: &[&str] = &["esperar hasta", "wait until"];

/// Reads the first deferral line of `body` (quoted lines `>` are not the worker's).
pub fn requested(body: &str, today: NaiveDate) -> Deferral {
    for line in body.lines().take(2_000) {
        let line = line.trim();
        if line.starts_with('>') {
            continue;
        }
        let lower = line.to_lowercase();
        let Some(rest) = KEYWORDS.iter().find_map(|k| lower.strip_prefix(k)) else {
            continue;
        };
        let rest = rest
            .trim_start_matches([':', ' ', '\t'])
            .trim_start_matches("el ")
            .trim();
        let token = rest.split_whitespace().next().unwrap_or("");
        let token = token.trim_end_matches(['.', ',', ';']);
        return match parse_date(token) {
            Some(d) if hold_allowed(d, today) => Deferral::Until(d),
            _ => Deferral::Invalid,
        };
    }
    Deferral::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_line_in_spanish_and_english() {
        let today = day(2026, 12, 8);
        let body = "Nos despidieron.\nESPERAR HASTA 2027-03-01\nGracias";
        assert_eq!(requested(body, today), Deferral::Until(day(2027, 3, 1)));
        assert_eq!(
            requested("Esperar hasta: 01/03/2027.", today),
            Deferral::Until(day(2027, 3, 1))
        );
        assert_eq!(
            requested("esperar hasta el 15/01/2027", today),
            Deferral::Until(day(2027, 1, 15))
        );
        assert_eq!(
            requested("WAIT UNTIL 2027-01-02", today),
            Deferral::Until(day(2027, 1, 2))
        );
        assert_eq!(
            requested("Nos despidieron sin pagar.", today),
            Deferral::None
        );
        // Quoted text is not the worker's own.
        assert_eq!(
            requested("> ESPERAR HASTA 2027-01-02", today),
            Deferral::None
        );
    }

    #[test]
    fn the_web_forms_rules() {
        let today = day(2026, 12, 8);
        // Today, the past, more than 90 days ahead, nonsense: all refused.
        for bad in [
            "ESPERAR HASTA 2026-12-08",
            "ESPERAR HASTA 2026-01-01",
            "ESPERAR HASTA 2027-03-09",
            "ESPERAR HASTA 2027-02-30",
            "ESPERAR HASTA mañana",
            "ESPERAR HASTA",
        ] {
            assert_eq!(requested(bad, today), Deferral::Invalid, "{bad}");
        }
        // The 90th day is the last allowed.
        assert_eq!(
            requested("ESPERAR HASTA 2027-03-08", today),
            Deferral::Until(day(2027, 3, 8))
        );
    }
}
