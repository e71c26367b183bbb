//! `/research/grants/` and `/research/publications/` over real HTTP. The tests cover the
//! access matrix per role and method, the team check that runs before 404 and 405, and list
//! scoping. They also cover validation (exact decimal amounts, dates, unique DOIs), search,
//! filters, audit entries and a fixed statement count per list page.

#[path = "../fixtures/research/fixture.rs"]
mod fixture;

use chrono::NaiveDate;
use fixture::{multipart, result_ids, Body, Fixture, Role, METHODS};
use keystone_blackbox::{Backend, TestServer};
use keystone_storage::audit::AuditContext;
use keystone_storage::research::{GrantFields, PublicationFields};
use reqwest::Method;
use serde_json::{json, Value};
use Role::*;

const DENIED: &str = "You do not have permission to perform this action.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    GrantList,
    /// A grant of team A.
    Grant,
    PublicationList,
    /// A publication of team A.
    Publication,
}

use Target::*;

/// Expected status per method: GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE, TRACE.
#[rustfmt::skip]
const MATRIX: &[(Target, Role, [u16; 8])] = &[
    (GrantList,       Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (GrantList,       Outsider,  [200, 200, 200, 403, 405, 405, 405, 405]),
    (GrantList,       Member,    [200, 200, 200, 201, 405, 405, 405, 405]),
    (GrantList,       Admin,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (GrantList,       Owner,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (GrantList,       Staff,     [200, 200, 200, 201, 405, 405, 405, 405]),

    (Grant,           Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (Grant,           Outsider,  [403, 403, 200, 405, 403, 403, 403, 405]),
    (Grant,           Member,    [200, 200, 200, 405, 200, 200, 204, 405]),
    (Grant,           Admin,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (Grant,           Owner,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (Grant,           Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (PublicationList, Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (PublicationList, Outsider,  [200, 200, 200, 403, 405, 405, 405, 405]),
    (PublicationList, Member,    [200, 200, 200, 201, 405, 405, 405, 405]),
    (PublicationList, Admin,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (PublicationList, Owner,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (PublicationList, Staff,     [200, 200, 200, 201, 405, 405, 405, 405]),

    (Publication,     Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (Publication,     Outsider,  [403, 403, 200, 405, 403, 403, 403, 405]),
    (Publication,     Member,    [200, 200, 200, 405, 200, 200, 204, 405]),
    (Publication,     Admin,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (Publication,     Owner,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (Publication,     Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),
];

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("valid test date")
}

/// Inserts a grant through the storage layer and returns its id.
async fn insert_grant(fixture: &Fixture, team: i64, title: &str, amount_cents: i64) -> i64 {
    let fields = GrantFields {
        title: title.to_string(),
        agency: "National Agency".to_string(),
        pi: None,
        amount_cents,
        grant_number: None,
        start_date: date("2024-03-01"),
        end_date: None,
        description: None,
        team_id: team,
    };
    fixture.db.create_grant(&fields, &AuditContext::default()).await.expect("grant is inserted").id
}

/// Inserts a publication through the storage layer and returns its id.
async fn insert_publication(fixture: &Fixture, team: i64, title: &str, doi: Option<&str>) -> i64 {
    let fields = PublicationFields {
        title: title.to_string(),
        abstract_text: None,
        published: None,
        submitted: None,
        journal: None,
        doi: doi.map(str::to_string),
        volume: None,
        issue: None,
        team_id: team,
    };
    fixture.db.create_publication(&fields, &AuditContext::default()).await.expect("publication is inserted").id
}

fn grant_body(team: i64) -> Value {
    json!({"title": "Matrix grant", "agency": "Agency", "amount": "10.00", "start_date": "2025-01-01", "team": team})
}

fn publication_body(team: i64) -> Value {
    json!({"title": "Matrix paper", "team": team})
}

async fn access_matrix(fixture: &Fixture) {
    let team = fixture.team_a;
    let shared_grant = insert_grant(fixture, team, "Shared grant", 100).await;
    let shared_publication = insert_publication(fixture, team, "Shared paper", None).await;
    for (target, role, statuses) in MATRIX {
        for (method, status) in METHODS.iter().zip(statuses) {
            let writes = matches!(*method, Method::PUT | Method::PATCH | Method::DELETE);
            let path = match target {
                GrantList => "/research/grants/".to_string(),
                PublicationList => "/research/publications/".to_string(),
                Grant if writes => format!("/research/grants/{}/", insert_grant(fixture, team, "Fresh grant", 100).await),
                Grant => format!("/research/grants/{shared_grant}/"),
                Publication if writes => {
                    format!("/research/publications/{}/", insert_publication(fixture, team, "Fresh paper", None).await)
                }
                Publication => format!("/research/publications/{shared_publication}/"),
            };
            let full = if matches!(target, GrantList | Grant) { grant_body(team) } else { publication_body(team) };
            let is_list = matches!(target, GrantList | PublicationList);
            // List routes get a body only for POST, detail routes only for PUT and PATCH: a
            // body naming team A would make other methods 403 for outsiders before 405.
            let body = match *method {
                Method::POST if is_list => Body::Json(full),
                Method::PUT if !is_list => Body::Json(full),
                Method::PATCH if !is_list => Body::Json(json!({"title": "Patched"})),
                _ => Body::None,
            };
            let response = fixture.send(*role, method.clone(), &path, &body).await;
            assert_eq!(response.status.as_u16(), *status, "{:?} {target:?} {role:?} {method}: {}", fixture.backend, response.body);
        }
    }
}

/// A body naming a team decides 403 before the record is looked up and before the method is
/// checked.
async fn team_check_runs_first(fixture: &Fixture) {
    let backend = fixture.backend;
    let grant = insert_grant(fixture, fixture.team_a, "Ordering grant", 100).await;
    let detail = format!("/research/grants/{grant}/");
    let team_a = Body::Json(json!({"team": fixture.team_a}));

    let missing = fixture.expect(Outsider, Method::PUT, "/research/grants/999999/", &team_a, 403).await;
    assert_eq!(missing.json(), json!({"detail": DENIED}), "{backend:?}");
    fixture.expect(Outsider, Method::POST, &detail, &team_a, 403).await;
    fixture.expect(Outsider, Method::DELETE, "/research/publications/999999/", &team_a, 403).await;
    fixture.expect(Outsider, Method::PUT, "/research/grants/999999/", &Body::None, 404).await;
    fixture.expect(Member, Method::POST, &detail, &team_a, 405).await;
    fixture.expect(Member, Method::PUT, "/research/grants/999999/", &team_a, 404).await;
    // An unknown team passes the check and fails validation.
    let unknown = fixture
        .json(
            Outsider,
            Method::POST,
            "/research/grants/",
            json!({"title": "T", "agency": "A", "amount": 1, "start_date": "2025-01-01", "team": 999999}),
        )
        .await;
    assert_eq!(unknown.status.as_u16(), 400, "{backend:?}: {}", unknown.body);
    assert_eq!(unknown.json(), json!({"team": ["Invalid pk \"999999\" - object does not exist."]}), "{backend:?}");

    // Moving a grant needs membership in both teams.
    let moved = fixture.json(Member, Method::PATCH, &detail, json!({"team": fixture.team_b})).await;
    assert_eq!(moved.status.as_u16(), 403, "{backend:?}: {}", moved.body);
    fixture.db.create_membership(fixture.user(Admin), fixture.team_b, "MB", &AuditContext::default()).await.expect("membership is created");
    let moved = fixture.json(Admin, Method::PATCH, &detail, json!({"team": fixture.team_b})).await;
    assert_eq!(moved.status.as_u16(), 200, "{backend:?}: {}", moved.body);
    assert_eq!(moved.json()["team"], fixture.team_b, "{backend:?}");
    assert_eq!(moved.json()["_team"]["name"], "Team B", "{backend:?}");
    fixture.expect(Member, Method::GET, &detail, &Body::None, 403).await;
}

/// Bodies for which the reference returns 500 get field errors.
async fn malformed_bodies(fixture: &Fixture) {
    let backend = fixture.backend;
    let grant = insert_grant(fixture, fixture.team_a, "Malformed grant", 100).await;
    let cases: Vec<(Method, String, Value, Value)> = vec![
        (
            Method::POST,
            "/research/grants/".into(),
            json!([1, 2]),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ),
        (
            Method::POST,
            "/research/publications/".into(),
            json!("text"),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
        ),
        (
            Method::PUT,
            format!("/research/grants/{grant}/"),
            json!([]),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ),
        (
            Method::POST,
            "/research/grants/".into(),
            json!({"title": "T", "agency": "A", "amount": 1, "start_date": "2025-01-01", "team": "abc"}),
            json!({"team": ["Incorrect type. Expected pk value, received str."]}),
        ),
        (
            Method::PATCH,
            format!("/research/grants/{grant}/"),
            json!({"team": [1]}),
            json!({"team": ["Incorrect type. Expected pk value, received list."]}),
        ),
        (
            Method::POST,
            "/research/publications/".into(),
            json!({"title": "T", "team": 1.5}),
            json!({"team": ["Incorrect type. Expected pk value, received float."]}),
        ),
    ];
    for (method, path, body, expected) in cases {
        let response = fixture.json(Member, method.clone(), &path, body.clone()).await;
        assert_eq!(response.status.as_u16(), 400, "{backend:?} {method} {path} {body}: {}", response.body);
        assert_eq!(response.json(), expected, "{backend:?} {method} {path} {body}");
    }
}

async fn grant_representation_and_amounts(fixture: &Fixture) {
    let backend = fixture.backend;
    let list = "/research/grants/";
    let created = fixture
        .json(
            Member,
            Method::POST,
            list,
            json!({"title": "Exact grant", "agency": "Agency", "pi": "Ada Lovelace", "amount": "1000", "start_date": "2025-01-01", "team": fixture.team_a}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{backend:?}: {}", created.body);
    let grant = created.json();
    let keys: Vec<&str> = grant.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["id", "_team", "_history", "title", "agency", "pi", "amount", "grant_number", "start_date", "end_date", "description", "team"],
        "{backend:?}"
    );
    assert_eq!(grant["amount"], "1000.00", "{backend:?}");
    assert_eq!(grant["_team"], json!({"id": fixture.team_a, "slug": "team-a", "name": "Team A", "is_active": true}), "{backend:?}");
    assert_eq!(grant["end_date"], Value::Null, "{backend:?}");
    let history = &grant["_history"][0];
    assert_eq!(history["action"], "create", "{backend:?}");
    assert_eq!(history["changes"]["amount"], json!(["None", "1000.00"]), "{backend:?}");
    assert_eq!(history["changes"]["start_date"], json!(["None", "2025-01-01"]), "{backend:?}");
    assert_eq!(history["changes"]["team"], json!(["None", fixture.team_a.to_string()]), "{backend:?}");
    let path = format!("{list}{}/", grant["id"]);

    // Amounts, as the raw JSON text after `"amount": `, and the stored value or the message.
    let amounts: &[(&str, Result<&str, &str>)] = &[
        (r#""0.10""#, Ok("0.10")),
        (r#""999999999999.99""#, Ok("999999999999.99")),
        (r#""-999999999999.99""#, Ok("-999999999999.99")),
        ("999999999999.99", Ok("999999999999.99")),
        ("1e3", Ok("1000.00")),
        ("0.1", Ok("0.10")),
        ("1.000", Ok("1.00")),
        (r#""1e3""#, Ok("1000.00")),
        (r#"" 7.5 ""#, Ok("7.50")),
        ("12", Ok("12.00")),
        (r#""1.005""#, Err("Ensure that there are no more than 2 decimal places.")),
        ("1.005", Err("Ensure that there are no more than 2 decimal places.")),
        (r#""1.000""#, Err("Ensure that there are no more than 2 decimal places.")),
        (r#""1234567890123""#, Err("Ensure that there are no more than 12 digits before the decimal point.")),
        (r#""123456789012.345""#, Err("Ensure that there are no more than 14 digits in total.")),
        ("12345678901234567890", Err("Ensure that there are no more than 14 digits in total.")),
        (r#""abc""#, Err("A valid number is required.")),
        (r#""""#, Err("A valid number is required.")),
        ("true", Err("A valid number is required.")),
        (r#""NaN""#, Err("A valid number is required.")),
        ("null", Err("This field may not be null.")),
    ];
    for (raw, expected) in amounts {
        let body = Body::Raw { content_type: "application/json", bytes: format!(r#"{{"amount": {raw}}}"#).into_bytes() };
        let response = fixture.send(Member, Method::PATCH, &path, &body).await;
        match expected {
            Ok(amount) => {
                assert_eq!(response.status.as_u16(), 200, "{backend:?} amount {raw}: {}", response.body);
                assert_eq!(response.json()["amount"], *amount, "{backend:?} amount {raw}");
                let stored = fixture.get(Member, &path).await;
                assert_eq!(stored.json()["amount"], *amount, "{backend:?} amount {raw} after a read");
            }
            Err(message) => {
                assert_eq!(response.status.as_u16(), 400, "{backend:?} amount {raw}: {}", response.body);
                assert_eq!(response.json(), json!({"amount": [message]}), "{backend:?} amount {raw}");
            }
        }
    }

    // The last accepted amount is 12.00; the update entry records the change as decimals.
    let updated = fixture.json(Member, Method::PATCH, &path, json!({"amount": "0.10"})).await;
    assert_eq!(updated.json()["_history"][0]["changes"], json!({"amount": ["12.00", "0.10"]}), "{backend:?}");

    // Amount filters compare exactly.
    let exact = result_ids(&fixture.get(Member, &format!("{list}?amount=0.10&title=Exact%20grant")).await);
    assert_eq!(exact, [grant["id"].as_i64().unwrap()], "{backend:?}");
    let none = result_ids(&fixture.get(Member, &format!("{list}?amount=0.11&title=Exact%20grant")).await);
    assert!(none.is_empty(), "{backend:?}");
    let bad = fixture.get(Member, &format!("{list}?amount=ten")).await;
    assert_eq!(bad.json(), json!({"amount": ["Enter a number."]}), "{backend:?}");
}

async fn grant_validation(fixture: &Fixture) {
    let backend = fixture.backend;
    let list = "/research/grants/";
    let rows_before = fixture.count("SELECT COUNT(*) FROM research_products_grant").await;
    let cases: Vec<(Value, Value)> = vec![
        (
            json!({}),
            json!({
                "title": ["This field is required."],
                "agency": ["This field is required."],
                "amount": ["This field is required."],
                "start_date": ["This field is required."],
                "team": ["This field is required."],
            }),
        ),
        (
            json!({"title": "t".repeat(251), "agency": "a".repeat(101), "pi": "p".repeat(101), "amount": "1", "start_date": "2025-13-01", "end_date": "01/02/2025", "team": fixture.team_a}),
            json!({
                "title": ["Ensure this field has no more than 250 characters."],
                "agency": ["Ensure this field has no more than 100 characters."],
                "pi": ["Ensure this field has no more than 100 characters."],
                "start_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
                "end_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
            }),
        ),
        (
            json!({"title": " ", "agency": "A", "amount": "1", "start_date": null, "end_date": "", "team": null}),
            json!({
                "title": ["This field may not be blank."],
                "start_date": ["This field may not be null."],
                "end_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
                "team": ["This field may not be null."],
            }),
        ),
    ];
    for (body, expected) in cases {
        let response = fixture.json(Member, Method::POST, list, body.clone()).await;
        assert_eq!(response.status.as_u16(), 400, "{backend:?} {body}: {}", response.body);
        assert_eq!(response.json(), expected, "{backend:?} {body}");
    }
    assert_eq!(
        fixture.count("SELECT COUNT(*) FROM research_products_grant").await,
        rows_before,
        "{backend:?}: rejected grants were stored"
    );

    // A multipart form: strings everywhere, and an empty optional date means null.
    let form = multipart(
        &[
            ("title", "Form grant"),
            ("agency", "Agency"),
            ("amount", "12.5"),
            ("start_date", "2025-2-3"),
            ("end_date", ""),
            ("team", &fixture.team_a.to_string()),
        ],
        None,
    );
    let created = fixture.expect(Member, Method::POST, list, &form, 201).await;
    assert_eq!(created.json()["amount"], "12.50", "{backend:?}");
    assert_eq!(created.json()["start_date"], "2025-02-03", "{backend:?}");
    assert_eq!(created.json()["end_date"], Value::Null, "{backend:?}");

    // A full update resets nothing it omits; a partial update changes only what it names.
    let path = format!("{list}{}/", created.json()["id"]);
    let updated = fixture
        .json(
            Member,
            Method::PUT,
            &path,
            json!({"title": "Put grant", "agency": "Other", "amount": 5, "start_date": "2024-01-01", "team": fixture.team_a}),
        )
        .await;
    assert_eq!(updated.status.as_u16(), 200, "{backend:?}: {}", updated.body);
    assert_eq!(updated.json()["title"], "Put grant", "{backend:?}");
    assert_eq!(updated.json()["amount"], "5.00", "{backend:?}");
}

async fn publications(fixture: &Fixture) {
    let backend = fixture.backend;
    let list = "/research/publications/";
    let created = fixture
        .json(
            Member,
            Method::POST,
            list,
            json!({"title": "A paper", "abstract": "On widgets", "published": "2024-05-06", "journal": "Widget Letters", "doi": "10.1000/xyz", "volume": "7", "issue": "2", "team": fixture.team_a}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{backend:?}: {}", created.body);
    let publication = created.json();
    let keys: Vec<&str> = publication.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["id", "_team", "_history", "title", "abstract", "published", "submitted", "journal", "doi", "volume", "issue", "team"],
        "{backend:?}"
    );
    assert_eq!(publication["published"], "2024-05-06", "{backend:?}");
    assert_eq!(publication["submitted"], Value::Null, "{backend:?}");
    assert_eq!(publication["_history"][0]["changes"]["doi"], json!(["None", "10.1000/xyz"]), "{backend:?}");
    let path = format!("{list}{}/", publication["id"]);

    // DOIs are unique; an empty DOI is a value too, a null one is not.
    let taken = json!({"doi": ["publication with this doi already exists."]});
    let duplicate = fixture.json(Member, Method::POST, list, json!({"title": "Copy", "doi": "10.1000/xyz", "team": fixture.team_a})).await;
    assert_eq!(duplicate.status.as_u16(), 400, "{backend:?}: {}", duplicate.body);
    assert_eq!(duplicate.json(), taken, "{backend:?}");
    let unchanged = fixture.json(Member, Method::PATCH, &path, json!({"doi": "10.1000/xyz"})).await;
    assert_eq!(unchanged.status.as_u16(), 200, "{backend:?}: keeping its own DOI: {}", unchanged.body);
    fixture.expect(Member, Method::POST, list, &Body::Json(json!({"title": "Empty DOI", "doi": "", "team": fixture.team_a})), 201).await;
    let empty_again =
        fixture.json(Member, Method::POST, list, json!({"title": "Empty DOI again", "doi": "", "team": fixture.team_a})).await;
    assert_eq!(empty_again.json(), taken, "{backend:?}");
    for title in ["No DOI", "No DOI either"] {
        fixture.expect(Member, Method::POST, list, &Body::Json(json!({"title": title, "doi": null, "team": fixture.team_a})), 201).await;
    }

    let invalid = fixture
        .json(
            Member,
            Method::POST,
            list,
            json!({"doi": "d".repeat(51), "volume": "v".repeat(21), "submitted": "2024-02-30", "team": fixture.team_a}),
        )
        .await;
    assert_eq!(invalid.status.as_u16(), 400, "{backend:?}: {}", invalid.body);
    assert_eq!(
        invalid.json(),
        json!({
            "title": ["This field is required."],
            "submitted": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
            "doi": ["Ensure this field has no more than 50 characters."],
            "volume": ["Ensure this field has no more than 20 characters."],
        }),
        "{backend:?}"
    );

    fixture.expect(Member, Method::DELETE, &path, &Body::None, 204).await;
    let deletes = fixture
        .count(&format!(
            "SELECT COUNT(*) FROM auditlog_logentry WHERE content_type_id = 11 AND object_id = {} AND action = 2",
            publication["id"]
        ))
        .await;
    assert_eq!(deletes, 1, "{backend:?}");
}

async fn lists(fixture: &Fixture) {
    let backend = fixture.backend;
    let mut team_a_grants = Vec::new();
    let mut team_a_papers = Vec::new();
    for index in 0..7 {
        team_a_grants.push(insert_grant(fixture, fixture.team_a, &format!("Listed grant {index}"), 100 * index).await);
        team_a_papers.push(
            insert_publication(fixture, fixture.team_a, &format!("Listed paper {index}"), Some(&format!("10.5555/listed.{index}"))).await,
        );
    }
    let other_grant = insert_grant(fixture, fixture.team_b, "Listed grant elsewhere", 100).await;
    let other_paper = insert_publication(fixture, fixture.team_b, "Listed paper elsewhere", None).await;

    // Members see their teams' records; outsiders none; staff all.
    let grants = "/research/grants/?title__startswith=Listed";
    assert_eq!(result_ids(&fixture.get(Member, grants).await), team_a_grants, "{backend:?}");
    assert_eq!(fixture.get(Outsider, grants).await.json()["count"], 0, "{backend:?}");
    assert_eq!(result_ids(&fixture.get(Staff, grants).await), [team_a_grants.clone(), vec![other_grant]].concat(), "{backend:?}");
    let papers = "/research/publications/?title__startswith=Listed";
    assert_eq!(result_ids(&fixture.get(Member, papers).await), team_a_papers, "{backend:?}");
    assert_eq!(result_ids(&fixture.get(Staff, papers).await), [team_a_papers.clone(), vec![other_paper]].concat(), "{backend:?}");
    fixture.expect(Member, Method::GET, &format!("/research/grants/{other_grant}/"), &Body::None, 403).await;

    // Search and filters.
    let by_team = result_ids(&fixture.get(Staff, "/research/grants/?_search=%22team%20b%22%20listed").await);
    assert_eq!(by_team, [other_grant], "{backend:?}");
    let by_doi = result_ids(&fixture.get(Member, "/research/publications/?_search=listed.3").await);
    assert_eq!(by_doi, [team_a_papers[3]], "{backend:?}");
    let by_amount = result_ids(&fixture.get(Member, "/research/grants/?title__startswith=Listed&amount__gte=4&_order=-amount").await);
    assert_eq!(by_amount, [team_a_grants[6], team_a_grants[5], team_a_grants[4]], "{backend:?}");
    let by_year = fixture.get(Member, "/research/grants/?title__startswith=Listed&start_date__year=2024").await;
    assert_eq!(by_year.json()["count"], 7, "{backend:?}");
    let by_team_filter =
        result_ids(&fixture.get(Staff, &format!("/research/publications/?title__startswith=Listed&team={}", fixture.team_b)).await);
    assert_eq!(by_team_filter, [other_paper], "{backend:?}");
    let bad_date = fixture.get(Member, "/research/grants/?start_date=soon").await;
    assert_eq!(bad_date.json(), json!({"start_date": ["Enter a valid date."]}), "{backend:?}");

    for role in [Member, Staff] {
        fixture.assert_fixed_queries(role, "/research/grants/").await;
        fixture.assert_fixed_queries(role, "/research/publications/").await;
    }
}

async fn run(backend: Backend) {
    let fixture = Fixture::start(TestServer::builder(backend).env("KEYSTONE_DEBUG_QUERIES", "true"), backend).await;
    access_matrix(&fixture).await;
    team_check_runs_first(&fixture).await;
    malformed_bodies(&fixture).await;
    grant_representation_and_amounts(&fixture).await;
    grant_validation(&fixture).await;
    publications(&fixture).await;
    lists(&fixture).await;
    fixture.db.close().await;
}

#[tokio::test]
async fn research_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn research_postgres() {
    run(Backend::Postgres).await;
}
