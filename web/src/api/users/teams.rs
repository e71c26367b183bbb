//! `/users/teams/` and `/users/teams/{id}/`.
//!
//! Anyone signed in may create a team; a non-staff creator becomes its owner. Non-staff see
//! active teams only, and their list holds only teams they belong to. Team owners and admins,
//! and staff, may change or delete a team. A team's name is fixed once created.

use std::collections::HashMap;

use futures::future::BoxFuture;
use keystone_storage::audit::ContentType;
use keystone_storage::records::{Membership, Team, User};
use keystone_storage::resources::TEAMS;
use keystone_storage::teams::slugify;
use keystone_storage::StorageError;
use serde_json::{json, Map, Value};
use warp::http::{Method, StatusCode};

use crate::api::fields::{Form, Mode, TextRules};
use crate::api::listing::{compile, envelope, in_page_order, is_visible, page_ids, Scope};
use crate::api::loaders::history_of;
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{history_json, user_summary};
use crate::router::Context;

const MODEL: &str = "Team";

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        match context.request.method {
            Method::POST => create(context).await,
            _ => list_teams(context).await,
        }
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let team = find(context).await?;
        match context.request.method {
            Method::GET | Method::HEAD => render(context, &[team], StatusCode::OK).await,
            Method::PUT => update(context, team, Mode::Full).await,
            Method::PATCH => update(context, team, Mode::Partial).await,
            Method::DELETE => destroy(context, team).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

async fn list_teams(context: &Context<'_>) -> Result<Reply, ApiError> {
    let scope: Option<Scope<'static>> = if context.is_staff() {
        None
    } else {
        let caller = context.user()?.id;
        Some(Box::new(move |params| {
            format!(
                "t.is_active AND EXISTS (SELECT 1 FROM users_membership mm WHERE mm.team_id = t.id AND mm.user_id = {})",
                params.bind(caller)
            )
        }))
    };
    let query = compile(context, &TEAMS, scope).await?;
    let (count, ids) = page_ids(context, &TEAMS, &query).await?;
    let teams = in_page_order(&ids, context.state.db.teams_by_ids(&ids).await?, |team| team.id);
    let results = teams_json(context, &teams).await?;
    Ok(envelope(context, query.pagination, count, results))
}

async fn find(context: &Context<'_>) -> Result<Team, ApiError> {
    let id = context.record_id()?;
    let scope: Option<Scope<'static>> = if context.is_staff() { None } else { Some(Box::new(|_| "t.is_active".to_string())) };
    if !is_visible(context, &TEAMS, scope, id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.team_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

/// Staff, or an owner or admin of the team.
async fn may_manage(context: &Context<'_>, team: &Team) -> Result<bool, ApiError> {
    if context.is_staff() {
        return Ok(true);
    }
    let role = context.state.db.role_in_team(context.user()?.id, team.id).await?;
    Ok(matches!(role.as_deref(), Some("OW" | "AD")))
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let data = body.object()?;
    let mut form = Form::new(data, Mode::Full);
    let name = form.required_text("name", TextRules::required(255));
    if let Some(name) = &name {
        check_name(context, &mut form, name).await?;
    }
    let is_active = form.boolean("is_active", false);
    if is_active == Some(false) && !context.is_staff() {
        form.error("is_active", "This field cannot be set to False on new records by non-staff users.");
    }
    form.finish()?;
    let name = name.unwrap_or_default();

    let db = &context.state.db;
    let audit = context.audit();
    // Without a membership a non-staff creator could not see or manage the new team.
    let owner = if context.is_staff() { None } else { Some(context.user()?.id) };
    let team = db.create_team(&name, is_active.unwrap_or(true), owner, &audit).await.map_err(name_conflict)?;
    tracing::info!(team_id = team.id, cid = %context.request.cid, "created a team");
    render(context, &[team], StatusCode::CREATED).await
}

async fn check_name(context: &Context<'_>, form: &mut Form<'_>, name: &str) -> Result<(), ApiError> {
    let db = &context.state.db;
    let slug = slugify(name);
    if let Some(existing) = db.team_with_slug(&slug, None).await? {
        if existing.name == name {
            form.error("name", "team with this name already exists.");
        } else {
            form.error("name", "A team with this name already exists.");
        }
    }
    Ok(())
}

async fn update(context: &Context<'_>, team: Team, mode: Mode) -> Result<Reply, ApiError> {
    if !may_manage(context, &team).await? {
        return Err(ApiError::PermissionDenied);
    }
    let body = context.request.parse_body().await?;
    let mut form = Form::new(body.object()?, mode);
    let is_active = form.boolean("is_active", false);
    form.finish()?;
    // A full update without `is_active` restores the field default, as the reference does.
    let is_active = match (is_active, mode) {
        (Some(flag), _) => flag,
        (None, Mode::Full) => true,
        (None, Mode::Partial) => team.is_active,
    };
    let team = context.state.db.update_team(&team, is_active, &context.audit()).await?;
    render(context, &[team], StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, team: Team) -> Result<Reply, ApiError> {
    if !may_manage(context, &team).await? {
        return Err(ApiError::PermissionDenied);
    }
    // The cascade removes the team's attachment rows; their files go once the delete commits.
    let files = context.state.db.attachment_files_of_team(team.id).await?;
    context.state.db.delete_team(&team, &context.audit()).await?;
    let store = keystone_storage::attachments::FileStore::new(&context.state.settings().files.upload_dir);
    for file in &files {
        store.remove(file);
    }
    tracing::info!(team_id = team.id, attachments = files.len(), cid = %context.request.cid, "deleted a team");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

async fn render(context: &Context<'_>, teams: &[Team], status: StatusCode) -> Result<Reply, ApiError> {
    let mut results = teams_json(context, teams).await?;
    Ok(Reply::json(status, &results.pop().unwrap_or(Value::Null)))
}

/// Team representations for a page: memberships, member summaries, history and actors are
/// fetched once for all teams (four queries).
async fn teams_json(context: &Context<'_>, teams: &[Team]) -> Result<Vec<Value>, ApiError> {
    let db = &context.state.db;
    let ids: Vec<i64> = teams.iter().map(|team| team.id).collect();
    let memberships = db.memberships_of_teams(&ids).await?;
    let mut member_ids: Vec<i64> = memberships.iter().map(|membership| membership.user_id).collect();
    member_ids.sort_unstable();
    member_ids.dedup();
    let members: HashMap<i64, User> = db.users_by_ids(&member_ids).await?.into_iter().map(|user| (user.id, user)).collect();
    let (history, actors) = history_of(db, ContentType::Team, &ids).await?;

    let mut by_team: HashMap<i64, Vec<&Membership>> = HashMap::new();
    for membership in &memberships {
        by_team.entry(membership.team_id).or_default().push(membership);
    }
    Ok(teams
        .iter()
        .map(|team| {
            let rows = by_team.get(&team.id).cloned().unwrap_or_default();
            let nested: Vec<Value> = rows
                .iter()
                .map(|membership| {
                    json!({
                        "id": membership.id,
                        "user": membership.user_id,
                        "role": membership.role,
                        "_user": members.get(&membership.user_id).map(user_summary),
                    })
                })
                .collect();
            let users: Vec<i64> = rows.iter().map(|membership| membership.user_id).collect();
            let mut object = Map::new();
            object.insert("id".into(), json!(team.id));
            object.insert("slug".into(), json!(team.slug));
            object.insert("is_active".into(), json!(team.is_active));
            object.insert("_membership".into(), Value::Array(nested));
            object.insert("_history".into(), history_json(history.get(&team.id).map(Vec::as_slice).unwrap_or(&[]), &actors));
            object.insert("name".into(), json!(team.name));
            object.insert("users".into(), json!(users));
            Value::Object(object)
        })
        .collect())
}

/// A name taken by a concurrent request surfaces as a constraint violation.
fn name_conflict(error: StorageError) -> ApiError {
    match error {
        StorageError::Conflict(_) => ApiError::field("name", "team with this name already exists."),
        other => other.into(),
    }
}
