//! `/`, `/version/` and `/config/`.

use futures::future::BoxFuture;
use keystone_config::ALLOWED_FILE_TYPES;
use serde_json::json;
use warp::http::{Method, StatusCode};

use crate::error::ApiError;
use crate::http::{html_page, Reply, Request};
use crate::router::Context;
use crate::state::VERSION;

/// `/`: a plain page with the version, outside the JSON API. Unsafe methods are rejected the
/// way the reference's CSRF middleware rejects a request without a token.
pub fn root_page(request: &Request) -> Reply {
    if matches!(request.method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE) {
        Reply::html(StatusCode::OK, format!("Keystone API Version {VERSION}"))
    } else {
        Reply::html(StatusCode::FORBIDDEN, html_page("403 Forbidden", "CSRF verification failed. Request aborted."))
    }
}

pub fn version<'a>(_context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async { Ok(Reply::text(StatusCode::OK, "text/plain", VERSION)) })
}

pub fn config<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let settings = context.state.settings();
        let body = json!({
            "version": VERSION,
            "max_upload_size": settings.files.upload_size,
            "max_upload_count": settings.files.upload_count,
            "allowed_file_types": ALLOWED_FILE_TYPES,
            "session_age": settings.security.session_age,
        });
        Ok(Reply::json(StatusCode::OK, &body))
    })
}
