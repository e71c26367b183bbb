//! Representations, validation, access modes, private comments, audit records and list
//! parameters of clusters, allocation requests, reviews and resource allocations.

#[path = "../fixtures/allocations/world.rs"]
mod world;

use keystone_blackbox::{Backend, Client, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use world::{client_for, keys, send, World};

const NOT_A_DICTIONARY: &str = r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}"#;
const FORBIDDEN: &str = r#"{"detail":"You do not have permission to perform this action."}"#;

/// Collects the text at `pointer` (such as `/name`) of every item of a JSON list.
fn texts_at(items: &Value, pointer: &str) -> Vec<String> {
    let items = items.as_array().expect("a JSON list");
    items.iter().map(|item| item.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_string()).collect()
}

/// Collects the `id` of every item of a JSON list.
fn ids_of(items: &Value) -> Vec<i64> {
    let items = items.as_array().expect("a JSON list");
    items.iter().map(|item| item["id"].as_i64().expect("id is an integer")).collect()
}

/// Sorts the names of a list page's results.
fn names(list: &Value) -> Vec<String> {
    let mut names = texts_at(&list["results"], "/name");
    names.sort();
    names
}

fn ids(list: &Value) -> Vec<i64> {
    ids_of(&list["results"])
}

async fn clusters(server: &TestServer, world: &World) {
    let staff = client_for(server, &world.staff);

    let created = staff
        .post(
            "/allocations/clusters/",
            &json!({"name": "Alpha", "description": "  GPU nodes ", "access_mode": "WL", "access_teams": [world.team_a]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let cluster = created.json();
    assert_eq!(keys(&cluster), ["id", "_access_teams", "_history", "name", "description", "enabled", "access_mode", "access_teams"]);
    assert_eq!(cluster["description"], "GPU nodes");
    assert_eq!(cluster["enabled"], true);
    assert_eq!(cluster["access_mode"], "WL");
    assert_eq!(cluster["access_teams"], json!([world.team_a]));
    assert_eq!(cluster["_access_teams"], json!([{"id": world.team_a, "slug": "team-a", "name": "Team A", "is_active": true}]));
    let history = &cluster["_history"][0];
    assert_eq!(history["action"], "create");
    assert_eq!(history["actor"], world.staff.id);
    assert_eq!(history["_actor"]["username"], "staff");
    assert_eq!(history["changes"]["name"], json!(["None", "Alpha"]));
    let id = cluster["id"].as_i64().expect("id");

    let defaults = staff.post("/allocations/clusters/", &json!({"name": "Defaults"})).await;
    assert_eq!(defaults.status, StatusCode::CREATED, "{}", defaults.body);
    assert_eq!(defaults.json()["access_mode"], "OP");
    assert_eq!(defaults.json()["description"], Value::Null);
    assert_eq!(defaults.json()["access_teams"], json!([]));

    let duplicate = staff.post("/allocations/clusters/", &json!({"name": "Alpha"})).await;
    assert_eq!(duplicate.status, StatusCode::BAD_REQUEST);
    assert_eq!(duplicate.body, r#"{"name":["cluster with this name already exists."]}"#);

    let invalid =
        staff.post("/allocations/clusters/", &json!({"name": "", "enabled": "maybe", "access_mode": "XX", "access_teams": [999999]})).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json(),
        json!({
            "name": ["This field may not be blank."],
            "enabled": ["Must be a valid boolean."],
            "access_mode": ["\"XX\" is not a valid choice."],
            "access_teams": ["Invalid pk \"999999\" - object does not exist."],
        })
    );
    let long = staff.post("/allocations/clusters/", &json!({"name": "n".repeat(51), "description": "d".repeat(151)})).await;
    assert_eq!(
        long.json(),
        json!({"name": ["Ensure this field has no more than 50 characters."], "description": ["Ensure this field has no more than 150 characters."]})
    );
    let null_character = staff.post("/allocations/clusters/", &json!({"name": "a\0b", "description": "c\0"})).await;
    assert_eq!(
        null_character.json(),
        json!({"name": ["Null characters are not allowed."], "description": ["Null characters are not allowed."]})
    );
    let list_body = staff.post("/allocations/clusters/", &json!([1, 2])).await;
    assert_eq!(list_body.status, StatusCode::BAD_REQUEST);
    assert_eq!(list_body.body, NOT_A_DICTIONARY);

    let path = format!("/allocations/clusters/{id}/");
    let put_without_name = send(&staff, Method::PUT, &path, Some(&json!({"enabled": false}))).await;
    assert_eq!(put_without_name.body, r#"{"name":["This field is required."]}"#);
    let patched = send(&staff, Method::PATCH, &path, Some(&json!({"access_teams": [], "enabled": false}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.json()["access_teams"], json!([]));
    assert_eq!(patched.json()["description"], "GPU nodes", "PATCH keeps fields it does not name");
    assert_eq!(patched.json()["_history"][0]["changes"], json!({"enabled": ["True", "False"]}));
    let same_name = send(&staff, Method::PUT, &path, Some(&json!({"name": "Alpha"}))).await;
    assert_eq!(same_name.status, StatusCode::OK, "a cluster keeps its own name: {}", same_name.body);

    // A cluster that allocations refer to cannot be deleted.
    let request = world.request(world.team_a, "Blocks cluster deletion").await;
    world.allocation(request, id, 5).await;
    let blocked = send(&staff, Method::DELETE, &path, None).await;
    assert_eq!(blocked.status, StatusCode::CONFLICT);
    assert!(blocked.json()["detail"].as_str().unwrap_or("").contains("cannot be deleted"), "{}", blocked.body);
    assert_eq!(staff.get(&path).await.status, StatusCode::OK);

    let unused = defaults.json()["id"].as_i64().expect("id");
    let deleted = send(&staff, Method::DELETE, &format!("/allocations/clusters/{unused}/"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let repr = world
        .texts(&format!("SELECT object_repr FROM auditlog_logentry WHERE content_type_id = 4 AND object_id = {unused} AND action = 2"))
        .await;
    assert_eq!(repr, [format!("Cluster #{unused} - Defaults")]);
}

async fn access_modes(server: &TestServer, world: &World) {
    let open = world.cluster("Mode OP", "OP", &[]).await;
    let white_a = world.cluster("Mode WL A", "WL", &[world.team_a]).await;
    let white_b = world.cluster("Mode WL B", "WL", &[world.team_b]).await;
    let black_a = world.cluster("Mode BL A", "BL", &[world.team_a]).await;
    let black_b = world.cluster("Mode BL B", "BL", &[world.team_b]).await;
    let query = "/allocations/clusters/?name__startswith=Mode";

    let member = client_for(server, &world.member);
    assert_eq!(names(&member.get(query).await.json()), ["Mode BL B", "Mode OP", "Mode WL A"]);
    let outsider = client_for(server, &world.outsider);
    assert_eq!(names(&outsider.get(query).await.json()), ["Mode BL A", "Mode BL B", "Mode OP"]);
    let staff = client_for(server, &world.staff);
    assert_eq!(staff.get(query).await.json()["count"], 5);
    // Reading one cluster is not limited by its access mode.
    assert_eq!(outsider.get(&format!("/allocations/clusters/{white_a}/")).await.status, StatusCode::OK);
    assert_eq!(member.get(&format!("/allocations/clusters/{black_a}/")).await.status, StatusCode::OK);

    let request = world.request(world.team_a, "Access modes").await;
    let admin = client_for(server, &world.admin);
    for (cluster, expected) in [
        (open, StatusCode::CREATED),
        (white_a, StatusCode::CREATED),
        (black_b, StatusCode::CREATED),
        (white_b, StatusCode::FORBIDDEN),
        (black_a, StatusCode::FORBIDDEN),
    ] {
        let response = admin.post("/allocations/allocations/", &json!({"requested": 1, "cluster": cluster, "request": request})).await;
        assert_eq!(response.status, expected, "admin on cluster {cluster}: {}", response.body);
    }
    let staff_on_closed = staff.post("/allocations/allocations/", &json!({"requested": 1, "cluster": white_b, "request": request})).await;
    assert_eq!(staff_on_closed.status, StatusCode::CREATED, "staff ignore access modes: {}", staff_on_closed.body);

    let other_team = world.request(world.team_b, "Other team").await;
    let denied_bodies = [
        json!({"requested": 1, "cluster": open}),
        json!({"requested": 1, "cluster": 999999, "request": request}),
        json!({"requested": 1, "cluster": open, "request": "abc"}),
        json!({"requested": 1, "cluster": open, "request": 999999}),
        json!({"requested": 1, "cluster": open, "request": other_team}),
        json!([1]),
    ];
    for body in denied_bodies {
        let response = admin.post("/allocations/allocations/", &body).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{body}: {}", response.body);
        assert_eq!(response.body, FORBIDDEN);
    }
    let member_denied = member.post("/allocations/allocations/", &json!({"requested": 1, "cluster": open, "request": request})).await;
    assert_eq!(member_denied.status, StatusCode::FORBIDDEN);
}

async fn requests(server: &TestServer, world: &World) {
    let admin = client_for(server, &world.admin);
    let member = client_for(server, &world.member);
    let staff = client_for(server, &world.staff);
    let grant_zeta = world.grant(world.team_a, "Zeta grant", 123_456).await;
    let grant_alpha = world.grant(world.team_a, "Alpha grant", 5).await;
    let publication_beta = world.publication(world.team_a, "Beta paper").await;
    let publication_alpha = world.publication(world.team_a, "Alpha paper").await;

    let body = json!({
        "title": "Compute time",
        "description": "Simulations",
        "active": "2026-01-01",
        "expire": "2026-06-30",
        "submitter": world.admin.id,
        "team": world.team_a,
        "assignees": [world.owner.id, world.member.id],
        "grants": [grant_zeta, grant_alpha],
        "publications": [publication_beta, publication_alpha],
    });
    let created = admin.post("/allocations/requests/", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let request = created.json();
    assert_eq!(
        keys(&request),
        [
            "id",
            "_submitter",
            "_team",
            "_assignees",
            "_publications",
            "_grants",
            "_history",
            "_allocations",
            "_attachments",
            "_comments",
            "title",
            "description",
            "submitted",
            "active",
            "expire",
            "status",
            "submitter",
            "team",
            "assignees",
            "publications",
            "grants",
        ]
    );
    let id = request["id"].as_i64().expect("id");
    assert_eq!(request["status"], "PD");
    assert_eq!(request["active"], "2026-01-01");
    assert_eq!(request["expire"], "2026-06-30");
    assert_eq!(request["_submitter"]["username"], "admin");
    assert_eq!(request["_submitter"]["display_name"], "admin first admin last");
    assert_eq!(request["_team"], json!({"id": world.team_a, "slug": "team-a", "name": "Team A", "is_active": true}));
    let mut assignees = vec![world.owner.id, world.member.id];
    assignees.sort();
    assert_eq!(request["assignees"], json!(assignees));
    assert_eq!(request["grants"], json!([grant_alpha, grant_zeta]), "grants are ordered by title");
    assert_eq!(request["publications"], json!([publication_alpha, publication_beta]), "publications are ordered by title");
    let grant = &request["_grants"][1];
    assert_eq!(keys(grant), ["id", "title", "agency", "pi", "amount", "grant_number", "start_date", "end_date", "description", "team"]);
    assert_eq!(grant["amount"], "1234.56");
    assert_eq!(request["_grants"][0]["amount"], "0.05");
    assert_eq!(grant["start_date"], "2025-01-01");
    assert_eq!(
        keys(&request["_publications"][0]),
        ["id", "title", "abstract", "published", "submitted", "journal", "doi", "volume", "issue", "team"]
    );
    assert_eq!(request["_history"][0]["action"], "create");
    assert_eq!(request["_history"][0]["actor"], world.admin.id);
    assert!(request["submitted"].as_str().unwrap_or("").ends_with('Z'), "{}", request["submitted"]);

    // Nested allocations (by cluster name), attachments and comments.
    let zulu = world.cluster("Zulu", "OP", &[]).await;
    let bravo = world.cluster("Bravo", "OP", &[]).await;
    world.allocation(id, zulu, 10).await;
    world.allocation(id, bravo, 20).await;
    world.attachment(id, "plan.pdf").await;
    let public = world.comment(id, world.member.id, "Public note", false).await;
    let private = world.comment(id, world.staff.id, "Staff only", true).await;
    let path = format!("/allocations/requests/{id}/");
    let seen_by_staff = staff.get(&path).await.json();
    assert_eq!(texts_at(&seen_by_staff["_allocations"], "/_cluster/name"), ["Bravo", "Zulu"]);
    assert_eq!(keys(&seen_by_staff["_allocations"][0]), ["id", "cluster", "requested", "awarded", "final", "_cluster"]);
    assert_eq!(seen_by_staff["_attachments"], json!([{"file": "allocations/plan.pdf", "name": "plan.pdf"}]));
    let comment_ids = |request: &Value| ids_of(&request["_comments"]);
    assert_eq!(comment_ids(&seen_by_staff), [public, private]);
    assert_eq!(keys(&seen_by_staff["_comments"][0]), ["id", "user", "content", "created", "private", "_user"]);
    assert_eq!(seen_by_staff["_comments"][0]["_user"]["username"], "member");
    let seen_by_member = member.get(&path).await.json();
    assert_eq!(comment_ids(&seen_by_member), [public], "members do not see private comments");
    let listed = member.get(&format!("/allocations/requests/?id={id}")).await.json();
    assert_eq!(comment_ids(&listed["results"][0]), [public], "the list hides private comments too");

    // The activation date must come before the expiration date.
    let dates = |active: &str, expire: &str| json!({"title": "T", "description": "D", "submitter": world.admin.id, "team": world.team_a, "active": active, "expire": expire});
    let order_error = r#"{"non_field_errors":["The expiration date must come after the activation date."]}"#;
    for (active, expire) in [("2026-05-01", "2026-04-30"), ("2026-05-01", "2026-05-01")] {
        let response = admin.post("/allocations/requests/", &dates(active, expire)).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{active} {expire}");
        assert_eq!(response.body, order_error);
    }
    let field_first = admin
        .post(
            "/allocations/requests/",
            &json!({"description": "D", "submitter": world.admin.id, "team": world.team_a, "active": "2026-05-01", "expire": "2026-01-01"}),
        )
        .await;
    assert_eq!(field_first.body, r#"{"title":["This field is required."]}"#, "field errors come before the date rule");
    let patch_order = send(&staff, Method::PATCH, &path, Some(&json!({"expire": "2025-12-31"}))).await;
    assert_eq!(patch_order.body, order_error, "PATCH compares with the stored activation date");
    let only_one = admin.post("/allocations/requests/", &json!({"title": "T", "description": "D", "submitter": world.admin.id, "team": world.team_a, "active": "2026-05-01", "expire": null})).await;
    assert_eq!(only_one.status, StatusCode::CREATED, "{}", only_one.body);

    let invalid = admin
        .post(
            "/allocations/requests/",
            &json!({"title": "", "description": "", "active": "01/02/2026", "status": "XX", "submitter": 999999, "team": world.team_a, "assignees": [world.member.id, 999998], "grants": "x"}),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json(),
        json!({
            "title": ["This field may not be blank."],
            "description": ["This field may not be blank."],
            "active": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
            "status": ["\"XX\" is not a valid choice."],
            "submitter": ["Invalid pk \"999999\" - object does not exist."],
            "assignees": ["Invalid pk \"999998\" - object does not exist."],
            "grants": ["Incorrect type. Expected pk value, received str."],
        })
    );
    let null_character = staff
        .post("/allocations/requests/", &json!({"title": "a\0", "description": "ok", "submitter": world.admin.id, "team": world.team_a}))
        .await;
    assert_eq!(null_character.body, r#"{"title":["Null characters are not allowed."]}"#);
    let missing = staff.post("/allocations/requests/", &json!({})).await;
    assert_eq!(
        missing.json(),
        json!({
            "title": ["This field is required."],
            "description": ["This field is required."],
            "submitter": ["This field is required."],
            "team": ["This field is required."],
        })
    );
    assert_eq!(staff.post("/allocations/requests/", &json!(["x"])).await.body, NOT_A_DICTIONARY);
    for body in [json!({"title": "T"}), json!({"team": world.team_b}), json!({"team": "abc"}), json!([world.team_a])] {
        let response = admin.post("/allocations/requests/", &body).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{body}: {}", response.body);
    }

    // Staff updates are audited; a staff PUT may move the request and replace its links.
    let patched = send(&staff, Method::PATCH, &path, Some(&json!({"status": "AP", "assignees": []}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let patched = patched.json();
    assert_eq!(patched["assignees"], json!([]));
    assert_eq!(patched["grants"], json!([grant_alpha, grant_zeta]), "PATCH keeps links it does not name");
    assert_eq!(patched["_history"][0]["action"], "update");
    assert_eq!(patched["_history"][0]["changes"], json!({"status": ["PD", "AP"]}));
    assert_eq!(patched["_history"][0]["actor"], world.staff.id);

    // Lists: non-members do not see the request; filters also narrow detail look-ups.
    let outsider = client_for(server, &world.outsider);
    assert_eq!(outsider.get(&format!("/allocations/requests/?id={id}")).await.json()["count"], 0);
    assert_eq!(outsider.get(&path).await.status, StatusCode::FORBIDDEN);
    assert_eq!(member.get(&format!("{path}?status=DC")).await.status, StatusCode::NOT_FOUND);
    let bad_filter = member.get("/allocations/requests/?status=XX").await;
    assert_eq!(bad_filter.body, r#"{"status":["Select a valid choice. XX is not one of the available choices."]}"#);
    let bad_team = member.get("/allocations/requests/?team=999999").await;
    assert_eq!(bad_team.body, r#"{"team":["Select a valid choice. That choice is not one of the available choices."]}"#);
    let searched = member.get("/allocations/requests/?_search=compute%20admin").await.json();
    assert_eq!(ids(&searched), [id], "search matches the title and the submitter's username");
    let ordered = staff.get("/allocations/requests/?_order=-title&_limit=1000").await.json();
    let titles = texts_at(&ordered["results"], "/title");
    let mut sorted = titles.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(titles, sorted);
    let by_date = staff.get("/allocations/requests/?active__year=2026&expire__lt=2026-07-01").await.json();
    assert!(ids(&by_date).contains(&id), "{by_date}");

    // Deleting a request deletes its children, with an audit entry for each, and the files of
    // its attachments.
    let folder = server.data_dir.path().join("media/allocations");
    std::fs::create_dir_all(&folder).expect("the upload folder is created");
    std::fs::write(folder.join("plan.pdf"), b"%PDF-1.4").expect("the attachment file is written");
    let review = world.review(id).await;
    let deleted = send(&staff, Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let reprs = world.texts(&format!("SELECT object_repr FROM auditlog_logentry WHERE action = 2 AND cid IS NOT NULL AND content_type_id IN (5, 6, 7, 8, 9) AND (object_id = {id} OR object_repr LIKE '%request #{id}' OR object_repr LIKE 'Resource Allocation%') ORDER BY content_type_id, object_id")).await;
    assert!(reprs.contains(&format!("Allocation Request #{id} - 'Compute time' for Team #{} - Team A", world.team_a)), "{reprs:?}");
    assert!(reprs.contains(&format!("Allocation Review #{review} - staff review of request #{id}")), "{reprs:?}");
    assert!(reprs.contains(&format!("Comment #{private} - by staff on request #{id}")), "{reprs:?}");
    assert!(
        reprs.iter().any(|repr| repr.starts_with("Attachment #") && repr.ends_with(&format!("- 'plan.pdf' on request #{id}"))),
        "{reprs:?}"
    );
    assert!(
        reprs.iter().any(|repr| repr.contains(&format!("Cluster #{bravo} - Bravo allocation for Team #{} - Team A", world.team_a))),
        "{reprs:?}"
    );
    assert_eq!(world.count(&format!("SELECT COUNT(*) FROM allocations_comment WHERE request_id = {id}")).await, 0);
    assert!(!folder.join("plan.pdf").exists(), "the attachment file is removed with its request");
}

async fn reviews(server: &TestServer, world: &World) {
    let staff = client_for(server, &world.staff);
    let member = client_for(server, &world.member);
    let outsider = client_for(server, &world.outsider);
    let request = world.request(world.team_a, "Reviewed request").await;

    let created = staff.post("/allocations/reviews/", &json!({"status": "AP", "request": request})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let review = created.json();
    assert_eq!(keys(&review), ["id", "_request", "_reviewer", "_history", "status", "submitted", "request", "reviewer"]);
    assert_eq!(review["reviewer"], world.staff.id, "the reviewer defaults to the caller");
    assert_eq!(
        review["_request"],
        json!({"id": request, "title": "Reviewed request", "status": "PD", "active": "2026-01-01", "expire": "2027-01-01"})
    );
    assert_eq!(review["_reviewer"]["username"], "staff");
    assert_eq!(review["_history"][0]["action"], "create");
    let id = review["id"].as_i64().expect("id");
    let explicit = staff.post("/allocations/reviews/", &json!({"status": "DC", "request": request, "reviewer": world.staff.id})).await;
    assert_eq!(explicit.status, StatusCode::CREATED, "{}", explicit.body);

    let cases = [
        (
            json!({"status": "AP", "request": request, "reviewer": world.admin.id}),
            json!({"reviewer": ["Reviewer cannot be set to a different user than the submitter."]}),
        ),
        (json!({"status": "AP", "request": request, "reviewer": null}), json!({"reviewer": ["This field may not be null."]})),
        (
            json!({"status": "PD", "request": 999999}),
            json!({"status": ["\"PD\" is not a valid choice."], "request": ["Invalid pk \"999999\" - object does not exist."]}),
        ),
        (json!({}), json!({"status": ["This field is required."], "request": ["This field is required."]})),
    ];
    for (body, errors) in cases {
        let response = staff.post("/allocations/reviews/", &body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(response.json(), errors, "{body}");
    }
    assert_eq!(staff.post("/allocations/reviews/", &json!([])).await.body, NOT_A_DICTIONARY);
    let path = format!("/allocations/reviews/{id}/");
    let other_reviewer = send(&staff, Method::PATCH, &path, Some(&json!({"reviewer": world.member.id}))).await;
    assert_eq!(other_reviewer.status, StatusCode::BAD_REQUEST);
    let patched = send(&staff, Method::PATCH, &path, Some(&json!({"status": "CR"}))).await;
    assert_eq!(patched.json()["_history"][0]["changes"], json!({"status": ["AP", "CR"]}));

    assert_eq!(member.get(&path).await.status, StatusCode::OK);
    assert_eq!(send(&member, Method::PATCH, &path, Some(&json!({"status": "AP"}))).await.status, StatusCode::FORBIDDEN);
    assert_eq!(outsider.get("/allocations/reviews/").await.json()["count"], 0);
    assert!(ids(&member.get("/allocations/reviews/").await.json()).contains(&id));
    let searched = member.get("/allocations/reviews/?_search=reviewed").await;
    assert_eq!(searched.status, StatusCode::OK, "{}", searched.body);
    assert_eq!(searched.json()["count"], 2);
    assert_eq!(member.get("/allocations/reviews/?_search=team%20a%20nothing").await.json()["count"], 0);
    assert_eq!(member.get(&format!("/allocations/reviews/?reviewer={}&status=CR", world.staff.id)).await.json()["count"], 1);
}

async fn allocations(server: &TestServer, world: &World) {
    let staff = client_for(server, &world.staff);
    let cluster = world.cluster("Allocation target", "OP", &[]).await;
    let request = world.request(world.team_a, "Allocation request").await;

    let created = staff
        .post("/allocations/allocations/", &json!({"requested": "1000", "awarded": null, "cluster": cluster, "request": request}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let allocation = created.json();
    assert_eq!(keys(&allocation), ["id", "_cluster", "_request", "_history", "requested", "awarded", "final", "cluster", "request"]);
    assert_eq!(allocation["requested"], 1000);
    assert_eq!(allocation["awarded"], Value::Null);
    assert_eq!(allocation["_cluster"], json!({"id": cluster, "name": "Allocation target", "enabled": true}));
    assert_eq!(allocation["_request"]["title"], "Allocation request");
    assert_eq!(allocation["_history"][0]["changes"]["requested"], json!(["None", "1000"]));

    let invalid = staff
        .post("/allocations/allocations/", &json!({"requested": -1, "awarded": 1.5, "final": "x", "cluster": 999999, "request": "abc"}))
        .await;
    assert_eq!(
        invalid.json(),
        json!({
            "requested": ["Ensure this value is greater than or equal to 0."],
            "awarded": ["A valid integer is required."],
            "final": ["A valid integer is required."],
            "cluster": ["Invalid pk \"999999\" - object does not exist."],
            "request": ["Incorrect type. Expected pk value, received str."],
        })
    );
    let missing = staff.post("/allocations/allocations/", &json!({"requested": null})).await;
    assert_eq!(
        missing.json(),
        json!({"requested": ["This field may not be null."], "cluster": ["This field is required."], "request": ["This field is required."]})
    );
    assert_eq!(staff.post("/allocations/allocations/", &json!([])).await.body, NOT_A_DICTIONARY);

    let id = allocation["id"].as_i64().expect("id");
    let path = format!("/allocations/allocations/{id}/");
    let patched = send(&staff, Method::PATCH, &path, Some(&json!({"awarded": 800, "final": 700}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.json()["_history"][0]["changes"], json!({"awarded": ["None", "800"], "final": ["None", "700"]}));
    let repr = world
        .texts(&format!("SELECT object_repr FROM auditlog_logentry WHERE content_type_id = 7 AND object_id = {id} AND action = 1"))
        .await;
    assert_eq!(
        repr,
        [format!("Resource Allocation #{id} - Cluster #{cluster} - Allocation target allocation for Team #{} - Team A", world.team_a)]
    );

    let member = client_for(server, &world.member);
    let outsider = client_for(server, &world.outsider);
    assert_eq!(ids(&member.get("/allocations/allocations/?_search=target").await.json()), [id]);
    assert_eq!(member.get("/allocations/allocations/?awarded__gte=800&final__lt=701").await.json()["count"], 1);
    assert_eq!(outsider.get("/allocations/allocations/?_search=target").await.json()["count"], 0);
    assert_eq!(outsider.get(&path).await.status, StatusCode::FORBIDDEN);
    let bad = member.get("/allocations/allocations/?requested=abc").await;
    assert_eq!(bad.body, r#"{"requested":["Enter a number."]}"#);
}

/// Checks that a form-encoded body is read like JSON, with an empty value meaning null for
/// nullable fields.
async fn form_bodies(server: &TestServer, world: &World) {
    let staff: Client = client_for(server, &world.staff);
    let builder = staff.request(Method::POST, "/allocations/requests/").form(&[
        ("title", "Form request"),
        ("description", "Sent as a form"),
        ("submitter", &world.owner.id.to_string()),
        ("team", &world.team_a.to_string()),
        ("active", ""),
        ("expire", "2027-03-01"),
    ]);
    let response = staff.send(builder).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    assert_eq!(response.json()["active"], Value::Null);
    assert_eq!(response.json()["expire"], "2027-03-01");
}

async fn run(backend: Backend) {
    let server = TestServer::start(backend).await;
    let world = World::create(&server).await;
    clusters(&server, &world).await;
    access_modes(&server, &world).await;
    requests(&server, &world).await;
    reviews(&server, &world).await;
    allocations(&server, &world).await;
    form_bodies(&server, &world).await;
    world.db.close().await;
}

#[tokio::test]
async fn records_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn records_postgres() {
    run(Backend::Postgres).await;
}
