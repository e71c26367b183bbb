//! `/allocations/allocations/` and `/allocations/allocations/{id}/`.
//!
//! Team owners and admins request service units for their team's requests on clusters whose
//! access mode admits the team. Staff may do so for any request on any cluster. Team members
//! read their teams' allocations, and only staff change or delete them.

use std::collections::{HashMap, HashSet};

use futures::future::BoxFuture;
use keystone_storage::allocations::records::{AllocationWithContext, ResourceAllocation};
use keystone_storage::allocations::resource_allocations::{AllocationFields, ALLOCATION_WITH_CONTEXT_COLUMNS};
use keystone_storage::allocations::resources::ALLOCATIONS;
use keystone_storage::audit::ContentType;
use keystone_storage::records::{AuditEntry, User};
use serde_json::{json, Map, Value};
use warp::http::{Method, StatusCode};

use crate::api::allocations::access::{body_for_permission, id_in, is_manager, may_read};
use crate::api::allocations::input::{count, is_form_body};
use crate::api::fields::{does_not_exist, Form, Mode};
use crate::api::listing::{compile, envelope, is_visible, Scope};
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{cluster_summary, history_json, request_summary};
use crate::router::Context;

const MODEL: &str = "ResourceAllocation";

/// View-level rule of the list route: a non-staff caller may create an allocation only for a
/// request of a team they own or administer, on a cluster whose access mode admits that
/// team. A body without a valid, existing request and cluster is denied, not rejected.
pub fn list_permission<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        if context.request.method != Method::POST || context.is_staff() {
            return Ok(());
        }
        if may_create(context).await? {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied)
        }
    })
}

async fn may_create(context: &Context<'_>) -> Result<bool, ApiError> {
    let Some(body) = body_for_permission(context).await else {
        return Ok(false);
    };
    let (Some(request_id), Some(cluster_id)) = (id_in(&body, "request"), id_in(&body, "cluster")) else {
        return Ok(false);
    };
    let db = &context.state.db;
    let Some(request) = db.allocation_request_by_id(request_id).await? else {
        return Ok(false);
    };
    if !is_manager(context, request.team_id).await? {
        return Ok(false);
    }
    Ok(db.cluster_admits_team(cluster_id, request.team_id).await? == Some(true))
}

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        match context.request.method {
            Method::POST => create(context).await,
            _ => list_allocations(context).await,
        }
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let row = find(context).await?;
        match context.request.method {
            Method::GET | Method::HEAD => {
                if !may_read(context, row.team_id).await? {
                    return Err(ApiError::PermissionDenied);
                }
                render(context, row, StatusCode::OK).await
            }
            Method::PUT => update(context, row.allocation, Mode::Full).await,
            Method::PATCH => update(context, row.allocation, Mode::Partial).await,
            Method::DELETE => destroy(context, row.allocation).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

/// Non-staff list the allocations of their teams' requests.
fn list_scope(context: &Context<'_>) -> Result<Option<Scope<'static>>, ApiError> {
    if context.is_staff() {
        return Ok(None);
    }
    let caller = context.user()?.id;
    Ok(Some(Box::new(move |params| {
        format!("EXISTS (SELECT 1 FROM users_membership sm WHERE sm.team_id = ar.team_id AND sm.user_id = {})", params.bind(caller))
    })))
}

async fn list_allocations(context: &Context<'_>) -> Result<Reply, ApiError> {
    let db = &context.state.db;
    let query = compile(context, &ALLOCATIONS, list_scope(context)?).await?;
    let total = db.count_matching(&ALLOCATIONS, &query).await?;
    let rows: Vec<AllocationWithContext> = if query.pagination.offset >= total {
        Vec::new()
    } else {
        db.fetch_page(&ALLOCATIONS, &query, ALLOCATION_WITH_CONTEXT_COLUMNS).await?
    };
    let results = allocations_json(context, &rows).await?;
    Ok(envelope(context, query.pagination, total, results))
}

/// Looks up the detail route's allocation within the query filters. The lookup is not
/// scoped to the caller's teams, so a non-member gets 403 rather than 404.
async fn find(context: &Context<'_>) -> Result<AllocationWithContext, ApiError> {
    let id = context.record_id()?;
    if !is_visible(context, &ALLOCATIONS, None, id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.resource_allocation_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

/// Validated allocation fields; `None` means absent from the body.
struct Input {
    requested: Option<i64>,
    awarded: Option<Option<i64>>,
    final_amount: Option<Option<i64>>,
    cluster: Option<i64>,
    request: Option<i64>,
}

async fn read_input(context: &Context<'_>, data: &Map<String, Value>, mode: Mode) -> Result<Input, ApiError> {
    let db = &context.state.db;
    let form_body = is_form_body(context);
    let mut form = Form::new(data, mode);
    let requested = count(&mut form, data, "requested", mode, true, form_body).flatten();
    // Only staff award service units; a team admin could otherwise award their own team. The
    // values are still validated, so a bad one gets its error, and then dropped for everyone else.
    let awarded = count(&mut form, data, "awarded", mode, false, form_body).filter(|_| context.is_staff());
    let final_amount = count(&mut form, data, "final", mode, false, form_body).filter(|_| context.is_staff());
    let cluster = form.primary_key("cluster", true);
    if let Some(cluster_id) = cluster {
        if db.cluster_by_id(cluster_id).await?.is_none() {
            form.error("cluster", does_not_exist(cluster_id));
        }
    }
    let request = form.primary_key("request", true);
    if let Some(request_id) = request {
        if db.allocation_request_by_id(request_id).await?.is_none() {
            form.error("request", does_not_exist(request_id));
        }
    }
    form.finish()?;
    Ok(Input { requested, awarded, final_amount, cluster, request })
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, Mode::Full).await?;
    let (Some(requested), Some(cluster_id), Some(request_id)) = (input.requested, input.cluster, input.request) else {
        return Err(ApiError::Internal("validated resource allocation input is incomplete".to_string()));
    };
    let fields = AllocationFields {
        requested,
        awarded: input.awarded.flatten(),
        final_amount: input.final_amount.flatten(),
        cluster_id,
        request_id,
    };
    let allocation = context.state.db.create_resource_allocation(&fields, &context.audit()).await?;
    tracing::info!(allocation_id = allocation.id, request_id, cluster_id, cid = %context.request.cid, "created a resource allocation");
    render_by_id(context, allocation.id, StatusCode::CREATED).await
}

async fn update(context: &Context<'_>, current: ResourceAllocation, mode: Mode) -> Result<Reply, ApiError> {
    if !context.is_staff() {
        return Err(ApiError::PermissionDenied);
    }
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, mode).await?;
    let fields = AllocationFields {
        requested: input.requested.unwrap_or(current.requested),
        awarded: input.awarded.unwrap_or(current.awarded),
        final_amount: input.final_amount.unwrap_or(current.final_amount),
        cluster_id: input.cluster.unwrap_or(current.cluster_id),
        request_id: input.request.unwrap_or(current.request_id),
    };
    context.state.db.update_resource_allocation(&current, &fields, &context.audit()).await?;
    render_by_id(context, current.id, StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, allocation: ResourceAllocation) -> Result<Reply, ApiError> {
    if !context.is_staff() {
        return Err(ApiError::PermissionDenied);
    }
    context.state.db.delete_resource_allocation(&allocation, &context.audit()).await?;
    tracing::info!(allocation_id = allocation.id, cid = %context.request.cid, "deleted a resource allocation");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

async fn render_by_id(context: &Context<'_>, id: i64, status: StatusCode) -> Result<Reply, ApiError> {
    let row = context.state.db.resource_allocation_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))?;
    render(context, row, status).await
}

async fn render(context: &Context<'_>, row: AllocationWithContext, status: StatusCode) -> Result<Reply, ApiError> {
    let mut results = allocations_json(context, &[row]).await?;
    Ok(Reply::json(status, &results.pop().unwrap_or(Value::Null)))
}

/// Allocation representations for a page: history and its actors (two queries).
async fn allocations_json(context: &Context<'_>, rows: &[AllocationWithContext]) -> Result<Vec<Value>, ApiError> {
    let db = &context.state.db;
    let ids: Vec<i64> = rows.iter().map(|row| row.allocation.id).collect();
    let mut actor_ids: HashSet<i64> = HashSet::new();
    let mut history: HashMap<i64, Vec<AuditEntry>> = HashMap::new();
    for entry in db.history(ContentType::ResourceAllocation, &ids).await? {
        actor_ids.extend(entry.actor_id);
        if let Some(object_id) = entry.object_id {
            history.entry(object_id).or_default().push(entry);
        }
    }
    let actor_ids: Vec<i64> = actor_ids.into_iter().collect();
    let actors: HashMap<i64, User> = db.users_by_ids(&actor_ids).await?.into_iter().map(|user| (user.id, user)).collect();
    Ok(rows
        .iter()
        .map(|row| {
            let allocation = &row.allocation;
            let mut object = Map::new();
            object.insert("id".into(), json!(allocation.id));
            object.insert("_cluster".into(), cluster_summary(allocation.cluster_id, &row.cluster_name, row.cluster_enabled));
            object.insert(
                "_request".into(),
                request_summary(allocation.request_id, &row.request_title, &row.request_status, row.request_active, row.request_expire),
            );
            object.insert("_history".into(), history_json(history.get(&allocation.id).map(Vec::as_slice).unwrap_or(&[]), &actors));
            object.insert("requested".into(), json!(allocation.requested));
            object.insert("awarded".into(), json!(allocation.awarded));
            object.insert("final".into(), json!(allocation.final_amount));
            object.insert("cluster".into(), json!(allocation.cluster_id));
            object.insert("request".into(), json!(allocation.request_id));
            Value::Object(object)
        })
        .collect())
}
