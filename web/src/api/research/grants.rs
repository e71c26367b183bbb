//! `/research/grants/` and `/research/grants/{id}/`.
//!
//! Amounts are exact: a JSON number is read from its text in the body, never through a
//! floating-point value, checked with the reference's decimal rules (at most 14 digits, 2 of
//! them after the point) and stored in cents.

use std::collections::HashMap;
use std::sync::LazyLock;

use futures::future::BoxFuture;
use keystone_storage::audit::ContentType;
use keystone_storage::records::Team;
use keystone_storage::research::{Grant, GrantFields, GRANTS};
use regex::Regex;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use warp::http::{Method, StatusCode};

use super::{check_record_access, is_form_body, read_date};
use crate::api::fields::{does_not_exist, Form, Mode, TextRules};
use crate::api::listing::{compile, envelope, in_page_order, is_visible, page_ids, Scope};
use crate::api::loaders::history_of;
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{cents_to_decimal, format_date, history_json, team_summary};
use crate::router::Context;

const MODEL: &str = "Grant";

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        match context.request.method {
            Method::POST => create(context).await,
            _ => list_grants(context).await,
        }
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let grant = find(context).await?;
        check_record_access(context, grant.team_id).await?;
        match context.request.method {
            Method::GET | Method::HEAD => render(context, grant, StatusCode::OK).await,
            Method::PUT => update(context, grant, Mode::Full).await,
            Method::PATCH => update(context, grant, Mode::Partial).await,
            Method::DELETE => destroy(context, grant).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

/// Non-staff see the grants of teams they belong to.
fn list_scope(context: &Context<'_>) -> Result<Option<Scope<'static>>, ApiError> {
    if context.is_staff() {
        return Ok(None);
    }
    let caller = context.user()?.id;
    Ok(Some(Box::new(move |params| {
        format!("EXISTS (SELECT 1 FROM users_membership sm WHERE sm.team_id = g.team_id AND sm.user_id = {})", params.bind(caller))
    })))
}

async fn list_grants(context: &Context<'_>) -> Result<Reply, ApiError> {
    let query = compile(context, &GRANTS, list_scope(context)?).await?;
    let (count, ids) = page_ids(context, &GRANTS, &query).await?;
    let grants = in_page_order(&ids, context.state.db.grants_by_ids(&ids).await?, |grant| grant.id);
    let results = grants_json(context, &grants).await?;
    Ok(envelope(context, query.pagination, count, results))
}

/// Looks up the detail route's grant within the query filters. Every grant is in scope here:
/// a grant of another team is 403, not 404.
async fn find(context: &Context<'_>) -> Result<Grant, ApiError> {
    let id = context.record_id()?;
    if !is_visible(context, &GRANTS, None, id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.grant_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let fields = read_fields(context, body.object()?, Mode::Full, None).await?;
    let grant = context.state.db.create_grant(&fields, &context.audit()).await?;
    tracing::info!(grant_id = grant.id, team_id = grant.team_id, cid = %context.request.cid, "created a grant");
    render(context, grant, StatusCode::CREATED).await
}

async fn update(context: &Context<'_>, current: Grant, mode: Mode) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let fields = read_fields(context, body.object()?, mode, Some(&current)).await?;
    let grant = context.state.db.update_grant(&current, &fields, &context.audit()).await?;
    render(context, grant, StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, grant: Grant) -> Result<Reply, ApiError> {
    context.state.db.delete_grant(&grant, &context.audit()).await?;
    tracing::info!(grant_id = grant.id, cid = %context.request.cid, "deleted a grant");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// Validates the body in serializer field order and merges it into `current` (for updates).
/// Optional fields that a full update omits keep their stored values.
async fn read_fields(
    context: &Context<'_>,
    data: &Map<String, Value>,
    mode: Mode,
    current: Option<&Grant>,
) -> Result<GrantFields, ApiError> {
    let is_form = is_form_body(context);
    let mut form = Form::new(data, mode);
    let title = form.required_text("title", TextRules::required(250));
    let agency = form.required_text("agency", TextRules::required(100));
    let pi = form.text("pi", TextRules::optional(100));
    let amount = read_amount(context, &mut form, data, mode);
    let grant_number = form.text("grant_number", TextRules::optional(250));
    let start_date = read_date(&mut form, data, "start_date", mode, true, false, is_form).flatten();
    let end_date = read_date(&mut form, data, "end_date", mode, false, true, is_form);
    let description = form.text("description", TextRules { max_length: None, ..TextRules::optional(0) });
    let team = form.primary_key("team", true);
    if let Some(team_id) = team {
        if context.state.db.team_by_id(team_id).await?.is_none() {
            form.error("team", does_not_exist(team_id));
        }
    }
    form.finish()?;

    let merged = match current {
        Some(grant) => {
            let stored = GrantFields::of(grant);
            GrantFields {
                title: title.unwrap_or(stored.title),
                agency: agency.unwrap_or(stored.agency),
                pi: pi.unwrap_or(stored.pi),
                amount_cents: amount.unwrap_or(stored.amount_cents),
                grant_number: grant_number.unwrap_or(stored.grant_number),
                start_date: start_date.unwrap_or(stored.start_date),
                end_date: end_date.unwrap_or(stored.end_date),
                description: description.unwrap_or(stored.description),
                team_id: team.unwrap_or(stored.team_id),
            }
        }
        None => {
            let (Some(title), Some(agency), Some(amount_cents), Some(start_date), Some(team_id)) =
                (title, agency, amount, start_date, team)
            else {
                return Err(ApiError::Internal("validated grant input is incomplete".to_string()));
            };
            GrantFields {
                title,
                agency,
                pi: pi.flatten(),
                amount_cents,
                grant_number: grant_number.flatten(),
                start_date,
                end_date: end_date.flatten(),
                description: description.flatten(),
                team_id,
            }
        }
    };
    Ok(merged)
}

/// Reads `amount` in cents. A JSON number is taken from its text in the request body.
fn read_amount(context: &Context<'_>, form: &mut Form<'_>, data: &Map<String, Value>, mode: Mode) -> Option<i64> {
    let Some(value) = data.get("amount") else {
        if mode == Mode::Full {
            form.error("amount", "This field is required.");
        }
        return None;
    };
    let parsed = match value {
        Value::Null => Err(AmountError::Null),
        Value::String(text) => parse_amount(text),
        Value::Number(number) => match raw_json_member(&context.request.body, "amount") {
            Some(text) => parse_amount(&drop_trailing_fraction_zeros(&text)),
            None => parse_amount(&number.to_string()),
        },
        _ => Err(AmountError::Invalid),
    };
    match parsed {
        Ok(cents) => Some(cents),
        Err(error) => {
            form.error("amount", error.message());
            None
        }
    }
}

/// Returns the text of a top-level member of a JSON object body, exactly as sent, or `None`
/// when the body is not a JSON object or lacks the member. Like the parsed body, the last of repeated
/// keys counts.
fn raw_json_member(body: &[u8], key: &str) -> Option<String> {
    let members: HashMap<String, Box<RawValue>> = serde_json::from_slice(body).ok()?;
    members.get(key).map(|raw| raw.get().to_string())
}

/// Removes trailing zeros after the decimal point of a JSON number's text (`1.500e3` becomes
/// `1.5e3`). The reference reads JSON numbers as floats, which keep no trailing zeros, so a
/// number such as `1.000` passes its two-place rule.
fn drop_trailing_fraction_zeros(text: &str) -> String {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(position) => text.split_at(position),
        None => (text, ""),
    };
    let mantissa = if mantissa.contains('.') { mantissa.trim_end_matches('0') } else { mantissa };
    format!("{mantissa}{exponent}")
}

/// The reason an amount was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AmountError {
    Null,
    Invalid,
    TooLong,
    TooManyDigits,
    TooManyDecimalPlaces,
    TooManyWholeDigits,
}

impl AmountError {
    /// Returns the reference's message (DRF 3.17 `DecimalField`).
    fn message(self) -> &'static str {
        match self {
            AmountError::Null => "This field may not be null.",
            AmountError::Invalid => "A valid number is required.",
            AmountError::TooLong => "String value too large.",
            AmountError::TooManyDigits => "Ensure that there are no more than 14 digits in total.",
            AmountError::TooManyDecimalPlaces => "Ensure that there are no more than 2 decimal places.",
            AmountError::TooManyWholeDigits => "Ensure that there are no more than 12 digits before the decimal point.",
        }
    }
}

const MAX_DIGITS: i128 = 14;
const DECIMAL_PLACES: i128 = 2;
const MAX_STRING_LENGTH: usize = 1000;

/// Python's `Decimal` syntax without infinities and NaN: sign, digits with an optional point,
/// and an optional exponent; single underscores may separate digits.
static DECIMAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([+-])?([0-9](?:_?[0-9])*)?(?:\.([0-9](?:_?[0-9])*)?)?(?:[eE]([+-]?[0-9](?:_?[0-9])*))?$").expect("valid decimal pattern")
});

/// Parses a decimal amount into cents with the reference's rules: surrounding whitespace is
/// ignored, and the digits are counted as Python's `Decimal.as_tuple` counts them, so `1.000`
/// has three decimal places and `0e20` has 21 digits.
fn parse_amount(text: &str) -> Result<i64, AmountError> {
    let text = text.trim();
    if text.chars().count() > MAX_STRING_LENGTH {
        return Err(AmountError::TooLong);
    }
    let captures = DECIMAL.captures(text).ok_or(AmountError::Invalid)?;
    let digits_of = |index: usize| captures.get(index).map(|found| found.as_str().replace('_', "")).unwrap_or_default();
    let (integer_digits, fraction_digits) = (digits_of(2), digits_of(3));
    if integer_digits.is_empty() && fraction_digits.is_empty() {
        return Err(AmountError::Invalid);
    }
    let written_exponent: i128 = match captures.get(4) {
        Some(found) => {
            let exponent = found.as_str().replace('_', "");
            // An exponent too long for i128 is far outside any limit; keep its sign.
            exponent.parse().unwrap_or(if exponent.starts_with('-') { -(10_i128.pow(30)) } else { 10_i128.pow(30) })
        }
        None => 0,
    };
    let negative = captures.get(1).is_some_and(|sign| sign.as_str() == "-");

    let all_digits = format!("{integer_digits}{fraction_digits}");
    let coefficient = match all_digits.trim_start_matches('0') {
        "" => "0",
        significant => significant,
    };
    let length = coefficient.len() as i128;
    let exponent = written_exponent - fraction_digits.len() as i128;
    let (total, whole, places) = if exponent >= 0 {
        (length + exponent, length + exponent, 0)
    } else if length > -exponent {
        (length, length + exponent, -exponent)
    } else {
        (-exponent, 0, -exponent)
    };
    if total > MAX_DIGITS {
        return Err(AmountError::TooManyDigits);
    }
    if places > DECIMAL_PLACES {
        return Err(AmountError::TooManyDecimalPlaces);
    }
    if whole > MAX_DIGITS - DECIMAL_PLACES {
        return Err(AmountError::TooManyWholeDigits);
    }

    // At most 14 digits, scaled to cents: below 10^14, so the arithmetic cannot overflow.
    let scale = u32::try_from(exponent + DECIMAL_PLACES).map_err(|_| AmountError::Invalid)?;
    let magnitude: i64 = coefficient.parse::<i64>().map_err(|_| AmountError::Invalid)? * 10_i64.pow(scale);
    Ok(if negative { -magnitude } else { magnitude })
}

async fn render(context: &Context<'_>, grant: Grant, status: StatusCode) -> Result<Reply, ApiError> {
    let mut results = grants_json(context, &[grant]).await?;
    Ok(Reply::json(status, &results.pop().unwrap_or(Value::Null)))
}

/// Grant representations for a page: teams, history and history actors are fetched once for
/// all grants (three queries).
async fn grants_json(context: &Context<'_>, grants: &[Grant]) -> Result<Vec<Value>, ApiError> {
    let db = &context.state.db;
    let ids: Vec<i64> = grants.iter().map(|grant| grant.id).collect();
    let mut team_ids: Vec<i64> = grants.iter().map(|grant| grant.team_id).collect();
    team_ids.sort_unstable();
    team_ids.dedup();
    let teams: HashMap<i64, Team> = db.teams_by_ids(&team_ids).await?.into_iter().map(|team| (team.id, team)).collect();
    let (history, actors) = history_of(db, ContentType::Grant, &ids).await?;
    Ok(grants
        .iter()
        .map(|grant| {
            let team = teams.get(&grant.team_id).map(|team| team_summary(team.id, &team.slug, &team.name, team.is_active));
            let mut object = Map::new();
            object.insert("id".into(), json!(grant.id));
            object.insert("_team".into(), team.unwrap_or(Value::Null));
            object.insert("_history".into(), history_json(history.get(&grant.id).map(Vec::as_slice).unwrap_or(&[]), &actors));
            object.insert("title".into(), json!(grant.title));
            object.insert("agency".into(), json!(grant.agency));
            object.insert("pi".into(), json!(grant.pi));
            object.insert("amount".into(), json!(cents_to_decimal(grant.amount_cents)));
            object.insert("grant_number".into(), json!(grant.grant_number));
            object.insert("start_date".into(), json!(format_date(&grant.start_date)));
            object.insert("end_date".into(), json!(grant.end_date.as_ref().map(format_date)));
            object.insert("description".into(), json!(grant.description));
            object.insert("team".into(), json!(grant.team_id));
            Value::Object(object)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_exactly() {
        assert_eq!(parse_amount("0.10"), Ok(10));
        assert_eq!(parse_amount("999999999999.99"), Ok(99_999_999_999_999));
        assert_eq!(parse_amount("-999999999999.99"), Ok(-99_999_999_999_999));
        assert_eq!(parse_amount("1e3"), Ok(100_000));
        assert_eq!(parse_amount("1.5E-1"), Ok(15));
        assert_eq!(parse_amount(" 12 "), Ok(1200));
        assert_eq!(parse_amount("1_000.5"), Ok(100_050));
        assert_eq!(parse_amount(".5"), Ok(50));
        assert_eq!(parse_amount("5."), Ok(500));
        assert_eq!(parse_amount("+0.00"), Ok(0));
        assert_eq!(parse_amount("0001.25"), Ok(125));
    }

    #[test]
    fn amounts_follow_the_reference_digit_rules() {
        assert_eq!(parse_amount("1.005"), Err(AmountError::TooManyDecimalPlaces));
        assert_eq!(parse_amount("1.000"), Err(AmountError::TooManyDecimalPlaces));
        assert_eq!(parse_amount("0.001"), Err(AmountError::TooManyDecimalPlaces));
        assert_eq!(parse_amount("1234567890123.4"), Err(AmountError::TooManyWholeDigits));
        assert_eq!(parse_amount("9999999999999"), Err(AmountError::TooManyWholeDigits));
        assert_eq!(parse_amount("123456789012.345"), Err(AmountError::TooManyDigits));
        assert_eq!(parse_amount("1e13"), Err(AmountError::TooManyWholeDigits));
        assert_eq!(parse_amount("1e14"), Err(AmountError::TooManyDigits));
        assert_eq!(parse_amount("0e20"), Err(AmountError::TooManyDigits));
        assert_eq!(parse_amount("1e999999999999999999999999999999999999999999"), Err(AmountError::TooManyDigits));
        assert_eq!(parse_amount("1e-999999999999999999999999999999999999999999"), Err(AmountError::TooManyDigits));
    }

    #[test]
    fn amounts_reject_non_numbers() {
        for text in ["", "abc", "1,5", "NaN", "Infinity", "inf", "1__0", "_1", "1.2.3", "e5", ".", "0x10", "1e"] {
            assert_eq!(parse_amount(text), Err(AmountError::Invalid), "{text:?}");
        }
        assert_eq!(parse_amount(&"1".repeat(1001)), Err(AmountError::TooLong));
    }

    #[test]
    fn raw_numbers_keep_their_text() {
        let body = br#"{"amount": 999999999999.99, "title": "x", "amount": 1e3}"#;
        assert_eq!(raw_json_member(body, "amount").as_deref(), Some("1e3"));
        assert_eq!(raw_json_member(br#"[1]"#, "amount"), None);
        assert_eq!(drop_trailing_fraction_zeros("1.500e3"), "1.5e3");
        assert_eq!(drop_trailing_fraction_zeros("1.000"), "1.");
        assert_eq!(drop_trailing_fraction_zeros("100"), "100");
        assert_eq!(parse_amount(&drop_trailing_fraction_zeros("1.000")), Ok(100));
    }
}
