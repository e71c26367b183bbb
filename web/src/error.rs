//! API errors.
//!
//! Policy: handlers return `Result<Reply, ApiError>`. Every client mistake is an `ApiError`
//! variant that renders the reference's JSON body and status; storage failures become
//! `Internal`, which is logged with its cause and answered with a generic 500 page, so no
//! detail of the failure reaches the client. Nothing in a request path panics on bad input.

use serde_json::{json, Map, Value};
use warp::http::StatusCode;

use crate::http::Reply;

/// An error answered to the client.
#[derive(Debug)]
pub enum ApiError {
    /// 400 with field errors: `{"field": ["message", ...]}`.
    Validation(Map<String, Value>),
    /// 400 with a `detail` message (malformed JSON, for example).
    BadRequest(String),
    /// 401: no credentials.
    NotAuthenticated,
    /// 401 with a specific message (bad token, inactive user).
    AuthenticationFailed(String),
    /// 403 with the default message.
    PermissionDenied,
    /// 403 CSRF failure with its reason.
    Csrf(String),
    /// 404 naming the model: `No User matches the given query.`
    NotFound(&'static str),
    /// 404 for a malformed id.
    NotFoundPlain,
    /// 405 for the method, with the route's allowed methods.
    MethodNotAllowed(String),
    /// 406: the `Accept` header excludes JSON.
    NotAcceptable,
    /// 409: the change conflicts with other records.
    Conflict(String),
    /// 408: the body did not arrive within the given seconds.
    RequestTimeout(u64),
    /// 413: the body exceeds the size limit.
    PayloadTooLarge(u64),
    /// 415 for the request's content type.
    UnsupportedMediaType(String),
    /// 429 with the wait in seconds.
    Throttled(u64),
    /// 500; the cause is logged, never sent.
    Internal(String),
}

impl ApiError {
    /// A 400 with one message for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut map = Map::new();
        map.insert(field.to_string(), json!([message.into()]));
        ApiError::Validation(map)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotAuthenticated | ApiError::AuthenticationFailed(_) => StatusCode::UNAUTHORIZED,
            ApiError::PermissionDenied | ApiError::Csrf(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::NotFoundPlain => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Renders the error as the reference does.
    pub fn into_reply(self) -> Reply {
        let status = self.status();
        let detail = |text: String| json!({ "detail": text });
        let body = match self {
            ApiError::Validation(map) => Value::Object(map),
            ApiError::BadRequest(message) => detail(message),
            ApiError::NotAuthenticated => {
                let mut reply = Reply::json(status, &detail("Authentication credentials were not provided.".into()));
                reply.set_header("WWW-Authenticate", "Token");
                return reply;
            }
            ApiError::AuthenticationFailed(message) => {
                let mut reply = Reply::json(status, &detail(message));
                reply.set_header("WWW-Authenticate", "Token");
                return reply;
            }
            ApiError::PermissionDenied => detail("You do not have permission to perform this action.".into()),
            ApiError::Csrf(reason) => detail(format!("CSRF Failed: {reason}")),
            ApiError::NotFound(model) => detail(format!("No {model} matches the given query.")),
            ApiError::NotFoundPlain => detail("Not found.".into()),
            ApiError::MethodNotAllowed(method) => detail(format!("Method \"{method}\" not allowed.")),
            ApiError::NotAcceptable => detail("Could not satisfy the request Accept header.".into()),
            ApiError::Conflict(message) => detail(message),
            ApiError::RequestTimeout(seconds) => detail(format!("The request body did not arrive within {seconds} seconds.")),
            ApiError::PayloadTooLarge(limit) => detail(format!("Request body exceeds the limit of {limit} bytes.")),
            ApiError::UnsupportedMediaType(media) => detail(format!("Unsupported media type \"{media}\" in request.")),
            ApiError::Throttled(seconds) => {
                let unit = if seconds == 1 { "second" } else { "seconds" };
                let mut reply = Reply::json(status, &detail(format!("Request was throttled. Expected available in {seconds} {unit}.")));
                reply.set_header("Retry-After", &seconds.to_string());
                return reply;
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "request failed with an internal error");
                return Reply::html(status, crate::http::html_page("Server Error (500)", ""));
            }
        };
        Reply::json(status, &body)
    }
}

impl From<keystone_storage::StorageError> for ApiError {
    fn from(error: keystone_storage::StorageError) -> Self {
        match error {
            // A record deleted by a concurrent request between its look-up and the change.
            keystone_storage::StorageError::NotFound => ApiError::NotFoundPlain,
            other => ApiError::Internal(other.to_string()),
        }
    }
}
