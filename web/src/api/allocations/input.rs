//! Body fields that [`Form`] does not read: dates and non-negative integers, with the
//! reference's (Django REST Framework's) messages.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::api::fields::{Form, Mode, Nullable};
use crate::router::Context;

pub const DATE_FORMAT_MESSAGE: &str = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.";
const INVALID_INTEGER: &str = "A valid integer is required.";
/// The largest value of the reference's `PositiveIntegerField` on PostgreSQL.
const MAX_POSITIVE_INTEGER: i64 = 2_147_483_647;

/// Rejects text containing U+0000, as DRF's `ProhibitNullCharactersValidator` does, because
/// PostgreSQL cannot store it in a text column. Returns the text when it is acceptable.
pub fn without_null_characters(form: &mut Form<'_>, name: &str, text: Option<String>) -> Option<String> {
    let text = text?;
    if text.contains('\0') {
        form.error(name, "Null characters are not allowed.");
        return None;
    }
    Some(text)
}

/// Checks whether the body is a form (urlencoded or multipart). In a form an empty value of a
/// nullable field means null, while in JSON an empty string is an invalid value.
pub fn is_form_body(context: &Context<'_>) -> bool {
    matches!(context.request.media_type().as_deref(), Some("application/x-www-form-urlencoded" | "multipart/form-data"))
}

/// Reads an optional, nullable date field. Outer `None`: absent or invalid; inner `None`: null.
pub fn date(form: &mut Form<'_>, data: &Map<String, Value>, name: &str, form_body: bool) -> Nullable<NaiveDate> {
    match data.get(name)? {
        Value::Null => Some(None),
        Value::String(text) if text.is_empty() && form_body => Some(None),
        Value::String(text) => match parse_date(text) {
            Some(date) => Some(Some(date)),
            None => {
                form.error(name, DATE_FORMAT_MESSAGE);
                None
            }
        },
        _ => {
            form.error(name, DATE_FORMAT_MESSAGE);
            None
        }
    }
}

/// Parses a date as Django's `parse_date` does for the common forms: `YYYY-MM-DD`,
/// `YYYYMMDD`, and one- or two-digit month and day (`2026-1-5`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    if text.len() == 8 && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return NaiveDate::parse_from_str(text, "%Y%m%d").ok();
    }
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |part: &str, min: usize, max: usize| (min..=max).contains(&part.len()) && part.bytes().all(|byte| byte.is_ascii_digit());
    if parts.next().is_some() || !digits(year, 4, 4) || !digits(month, 1, 2) || !digits(day, 1, 2) {
        return None;
    }
    // Python dates start at year 1.
    let year: i32 = year.parse().ok().filter(|year| *year >= 1)?;
    NaiveDate::from_ymd_opt(year, month.parse().ok()?, day.parse().ok()?)
}

/// Reads a non-negative integer field (a `PositiveIntegerField` of the reference): required
/// and not null, or optional and nullable. Outer `None`: absent or invalid; inner `None`: null.
pub fn count(form: &mut Form<'_>, data: &Map<String, Value>, name: &str, mode: Mode, required: bool, form_body: bool) -> Nullable<i64> {
    let Some(value) = data.get(name) else {
        if required && mode == Mode::Full {
            form.error(name, "This field is required.");
        }
        return None;
    };
    let parsed = match value {
        Value::Null => None,
        Value::String(text) if text.is_empty() && form_body && !required => None,
        other => match parse_integer(other) {
            Ok(number) => Some(number),
            Err(message) => {
                form.error(name, message);
                return None;
            }
        },
    };
    let Some(number) = parsed else {
        if required {
            form.error(name, "This field may not be null.");
            return None;
        }
        return Some(None);
    };
    if number < 0 {
        form.error(name, "Ensure this value is greater than or equal to 0.");
        return None;
    }
    if number > MAX_POSITIVE_INTEGER {
        form.error(name, format!("Ensure this value is less than or equal to {MAX_POSITIVE_INTEGER}."));
        return None;
    }
    Some(Some(number))
}

/// Parses an integer as DRF's `IntegerField` does: `int(str(value))` after dropping a
/// trailing `.0`, so `5`, `"5"`, `5.0` and `" 5 "` are 5, while `5.5`, `true` and `"five"` are
/// invalid. Values beyond the 64-bit range saturate, so the range check rejects them.
fn parse_integer(value: &Value) -> Result<i64, String> {
    let text = match value {
        Value::Number(number) => {
            if let Some(integer) = number.as_i64() {
                return Ok(integer);
            }
            if number.as_u64().is_some() {
                return Ok(i64::MAX);
            }
            match number.as_f64() {
                Some(float) if float.fract() == 0.0 && float.is_finite() => return Ok(float.clamp(i64::MIN as f64, i64::MAX as f64) as i64),
                _ => return Err(INVALID_INTEGER.to_string()),
            }
        }
        Value::String(text) => text.as_str(),
        _ => return Err(INVALID_INTEGER.to_string()),
    };
    let trimmed = text.trim();
    let without_fraction = match trimmed.find('.') {
        Some(dot) if trimmed[dot + 1..].bytes().all(|byte| byte == b'0') => &trimmed[..dot],
        _ => trimmed,
    };
    let (negative, digits) = match without_fraction.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, without_fraction.strip_prefix('+').unwrap_or(without_fraction)),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.bytes().all(|byte| byte.is_ascii_digit() || byte == b'_');
    if !well_formed {
        return Err(INVALID_INTEGER.to_string());
    }
    let magnitude = digits.replace('_', "").parse::<i64>().unwrap_or(i64::MAX);
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_in_django_forms() {
        assert_eq!(parse_date("2026-09-01"), NaiveDate::from_ymd_opt(2026, 9, 1));
        assert_eq!(parse_date("2026-9-1"), NaiveDate::from_ymd_opt(2026, 9, 1));
        assert_eq!(parse_date("20260901"), NaiveDate::from_ymd_opt(2026, 9, 1));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("0000-01-01"), None);
        assert_eq!(parse_date("2026-09-01T00:00"), None);
        assert_eq!(parse_date("01/09/2026"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn integers_as_drf_reads_them() {
        assert_eq!(parse_integer(&json!(5)), Ok(5));
        assert_eq!(parse_integer(&json!("5")), Ok(5));
        assert_eq!(parse_integer(&json!(" 7 ")), Ok(7));
        assert_eq!(parse_integer(&json!(5.0)), Ok(5));
        assert_eq!(parse_integer(&json!("5.00")), Ok(5));
        assert_eq!(parse_integer(&json!("1_000")), Ok(1000));
        assert_eq!(parse_integer(&json!("-3")), Ok(-3));
        assert!(parse_integer(&json!(5.5)).is_err());
        assert!(parse_integer(&json!(true)).is_err());
        assert!(parse_integer(&json!("five")).is_err());
        assert!(parse_integer(&json!("")).is_err());
        assert!(parse_integer(&json!([1])).is_err());
    }

    #[test]
    fn count_fields_check_range_and_null() {
        let data = json!({"a": -1, "b": 3_000_000_000i64, "c": null, "d": null, "e": "x"});
        let map = data.as_object().unwrap();
        let mut form = Form::new(map, Mode::Full);
        assert_eq!(count(&mut form, map, "a", Mode::Full, true, false), None);
        assert_eq!(count(&mut form, map, "b", Mode::Full, false, false), None);
        assert_eq!(count(&mut form, map, "c", Mode::Full, true, false), None);
        assert_eq!(count(&mut form, map, "d", Mode::Full, false, false), Some(None));
        assert_eq!(count(&mut form, map, "e", Mode::Full, false, false), None);
        assert_eq!(count(&mut form, map, "missing", Mode::Full, true, false), None);
        let Err(crate::error::ApiError::Validation(errors)) = form.finish() else { panic!("expected errors") };
        assert_eq!(
            Value::Object(errors),
            json!({
                "a": ["Ensure this value is greater than or equal to 0."],
                "b": ["Ensure this value is less than or equal to 2147483647."],
                "c": ["This field may not be null."],
                "e": ["A valid integer is required."],
                "missing": ["This field is required."],
            })
        );
    }
}
