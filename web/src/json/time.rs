//! Timestamps as the reference renders them: ISO 8601 in UTC with `Z`, microseconds only when
//! non-zero.

use std::fmt::Write;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

// Written with `write!` rather than chrono's `format`, which parses its format string on every
// call; list pages format thousands of timestamps.

pub fn format_datetime(value: &DateTime<Utc>) -> String {
    let mut text = String::with_capacity(27);
    let (date, time) = (value.date_naive(), value.time());
    let _ = write!(
        text,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        date.year(),
        date.month(),
        date.day(),
        time.hour(),
        time.minute(),
        time.second()
    );
    let micros = value.timestamp_subsec_micros();
    if micros != 0 {
        let _ = write!(text, ".{micros:06}");
    }
    text.push('Z');
    text
}

pub fn format_date(value: &NaiveDate) -> String {
    let mut text = String::with_capacity(10);
    let _ = write!(text, "{:04}-{:02}-{:02}", value.year(), value.month(), value.day());
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn microseconds_only_when_present() {
        let whole = Utc.with_ymd_and_hms(2026, 12, 4, 19, 17, 22).unwrap();
        assert_eq!(format_datetime(&whole), "2026-12-04T19:17:22Z");
        let fraction = whole + chrono::Duration::microseconds(730_269);
        assert_eq!(format_datetime(&fraction), "2026-12-04T19:17:22.730269Z");
        let early = Utc.with_ymd_and_hms(987, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::microseconds(7);
        assert_eq!(format_datetime(&early), "0987-01-02T03:04:05.000007Z");
    }

    #[test]
    fn dates_are_zero_padded() {
        assert_eq!(format_date(&NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()), "2026-03-09");
        assert_eq!(format_date(&NaiveDate::from_ymd_opt(42, 11, 30).unwrap()), "0042-11-30");
    }
}
