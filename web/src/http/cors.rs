//! CORS as the reference configures it: listed origins only, credentials allowed.

use crate::http::{Reply, Request};
use warp::http::{Method, StatusCode};

const ALLOWED_HEADERS: &str = "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with, x-keystone-cid";
const ALLOWED_METHODS: &str = "DELETE, GET, OPTIONS, PATCH, POST, PUT";
const PREFLIGHT_MAX_AGE: &str = "86400";

/// A preflight is an `OPTIONS` request with `Access-Control-Request-Method`.
pub fn is_preflight(request: &Request) -> bool {
    request.method == Method::OPTIONS && request.headers.contains_key("access-control-request-method")
}

/// Answers a preflight with an empty 200, before authentication and permissions.
pub fn preflight_reply(request: &Request, allowed_origins: &[String]) -> Reply {
    let mut reply = Reply::empty(StatusCode::OK);
    reply.set_header("Content-Length", "0");
    if allowed_origin(request, allowed_origins).is_some() {
        reply.set_header("Access-Control-Allow-Headers", ALLOWED_HEADERS);
        reply.set_header("Access-Control-Allow-Methods", ALLOWED_METHODS);
        reply.set_header("Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
    }
    apply_cors(request, allowed_origins, &mut reply);
    reply
}

/// Adds the allow-origin headers when the request's `Origin` is trusted.
pub fn apply_cors(request: &Request, allowed_origins: &[String], reply: &mut Reply) {
    if let Some(origin) = allowed_origin(request, allowed_origins) {
        reply.set_header("Access-Control-Allow-Origin", &origin);
        reply.set_header("Access-Control-Allow-Credentials", "true");
    }
}

fn allowed_origin(request: &Request, allowed_origins: &[String]) -> Option<String> {
    let origin = request.header("origin")?;
    allowed_origins.iter().any(|allowed| allowed == origin).then(|| origin.to_string())
}
