//! `/logs/requests/`.

use futures::future::BoxFuture;
use keystone_storage::logs::resources::REQUEST_LOGS;
use keystone_storage::logs::RequestLogRow;
use serde_json::{json, Value};
use warp::http::StatusCode;

use crate::api::listing::{compile, envelope, in_page_order, is_visible, page_ids};
use crate::api::logs::audit::users_by_id;
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{format_datetime, user_summary};
use crate::router::Context;

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let query = compile(context, &REQUEST_LOGS, None).await?;
        let (count, ids) = page_ids(context, &REQUEST_LOGS, &query).await?;
        let rows = in_page_order(&ids, context.state.db.request_logs_by_ids(&ids).await?, |row| row.id);
        let results = render(context, &rows).await?;
        Ok(envelope(context, query.pagination, count, results))
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let id = context.record_id()?;
        if !is_visible(context, &REQUEST_LOGS, None, id).await? {
            return Err(ApiError::NotFound("RequestLog"));
        }
        let rows = context.state.db.request_logs_by_ids(&[id]).await?;
        let mut results = render(context, &rows).await?;
        Ok(Reply::json(StatusCode::OK, &results.pop().ok_or(ApiError::NotFound("RequestLog"))?))
    })
}

async fn render(context: &Context<'_>, rows: &[RequestLogRow]) -> Result<Vec<Value>, ApiError> {
    let users = users_by_id(context, rows.iter().filter_map(|row| row.user_id)).await?;
    Ok(rows
        .iter()
        .map(|row| {
            json!({
                "id": row.id,
                "_user": row.user_id.and_then(|id| users.get(&id)).map(user_summary),
                "method": row.method,
                "endpoint": row.endpoint,
                "response_code": row.response_code,
                "remote_address": row.remote_address,
                "timestamp": format_datetime(&row.timestamp),
                "cid": row.cid,
                "user": row.user_id,
            })
        })
        .collect())
}
