//! `/openapi/json/` and `/openapi/yaml/`: an OpenAPI 3.0.3 description of the API, generated
//! from the route table (`crate::api::AREAS`), so a route added there is documented too.
//!
//! Paths and methods come from each [`Route`], query parameters of lists from their list
//! descriptions ([`keystone_storage::query::Resource`]), and bodies from [`routes::ROUTE_SCHEMAS`]
//! and the component schemas in [`schemas`]. A route without an entry in that table is listed
//! without body schemas, and a unit test fails until it gets one. The two routes themselves are
//! left out of the document, as the reference server leaves them out. Both are public.

mod document;
mod parameters;
mod routes;
mod schemas;
mod types;

use std::sync::LazyLock;

use bytes::Bytes;
use futures::future::BoxFuture;
use serde::Serialize;
use warp::http::StatusCode;

use crate::api::READ;
use crate::error::ApiError;
use crate::http::{Reply, Request};
use crate::router::{allow_all, Access, Context, Route};

pub use document::{build, TITLE};

const JSON_PATH: &str = "/openapi/json/";
const YAML_PATH: &str = "/openapi/yaml/";

/// Media types of the JSON document; the first is the default.
const JSON_MEDIA_TYPES: &[&str] = &["application/vnd.oai.openapi+json", "application/json"];
/// Media types of the YAML document; the first is the default.
const YAML_MEDIA_TYPES: &[&str] = &["application/vnd.oai.openapi", "application/yaml"];

/// Routes of the OpenAPI document.
pub static ROUTES: &[Route] = &[
    Route {
        path: JSON_PATH,
        name: "Open API JSON",
        description: "Return the OpenAPI 3.0.3 description of this API as JSON.",
        methods: READ,
        access: Access::Public,
        permission: allow_all,
        handler: json_document,
    },
    Route {
        path: YAML_PATH,
        name: "Open API YAML",
        description: "Return the OpenAPI 3.0.3 description of this API as YAML.",
        methods: READ,
        access: Access::Public,
        permission: allow_all,
        handler: yaml_document,
    },
];

/// Returns the media types that the route at `path` renders, when they differ from the
/// `application/json` of every other route. Content negotiation accepts these instead.
pub fn rendered_media_types(path: &str) -> Option<&'static [&'static str]> {
    match path {
        JSON_PATH => Some(JSON_MEDIA_TYPES),
        YAML_PATH => Some(YAML_MEDIA_TYPES),
        _ => None,
    }
}

/// The document, rendered once: JSON with 4-space indents, and YAML. Responses borrow the
/// static bytes instead of copying them.
struct Rendered {
    json: Vec<u8>,
    yaml: Result<String, String>,
}

static RENDERED: LazyLock<Rendered> = LazyLock::new(|| {
    let document = build();
    Rendered { json: indented_json(&document), yaml: serde_yaml::to_string(&document).map_err(|error| error.to_string()) }
});

fn indented_json(document: &serde_json::Value) -> Vec<u8> {
    let mut output = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut output, formatter);
    document.serialize(&mut serializer).expect("a JSON value serializes into memory");
    output
}

pub fn json_document<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let rendered: &'static Rendered = &RENDERED;
        let media_type = chosen_media_type(context.request, JSON_MEDIA_TYPES);
        Ok(document_reply(media_type, Bytes::from_static(&rendered.json), "json"))
    })
}

pub fn yaml_document<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let rendered: &'static Rendered = &RENDERED;
        let yaml = rendered
            .yaml
            .as_ref()
            .map_err(|error| ApiError::Internal(format!("rendering the OpenAPI document as YAML failed: {error}")))?;
        let media_type = chosen_media_type(context.request, YAML_MEDIA_TYPES);
        Ok(document_reply(media_type, Bytes::from_static(yaml.as_bytes()), "yaml"))
    })
}

fn document_reply(media_type: &str, body: Bytes, extension: &str) -> Reply {
    let mut reply = Reply::text(StatusCode::OK, media_type, body);
    reply.set_header("Content-Disposition", &format!("inline; filename=\"{TITLE}.{extension}\""));
    reply
}

/// Picks the response media type: the first of `offered` that the `Accept` header names, or
/// the default (the first offered) for a wildcard or no header. The router has already
/// rejected headers that accept none of them.
fn chosen_media_type(request: &Request, offered: &'static [&'static str]) -> &'static str {
    let Some(accept) = request.header("accept") else {
        return offered[0];
    };
    for range in accept.split(',') {
        let media = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if let Some(found) = offered.iter().find(|candidate| **candidate == media) {
            return found;
        }
        if matches!(media.as_str(), "" | "*/*" | "application/*") {
            return offered[0];
        }
    }
    offered[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_indented_with_four_spaces() {
        let text = String::from_utf8(indented_json(&serde_json::json!({"a": [1]}))).unwrap();
        assert_eq!(text, "{\n    \"a\": [\n        1\n    ]\n}");
    }

    #[test]
    fn yaml_renders_the_same_document() {
        let yaml = RENDERED.yaml.as_ref().unwrap();
        let parsed: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(parsed, build());
    }

    #[test]
    fn only_document_routes_have_other_media_types() {
        assert_eq!(rendered_media_types("/openapi/json/"), Some(JSON_MEDIA_TYPES));
        assert_eq!(rendered_media_types("/users/users/"), None);
    }
}
