//! Timestamps as the reference renders them: ISO 8601 in UTC with `Z`, microseconds only when
//! non-zero.

use chrono::{DateTime, NaiveDate, Utc};

pub fn format_datetime(value: &DateTime<Utc>) -> String {
    if value.timestamp_subsec_micros() == 0 {
        value.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        value.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

pub fn format_date(value: &NaiveDate) -> String {
    value.format("%Y-%m-%d").to_string()
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
    }
}
