//! Responses before they are handed to warp.

use bytes::Bytes;
use serde::Serialize;
use warp::http::header::{HeaderName, HeaderValue};
use warp::http::{HeaderMap, Response, StatusCode};

/// A response: status, headers and body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// A compact JSON body (no spaces, non-ASCII kept as UTF-8), as the reference renders it.
    pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Reply {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        let mut reply = Reply::empty(status);
        reply.set_header("Content-Type", "application/json");
        reply.body = Bytes::from(body);
        reply
    }

    pub fn text(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
        let mut reply = Reply::empty(status);
        reply.set_header("Content-Type", content_type);
        reply.body = body.into();
        reply
    }

    pub fn html(status: StatusCode, body: String) -> Reply {
        Reply::text(status, "text/html; charset=utf-8", body)
    }

    /// A response with no body and no `Content-Type`.
    pub fn empty(status: StatusCode) -> Reply {
        Reply { status, headers: HeaderMap::new(), body: Bytes::new() }
    }

    /// Sets a header, replacing any earlier value. Invalid values are dropped and logged,
    /// because they come from code, never from clients.
    pub fn set_header(&mut self, name: &str, value: &str) {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.insert(name, value);
            }
            _ => tracing::error!(header = name, "dropped an invalid response header"),
        }
    }

    /// Adds a header value, keeping earlier ones (for `Set-Cookie`).
    pub fn append_header(&mut self, name: &str, value: &str) {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => tracing::error!(header = name, "dropped an invalid response header"),
        }
    }

    /// Converts into a warp response; `head` drops the body but keeps its length.
    pub fn into_response(self, head: bool) -> Response<warp::hyper::Body> {
        let length = self.body.len();
        let body = if head { warp::hyper::Body::empty() } else { warp::hyper::Body::from(self.body) };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        if head && length > 0 {
            response.headers_mut().insert("content-length", HeaderValue::from(length));
        }
        response
    }
}

/// Renders the minimal HTML error page the reference serves outside its JSON API.
pub fn html_page(title: &str, details: &str) -> String {
    format!(
        "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>{title}</title>\n</head>\n<body>\n  <h1>{title}</h1><p>{details}</p>\n</body>\n</html>\n"
    )
}
