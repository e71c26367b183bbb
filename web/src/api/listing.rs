//! The shared list machinery: compile the query string, apply the caller's scope, fetch one
//! page of ids, and wrap results in the `{count, next, previous, results}` envelope.

use keystone_storage::query::{errors_to_json, page_links, ListQuery, Pagination, Params, QueryError, Resource};
use serde::Serialize;
use serde_json::Value;
use warp::http::StatusCode;

use crate::error::ApiError;
use crate::http::Reply;
use crate::router::Context;

/// A role-based scope: SQL over the resource's columns, binding its values through `Params`.
pub type Scope<'s> = Box<dyn FnOnce(&mut Params) -> String + Send + 's>;

/// Compiles the request's filters, search, order and page for `resource`, adding `scope`.
pub async fn compile(context: &Context<'_>, resource: &Resource, scope: Option<Scope<'_>>) -> Result<ListQuery, ApiError> {
    let pairs = context.request.query_pairs();
    let mut query = match ListQuery::from_request(&context.state.db, resource, &pairs).await {
        Ok(query) => query,
        Err(QueryError::Invalid(errors)) => {
            let Value::Object(body) = errors_to_json(&errors) else { unreachable!("errors_to_json returns an object") };
            return Err(ApiError::Validation(body));
        }
        Err(QueryError::Storage(error)) => return Err(error.into()),
    };
    if let Some(scope) = scope {
        query.add_condition(scope);
    }
    Ok(query)
}

/// Counts the selected rows and fetches the ids of the current page, in order (two queries).
pub async fn page_ids(context: &Context<'_>, resource: &Resource, query: &ListQuery) -> Result<(i64, Vec<i64>), ApiError> {
    let db = &context.state.db;
    let count = db.count_matching(resource, query).await?;
    let ids = if query.pagination.offset >= count { Vec::new() } else { db.fetch_page_ids(resource, query).await? };
    Ok((count, ids))
}

/// Whether record `id` is inside the scope and the request's filters: detail routes apply the
/// query-string filters too, so a record they exclude is not found.
pub async fn is_visible(context: &Context<'_>, resource: &'static Resource, scope: Option<Scope<'_>>, id: i64) -> Result<bool, ApiError> {
    let mut query = compile(context, resource, scope).await?;
    query.add_condition(|params| format!("{} = {}", resource.id_column, params.bind(id)));
    Ok(context.state.db.count_matching(resource, &query).await? > 0)
}

/// The paginated envelope, with absolute `next` and `previous` links.
pub fn envelope<T: Serialize>(context: &Context<'_>, pagination: Pagination, count: i64, results: Vec<T>) -> Reply {
    let base = format!("{}{}", context.request.own_origin(), context.request.path);
    let links = page_links(&base, &context.request.query_pairs(), count, pagination.limit, pagination.offset);
    Reply::json(StatusCode::OK, &Page { count, next: links.next, previous: links.previous, results })
}

/// The list envelope, serialised straight into the body so results are not copied into a
/// `Value` first.
#[derive(Serialize)]
struct Page<T> {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<T>,
}

/// Orders `rows` by the position of their id in `ids` (the page order).
pub fn in_page_order<T>(ids: &[i64], mut rows: Vec<T>, id_of: impl Fn(&T) -> i64) -> Vec<T> {
    rows.sort_by_key(|row| ids.iter().position(|id| *id == id_of(row)).unwrap_or(usize::MAX));
    rows
}
