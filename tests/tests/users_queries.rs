//! Query counts of the users-app lists. A page of 5, 50 or 100 records must cost the same number
//! of database statements. Nested memberships, teams, history, actors, groups and permissions are
//! each loaded with one query per page, never one per record.
//!
//! The server runs with `KEYSTONE_DEBUG_QUERIES=true`, which adds the count of each request as
//! the `X-Keystone-Queries` response header.

use keystone_blackbox::{count_rows, send_request, token_client, Backend, Client, TestServer};
use keystone_storage::audit::AuditContext;
use keystone_storage::{Database, NewUser};
use reqwest::Method;

/// Records of each kind, more than the largest page measured.
const RECORDS: usize = 120;

/// Page sizes compared.
const LIMITS: [usize; 3] = [5, 50, 100];

/// Upper bound on the statements of one list request.
const MAX_QUERIES: usize = 10;

async fn insert_fixture(db: &Database, staff_id: i64, watcher_id: i64) {
    // Set-up goes through storage with the staff user as actor, so every record has history
    // entries whose actor must be loaded.
    let audit = AuditContext { actor_id: Some(staff_id), ..Default::default() };
    let hash = keystone_blackbox::fixture_password_hash();
    let mut user_ids = Vec::with_capacity(RECORDS);
    for number in 0..RECORDS {
        let new = NewUser {
            username: format!("member{number:03}"),
            password: hash.to_string(),
            first_name: Some(format!("First{number}")),
            last_name: Some(format!("Last{number}")),
            email: Some(format!("member{number}@example.org")),
            is_active: true,
            ..Default::default()
        };
        user_ids.push(db.create_user(&new, &audit).await.expect("user created").id);
    }

    let mut team_ids = Vec::with_capacity(RECORDS);
    for number in 0..RECORDS {
        team_ids.push(db.create_team(&format!("Team {number:03}"), true, None, &audit).await.expect("team created").id);
    }

    for (index, user) in user_ids.iter().enumerate() {
        db.create_membership(*user, team_ids[index], "OW", &audit).await.expect("membership");
        db.create_membership(*user, team_ids[(index + 1) % RECORDS], "MB", &audit).await.expect("membership");
    }
    // A non-staff user in every team, so that the non-staff team list has more than 100 rows.
    for team in &team_ids {
        db.create_membership(watcher_id, *team, "MB", &audit).await.expect("membership");
    }

    for sql in [
        "INSERT INTO auth_group (name) VALUES ('readers')",
        "INSERT INTO auth_permission (name, codename) VALUES ('Can read', 'read')",
        "INSERT INTO users_user_groups (user_id, group_id) SELECT id, (SELECT MAX(id) FROM auth_group) FROM users_user",
        "INSERT INTO users_user_user_permissions (user_id, permission_id) SELECT id, (SELECT MAX(id) FROM auth_permission) FROM users_user",
    ] {
        match db {
            Database::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            Database::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        }
        .unwrap_or_else(|error| panic!("SQL failed ({error}): {sql}"));
    }
}

/// Fetches `path?_limit=N` for each page size; returns the statement count of each request.
async fn counts(client: &Client, path: &str) -> Vec<usize> {
    let mut counts = Vec::new();
    for limit in LIMITS {
        let url = format!("{path}?_limit={limit}");
        let response = send_request(client, Method::GET, &url, None).await;
        assert_eq!(response.status.as_u16(), 200, "GET {url}: {}", response.body);
        let results = response.json()["results"].as_array().map(Vec::len);
        assert_eq!(results, Some(limit), "GET {url} returned a short page");
        let header = response.header("x-keystone-queries").unwrap_or_else(|| panic!("GET {url} has no X-Keystone-Queries header"));
        counts.push(header.parse().unwrap_or_else(|_| panic!("X-Keystone-Queries is not a number: {header}")));
    }
    counts
}

async fn measure(backend: Backend) {
    let server = TestServer::builder(backend).env("KEYSTONE_DEBUG_QUERIES", "true").start().await;
    let db = server.storage().await;
    let staff_id = keystone_blackbox::insert_user(&db, "staff", true, true).await;
    let watcher_id = keystone_blackbox::insert_user(&db, "watcher", false, true).await;
    insert_fixture(&db, staff_id, watcher_id).await;
    assert!(count_rows(&db, "SELECT COUNT(*) FROM users_membership").await >= 3 * RECORDS as i64);
    let staff = token_client(&server, &db, staff_id).await;
    let watcher = token_client(&server, &db, watcher_id).await;

    let mut failures = Vec::new();
    for (who, client) in [("staff", &staff), ("non-staff", &watcher)] {
        for path in ["/users/users/", "/users/teams/", "/users/memberships/"] {
            let measured = counts(client, path).await;
            println!("{backend:?} {who} GET {path} with _limit {LIMITS:?}: {measured:?} queries");
            if measured.iter().any(|count| *count != measured[0]) {
                failures.push(format!("{who} {path}: the count grows with the page size: {measured:?}"));
            }
            if measured.iter().any(|count| *count > MAX_QUERIES) {
                failures.push(format!("{who} {path}: more than {MAX_QUERIES} queries: {measured:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{backend:?}:\n{}", failures.join("\n"));
    db.close().await;
}

#[tokio::test]
async fn list_queries_sqlite() {
    measure(Backend::Sqlite).await;
}

#[tokio::test]
async fn list_queries_postgres() {
    measure(Backend::Postgres).await;
}
