//! `/openapi/json/` and `/openapi/yaml/`: status codes, headers and content negotiation, and the
//! document compared with the reference server's OpenAPI document.
//!
//! `tests/fixtures/openapi/reference_contract.json` holds names taken from the reference
//! document: for each path its methods, for each operation its query parameters and the
//! schemas of its request and response bodies, and for each component schema its property
//! names. The lists below name every deliberate difference, so a change on either side fails
//! here until a list records it with its reason.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use keystone_blackbox::{token_client, Backend, Client, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const REFERENCE_CONTRACT: &str = include_str!("../fixtures/openapi/reference_contract.json");

/// Reference paths that Keystone does not serve yet, so they get the HTML 404 page: batch
/// jobs, notifications and statistics.
const NOT_SERVED: &[&str] = &[
    "/batch/",
    "/notifications/notification-choices/type/",
    "/notifications/notifications/",
    "/notifications/notifications/{id}/",
    "/notifications/preferences/",
    "/notifications/preferences/{id}/",
    "/stats/grants/",
    "/stats/notifications/",
    "/stats/publications/",
    "/stats/requests/",
];

/// Paths that Keystone serves beyond the reference: attachment downloads, which the reference
/// leaves to its reverse proxy.
const ADDED_PATHS: &[&str] = &["/allocations/attachments/{id}/download/"];

/// Query parameters of the reference that Keystone rejects on purpose: filters on the password
/// hash would let any signed-in user probe hashes.
const REMOVED_QUERY_PARAMETERS: &[(&str, &[&str])] = &[(
    "/users/users/",
    &[
        "password",
        "password__contains",
        "password__endswith",
        "password__in",
        "password__isnull",
        "password__not_contains",
        "password__not_endswith",
        "password__not_eq",
        "password__not_in",
        "password__not_startswith",
        "password__startswith",
    ],
)];

/// Query parameters that Keystone accepts beyond the reference: the audit log's
/// `remote_addr` is a text column here, so it has the text operators, where the reference's
/// IP-address field has only the operators every field has.
const ADDED_QUERY_PARAMETERS: &[(&str, &[&str])] = &[(
    "/logs/audit/",
    &[
        "remote_addr__contains",
        "remote_addr__endswith",
        "remote_addr__not_contains",
        "remote_addr__not_endswith",
        "remote_addr__not_startswith",
        "remote_addr__startswith",
    ],
)];

/// A response whose body schema differs from the reference's; `None` is an inline schema or
/// no body.
struct ChangedResponse {
    path: &'static str,
    method: &'static str,
    status: &'static str,
    reference: Option<&'static str>,
    ours: Option<&'static str>,
}

/// The reference describes `/health/json/` with an inline free-form object, Keystone with a
/// component schema of the check results.
const CHANGED_RESPONSES: &[ChangedResponse] =
    &[ChangedResponse { path: "/health/json/", method: "get", status: "200", reference: None, ours: Some("HealthCheckResults") }];

/// Reference component schemas that only paths in [`NOT_SERVED`] use.
const SCHEMAS_OF_UNSERVED_PATHS: &[&str] = &[
    "AllocationRequestStats",
    "GrantStats",
    "JobExecutionError",
    "JobRequest",
    "JobRequestRequest",
    "JobResult",
    "JobStepRequest",
    "JobStepResult",
    "Notification",
    "NotificationStats",
    "NotificationTypeChoices",
    "PaginatedNotificationList",
    "PaginatedPreferenceList",
    "PatchedNotificationRequest",
    "PatchedPreferenceRequest",
    "Preference",
    "PreferenceRequest",
    "PublicationStats",
];

/// Reference component schemas that nothing in the reference document refers to: request forms
/// of nested records, which no endpoint accepts.
const UNREFERENCED_SCHEMAS: &[&str] = &[
    "AllocationRequestSummaryRequest",
    "AttachmentSummaryRequest",
    "AuditLogSummaryRequest",
    "ClusterSummaryRequest",
    "GrantSummaryRequest",
    "PublicationSummaryRequest",
    "ResourceAllocationSummaryRequest",
    "TeamRoleRequest",
    "TeamSummaryRequest",
    "UserRoleRequest",
    "UserSummaryRequest",
];

/// Component schemas that Keystone adds.
const ADDED_SCHEMAS: &[&str] = &["HealthCheckResults"];

const JSON_PATH: &str = "/openapi/json/";
const YAML_PATH: &str = "/openapi/yaml/";

fn reference() -> Value {
    serde_json::from_str(REFERENCE_CONTRACT).expect("the reference contract fixture is JSON")
}

fn names(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|value| value.to_string()).collect()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().map(|object| object.keys().cloned().collect()).unwrap_or_default()
}

fn lookup<'a>(table: &'a [(&str, &'a [&'a str])], path: &str) -> BTreeSet<String> {
    table.iter().find(|(entry, _)| *entry == path).map(|(_, values)| names(values)).unwrap_or_default()
}

async fn fetch_document(client: &Client) -> Value {
    let response = client.get(JSON_PATH).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()
}

/// Returns whether the server routes `path` (with `{id}` as 1): an unrouted path gets the HTML
/// 404 page, and a routed one anything else, such as 401 or a JSON 404.
async fn is_served(client: &Client, path: &str) -> bool {
    let response = client.get(&path.replace("{id}", "1")).await;
    let html = response.header("content-type").is_some_and(|value| value.starts_with("text/html"));
    !(response.status == StatusCode::NOT_FOUND && html)
}

/// Returns the name of the component schema that a request or response body refers to, if any.
fn schema_name(content: Option<&Value>) -> Option<String> {
    let references: BTreeSet<String> = content?
        .as_object()?
        .values()
        .filter_map(|media| media["schema"]["$ref"].as_str())
        .map(|target| target.rsplit('/').next().unwrap_or("").to_string())
        .collect();
    assert!(references.len() <= 1, "a body refers to several schemas: {references:?}");
    references.into_iter().next()
}

#[tokio::test]
async fn document_routes_status_and_headers() {
    let server = TestServer::start(Backend::Sqlite).await;
    let anonymous = server.client();

    let json = anonymous.get(JSON_PATH).await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.header("content-type"), Some("application/vnd.oai.openapi+json"));
    assert_eq!(json.header("content-disposition"), Some("inline; filename=\"Keystone API.json\""));
    assert_eq!(json.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert!(json.body.starts_with("{\n    \"openapi\": \"3.0.3\",\n    \"info\": {\n        \"title\""), "{}", &json.body[..200]);

    let yaml = anonymous.get(YAML_PATH).await;
    assert_eq!(yaml.status, StatusCode::OK);
    assert_eq!(yaml.header("content-type"), Some("application/vnd.oai.openapi"));
    assert_eq!(yaml.header("content-disposition"), Some("inline; filename=\"Keystone API.yaml\""));
    assert!(yaml.body.starts_with("openapi: 3.0.3\n"), "{}", &yaml.body[..200]);

    for path in [JSON_PATH, YAML_PATH] {
        let head = anonymous.send(anonymous.request(Method::HEAD, path)).await;
        assert_eq!(head.status, StatusCode::OK, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path}");
        let options = anonymous.send(anonymous.request(Method::OPTIONS, path)).await;
        assert_eq!(options.status, StatusCode::OK, "OPTIONS {path}");
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let response = anonymous.send(anonymous.request(method.clone(), path)).await;
            assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(response.json()["detail"], format!("Method \"{method}\" not allowed."));
        }
    }

    let db = server.storage().await;
    let user_id = server.create_user("reader", "quiet-lantern-47", false).await;
    let signed_in = token_client(&server, &db, user_id).await;
    assert_eq!(signed_in.get(JSON_PATH).await.status, StatusCode::OK);
    assert_eq!(signed_in.get(YAML_PATH).await.status, StatusCode::OK);

    let index = anonymous.get("/openapi/").await;
    assert_eq!(index.status, StatusCode::NOT_FOUND);
    assert!(index.header("content-type").is_some_and(|value| value.starts_with("text/html")));
    let slashless = anonymous.get("/openapi/json").await;
    assert_eq!(slashless.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(slashless.header("location"), Some(JSON_PATH));
}

#[tokio::test]
async fn document_routes_negotiate_media_types() {
    let server = TestServer::start(Backend::Sqlite).await;
    let client = server.client();
    let cases = [
        (JSON_PATH, "application/vnd.oai.openapi+json", StatusCode::OK, Some("application/vnd.oai.openapi+json")),
        (JSON_PATH, "application/json", StatusCode::OK, Some("application/json")),
        (JSON_PATH, "*/*", StatusCode::OK, Some("application/vnd.oai.openapi+json")),
        (JSON_PATH, "text/html, application/json;q=0.9", StatusCode::OK, Some("application/json")),
        (JSON_PATH, "text/html", StatusCode::NOT_ACCEPTABLE, Some("application/json")),
        (JSON_PATH, "application/yaml", StatusCode::NOT_ACCEPTABLE, Some("application/json")),
        (YAML_PATH, "application/vnd.oai.openapi", StatusCode::OK, Some("application/vnd.oai.openapi")),
        (YAML_PATH, "application/yaml", StatusCode::OK, Some("application/yaml")),
        (YAML_PATH, "*/*", StatusCode::OK, Some("application/vnd.oai.openapi")),
        (YAML_PATH, "application/*", StatusCode::OK, Some("application/vnd.oai.openapi")),
        (YAML_PATH, "application/json", StatusCode::NOT_ACCEPTABLE, Some("application/json")),
    ];
    for (path, accept, status, content_type) in cases {
        let response = client.send(client.request(Method::GET, path).header("Accept", accept)).await;
        assert_eq!(response.status, status, "{path} with Accept: {accept}: {}", response.body);
        assert_eq!(response.header("content-type"), content_type, "{path} with Accept: {accept}");
        if status == StatusCode::NOT_ACCEPTABLE {
            assert_eq!(response.json()["detail"], "Could not satisfy the request Accept header.");
        }
    }

    let other_route = client.send(client.request(Method::GET, "/version/").header("Accept", "application/vnd.oai.openapi")).await;
    assert_eq!(other_route.status, StatusCode::NOT_ACCEPTABLE, "only the OpenAPI routes render the OpenAPI media types");
}

#[tokio::test]
async fn json_and_yaml_are_one_document() {
    let server = TestServer::start(Backend::Sqlite).await;
    let client = server.client();
    let from_json = fetch_document(&client).await;
    let yaml = client.get(YAML_PATH).await;
    assert_eq!(yaml.status, StatusCode::OK);
    let from_yaml: Value = serde_yaml::from_str(&yaml.body).expect("the YAML document parses");
    assert_eq!(from_json, from_yaml);
    assert_eq!(from_json["openapi"], "3.0.3");
    assert_eq!(from_json["info"]["title"], "Keystone API");
}

#[tokio::test]
async fn document_paths_match_reference() {
    let server = TestServer::start(Backend::Sqlite).await;
    let client = server.client();
    let document = fetch_document(&client).await;
    let reference = reference();
    let ours = keys(&document["paths"]);
    let theirs = keys(&reference["paths"]);
    let not_served = names(NOT_SERVED);

    for path in &theirs {
        if not_served.contains(path) {
            assert!(!ours.contains(path), "{path} is documented but listed in NOT_SERVED");
            assert!(!is_served(&client, path).await, "{path} is served: document it and remove it from NOT_SERVED");
            continue;
        }
        assert!(ours.contains(path), "{path} is missing from the document");
        let our_methods = keys(&document["paths"][path]);
        let their_methods = keys(&reference["paths"][path]);
        assert_eq!(our_methods, their_methods, "methods of {path}");
    }

    let added: BTreeSet<String> = ours.difference(&theirs).cloned().collect();
    assert_eq!(added, names(ADDED_PATHS), "paths beyond the reference");
    for path in &ours {
        assert!(is_served(&client, path).await, "{path} is documented but not served");
    }
    assert!(!ours.contains(JSON_PATH), "the document lists its own JSON route");
    assert!(!ours.contains(YAML_PATH), "the document lists its own YAML route");
}

#[tokio::test]
async fn document_operations_match_reference() {
    let server = TestServer::start(Backend::Sqlite).await;
    let document = fetch_document(&server.client()).await;
    let reference = reference();

    for (path, methods) in reference["paths"].as_object().unwrap() {
        let Some(item) = document["paths"].get(path) else { continue };
        for (method, expected) in methods.as_object().unwrap() {
            let operation = &item[method];
            let query: BTreeSet<String> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .filter(|parameter| parameter["in"] == "query")
                        .map(|parameter| parameter["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            let mut expected_query: BTreeSet<String> =
                expected["query"].as_array().unwrap().iter().map(|name| name.as_str().unwrap().to_string()).collect();
            if method == "get" {
                expected_query = expected_query.difference(&lookup(REMOVED_QUERY_PARAMETERS, path)).cloned().collect();
                expected_query.extend(lookup(ADDED_QUERY_PARAMETERS, path));
            }
            assert_eq!(query, expected_query, "query parameters of {method} {path}");

            let request = schema_name(operation["requestBody"].get("content"));
            assert_eq!(request.as_deref(), expected["request"].as_str(), "request body of {method} {path}");

            let mut expected_responses: BTreeMap<String, Option<String>> = expected["responses"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(status, schema)| (status.clone(), schema.as_str().map(str::to_string)))
                .collect();
            for changed in CHANGED_RESPONSES.iter().filter(|changed| changed.path == path && changed.method == method) {
                let theirs = changed.reference.map(str::to_string);
                assert_eq!(expected_responses.get(changed.status), Some(&theirs), "CHANGED_RESPONSES entry for {method} {path}");
                expected_responses.insert(changed.status.to_string(), changed.ours.map(str::to_string));
            }
            let responses: BTreeMap<String, Option<String>> = operation["responses"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(status, response)| (status.clone(), schema_name(response.get("content"))))
                .collect();
            assert_eq!(responses, expected_responses, "responses of {method} {path}");
        }
    }
}

#[tokio::test]
async fn document_schemas_match_reference() {
    let server = TestServer::start(Backend::Sqlite).await;
    let document = fetch_document(&server.client()).await;
    let reference = reference();
    let ours = keys(&document["components"]["schemas"]);
    let theirs = keys(&reference["schemas"]);

    let mut omitted = names(SCHEMAS_OF_UNSERVED_PATHS);
    omitted.extend(names(UNREFERENCED_SCHEMAS));
    let missing: BTreeSet<String> = theirs.difference(&ours).cloned().collect();
    assert_eq!(missing, omitted, "reference schemas missing from the document");
    let added: BTreeSet<String> = ours.difference(&theirs).cloned().collect();
    assert_eq!(added, names(ADDED_SCHEMAS), "schemas beyond the reference");

    for name in ours.intersection(&theirs) {
        let our_properties: Vec<&String> = document["components"]["schemas"][name]["properties"].as_object().unwrap().keys().collect();
        let their_properties: Vec<&str> =
            reference["schemas"][name].as_array().unwrap().iter().map(|property| property.as_str().unwrap()).collect();
        assert_eq!(our_properties, their_properties, "properties of {name}, in order");
    }
}

/// Collects every `$ref` target under `value`.
fn collect_references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(target)) = object.get("$ref") {
                found.insert(target.clone());
            }
            object.values().for_each(|child| collect_references(child, found));
        }
        Value::Array(items) => items.iter().for_each(|child| collect_references(child, found)),
        _ => {}
    }
}

#[tokio::test]
async fn document_is_valid_openapi() {
    let server = TestServer::start(Backend::Sqlite).await;
    let client = server.client();
    let document = fetch_document(&client).await;

    let mut targets = BTreeSet::new();
    collect_references(&document, &mut targets);
    let schemas = &document["components"]["schemas"];
    for target in &targets {
        let name = target.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{target} is not a component reference"));
        assert!(schemas.get(name).is_some(), "{target} does not resolve");
    }

    let mut operation_ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let templated: BTreeSet<&str> = path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect();
        for (method, operation) in item.as_object().unwrap() {
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .filter(|parameter| parameter["in"] == "path" && parameter["required"] == true)
                        .map(|parameter| parameter["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(declared, templated, "path parameters of {method} {path}");
            assert!(!keys(&operation["responses"]).is_empty(), "{method} {path} has no responses");
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(operation_ids.insert(id.to_string()), "operationId {id} repeats");
        }
    }

    validate_with_python_tool(&client).await;
}

/// Runs `openapi-spec-validator` on the YAML document when Python has the package installed
/// (`pip install openapi-spec-validator`); the structural checks above run either way.
async fn validate_with_python_tool(client: &Client) {
    let available =
        Command::new("python3").args(["-c", "import openapi_spec_validator"]).output().is_ok_and(|output| output.status.success());
    if !available {
        eprintln!("skipped openapi-spec-validator: the Python package is not installed");
        return;
    }
    let yaml = client.get(YAML_PATH).await;
    let folder = tempfile::tempdir().expect("failed to create a temporary folder");
    let file = folder.path().join("keystone-openapi.yaml");
    std::fs::write(&file, &yaml.body).expect("failed to write the document");
    let output =
        Command::new("python3").args(["-m", "openapi_spec_validator"]).arg(&file).output().expect("failed to run openapi-spec-validator");
    assert!(
        output.status.success(),
        "openapi-spec-validator rejected the document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
