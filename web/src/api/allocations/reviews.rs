//! `/allocations/reviews/` and `/allocations/reviews/{id}/`.
//!
//! Only staff review requests, and a review is always signed by the staff member who writes
//! it. Team members read the reviews of their teams' requests.

use std::collections::{HashMap, HashSet};

use futures::future::BoxFuture;
use keystone_storage::allocations::records::{AllocationReview, ReviewWithRequest};
use keystone_storage::allocations::resources::{REVIEWS, REVIEW_STATUS_CODES};
use keystone_storage::allocations::reviews::{ReviewFields, REVIEW_WITH_REQUEST_COLUMNS};
use keystone_storage::audit::ContentType;
use keystone_storage::records::{AuditEntry, User};
use serde_json::{json, Map, Value};
use warp::http::{Method, StatusCode};

use crate::api::allocations::access::may_read;
use crate::api::fields::{does_not_exist, Form, Mode};
use crate::api::listing::{compile, envelope, is_visible, Scope};
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{format_datetime, history_json, request_summary, user_summary};
use crate::router::Context;

const MODEL: &str = "AllocationReview";
const OTHER_REVIEWER: &str = "Reviewer cannot be set to a different user than the submitter.";

/// View-level rule of the list route: only staff create reviews.
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
            _ => list_reviews(context).await,
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
            Method::PUT => update(context, row.review, Mode::Full).await,
            Method::PATCH => update(context, row.review, Mode::Partial).await,
            Method::DELETE => destroy(context, row.review).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

/// Non-staff list the reviews of their teams' requests.
fn list_scope(context: &Context<'_>) -> Result<Option<Scope<'static>>, ApiError> {
    if context.is_staff() {
        return Ok(None);
    }
    let caller = context.user()?.id;
    Ok(Some(Box::new(move |params| {
        format!("EXISTS (SELECT 1 FROM users_membership sm WHERE sm.team_id = vr.team_id AND sm.user_id = {})", params.bind(caller))
    })))
}

async fn list_reviews(context: &Context<'_>) -> Result<Reply, ApiError> {
    let db = &context.state.db;
    let query = compile(context, &REVIEWS, list_scope(context)?).await?;
    let count = db.count_matching(&REVIEWS, &query).await?;
    let rows: Vec<ReviewWithRequest> =
        if query.pagination.offset >= count { Vec::new() } else { db.fetch_page(&REVIEWS, &query, REVIEW_WITH_REQUEST_COLUMNS).await? };
    let results = reviews_json(context, &rows).await?;
    Ok(envelope(context, query.pagination, count, results))
}

/// Looks up the detail route's review within the query filters. The lookup is not scoped to
/// the caller's teams, so a non-member gets 403 rather than 404.
async fn find(context: &Context<'_>) -> Result<ReviewWithRequest, ApiError> {
    let id = context.record_id()?;
    if !is_visible(context, &REVIEWS, None, id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.review_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

/// Validated review fields; `None` means absent from the body.
struct Input {
    status: Option<String>,
    request: Option<i64>,
    reviewer: Option<i64>,
}

async fn read_input(context: &Context<'_>, data: &Map<String, Value>, mode: Mode) -> Result<Input, ApiError> {
    let db = &context.state.db;
    let mut form = Form::new(data, mode);
    let status = form.choice("status", REVIEW_STATUS_CODES, true);
    let request = form.primary_key("request", true);
    if let Some(request_id) = request {
        if db.allocation_request_by_id(request_id).await?.is_none() {
            form.error("request", does_not_exist(request_id));
        }
    }
    let reviewer = form.primary_key("reviewer", false);
    if let Some(reviewer_id) = reviewer {
        if db.user_by_id(reviewer_id).await?.is_none() {
            form.error("reviewer", does_not_exist(reviewer_id));
        } else if reviewer_id != context.user()?.id {
            form.error("reviewer", OTHER_REVIEWER);
        }
    }
    form.finish()?;
    Ok(Input { status, request, reviewer })
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, Mode::Full).await?;
    let (Some(status), Some(request_id)) = (input.status, input.request) else {
        return Err(ApiError::Internal("validated review input is incomplete".to_string()));
    };
    let fields = ReviewFields { status, request_id, reviewer_id: input.reviewer.unwrap_or(context.user()?.id) };
    let review = context.state.db.create_review(&fields, &context.audit()).await?;
    tracing::info!(review_id = review.id, request_id, cid = %context.request.cid, "created an allocation review");
    render_by_id(context, review.id, StatusCode::CREATED).await
}

async fn update(context: &Context<'_>, current: AllocationReview, mode: Mode) -> Result<Reply, ApiError> {
    if !context.is_staff() {
        return Err(ApiError::PermissionDenied);
    }
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, mode).await?;
    let fields = ReviewFields {
        status: input.status.unwrap_or_else(|| current.status.clone()),
        request_id: input.request.unwrap_or(current.request_id),
        reviewer_id: input.reviewer.unwrap_or(current.reviewer_id),
    };
    context.state.db.update_review(&current, &fields, &context.audit()).await?;
    render_by_id(context, current.id, StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, review: AllocationReview) -> Result<Reply, ApiError> {
    if !context.is_staff() {
        return Err(ApiError::PermissionDenied);
    }
    context.state.db.delete_review(&review, &context.audit()).await?;
    tracing::info!(review_id = review.id, cid = %context.request.cid, "deleted an allocation review");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

async fn render_by_id(context: &Context<'_>, id: i64, status: StatusCode) -> Result<Reply, ApiError> {
    let row = context.state.db.review_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))?;
    render(context, row, status).await
}

async fn render(context: &Context<'_>, row: ReviewWithRequest, status: StatusCode) -> Result<Reply, ApiError> {
    let mut results = reviews_json(context, &[row]).await?;
    Ok(Reply::json(status, &results.pop().unwrap_or(Value::Null)))
}

/// Review representations for a page: history, then reviewers and history actors in one
/// query (two queries).
async fn reviews_json(context: &Context<'_>, rows: &[ReviewWithRequest]) -> Result<Vec<Value>, ApiError> {
    let db = &context.state.db;
    let ids: Vec<i64> = rows.iter().map(|row| row.review.id).collect();
    let mut user_ids: HashSet<i64> = rows.iter().map(|row| row.review.reviewer_id).collect();
    let mut history: HashMap<i64, Vec<AuditEntry>> = HashMap::new();
    for entry in db.history(ContentType::AllocationReview, &ids).await? {
        user_ids.extend(entry.actor_id);
        if let Some(object_id) = entry.object_id {
            history.entry(object_id).or_default().push(entry);
        }
    }
    let user_ids: Vec<i64> = user_ids.into_iter().collect();
    let users: HashMap<i64, User> = db.users_by_ids(&user_ids).await?.into_iter().map(|user| (user.id, user)).collect();
    Ok(rows
        .iter()
        .map(|row| {
            let review = &row.review;
            let mut object = Map::new();
            object.insert("id".into(), json!(review.id));
            object.insert(
                "_request".into(),
                request_summary(review.request_id, &row.request_title, &row.request_status, row.request_active, row.request_expire),
            );
            object.insert("_reviewer".into(), users.get(&review.reviewer_id).map(user_summary).unwrap_or(Value::Null));
            object.insert("_history".into(), history_json(history.get(&review.id).map(Vec::as_slice).unwrap_or(&[]), &users));
            object.insert("status".into(), json!(review.status));
            object.insert("submitted".into(), json!(format_datetime(&review.submitted)));
            object.insert("request".into(), json!(review.request_id));
            object.insert("reviewer".into(), json!(review.reviewer_id));
            Value::Object(object)
        })
        .collect())
}
