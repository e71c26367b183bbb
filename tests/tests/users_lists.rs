//! The list query language through `/users/users/`, `/users/teams/` and `/users/memberships/`:
//! pagination and its links, ordering, search, field filters and their error messages, the
//! non-staff scopes, and filters on detail routes.
//!
//! Both backends run the same table of requests against the same data, so they must return
//! identical results. Text order is by code point.

use chrono::{DateTime, TimeZone, Utc};
use keystone_blackbox::{insert_user, insert_user_with, send_request, set_date_joined, token_client, Backend, Client, TestServer};
use keystone_storage::audit::AuditContext;
use keystone_storage::{Database, NewUser};
use reqwest::Method;
use serde_json::{json, Value};

/// Named users: username, first name, last name, email, department, role, active, joined (UTC).
#[rustfmt::skip]
const PEOPLE: [(&str, Option<&str>, Option<&str>, Option<&str>, Option<&str>, Option<&str>, bool, (i32, u32, u32, u32, u32, u32)); 10] = [
    ("root",    Some("Root"),  None,                Some("root@example.org"),  None,                        None,                       true,  (2020, 1, 1, 0, 0, 0)),
    ("alice",   Some("Alice"), Some("Archer"),      Some("alice@example.org"), Some("Physics"),             Some("PI"),                 true,  (2023, 3, 15, 8, 30, 0)),
    ("bob",     Some("Bob"),   Some("Baker"),       Some("bob@example.com"),   Some("Chemistry"),           Some("Student"),            true,  (2024, 1, 1, 0, 15, 0)),
    ("carol",   Some("Carol"), Some("Clark-Young"), Some("carol@example.org"), Some("Physics & Astronomy"), Some("Postdoc"),            true,  (2024, 6, 30, 23, 59, 59)),
    ("dave",    Some("Dave"),  Some("Drake"),       Some("dave@example.net"),  Some("Biology"),             None,                       false, (2022, 12, 31, 12, 0, 0)),
    ("eve_99",  Some("Ève"),   Some("Østergaard"),  None,                      Some("100% Research"),       Some("O'Neil lab"),         true,  (2024, 2, 29, 17, 45, 0)),
    ("frank.w", None,          Some("Wu"),          Some("frank@example.com"), Some("R_D"),                 Some("Data Science lead"),  true,  (2024, 12, 30, 6, 0, 0)),
    ("grace",   Some("Grace"), Some("Hopper"),      Some("grace@example.org"), Some("Data Science"),        None,                       true,  (2021, 7, 4, 12, 0, 0)),
    ("heidi",   Some("Heidi"), Some("Quote\"Mark"), Some("heidi@example.org"), Some("1000 Genomes"),        None,                       true,  (2021, 1, 3, 9, 0, 0)),
    ("ivan",    Some("Ivan"),  Some("Databank"),    None,                      Some("RnD"),                 Some("Computer Science"),   true,  (2019, 5, 5, 5, 5, 5)),
];

/// Users `filler001` to `filler115`, with no optional fields, all joined at [`FILLER_JOINED`].
const FILLERS: usize = 115;
const FILLER_JOINED: (i32, u32, u32, u32, u32, u32) = (2018, 6, 15, 10, 0, 0);
const TOTAL_USERS: usize = PEOPLE.len() + FILLERS;

/// Teams: name and whether active.
const TEAMS: [(&str, bool); 5] =
    [("Alpha Lab", true), ("Beta Group", false), ("Gamma 100%", true), ("Delta_Team", true), ("Équipe Ω", true)];

/// Memberships: username, team name, role.
const MEMBERSHIPS: [(&str, &str, &str); 9] = [
    ("alice", "Alpha Lab", "OW"),
    ("bob", "Alpha Lab", "MB"),
    ("dave", "Alpha Lab", "MB"),
    ("alice", "Beta Group", "AD"),
    ("carol", "Beta Group", "MB"),
    ("carol", "Gamma 100%", "OW"),
    ("eve_99", "Gamma 100%", "AD"),
    ("frank.w", "Delta_Team", "OW"),
    ("alice", "Delta_Team", "MB"),
];

fn utc((year, month, day, hour, minute, second): (i32, u32, u32, u32, u32, u32)) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, second).single().expect("valid date")
}

struct Data {
    server: TestServer,
    db: Database,
    staff: Client,
    alice: Client,
    bob: Client,
    user_ids: Vec<(String, i64)>,
    team_ids: Vec<(String, i64)>,
    membership_ids: Vec<i64>,
}

impl Data {
    fn user(&self, username: &str) -> i64 {
        self.user_ids.iter().find(|(name, _)| name == username).map(|(_, id)| *id).unwrap_or_else(|| panic!("no user {username}"))
    }

    fn team(&self, name: &str) -> i64 {
        self.team_ids.iter().find(|(candidate, _)| candidate == name).map(|(_, id)| *id).unwrap_or_else(|| panic!("no team {name}"))
    }
}

async fn load(backend: Backend) -> Data {
    let server = TestServer::start(backend).await;
    let db = server.storage().await;
    let mut user_ids = Vec::new();
    for (username, first_name, last_name, email, department, role, active, joined) in PEOPLE {
        let new = NewUser {
            username: username.to_string(),
            first_name: first_name.map(str::to_string),
            last_name: last_name.map(str::to_string),
            email: email.map(str::to_string),
            department: department.map(str::to_string),
            role: role.map(str::to_string),
            is_active: active,
            is_staff: username == "root",
            is_superuser: username == "root",
            ..Default::default()
        };
        let id = insert_user_with(&db, new).await;
        set_date_joined(&db, id, utc(joined)).await;
        user_ids.push((username.to_string(), id));
    }
    for number in 1..=FILLERS {
        let username = format!("filler{number:03}");
        let id = insert_user(&db, &username, false, true).await;
        set_date_joined(&db, id, utc(FILLER_JOINED)).await;
        user_ids.push((username, id));
    }

    let audit = AuditContext::default();
    let mut team_ids = Vec::new();
    for (name, active) in TEAMS {
        team_ids.push((name.to_string(), db.create_team(name, active, None, &audit).await.expect("team created").id));
    }
    let mut data = Data {
        staff: server.client(),
        alice: server.client(),
        bob: server.client(),
        server,
        db,
        user_ids,
        team_ids,
        membership_ids: Vec::new(),
    };
    for (username, team, role) in MEMBERSHIPS {
        let membership = data.db.create_membership(data.user(username), data.team(team), role, &audit).await.expect("membership created");
        data.membership_ids.push(membership.id);
    }
    data.staff = token_client(&data.server, &data.db, data.user("root")).await;
    data.alice = token_client(&data.server, &data.db, data.user("alice")).await;
    data.bob = token_client(&data.server, &data.db, data.user("bob")).await;
    data
}

/// Returns a label per result: the username, the team name, or `username/team name` for a
/// membership.
fn labels(path: &str, page: &Value) -> Vec<String> {
    let results = page["results"].as_array().unwrap_or_else(|| panic!("{path}: no results in {page}"));
    results
        .iter()
        .map(|record| {
            if path.starts_with("/users/users/") {
                record["username"].as_str().expect("username").to_string()
            } else if path.starts_with("/users/teams/") {
                record["name"].as_str().expect("name").to_string()
            } else {
                format!(
                    "{}/{}",
                    record["_user"]["username"].as_str().expect("username"),
                    record["_team"]["name"].as_str().expect("team name")
                )
            }
        })
        .collect()
}

async fn get_page(client: &Client, path: &str) -> Value {
    let response = send_request(client, Method::GET, path, None).await;
    assert_eq!(response.status.as_u16(), 200, "GET {path}: {}", response.body);
    let page = response.json();
    let keys: Vec<&str> = page.as_object().expect("page is an object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["count", "next", "previous", "results"], "GET {path}: envelope keys");
    page
}

/// Checks that `path` lists exactly `expected`, in order, with a matching count.
async fn assert_lists(client: &Client, path: &str, expected: &[&str]) {
    let page = get_page(client, path).await;
    assert_eq!(labels(path, &page), expected, "GET {path}");
    assert_eq!(page["count"], expected.len(), "GET {path}: count");
}

async fn assert_count(client: &Client, path: &str, count: usize) {
    let page = get_page(client, path).await;
    assert_eq!(page["count"], count, "GET {path}: count");
}

async fn assert_error(client: &Client, path: &str, expected: Value) {
    let response = send_request(client, Method::GET, path, None).await;
    assert_eq!(response.status.as_u16(), 400, "GET {path}: {}", response.body);
    assert_eq!(response.json(), expected, "GET {path}");
}

async fn run_lists(backend: Backend) {
    let data = load(backend).await;
    pagination(&data).await;
    ordering(&data).await;
    search(&data).await;
    user_filters(&data).await;
    date_filters(&data).await;
    team_and_membership_filters(&data).await;
    bad_filter_values(&data).await;
    non_staff_scopes(&data).await;
    detail_filters(&data).await;
    data.db.close().await;
}

#[tokio::test]
async fn lists_sqlite() {
    run_lists(Backend::Sqlite).await;
}

#[tokio::test]
async fn lists_postgres() {
    run_lists(Backend::Postgres).await;
}

async fn pagination(data: &Data) {
    let staff = &data.staff;
    let base = format!("{}/users/users/", data.server.base_url());
    let link = |query: &str| json!(format!("{base}?{query}"));
    let all_ids: Vec<i64> = data.user_ids.iter().map(|(_, id)| *id).collect();
    let page_ids = |page: &Value| -> Vec<i64> {
        page["results"].as_array().expect("results").iter().map(|user| user["id"].as_i64().expect("id")).collect()
    };

    let first = get_page(staff, "/users/users/").await;
    assert_eq!(first["count"], TOTAL_USERS);
    assert_eq!(page_ids(&first), all_ids[..100], "the default page holds 100 users in id order");
    assert_eq!(first["next"], link("_limit=100&_offset=100"));
    assert_eq!(first["previous"], Value::Null);

    // Limits above 1000 are clamped, and the links carry the clamped value.
    let everything = get_page(staff, "/users/users/?_limit=1000").await;
    assert_eq!(page_ids(&everything), all_ids);
    assert_eq!(everything["next"], Value::Null);
    let beyond = get_page(staff, "/users/users/?_limit=5000&_offset=1200").await;
    assert_eq!(beyond["count"], TOTAL_USERS);
    assert_eq!(beyond["results"], json!([]));
    assert_eq!(beyond["next"], Value::Null);
    assert_eq!(beyond["previous"], link("_limit=1000&_offset=200"));

    // Zero, negative and non-integer limits fall back to 100; bad offsets to 0.
    for query in ["_limit=0", "_limit=-3", "_limit=abc", "_limit=", "_limit=2.5", "_offset=-1", "_offset=xyz"] {
        let page = get_page(staff, &format!("/users/users/?{query}")).await;
        assert_eq!(page_ids(&page), all_ids[..100], "?{query}");
        assert_eq!(page["previous"], Value::Null, "?{query}");
    }
    for query in ["_offset=-1&_limit=2", "_offset=xyz&_limit=2", "_limit=2"] {
        let page = get_page(staff, &format!("/users/users/?{query}")).await;
        assert_eq!(page_ids(&page), all_ids[..2], "?{query}");
        assert_eq!(page["next"], link("_limit=2&_offset=2"), "?{query}");
        assert_eq!(page["previous"], Value::Null, "?{query}");
    }

    let second = get_page(staff, "/users/users/?_limit=2&_offset=2").await;
    assert_eq!(labels("/users/users/", &second), ["bob", "carol"]);
    assert_eq!(second["next"], link("_limit=2&_offset=4"));
    assert_eq!(second["previous"], link("_limit=2"), "a previous offset of 0 is left out");
    let odd = get_page(staff, "/users/users/?_limit=2&_offset=3").await;
    assert_eq!(odd["previous"], link("_limit=2&_offset=1"));
    let last = get_page(staff, "/users/users/?_offset=120&_limit=10").await;
    assert_eq!(page_ids(&last), all_ids[120..]);
    assert_eq!(last["next"], Value::Null);
    assert_eq!(last["previous"], link("_limit=10&_offset=110"));
    let past_end = get_page(staff, "/users/users/?_offset=200").await;
    assert_eq!(past_end["count"], TOTAL_USERS);
    assert_eq!(past_end["results"], json!([]));
    assert_eq!(past_end["previous"], link("_limit=100&_offset=100"));

    // Links keep the other parameters, with keys sorted and values form-encoded.
    let filtered = get_page(staff, "/users/users/?username__startswith=filler&_offset=5&_limit=5").await;
    assert_eq!(filtered["count"], FILLERS);
    assert_eq!(labels("/users/users/", &filtered), ["filler006", "filler007", "filler008", "filler009", "filler010"]);
    assert_eq!(filtered["next"], link("_limit=5&_offset=10&username__startswith=filler"));
    assert_eq!(filtered["previous"], link("_limit=5&username__startswith=filler"));
    let searched = get_page(staff, "/users/users/?_search=filler%2001&_limit=1").await;
    assert_eq!(searched["next"], link("_limit=1&_offset=1&_search=filler+01"));

    let teams = get_page(staff, "/users/teams/?_limit=2&_offset=2").await;
    assert_eq!(labels("/users/teams/", &teams), ["Gamma 100%", "Delta_Team"]);
    assert_eq!(teams["next"], json!(format!("{}/users/teams/?_limit=2&_offset=4", data.server.base_url())));
    assert_eq!(teams["previous"], json!(format!("{}/users/teams/?_limit=2", data.server.base_url())));
    let memberships = get_page(staff, "/users/memberships/?_limit=4&_offset=8").await;
    assert_eq!(labels("/users/memberships/", &memberships), ["alice/Delta_Team"]);
    assert_eq!(memberships["next"], Value::Null);
    assert_eq!(memberships["previous"], json!(format!("{}/users/memberships/?_limit=4&_offset=4", data.server.base_url())));
}

async fn ordering(data: &Data) {
    let staff = &data.staff;
    let named = format!("id__lte={}", data.user("ivan"));
    let cases: Vec<(String, Vec<&str>)> = vec![
        (format!("_order=-id&{named}"), vec!["ivan", "heidi", "grace", "frank.w", "eve_99", "dave", "carol", "bob", "alice", "root"]),
        // NULLs sort last in ascending and first in descending order; later keys break ties.
        (
            format!("_order=role,-username&{named}"),
            vec!["ivan", "frank.w", "eve_99", "alice", "carol", "bob", "root", "heidi", "grace", "dave"],
        ),
        (
            format!("_order=-role,username&{named}"),
            vec!["dave", "grace", "heidi", "root", "bob", "carol", "alice", "eve_99", "frank.w", "ivan"],
        ),
        // Text sorts by code point: `%` before `0`, `_` before `n`.
        (
            format!("_order=department&{named}"),
            vec!["eve_99", "heidi", "dave", "bob", "grace", "alice", "carol", "frank.w", "ivan", "root"],
        ),
        (
            format!("_order=date_joined&{named}"),
            vec!["ivan", "root", "heidi", "grace", "dave", "alice", "bob", "eve_99", "carol", "frank.w"],
        ),
        // Unknown keys, write-only fields and related paths are dropped.
        (
            format!("_order=bogus,-username&{named}"),
            vec!["root", "ivan", "heidi", "grace", "frank.w", "eve_99", "dave", "carol", "bob", "alice"],
        ),
        (
            format!("_order=password,-is_staff,display_name&{named}"),
            vec!["root", "alice", "bob", "carol", "dave", "eve_99", "frank.w", "grace", "heidi", "ivan"],
        ),
        (format!("_order=bogus&{named}"), vec!["root", "alice", "bob", "carol", "dave", "eve_99", "frank.w", "grace", "heidi", "ivan"]),
        (
            format!("_order=-is_active,_membership&{named}"),
            vec!["root", "alice", "bob", "carol", "eve_99", "frank.w", "grace", "heidi", "ivan", "dave"],
        ),
    ];
    for (query, expected) in cases {
        assert_lists(staff, &format!("/users/users/?{query}"), &expected).await;
    }

    assert_lists(staff, "/users/teams/?_order=-name", &["Équipe Ω", "Gamma 100%", "Delta_Team", "Beta Group", "Alpha Lab"]).await;
    assert_lists(staff, "/users/teams/?_order=is_active,slug", &["Beta Group", "Alpha Lab", "Delta_Team", "Équipe Ω", "Gamma 100%"]).await;
    assert_lists(
        staff,
        "/users/memberships/?_order=-team,role",
        &[
            "alice/Delta_Team",
            "frank.w/Delta_Team",
            "eve_99/Gamma 100%",
            "carol/Gamma 100%",
            "alice/Beta Group",
            "carol/Beta Group",
            "bob/Alpha Lab",
            "dave/Alpha Lab",
            "alice/Alpha Lab",
        ],
    )
    .await;
    let default_order: Vec<String> = MEMBERSHIPS.iter().map(|(user, team, _)| format!("{user}/{team}")).collect();
    let default_order: Vec<&str> = default_order.iter().map(String::as_str).collect();
    assert_lists(staff, "/users/memberships/?_order=team__name,-user__username", &default_order).await;
}

async fn search(data: &Data) {
    let staff = &data.staff;
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("_search=ALI", vec!["alice"]),
        ("_search=physics", vec!["alice", "carol"]),
        ("_search=physics%20pi", vec!["alice"]),
        ("_search=%22physics%20%26%20astronomy%22", vec!["carol"]),
        ("_search=data%20science", vec!["frank.w", "grace", "ivan"]),
        ("_search=%22data%20science%22", vec!["frank.w", "grace"]),
        ("_search=%22Data%20Science%22%20lead", vec!["frank.w"]),
        ("_search=lead,%20%22Data%20Science%22", vec!["frank.w"]),
        // A quoted phrase followed by a comma and more text is one token that splits at the
        // comma, so the phrase keeps its quote marks and matches nothing.
        ("_search=%22Data%20Science%22,lead", vec![]),
        ("_search=alice,bob", vec![]),
        ("_search=example.net", vec!["dave"]),
        // `%`, `_` and quotes are literal characters.
        ("_search=100%25", vec!["eve_99"]),
        ("_search=r_d", vec!["frank.w"]),
        ("_search=o'neil", vec!["eve_99"]),
        ("_search=e%22m", vec!["heidi"]),
        // Letters outside ASCII match ignoring case.
        ("_search=%C3%A8ve", vec!["eve_99"]),
        ("_search=%C3%98STER", vec!["eve_99"]),
        ("_search=%C3%B8stergaard%20research", vec!["eve_99"]),
    ];
    for (query, expected) in cases {
        assert_lists(staff, &format!("/users/users/?{query}"), &expected).await;
    }
    assert_count(staff, "/users/users/?_search=", TOTAL_USERS).await;
    assert_count(staff, "/users/users/?_search=%20", TOTAL_USERS).await;
    assert_count(staff, "/users/users/?_search=filler", FILLERS).await;

    assert_lists(staff, "/users/teams/?_search=%C3%89QUIPE", &["Équipe Ω"]).await;
    assert_lists(staff, "/users/teams/?_search=%CF%89", &["Équipe Ω"]).await;
    assert_lists(staff, "/users/teams/?_search=_team", &["Delta_Team"]).await;
    assert_lists(staff, "/users/teams/?_search=100%25", &["Gamma 100%"]).await;
    assert_lists(staff, "/users/teams/?_search=a%20l", &["Alpha Lab", "Delta_Team"]).await;
    assert_lists(staff, "/users/memberships/?_search=gamma", &["carol/Gamma 100%", "eve_99/Gamma 100%"]).await;
    assert_lists(staff, "/users/memberships/?_search=ARCHER", &["alice/Alpha Lab", "alice/Beta Group", "alice/Delta_Team"]).await;
    assert_lists(staff, "/users/memberships/?_search=alice%20beta", &["alice/Beta Group"]).await;
    assert_lists(staff, "/users/memberships/?_search=example.org", &[]).await;
}

async fn user_filters(data: &Data) {
    let staff = &data.staff;
    let named = format!("id__lte={}", data.user("ivan"));
    let everyone = ["root", "alice", "bob", "carol", "dave", "eve_99", "frank.w", "grace", "heidi", "ivan"];
    let all_but = |left_out: &[&str]| -> Vec<&str> { everyone.iter().copied().filter(|name| !left_out.contains(name)).collect() };
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("username=alice".into(), vec!["alice"]),
        ("username__contains=ar".into(), vec!["carol"]),
        ("username__contains=AR".into(), vec![]),
        ("first_name__startswith=Ca".into(), vec!["carol"]),
        ("last_name__endswith=er".into(), vec!["alice", "bob", "grace"]),
        ("email__endswith=.org".into(), vec!["root", "alice", "carol", "grace", "heidi"]),
        // Negations keep rows whose value is NULL.
        (format!("email__not_endswith=.org&{named}"), vec!["bob", "dave", "eve_99", "frank.w", "ivan"]),
        (format!("department__not_contains=Phys&{named}"), all_but(&["alice", "carol"])),
        (format!("department__not_startswith=R&{named}"), all_but(&["frank.w", "ivan"])),
        (format!("role__not_eq=PI&{named}"), all_but(&["alice"])),
        (format!("username__not_eq=alice&{named}"), all_but(&["alice"])),
        ("username__in=alice,bob,nobody".into(), vec!["alice", "bob"]),
        (format!("username__not_in=alice,bob&{named}"), all_but(&["alice", "bob"])),
        ("first_name__in=Alice,%C3%88ve".into(), vec!["alice", "eve_99"]),
        (format!("email__isnull=true&{named}"), vec!["eve_99", "ivan"]),
        (format!("email__isnull=True&{named}"), vec!["eve_99", "ivan"]),
        (format!("email__isnull=0&{named}"), all_but(&["eve_99", "ivan"])),
        (format!("email__isnull=maybe&{named}"), everyone.to_vec()),
        (format!("id__lt={}", data.user("bob")), vec!["root", "alice"]),
        (format!("id__gte={}", data.user("filler114")), vec!["filler114", "filler115"]),
        (format!("id__gt={}&id__lte={}", data.user("grace"), data.user("filler001")), vec!["heidi", "ivan", "filler001"]),
        (format!("id__in={},{}", data.user("dave"), data.user("root")), vec!["root", "dave"]),
        ("is_active=false".into(), vec!["dave"]),
        ("is_active=0".into(), vec!["dave"]),
        ("is_active=FALSE".into(), vec!["dave"]),
        ("is_staff=true".into(), vec!["root"]),
        ("is_superuser=1".into(), vec!["root"]),
        ("is_ldap_user=true".into(), vec![]),
        ("last_login__isnull=false".into(), vec![]),
        // Text values are matched literally.
        ("first_name=%C3%88ve".into(), vec!["eve_99"]),
        ("last_name__startswith=%C3%98ster".into(), vec!["eve_99"]),
        ("department__contains=100%25".into(), vec!["eve_99"]),
        ("department__contains=R_D".into(), vec!["frank.w"]),
        ("role__startswith=O'N".into(), vec!["eve_99"]),
        ("last_name__contains=%22M".into(), vec!["heidi"]),
        ("department=Physics%20%26%20Astronomy".into(), vec!["carol"]),
        // Filters combine with AND, and with search.
        ("department__startswith=Physics&role=PI".into(), vec!["alice"]),
        ("email__endswith=.org&_search=physics".into(), vec!["alice", "carol"]),
    ];
    for (query, expected) in cases {
        assert_lists(staff, &format!("/users/users/?{query}"), &expected).await;
    }

    // Empty values, unknown parameters, unparsable booleans and the password hash filter the
    // reference offered are all ignored.
    for query in
        ["username=", "foo=bar", "is_active=maybe", "password__startswith=pbkdf2", "password=x", "username__bogus=alice", "_unknown=1"]
    {
        assert_count(staff, &format!("/users/users/?{query}"), TOTAL_USERS).await;
    }
}

async fn date_filters(data: &Data) {
    let staff = &data.staff;
    let named = format!("id__lte={}", data.user("ivan"));
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("date_joined__year=2024", vec!["bob", "carol", "eve_99", "frank.w"]),
        // Date parts take no further operator, so this parameter is unknown and ignored.
        ("date_joined__year__gte=2024", vec!["root", "alice", "bob", "carol", "dave", "eve_99", "frank.w", "grace", "heidi", "ivan"]),
        ("date_joined__month=6", vec!["carol"]),
        ("date_joined__day=30", vec!["carol", "frank.w"]),
        // ISO weeks: 2024-12-30 is in week 1 of 2025, 2021-01-03 in week 53 of 2020.
        ("date_joined__week=1", vec!["root", "bob", "frank.w"]),
        ("date_joined__week=53", vec!["heidi"]),
        ("date_joined__week=26", vec!["carol", "grace"]),
        // Week days count from 1 = Sunday to 7 = Saturday.
        ("date_joined__week_day=1", vec!["carol", "grace", "heidi", "ivan"]),
        ("date_joined__week_day=7", vec!["dave"]),
        ("date_joined__week_day=4", vec!["root", "alice"]),
        ("date_joined__hour=23", vec!["carol"]),
        ("date_joined__hour=0", vec!["root", "bob"]),
        ("date_joined__minute=45", vec!["eve_99"]),
        ("date_joined__second=59", vec!["carol"]),
        ("date_joined__second=5", vec!["ivan"]),
        ("date_joined__gte=2024-01-01T00:00:00Z", vec!["bob", "carol", "eve_99", "frank.w"]),
        ("date_joined__gt=2024-01-01T00:15:00Z", vec!["carol", "eve_99", "frank.w"]),
        ("date_joined__lte=2024-01-01T00:15:00%2B00:00", vec!["root", "alice", "bob", "dave", "grace", "heidi", "ivan"]),
        ("date_joined__lt=2021-01-01T00:00:00Z", vec!["root", "ivan"]),
        // An offset is converted to UTC: 20:00 at -04:00 is midnight UTC on 2024-07-01.
        ("date_joined__gte=2024-06-30T20:00:00-04:00", vec!["frank.w"]),
        ("date_joined=2024-06-30T23:59:59Z", vec!["carol"]),
        ("date_joined__isnull=true", vec![]),
    ];
    for (query, expected) in cases {
        assert_lists(staff, &format!("/users/users/?{query}&{named}"), &expected).await;
    }
    assert_count(staff, "/users/users/?date_joined__year=2018", FILLERS).await;
    assert_count(staff, "/users/users/?date_joined__week_day=6&date_joined__hour=10", FILLERS).await;
}

async fn team_and_membership_filters(data: &Data) {
    let staff = &data.staff;
    let team_cases: Vec<(String, Vec<&str>)> = vec![
        ("name__contains=Lab".into(), vec!["Alpha Lab"]),
        ("name=alpha%20lab".into(), vec![]),
        ("slug=beta-group".into(), vec!["Beta Group"]),
        ("slug=equipe".into(), vec!["Équipe Ω"]),
        ("is_active=false".into(), vec!["Beta Group"]),
        ("name__contains=100%25".into(), vec!["Gamma 100%"]),
        ("name__endswith=_Team".into(), vec!["Delta_Team"]),
        ("name__not_contains=a".into(), vec!["Équipe Ω"]),
        (format!("id__in={},{}", data.team("Delta_Team"), data.team("Beta Group")), vec!["Beta Group", "Delta_Team"]),
        ("name__startswith=%C3%89q".into(), vec!["Équipe Ω"]),
    ];
    for (query, expected) in team_cases {
        assert_lists(staff, &format!("/users/teams/?{query}"), &expected).await;
    }

    let alpha = data.team("Alpha Lab");
    let gamma = data.team("Gamma 100%");
    let delta = data.team("Delta_Team");
    let alice = data.user("alice");
    let membership_cases: Vec<(String, Vec<&str>)> = vec![
        ("role=OW".into(), vec!["alice/Alpha Lab", "carol/Gamma 100%", "frank.w/Delta_Team"]),
        ("role__in=OW,XX".into(), vec!["alice/Alpha Lab", "carol/Gamma 100%", "frank.w/Delta_Team"]),
        (
            "role__not_eq=MB".into(),
            vec!["alice/Alpha Lab", "alice/Beta Group", "carol/Gamma 100%", "eve_99/Gamma 100%", "frank.w/Delta_Team"],
        ),
        (format!("team={alpha}"), vec!["alice/Alpha Lab", "bob/Alpha Lab", "dave/Alpha Lab"]),
        (format!("team__in={gamma},{delta}"), vec!["carol/Gamma 100%", "eve_99/Gamma 100%", "frank.w/Delta_Team", "alice/Delta_Team"]),
        (format!("team__not_eq={alpha}&role=MB"), vec!["carol/Beta Group", "alice/Delta_Team"]),
        (format!("user={alice}"), vec!["alice/Alpha Lab", "alice/Beta Group", "alice/Delta_Team"]),
        (format!("user__not_in={alice}&team={alpha}"), vec!["bob/Alpha Lab", "dave/Alpha Lab"]),
        (format!("user={alice}&role=MB"), vec!["alice/Delta_Team"]),
        (format!("id={}", data.membership_ids[4]), vec!["carol/Beta Group"]),
        ("team__isnull=true".into(), vec![]),
    ];
    for (query, expected) in membership_cases {
        assert_lists(staff, &format!("/users/memberships/?{query}"), &expected).await;
    }
}

async fn bad_filter_values(data: &Data) {
    let staff = &data.staff;
    let invalid_choice = "Select a valid choice. That choice is not one of the available choices.";
    let alpha = data.team("Alpha Lab");
    let cases: Vec<(String, Value)> = vec![
        ("/users/users/?id=abc".into(), json!({"id": ["Enter a number."]})),
        ("/users/users/?id__in=1,x".into(), json!({"id__in": ["Enter a number."]})),
        ("/users/users/?id__gte=".into(), Value::Null),
        ("/users/users/?date_joined__gte=yesterday".into(), json!({"date_joined__gte": ["Enter a valid date/time."]})),
        ("/users/users/?date_joined=2024-13-01T00:00:00Z".into(), json!({"date_joined": ["Enter a valid date/time."]})),
        ("/users/users/?date_joined__year=abc".into(), json!({"date_joined__year": ["Enter a number."]})),
        ("/users/users/?last_login__lt=soon".into(), json!({"last_login__lt": ["Enter a valid date/time."]})),
        // Every rejected parameter is reported.
        (
            "/users/users/?id=x&date_joined__lt=y".into(),
            json!({"id": ["Enter a number."], "date_joined__lt": ["Enter a valid date/time."]}),
        ),
        ("/users/teams/?id__lt=one".into(), json!({"id__lt": ["Enter a number."]})),
        ("/users/memberships/?team=99999".into(), json!({"team": [invalid_choice]})),
        ("/users/memberships/?team=abc".into(), json!({"team": [invalid_choice]})),
        (format!("/users/memberships/?team__in={alpha},99999"), json!({"team__in": [invalid_choice]})),
        ("/users/memberships/?user__not_eq=99999".into(), json!({"user__not_eq": [invalid_choice]})),
        ("/users/memberships/?role=XX".into(), json!({"role": ["Select a valid choice. XX is not one of the available choices."]})),
        (
            "/users/memberships/?role__not_eq=owner".into(),
            json!({"role__not_eq": ["Select a valid choice. owner is not one of the available choices."]}),
        ),
    ];
    for (path, expected) in cases {
        if expected.is_null() {
            // An empty value disables the filter rather than failing.
            assert_count(staff, &path, TOTAL_USERS).await;
        } else {
            assert_error(staff, &path, expected).await;
        }
    }
}

async fn non_staff_scopes(data: &Data) {
    let visible_users = TOTAL_USERS - 1;
    assert_count(&data.alice, "/users/users/", visible_users).await;
    assert_lists(&data.alice, "/users/users/?is_active=false", &[]).await;
    assert_lists(&data.alice, "/users/users/?_search=dave", &[]).await;
    let page = get_page(&data.alice, "/users/users/?_limit=1&_offset=123").await;
    assert_eq!(page["next"], Value::Null, "the last page of the non-staff scope has no next link");

    // Non-staff list only the active teams they belong to, but may read any active team.
    assert_lists(&data.alice, "/users/teams/", &["Alpha Lab", "Delta_Team"]).await;
    assert_lists(&data.bob, "/users/teams/", &["Alpha Lab"]).await;
    assert_lists(&data.alice, "/users/teams/?is_active=false", &[]).await;
    assert_lists(&data.alice, "/users/teams/?_search=gamma", &[]).await;
    let gamma = send_request(&data.alice, Method::GET, &format!("/users/teams/{}/", data.team("Gamma 100%")), None).await;
    assert_eq!(gamma.status.as_u16(), 200, "{}", gamma.body);
    let beta = send_request(&data.alice, Method::GET, &format!("/users/teams/{}/", data.team("Beta Group")), None).await;
    assert_eq!(beta.status.as_u16(), 404, "{}", beta.body);

    // Memberships of inactive teams and inactive users are hidden from non-staff, but the list
    // is not limited to the caller's teams.
    let visible = ["alice/Alpha Lab", "bob/Alpha Lab", "carol/Gamma 100%", "eve_99/Gamma 100%", "frank.w/Delta_Team", "alice/Delta_Team"];
    assert_lists(&data.alice, "/users/memberships/", &visible).await;
    assert_lists(&data.bob, "/users/memberships/", &visible).await;
    assert_lists(&data.bob, &format!("/users/memberships/?team={}", data.team("Beta Group")), &[]).await;
    for (index, expected) in [(2, 404), (3, 404), (4, 404), (5, 200)] {
        let path = format!("/users/memberships/{}/", data.membership_ids[index]);
        let response = send_request(&data.bob, Method::GET, &path, None).await;
        assert_eq!(response.status.as_u16(), expected, "bob GET {path} ({:?}): {}", MEMBERSHIPS[index], response.body);
    }
    // Staff see everything.
    assert_count(&data.staff, "/users/memberships/", MEMBERSHIPS.len()).await;
    assert_count(&data.staff, "/users/teams/", TEAMS.len()).await;
}

async fn detail_filters(data: &Data) {
    let alice = data.user("alice");
    let alpha = data.team("Alpha Lab");
    let owner_membership = data.membership_ids[0];
    let cases: Vec<(String, u16, Value)> = vec![
        (format!("/users/users/{alice}/?username=nomatch"), 404, json!({"detail": "No User matches the given query."})),
        (format!("/users/users/{alice}/?_search=bob"), 404, json!({"detail": "No User matches the given query."})),
        (format!("/users/users/{alice}/?username=alice"), 200, Value::Null),
        (format!("/users/users/{alice}/?_limit=1&_offset=50&_order=-id"), 200, Value::Null),
        (format!("/users/users/{alice}/?id=abc"), 400, json!({"id": ["Enter a number."]})),
        (format!("/users/teams/{alpha}/?is_active=false"), 404, json!({"detail": "No Team matches the given query."})),
        (format!("/users/teams/{alpha}/?_search=alpha"), 200, Value::Null),
        (format!("/users/memberships/{owner_membership}/?role=MB"), 404, json!({"detail": "No Membership matches the given query."})),
        (format!("/users/memberships/{owner_membership}/?role=OW"), 200, Value::Null),
        (
            format!("/users/memberships/{owner_membership}/?team=99999"),
            400,
            json!({"team": ["Select a valid choice. That choice is not one of the available choices."]}),
        ),
    ];
    for client in [&data.staff, &data.alice] {
        for (path, status, expected) in &cases {
            let response = send_request(client, Method::GET, path, None).await;
            assert_eq!(response.status.as_u16(), *status, "GET {path}: {}", response.body);
            if !expected.is_null() {
                assert_eq!(&response.json(), expected, "GET {path}");
            }
        }
    }

    // Writes look the record up through the filters too.
    let path = format!("/users/users/{alice}/?username=nomatch");
    let response = send_request(&data.staff, Method::PATCH, &path, Some(&json!({"first_name": "Changed"}))).await;
    assert_eq!(response.status.as_u16(), 404, "PATCH {path}: {}", response.body);
    let path = format!("/users/teams/{alpha}/?name=Other");
    let response = send_request(&data.staff, Method::DELETE, &path, None).await;
    assert_eq!(response.status.as_u16(), 404, "DELETE {path}: {}", response.body);
    let unchanged = get_page(&data.staff, "/users/users/?username=alice").await;
    assert_eq!(unchanged["results"][0]["first_name"], "Alice");
    assert_count(&data.staff, "/users/teams/", TEAMS.len()).await;
}
