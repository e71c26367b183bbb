//! The code → label objects of cluster access modes, request statuses and review statuses.

use futures::future::BoxFuture;
use keystone_storage::allocations::records::{ACCESS_MODES, REQUEST_STATUSES, REVIEW_STATUSES};
use serde_json::{json, Map, Value};
use warp::http::StatusCode;

use crate::error::ApiError;
use crate::http::Reply;
use crate::router::Context;

/// `/allocations/cluster-choices/access-mode/`.
pub fn access_modes<'a>(_context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async { Ok(choices_reply(&ACCESS_MODES)) })
}

/// `/allocations/request-choices/status/`.
pub fn request_statuses<'a>(_context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async { Ok(choices_reply(&REQUEST_STATUSES)) })
}

/// `/allocations/review-choices/status/`.
pub fn review_statuses<'a>(_context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async { Ok(choices_reply(&REVIEW_STATUSES)) })
}

/// Builds a flat object of codes and labels, in the order given.
fn choices_reply(choices: &[(&str, &str)]) -> Reply {
    let mut body = Map::new();
    for (code, label) in choices {
        body.insert(code.to_string(), json!(label));
    }
    Reply::json(StatusCode::OK, &Value::Object(body))
}
