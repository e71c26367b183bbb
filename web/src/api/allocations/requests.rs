//! `/allocations/requests/` and `/allocations/requests/{id}/`.
//!
//! Team owners and admins submit requests for their teams, and staff for any team. Team
//! members read their teams' requests; only staff change or delete them. Private comments
//! appear in a request's `_comments` only for staff.

use std::collections::HashSet;

use futures::future::BoxFuture;
use keystone_storage::allocations::records::{AllocationRequest, RequestWithTeam};
use keystone_storage::allocations::requests::{RequestFields, RequestLinks, REQUEST_WITH_TEAM_COLUMNS};
use keystone_storage::allocations::resources::{REQUESTS, REQUEST_STATUS_CODES};
use keystone_storage::attachments::FileStore;
use keystone_storage::audit::ContentType;
use serde_json::{Map, Value};
use warp::http::{Method, StatusCode};

use crate::api::allocations::access::{body_for_permission, id_in, is_manager, may_read};
use crate::api::allocations::input::{date, is_form_body, without_null_characters};
use crate::api::allocations::request_view::{request_view, Nested, RequestView};
use crate::api::fields::{does_not_exist, Form, Mode, TextRules};
use crate::api::listing::{compile, envelope, is_visible, Scope};
use crate::error::ApiError;
use crate::http::Reply;
use crate::router::Context;

const MODEL: &str = "AllocationRequest";
const DATES_OUT_OF_ORDER: &str = "The expiration date must come after the activation date.";

/// View-level rule of the list route: a non-staff caller may submit a request only for a team
/// they own or administer. A body without a valid, existing team is denied, not rejected.
pub fn list_permission<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        if context.request.method != Method::POST || context.is_staff() {
            return Ok(());
        }
        let team_id = body_for_permission(context).await.and_then(|body| id_in(&body, "team"));
        match team_id {
            Some(team_id) if is_manager(context, team_id).await? => Ok(()),
            _ => Err(ApiError::PermissionDenied),
        }
    })
}

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        match context.request.method {
            Method::POST => create(context).await,
            _ => list_requests(context).await,
        }
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let request = find(context).await?;
        match context.request.method {
            Method::GET | Method::HEAD => {
                if !may_read(context, request.team_id).await? {
                    return Err(ApiError::PermissionDenied);
                }
                render(context, request.id, StatusCode::OK).await
            }
            Method::PUT => update(context, request, Mode::Full).await,
            Method::PATCH => update(context, request, Mode::Partial).await,
            Method::DELETE => destroy(context, request).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

/// Non-staff list the requests of teams they belong to.
fn list_scope(context: &Context<'_>) -> Result<Option<Scope<'static>>, ApiError> {
    if context.is_staff() {
        return Ok(None);
    }
    let caller = context.user()?.id;
    Ok(Some(Box::new(move |params| {
        format!("EXISTS (SELECT 1 FROM users_membership sm WHERE sm.team_id = r.team_id AND sm.user_id = {})", params.bind(caller))
    })))
}

async fn list_requests(context: &Context<'_>) -> Result<Reply, ApiError> {
    let db = &context.state.db;
    let query = compile(context, &REQUESTS, list_scope(context)?).await?;
    let count = db.count_matching(&REQUESTS, &query).await?;
    let rows: Vec<RequestWithTeam> =
        if query.pagination.offset >= count { Vec::new() } else { db.fetch_page(&REQUESTS, &query, REQUEST_WITH_TEAM_COLUMNS).await? };
    let nested = load_nested(context, &rows).await?;
    let results: Vec<RequestView> = rows.iter().map(|row| request_view(row, &nested)).collect();
    Ok(envelope(context, query.pagination, count, results))
}

/// Looks up the detail route's request within the query filters. The lookup is not scoped to
/// the caller's teams, so a non-member gets 403 rather than 404.
async fn find(context: &Context<'_>) -> Result<AllocationRequest, ApiError> {
    let id = context.record_id()?;
    if !is_visible(context, &REQUESTS, None, id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.allocation_request_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

/// Validated request fields; `None` means absent from the body.
struct Input {
    title: Option<String>,
    description: Option<String>,
    active: Option<Option<chrono::NaiveDate>>,
    expire: Option<Option<chrono::NaiveDate>>,
    status: Option<String>,
    submitter: Option<i64>,
    team: Option<i64>,
    links: RequestLinks,
}

/// Reads and validates a body. `current` is the stored request of an update, whose dates
/// count when the body leaves them out.
async fn read_input(
    context: &Context<'_>,
    data: &Map<String, Value>,
    mode: Mode,
    current: Option<&AllocationRequest>,
) -> Result<Input, ApiError> {
    let db = &context.state.db;
    let form_body = is_form_body(context);
    let mut form = Form::new(data, mode);

    let title = form.required_text("title", TextRules::required(250));
    let title = without_null_characters(&mut form, "title", title);
    let description = form.required_text("description", TextRules::required(20_000));
    let description = without_null_characters(&mut form, "description", description);
    let active = date(&mut form, data, "active", form_body);
    let expire = date(&mut form, data, "expire", form_body);
    // Only staff decide a request's status: a team admin who could submit an approved request
    // would award their own team compute time without review. The value is still validated,
    // so a bad one gets its error, and then dropped for everyone else.
    let status = form.choice("status", REQUEST_STATUS_CODES, false).filter(|_| context.is_staff());

    let submitter = form.primary_key("submitter", true);
    if let Some(user_id) = submitter {
        if db.user_by_id(user_id).await?.is_none() {
            form.error("submitter", does_not_exist(user_id));
        }
    }
    let team = form.primary_key("team", true);
    if let Some(team_id) = team {
        if db.team_by_id(team_id).await?.is_none() {
            form.error("team", does_not_exist(team_id));
        }
    }

    let mut links = RequestLinks::default();
    for (field, table) in
        [("assignees", "users_user"), ("publications", "research_products_publication"), ("grants", "research_products_grant")]
    {
        let Some(ids) = form.primary_keys(field) else { continue };
        let found = db.existing_ids(table, &ids).await?;
        if let Some(missing) = ids.iter().find(|id| !found.contains(id)) {
            form.error(field, does_not_exist(*missing));
            continue;
        }
        // A non-staff writer may link only their team's grants and publications, since the
        // request shows every linked record in full.
        if field != "assignees" && !context.is_staff() {
            let team_id = team.or_else(|| current.map(|request| request.team_id));
            if let Some(team_id) = team_id {
                let owned = db.ids_owned_by_team(table, &ids, team_id).await?;
                if let Some(foreign) = ids.iter().find(|id| !owned.contains(id)) {
                    form.error(field, format!("Invalid pk \"{foreign}\" - object does not belong to the request's team."));
                    continue;
                }
            }
        }
        match field {
            "assignees" => links.assignees = Some(ids),
            "publications" => links.publications = Some(ids),
            _ => links.grants = Some(ids),
        }
    }

    // Cross-field rule, checked only when every field is valid. The reference API skips it,
    // although its model (and admin site) enforce it.
    let active_date = active.unwrap_or_else(|| current.and_then(|request| request.active));
    let expire_date = expire.unwrap_or_else(|| current.and_then(|request| request.expire));
    if let (false, Some(active_date), Some(expire_date)) = (form.has_errors(), active_date, expire_date) {
        if active_date >= expire_date {
            form.error("non_field_errors", DATES_OUT_OF_ORDER);
        }
    }
    form.finish()?;
    Ok(Input { title, description, active, expire, status, submitter, team, links })
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, Mode::Full, None).await?;
    let (Some(title), Some(description), Some(submitter_id), Some(team_id)) = (input.title, input.description, input.submitter, input.team)
    else {
        return Err(ApiError::Internal("validated allocation request input is incomplete".to_string()));
    };
    let fields = RequestFields {
        title,
        description,
        active: input.active.flatten(),
        expire: input.expire.flatten(),
        status: input.status.unwrap_or_else(|| "PD".to_string()),
        submitter_id,
        team_id,
    };
    let request = context.state.db.create_allocation_request(&fields, &input.links, &context.audit()).await?;
    tracing::info!(request_id = request.id, team_id, cid = %context.request.cid, "created an allocation request");
    render(context, request.id, StatusCode::CREATED).await
}

async fn update(context: &Context<'_>, current: AllocationRequest, mode: Mode) -> Result<Reply, ApiError> {
    if !context.is_staff() {
        return Err(ApiError::PermissionDenied);
    }
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, mode, Some(&current)).await?;
    let fields = RequestFields {
        title: input.title.unwrap_or_else(|| current.title.clone()),
        description: input.description.unwrap_or_else(|| current.description.clone()),
        active: input.active.unwrap_or(current.active),
        expire: input.expire.unwrap_or(current.expire),
        status: input.status.unwrap_or_else(|| current.status.clone()),
        submitter_id: input.submitter.unwrap_or(current.submitter_id),
        team_id: input.team.unwrap_or(current.team_id),
    };
    context.state.db.update_allocation_request(&current, &fields, &input.links, &context.audit()).await?;
    render(context, current.id, StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, request: AllocationRequest) -> Result<Reply, ApiError> {
    if !context.is_staff() {
        return Err(ApiError::PermissionDenied);
    }
    let db = &context.state.db;
    let files = db.attachment_files_of_request(request.id).await?;
    db.delete_allocation_request(&request, &context.audit()).await?;
    let store = FileStore::new(&context.state.settings().files.upload_dir);
    for file in &files {
        store.remove(file);
    }
    tracing::info!(request_id = request.id, attachments = files.len(), cid = %context.request.cid, "deleted an allocation request");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

async fn render(context: &Context<'_>, id: i64, status: StatusCode) -> Result<Reply, ApiError> {
    let rows = context.state.db.allocation_requests_by_ids(&[id]).await?;
    let nested = load_nested(context, &rows).await?;
    let row = rows.first().ok_or(ApiError::NotFound(MODEL))?;
    Ok(Reply::json(status, &request_view(row, &nested)))
}

/// Loads everything nested in a page of requests with eight queries, whatever the page size.
async fn load_nested(context: &Context<'_>, rows: &[RequestWithTeam]) -> Result<Nested, ApiError> {
    let db = &context.state.db;
    let ids: Vec<i64> = rows.iter().map(|row| row.request.id).collect();
    let mut nested = Nested::default();
    let mut user_ids: HashSet<i64> = rows.iter().map(|row| row.request.submitter_id).collect();

    for (request_id, user_id) in db.request_assignees(&ids).await? {
        user_ids.insert(user_id);
        nested.assignees.entry(request_id).or_default().push(user_id);
    }
    for publication in db.request_publications(&ids).await? {
        nested.publications.entry(publication.request_id).or_default().push(publication);
    }
    for grant in db.request_grants(&ids).await? {
        nested.grants.entry(grant.request_id).or_default().push(grant);
    }
    for allocation in db.request_allocations(&ids).await? {
        nested.allocations.entry(allocation.request_id).or_default().push(allocation);
    }
    for attachment in db.request_attachments(&ids).await? {
        nested.attachments.entry(attachment.request_id).or_default().push(attachment);
    }
    for comment in db.request_comments(&ids, context.is_staff()).await? {
        user_ids.insert(comment.user_id);
        nested.comments.entry(comment.request_id).or_default().push(comment);
    }
    for entry in db.history(ContentType::AllocationRequest, &ids).await? {
        user_ids.extend(entry.actor_id);
        if let Some(object_id) = entry.object_id {
            nested.history.entry(object_id).or_default().push(entry);
        }
    }
    let mut user_ids: Vec<i64> = user_ids.into_iter().collect();
    user_ids.sort_unstable();
    nested.users = db.users_by_ids(&user_ids).await?.into_iter().map(|user| (user.id, user)).collect();
    Ok(nested)
}
