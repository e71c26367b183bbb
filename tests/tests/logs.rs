//! Request records, the `/logs/` endpoints and their access rules, on both backends.

use std::time::{Duration, Instant};

use keystone_blackbox::{count_rows, token_client, Backend, TestServer, BACKENDS};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const CID: &str = "0b7a3a52-52c4-4a43-9d31-6f1c7e0d9a11";

/// Polls `/logs/requests/` until `predicate` holds for its results, at most 10 s.
async fn wait_for_records(client: &keystone_blackbox::Client, query: &str, predicate: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = client.get(&format!("/logs/requests/?{query}")).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        let results = response.json()["results"].as_array().cloned().unwrap_or_default();
        if predicate(&results) {
            return results;
        }
        assert!(Instant::now() < deadline, "request records did not appear: {results:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn requests_are_recorded_and_served() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        let db = server.storage().await;
        let staff_id = server.create_user("auditor", "quiet-lantern-47", true).await;
        let staff = token_client(&server, &db, staff_id).await;

        let tagged = staff.send(staff.request(Method::GET, "/users/users/?_limit=1").header("X-KEYSTONE-CID", CID)).await;
        assert_eq!(tagged.status, StatusCode::OK);
        let anonymous = server.client().get("/config/").await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

        let records = wait_for_records(&staff, &format!("cid={CID}"), |results| !results.is_empty()).await;
        let record = &records[0];
        assert_eq!(record["method"], "GET", "{backend:?}");
        assert_eq!(record["endpoint"], "/users/users/?_limit=1", "{backend:?}");
        assert_eq!(record["response_code"], 200, "{backend:?}");
        assert_eq!(record["remote_address"], "127.0.0.1", "{backend:?}");
        assert_eq!(record["user"], staff_id, "{backend:?}");
        assert_eq!(record["_user"]["username"], "auditor", "{backend:?}");

        let unauthorised = wait_for_records(&staff, "response_code=401&endpoint=/config/", |results| !results.is_empty()).await;
        assert_eq!(unauthorised[0]["user"], Value::Null, "{backend:?}");

        let detail = staff.get(&format!("/logs/requests/{}/", record["id"])).await;
        assert_eq!(detail.status, StatusCode::OK);
        assert_eq!(detail.json()["cid"], CID);
    }
}

#[tokio::test]
async fn logs_are_for_staff_only() {
    let server = TestServer::start(Backend::Sqlite).await;
    let db = server.storage().await;
    let user_id = server.create_user("member", "quiet-lantern-47", false).await;
    let member = token_client(&server, &db, user_id).await;
    for path in ["/logs/requests/", "/logs/audit/", "/logs/tasks/", "/logs/feed/", "/logs/requests/1/"] {
        assert_eq!(server.client().get(path).await.status, StatusCode::UNAUTHORIZED, "{path}");
        let denied = member.get(path).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(denied.json()["detail"], "You do not have permission to perform this action.");
        let post = member.json(Method::POST, path, &serde_json::json!({})).await;
        assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
}

#[tokio::test]
async fn audit_and_feed_list_newest_first() {
    let server = TestServer::start(Backend::Postgres).await;
    let db = server.storage().await;
    let staff_id = server.create_user("auditor", "quiet-lantern-47", true).await;
    let staff = token_client(&server, &db, staff_id).await;
    let created = staff.post("/users/teams/", &serde_json::json!({"name": "Feed Team"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    let audit = staff.get("/logs/audit/").await;
    assert_eq!(audit.status, StatusCode::OK);
    let first = &audit.json()["results"][0];
    assert_eq!(first["record_name"], "users | Team");
    assert_eq!(first["action"], "create");
    assert_eq!(first["actor"], staff_id);
    assert_eq!(first["changes"]["name"], serde_json::json!(["None", "Feed Team"]));

    let bad = staff.get("/logs/feed/?record_type=nope").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let feed = staff.get("/logs/feed/?record_type=audit").await;
    assert_eq!(feed.status, StatusCode::OK);
    let results = feed.json()["results"].as_array().cloned().unwrap();
    assert!(!results.is_empty());
    assert!(results.iter().all(|row| row["id"].as_str().unwrap().starts_with('a')));
    let stamps: Vec<&str> = results.iter().map(|row| row["timestamp"].as_str().unwrap()).collect();
    let mut sorted = stamps.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(stamps, sorted, "feed is newest first");
}

#[tokio::test]
async fn records_survive_clean_shutdown() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await;
        let cid = uuid::Uuid::new_v4().to_string();
        let client = server.client();
        for _ in 0..25 {
            let response = client.send(client.request(Method::GET, "/version/").header("X-KEYSTONE-CID", &cid)).await;
            assert_eq!(response.status, StatusCode::OK);
        }
        let status = server.terminate().expect("server was running");
        assert!(status.success(), "{backend:?}: exit status {status}");
        let db = server.storage().await;
        let stored = count_rows(&db, &format!("SELECT COUNT(*) FROM logging_requestlog WHERE cid = '{cid}'")).await;
        assert_eq!(stored, 25, "{backend:?}");
    }
}
