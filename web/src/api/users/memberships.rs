//! `/users/memberships/`, `/users/memberships/{id}/` and `/users/membership-choices/role/`.
//!
//! Non-staff see memberships of active users in active teams. Team owners and admins manage
//! their team's memberships; any member may leave a team by deleting their own membership.

use std::collections::HashMap;

use futures::future::BoxFuture;
use keystone_storage::audit::ContentType;
use keystone_storage::records::{Membership, User};
use keystone_storage::resources::{MEMBERSHIPS, ROLE_CODES};
use keystone_storage::teams::{MembershipDetail, ROLES};
use keystone_storage::StorageError;
use serde_json::{json, Map, Value};
use warp::http::{Method, StatusCode};

use crate::api::fields::{does_not_exist, Form, Mode};
use crate::api::listing::{compile, envelope, in_page_order, is_visible, page_ids, Scope};
use crate::api::loaders::history_of;
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{history_json, user_summary};
use crate::router::Context;

const MODEL: &str = "Membership";
const UNIQUE_MESSAGE: &str = "The fields user, team must make a unique set.";

/// View-level rule: a non-staff body that names an existing team requires the caller to own
/// or administer that team, whatever the method.
pub fn permission<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        if context.is_staff() || context.request.body.is_empty() {
            return Ok(());
        }
        let Ok(body) = context.request.parse_body().await else {
            // Parse errors are reported by the handler, with the right status.
            return Ok(());
        };
        let Some(team_id) = body.data.get("team").and_then(team_id_of) else {
            return Ok(());
        };
        if context.state.db.team_by_id(team_id).await?.is_none() {
            return Ok(());
        }
        let role = context.state.db.role_in_team(context.user()?.id, team_id).await?;
        if matches!(role.as_deref(), Some("OW" | "AD")) {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied)
        }
    })
}

/// Reads the body's team id exactly as the field validation will, so a value the write would
/// accept (`5`, `5.0`, `"5"`) is also the one checked here.
fn team_id_of(value: &Value) -> Option<i64> {
    crate::api::fields::pk_value(value).ok()
}

pub fn role_choices<'a>(_context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let mut body = Map::new();
        for (code, label) in ROLES {
            body.insert(code.to_string(), json!(label));
        }
        Ok(Reply::json(StatusCode::OK, &Value::Object(body)))
    })
}

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        match context.request.method {
            Method::POST => create(context).await,
            _ => list_memberships(context).await,
        }
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let membership = find(context).await?;
        match context.request.method {
            Method::GET | Method::HEAD => render(context, membership.id, StatusCode::OK).await,
            Method::PUT => update(context, membership, Mode::Full).await,
            Method::PATCH => update(context, membership, Mode::Partial).await,
            Method::DELETE => destroy(context, membership).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

fn scope(context: &Context<'_>) -> Option<Scope<'static>> {
    if context.is_staff() {
        None
    } else {
        Some(Box::new(|_| {
            "EXISTS (SELECT 1 FROM users_team st WHERE st.id = m.team_id AND st.is_active) \
             AND EXISTS (SELECT 1 FROM users_user su WHERE su.id = m.user_id AND su.is_active)"
                .to_string()
        }))
    }
}

async fn list_memberships(context: &Context<'_>) -> Result<Reply, ApiError> {
    let query = compile(context, &MEMBERSHIPS, scope(context)).await?;
    let (count, ids) = page_ids(context, &MEMBERSHIPS, &query).await?;
    let rows = in_page_order(&ids, context.state.db.memberships_by_ids(&ids).await?, |row| row.id);
    let results = memberships_json(context, &rows).await?;
    Ok(envelope(context, query.pagination, count, results))
}

async fn find(context: &Context<'_>) -> Result<MembershipDetail, ApiError> {
    let id = context.record_id()?;
    if !is_visible(context, &MEMBERSHIPS, scope(context), id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.membership_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

async fn is_team_manager(context: &Context<'_>, team_id: i64) -> Result<bool, ApiError> {
    let role = context.state.db.role_in_team(context.user()?.id, team_id).await?;
    Ok(matches!(role.as_deref(), Some("OW" | "AD")))
}

/// Validated membership fields.
struct Input {
    role: Option<String>,
    user: Option<i64>,
    team: Option<i64>,
}

async fn read_input(context: &Context<'_>, data: &Map<String, Value>, mode: Mode) -> Result<Input, ApiError> {
    let db = &context.state.db;
    let mut form = Form::new(data, mode);
    let role = form.choice("role", ROLE_CODES, true);
    let user = form.primary_key("user", true);
    if let Some(user_id) = user {
        if db.user_by_id(user_id).await?.is_none() {
            form.error("user", does_not_exist(user_id));
        }
    }
    let team = form.primary_key("team", true);
    if let Some(team_id) = team {
        match db.team_by_id(team_id).await? {
            None => form.error("team", does_not_exist(team_id)),
            Some(team) if !team.is_active && !context.is_staff() => {
                form.error("team", "Non-staff cannot create a membership for an inactive team.")
            }
            Some(_) => {}
        }
    }
    form.finish()?;
    Ok(Input { role, user, team })
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, Mode::Full).await?;
    let (Some(role), Some(user), Some(team)) = (input.role, input.user, input.team) else {
        return Err(ApiError::Internal("validated membership input is incomplete".to_string()));
    };
    let membership = context.state.db.create_membership(user, team, &role, &context.audit()).await.map_err(unique_conflict)?;
    tracing::info!(membership_id = membership.id, cid = %context.request.cid, "created a membership");
    render(context, membership.id, StatusCode::CREATED).await
}

async fn update(context: &Context<'_>, current: MembershipDetail, mode: Mode) -> Result<Reply, ApiError> {
    if !context.is_staff() && !is_team_manager(context, current.team_id).await? {
        return Err(ApiError::PermissionDenied);
    }
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, mode).await?;
    let record = Membership { id: current.id, role: current.role.clone(), user_id: current.user_id, team_id: current.team_id };
    let role = input.role.unwrap_or(current.role);
    let user = input.user.unwrap_or(current.user_id);
    let team = input.team.unwrap_or(current.team_id);
    context.state.db.update_membership(&record, &role, user, team, &context.audit()).await.map_err(unique_conflict)?;
    render(context, current.id, StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, membership: MembershipDetail) -> Result<Reply, ApiError> {
    let own = context.user()?.id == membership.user_id;
    if !context.is_staff() && !own && !is_team_manager(context, membership.team_id).await? {
        return Err(ApiError::PermissionDenied);
    }
    context.state.db.delete_membership(membership.id, &context.audit()).await?;
    tracing::info!(membership_id = membership.id, cid = %context.request.cid, "deleted a membership");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

async fn render(context: &Context<'_>, id: i64, status: StatusCode) -> Result<Reply, ApiError> {
    let rows = context.state.db.memberships_by_ids(&[id]).await?;
    let mut results = memberships_json(context, &rows).await?;
    let body = results.pop().ok_or(ApiError::NotFound(MODEL))?;
    Ok(Reply::json(status, &body))
}

/// Membership representations for a page (three queries: users, history, actors).
async fn memberships_json(context: &Context<'_>, rows: &[MembershipDetail]) -> Result<Vec<Value>, ApiError> {
    let db = &context.state.db;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut user_ids: Vec<i64> = rows.iter().map(|row| row.user_id).collect();
    user_ids.sort_unstable();
    user_ids.dedup();
    let users: HashMap<i64, User> = db.users_by_ids(&user_ids).await?.into_iter().map(|user| (user.id, user)).collect();
    let (history, actors) = history_of(db, ContentType::Membership, &ids).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut object = Map::new();
            object.insert("id".into(), json!(row.id));
            object.insert("_user".into(), users.get(&row.user_id).map(user_summary).unwrap_or(Value::Null));
            object.insert(
                "_team".into(),
                json!({"id": row.team_id, "slug": row.team_slug, "name": row.team_name, "is_active": row.team_is_active}),
            );
            object.insert("_history".into(), history_json(history.get(&row.id).map(Vec::as_slice).unwrap_or(&[]), &actors));
            object.insert("role".into(), json!(row.role));
            object.insert("user".into(), json!(row.user_id));
            object.insert("team".into(), json!(row.team_id));
            Value::Object(object)
        })
        .collect())
}

fn unique_conflict(error: StorageError) -> ApiError {
    match error {
        StorageError::Conflict(_) => ApiError::field("non_field_errors", UNIQUE_MESSAGE),
        other => other.into(),
    }
}
