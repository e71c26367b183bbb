//! `/logs/tasks/`.

use futures::future::BoxFuture;
use keystone_storage::logs::resources::TASK_RESULTS;
use keystone_storage::logs::TaskResultRow;
use serde_json::{json, Value};
use warp::http::StatusCode;

use crate::api::listing::{compile, envelope, in_page_order, is_visible, page_ids};
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::format_datetime;
use crate::router::Context;

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let query = compile(context, &TASK_RESULTS, None).await?;
        let (count, ids) = page_ids(context, &TASK_RESULTS, &query).await?;
        let rows = in_page_order(&ids, context.state.db.task_results_by_ids(&ids).await?, |row| row.id);
        let results = rows.iter().map(render).collect();
        Ok(envelope(context, query.pagination, count, results))
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let id = context.record_id()?;
        if !is_visible(context, &TASK_RESULTS, None, id).await? {
            return Err(ApiError::NotFound("TaskResult"));
        }
        let rows = context.state.db.task_results_by_ids(&[id]).await?;
        let row = rows.first().ok_or(ApiError::NotFound("TaskResult"))?;
        Ok(Reply::json(StatusCode::OK, &render(row)))
    })
}

fn render(row: &TaskResultRow) -> Value {
    json!({
        "id": row.id,
        "task_id": row.task_id,
        "periodic_task_name": row.periodic_task_name,
        "task_name": row.task_name,
        "task_args": row.task_args,
        "task_kwargs": row.task_kwargs,
        "status": row.status,
        "worker": row.worker,
        "content_type": row.content_type,
        "content_encoding": row.content_encoding,
        "result": row.result,
        "date_created": format_datetime(&row.date_created),
        "date_started": row.date_started.as_ref().map(format_datetime),
        "date_done": format_datetime(&row.date_done),
        "traceback": row.traceback,
        "meta": row.meta,
    })
}
