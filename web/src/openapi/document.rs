//! Builds the OpenAPI document from the router's route table, the route schema table and the
//! component schemas.

use serde_json::{json, Map, Value};
use warp::http::Method;

use super::parameters::{id_parameter, list_parameters};
use super::routes::{schemas_of, Content, RouteSchemas};
use super::schemas::{self, paginated, paginated_name};
use super::types::reference;
use crate::router::{Access, Route};
use crate::state::VERSION;

/// The document title; the download file names are derived from it.
pub const TITLE: &str = "Keystone API";

/// Methods in the order operations are listed under a path.
const METHOD_ORDER: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// Media types that every request body may be sent as.
const BODY_MEDIA_TYPES: [&str; 3] = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"];

/// Builds the document for every route of `crate::api::AREAS` except the document's own routes.
pub fn build() -> Value {
    let routes: Vec<&'static Route> = crate::api::AREAS
        .iter()
        .flat_map(|routes| routes.iter())
        .filter(|route| !super::ROUTES.iter().any(|own| own.path == route.path))
        .collect();

    let mut paths = Map::new();
    let mut list_items = Vec::new();
    for route in &routes {
        let entry = schemas_of(route.path);
        if let Some(RouteSchemas { list: Some(_), output: Content::Schema(item), .. }) = entry {
            list_items.push(*item);
        }
        paths.insert(route.path.to_string(), path_item(route, entry));
    }

    let mut components = Map::new();
    for (name, schema) in schemas::all() {
        components.insert(name.to_string(), schema);
    }
    for item in list_items {
        components.insert(paginated_name(item), paginated(item));
    }

    json!({
        "openapi": "3.0.3",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "The REST API of Keystone, which manages HPC resource allocations: users, teams, allocation requests and reviews, grants and publications.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "tokenAuth": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "An API token, sent as `Authorization: Token <key>`.",
                },
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "sessionid",
                    "description": "The session cookie that `/authentication/login/` sets. Unsafe methods also need the `X-CSRFToken` header.",
                },
            },
        },
    })
}

/// The operations of one route, one per method it implements besides `HEAD` and `OPTIONS`.
fn path_item(route: &Route, entry: Option<&RouteSchemas>) -> Value {
    let mut item = Map::new();
    for method in METHOD_ORDER.iter().filter(|method| route.methods.contains(method)) {
        item.insert(method.as_str().to_ascii_lowercase(), operation(route, entry, method));
    }
    Value::Object(item)
}

fn operation(route: &Route, entry: Option<&RouteSchemas>, method: &Method) -> Value {
    let is_list = entry.is_some_and(|entry| entry.list.is_some());
    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(operation_id(route.path, method, is_list)));
    operation.insert("summary".into(), json!(route.name));
    operation.insert("description".into(), json!(route.description));
    operation.insert("tags".into(), json!([entry.map_or_else(|| default_tag(route.path), |entry| entry.tag.to_string())]));

    let mut parameters = Vec::new();
    if route.path.contains("{id}") {
        parameters.push(id_parameter());
    }
    if let (&Method::GET, Some(resource)) = (method, entry.and_then(|entry| entry.list)) {
        parameters.extend(list_parameters(resource));
    }
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }

    if let Some(entry) = entry {
        if let Some(body) = request_body(entry, method) {
            operation.insert("requestBody".into(), body);
        }
    }
    if route.access != Access::Public {
        operation.insert("security".into(), json!([{"tokenAuth": []}, {"cookieAuth": []}]));
    }
    operation.insert("responses".into(), responses(entry, method));
    Value::Object(operation)
}

/// `<path segments joined by _>_<action>`, such as `users_teams_partial_update`.
fn operation_id(path: &str, method: &Method, is_list: bool) -> String {
    let segments: Vec<String> =
        path.split('/').filter(|segment| !segment.is_empty() && *segment != "{id}").map(|segment| segment.replace('-', "_")).collect();
    let action = match *method {
        Method::GET if is_list => "list",
        Method::GET => "retrieve",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "partial_update",
        _ => "destroy",
    };
    format!("{}_{action}", segments.join("_"))
}

/// Returns a tag for a route missing from the schema table: its first path segment, capitalised.
fn default_tag(path: &str) -> String {
    let first = path.split('/').find(|segment| !segment.is_empty()).unwrap_or("api");
    let mut characters = first.chars();
    characters.next().map(|initial| initial.to_uppercase().chain(characters).collect()).unwrap_or_default()
}

fn request_body(entry: &RouteSchemas, method: &Method) -> Option<Value> {
    let (schema, required) = match *method {
        Method::POST => (entry.create?.to_string(), true),
        Method::PUT => (entry.update?.to_string(), true),
        Method::PATCH => (format!("Patched{}", entry.update?), false),
        _ => return None,
    };
    let media_types: &[&str] = if entry.upload && *method != Method::PATCH { &["multipart/form-data"] } else { &BODY_MEDIA_TYPES };
    let mut content = Map::new();
    for media_type in media_types {
        content.insert((*media_type).to_string(), json!({"schema": reference(&schema)}));
    }
    let mut body = json!({"content": content});
    if required && has_required_fields(&schema) {
        body["required"] = Value::Bool(true);
    }
    Some(body)
}

/// Returns whether the component schema `name` requires any property.
fn has_required_fields(name: &str) -> bool {
    schemas::COMPONENTS.iter().find(|(component, _)| *component == name).is_some_and(|(_, build)| build().get("required").is_some())
}

fn responses(entry: Option<&RouteSchemas>, method: &Method) -> Value {
    let Some(entry) = entry else {
        return json!({"200": {"description": "Success."}});
    };
    let is_list = entry.list.is_some();
    let mut responses = Map::new();
    match *method {
        Method::GET if is_list => {
            let Content::Schema(item) = entry.output else { unreachable!("list routes render records") };
            responses.insert("200".into(), json_response("One page of records.", reference(&paginated_name(item))));
        }
        Method::GET => {
            responses.insert("200".into(), response("Success.", entry.output));
            for (status, description) in entry.other_statuses {
                responses.insert((*status).to_string(), json!({"description": description}));
            }
        }
        Method::POST if is_list => {
            responses.insert("201".into(), response("The created record.", entry.output));
        }
        Method::POST => {
            responses.insert("200".into(), response("Success.", entry.output));
        }
        Method::PUT | Method::PATCH => {
            let output = entry.updated.map_or(entry.output, Content::Schema);
            responses.insert("200".into(), response("The updated record.", output));
        }
        _ => {
            responses.insert("204".into(), json!({"description": "Deleted. No response body."}));
        }
    }
    Value::Object(responses)
}

fn response(description: &str, content: Content) -> Value {
    match content {
        Content::Schema(name) => json_response(description, reference(name)),
        Content::Text(media_type) => json!({"description": description, "content": {media_type: {"schema": {"type": "string"}}}}),
        Content::File => json!({
            "description": "The file's content, with a `Content-Type` guessed from its name.",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }),
        Content::Empty => json!({"description": format!("{description} No response body.")}),
    }
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::openapi::routes::ROUTE_SCHEMAS;
    use crate::openapi::types::COMPONENT_PREFIX;

    fn served_routes() -> impl Iterator<Item = &'static Route> {
        crate::api::AREAS
            .iter()
            .flat_map(|routes| routes.iter())
            .filter(|route| !crate::openapi::ROUTES.iter().any(|own| own.path == route.path))
    }

    /// Collects every `$ref` target under `value`.
    fn references(value: &Value, found: &mut BTreeSet<String>) {
        match value {
            Value::Object(object) => {
                if let Some(Value::String(target)) = object.get("$ref") {
                    found.insert(target.clone());
                }
                object.values().for_each(|child| references(child, found));
            }
            Value::Array(items) => items.iter().for_each(|child| references(child, found)),
            _ => {}
        }
    }

    #[test]
    fn every_served_route_is_documented() {
        let document = build();
        for route in served_routes() {
            let item = &document["paths"][route.path];
            assert!(item.is_object(), "{} is missing", route.path);
            for method in route.methods {
                assert!(item.get(method.as_str().to_ascii_lowercase()).is_some(), "{} {method} is missing", route.path);
            }
        }
        assert!(document["paths"].get("/openapi/json/").is_none());
        assert!(document["paths"].get("/openapi/yaml/").is_none());
    }

    #[test]
    fn every_served_route_has_schemas() {
        for route in served_routes() {
            assert!(schemas_of(route.path).is_some(), "{} has no entry in ROUTE_SCHEMAS", route.path);
        }
    }

    #[test]
    fn every_schema_entry_is_served() {
        for entry in ROUTE_SCHEMAS {
            assert!(served_routes().any(|route| route.path == entry.path), "{} is not a route", entry.path);
        }
    }

    #[test]
    fn references_resolve_and_components_are_used() {
        let document = build();
        let mut found = BTreeSet::new();
        references(&document, &mut found);
        let components = document["components"]["schemas"].as_object().unwrap();
        for target in &found {
            let name = target.strip_prefix(COMPONENT_PREFIX).unwrap_or_else(|| panic!("{target} is not a component reference"));
            assert!(components.contains_key(name), "{target} does not resolve");
        }
        for name in components.keys() {
            assert!(found.contains(&format!("{COMPONENT_PREFIX}{name}")), "{name} is never referenced");
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let document = build();
        let mut ids = BTreeSet::new();
        for item in document["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                let id = operation["operationId"].as_str().unwrap().to_string();
                assert!(ids.insert(id.clone()), "{id} repeats");
            }
        }
    }

    #[test]
    fn operation_ids_follow_path_and_action() {
        assert_eq!(operation_id("/users/teams/{id}/", &Method::PATCH, false), "users_teams_partial_update");
        assert_eq!(operation_id("/users/membership-choices/role/", &Method::GET, false), "users_membership_choices_role_retrieve");
        assert_eq!(operation_id("/logs/feed/", &Method::GET, true), "logs_feed_list");
    }

    #[test]
    fn default_tag_capitalises_first_segment() {
        assert_eq!(default_tag("/stats/grants/"), "Stats");
    }

    #[test]
    fn upload_bodies_are_multipart() {
        let document = build();
        let create = &document["paths"]["/allocations/attachments/"]["post"]["requestBody"];
        assert_eq!(create["content"].as_object().unwrap().keys().collect::<Vec<_>>(), ["multipart/form-data"]);
        assert_eq!(create["required"], true);
        let patch = &document["paths"]["/allocations/attachments/{id}/"]["patch"]["requestBody"];
        assert_eq!(patch["content"].as_object().unwrap().len(), 3);
        assert!(patch.get("required").is_none());
    }
}
