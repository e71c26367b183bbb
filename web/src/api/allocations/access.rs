//! Team-role checks shared by the allocation handlers.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::router::Context;

/// Looks up the caller's role in a team (`OW`, `AD` or `MB`). Returns `None` when the caller
/// is not a member or there is no such team.
pub async fn role_in_team(context: &Context<'_>, team_id: i64) -> Result<Option<String>, ApiError> {
    Ok(context.state.db.role_in_team(context.user()?.id, team_id).await?)
}

/// Checks whether the caller has any role in the team.
pub async fn is_member(context: &Context<'_>, team_id: i64) -> Result<bool, ApiError> {
    Ok(role_in_team(context, team_id).await?.is_some())
}

/// Checks whether the caller owns or administers the team.
pub async fn is_manager(context: &Context<'_>, team_id: i64) -> Result<bool, ApiError> {
    Ok(matches!(role_in_team(context, team_id).await?.as_deref(), Some("OW" | "AD")))
}

/// Staff may read anything; others only records of teams they belong to.
pub async fn may_read(context: &Context<'_>, team_id: i64) -> Result<bool, ApiError> {
    Ok(context.is_staff() || is_member(context, team_id).await?)
}

/// Parses the request body for view-level permission checks. Returns `None` when the body
/// cannot be parsed or is not an object, because those checks deny such a body instead of
/// reporting a parse error.
pub async fn body_for_permission(context: &Context<'_>) -> Option<Map<String, Value>> {
    match context.request.parse_body().await.ok()?.data {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Reads an integer id from a body field: a JSON integer or a string of digits.
pub fn id_in(body: &Map<String, Value>, field: &str) -> Option<i64> {
    match body.get(field)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}
