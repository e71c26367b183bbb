//! `/allocations/comments/` over real HTTP: the access matrix per role and method, the author
//! default, the private-comment rule, validation, list scoping, search, filters, audit entries
//! and a fixed statement count per list page.

#[path = "../fixtures/research/fixture.rs"]
mod fixture;

use fixture::{multipart, result_ids, Body, Fixture, Role, METHODS};
use keystone_blackbox::{Backend, TestServer};
use keystone_storage::audit::AuditContext;
use keystone_storage::comments::CommentFields;
use reqwest::Method;
use serde_json::{json, Value};
use Role::*;

const PRIVATE_FOR_STAFF: &str = "Only staff users can write comments marked as private.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    List,
    /// A public comment on a request of team A.
    Public,
    /// A private comment on a request of team A.
    Private,
}

use Target::*;

/// Expected status per method: GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE, TRACE.
#[rustfmt::skip]
const MATRIX: &[(Target, Role, [u16; 8])] = &[
    (List,    Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (List,    Outsider,  [200, 200, 200, 403, 405, 405, 405, 405]),
    (List,    Member,    [200, 200, 200, 201, 405, 405, 405, 405]),
    (List,    Admin,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (List,    Owner,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (List,    Staff,     [200, 200, 200, 201, 405, 405, 405, 405]),

    (Public,  Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (Public,  Outsider,  [403, 403, 200, 405, 403, 403, 403, 405]),
    (Public,  Member,    [200, 200, 200, 405, 200, 200, 204, 405]),
    (Public,  Admin,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (Public,  Owner,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (Public,  Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (Private, Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (Private, Outsider,  [403, 403, 200, 405, 403, 403, 403, 405]),
    (Private, Member,    [403, 403, 200, 405, 403, 403, 403, 405]),
    (Private, Admin,     [403, 403, 200, 405, 403, 403, 403, 405]),
    (Private, Owner,     [403, 403, 200, 405, 403, 403, 403, 405]),
    (Private, Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),
];

/// Inserts a comment through the storage layer and returns its id.
async fn insert_comment(fixture: &Fixture, request: i64, author: i64, content: &str, private: bool) -> i64 {
    let fields = CommentFields { content: content.to_string(), private, user_id: author, request_id: request };
    fixture.db.create_comment(&fields, &AuditContext::default()).await.expect("comment is inserted").id
}

async fn access_matrix(fixture: &Fixture) {
    let request = fixture.request(fixture.team_a, "Matrix request").await;
    let author = fixture.user(Member);
    let shared_public = insert_comment(fixture, request, author, "Shared public", false).await;
    let shared_private = insert_comment(fixture, request, fixture.user(Staff), "Shared private", true).await;
    for (target, role, statuses) in MATRIX {
        for (method, status) in METHODS.iter().zip(statuses) {
            let writes = matches!(*method, Method::PUT | Method::PATCH | Method::DELETE);
            let path = match target {
                List => "/allocations/comments/".to_string(),
                Public if writes => format!("/allocations/comments/{}/", insert_comment(fixture, request, author, "Fresh", false).await),
                Private if writes => format!("/allocations/comments/{}/", insert_comment(fixture, request, author, "Fresh", true).await),
                Public => format!("/allocations/comments/{shared_public}/"),
                Private => format!("/allocations/comments/{shared_private}/"),
            };
            let body = match *method {
                Method::POST | Method::PUT => Body::Json(json!({"content": "Written in the matrix", "request": request})),
                Method::PATCH => Body::Json(json!({"content": "Patched in the matrix"})),
                _ => Body::None,
            };
            let response = fixture.send(*role, method.clone(), &path, &body).await;
            assert_eq!(response.status.as_u16(), *status, "{:?} {target:?} {role:?} {method}: {}", fixture.backend, response.body);
        }
    }

    // Error bodies and headers that go with the statuses.
    let detail = format!("/allocations/comments/{shared_private}/");
    let denied = fixture.expect(Member, Method::GET, &detail, &Body::None, 403).await;
    assert_eq!(denied.json(), json!({"detail": "You do not have permission to perform this action."}), "{:?}", fixture.backend);
    let anonymous = fixture.expect(Anonymous, Method::GET, &detail, &Body::None, 401).await;
    assert_eq!(anonymous.header("www-authenticate"), Some("Token"), "{:?}", fixture.backend);
    let not_allowed = fixture.expect(Staff, Method::POST, &detail, &Body::None, 405).await;
    assert_eq!(not_allowed.json(), json!({"detail": "Method \"POST\" not allowed."}), "{:?}", fixture.backend);
    assert_eq!(not_allowed.header("allow"), Some("GET, PUT, PATCH, DELETE, HEAD, OPTIONS"), "{:?}", fixture.backend);
    let list = fixture.expect(Member, Method::GET, "/allocations/comments/", &Body::None, 200).await;
    assert_eq!(list.header("allow"), Some("GET, POST, HEAD, OPTIONS"), "{:?}", fixture.backend);
    let missing = fixture.expect(Staff, Method::GET, "/allocations/comments/999999/", &Body::None, 404).await;
    assert_eq!(missing.json(), json!({"detail": "No Comment matches the given query."}), "{:?}", fixture.backend);
    let malformed = fixture.expect(Staff, Method::GET, "/allocations/comments/abc/", &Body::None, 404).await;
    assert_eq!(malformed.json(), json!({"detail": "Not found."}), "{:?}", fixture.backend);
}

async fn representation_and_author(fixture: &Fixture) {
    let backend = fixture.backend;
    let request = fixture.request(fixture.team_a, "Representation request").await;

    let created =
        fixture.json(Member, Method::POST, "/allocations/comments/", json!({"content": "  Looks good  ", "request": request})).await;
    assert_eq!(created.status.as_u16(), 201, "{backend:?}: {}", created.body);
    let comment = created.json();
    let keys: Vec<&str> = comment.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "user", "_user", "_request", "_history", "content", "created", "private", "request"], "{backend:?}");
    assert_eq!(comment["user"], fixture.user(Member), "{backend:?}: the caller is the default author");
    assert_eq!(comment["_user"]["username"], "member", "{backend:?}");
    assert_eq!(comment["content"], "Looks good", "{backend:?}: content is trimmed");
    assert_eq!(comment["private"], false, "{backend:?}");
    assert_eq!(comment["request"], request, "{backend:?}");
    assert_eq!(
        comment["_request"],
        json!({"id": request, "title": "Representation request", "status": "PD", "active": null, "expire": null}),
        "{backend:?}"
    );
    let created_at = comment["created"].as_str().unwrap();
    assert!(created_at.ends_with('Z'), "{backend:?}: created = {created_at}");
    assert!(created_at.contains('T'), "{backend:?}: created = {created_at}");
    let id = comment["id"].as_i64().unwrap();
    let path = format!("/allocations/comments/{id}/");

    let history = &comment["_history"];
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{backend:?}: {history}");
    assert_eq!(history[0]["action"], "create", "{backend:?}");
    assert_eq!(history[0]["changes"]["content"], json!(["None", "Looks good"]), "{backend:?}");
    assert_eq!(history[0]["changes"]["request"], json!(["None", request.to_string()]), "{backend:?}");
    assert_eq!(history[0]["changes"]["private"], json!(["None", "False"]), "{backend:?}");

    // Any existing user may be named as the author.
    let on_behalf = fixture
        .json(
            Member,
            Method::POST,
            "/allocations/comments/",
            json!({"content": "For the admin", "request": request, "user": fixture.user(Admin)}),
        )
        .await;
    assert_eq!(on_behalf.status.as_u16(), 201, "{backend:?}: {}", on_behalf.body);
    assert_eq!(on_behalf.json()["user"], fixture.user(Admin), "{backend:?}");
    let admin_comment = on_behalf.json()["id"].as_i64().unwrap();
    let admin_path = format!("/allocations/comments/{admin_comment}/");

    // A partial update keeps the author; a full update without `user` makes the caller the
    // author.
    let patched = fixture.json(Owner, Method::PATCH, &admin_path, json!({"content": "Patched"})).await;
    assert_eq!(patched.status.as_u16(), 200, "{backend:?}: {}", patched.body);
    assert_eq!(patched.json()["user"], fixture.user(Admin), "{backend:?}");
    assert_eq!(patched.json()["_history"][0]["action"], "update", "{backend:?}");
    assert_eq!(patched.json()["_history"][0]["changes"], json!({"content": ["For the admin", "Patched"]}), "{backend:?}");
    let replaced = fixture.json(Owner, Method::PUT, &admin_path, json!({"content": "Replaced", "request": request})).await;
    assert_eq!(replaced.status.as_u16(), 200, "{backend:?}: {}", replaced.body);
    assert_eq!(replaced.json()["user"], fixture.user(Owner), "{backend:?}: PUT reassigns the author");

    // A multipart body works like JSON.
    let form = multipart(&[("content", "From a form"), ("request", &request.to_string())], None);
    let from_form = fixture.expect(Member, Method::POST, "/allocations/comments/", &form, 201).await;
    assert_eq!(from_form.json()["content"], "From a form", "{backend:?}");

    // Deleting writes a delete entry.
    fixture.expect(Admin, Method::DELETE, &path, &Body::None, 204).await;
    fixture.expect(Staff, Method::GET, &path, &Body::None, 404).await;
    let deletes = fixture
        .count(&format!("SELECT COUNT(*) FROM auditlog_logentry WHERE content_type_id = 9 AND object_id = {id} AND action = 2"))
        .await;
    assert_eq!(deletes, 1, "{backend:?}: one delete entry");
}

async fn validation(fixture: &Fixture) {
    let backend = fixture.backend;
    let request = fixture.request(fixture.team_a, "Validation request").await;
    let other_team_request = fixture.request(fixture.team_b, "Other team request").await;
    let list = "/allocations/comments/";
    let rows_before = fixture.count("SELECT COUNT(*) FROM allocations_comment").await;

    let cases: Vec<(Role, Value, u16, Value)> = vec![
        (Staff, json!({}), 400, json!({"content": ["This field is required."], "request": ["This field is required."]})),
        (
            Staff,
            json!({"content": "", "request": 999999, "user": 999999}),
            400,
            json!({"user": ["Invalid pk \"999999\" - object does not exist."], "content": ["This field may not be blank."], "request": ["Invalid pk \"999999\" - object does not exist."]}),
        ),
        (
            Staff,
            json!({"content": "x".repeat(2001), "request": request}),
            400,
            json!({"content": ["Ensure this field has no more than 2000 characters."]}),
        ),
        (Staff, json!({"content": "x", "request": request, "user": null}), 400, json!({"user": ["This field may not be null."]})),
        (Staff, json!({"content": "x", "request": "abc"}), 400, json!({"request": ["Incorrect type. Expected pk value, received str."]})),
        (Staff, json!({"content": "x", "request": request, "private": "maybe"}), 400, json!({"private": ["Must be a valid boolean."]})),
        (Staff, json!([1, 2]), 400, json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})),
        (Member, json!({"content": "Secret", "request": request, "private": true}), 400, json!({"private": [PRIVATE_FOR_STAFF]})),
        // The allocation app's create rule turns every unusable `request` into 403.
        (Member, json!([1, 2]), 403, json!({"detail": "You do not have permission to perform this action."})),
        (Member, json!({"content": "x"}), 403, json!({"detail": "You do not have permission to perform this action."})),
        (Member, json!({"content": "x", "request": "abc"}), 403, json!({"detail": "You do not have permission to perform this action."})),
        (Member, json!({"content": "x", "request": 999999}), 403, json!({"detail": "You do not have permission to perform this action."})),
        (
            Member,
            json!({"content": "x", "request": other_team_request}),
            403,
            json!({"detail": "You do not have permission to perform this action."}),
        ),
    ];
    for (role, body, status, expected) in cases {
        let response = fixture.json(role, Method::POST, list, body.clone()).await;
        assert_eq!(response.status.as_u16(), status, "{backend:?} {role:?} {body}: {}", response.body);
        assert_eq!(response.json(), expected, "{backend:?} {role:?} {body}");
    }
    let rows_after = fixture.count("SELECT COUNT(*) FROM allocations_comment").await;
    assert_eq!(rows_after, rows_before, "{backend:?}: rejected comments were stored");

    // Staff may write private comments; members may not make a comment private.
    let private = fixture.json(Staff, Method::POST, list, json!({"content": "Staff only", "request": request, "private": true})).await;
    assert_eq!(private.status.as_u16(), 201, "{backend:?}: {}", private.body);
    assert_eq!(private.json()["private"], true, "{backend:?}");
    let public = insert_comment(fixture, request, fixture.user(Member), "Public", false).await;
    let path = format!("/allocations/comments/{public}/");
    let response = fixture.json(Member, Method::PATCH, &path, json!({"private": true})).await;
    assert_eq!(response.status.as_u16(), 400, "{backend:?}: {}", response.body);
    assert_eq!(response.json(), json!({"private": [PRIVATE_FOR_STAFF]}), "{backend:?}");

    // Moving a comment to another team's request needs membership there (the reference
    // allows it); staff may.
    let moved = fixture.json(Member, Method::PATCH, &path, json!({"request": other_team_request})).await;
    assert_eq!(moved.status.as_u16(), 403, "{backend:?}: {}", moved.body);
    let moved = fixture.json(Staff, Method::PATCH, &path, json!({"request": other_team_request})).await;
    assert_eq!(moved.status.as_u16(), 200, "{backend:?}: {}", moved.body);
    assert_eq!(moved.json()["request"], other_team_request, "{backend:?}");
    fixture.expect(Member, Method::GET, &path, &Body::None, 403).await;
}

async fn lists(fixture: &Fixture) {
    let backend = fixture.backend;
    let request = fixture.request(fixture.team_a, "Searchable quasar").await;
    let other_request = fixture.request(fixture.team_b, "Other team request").await;
    let list = "/allocations/comments/";
    let mut public = Vec::new();
    for index in 0..8 {
        let author = if index % 2 == 0 { fixture.user(Member) } else { fixture.user(Owner) };
        public.push(insert_comment(fixture, request, author, &format!("Note {index} about zeppelins"), false).await);
    }
    let private = insert_comment(fixture, request, fixture.user(Staff), "Private zeppelin", true).await;
    let elsewhere = insert_comment(fixture, other_request, fixture.user(Staff), "Other team zeppelin", false).await;

    // Members see the public comments of their teams only; staff see everything.
    let member_view = result_ids(&fixture.get(Member, &format!("{list}?request={request}")).await);
    assert_eq!(member_view, public, "{backend:?}");
    let member_search = result_ids(&fixture.get(Member, &format!("{list}?_search=zeppelin")).await);
    assert_eq!(member_search, public, "{backend:?}: private and other teams' comments are hidden");
    let outsider = fixture.get(Outsider, list).await;
    assert_eq!(outsider.json()["count"], 0, "{backend:?}");
    let staff_search = result_ids(&fixture.get(Staff, &format!("{list}?_search=zeppelin")).await);
    let mut expected = public.clone();
    expected.extend([private, elsewhere]);
    assert_eq!(staff_search, expected, "{backend:?}");

    // Search covers the request title and the author's username.
    let by_title = result_ids(&fixture.get(Staff, &format!("{list}?_search=QUASAR")).await);
    assert_eq!(by_title, [public.clone(), vec![private]].concat(), "{backend:?}");
    let by_author = result_ids(&fixture.get(Staff, &format!("{list}?_search=zeppelin%20owner")).await);
    assert_eq!(by_author, public.iter().copied().skip(1).step_by(2).collect::<Vec<_>>(), "{backend:?}");

    // Filters, ordering, and filters on the detail route.
    let private_only = result_ids(&fixture.get(Staff, &format!("{list}?private=true&request={request}")).await);
    assert_eq!(private_only, [private], "{backend:?}");
    let by_user = result_ids(&fixture.get(Member, &format!("{list}?user={}&request={request}", fixture.user(Owner))).await);
    assert_eq!(by_user.len(), 4, "{backend:?}");
    let descending = result_ids(&fixture.get(Member, &format!("{list}?request={request}&_order=-id")).await);
    assert_eq!(descending, public.iter().rev().copied().collect::<Vec<_>>(), "{backend:?}");
    let bad_filter = fixture.get(Staff, &format!("{list}?request=999999")).await;
    assert_eq!(bad_filter.status.as_u16(), 400, "{backend:?}");
    assert_eq!(
        bad_filter.json(),
        json!({"request": ["Select a valid choice. That choice is not one of the available choices."]}),
        "{backend:?}"
    );
    let filtered_out = fixture.get(Staff, &format!("{list}{}/?private=true", public[0])).await;
    assert_eq!(filtered_out.status.as_u16(), 404, "{backend:?}: {}", filtered_out.body);

    fixture.assert_fixed_queries(Member, list).await;
    fixture.assert_fixed_queries(Staff, list).await;
}

async fn run(backend: Backend) {
    let fixture = Fixture::start(TestServer::builder(backend).env("KEYSTONE_DEBUG_QUERIES", "true"), backend).await;
    access_matrix(&fixture).await;
    representation_and_author(&fixture).await;
    validation(&fixture).await;
    lists(&fixture).await;
    fixture.db.close().await;
}

#[tokio::test]
async fn comments_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn comments_postgres() {
    run(Backend::Postgres).await;
}
