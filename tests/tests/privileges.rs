//! Writes that only staff may make, and input limits that keep one request cheap. Team admins
//! may create requests and allocations for their team (updates are staff-only), but not
//! approve them, award service units, link another team's grants, or pass a team check with a
//! differently typed team id.

#[path = "../fixtures/allocations/world.rs"]
mod world;

use keystone_blackbox::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use world::{client_for, send, World};

fn request_body(world: &World, extra: Value) -> Value {
    let mut body = json!({
        "title": "Compute time",
        "description": "Simulations",
        "submitter": world.admin.id,
        "team": world.team_a,
    });
    body.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
    body
}

async fn request_status(world: &World, id: i64) -> String {
    world.db.allocation_request_by_id(id).await.expect("request is read").expect("request exists").status
}

async fn status_is_staff_only(server: &TestServer, world: &World) {
    let admin = client_for(server, &world.admin);
    let staff = client_for(server, &world.staff);

    let created = admin.post("/allocations/requests/", &request_body(world, json!({"status": "AP"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["status"], "PD", "a team admin approved their own request");
    let id = created.json()["id"].as_i64().expect("request id");
    let path = format!("/allocations/requests/{id}/");

    let patched = send(&admin, Method::PATCH, &path, Some(&json!({"status": "AP"}))).await;
    assert_eq!(patched.status, StatusCode::FORBIDDEN, "{}", patched.body);
    assert_eq!(request_status(world, id).await, "PD", "a team admin approved their request by PATCH");

    let invalid = admin.post("/allocations/requests/", &request_body(world, json!({"status": "XX"}))).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(invalid.body, r#"{"status":["\"XX\" is not a valid choice."]}"#);

    let approved = send(&staff, Method::PATCH, &path, Some(&json!({"status": "AP"}))).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(request_status(world, id).await, "AP", "staff could not approve");
}

async fn awards_are_staff_only(server: &TestServer, world: &World) {
    let admin = client_for(server, &world.admin);
    let staff = client_for(server, &world.staff);
    let cluster = world.cluster("award-check", "OP", &[]).await;
    let request = world.request(world.team_a, "Award check").await;

    let body = json!({"requested": 1000, "awarded": 1_000_000, "final": 1_000_000, "cluster": cluster, "request": request});
    let created = admin.post("/allocations/allocations/", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["awarded"], Value::Null, "a team admin awarded service units");
    assert_eq!(created.json()["final"], Value::Null, "a team admin set the final award");
    let path = format!("/allocations/allocations/{}/", created.json()["id"]);

    let patched = send(&admin, Method::PATCH, &path, Some(&json!({"awarded": 500, "final": 500}))).await;
    assert_eq!(patched.status, StatusCode::FORBIDDEN, "{}", patched.body);

    let body = json!({"requested": 1000, "awarded": -5, "cluster": cluster, "request": request});
    let invalid = admin.post("/allocations/allocations/", &body).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.body);
    assert!(invalid.json().get("awarded").is_some(), "{}", invalid.body);

    let awarded = send(&staff, Method::PATCH, &path, Some(&json!({"awarded": 800, "final": 700}))).await;
    assert_eq!(awarded.status, StatusCode::OK, "{}", awarded.body);
    assert_eq!(awarded.json()["awarded"], 800);
    assert_eq!(awarded.json()["final"], 700);
}

async fn links_stay_within_the_team(server: &TestServer, world: &World) {
    let admin = client_for(server, &world.admin);
    let staff = client_for(server, &world.staff);
    let own_grant = world.grant(world.team_a, "Own grant", 100).await;
    let foreign_grant = world.grant(world.team_b, "Foreign grant", 100).await;
    let foreign_publication = world.publication(world.team_b, "Foreign paper").await;

    let foreign = admin.post("/allocations/requests/", &request_body(world, json!({"grants": [own_grant, foreign_grant]}))).await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "{}", foreign.body);
    assert_eq!(
        foreign.json(),
        json!({"grants": [format!("Invalid pk \"{foreign_grant}\" - object does not belong to the request's team.")]})
    );

    let foreign = admin.post("/allocations/requests/", &request_body(world, json!({"publications": [foreign_publication]}))).await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "{}", foreign.body);
    assert!(foreign.body.contains("does not belong to the request's team"), "{}", foreign.body);

    let created = admin.post("/allocations/requests/", &request_body(world, json!({"grants": [own_grant]}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let path = format!("/allocations/requests/{}/", created.json()["id"]);

    let linked_by_staff = send(&staff, Method::PATCH, &path, Some(&json!({"grants": [foreign_grant]}))).await;
    assert_eq!(linked_by_staff.status, StatusCode::OK, "staff may link any grant: {}", linked_by_staff.body);
}

async fn team_ids_of_every_type_are_checked(server: &TestServer, world: &World) {
    let member = client_for(server, &world.member);
    for team in [json!(world.team_a), json!(world.team_a as f64), json!(world.team_a.to_string())] {
        let body = json!({"team": team, "user": world.outsider.id, "role": "OW"});
        let response = member.post("/users/memberships/", &body).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "a team member added an owner with team {team}: {}", response.body);
    }
    let owners = world.count(&format!("SELECT COUNT(*) FROM users_membership WHERE user_id = {}", world.outsider.id)).await;
    assert_eq!(owners, 0, "the outsider got a membership");
}

async fn input_limits(server: &TestServer, world: &World) {
    let staff = client_for(server, &world.staff);

    let terms = vec!["x"; 21].join(" ");
    let many_terms = staff.get(&format!("/users/users/?_search={terms}")).await;
    assert_eq!(many_terms.status, StatusCode::BAD_REQUEST, "{}", many_terms.body);
    assert!(many_terms.json().get("_search").is_some(), "{}", many_terms.body);
    let long_term = staff.get(&format!("/users/users/?_search={}", "y".repeat(201))).await;
    assert_eq!(long_term.status, StatusCode::BAD_REQUEST, "{}", long_term.body);
    let allowed = staff.get(&format!("/users/users/?_search={}", vec!["z"; 20].join(" "))).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);

    let assignees: Vec<i64> = vec![world.member.id; 1001];
    let too_many = staff.post("/allocations/requests/", &request_body(world, json!({"assignees": assignees}))).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST, "{}", too_many.body);
    assert_eq!(too_many.body, r#"{"assignees":["Ensure this field has no more than 1000 elements."]}"#);

    let null_character = staff.post("/research/publications/", &json!({"title": "Null\u{0}title", "team": world.team_a})).await;
    assert_eq!(null_character.status, StatusCode::BAD_REQUEST, "{}", null_character.body);
    assert!(null_character.body.contains("Null characters are not allowed."), "{}", null_character.body);
}

async fn run(backend: Backend) {
    let server = TestServer::start(backend).await;
    let world = World::create(&server).await;
    status_is_staff_only(&server, &world).await;
    awards_are_staff_only(&server, &world).await;
    links_stay_within_the_team(&server, &world).await;
    team_ids_of_every_type_are_checked(&server, &world).await;
    input_limits(&server, &world).await;
    world.db.close().await;
}

#[tokio::test]
async fn privileges_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn privileges_postgres() {
    run(Backend::Postgres).await;
}
