//! `/allocations/comments/` and `/allocations/comments/{id}/`.
//!
//! Any member of a request's team may comment on it, and may edit or delete any public
//! comment there, not only their own. Private comments are for staff only: hidden from
//! non-staff lists, 403 on their detail route, and only staff may mark a comment private.
//! `user` is the author; when a create or a full update omits it, the caller becomes the
//! author.

use std::collections::HashMap;

use futures::future::BoxFuture;
use keystone_storage::audit::ContentType;
use keystone_storage::comments::{Comment, CommentFields, ParentRequest, COMMENTS};
use keystone_storage::records::User;
use serde_json::{json, Map, Value};
use warp::http::{Method, StatusCode};

use super::{is_member, role_for_body_request};
use crate::api::fields::{does_not_exist, Form, Mode, TextRules};
use crate::api::listing::{compile, envelope, in_page_order, is_visible, page_ids, Scope};
use crate::api::loaders::history_of;
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{format_datetime, history_json, request_summary, user_summary};
use crate::router::Context;

const MODEL: &str = "Comment";
const PRIVATE_FOR_STAFF: &str = "Only staff users can write comments marked as private.";

/// View-level rule of the list route: a non-staff create needs a body `request` of a team
/// the caller belongs to.
pub fn create_permission<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        if context.request.method != Method::POST || context.is_staff() {
            return Ok(());
        }
        match role_for_body_request(context).await? {
            Some(_) => Ok(()),
            None => Err(ApiError::PermissionDenied),
        }
    })
}

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        match context.request.method {
            Method::POST => create(context).await,
            _ => list_comments(context).await,
        }
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let comment = find(context).await?;
        let request = parent_of(context, comment.request_id).await?;
        check_access(context, &comment, &request).await?;
        match context.request.method {
            Method::GET | Method::HEAD => render(context, comment, StatusCode::OK).await,
            Method::PUT => update(context, comment, Mode::Full).await,
            Method::PATCH => update(context, comment, Mode::Partial).await,
            Method::DELETE => destroy(context, comment).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

/// Non-staff see the public comments on their teams' requests.
fn list_scope(context: &Context<'_>) -> Result<Option<Scope<'static>>, ApiError> {
    if context.is_staff() {
        return Ok(None);
    }
    let caller = context.user()?.id;
    Ok(Some(Box::new(move |params| {
        format!(
            "NOT c.private AND EXISTS (SELECT 1 FROM users_membership sm WHERE sm.team_id = cr.team_id AND sm.user_id = {})",
            params.bind(caller)
        )
    })))
}

async fn list_comments(context: &Context<'_>) -> Result<Reply, ApiError> {
    let query = compile(context, &COMMENTS, list_scope(context)?).await?;
    let (count, ids) = page_ids(context, &COMMENTS, &query).await?;
    let comments = in_page_order(&ids, context.state.db.comments_by_ids(&ids).await?, |comment| comment.id);
    let results = comments_json(context, &comments).await?;
    Ok(envelope(context, query.pagination, count, results))
}

/// Looks up the detail route's comment within the query filters. Every comment is in scope
/// here: other teams' and private comments are 403, not 404.
async fn find(context: &Context<'_>) -> Result<Comment, ApiError> {
    let id = context.record_id()?;
    if !is_visible(context, &COMMENTS, None, id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.comment_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

async fn parent_of(context: &Context<'_>, request_id: i64) -> Result<ParentRequest, ApiError> {
    context.state.db.parent_request(request_id).await?.ok_or(ApiError::NotFound(MODEL))
}

/// Object-level rule: staff, or a member of the request's team when the comment is public.
async fn check_access(context: &Context<'_>, comment: &Comment, request: &ParentRequest) -> Result<(), ApiError> {
    if context.is_staff() || (!comment.private && is_member(context, request.team_id).await?) {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let fields = read_fields(context, body.object()?, Mode::Full, None).await?;
    let comment = context.state.db.create_comment(&fields, &context.audit()).await?;
    tracing::info!(comment_id = comment.id, request_id = comment.request_id, cid = %context.request.cid, "created a comment");
    render(context, comment, StatusCode::CREATED).await
}

async fn update(context: &Context<'_>, current: Comment, mode: Mode) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let fields = read_fields(context, body.object()?, mode, Some(&current)).await?;
    if fields.request_id != current.request_id && !context.is_staff() {
        // Unlike the reference, moving a comment needs membership in the new request's team
        // too, so a member cannot place comments on other teams' requests.
        let target = parent_of(context, fields.request_id).await?;
        if !is_member(context, target.team_id).await? {
            return Err(ApiError::PermissionDenied);
        }
    }
    let comment = context.state.db.update_comment(&current, &fields, &context.audit()).await?;
    render(context, comment, StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, comment: Comment) -> Result<Reply, ApiError> {
    context.state.db.delete_comment(&comment, &context.audit()).await?;
    tracing::info!(comment_id = comment.id, cid = %context.request.cid, "deleted a comment");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// Validates the body in serializer field order and merges it into `current` (for updates).
/// A create or full update without `user` makes the caller the author; `private` keeps its
/// stored value when omitted.
async fn read_fields(
    context: &Context<'_>,
    data: &Map<String, Value>,
    mode: Mode,
    current: Option<&Comment>,
) -> Result<CommentFields, ApiError> {
    let db = &context.state.db;
    let mut form = Form::new(data, mode);
    let user = form.primary_key("user", false);
    if let Some(user_id) = user {
        if db.user_by_id(user_id).await?.is_none() {
            form.error("user", does_not_exist(user_id));
        }
    }
    let content = form.required_text("content", TextRules::required(2000));
    let private = form.boolean("private", false);
    let request = form.primary_key("request", true);
    if let Some(request_id) = request {
        if db.parent_request(request_id).await?.is_none() {
            form.error("request", does_not_exist(request_id));
        }
    }
    form.finish()?;

    let caller = context.user()?.id;
    let fields = match current {
        Some(comment) => CommentFields {
            content: content.unwrap_or_else(|| comment.content.clone()),
            private: private.unwrap_or(comment.private),
            user_id: user.unwrap_or(if mode == Mode::Full { caller } else { comment.user_id }),
            request_id: request.unwrap_or(comment.request_id),
        },
        None => {
            let (Some(content), Some(request_id)) = (content, request) else {
                return Err(ApiError::Internal("validated comment input is incomplete".to_string()));
            };
            CommentFields { content, private: private.unwrap_or(false), user_id: user.unwrap_or(caller), request_id }
        }
    };
    if fields.private && !context.is_staff() {
        return Err(ApiError::field("private", PRIVATE_FOR_STAFF));
    }
    Ok(fields)
}

async fn render(context: &Context<'_>, comment: Comment, status: StatusCode) -> Result<Reply, ApiError> {
    let mut results = comments_json(context, &[comment]).await?;
    Ok(Reply::json(status, &results.pop().unwrap_or(Value::Null)))
}

/// Comment representations for a page: authors, requests, history and history actors are
/// fetched once for all comments (four queries).
async fn comments_json(context: &Context<'_>, comments: &[Comment]) -> Result<Vec<Value>, ApiError> {
    let db = &context.state.db;
    let ids: Vec<i64> = comments.iter().map(|comment| comment.id).collect();
    let user_ids = distinct(comments.iter().map(|comment| comment.user_id));
    let request_ids = distinct(comments.iter().map(|comment| comment.request_id));
    let users: HashMap<i64, User> = db.users_by_ids(&user_ids).await?.into_iter().map(|user| (user.id, user)).collect();
    let requests: HashMap<i64, ParentRequest> =
        db.parent_requests(&request_ids).await?.into_iter().map(|request| (request.id, request)).collect();
    let (history, actors) = history_of(db, ContentType::Comment, &ids).await?;
    Ok(comments
        .iter()
        .map(|comment| {
            let request = requests
                .get(&comment.request_id)
                .map(|request| request_summary(request.id, &request.title, &request.status, request.active, request.expire));
            let mut object = Map::new();
            object.insert("id".into(), json!(comment.id));
            object.insert("user".into(), json!(comment.user_id));
            object.insert("_user".into(), users.get(&comment.user_id).map(user_summary).unwrap_or(Value::Null));
            object.insert("_request".into(), request.unwrap_or(Value::Null));
            object.insert("_history".into(), history_json(history.get(&comment.id).map(Vec::as_slice).unwrap_or(&[]), &actors));
            object.insert("content".into(), json!(comment.content));
            object.insert("created".into(), json!(format_datetime(&comment.created)));
            object.insert("private".into(), json!(comment.private));
            object.insert("request".into(), json!(comment.request_id));
            Value::Object(object)
        })
        .collect())
}

fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}
