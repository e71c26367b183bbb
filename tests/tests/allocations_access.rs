//! Status codes of every allocations route for every role and method: anonymous, signed in
//! without a membership, team member, team admin, team owner and staff, each sending GET,
//! HEAD, OPTIONS, POST, PUT, PATCH, DELETE and TRACE.

#[path = "../fixtures/allocations/world.rs"]
mod world;

use keystone_blackbox::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use world::{client_for, send, Actor, World};

/// Methods in the order of the expected-status arrays.
const METHODS: [&str; 8] = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE"];
/// Methods in the order they are sent: DELETE last, so that the record exists until then.
const SEND_ORDER: [usize; 8] = [0, 1, 2, 3, 4, 5, 7, 6];

const ANONYMOUS: [u16; 8] = [401; 8];
const LIST_READ_ONLY: [u16; 8] = [200, 200, 200, 403, 405, 405, 405, 405];
const LIST_CREATE: [u16; 8] = [200, 200, 200, 201, 405, 405, 405, 405];
const DETAIL_HIDDEN: [u16; 8] = [403, 403, 200, 405, 403, 403, 403, 405];
const DETAIL_READ_ONLY: [u16; 8] = [200, 200, 200, 405, 403, 403, 403, 405];
const DETAIL_WRITE: [u16; 8] = [200, 200, 200, 405, 200, 200, 204, 405];
const CHOICES: [u16; 8] = [200, 200, 200, 405, 405, 405, 405, 405];

/// Bodies of the writing methods.
struct Bodies {
    post: Value,
    put: Value,
    patch: Value,
}

impl Bodies {
    fn for_method(&self, method: &str) -> Option<&Value> {
        match method {
            "POST" => Some(&self.post),
            "PUT" => Some(&self.put),
            "PATCH" => Some(&self.patch),
            _ => None,
        }
    }
}

/// Sends every method to `path` as `actor` and records each status that differs from
/// `expected`.
async fn check_methods(server: &TestServer, actor: &Actor, path: &str, bodies: &Bodies, expected: [u16; 8], failures: &mut Vec<String>) {
    let client = client_for(server, actor);
    for index in SEND_ORDER {
        let name = METHODS[index];
        let method = Method::from_bytes(name.as_bytes()).expect("valid method");
        let response = send(&client, method, path, bodies.for_method(name)).await;
        if response.status.as_u16() != expected[index] {
            failures
                .push(format!("{} {name} {path}: expected {}, got {} {}", actor.label, expected[index], response.status, response.body));
        }
    }
}

fn expectations(world: &World, table: [[u16; 8]; 6]) -> Vec<(&Actor, [u16; 8])> {
    world.actors().into_iter().zip(table).collect()
}

async fn run(backend: Backend) {
    let server = TestServer::start(backend).await;
    let world = World::create(&server).await;
    let open = world.cluster("Open", "OP", &[]).await;
    let mut failures = Vec::new();

    // Lists. Each actor's POST body is distinct so that successful creations do not collide.
    let list_routes: [(&str, [[u16; 8]; 6]); 4] = [
        ("/allocations/clusters/", [ANONYMOUS, LIST_READ_ONLY, LIST_READ_ONLY, LIST_READ_ONLY, LIST_READ_ONLY, LIST_CREATE]),
        ("/allocations/requests/", [ANONYMOUS, LIST_READ_ONLY, LIST_READ_ONLY, LIST_CREATE, LIST_CREATE, LIST_CREATE]),
        ("/allocations/reviews/", [ANONYMOUS, LIST_READ_ONLY, LIST_READ_ONLY, LIST_READ_ONLY, LIST_READ_ONLY, LIST_CREATE]),
        ("/allocations/allocations/", [ANONYMOUS, LIST_READ_ONLY, LIST_READ_ONLY, LIST_CREATE, LIST_CREATE, LIST_CREATE]),
    ];
    let request = world.request(world.team_a, "Matrix request").await;
    for (path, table) in list_routes {
        for (actor, expected) in expectations(&world, table) {
            let post = match path {
                "/allocations/clusters/" => json!({"name": format!("Listed by {}", actor.label)}),
                "/allocations/requests/" => {
                    json!({"title": "New", "description": "Needs time", "submitter": world.owner.id, "team": world.team_a})
                }
                "/allocations/reviews/" => json!({"status": "AP", "request": request}),
                _ => json!({"requested": 10, "cluster": open, "request": request}),
            };
            let bodies = Bodies { post, put: json!({}), patch: json!({}) };
            check_methods(&server, actor, path, &bodies, expected, &mut failures).await;
        }
    }

    // Details: a fresh record for every actor, because DELETE may remove it.
    let cluster_table = [ANONYMOUS, DETAIL_READ_ONLY, DETAIL_READ_ONLY, DETAIL_READ_ONLY, DETAIL_READ_ONLY, DETAIL_WRITE];
    for (actor, expected) in expectations(&world, cluster_table) {
        let id = world.cluster(&format!("Detail of {}", actor.label), "OP", &[]).await;
        let bodies = Bodies {
            post: json!({}),
            put: json!({"name": format!("Renamed by {}", actor.label), "access_mode": "BL"}),
            patch: json!({"description": "Patched"}),
        };
        check_methods(&server, actor, &format!("/allocations/clusters/{id}/"), &bodies, expected, &mut failures).await;
    }

    let team_table = [ANONYMOUS, DETAIL_HIDDEN, DETAIL_READ_ONLY, DETAIL_READ_ONLY, DETAIL_READ_ONLY, DETAIL_WRITE];
    for (actor, expected) in expectations(&world, team_table) {
        let id = world.request(world.team_a, &format!("Detail of {}", actor.label)).await;
        let bodies = Bodies {
            post: json!({}),
            put: json!({"title": "Put", "description": "Put", "submitter": world.owner.id, "team": world.team_a}),
            patch: json!({"status": "AP"}),
        };
        check_methods(&server, actor, &format!("/allocations/requests/{id}/"), &bodies, expected, &mut failures).await;

        let id = world.review(request).await;
        let bodies = Bodies { post: json!({}), put: json!({"status": "DC", "request": request}), patch: json!({"status": "CR"}) };
        check_methods(&server, actor, &format!("/allocations/reviews/{id}/"), &bodies, expected, &mut failures).await;

        let id = world.allocation(request, open, 100).await;
        let bodies =
            Bodies { post: json!({}), put: json!({"requested": 20, "cluster": open, "request": request}), patch: json!({"awarded": 5}) };
        check_methods(&server, actor, &format!("/allocations/allocations/{id}/"), &bodies, expected, &mut failures).await;
    }

    let none = Bodies { post: json!({}), put: json!({}), patch: json!({}) };
    for path in ["/allocations/cluster-choices/access-mode/", "/allocations/request-choices/status/", "/allocations/review-choices/status/"]
    {
        for (actor, expected) in expectations(&world, [ANONYMOUS, CHOICES, CHOICES, CHOICES, CHOICES, CHOICES]) {
            check_methods(&server, actor, path, &none, expected, &mut failures).await;
        }
    }

    assert!(failures.is_empty(), "{backend:?}: {} unexpected statuses:\n{}", failures.len(), failures.join("\n"));
    world.db.close().await;
}

#[tokio::test]
async fn access_matrix_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn access_matrix_postgres() {
    run(Backend::Postgres).await;
}

/// Bodies and headers of the choices routes and of the common denials.
#[tokio::test]
async fn choices_and_denial_bodies() {
    let server = TestServer::start(Backend::Sqlite).await;
    let world = World::create(&server).await;
    let member = client_for(&server, &world.member);

    let cases = [
        ("/allocations/cluster-choices/access-mode/", r#"{"WL":"Whitelist","BL":"Blacklist","OP":"Open"}"#),
        ("/allocations/request-choices/status/", r#"{"PD":"Pending","AP":"Approved","DC":"Declined","CR":"Changes Requested"}"#),
        ("/allocations/review-choices/status/", r#"{"AP":"Approved","DC":"Declined","CR":"Changes Requested"}"#),
    ];
    for (path, body) in cases {
        let response = member.get(path).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert_eq!(response.body, body, "{path}");
        assert_eq!(response.header("allow"), Some("GET, HEAD, OPTIONS"), "{path}");
    }

    let anonymous = server.client().get("/allocations/requests/").await;
    assert_eq!(anonymous.body, r#"{"detail":"Authentication credentials were not provided."}"#);
    assert_eq!(anonymous.header("www-authenticate"), Some("Token"));

    let denied = member.post("/allocations/reviews/", &json!({"status": "AP"})).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.body, r#"{"detail":"You do not have permission to perform this action."}"#);

    let list = member.get("/allocations/allocations/").await;
    assert_eq!(list.header("allow"), Some("GET, POST, HEAD, OPTIONS"));
    let not_allowed = send(&member, Method::PUT, "/allocations/clusters/", Some(&json!({}))).await;
    assert_eq!(not_allowed.body, r#"{"detail":"Method \"PUT\" not allowed."}"#);

    let request = world.request(world.team_a, "Allow header").await;
    let detail = member.get(&format!("/allocations/requests/{request}/")).await;
    assert_eq!(detail.header("allow"), Some("GET, PUT, PATCH, DELETE, HEAD, OPTIONS"));

    let missing = member.get("/allocations/requests/999999/").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body, r#"{"detail":"No AllocationRequest matches the given query."}"#);
    let malformed = member.get("/allocations/reviews/abc/").await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    assert_eq!(malformed.body, r#"{"detail":"Not found."}"#);
    world.db.close().await;
}
