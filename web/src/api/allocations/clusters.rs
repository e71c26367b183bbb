//! `/allocations/clusters/` and `/allocations/clusters/{id}/`.
//!
//! Anyone signed in may read any cluster, but a non-staff list holds only the clusters that
//! the caller's teams may use: open clusters, whitelists that name one of the caller's teams,
//! and blacklists that name none of them. Only staff create, change or delete clusters.

use std::collections::HashMap;

use futures::future::BoxFuture;
use keystone_storage::allocations::clusters::{AccessTeam, ClusterFields};
use keystone_storage::allocations::records::Cluster;
use keystone_storage::allocations::resources::{ACCESS_MODE_CODES, CLUSTERS};
use keystone_storage::audit::ContentType;
use keystone_storage::StorageError;
use serde_json::{json, Map, Value};
use warp::http::{Method, StatusCode};

use crate::api::allocations::input::without_null_characters;
use crate::api::fields::{does_not_exist, Form, Mode, TextRules};
use crate::api::listing::{compile, envelope, is_visible, Scope};
use crate::api::loaders::history_of;
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{history_json, team_summary};
use crate::router::Context;

const MODEL: &str = "Cluster";
const NAME_TAKEN: &str = "cluster with this name already exists.";
const COLUMNS: &str = "c.id, c.name, c.description, c.enabled, c.access_mode";

/// View-level rule of the list route: only staff create clusters.
pub fn list_permission<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        if context.request.method == Method::POST && !context.is_staff() {
            return Err(ApiError::PermissionDenied);
        }
        Ok(())
    })
}

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        match context.request.method {
            Method::POST => create(context).await,
            _ => list_clusters(context).await,
        }
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let cluster = find(context).await?;
        match context.request.method {
            Method::GET | Method::HEAD => render(context, cluster, StatusCode::OK).await,
            Method::PUT => update(context, cluster, Mode::Full).await,
            Method::PATCH => update(context, cluster, Mode::Partial).await,
            Method::DELETE => destroy(context, cluster).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

/// Limits a non-staff list to the clusters the caller's teams may use. Staff see every cluster.
fn list_scope(context: &Context<'_>) -> Result<Option<Scope<'static>>, ApiError> {
    if context.is_staff() {
        return Ok(None);
    }
    let caller = context.user()?.id;
    Ok(Some(Box::new(move |params| {
        let listed = |placeholder: String| {
            format!(
                "EXISTS (SELECT 1 FROM allocations_cluster_access_teams ct JOIN users_membership cm ON cm.team_id = ct.team_id \
                 WHERE ct.cluster_id = c.id AND cm.user_id = {placeholder})"
            )
        };
        let whitelisted = listed(params.bind(caller));
        let blacklisted = listed(params.bind(caller));
        format!("c.access_mode = 'OP' OR (c.access_mode = 'WL' AND {whitelisted}) OR (c.access_mode = 'BL' AND NOT {blacklisted})")
    })))
}

async fn list_clusters(context: &Context<'_>) -> Result<Reply, ApiError> {
    let db = &context.state.db;
    let query = compile(context, &CLUSTERS, list_scope(context)?).await?;
    let count = db.count_matching(&CLUSTERS, &query).await?;
    let clusters: Vec<Cluster> =
        if query.pagination.offset >= count { Vec::new() } else { db.fetch_page(&CLUSTERS, &query, COLUMNS).await? };
    let results = clusters_json(context, &clusters).await?;
    Ok(envelope(context, query.pagination, count, results))
}

/// Looks up the detail route's cluster within the query filters; reading is not scoped.
async fn find(context: &Context<'_>) -> Result<Cluster, ApiError> {
    let id = context.record_id()?;
    if !is_visible(context, &CLUSTERS, None, id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.cluster_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

/// Validated cluster fields; `None` means absent from the body.
struct Input {
    name: Option<String>,
    description: Option<Option<String>>,
    enabled: Option<bool>,
    access_mode: Option<String>,
    access_teams: Option<Vec<i64>>,
}

async fn read_input(context: &Context<'_>, data: &Map<String, Value>, mode: Mode, current: Option<i64>) -> Result<Input, ApiError> {
    let db = &context.state.db;
    let mut form = Form::new(data, mode);
    let name = form.required_text("name", TextRules::required(50));
    let name = without_null_characters(&mut form, "name", name);
    if let Some(name) = &name {
        if db.cluster_with_name(name, current).await?.is_some() {
            form.error("name", NAME_TAKEN);
        }
    }
    let description = form.text("description", TextRules::optional(150));
    let description = match description {
        Some(Some(text)) => without_null_characters(&mut form, "description", Some(text)).map(Some),
        other => other,
    };
    let enabled = form.boolean("enabled", false);
    let access_mode = form.choice("access_mode", ACCESS_MODE_CODES, false);
    let access_teams = form.primary_keys("access_teams");
    if let Some(team_ids) = &access_teams {
        let found = db.existing_ids("users_team", team_ids).await?;
        if let Some(missing) = team_ids.iter().find(|id| !found.contains(id)) {
            form.error("access_teams", does_not_exist(*missing));
        }
    }
    form.finish()?;
    Ok(Input { name, description, enabled, access_mode, access_teams })
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, Mode::Full, None).await?;
    let Some(name) = input.name else {
        return Err(ApiError::Internal("validated cluster input has no name".to_string()));
    };
    let fields = ClusterFields {
        name,
        description: input.description.flatten(),
        enabled: input.enabled.unwrap_or(true),
        access_mode: input.access_mode.unwrap_or_else(|| "OP".to_string()),
    };
    let access_teams = input.access_teams.unwrap_or_default();
    let cluster = context.state.db.create_cluster(&fields, &access_teams, &context.audit()).await.map_err(name_conflict)?;
    tracing::info!(cluster_id = cluster.id, cid = %context.request.cid, "created a cluster");
    render(context, cluster, StatusCode::CREATED).await
}

async fn update(context: &Context<'_>, current: Cluster, mode: Mode) -> Result<Reply, ApiError> {
    if !context.is_staff() {
        return Err(ApiError::PermissionDenied);
    }
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, mode, Some(current.id)).await?;
    let fields = ClusterFields {
        name: input.name.unwrap_or_else(|| current.name.clone()),
        description: input.description.unwrap_or_else(|| current.description.clone()),
        enabled: input.enabled.unwrap_or(current.enabled),
        access_mode: input.access_mode.unwrap_or_else(|| current.access_mode.clone()),
    };
    let db = &context.state.db;
    let cluster = db.update_cluster(&current, &fields, input.access_teams.as_deref(), &context.audit()).await.map_err(name_conflict)?;
    render(context, cluster, StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, cluster: Cluster) -> Result<Reply, ApiError> {
    if !context.is_staff() {
        return Err(ApiError::PermissionDenied);
    }
    match context.state.db.delete_cluster(&cluster, &context.audit()).await {
        Ok(()) => {
            tracing::info!(cluster_id = cluster.id, cid = %context.request.cid, "deleted a cluster");
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        Err(StorageError::Conflict(_)) => Err(ApiError::Conflict(format!(
            "Cluster {} cannot be deleted because resource allocations refer to it. Delete those allocations first.",
            cluster.id
        ))),
        Err(error) => Err(error.into()),
    }
}

async fn render(context: &Context<'_>, cluster: Cluster, status: StatusCode) -> Result<Reply, ApiError> {
    let mut results = clusters_json(context, &[cluster]).await?;
    Ok(Reply::json(status, &results.pop().unwrap_or(Value::Null)))
}

/// Cluster representations for a page: access lists, history and actors are fetched once
/// for all clusters (three queries).
async fn clusters_json(context: &Context<'_>, clusters: &[Cluster]) -> Result<Vec<Value>, ApiError> {
    let db = &context.state.db;
    let ids: Vec<i64> = clusters.iter().map(|cluster| cluster.id).collect();
    let mut access_teams: HashMap<i64, Vec<AccessTeam>> = HashMap::new();
    for row in db.cluster_access_teams(&ids).await? {
        access_teams.entry(row.cluster_id).or_default().push(row);
    }
    let (history, actors) = history_of(db, ContentType::Cluster, &ids).await?;
    Ok(clusters
        .iter()
        .map(|cluster| {
            let teams = access_teams.get(&cluster.id).map(Vec::as_slice).unwrap_or(&[]);
            let summaries: Vec<Value> =
                teams.iter().map(|row| team_summary(row.team.id, &row.team.slug, &row.team.name, row.team.is_active)).collect();
            let team_ids: Vec<i64> = teams.iter().map(|row| row.team.id).collect();
            let mut object = Map::new();
            object.insert("id".into(), json!(cluster.id));
            object.insert("_access_teams".into(), Value::Array(summaries));
            object.insert("_history".into(), history_json(history.get(&cluster.id).map(Vec::as_slice).unwrap_or(&[]), &actors));
            object.insert("name".into(), json!(cluster.name));
            object.insert("description".into(), json!(cluster.description));
            object.insert("enabled".into(), json!(cluster.enabled));
            object.insert("access_mode".into(), json!(cluster.access_mode));
            object.insert("access_teams".into(), json!(team_ids));
            Value::Object(object)
        })
        .collect())
}

/// Reports a name that a concurrent request took, which surfaces as a constraint violation.
fn name_conflict(error: StorageError) -> ApiError {
    match error {
        StorageError::Conflict(_) => ApiError::field("name", NAME_TAKEN),
        other => other.into(),
    }
}
