//! The time Buzón acts on where a date decides what happens: when a deferred case
//! comes out of hold, the 30-day review windows of the indicators, the dates a worker
//! may choose. It is the system clock, unless `BUZON_TEST_CLOCK_FILE` names a file
//! holding a number of seconds to add to it (tests move time forward by writing that
//! file instead of sleeping). The file is read at each call, so a test can move the
//! clock of a running server; an unreadable or malformed file means no offset. The
//! server logs a warning at start when the variable is set.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Offset, Utc};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The environment variable naming the test clock's offset file.
pub const TEST_CLOCK_FILE: &str = "BUZON_TEST_CLOCK_FILE";

fn file() -> Option<&'static PathBuf> {
    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FILE.get_or_init(|| std::env::var_os(TEST_CLOCK_FILE).map(PathBuf::from))
        .as_ref()
}

/// Whether a test clock is configured (the server warns at start).
pub fn is_test_clock() -> bool {
    file().is_some()
}

fn offset() -> Duration {
    file()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(Duration::try_seconds)
        .unwrap_or_else(Duration::zero)
}

pub fn now() -> DateTime<Utc> {
    Utc::now() + offset()
}

/// Mexico City's offset (UTC-6 all year since daylight saving time ended in 2022).
pub fn mexico_city() -> FixedOffset {
    FixedOffset::west_opt(6 * 3600).unwrap_or(Utc.fix())
}

/// Today's date in Mexico City: the worker's calendar.
pub fn today() -> NaiveDate {
    mexico_date(now())
}

/// The day `t` falls on in Mexico City: the date a worker reads for it.
pub fn mexico_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&mexico_city()).date_naive()
}

/// 00:00 in Mexico City on `date`, as a UTC instant.
pub fn start_of(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(mexico_city()).single())
        .map_or_else(
            || date.and_time(chrono::NaiveTime::MIN).and_utc(),
            |t| t.with_timezone(&Utc),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_starts_at_six_utc_in_mexico_city() {
        let d = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
        assert_eq!(start_of(d).to_rfc3339(), "2027-01-15T06:00:00+00:00");
        // Late evening in Mexico City is already the next day in UTC.
        let evening = start_of(d) - Duration::hours(1);
        assert_eq!(mexico_date(evening), d.pred_opt().unwrap());
        assert_eq!(mexico_date(start_of(d)), d);
    }

    #[test]
    fn without_the_variable_the_clock_is_the_system_clock() {
        let drift = (now() - Utc::now()).num_seconds().abs();
        assert!(drift < 5, "{drift}");
    }
}
