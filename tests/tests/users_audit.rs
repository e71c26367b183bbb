//! Audit records of users, teams and memberships. Every create, update and delete through the
//! API writes one `auditlog_logentry` row. The row has the actor, the request's correlation id,
//! the client address and the changed fields as `[old, new]` text pairs. The record's `_history`
//! lists those rows newest first.

use keystone_blackbox::{insert_user_with, text_rows, token_client, Backend, Client, Response, TestServer, REQUEST_TIMEOUT};
use keystone_storage::Database;
use keystone_storage::NewUser;
use reqwest::Method;
use serde_json::{json, Value};

/// `django_content_type` ids of the audited users-app models.
const USER: i64 = 1;
const TEAM: i64 = 2;
const MEMBERSHIP: i64 = 3;

/// Audit action codes.
const CREATE: i64 = 0;
const UPDATE: i64 = 1;
const DELETE: i64 = 2;

/// One `auditlog_logentry` row.
#[derive(Debug)]
struct Entry {
    id: i64,
    action: i64,
    changes: Value,
    cid: Option<String>,
    remote_addr: Option<String>,
    actor_id: Option<i64>,
}

/// Audit rows of one content type (and one record, when given), newest first.
async fn entries(db: &Database, content_type: i64, object_id: Option<i64>) -> Vec<Entry> {
    let record = object_id.map(|id| format!(" AND object_id = {id}")).unwrap_or_default();
    // Without the alias, PostgreSQL would resolve `ORDER BY id` to the text output column.
    let sql = format!(
        "SELECT CAST(id AS TEXT) AS id_text, CAST(action AS TEXT), changes, cid, remote_addr, CAST(actor_id AS TEXT) \
         FROM auditlog_logentry WHERE content_type_id = {content_type}{record} ORDER BY id DESC"
    );
    let number = |text: &Option<String>| text.as_deref().map(|text| text.parse::<i64>().expect("integer column"));
    text_rows(db, &sql)
        .await
        .into_iter()
        .map(|row| Entry {
            id: number(&row[0]).expect("id"),
            action: number(&row[1]).expect("action"),
            changes: row[2].as_deref().map(|text| serde_json::from_str(text).expect("changes are JSON")).unwrap_or(Value::Null),
            cid: row[3].clone(),
            remote_addr: row[4].clone(),
            actor_id: number(&row[5]),
        })
        .collect()
}

async fn entry_count(db: &Database) -> usize {
    text_rows(db, "SELECT CAST(id AS TEXT) FROM auditlog_logentry").await.len()
}

/// Checks the fields that every API-written entry shares.
fn assert_entry(entry: &Entry, action: i64, cid: &str, actor: i64, changes: &Value) {
    assert_eq!(entry.action, action, "action of {entry:?}");
    assert_eq!(entry.cid.as_deref(), Some(cid), "cid of {entry:?}");
    assert_eq!(entry.remote_addr.as_deref(), Some("127.0.0.1"), "remote address of {entry:?}");
    assert_eq!(entry.actor_id, Some(actor), "actor of {entry:?}");
    assert_eq!(&entry.changes, changes, "changes of entry {}", entry.id);
}

/// Checks that a record's `_history` mirrors its audit rows, newest first.
fn assert_history_matches(history: &Value, rows: &[Entry], actor_summary: &Value) {
    let history = history.as_array().unwrap_or_else(|| panic!("_history is not a list: {history}"));
    assert_eq!(history.len(), rows.len(), "_history {history:?} against audit rows {rows:?}");
    for (item, row) in history.iter().zip(rows) {
        let action = ["create", "update", "delete"][row.action as usize];
        assert_eq!(item["id"], row.id, "{item}");
        assert_eq!(item["action"], action, "{item}");
        assert_eq!(item["changes"], row.changes, "{item}");
        assert_eq!(item["actor"], json!(row.actor_id), "{item}");
        let timestamp = item["timestamp"].as_str().expect("timestamp is text");
        assert!(timestamp.ends_with('Z') && timestamp.contains('T'), "timestamp {timestamp} is not ISO 8601 UTC");
        if row.actor_id.is_some() {
            assert_eq!(&item["_actor"], actor_summary, "{item}");
        } else {
            assert_eq!(item["_actor"], Value::Null, "{item}");
        }
    }
}

/// Sends a JSON request with `X-KEYSTONE-CID` set to `cid` (none when `cid` is `None`).
async fn send_with_cid(client: &Client, method: Method, path: &str, body: Option<&Value>, cid: Option<&str>) -> Response {
    let mut builder = client.request(method.clone(), path);
    if let Some(body) = body {
        builder = builder.json(body);
    }
    if let Some(cid) = cid {
        builder = builder.header("X-KEYSTONE-CID", cid);
    }
    tokio::time::timeout(REQUEST_TIMEOUT, client.send(builder)).await.unwrap_or_else(|_| panic!("{method} {path} timed out"))
}

async fn expect(client: &Client, method: Method, path: &str, body: Option<Value>, cid: Option<&str>, status: u16) -> Value {
    let response = send_with_cid(client, method.clone(), path, body.as_ref(), cid).await;
    assert_eq!(response.status.as_u16(), status, "{method} {path}: {}", response.body);
    if response.body.is_empty() {
        Value::Null
    } else {
        response.json()
    }
}

/// Replaces the first half of the text with `*`, as audit records show password hashes.
fn masked(text: &str) -> String {
    let hidden = text.chars().count() / 2;
    "*".repeat(hidden) + &text.chars().skip(hidden).collect::<String>()
}

/// Converts an API date-time (`2026-12-04T19:17:22.730269Z`) to the text that audit changes use.
fn audit_datetime(api: &Value) -> String {
    api.as_str().expect("date-time is text").replace('T', " ").trim_end_matches('Z').to_string()
}

async fn stored_password(db: &Database, user_id: i64) -> String {
    let rows = text_rows(db, &format!("SELECT password FROM users_user WHERE id = {user_id}")).await;
    rows[0][0].clone().expect("password is set")
}

fn new_cid() -> String {
    uuid::Uuid::new_v4().to_string()
}

struct Setup {
    server: TestServer,
    db: Database,
    staff: Client,
    staff_id: i64,
    staff_summary: Value,
}

async fn setup(backend: Backend) -> Setup {
    let server = TestServer::start(backend).await;
    let db = server.storage().await;
    let new = NewUser {
        username: "auditor".into(),
        first_name: Some("Grace".into()),
        last_name: Some("Hopper".into()),
        email: Some("auditor@example.org".into()),
        department: Some("Compliance".into()),
        is_active: true,
        is_staff: true,
        is_superuser: true,
        ..Default::default()
    };
    let staff_id = insert_user_with(&db, new).await;
    let staff = token_client(&server, &db, staff_id).await;
    let staff_summary = json!({
        "id": staff_id,
        "username": "auditor",
        "first_name": "Grace",
        "last_name": "Hopper",
        "display_name": "Grace Hopper",
        "abbreviation": "GH",
        "email": "auditor@example.org",
        "department": "Compliance",
        "role": null,
    });
    Setup { server, db, staff, staff_id, staff_summary }
}

async fn user_lifecycle(backend: Backend) {
    let Setup { server, db, staff, staff_id, staff_summary } = setup(backend).await;

    // Create: every non-null field, with the password hash masked.
    let cid = new_cid();
    let body = json!({"username": "audited", "password": "Sturdy-Lantern-84", "email": "audited@example.org", "first_name": "Ada"});
    let created = expect(&staff, Method::POST, "/users/users/", Some(body), Some(&cid), 201).await;
    let user_id = created["id"].as_i64().expect("user id");
    let path = format!("/users/users/{user_id}/");
    let hash = stored_password(&db, user_id).await;
    let rows = entries(&db, USER, Some(user_id)).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let creation = json!({
        "id": ["None", user_id.to_string()],
        "password": ["**ne", masked(&hash)],
        "is_superuser": ["None", "False"],
        "username": ["None", "audited"],
        "first_name": ["None", "Ada"],
        "email": ["None", "audited@example.org"],
        "is_active": ["None", "True"],
        "is_staff": ["None", "False"],
        "is_ldap_user": ["None", "False"],
        "date_joined": ["None", audit_datetime(&created["date_joined"])],
    });
    assert_entry(&rows[0], CREATE, &cid, staff_id, &creation);
    let password_pair = rows[0].changes["password"][1].as_str().expect("masked hash");
    assert!(
        password_pair.starts_with(&"*".repeat(hash.len() / 2)) && !password_pair.contains("pbkdf2"),
        "hash not masked: {password_pair}"
    );
    assert_history_matches(&created["_history"], &rows, &staff_summary);

    // Update: only the fields whose value changed.
    let cid = new_cid();
    let body = json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org"});
    let updated = expect(&staff, Method::PATCH, &path, Some(body), Some(&cid), 200).await;
    let rows = entries(&db, USER, Some(user_id)).await;
    assert_eq!(rows.len(), 2);
    assert_entry(
        &rows[0],
        UPDATE,
        &cid,
        staff_id,
        &json!({"last_name": ["None", "Lovelace"], "email": ["audited@example.org", "ada@example.org"]}),
    );
    assert_history_matches(&updated["_history"], &rows, &staff_summary);

    // A password change: old and new hashes, both masked.
    let cid = new_cid();
    let old_hash = stored_password(&db, user_id).await;
    expect(&staff, Method::PATCH, &path, Some(json!({"password": "Another-Harbor-29"})), Some(&cid), 200).await;
    let new_hash = stored_password(&db, user_id).await;
    assert_ne!(old_hash, new_hash);
    let rows = entries(&db, USER, Some(user_id)).await;
    assert_eq!(rows.len(), 3);
    assert_entry(&rows[0], UPDATE, &cid, staff_id, &json!({"password": [masked(&old_hash), masked(&new_hash)]}));

    // A write that changes nothing writes no entry.
    let before = entry_count(&db).await;
    expect(&staff, Method::PATCH, &path, Some(json!({"first_name": "Ada", "date_joined": "2001-01-01T00:00:00Z"})), None, 200).await;
    assert_eq!(entry_count(&db).await, before, "an unchanged record got an audit entry");

    // A correlation id that is not a UUID is replaced by a fresh one, as is a missing one; a
    // UUID is stored as sent.
    expect(&staff, Method::PATCH, &path, Some(json!({"role": "Engineer"})), Some("not-a-uuid"), 200).await;
    let replaced = entries(&db, USER, Some(user_id)).await.remove(0).cid.expect("cid is set");
    assert_ne!(replaced, "not-a-uuid");
    assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "replacement cid {replaced} is not a UUID");
    expect(&staff, Method::PATCH, &path, Some(json!({"role": "Architect"})), None, 200).await;
    let generated = entries(&db, USER, Some(user_id)).await.remove(0).cid.expect("cid is set");
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "generated cid {generated} is not a UUID");
    assert_ne!(generated, replaced, "each request gets its own correlation id");
    let upper = new_cid().to_uppercase();
    expect(&staff, Method::PATCH, &path, Some(json!({"role": "Engineer", "is_staff": true, "is_active": false})), Some(&upper), 200).await;
    let rows = entries(&db, USER, Some(user_id)).await;
    assert_entry(
        &rows[0],
        UPDATE,
        &upper,
        staff_id,
        &json!({"role": ["Architect", "Engineer"], "is_active": ["True", "False"], "is_staff": ["False", "True"]}),
    );
    let fetched = expect(&staff, Method::GET, &path, None, None, 200).await;
    assert_history_matches(&fetched["_history"], &rows, &staff_summary);

    // A user with a membership: deleting the user writes entries for both.
    let team = expect(&staff, Method::POST, "/users/teams/", Some(json!({"name": "Leavers"})), None, 201).await;
    let team_id = team["id"].as_i64().expect("team id");
    let membership =
        expect(&staff, Method::POST, "/users/memberships/", Some(json!({"team": team_id, "user": user_id, "role": "MB"})), None, 201).await;
    let membership_id = membership["id"].as_i64().expect("membership id");
    let final_hash = stored_password(&db, user_id).await;
    let cid = new_cid();
    expect(&staff, Method::DELETE, &path, None, Some(&cid), 204).await;
    let rows = entries(&db, USER, Some(user_id)).await;
    let deletion = json!({
        "id": [user_id.to_string(), "None"],
        "password": [masked(&final_hash), "**ne"],
        "is_superuser": ["False", "None"],
        "username": ["audited", "None"],
        "first_name": ["Ada", "None"],
        "last_name": ["Lovelace", "None"],
        "email": ["ada@example.org", "None"],
        "role": ["Engineer", "None"],
        "is_active": ["False", "None"],
        "is_staff": ["True", "None"],
        "is_ldap_user": ["False", "None"],
        "date_joined": [audit_datetime(&created["date_joined"]), "None"],
    });
    assert_entry(&rows[0], DELETE, &cid, staff_id, &deletion);
    let membership_rows = entries(&db, MEMBERSHIP, Some(membership_id)).await;
    assert_eq!(membership_rows.len(), 2, "{membership_rows:?}");
    let membership_deletion = json!({
        "id": [membership_id.to_string(), "None"],
        "role": ["MB", "None"],
        "user": [user_id.to_string(), "None"],
        "team": [team_id.to_string(), "None"],
    });
    assert_entry(&membership_rows[0], DELETE, &cid, staff_id, &membership_deletion);
    // The audit rows outlive the record.
    assert_eq!(rows.len(), 7, "{rows:?}");

    // A user who deletes their own account was the actor, and the actor reference is cleared
    // with the user.
    let leaver_id = insert_user_with(&db, NewUser { username: "leaver".into(), is_active: true, ..Default::default() }).await;
    let leaver = token_client(&server, &db, leaver_id).await;
    let cid = new_cid();
    expect(&leaver, Method::DELETE, &format!("/users/users/{leaver_id}/"), None, Some(&cid), 204).await;
    let rows = entries(&db, USER, Some(leaver_id)).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].action, DELETE);
    assert_eq!(rows[0].cid.as_deref(), Some(cid.as_str()));
    assert_eq!(rows[0].actor_id, None, "the deleted actor is cleared");
    assert_eq!(rows[0].changes["username"], json!(["leaver", "None"]));
    db.close().await;
}

async fn team_and_membership_lifecycle(backend: Backend) {
    let Setup { server, db, staff, staff_id, staff_summary } = setup(backend).await;
    let mut member_ids = Vec::new();
    for name in ["first", "second", "third"] {
        let new = NewUser { username: name.into(), is_active: true, ..Default::default() };
        member_ids.push(insert_user_with(&db, new).await);
    }

    let cid = new_cid();
    let team = expect(&staff, Method::POST, "/users/teams/", Some(json!({"name": "Audit Team"})), Some(&cid), 201).await;
    let team_id = team["id"].as_i64().expect("team id");
    let team_path = format!("/users/teams/{team_id}/");
    let rows = entries(&db, TEAM, Some(team_id)).await;
    assert_eq!(rows.len(), 1);
    let creation = json!({"id": ["None", team_id.to_string()], "name": ["None", "Audit Team"], "slug": ["None", "audit-team"], "is_active": ["None", "True"]});
    assert_entry(&rows[0], CREATE, &cid, staff_id, &creation);
    assert_history_matches(&team["_history"], &rows, &staff_summary);
    assert!(entries(&db, MEMBERSHIP, None).await.is_empty(), "staff who create a team get no membership");

    let cid = new_cid();
    expect(&staff, Method::PATCH, &team_path, Some(json!({"is_active": false})), Some(&cid), 200).await;
    let cid_reset = new_cid();
    let reset = expect(&staff, Method::PUT, &team_path, Some(json!({"name": "Ignored"})), Some(&cid_reset), 200).await;
    let rows = entries(&db, TEAM, Some(team_id)).await;
    assert_eq!(rows.len(), 3);
    assert_entry(&rows[1], UPDATE, &cid, staff_id, &json!({"is_active": ["True", "False"]}));
    assert_entry(&rows[0], UPDATE, &cid_reset, staff_id, &json!({"is_active": ["False", "True"]}));
    assert_history_matches(&reset["_history"], &rows, &staff_summary);
    let before = entry_count(&db).await;
    expect(&staff, Method::PATCH, &team_path, Some(json!({"name": "Renamed"})), None, 200).await;
    assert_eq!(entry_count(&db).await, before, "a read-only name change wrote an audit entry");

    // Memberships: create, update, delete.
    let cid = new_cid();
    let body = json!({"team": team_id, "user": member_ids[0], "role": "MB"});
    let membership = expect(&staff, Method::POST, "/users/memberships/", Some(body), Some(&cid), 201).await;
    let membership_id = membership["id"].as_i64().expect("membership id");
    let membership_path = format!("/users/memberships/{membership_id}/");
    let rows = entries(&db, MEMBERSHIP, Some(membership_id)).await;
    let creation = json!({
        "id": ["None", membership_id.to_string()],
        "role": ["None", "MB"],
        "user": ["None", member_ids[0].to_string()],
        "team": ["None", team_id.to_string()],
    });
    assert_entry(&rows[0], CREATE, &cid, staff_id, &creation);
    assert_history_matches(&membership["_history"], &rows, &staff_summary);

    let cid = new_cid();
    let promoted = expect(&staff, Method::PATCH, &membership_path, Some(json!({"role": "AD"})), Some(&cid), 200).await;
    let rows = entries(&db, MEMBERSHIP, Some(membership_id)).await;
    assert_eq!(rows.len(), 2);
    assert_entry(&rows[0], UPDATE, &cid, staff_id, &json!({"role": ["MB", "AD"]}));
    assert_history_matches(&promoted["_history"], &rows, &staff_summary);
    let cid = new_cid();
    expect(&staff, Method::PUT, &membership_path, Some(json!({"team": team_id, "user": member_ids[1], "role": "AD"})), Some(&cid), 200)
        .await;
    let rows = entries(&db, MEMBERSHIP, Some(membership_id)).await;
    assert_entry(&rows[0], UPDATE, &cid, staff_id, &json!({"user": [member_ids[0].to_string(), member_ids[1].to_string()]}));

    let cid = new_cid();
    expect(&staff, Method::DELETE, &membership_path, None, Some(&cid), 204).await;
    let rows = entries(&db, MEMBERSHIP, Some(membership_id)).await;
    assert_eq!(rows.len(), 4);
    let deletion = json!({
        "id": [membership_id.to_string(), "None"],
        "role": ["AD", "None"],
        "user": [member_ids[1].to_string(), "None"],
        "team": [team_id.to_string(), "None"],
    });
    assert_entry(&rows[0], DELETE, &cid, staff_id, &deletion);

    // A non-staff creator's team and owner membership are both audited under their request.
    let founder = token_client(&server, &db, member_ids[2]).await;
    let cid = new_cid();
    let founded = expect(&founder, Method::POST, "/users/teams/", Some(json!({"name": "Founders"})), Some(&cid), 201).await;
    let founded_id = founded["id"].as_i64().expect("team id");
    let team_rows = entries(&db, TEAM, Some(founded_id)).await;
    assert_eq!(team_rows.len(), 1);
    let founded_creation = json!({"id": ["None", founded_id.to_string()], "name": ["None", "Founders"], "slug": ["None", "founders"], "is_active": ["None", "True"]});
    assert_entry(&team_rows[0], CREATE, &cid, member_ids[2], &founded_creation);
    let owner_membership = founded["_membership"][0]["id"].as_i64().expect("owner membership");
    let owner_rows = entries(&db, MEMBERSHIP, Some(owner_membership)).await;
    assert_eq!(owner_rows.len(), 1);
    let owner_creation = json!({
        "id": ["None", owner_membership.to_string()],
        "role": ["None", "OW"],
        "user": ["None", member_ids[2].to_string()],
        "team": ["None", founded_id.to_string()],
    });
    assert_entry(&owner_rows[0], CREATE, &cid, member_ids[2], &owner_creation);

    // Deleting a team writes one delete entry for it and one per membership, all under the
    // deleting request.
    let joined = expect(
        &staff,
        Method::POST,
        "/users/memberships/",
        Some(json!({"team": founded_id, "user": member_ids[0], "role": "AD"})),
        None,
        201,
    )
    .await;
    let joined_id = joined["id"].as_i64().expect("membership id");
    let cid = new_cid();
    expect(&founder, Method::DELETE, &format!("/users/teams/{founded_id}/"), None, Some(&cid), 204).await;
    let team_rows = entries(&db, TEAM, Some(founded_id)).await;
    assert_eq!(team_rows.len(), 2);
    let team_deletion = json!({"id": [founded_id.to_string(), "None"], "name": ["Founders", "None"], "slug": ["founders", "None"], "is_active": ["True", "None"]});
    assert_entry(&team_rows[0], DELETE, &cid, member_ids[2], &team_deletion);
    for (membership, user, role) in [(owner_membership, member_ids[2], "OW"), (joined_id, member_ids[0], "AD")] {
        let rows = entries(&db, MEMBERSHIP, Some(membership)).await;
        let deletion = json!({
            "id": [membership.to_string(), "None"],
            "role": [role, "None"],
            "user": [user.to_string(), "None"],
            "team": [founded_id.to_string(), "None"],
        });
        assert_entry(&rows[0], DELETE, &cid, member_ids[2], &deletion);
    }
    let memberships_left = text_rows(&db, &format!("SELECT CAST(id AS TEXT) FROM users_membership WHERE team_id = {founded_id}")).await;
    assert!(memberships_left.is_empty(), "memberships outlived their team: {memberships_left:?}");
    db.close().await;
}

/// Several clients deleting the same team at once: one delete succeeds and writes the one delete
/// entry; the others get 404 and write nothing.
async fn concurrent_deletes(backend: Backend) {
    let Setup { server: _server, db, staff, .. } = setup(backend).await;
    for round in 0..8 {
        let team = expect(&staff, Method::POST, "/users/teams/", Some(json!({"name": format!("Doomed {round}")})), None, 201).await;
        let team_id = team["id"].as_i64().expect("team id");
        let path = format!("/users/teams/{team_id}/");
        let attempts = (0..4).map(|_| send_with_cid(&staff, Method::DELETE, &path, None, None));
        let statuses: Vec<u16> = futures::future::join_all(attempts).await.iter().map(|response| response.status.as_u16()).collect();
        assert_eq!(statuses.iter().filter(|status| **status == 204).count(), 1, "statuses of one team's deletes: {statuses:?}");
        assert!(statuses.iter().all(|status| *status == 204 || *status == 404), "statuses of one team's deletes: {statuses:?}");
        let deletes = entries(&db, TEAM, Some(team_id)).await.into_iter().filter(|entry| entry.action == DELETE).count();
        assert_eq!(deletes, 1, "delete entries for team {team_id}");
    }
    db.close().await;
}

#[tokio::test]
async fn concurrent_deletes_sqlite() {
    concurrent_deletes(Backend::Sqlite).await;
}

#[tokio::test]
async fn concurrent_deletes_postgres() {
    concurrent_deletes(Backend::Postgres).await;
}

#[tokio::test]
async fn user_audit_sqlite() {
    user_lifecycle(Backend::Sqlite).await;
}

#[tokio::test]
async fn user_audit_postgres() {
    user_lifecycle(Backend::Postgres).await;
}

#[tokio::test]
async fn team_and_membership_audit_sqlite() {
    team_and_membership_lifecycle(Backend::Sqlite).await;
}

#[tokio::test]
async fn team_and_membership_audit_postgres() {
    team_and_membership_lifecycle(Backend::Postgres).await;
}
