//! `/logs/feed/`: request, task and audit records in one list, newest first.

use futures::future::BoxFuture;
use keystone_storage::logs::resources::FEED;
use keystone_storage::logs::FeedRow;
use serde_json::json;

use crate::api::listing::{compile, envelope};
use crate::api::logs::audit::users_by_id;
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{format_datetime, user_summary};
use crate::router::Context;

const COLUMNS: &str = "f.id, f.record_id, f.record_type, f.timestamp, f.summary, f.user_id, f.cid, f.status";

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let query = compile(context, &FEED, None).await?;
        let db = &context.state.db;
        let count = db.count_matching(&FEED, &query).await?;
        let rows: Vec<FeedRow> = if query.pagination.offset >= count { Vec::new() } else { db.fetch_page(&FEED, &query, COLUMNS).await? };
        let users = users_by_id(context, rows.iter().filter_map(|row| row.user_id)).await?;
        let results = rows
            .iter()
            .map(|row| {
                json!({
                    "id": row.id,
                    "_user": row.user_id.and_then(|id| users.get(&id)).map(user_summary),
                    "record_id": row.record_id,
                    "record_type": row.record_type,
                    "timestamp": format_datetime(&row.timestamp),
                    "summary": row.summary,
                    "cid": row.cid,
                    "status": row.status,
                    "user": row.user_id,
                })
            })
            .collect();
        Ok(envelope(context, query.pagination, count, results))
    })
}
