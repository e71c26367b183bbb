//! Request-body validation of users, teams and memberships: every field message, the order in
//! which authentication, permission, lookup and validation errors win, and that a rejected
//! write changes nothing, not even the audit log.

use keystone_blackbox::{
    count_rows, insert_user, send_request, text_rows, token_client, Backend, Client, Response, TestServer, FIXTURE_PASSWORD,
    REQUEST_TIMEOUT,
};
use keystone_storage::audit::AuditContext;
use keystone_storage::Database;
use reqwest::Method;
use serde_json::{json, Value};

/// Runs each listed `async fn name(Backend)` as two tests, `name::sqlite` and `name::postgres`.
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(keystone_blackbox::Backend::Sqlite).await;
                }

                #[tokio::test]
                async fn postgres() {
                    super::$name(keystone_blackbox::Backend::Postgres).await;
                }
            }
        )*
    };
}

on_each_backend!(
    user_create_messages,
    user_update_rules,
    team_messages,
    membership_messages,
    non_object_bodies,
    check_order,
    password_change_ends_sessions,
);

const GOOD_PASSWORD: &str = "Sturdy-Lantern-84";
const TOO_SHORT: &str = "This password is too short. It must contain at least 8 characters.";
const TOO_COMMON: &str = "This password is too common.";
const ENTIRELY_NUMERIC: &str = "This password is entirely numeric.";
const USERNAME_INVALID: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
const FORBIDDEN: &str = "You do not have permission to perform this action.";

/// Row counts of the users app and the audit log, to show that a rejected write left no trace.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    users: i64,
    teams: i64,
    memberships: i64,
    audit_entries: i64,
}

async fn snapshot(db: &Database) -> Snapshot {
    Snapshot {
        users: count_rows(db, "SELECT COUNT(*) FROM users_user").await,
        teams: count_rows(db, "SELECT COUNT(*) FROM users_team").await,
        memberships: count_rows(db, "SELECT COUNT(*) FROM users_membership").await,
        audit_entries: count_rows(db, "SELECT COUNT(*) FROM auditlog_logentry").await,
    }
}

/// Sends a request that must be rejected with `status` and `expected` as its body, and checks
/// that no row and no audit entry appeared.
async fn assert_rejected(db: &Database, client: &Client, method: Method, path: &str, body: &Value, status: u16, expected: Value) {
    let before = snapshot(db).await;
    let response = send_request(client, method.clone(), path, Some(body)).await;
    assert_eq!(response.status.as_u16(), status, "{method} {path} with {body}: {}", response.body);
    assert_eq!(response.json(), expected, "{method} {path} with {body}");
    assert_eq!(snapshot(db).await, before, "{method} {path} with {body} changed the database");
}

async fn expect_status(client: &Client, method: Method, path: &str, body: Option<&Value>, status: u16) -> Response {
    let response = send_request(client, method.clone(), path, body).await;
    assert_eq!(response.status.as_u16(), status, "{method} {path} with {body:?}: {}", response.body);
    response
}

struct Setup {
    server: TestServer,
    db: Database,
    staff: Client,
}

async fn setup(backend: Backend) -> Setup {
    let server = TestServer::start(backend).await;
    let db = server.storage().await;
    let staff_id = insert_user(&db, "staff", true, true).await;
    let staff = token_client(&server, &db, staff_id).await;
    Setup { server, db, staff }
}

/// Inserts a group and a permission; returns their ids.
async fn group_and_permission(db: &Database) -> (i64, i64) {
    for sql in
        ["INSERT INTO auth_group (name) VALUES ('auditors')", "INSERT INTO auth_permission (name, codename) VALUES ('Can audit', 'audit')"]
    {
        match db {
            Database::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            Database::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        }
        .unwrap_or_else(|error| panic!("SQL failed ({error}): {sql}"));
    }
    let group = count_rows(db, "SELECT MAX(id) FROM auth_group").await;
    let permission = count_rows(db, "SELECT MAX(id) FROM auth_permission").await;
    (group, permission)
}

async fn user_create_messages(backend: Backend) {
    let Setup { server: _server, db, staff } = setup(backend).await;
    insert_user(&db, "taken", false, true).await;
    let long = |count: usize| "x".repeat(count);
    let with = |extra: Value| {
        let mut body = json!({"username": "newbie", "password": GOOD_PASSWORD});
        for (key, value) in extra.as_object().expect("object") {
            body[key] = value.clone();
        }
        body
    };
    let long_email = format!("{}@example.org", "a".repeat(243));
    assert_eq!(long_email.len(), 255);

    let cases: Vec<(Value, Value)> = vec![
        (json!({}), json!({"username": ["This field is required."], "password": ["This field is required."]})),
        (with(json!({"username": "bad name!"})), json!({"username": [USERNAME_INVALID]})),
        (with(json!({"username": "semi;colon"})), json!({"username": [USERNAME_INVALID]})),
        (with(json!({"username": "taken"})), json!({"username": ["user with this username already exists."]})),
        (with(json!({"username": ""})), json!({"username": ["This field may not be blank."]})),
        (with(json!({"username": null})), json!({"username": ["This field may not be null."]})),
        (with(json!({"username": long(151)})), json!({"username": ["Ensure this field has no more than 150 characters."]})),
        (with(json!({"password": ""})), json!({"password": ["This field may not be blank."]})),
        (with(json!({"password": long(129)})), json!({"password": ["Ensure this field has no more than 128 characters."]})),
        (with(json!({"password": "123"})), json!({"non_field_errors": [TOO_SHORT, TOO_COMMON, ENTIRELY_NUMERIC]})),
        (with(json!({"password": "password"})), json!({"non_field_errors": [TOO_COMMON]})),
        (with(json!({"password": "58293017462"})), json!({"non_field_errors": [ENTIRELY_NUMERIC]})),
        (with(json!({"password": "Zq9!"})), json!({"non_field_errors": [TOO_SHORT]})),
        (with(json!({"email": "not-an-email"})), json!({"email": ["Enter a valid email address."]})),
        (with(json!({"email": "a@b"})), json!({"email": ["Enter a valid email address."]})),
        (with(json!({"email": long_email})), json!({"email": ["Ensure this field has no more than 254 characters."]})),
        (with(json!({"first_name": long(151)})), json!({"first_name": ["Ensure this field has no more than 150 characters."]})),
        (with(json!({"last_name": long(151)})), json!({"last_name": ["Ensure this field has no more than 150 characters."]})),
        (with(json!({"department": long(1001)})), json!({"department": ["Ensure this field has no more than 1000 characters."]})),
        (with(json!({"role": long(1001)})), json!({"role": ["Ensure this field has no more than 1000 characters."]})),
        (with(json!({"is_staff": "maybe"})), json!({"is_staff": ["Must be a valid boolean."]})),
        (with(json!({"is_active": null})), json!({"is_active": ["This field may not be null."]})),
        (with(json!({"is_superuser": [true]})), json!({"is_superuser": ["Must be a valid boolean."]})),
        (with(json!({"is_ldap_user": 2})), json!({"is_ldap_user": ["Must be a valid boolean."]})),
        (with(json!({"groups": [99]})), json!({"groups": ["Invalid pk \"99\" - object does not exist."]})),
        (with(json!({"user_permissions": [99]})), json!({"user_permissions": ["Invalid pk \"99\" - object does not exist."]})),
        (with(json!({"groups": ["abc"]})), json!({"groups": ["Incorrect type. Expected pk value, received str."]})),
        (with(json!({"groups": 5})), json!({"groups": ["Expected a list of items but got type \"int\"."]})),
        (with(json!({"groups": "7"})), json!({"groups": ["Expected a list of items but got type \"str\"."]})),
        // Field errors stop validation before the password rules run.
        (with(json!({"username": "bad name!", "password": "123"})), json!({"username": [USERNAME_INVALID]})),
        // Several field errors are reported together.
        (
            with(json!({"username": "", "email": "x", "is_staff": "maybe"})),
            json!({"username": ["This field may not be blank."], "email": ["Enter a valid email address."], "is_staff": ["Must be a valid boolean."]}),
        ),
    ];
    for (body, expected) in cases {
        assert_rejected(&db, &staff, Method::POST, "/users/users/", &body, 400, expected).await;
    }

    // Unicode letters and the five punctuation characters are valid; read-only fields are
    // ignored; text is trimmed; a blank optional field is stored blank.
    let created = expect_status(
        &staff,
        Method::POST,
        "/users/users/",
        Some(&json!({
            "username": "Zoë.ü@x+y-z_1",
            "password": GOOD_PASSWORD,
            "first_name": "  Ada  ",
            "email": "",
            "id": 999,
            "date_joined": "2000-01-01T00:00:00Z",
            "last_login": "2000-01-01T00:00:00Z",
            "display_name": "Ignored",
        })),
        201,
    )
    .await
    .json();
    assert_eq!(created["username"], "Zoë.ü@x+y-z_1");
    assert_ne!(created["id"], 999);
    assert_eq!(created["first_name"], "Ada");
    assert_eq!(created["email"], "");
    assert_eq!(created["last_login"], Value::Null);
    assert!(!created["date_joined"].as_str().expect("date_joined is text").starts_with("2000"), "{created}");
    assert_eq!(created["display_name"], "Ada");
    assert!(created.get("password").is_none(), "the password is never returned: {created}");
    let stored = text_rows(&db, "SELECT password FROM users_user WHERE username = 'newbie'").await;
    assert!(stored.is_empty(), "no rejected create stored its user");
}

async fn user_update_rules(backend: Backend) {
    let Setup { server, db, staff } = setup(backend).await;
    let (group, permission) = group_and_permission(&db).await;
    let plain_id = insert_user(&db, "plain", false, true).await;
    insert_user(&db, "taken", false, true).await;
    let plain = token_client(&server, &db, plain_id).await;
    let path = format!("/users/users/{plain_id}/");

    // A non-staff user's own flags, groups and permissions are read-only for them: new values,
    // even invalid ones, are ignored.
    let response = expect_status(
        &plain,
        Method::PATCH,
        &path,
        Some(&json!({
            "first_name": "Kept",
            "is_superuser": true,
            "is_staff": true,
            "is_active": false,
            "is_ldap_user": true,
            "groups": [group],
            "user_permissions": [permission],
        })),
        200,
    )
    .await
    .json();
    assert_eq!(response["first_name"], "Kept");
    for flag in ["is_superuser", "is_staff", "is_ldap_user"] {
        assert_eq!(response[flag], false, "{flag} changed: {response}");
    }
    assert_eq!(response["is_active"], true);
    assert_eq!(response["groups"], json!([]));
    assert_eq!(response["user_permissions"], json!([]));
    let stored =
        text_rows(&db, &format!("SELECT CAST(is_superuser AS TEXT), CAST(is_staff AS TEXT) FROM users_user WHERE id = {plain_id}")).await;
    assert!(matches!(stored[0][0].as_deref(), Some("false" | "0")), "is_superuser stored as {:?}", stored[0][0]);
    assert!(matches!(stored[0][1].as_deref(), Some("false" | "0")), "is_staff stored as {:?}", stored[0][1]);
    assert_eq!(count_rows(&db, &format!("SELECT COUNT(*) FROM users_user_groups WHERE user_id = {plain_id}")).await, 0);
    assert_eq!(count_rows(&db, &format!("SELECT COUNT(*) FROM users_user_user_permissions WHERE user_id = {plain_id}")).await, 0);
    expect_status(&plain, Method::PATCH, &path, Some(&json!({"is_superuser": "maybe", "groups": [99], "user_permissions": "x"})), 200)
        .await;

    // PUT needs username and password, even from the record's owner.
    assert_rejected(
        &db,
        &plain,
        Method::PUT,
        &path,
        &json!({"first_name": "Only"}),
        400,
        json!({"username": ["This field is required."], "password": ["This field is required."]}),
    )
    .await;
    assert_rejected(
        &db,
        &plain,
        Method::PATCH,
        &path,
        &json!({"username": "taken"}),
        400,
        json!({"username": ["user with this username already exists."]}),
    )
    .await;
    assert_rejected(&db, &plain, Method::PATCH, &path, &json!({"email": "nope"}), 400, json!({"email": ["Enter a valid email address."]}))
        .await;
    assert_rejected(
        &db,
        &plain,
        Method::PATCH,
        &path,
        &json!({"password": "123"}),
        400,
        json!({"non_field_errors": [TOO_SHORT, TOO_COMMON, ENTIRELY_NUMERIC]}),
    )
    .await;
    // Keeping one's own username is not a duplicate.
    let renamed =
        expect_status(&plain, Method::PUT, &path, Some(&json!({"username": "plain", "password": GOOD_PASSWORD, "id": 5000})), 200)
            .await
            .json();
    assert_eq!(renamed["id"], plain_id);
    assert_eq!(renamed["first_name"], "Kept", "PUT keeps optional fields it does not name");

    // Staff may set every flag, groups and permissions, and get the same messages.
    let updated = expect_status(
        &staff,
        Method::PATCH,
        &path,
        Some(&json!({"is_staff": "true", "is_ldap_user": 1, "groups": [group], "user_permissions": [permission]})),
        200,
    )
    .await
    .json();
    assert_eq!(updated["is_staff"], true);
    assert_eq!(updated["is_ldap_user"], true);
    assert_eq!(updated["groups"], json!([group]));
    assert_eq!(updated["user_permissions"], json!([permission]));
    assert_rejected(
        &db,
        &staff,
        Method::PATCH,
        &path,
        &json!({"groups": [group, 99]}),
        400,
        json!({"groups": ["Invalid pk \"99\" - object does not exist."]}),
    )
    .await;
    assert_rejected(
        &db,
        &staff,
        Method::PATCH,
        &path,
        &json!({"user_permissions": [99]}),
        400,
        json!({"user_permissions": ["Invalid pk \"99\" - object does not exist."]}),
    )
    .await;
    assert_rejected(
        &db,
        &staff,
        Method::PATCH,
        &path,
        &json!({"is_active": "sometimes"}),
        400,
        json!({"is_active": ["Must be a valid boolean."]}),
    )
    .await;
    // A form body sends a list as one text value per entry.
    let form = staff.request(Method::PATCH, &path).form(&[("groups", group.to_string())]);
    let response = tokio::time::timeout(REQUEST_TIMEOUT, staff.send(form)).await.expect("form PATCH answered in time");
    assert_eq!(response.status.as_u16(), 200, "form PATCH: {}", response.body);
    assert_eq!(response.json()["groups"], json!([group]));
    let cleared = expect_status(&staff, Method::PATCH, &path, Some(&json!({"groups": []})), 200).await.json();
    assert_eq!(cleared["groups"], json!([]));
    assert_eq!(cleared["user_permissions"], json!([permission]), "a PATCH keeps the lists it does not name");
}

async fn team_messages(backend: Backend) {
    let Setup { server, db, staff } = setup(backend).await;
    let founder_id = insert_user(&db, "founder", false, true).await;
    let founder = token_client(&server, &db, founder_id).await;
    let outsider = token_client(&server, &db, insert_user(&db, "outsider", false, true).await).await;

    let team_x = expect_status(&staff, Method::POST, "/users/teams/", Some(&json!({"name": "Team X"})), 201).await.json();
    assert_eq!(team_x["slug"], "team-x");
    assert_eq!(team_x["_membership"], json!([]), "staff who create a team do not join it");
    let cases: Vec<(Value, Value)> = vec![
        (json!({"name": "Team X"}), json!({"name": ["team with this name already exists."]})),
        (json!({"name": "Team-X"}), json!({"name": ["A team with this name already exists."]})),
        (json!({"name": "team x"}), json!({"name": ["A team with this name already exists."]})),
        (json!({"name": "TEAM   x!"}), json!({"name": ["A team with this name already exists."]})),
        (json!({}), json!({"name": ["This field is required."]})),
        (json!({"name": ""}), json!({"name": ["This field may not be blank."]})),
        (json!({"name": null}), json!({"name": ["This field may not be null."]})),
        (json!({"name": "n".repeat(256)}), json!({"name": ["Ensure this field has no more than 255 characters."]})),
        (json!({"name": "Fine", "is_active": "maybe"}), json!({"is_active": ["Must be a valid boolean."]})),
    ];
    for (body, expected) in cases {
        assert_rejected(&db, &staff, Method::POST, "/users/teams/", &body, 400, expected.clone()).await;
        assert_rejected(&db, &founder, Method::POST, "/users/teams/", &body, 400, expected).await;
    }
    assert_rejected(
        &db,
        &founder,
        Method::POST,
        "/users/teams/",
        &json!({"name": "Quiet Team", "is_active": false}),
        400,
        json!({"is_active": ["This field cannot be set to False on new records by non-staff users."]}),
    )
    .await;
    let quiet =
        expect_status(&staff, Method::POST, "/users/teams/", Some(&json!({"name": "Quiet Team", "is_active": false})), 201).await.json();
    assert_eq!(quiet["is_active"], false);

    // The slug always derives from the name: accents are folded, other characters dropped, and
    // a slug in the body is ignored.
    for (name, slug) in [("Équipe Über", "equipe-uber"), ("Solar & Wind Lab!", "solar-wind-lab"), ("  Dune   Runners ", "dune-runners")] {
        let team =
            expect_status(&staff, Method::POST, "/users/teams/", Some(&json!({"name": name, "slug": "custom-slug"})), 201).await.json();
        assert_eq!(team["slug"], slug, "slug of {name:?}");
        assert_eq!(team["name"], name.trim(), "stored name of {name:?}");
    }

    // A non-staff creator becomes the owner, and may then see and manage the team.
    let own = expect_status(&founder, Method::POST, "/users/teams/", Some(&json!({"name": "Founders"})), 201).await.json();
    let own_id = own["id"].as_i64().expect("team id");
    assert_eq!(own["_membership"].as_array().map(Vec::len), Some(1), "{own}");
    assert_eq!(own["_membership"][0]["user"], founder_id);
    assert_eq!(own["_membership"][0]["role"], "OW");
    assert_eq!(own["users"], json!([founder_id]));
    let listed = expect_status(&founder, Method::GET, "/users/teams/", None, 200).await.json();
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["results"][0]["id"], own_id);
    let own_path = format!("/users/teams/{own_id}/");

    // The name is read-only after creation; PUT restores the is_active default.
    let renamed =
        expect_status(&founder, Method::PATCH, &own_path, Some(&json!({"name": "Renamed", "slug": "renamed", "is_active": false})), 200)
            .await
            .json();
    assert_eq!(renamed["name"], "Founders");
    assert_eq!(renamed["slug"], "founders");
    assert_eq!(renamed["is_active"], false);
    // The team is now inactive, so its non-staff owner no longer finds it; staff still do.
    expect_status(&founder, Method::GET, &own_path, None, 404).await;
    let reset = expect_status(&staff, Method::PUT, &own_path, Some(&json!({"name": "Renamed Again"})), 200).await.json();
    assert_eq!(reset["is_active"], true, "PUT without is_active resets it to true");
    assert_eq!(reset["name"], "Founders");
    let kept = expect_status(&founder, Method::PATCH, &own_path, Some(&json!({})), 200).await.json();
    assert_eq!(kept["is_active"], true);
    assert_rejected(
        &db,
        &founder,
        Method::PATCH,
        &own_path,
        &json!({"is_active": "sometimes"}),
        400,
        json!({"is_active": ["Must be a valid boolean."]}),
    )
    .await;
    assert_rejected(&db, &outsider, Method::PATCH, &own_path, &json!({"is_active": false}), 403, json!({"detail": FORBIDDEN})).await;
    let stored = text_rows(&db, &format!("SELECT name, slug FROM users_team WHERE id = {own_id}")).await;
    assert_eq!(stored, vec![vec![Some("Founders".to_string()), Some("founders".to_string())]]);
}

async fn membership_messages(backend: Backend) {
    let Setup { server, db, staff } = setup(backend).await;
    let audit = AuditContext::default();
    let chief_id = insert_user(&db, "chief", false, true).await;
    let chief = token_client(&server, &db, chief_id).await;
    let outsider = token_client(&server, &db, insert_user(&db, "outsider", false, true).await).await;
    let recruit = insert_user(&db, "recruit", false, true).await;
    let active = db.create_team("Open Team", true, None, &audit).await.expect("team").id;
    let dormant = db.create_team("Closed Team", false, None, &audit).await.expect("team").id;
    let chief_membership = db.create_membership(chief_id, active, "AD", &audit).await.expect("membership").id;
    db.create_membership(chief_id, dormant, "OW", &audit).await.expect("membership");
    let existing = db.create_membership(recruit, active, "MB", &audit).await.expect("membership").id;

    let list = "/users/memberships/";
    assert_rejected(
        &db,
        &staff,
        Method::POST,
        list,
        &json!({}),
        400,
        json!({"role": ["This field is required."], "user": ["This field is required."], "team": ["This field is required."]}),
    )
    .await;
    let cases: Vec<(Value, Value)> = vec![
        (json!({"role": "XX", "user": recruit, "team": dormant}), json!({"role": ["\"XX\" is not a valid choice."]})),
        (json!({"role": "mb", "user": recruit, "team": dormant}), json!({"role": ["\"mb\" is not a valid choice."]})),
        (json!({"role": null, "user": recruit, "team": dormant}), json!({"role": ["This field may not be null."]})),
        (json!({"role": "MB", "user": 99999, "team": dormant}), json!({"user": ["Invalid pk \"99999\" - object does not exist."]})),
        (json!({"role": "MB", "user": "abc", "team": dormant}), json!({"user": ["Incorrect type. Expected pk value, received str."]})),
        (json!({"role": "MB", "user": recruit, "team": 99999}), json!({"team": ["Invalid pk \"99999\" - object does not exist."]})),
        (
            json!({"role": "MB", "user": recruit, "team": active}),
            json!({"non_field_errors": ["The fields user, team must make a unique set."]}),
        ),
    ];
    for (body, expected) in cases {
        assert_rejected(&db, &staff, Method::POST, list, &body, 400, expected).await;
    }

    // Non-staff owners of an inactive team may not add members to it; staff may.
    let inactive_message = json!({"team": ["Non-staff cannot create a membership for an inactive team."]});
    assert_rejected(
        &db,
        &chief,
        Method::POST,
        list,
        &json!({"role": "MB", "user": recruit, "team": dormant}),
        400,
        inactive_message.clone(),
    )
    .await;
    // The same applies when an update moves a membership into the inactive team.
    let chief_path = format!("/users/memberships/{chief_membership}/");
    assert_rejected(&db, &chief, Method::PATCH, &chief_path, &json!({"team": dormant}), 400, inactive_message).await;
    let added = expect_status(&staff, Method::POST, list, Some(&json!({"role": "MB", "user": recruit, "team": dormant})), 201).await.json();
    assert_eq!(added["team"], dormant);
    assert_eq!(added["_team"]["is_active"], false);

    // A non-integer team is a field error, never a server error, for members and outsiders alike.
    for client in [&chief, &outsider] {
        assert_rejected(
            &db,
            client,
            Method::POST,
            list,
            &json!({"role": "MB", "user": recruit, "team": "abc"}),
            400,
            json!({"team": ["Incorrect type. Expected pk value, received str."]}),
        )
        .await;
        assert_rejected(
            &db,
            client,
            Method::POST,
            list,
            &json!({"role": "MB", "user": recruit, "team": [active]}),
            400,
            json!({"team": ["Incorrect type. Expected pk value, received list."]}),
        )
        .await;
    }
    // A team that does not exist is a field error too: the permission check only applies to
    // teams that exist.
    assert_rejected(
        &db,
        &outsider,
        Method::POST,
        list,
        &json!({"role": "MB", "user": recruit, "team": 99999}),
        400,
        json!({"team": ["Invalid pk \"99999\" - object does not exist."]}),
    )
    .await;

    let existing_path = format!("/users/memberships/{existing}/");
    assert_rejected(
        &db,
        &chief,
        Method::PATCH,
        &existing_path,
        &json!({"role": "XX"}),
        400,
        json!({"role": ["\"XX\" is not a valid choice."]}),
    )
    .await;
    assert_rejected(
        &db,
        &chief,
        Method::PUT,
        &existing_path,
        &json!({"role": "AD"}),
        400,
        json!({"user": ["This field is required."], "team": ["This field is required."]}),
    )
    .await;
    assert_rejected(
        &db,
        &chief,
        Method::PATCH,
        &existing_path,
        &json!({"user": chief_id}),
        400,
        json!({"non_field_errors": ["The fields user, team must make a unique set."]}),
    )
    .await;
    // An admin may promote others and change their own role; no last-owner protection.
    let promoted = expect_status(&chief, Method::PATCH, &existing_path, Some(&json!({"role": "OW"})), 200).await.json();
    assert_eq!(promoted["role"], "OW");
    let own = expect_status(&chief, Method::PATCH, &chief_path, Some(&json!({"role": "MB", "team": "  "})), 400).await.json();
    assert_eq!(own, json!({"team": ["Incorrect type. Expected pk value, received str."]}));
    let demoted = expect_status(&chief, Method::PATCH, &chief_path, Some(&json!({"role": "MB"})), 200).await.json();
    assert_eq!(demoted["role"], "MB");
}

/// Checks that a body that is JSON but not an object is a 400 on every write, for staff and
/// non-staff alike.
async fn non_object_bodies(backend: Backend) {
    let Setup { server, db, staff } = setup(backend).await;
    let audit = AuditContext::default();
    let owner_id = insert_user(&db, "owner", false, true).await;
    let owner = token_client(&server, &db, owner_id).await;
    let outsider = token_client(&server, &db, insert_user(&db, "outsider", false, true).await).await;
    let team = db.create_team("Body Team", true, None, &audit).await.expect("team").id;
    let membership = db.create_membership(owner_id, team, "OW", &audit).await.expect("membership").id;

    let writes: Vec<(&str, &Client, Method, String)> = vec![
        ("staff", &staff, Method::POST, "/users/users/".to_string()),
        ("staff", &staff, Method::PATCH, format!("/users/users/{owner_id}/")),
        ("owner", &owner, Method::PATCH, format!("/users/users/{owner_id}/")),
        ("owner", &owner, Method::PUT, format!("/users/users/{owner_id}/")),
        ("outsider", &outsider, Method::POST, "/users/teams/".to_string()),
        ("owner", &owner, Method::PATCH, format!("/users/teams/{team}/")),
        ("staff", &staff, Method::PUT, format!("/users/teams/{team}/")),
        ("outsider", &outsider, Method::POST, "/users/memberships/".to_string()),
        ("owner", &owner, Method::POST, "/users/memberships/".to_string()),
        ("staff", &staff, Method::POST, "/users/memberships/".to_string()),
        ("owner", &owner, Method::PATCH, format!("/users/memberships/{membership}/")),
        ("staff", &staff, Method::PUT, format!("/users/memberships/{membership}/")),
    ];
    let bodies =
        [(json!([1, 2]), "list"), (json!([{"team": team}]), "list"), (json!("text"), "str"), (json!(5), "int"), (json!(true), "bool")];
    for (who, client, method, path) in &writes {
        for (body, type_name) in &bodies {
            let expected = json!({"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {type_name}.")]});
            let before = snapshot(&db).await;
            let response = send_request(client, method.clone(), path, Some(body)).await;
            assert_eq!(response.status.as_u16(), 400, "{who} {method} {path} with {body}: {}", response.body);
            assert_eq!(response.json(), expected, "{who} {method} {path} with {body}");
            assert_eq!(snapshot(&db).await, before, "{who} {method} {path} with {body} changed the database");
        }
    }
}

/// Authentication (401) comes before permission (403), which comes before the method check
/// (405) and the record lookup (404), which come before body validation (400).
async fn check_order(backend: Backend) {
    let Setup { server, db, staff } = setup(backend).await;
    let audit = AuditContext::default();
    let anonymous = server.client();
    let owner_id = insert_user(&db, "owner", false, true).await;
    let member_id = insert_user(&db, "member", false, true).await;
    let outsider_id = insert_user(&db, "outsider", false, true).await;
    let ghost = insert_user(&db, "ghost", false, false).await;
    let owner = token_client(&server, &db, owner_id).await;
    let member = token_client(&server, &db, member_id).await;
    let outsider = token_client(&server, &db, outsider_id).await;
    let team = db.create_team("Order Team", true, None, &audit).await.expect("team").id;
    db.create_membership(owner_id, team, "OW", &audit).await.expect("membership");
    let member_membership = db.create_membership(member_id, team, "MB", &audit).await.expect("membership").id;

    let not_authenticated = json!({"detail": "Authentication credentials were not provided."});
    let forbidden = json!({"detail": FORBIDDEN});
    let not_allowed = |method: &str| json!({"detail": format!("Method \"{method}\" not allowed.")});
    let no_user = json!({"detail": "No User matches the given query."});
    let no_team = json!({"detail": "No Team matches the given query."});
    let no_membership = json!({"detail": "No Membership matches the given query."});
    let bad_user = json!({"username": "bad name!", "email": "nope"});
    let bad_membership = json!({"team": team, "role": "XX"});
    let own_path = format!("/users/users/{outsider_id}/");
    let member_path = format!("/users/memberships/{member_membership}/");

    let cases: Vec<(&str, &Client, Method, String, Value, u16, Value)> = vec![
        // 401 before everything else.
        ("anonymous", &anonymous, Method::POST, "/users/users/".into(), bad_user.clone(), 401, not_authenticated.clone()),
        ("anonymous", &anonymous, Method::PUT, "/users/users/".into(), bad_user.clone(), 401, not_authenticated.clone()),
        ("anonymous", &anonymous, Method::PATCH, "/users/users/999999/".into(), bad_user.clone(), 401, not_authenticated.clone()),
        ("anonymous", &anonymous, Method::POST, "/users/memberships/".into(), bad_membership.clone(), 401, not_authenticated.clone()),
        // View-level 403 before validation and before the method check.
        ("outsider", &outsider, Method::POST, "/users/users/".into(), bad_user.clone(), 403, forbidden.clone()),
        ("outsider", &outsider, Method::POST, "/users/memberships/".into(), bad_membership.clone(), 403, forbidden.clone()),
        ("outsider", &outsider, Method::PUT, "/users/memberships/".into(), bad_membership.clone(), 403, forbidden.clone()),
        ("member", &member, Method::DELETE, "/users/memberships/".into(), json!({"team": team}), 403, forbidden.clone()),
        ("member", &member, Method::POST, member_path.clone(), json!({"team": team}), 403, forbidden.clone()),
        ("outsider", &outsider, Method::PATCH, "/users/memberships/999999/".into(), bad_membership.clone(), 403, forbidden.clone()),
        // 405 before the lookup and before validation.
        ("outsider", &outsider, Method::PUT, "/users/users/".into(), bad_user.clone(), 405, not_allowed("PUT")),
        ("outsider", &outsider, Method::POST, "/users/users/999999/".into(), bad_user.clone(), 405, not_allowed("POST")),
        ("outsider", &outsider, Method::POST, format!("/users/users/{ghost}/"), bad_user.clone(), 405, not_allowed("POST")),
        ("staff", &staff, Method::DELETE, "/users/teams/".into(), json!({}), 405, not_allowed("DELETE")),
        ("owner", &owner, Method::PATCH, "/users/memberships/".into(), bad_membership.clone(), 405, not_allowed("PATCH")),
        // 404 before the object permission and before validation.
        ("outsider", &outsider, Method::PATCH, "/users/users/999999/".into(), bad_user.clone(), 404, no_user.clone()),
        ("outsider", &outsider, Method::PATCH, format!("/users/users/{ghost}/"), bad_user.clone(), 404, no_user.clone()),
        ("staff", &staff, Method::PATCH, "/users/users/999999/".into(), bad_user.clone(), 404, no_user.clone()),
        ("staff", &staff, Method::DELETE, "/users/teams/999999/".into(), json!({}), 404, no_team.clone()),
        ("member", &member, Method::PATCH, "/users/teams/999999/".into(), json!({"is_active": "maybe"}), 404, no_team.clone()),
        ("owner", &owner, Method::PATCH, "/users/memberships/999999/".into(), bad_membership.clone(), 404, no_membership.clone()),
        // Object-level 403 before validation.
        ("outsider", &outsider, Method::PATCH, format!("/users/users/{owner_id}/"), bad_user.clone(), 403, forbidden.clone()),
        ("member", &member, Method::PATCH, format!("/users/teams/{team}/"), json!({"is_active": "maybe"}), 403, forbidden.clone()),
        ("outsider", &outsider, Method::PATCH, member_path.clone(), json!({"role": "XX"}), 403, forbidden.clone()),
        ("member", &member, Method::PUT, member_path.clone(), json!({"role": "XX"}), 403, forbidden.clone()),
        // Validation last.
        (
            "outsider",
            &outsider,
            Method::PATCH,
            own_path.clone(),
            bad_user.clone(),
            400,
            json!({"username": [USERNAME_INVALID], "email": ["Enter a valid email address."]}),
        ),
        (
            "owner",
            &owner,
            Method::PATCH,
            format!("/users/teams/{team}/"),
            json!({"is_active": "maybe"}),
            400,
            json!({"is_active": ["Must be a valid boolean."]}),
        ),
        (
            "owner",
            &owner,
            Method::PATCH,
            member_path.clone(),
            json!({"role": "XX"}),
            400,
            json!({"role": ["\"XX\" is not a valid choice."]}),
        ),
        (
            "staff",
            &staff,
            Method::POST,
            "/users/users/".into(),
            bad_user.clone(),
            400,
            json!({"username": [USERNAME_INVALID], "password": ["This field is required."], "email": ["Enter a valid email address."]}),
        ),
    ];
    for (who, client, method, path, body, status, expected) in cases {
        let before = snapshot(&db).await;
        let response = send_request(client, method.clone(), &path, Some(&body)).await;
        assert_eq!(response.status.as_u16(), status, "{who} {method} {path} with {body}: {}", response.body);
        assert_eq!(response.json(), expected, "{who} {method} {path} with {body}");
        assert_eq!(snapshot(&db).await, before, "{who} {method} {path} with {body} changed the database");
    }
}

/// Checks that a password change through the API ends every session of that user, the caller's
/// own included, but leaves API tokens working. The new password signs in and the old one does not.
async fn password_change_ends_sessions(backend: Backend) {
    let Setup { server, db, staff } = setup(backend).await;
    let pat_id = insert_user(&db, "pat", false, true).await;
    let path = format!("/users/users/{pat_id}/");
    let mut first = server.client();
    first.login("pat", FIXTURE_PASSWORD).await;
    let mut second = server.client();
    second.login("pat", FIXTURE_PASSWORD).await;
    let token = token_client(&server, &db, pat_id).await;

    // A change that leaves the password alone keeps the sessions.
    expect_status(&first, Method::PATCH, &path, Some(&json!({"first_name": "Pat"})), 200).await;
    expect_status(&first, Method::GET, "/authentication/whoami/", None, 200).await;

    let new_password = "Fresh-Meadow-63";
    let changed = expect_status(&first, Method::PATCH, &path, Some(&json!({"password": new_password})), 200).await.json();
    assert!(changed.get("password").is_none(), "the password is never returned: {changed}");
    let stored = text_rows(&db, &format!("SELECT password FROM users_user WHERE id = {pat_id}")).await;
    let hash = stored[0][0].clone().expect("password is set");
    assert!(hash.starts_with("pbkdf2_sha256$1000000$"), "stored password is not a PBKDF2 hash: {hash}");
    assert!(!hash.contains(new_password));

    for (name, client) in [("the caller's session", &first), ("another session", &second)] {
        let response = expect_status(client, Method::GET, "/authentication/whoami/", None, 401).await;
        assert_eq!(response.json(), json!({"detail": "Authentication credentials were not provided."}), "{name}");
    }
    let whoami = expect_status(&token, Method::GET, "/authentication/whoami/", None, 200).await.json();
    assert_eq!(whoami["username"], "pat");

    let old = send_request(
        &server.client(),
        Method::POST,
        "/authentication/login/",
        Some(&json!({"username": "pat", "password": FIXTURE_PASSWORD})),
    )
    .await;
    assert_eq!(old.status.as_u16(), 400, "the old password still signs in: {}", old.body);
    assert_eq!(old.json(), json!({"non_field_errors": ["Invalid username or password."]}));
    let mut fresh = server.client();
    fresh.login("pat", new_password).await;
    expect_status(&fresh, Method::GET, "/authentication/whoami/", None, 200).await;

    // A staff user who changes someone else's password ends that user's sessions, not their own.
    let staff_id = count_rows(&db, "SELECT id FROM users_user WHERE username = 'staff'").await;
    let mut staff_session = server.client();
    staff_session.login("staff", FIXTURE_PASSWORD).await;
    expect_status(&staff, Method::PATCH, &path, Some(&json!({"password": "Another-Harbor-29"})), 200).await;
    expect_status(&fresh, Method::GET, "/authentication/whoami/", None, 401).await;
    let staff_whoami = expect_status(&staff_session, Method::GET, "/authentication/whoami/", None, 200).await.json();
    assert_eq!(staff_whoami["id"], staff_id);
    let mut again = server.client();
    again.login("pat", "Another-Harbor-29").await;
}
