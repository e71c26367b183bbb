//! The research area: grants and publications.
//!
//! Both follow one access rule: staff, or a member (any role) of the record's team. Non-staff
//! lists hold the records of the caller's teams. A body that names an existing team requires
//! membership in that team too, checked before the method and the record are looked at, so a
//! non-member gets 403 even where the method would be 405 or the record 404.

pub mod grants;
pub mod publications;

use std::sync::LazyLock;

use chrono::NaiveDate;
use futures::future::BoxFuture;
use regex::Regex;
use serde_json::{Map, Value};

use crate::api::fields::{Form, Mode, Nullable};
use crate::api::{DETAIL, LIST};
use crate::error::ApiError;
use crate::router::{Access, Context, Route};

/// Routes of the research area.
pub static ROUTES: &[Route] = &[
    Route {
        path: "/research/grants/",
        name: "Grant List",
        description: "List the grants of the caller's teams (all grants for staff), or record a grant for a team.",
        methods: LIST,
        access: Access::Authenticated,
        permission: team_permission,
        handler: grants::list,
    },
    Route {
        path: "/research/grants/{id}/",
        name: "Grant Instance",
        description: "Read, update or delete a grant. Team members and staff only.",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: team_permission,
        handler: grants::detail,
    },
    Route {
        path: "/research/publications/",
        name: "Publication List",
        description: "List the publications of the caller's teams (all publications for staff), or record a publication for a team.",
        methods: LIST,
        access: Access::Authenticated,
        permission: team_permission,
        handler: publications::list,
    },
    Route {
        path: "/research/publications/{id}/",
        name: "Publication Instance",
        description: "Read, update or delete a publication. Team members and staff only.",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: team_permission,
        handler: publications::detail,
    },
];

/// View-level rule of every research route: when a non-staff body names an existing team,
/// the caller must be a member of it, whatever the method.
///
/// A body that cannot be read, is not a JSON object, or names no valid team id passes here.
/// The handler then returns 400 with the field errors. (The reference answers 500 for a
/// non-object body or a non-integer `team`.)
pub fn team_permission<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        if context.is_staff() || context.request.body.is_empty() {
            return Ok(());
        }
        let Ok(body) = context.request.parse_body().await else {
            return Ok(());
        };
        let Some(team_id) = body.data.get("team").and_then(primary_key_of) else {
            return Ok(());
        };
        let db = &context.state.db;
        if db.team_by_id(team_id).await?.is_none() {
            return Ok(());
        }
        if is_member(context, team_id).await? {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied)
        }
    })
}

/// Checks whether the caller has any role in the team.
async fn is_member(context: &Context<'_>, team_id: i64) -> Result<bool, ApiError> {
    Ok(context.state.db.role_in_team(context.user()?.id, team_id).await?.is_some())
}

/// Object-level rule: staff, or a member of the record's team.
async fn check_record_access(context: &Context<'_>, team_id: i64) -> Result<(), ApiError> {
    if context.is_staff() || is_member(context, team_id).await? {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

/// Reads a primary key as the reference accepts it in a body: an integer, an integral float, or a
/// string holding an integer. Booleans are not keys.
fn primary_key_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(id), _) => Some(id),
            (None, Some(float)) if float.fract() == 0.0 && float.abs() < 9.0e15 => Some(float as i64),
            _ => None,
        },
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

const DATE_FORMAT_MESSAGE: &str = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.";

/// `YYYY-MM-DD`, where the month and day may have one digit, as Django's `parse_date` reads
/// dates.
static DATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$").expect("valid date pattern"));

/// Reads a date field. Outer `None`: absent or invalid; inner `None`: null. In a form or
/// multipart body an empty value of a nullable field means null, as HTML forms cannot send a
/// null.
fn read_date(
    form: &mut Form<'_>,
    data: &Map<String, Value>,
    name: &str,
    mode: Mode,
    required: bool,
    nullable: bool,
    is_form: bool,
) -> Nullable<NaiveDate> {
    let Some(value) = data.get(name) else {
        if required && mode == Mode::Full {
            form.error(name, "This field is required.");
        }
        return None;
    };
    let text = match value {
        Value::Null => {
            if nullable {
                return Some(None);
            }
            form.error(name, "This field may not be null.");
            return None;
        }
        Value::String(text) => text,
        _ => {
            form.error(name, DATE_FORMAT_MESSAGE);
            return None;
        }
    };
    if text.is_empty() && is_form && nullable {
        return Some(None);
    }
    match parse_date(text) {
        Some(date) => Some(Some(date)),
        None => {
            form.error(name, DATE_FORMAT_MESSAGE);
            None
        }
    }
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let captures = DATE.captures(text)?;
    let number = |index: usize| captures.get(index).and_then(|found| found.as_str().parse::<u32>().ok());
    // Python dates start at year 1.
    let year = number(1).filter(|year| *year >= 1)?;
    NaiveDate::from_ymd_opt(year as i32, number(2)?, number(3)?)
}

/// Checks whether the body is a form or multipart body, whose values are all strings.
fn is_form_body(context: &Context<'_>) -> bool {
    matches!(context.request.media_type().as_deref(), Some("application/x-www-form-urlencoded" | "multipart/form-data"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_follow_django() {
        assert_eq!(parse_date("2025-01-31"), NaiveDate::from_ymd_opt(2025, 1, 31));
        assert_eq!(parse_date("2025-1-5"), NaiveDate::from_ymd_opt(2025, 1, 5));
        assert_eq!(parse_date("2025-02-30"), None);
        assert_eq!(parse_date("0000-01-01"), None);
        assert_eq!(parse_date("2025-01-01T00:00"), None);
        assert_eq!(parse_date(" 2025-01-01"), None);
        assert_eq!(parse_date("25-01-01"), None);
    }

    #[test]
    fn read_date_reports_reference_messages() {
        let data = json!({"a": "bad", "b": 20250101, "c": null, "d": "", "e": null});
        let map = data.as_object().unwrap();
        let mut form = Form::new(map, Mode::Full);
        assert_eq!(read_date(&mut form, map, "a", Mode::Full, true, false, false), None);
        assert_eq!(read_date(&mut form, map, "b", Mode::Full, true, false, false), None);
        assert_eq!(read_date(&mut form, map, "c", Mode::Full, false, true, false), Some(None));
        assert_eq!(read_date(&mut form, map, "d", Mode::Full, false, true, true), Some(None));
        assert_eq!(read_date(&mut form, map, "e", Mode::Full, true, false, false), None);
        assert_eq!(read_date(&mut form, map, "missing", Mode::Full, true, false, false), None);
        assert_eq!(read_date(&mut form, map, "missing", Mode::Partial, true, false, false), None);
        let Err(ApiError::Validation(errors)) = form.finish() else { panic!("expected errors") };
        assert_eq!(
            Value::Object(errors),
            json!({
                "a": [DATE_FORMAT_MESSAGE],
                "b": [DATE_FORMAT_MESSAGE],
                "e": ["This field may not be null."],
                "missing": ["This field is required."],
            })
        );
    }

    #[test]
    fn primary_keys_in_bodies() {
        assert_eq!(primary_key_of(&json!(4)), Some(4));
        assert_eq!(primary_key_of(&json!(4.0)), Some(4));
        assert_eq!(primary_key_of(&json!(" 7 ")), Some(7));
        assert_eq!(primary_key_of(&json!(4.5)), None);
        assert_eq!(primary_key_of(&json!("abc")), None);
        assert_eq!(primary_key_of(&json!(true)), None);
        assert_eq!(primary_key_of(&json!([1])), None);
    }
}
