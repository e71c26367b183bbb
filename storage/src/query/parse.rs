//! Parsers for filter values, following the Django form fields that the reference server's
//! filters use. Each returns `Ok(None)` for a value that means "no filter".

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use regex::Regex;

use super::error::{ENTER_A_NUMBER, ENTER_A_VALID_DATE, ENTER_A_VALID_DATETIME, INVALID_FOREIGN_KEY, NULL_CHARACTERS};

/// Largest decimal exponent accepted in filter values.
const MAX_EXPONENT: i64 = 100;

/// A decimal number as written, kept exact: `sign digits.fraction e exponent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecimalNumber {
    negative: bool,
    integer_digits: String,
    fraction_digits: String,
    exponent: i64,
}

/// Python's `Decimal` syntax without the special values: `1`, `-1.5`, `.5`, `5.`, `1e3`, with
/// single underscores allowed between digits.
static DECIMAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([+-])?([0-9](?:_?[0-9])*)?(?:\.([0-9](?:_?[0-9])*)?)?(?:[eE]([+-]?[0-9](?:_?[0-9])*))?$").expect("valid decimal pattern")
});

impl DecimalNumber {
    /// Parses a decimal number, or returns `None` when `text` is not one.
    pub fn parse(text: &str) -> Option<DecimalNumber> {
        let captures = DECIMAL.captures(text)?;
        let digits = |index: usize| captures.get(index).map(|found| found.as_str().replace('_', "")).unwrap_or_default();
        let integer_digits = digits(2);
        let fraction_digits = digits(3);
        if integer_digits.is_empty() && fraction_digits.is_empty() {
            return None;
        }
        let exponent = match captures.get(4) {
            Some(found) => parse_saturating(&found.as_str().replace('_', "")),
            None => 0,
        };
        let negative = captures.get(1).is_some_and(|sign| sign.as_str() == "-");
        Some(DecimalNumber { negative, integer_digits, fraction_digits, exponent })
    }

    /// Truncates the value toward zero, saturating at the `i64` bounds.
    pub fn truncate(&self) -> i64 {
        let digits = format!("{}{}", self.integer_digits, self.fraction_digits);
        let point = (self.integer_digits.len() as i64).saturating_add(self.exponent);
        let whole = if point <= 0 {
            String::new()
        } else if point as usize <= digits.len() {
            digits[..point as usize].to_string()
        } else if point > 40 {
            // More than 40 digits cannot fit an i64, so saturate without building the string.
            "9".repeat(41)
        } else {
            format!("{digits}{}", "0".repeat(point as usize - digits.len()))
        };
        let magnitude: i128 = match whole.trim_start_matches('0') {
            "" => 0,
            significant if significant.len() > 20 => i128::MAX,
            significant => significant.parse().unwrap_or(i128::MAX),
        };
        let signed = if self.negative { -magnitude } else { magnitude };
        signed.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// Formats the number as a literal that both PostgreSQL's `NUMERIC` input and SQLite's
    /// `CAST(... AS NUMERIC)` accept.
    pub fn to_literal(&self) -> String {
        let sign = if self.negative { "-" } else { "" };
        let integer = if self.integer_digits.is_empty() { "0" } else { &self.integer_digits };
        let mut literal = format!("{sign}{integer}");
        if !self.fraction_digits.is_empty() {
            literal.push('.');
            literal.push_str(&self.fraction_digits);
        }
        if self.exponent != 0 {
            literal.push_str(&format!("e{}", self.exponent));
        }
        literal
    }
}

/// Parses decimal digits with an optional sign, saturating at the `i64` bounds.
fn parse_saturating(text: &str) -> i64 {
    text.parse().unwrap_or(if text.starts_with('-') { i64::MIN } else { i64::MAX })
}

/// Parses a number for an integer column or a date part: empty means no filter.
pub fn parse_integer(raw: &str) -> Result<Option<i64>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match DecimalNumber::parse(text) {
        Some(number) => Ok(Some(number.truncate())),
        None => Err(ENTER_A_NUMBER.to_string()),
    }
}

/// Parses a number for a decimal column, returning its SQL literal.
pub fn parse_decimal(raw: &str) -> Result<Option<String>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match DecimalNumber::parse(text) {
        // A huge exponent is far outside any column's range, and the database rejects it.
        Some(number) if number.exponent.abs() <= MAX_EXPONENT => Ok(Some(number.to_literal())),
        _ => Err(ENTER_A_NUMBER.to_string()),
    }
}

/// Parses a text value: surrounding whitespace is removed, as Django's `CharField` does.
pub fn parse_text(raw: &str) -> Result<Option<String>, String> {
    let text = raw.trim();
    if text.contains('\0') {
        return Err(NULL_CHARACTERS.to_string());
    }
    Ok(Some(text.to_string()).filter(|text| !text.is_empty()))
}

/// Checks a value against a choice field's codes. Django's `ChoiceField` keeps whitespace.
pub fn parse_choice(raw: &str, codes: &[&str]) -> Result<Option<String>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    if codes.contains(&raw) {
        Ok(Some(raw.to_string()))
    } else {
        Err(format!("Select a valid choice. {raw} is not one of the available choices."))
    }
}

/// Parses the id of a referenced row. Its existence is checked separately.
pub fn parse_foreign_key(raw: &str) -> Result<Option<i64>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(id) => Ok(Some(id)),
        Err(_) => Err(INVALID_FOREIGN_KEY.to_string()),
    }
}

/// Parses `true`/`false`/`1`/`0` in any letter case. Anything else means no filter.
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

static DATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$").expect("valid date pattern"));

/// Parses a `YYYY-MM-DD` date (month and day may have one digit).
pub fn parse_date(raw: &str) -> Result<Option<NaiveDate>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    calendar_date(text).map(Some).ok_or_else(|| ENTER_A_VALID_DATE.to_string())
}

fn calendar_date(text: &str) -> Option<NaiveDate> {
    let captures = DATE.captures(text)?;
    let number = |index: usize| captures[index].parse::<u32>().ok();
    // Python dates start at year 1.
    let year = captures[1].parse::<i32>().ok().filter(|year| *year >= 1)?;
    NaiveDate::from_ymd_opt(year, number(2)?, number(3)?)
}

/// ISO 8601 date and time: `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]` with an optional `Z` or
/// `±HH[[:]MM]` offset. Digits past the sixth fraction digit (up to twelve) are ignored, as
/// Django's `parse_datetime` does.
static DATETIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})[T ]([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2})(?:[.,]([0-9]{1,6})[0-9]{0,6})?)?\s*(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$",
    )
    .expect("valid date-time pattern")
});

/// Parses a date-time. A date alone is midnight, and a date-time without an offset is UTC.
pub fn parse_datetime(raw: &str) -> Result<Option<DateTime<Utc>>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let parsed = match calendar_date(text) {
        Some(date) => Some(date.and_time(NaiveTime::MIN).and_utc()),
        None => date_and_time(text),
    };
    parsed.map(Some).ok_or_else(|| ENTER_A_VALID_DATETIME.to_string())
}

fn date_and_time(text: &str) -> Option<DateTime<Utc>> {
    let captures = DATETIME.captures(text)?;
    let date = calendar_date(&captures[1])?;
    let number = |index: usize| captures.get(index).map_or(Some(0), |found| found.as_str().parse::<u32>().ok());
    let micros = match captures.get(5) {
        Some(fraction) => format!("{:0<6}", fraction.as_str()).parse::<u32>().ok()?,
        None => 0,
    };
    let time = NaiveTime::from_hms_micro_opt(number(2)?, number(3)?, number(4)?, micros)?;
    let offset = match captures.get(6) {
        Some(found) => utc_offset(found.as_str())?,
        None => FixedOffset::east_opt(0)?,
    };
    let local = offset.from_local_datetime(&date.and_time(time)).single()?;
    Some(local.with_timezone(&Utc))
}

/// Parses `Z`, `±HH`, `±HHMM` or `±HH:MM`.
fn utc_offset(text: &str) -> Option<FixedOffset> {
    if text == "Z" {
        return FixedOffset::east_opt(0);
    }
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let digits = text[1..].replace(':', "");
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = if digits.len() > 2 { digits[2..].parse().ok()? } else { 0 };
    if minutes >= 60 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_accepts_decimal_notation() {
        assert_eq!(parse_integer(" 42 "), Ok(Some(42)));
        assert_eq!(parse_integer("+7"), Ok(Some(7)));
        assert_eq!(parse_integer("2.9"), Ok(Some(2)));
        assert_eq!(parse_integer("-2.9"), Ok(Some(-2)));
        assert_eq!(parse_integer("1e3"), Ok(Some(1000)));
        assert_eq!(parse_integer("15e-1"), Ok(Some(1)));
        assert_eq!(parse_integer(".5"), Ok(Some(0)));
        assert_eq!(parse_integer("1_000"), Ok(Some(1000)));
        assert_eq!(parse_integer("99999999999999999999999"), Ok(Some(i64::MAX)));
        assert_eq!(parse_integer("-1e400"), Ok(Some(i64::MIN)));
        assert_eq!(parse_integer(""), Ok(None));
        assert_eq!(parse_integer("  "), Ok(None));
    }

    #[test]
    fn integer_rejects_non_numbers() {
        for text in ["x", "1x", ".", "1__0", "_1", "NaN", "Infinity", "1e", "--1", "0x10"] {
            assert_eq!(parse_integer(text), Err(ENTER_A_NUMBER.to_string()), "{text}");
        }
    }

    #[test]
    fn decimal_literal_is_canonical() {
        assert_eq!(parse_decimal("12.50"), Ok(Some("12.50".to_string())));
        assert_eq!(parse_decimal("-.5"), Ok(Some("-0.5".to_string())));
        assert_eq!(parse_decimal("+5."), Ok(Some("5".to_string())));
        assert_eq!(parse_decimal("1.5E3"), Ok(Some("1.5e3".to_string())));
        assert_eq!(parse_decimal("abc"), Err(ENTER_A_NUMBER.to_string()));
    }

    #[test]
    fn date_formats() {
        assert_eq!(parse_date("2024-02-29"), Ok(NaiveDate::from_ymd_opt(2024, 2, 29)));
        assert_eq!(parse_date("2024-2-9"), Ok(NaiveDate::from_ymd_opt(2024, 2, 9)));
        for text in ["2023-02-29", "2024-13-01", "24-01-01", "2024/01/01", "2024-01-01T00:00", "0000-01-01"] {
            assert_eq!(parse_date(text), Err(ENTER_A_VALID_DATE.to_string()), "{text}");
        }
    }

    #[test]
    fn datetime_formats() {
        let expected = |text: &str| Ok(Some(DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)));
        assert_eq!(parse_datetime("2024-03-01"), expected("2024-03-01T00:00:00Z"));
        assert_eq!(parse_datetime("2024-03-01T10:20"), expected("2024-03-01T10:20:00Z"));
        assert_eq!(parse_datetime("2024-03-01 10:20:30"), expected("2024-03-01T10:20:30Z"));
        assert_eq!(parse_datetime("2024-03-01T10:20:30.5Z"), expected("2024-03-01T10:20:30.5Z"));
        assert_eq!(parse_datetime("2024-03-01T10:20:30.1234567"), expected("2024-03-01T10:20:30.123456Z"));
        assert_eq!(parse_datetime("2024-03-01T10:20:30+02:00"), expected("2024-03-01T08:20:30Z"));
        assert_eq!(parse_datetime("2024-03-01T10:20-0130"), expected("2024-03-01T11:50:00Z"));
        assert_eq!(parse_datetime("2024-03-01T10:20+05"), expected("2024-03-01T05:20:00Z"));
        for text in ["2024-03-01T25:00", "2024-03-01T10", "2024-03-01T10:20:30+2", "noon", "2024-03-01T10:20+01:75"] {
            assert_eq!(parse_datetime(text), Err(ENTER_A_VALID_DATETIME.to_string()), "{text}");
        }
    }

    #[test]
    fn bool_spellings() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("1"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_bool(""), None);
    }

    #[test]
    fn text_choice_and_foreign_key() {
        assert_eq!(parse_text("  a b "), Ok(Some("a b".to_string())));
        assert_eq!(parse_text(" "), Ok(None));
        assert_eq!(parse_text("a\0"), Err(NULL_CHARACTERS.to_string()));
        assert_eq!(parse_choice("pi", &["pi", "ad"]), Ok(Some("pi".to_string())));
        assert_eq!(parse_choice(" pi", &["pi"]), Err("Select a valid choice.  pi is not one of the available choices.".to_string()));
        assert_eq!(parse_foreign_key(" 12 "), Ok(Some(12)));
        assert_eq!(parse_foreign_key("1.0"), Err(INVALID_FOREIGN_KEY.to_string()));
    }
}
