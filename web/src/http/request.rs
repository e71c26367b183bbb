//! The request as handlers see it, and body parsing for JSON, form and multipart bodies.

use std::net::SocketAddr;

use bytes::Bytes;
use serde_json::{Map, Value};
use warp::http::{HeaderMap, Method};

use crate::error::ApiError;

/// One HTTP request, fully read.
#[derive(Debug)]
pub struct Request {
    pub method: Method,
    /// Path without the query string, percent-decoding not applied.
    pub path: String,
    /// Raw query string, without `?`.
    pub query: String,
    pub headers: HeaderMap,
    pub remote: Option<SocketAddr>,
    pub body: Bytes,
    /// Correlation id: `X-KEYSTONE-CID` when it is a UUID, else a fresh one.
    pub cid: String,
}

/// A file part of a multipart body.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    pub field: String,
    pub filename: String,
    pub data: Bytes,
}

/// A parsed request body: fields as JSON values, plus any uploaded files.
#[derive(Debug, Default)]
pub struct Body {
    pub data: Value,
    pub files: Vec<UploadedFile>,
}

impl Body {
    /// The fields as an object, or the reference's error for any other JSON value.
    pub fn object(&self) -> Result<&Map<String, Value>, ApiError> {
        match &self.data {
            Value::Object(map) => Ok(map),
            other => Err(ApiError::field(
                "non_field_errors",
                format!("Invalid data. Expected a dictionary, but got {}.", python_type_name(other)),
            )),
        }
    }
}

/// The Python type name the reference reports for a JSON value.
pub fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(number) if number.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The media type of the body, lower-cased, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|value| value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }

    /// Parses the body by its content type: JSON, form-urlencoded or multipart.
    pub async fn parse_body(&self) -> Result<Body, ApiError> {
        let content_type = self.header("content-type").unwrap_or("").to_string();
        let media_type = self.media_type().unwrap_or_default();
        if self.body.is_empty() {
            return Ok(Body { data: Value::Object(Map::new()), files: Vec::new() });
        }
        match media_type.as_str() {
            "application/json" => {
                let data = serde_json::from_slice::<Value>(&self.body)
                    .map_err(|error| ApiError::BadRequest(format!("JSON parse error - {error}")))?;
                Ok(Body { data, files: Vec::new() })
            }
            "application/x-www-form-urlencoded" => {
                let mut map = Map::new();
                for (key, value) in url::form_urlencoded::parse(&self.body) {
                    map.insert(key.into_owned(), Value::String(value.into_owned()));
                }
                Ok(Body { data: Value::Object(map), files: Vec::new() })
            }
            "multipart/form-data" => parse_multipart(&content_type, self.body.clone()).await,
            _ => Err(ApiError::UnsupportedMediaType(content_type)),
        }
    }

    /// Returns the value of a cookie sent by the client. As in the reference (Django), the header is
    /// decoded as UTF-8 with invalid bytes replaced, so a foreign cookie with non-ASCII bytes
    /// does not hide the others, and the last of several same-named cookies wins.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let mut found = None;
        for header in self.headers.get_all("cookie") {
            for pair in String::from_utf8_lossy(header.as_bytes()).split(';') {
                if let Some((key, value)) = pair.trim().split_once('=') {
                    if key.trim() == name {
                        found = Some(value.trim().trim_matches('"').to_string());
                    }
                }
            }
        }
        found
    }

    /// The query string as decoded pairs, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes()).map(|(key, value)| (key.into_owned(), value.into_owned())).collect()
    }

    /// The client address: the first `X-Forwarded-For` entry when it is an IP address, else
    /// the peer address. Anything else a client puts there is ignored, because the address is
    /// stored in audit and request records.
    pub fn client_address(&self) -> Option<String> {
        if let Some(forwarded) = self.header("x-forwarded-for") {
            let first = forwarded.split(',').next().unwrap_or("").trim();
            if let Ok(address) = first.parse::<std::net::IpAddr>() {
                return Some(address.to_string());
            }
        }
        self.remote.map(|address| address.ip().to_string())
    }

    /// Whether the client used HTTPS. Keystone itself serves plain HTTP, so this is true only
    /// behind a TLS-terminating proxy that sends `X-Forwarded-Proto: https`.
    pub fn is_secure(&self) -> bool {
        self.header("x-forwarded-proto").is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
    }

    /// Scheme and host of this request, as `http://host[:port]`.
    pub fn own_origin(&self) -> String {
        let scheme = if self.is_secure() { "https" } else { "http" };
        format!("{scheme}://{}", self.header("host").unwrap_or("localhost"))
    }
}

async fn parse_multipart(content_type: &str, body: Bytes) -> Result<Body, ApiError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ApiError::BadRequest("Multipart form parse error - Invalid boundary in multipart: None".to_string()))?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Map::new();
    let mut files = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return Err(ApiError::BadRequest(format!("Multipart form parse error - {error}"))),
        };
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let data = field.bytes().await.map_err(|error| ApiError::BadRequest(format!("Multipart form parse error - {error}")))?;
        match filename {
            Some(filename) => files.push(UploadedFile { field: name, filename, data }),
            None => {
                fields.insert(name, Value::String(String::from_utf8_lossy(&data).into_owned()));
            }
        }
    }
    Ok(Body { data: Value::Object(fields), files })
}
