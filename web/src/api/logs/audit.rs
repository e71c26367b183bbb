//! `/logs/audit/`.

use std::collections::HashMap;

use futures::future::BoxFuture;
use keystone_storage::audit::AuditAction;
use keystone_storage::logs::resources::AUDIT_LOGS;
use keystone_storage::logs::AuditLogRow;
use keystone_storage::records::User;
use serde_json::{json, Value};
use warp::http::StatusCode;

use crate::api::listing::{compile, envelope, in_page_order, is_visible, page_ids};
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{format_datetime, user_summary};
use crate::router::Context;

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let query = compile(context, &AUDIT_LOGS, None).await?;
        let (count, ids) = page_ids(context, &AUDIT_LOGS, &query).await?;
        let rows = in_page_order(&ids, context.state.db.audit_logs_by_ids(&ids).await?, |row| row.id);
        let results = render(context, &rows).await?;
        Ok(envelope(context, query.pagination, count, results))
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let id = context.record_id()?;
        if !is_visible(context, &AUDIT_LOGS, None, id).await? {
            return Err(ApiError::NotFound("AuditLog"));
        }
        let rows = context.state.db.audit_logs_by_ids(&[id]).await?;
        let mut results = render(context, &rows).await?;
        Ok(Reply::json(StatusCode::OK, &results.pop().ok_or(ApiError::NotFound("AuditLog"))?))
    })
}

async fn render(context: &Context<'_>, rows: &[AuditLogRow]) -> Result<Vec<Value>, ApiError> {
    let actors = users_by_id(context, rows.iter().filter_map(|row| row.actor_id)).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let changes = row.changes.as_deref().and_then(|text| serde_json::from_str::<Value>(text).ok()).unwrap_or(Value::Null);
            json!({
                "id": row.id,
                "record_name": format!("{} | {}", row.app_label, row.model),
                "record_id": row.object_id,
                "action": AuditAction::name(row.action),
                "changes": changes,
                "cid": row.cid,
                "remote_addr": row.remote_addr,
                "remote_port": row.remote_port,
                "timestamp": format_datetime(&row.timestamp),
                "actor": row.actor_id,
                "_actor": row.actor_id.and_then(|id| actors.get(&id)).map(user_summary),
            })
        })
        .collect())
}

/// Fetches the users with the given ids in one query.
pub async fn users_by_id(context: &Context<'_>, ids: impl Iterator<Item = i64>) -> Result<HashMap<i64, User>, ApiError> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(context.state.db.users_by_ids(&ids).await?.into_iter().map(|user| (user.id, user)).collect())
}
