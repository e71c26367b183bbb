//! Sign-in, sign-out, `whoami` and API tokens over real HTTP, on SQLite and PostgreSQL.

use chrono::{DateTime, NaiveDateTime, Utc};
use keystone_blackbox::{Backend, Client, Response, TestServer, BACKENDS};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const LOGIN: &str = "/authentication/login/";
const LOGOUT: &str = "/authentication/logout/";
const WHOAMI: &str = "/authentication/whoami/";

const PASSWORD: &str = "quiet-lantern-47";

/// Fields of the user representation, in the reference's order.
const USER_FIELDS: [&str; 19] = [
    "id",
    "display_name",
    "abbreviation",
    "_membership",
    "_history",
    "is_superuser",
    "username",
    "first_name",
    "last_name",
    "email",
    "department",
    "role",
    "is_active",
    "is_staff",
    "is_ldap_user",
    "date_joined",
    "last_login",
    "groups",
    "user_permissions",
];

const INVALID_CREDENTIALS: &str = r#"{"non_field_errors":["Invalid username or password."]}"#;
const NOT_AUTHENTICATED: &str = r#"{"detail":"Authentication credentials were not provided."}"#;

/// A request body in one of the encodings the login endpoint parses.
enum Body {
    Json(Value),
    Form(Vec<(&'static str, &'static str)>),
    Multipart(Vec<(&'static str, &'static str)>),
    Raw(&'static str, Vec<u8>),
}

async fn post_login(client: &Client, body: Body) -> Response {
    let builder = client.request(Method::POST, LOGIN);
    let builder = match body {
        Body::Json(value) => builder.json(&value),
        Body::Form(pairs) => builder.form(&pairs),
        Body::Multipart(pairs) => {
            let mut form = reqwest::multipart::Form::new();
            for (name, value) in pairs {
                form = form.text(name, value);
            }
            builder.multipart(form)
        }
        Body::Raw(content_type, bytes) => builder.header("Content-Type", content_type).body(bytes),
    };
    client.send(builder).await
}

fn keys(value: &Value) -> Vec<String> {
    value.as_object().expect("a JSON object").keys().cloned().collect()
}

/// Splits a `Set-Cookie` value into its `name=value` pair and its attributes.
fn cookie_parts(cookie: &str) -> (String, Vec<String>) {
    let mut parts = cookie.split("; ").map(str::to_string);
    let pair = parts.next().unwrap_or_default();
    (pair, parts.collect())
}

fn cookie_value(cookie: &str, name: &str) -> String {
    let (pair, _) = cookie_parts(cookie);
    pair.strip_prefix(&format!("{name}=")).unwrap_or_else(|| panic!("cookie {cookie} is not {name}")).to_string()
}

fn cookie_expires(cookie: &str) -> String {
    let (_, attributes) = cookie_parts(cookie);
    attributes
        .iter()
        .find_map(|attribute| attribute.strip_prefix("expires="))
        .unwrap_or_else(|| panic!("no expires in {cookie}"))
        .to_string()
}

/// Asserts that an `expires` date is `max_age` seconds from now, within a few seconds.
fn assert_expires_after(expires: &str, max_age: i64) {
    let parsed = NaiveDateTime::parse_from_str(expires, "%a, %d %b %Y %H:%M:%S GMT")
        .unwrap_or_else(|error| panic!("bad expires {expires}: {error}"));
    let expected = Utc::now().naive_utc() + chrono::Duration::seconds(max_age);
    let difference = (parsed - expected).num_seconds().abs();
    assert!(difference <= 5, "expires {expires} is {difference} s away from now + {max_age} s");
}

fn assert_alphanumeric(value: &str, length: usize) {
    assert_eq!(value.len(), length, "{value}");
    assert!(value.bytes().all(|byte| byte.is_ascii_alphanumeric()), "{value}");
}

/// Asserts the two sign-in cookies with their exact attributes, `csrftoken` first.
fn assert_login_cookies(response: &Response, session_age: u64, domain: Option<&str>, secure: bool) {
    let cookies = response.set_cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    let domain = domain.map(|domain| format!("; Domain={domain}")).unwrap_or_default();
    let secure = if secure { "; Secure" } else { "" };

    let csrf = cookie_value(&cookies[0], "csrftoken");
    assert_alphanumeric(&csrf, 32);
    let csrf_expires = cookie_expires(&cookies[0]);
    assert_eq!(cookies[0], format!("csrftoken={csrf}{domain}; expires={csrf_expires}; Max-Age=31449600; Path=/; SameSite=Lax{secure}"));
    assert_expires_after(&csrf_expires, 31_449_600);

    let session = cookie_value(&cookies[1], "sessionid");
    assert_alphanumeric(&session, 32);
    let session_expires = cookie_expires(&cookies[1]);
    assert_eq!(
        cookies[1],
        format!("sessionid={session}{domain}; expires={session_expires}; HttpOnly; Max-Age={session_age}; Path=/; SameSite=Lax{secure}")
    );
    assert_expires_after(&session_expires, session_age as i64);
}

fn parse_timestamp(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().unwrap_or_else(|| panic!("not a timestamp: {value}"));
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|error| panic!("bad timestamp {text}: {error}")).with_timezone(&Utc)
}

#[tokio::test]
async fn login_accepts_each_body_encoding() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        let alice_id = server.create_user("alice", PASSWORD, false).await;
        let cases = [
            ("json", Body::Json(json!({"username": "alice", "password": PASSWORD}))),
            ("form", Body::Form(vec![("username", "alice"), ("password", PASSWORD)])),
            ("multipart", Body::Multipart(vec![("username", "alice"), ("password", PASSWORD)])),
            ("username with spaces", Body::Json(json!({"username": "  alice\t", "password": PASSWORD}))),
        ];
        let case_count = cases.len() as i64;

        for (case, body) in cases {
            let before = Utc::now() - chrono::Duration::seconds(1);
            let response = post_login(&server.client(), body).await;
            assert_eq!(response.status, StatusCode::OK, "{backend:?} {case}: {}", response.body);
            assert_eq!(response.header("content-type"), Some("application/json"), "{backend:?} {case}");
            assert_eq!(response.header("allow"), Some("POST, OPTIONS"), "{backend:?} {case}");
            assert_login_cookies(&response, 1_209_600, None, false);

            let user = response.json();
            assert_eq!(keys(&user), USER_FIELDS, "{backend:?} {case}");
            assert_eq!(user["id"], alice_id, "{backend:?} {case}");
            assert_eq!(user["username"], "alice", "{backend:?} {case}");
            assert_eq!(user["display_name"], "alice", "{backend:?} {case}");
            assert_eq!(user["abbreviation"], "AL", "{backend:?} {case}");
            assert_eq!(user["is_active"], true, "{backend:?} {case}");
            assert_eq!(user["is_staff"], false, "{backend:?} {case}");
            assert_eq!(user["is_superuser"], false, "{backend:?} {case}");
            assert_eq!(user["groups"], json!([]), "{backend:?} {case}");
            assert_eq!(user["user_permissions"], json!([]), "{backend:?} {case}");
            assert!(!response.body.contains("pbkdf2"), "{backend:?} {case}: the hash leaked");
            let last_login = parse_timestamp(&user["last_login"]);
            assert!(last_login >= before, "{backend:?} {case}: last_login {last_login} is before the request");
            assert!(last_login <= Utc::now(), "{backend:?} {case}: last_login {last_login} is in the future");

            let db = server.storage().await;
            let stored = db.user_by_username("alice").await.expect("query works").expect("alice exists");
            db.close().await;
            assert_eq!(stored.last_login, Some(last_login), "{backend:?} {case}: last_login not stored");
        }

        let sessions = server.query_count("SELECT COUNT(*) FROM keystone_session").await;
        assert_eq!(sessions, case_count, "{backend:?}: one session per sign-in");
    }
}

#[tokio::test]
async fn login_rejects_invalid_input() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, false).await;
        server.create_user("carol", PASSWORD, false).await;
        server.execute_sql("UPDATE users_user SET is_active = FALSE WHERE username = 'carol'").await;

        let cases: Vec<(&str, Body, StatusCode, &str)> = vec![
            (
                "wrong password",
                Body::Json(json!({"username": "alice", "password": "wrong-password"})),
                StatusCode::BAD_REQUEST,
                INVALID_CREDENTIALS,
            ),
            (
                "untrimmed password",
                Body::Json(json!({"username": "alice", "password": format!("{PASSWORD} ")})),
                StatusCode::BAD_REQUEST,
                INVALID_CREDENTIALS,
            ),
            (
                "username in another case",
                Body::Json(json!({"username": "Alice", "password": PASSWORD})),
                StatusCode::BAD_REQUEST,
                INVALID_CREDENTIALS,
            ),
            (
                "unknown user",
                Body::Json(json!({"username": "mallory", "password": PASSWORD})),
                StatusCode::BAD_REQUEST,
                INVALID_CREDENTIALS,
            ),
            ("inactive user", Body::Json(json!({"username": "carol", "password": PASSWORD})), StatusCode::BAD_REQUEST, INVALID_CREDENTIALS),
            (
                "wrong password as form",
                Body::Form(vec![("username", "alice"), ("password", "nope")]),
                StatusCode::BAD_REQUEST,
                INVALID_CREDENTIALS,
            ),
            (
                "missing username",
                Body::Json(json!({"password": PASSWORD})),
                StatusCode::BAD_REQUEST,
                r#"{"username":["This field is required."]}"#,
            ),
            (
                "missing password",
                Body::Json(json!({"username": "alice"})),
                StatusCode::BAD_REQUEST,
                r#"{"password":["This field is required."]}"#,
            ),
            (
                "missing both",
                Body::Json(json!({})),
                StatusCode::BAD_REQUEST,
                r#"{"username":["This field is required."],"password":["This field is required."]}"#,
            ),
            (
                "empty JSON body",
                Body::Raw("application/json", Vec::new()),
                StatusCode::BAD_REQUEST,
                r#"{"username":["This field is required."],"password":["This field is required."]}"#,
            ),
            (
                "missing both as form",
                Body::Form(vec![("other", "x")]),
                StatusCode::BAD_REQUEST,
                r#"{"username":["This field is required."],"password":["This field is required."]}"#,
            ),
            (
                "blank username",
                Body::Json(json!({"username": "", "password": PASSWORD})),
                StatusCode::BAD_REQUEST,
                r#"{"username":["This field may not be blank."]}"#,
            ),
            (
                "whitespace username",
                Body::Json(json!({"username": "   ", "password": PASSWORD})),
                StatusCode::BAD_REQUEST,
                r#"{"username":["This field may not be blank."]}"#,
            ),
            (
                "blank password",
                Body::Json(json!({"username": "alice", "password": ""})),
                StatusCode::BAD_REQUEST,
                r#"{"password":["This field may not be blank."]}"#,
            ),
            (
                "null username",
                Body::Json(json!({"username": null, "password": PASSWORD})),
                StatusCode::BAD_REQUEST,
                r#"{"username":["This field may not be null."]}"#,
            ),
            (
                "null both",
                Body::Json(json!({"username": null, "password": null})),
                StatusCode::BAD_REQUEST,
                r#"{"username":["This field may not be null."],"password":["This field may not be null."]}"#,
            ),
            (
                "boolean username",
                Body::Json(json!({"username": true, "password": PASSWORD})),
                StatusCode::BAD_REQUEST,
                r#"{"username":["Not a valid string."]}"#,
            ),
            (
                "array body",
                Body::Json(json!([{"username": "alice", "password": PASSWORD}])),
                StatusCode::BAD_REQUEST,
                r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}"#,
            ),
            (
                "string body",
                Body::Json(json!("alice")),
                StatusCode::BAD_REQUEST,
                r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got str."]}"#,
            ),
            (
                "text/plain body",
                Body::Raw("text/plain", b"username=alice".to_vec()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                r#"{"detail":"Unsupported media type \"text/plain\" in request."}"#,
            ),
            (
                "text/plain body with charset",
                Body::Raw("text/plain; charset=utf-8", b"username=alice".to_vec()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                r#"{"detail":"Unsupported media type \"text/plain; charset=utf-8\" in request."}"#,
            ),
        ];

        for (case, body, status, expected) in cases {
            let response = post_login(&server.client(), body).await;
            assert_eq!(response.status, status, "{backend:?} {case}: {}", response.body);
            assert_eq!(response.body, expected, "{backend:?} {case}");
            assert_eq!(response.header("content-type"), Some("application/json"), "{backend:?} {case}");
            assert!(response.set_cookies().is_empty(), "{backend:?} {case}: {:?}", response.set_cookies());
        }

        for (case, raw) in [
            ("truncated JSON", "{\"username\": \"alice\", "),
            ("not JSON", "username=alice"),
            ("trailing comma", "{\"username\": \"alice\",}"),
        ] {
            let response = post_login(&server.client(), Body::Raw("application/json", raw.as_bytes().to_vec())).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{backend:?} {case}: {}", response.body);
            let body = response.json();
            assert_eq!(keys(&body), ["detail"], "{backend:?} {case}");
            let detail = body["detail"].as_str().expect("detail is a string");
            assert!(detail.starts_with("JSON parse error - "), "{backend:?} {case}: {detail}");
        }

        for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            let client = server.client();
            let response =
                client.send(client.request(method.clone(), LOGIN).json(&json!({"username": "alice", "password": PASSWORD}))).await;
            assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{backend:?} {method}");
            assert_eq!(response.body, format!(r#"{{"detail":"Method \"{method}\" not allowed."}}"#), "{backend:?} {method}");
            assert_eq!(response.header("allow"), Some("POST, OPTIONS"), "{backend:?} {method}");
        }

        let client = server.client();
        let options = client.send(client.request(Method::OPTIONS, LOGIN)).await;
        assert_eq!(options.status, StatusCode::OK, "{backend:?}: {}", options.body);
        assert_eq!(options.header("allow"), Some("POST, OPTIONS"), "{backend:?}");
        assert_eq!(options.header("content-type"), Some("application/json"), "{backend:?}");
        assert_eq!(
            options.json()["parses"],
            json!(["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]),
            "{backend:?}"
        );

        let sessions = server.query_count("SELECT COUNT(*) FROM keystone_session").await;
        assert_eq!(sessions, 0, "{backend:?}: a rejected sign-in created a session");
        let signed_in = server.query_count("SELECT COUNT(*) FROM users_user WHERE last_login IS NOT NULL").await;
        assert_eq!(signed_in, 0, "{backend:?}: a rejected sign-in set last_login");
    }
}

#[tokio::test]
async fn login_cookies_follow_settings() {
    for backend in BACKENDS {
        let server = TestServer::builder(backend)
            .env("SECURE_SSL_TOKENS", "true")
            .env("SECURE_TOKEN_DOMAIN", "example.edu")
            .env("SECURE_SESSION_AGE", "3600")
            .start()
            .await;
        server.create_user("alice", PASSWORD, false).await;
        let mut client = server.client();
        let login = client.login("alice", PASSWORD).await;
        assert_login_cookies(&login, 3600, Some("example.edu"), true);

        let sessions = server.query_count("SELECT COUNT(*) FROM keystone_session").await;
        assert_eq!(sessions, 1, "{backend:?}");

        let csrf = client.csrf.clone().expect("csrftoken was set");
        let logout = client.send(client.request(Method::POST, LOGOUT).header("X-CSRFToken", csrf)).await;
        assert_eq!(logout.status, StatusCode::OK, "{backend:?}: {}", logout.body);
        assert_eq!(
            logout.set_cookies(),
            ["sessionid=\"\"; Domain=example.edu; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax"],
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn reference_password_hash_signs_in() {
    let known_hash = include_str!("../../storage/tests/fixtures/known_hash.txt").trim();
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        // The columns and value formats that Django writes on each backend: SQLite stores
        // booleans as 0/1 and datetimes as naive UTC text, PostgreSQL as `timestamptz`.
        let sql = match backend {
            Backend::Sqlite => format!(
                "INSERT INTO users_user (password, last_login, is_superuser, username, first_name, last_name, email, department, role, \
                 is_active, is_staff, is_ldap_user, date_joined) \
                 VALUES ('{known_hash}', NULL, 0, 'django', 'Ada', 'Lovelace', 'ada@example.edu', 'Physics', '', 1, 0, 0, '2024-03-01 12:00:00.123456')"
            ),
            Backend::Postgres => format!(
                "INSERT INTO users_user (password, last_login, is_superuser, username, first_name, last_name, email, department, role, \
                 is_active, is_staff, is_ldap_user, date_joined) \
                 VALUES ('{known_hash}', NULL, false, 'django', 'Ada', 'Lovelace', 'ada@example.edu', 'Physics', '', true, false, false, '2024-03-01 12:00:00.123456+00')"
            ),
        };
        server.execute_sql(&sql).await;

        let wrong = post_login(&server.client(), Body::Json(json!({"username": "django", "password": "correct horse "}))).await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{backend:?}: {}", wrong.body);
        assert_eq!(wrong.body, INVALID_CREDENTIALS, "{backend:?}");

        let mut client = server.client();
        let user = client.login("django", "correct horse").await.json();
        assert_eq!(user["username"], "django", "{backend:?}");
        assert_eq!(user["display_name"], "Ada Lovelace", "{backend:?}");
        assert_eq!(user["abbreviation"], "AL", "{backend:?}");
        assert_eq!(user["email"], "ada@example.edu", "{backend:?}");
        assert_eq!(user["role"], "", "{backend:?}");
        assert_eq!(user["date_joined"], "2024-03-01T12:00:00.123456Z", "{backend:?}");

        let whoami = client.get(WHOAMI).await;
        assert_eq!(whoami.status, StatusCode::OK, "{backend:?}: {}", whoami.body);
        assert_eq!(whoami.json()["username"], "django", "{backend:?}");
    }
}

#[tokio::test]
async fn logout_and_whoami() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, true).await;
        let anonymous = server.client();

        for (method, path) in [(Method::GET, WHOAMI), (Method::POST, LOGOUT)] {
            let response = anonymous.send(anonymous.request(method.clone(), path)).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{backend:?} {method} {path}");
            assert_eq!(response.body, NOT_AUTHENTICATED, "{backend:?} {method} {path}");
            assert_eq!(response.header("www-authenticate"), Some("Token"), "{backend:?} {method} {path}");
        }

        let mut client = server.client();
        let login = client.login("alice", PASSWORD).await;
        let whoami = client.get(WHOAMI).await;
        assert_eq!(whoami.status, StatusCode::OK, "{backend:?}: {}", whoami.body);
        assert_eq!(whoami.header("allow"), Some("GET, HEAD, OPTIONS"), "{backend:?}");
        assert_eq!(whoami.header("content-type"), Some("application/json"), "{backend:?}");
        assert_eq!(whoami.json(), login.json(), "{backend:?}: whoami differs from the sign-in response");
        assert_eq!(whoami.json()["is_staff"], true, "{backend:?}");
        assert!(whoami.set_cookies().is_empty(), "{backend:?}: {:?}", whoami.set_cookies());

        let head = client.send(client.request(Method::HEAD, WHOAMI)).await;
        assert_eq!(head.status, StatusCode::OK, "{backend:?}");
        assert_eq!(head.body, "", "{backend:?}");
        assert_eq!(head.header("content-type"), Some("application/json"), "{backend:?}");

        let get_logout = client.get(LOGOUT).await;
        assert_eq!(get_logout.status, StatusCode::METHOD_NOT_ALLOWED, "{backend:?}");
        assert_eq!(get_logout.body, r#"{"detail":"Method \"GET\" not allowed."}"#, "{backend:?}");
        assert_eq!(get_logout.header("allow"), Some("POST, OPTIONS"), "{backend:?}");

        let csrf = client.csrf.clone().expect("csrftoken was set");
        let logout = client.send(client.request(Method::POST, LOGOUT).header("X-CSRFToken", csrf)).await;
        assert_eq!(logout.status, StatusCode::OK, "{backend:?}: {}", logout.body);
        assert_eq!(logout.body, "", "{backend:?}");
        assert_eq!(logout.header("content-type"), None, "{backend:?}");
        assert_eq!(
            logout.set_cookies(),
            ["sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax"],
            "{backend:?}"
        );

        let after = client.get(WHOAMI).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{backend:?}: the old session still works");
        assert_eq!(after.body, NOT_AUTHENTICATED, "{backend:?}");
        let sessions = server.query_count("SELECT COUNT(*) FROM keystone_session").await;
        assert_eq!(sessions, 0, "{backend:?}: logout left the session row");
    }
}

fn token_request(client: &Client, method: Method, path: &str, authorization: &str) -> reqwest::RequestBuilder {
    client.request(method, path).header("Authorization", authorization)
}

#[tokio::test]
async fn token_authentication() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, false).await;

        let output = server.command(&["createtoken", "alice"]);
        assert!(output.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&output.stderr));
        let token = String::from_utf8(output.stdout).expect("the token is UTF-8").trim().to_string();
        assert_alphanumeric(&token, 40);
        let again = server.command(&["createtoken", "alice"]);
        assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), token, "{backend:?}: a second createtoken changed the token");

        let unknown_user = server.command(&["createtoken", "nobody"]);
        assert!(!unknown_user.status.success(), "{backend:?}");
        let stderr = String::from_utf8_lossy(&unknown_user.stderr);
        assert!(stderr.contains("nobody"), "{backend:?}: {stderr}");

        let client = server.client();
        for keyword in ["Token", "token", "TOKEN"] {
            let response = client.send(token_request(&client, Method::GET, WHOAMI, &format!("{keyword} {token}"))).await;
            assert_eq!(response.status, StatusCode::OK, "{backend:?} {keyword}: {}", response.body);
            assert_eq!(response.json()["username"], "alice", "{backend:?} {keyword}");
        }

        // A token request needs no CSRF token, and signing out leaves the token valid.
        let logout = client.send(token_request(&client, Method::POST, LOGOUT, &format!("Token {token}"))).await;
        assert_eq!(logout.status, StatusCode::OK, "{backend:?}: {}", logout.body);
        assert_eq!(logout.body, "", "{backend:?}");
        let still = client.send(token_request(&client, Method::GET, WHOAMI, &format!("Token {token}"))).await;
        assert_eq!(still.status, StatusCode::OK, "{backend:?}");

        let failures = [
            (WHOAMI, "Token".to_string(), r#"{"detail":"Invalid token header. No credentials provided."}"#),
            (WHOAMI, "Token a b".to_string(), r#"{"detail":"Invalid token header. Token string should not contain spaces."}"#),
            (WHOAMI, "Token 0000000000000000000000000000000000000000".to_string(), r#"{"detail":"Invalid token."}"#),
            ("/version/", "Token unknown-key".to_string(), r#"{"detail":"Invalid token."}"#),
            ("/version/", "Token".to_string(), r#"{"detail":"Invalid token header. No credentials provided."}"#),
        ];
        for (path, authorization, expected) in failures {
            let response = client.send(token_request(&client, Method::GET, path, &authorization)).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{backend:?} {path} {authorization:?}");
            assert_eq!(response.body, expected, "{backend:?} {path} {authorization:?}");
            assert_eq!(response.header("www-authenticate"), Some("Token"), "{backend:?} {path} {authorization:?}");
        }
        let login = client
            .send(
                token_request(&client, Method::POST, LOGIN, "Token unknown-key").json(&json!({"username": "alice", "password": PASSWORD})),
            )
            .await;
        assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{backend:?}: {}", login.body);
        assert_eq!(login.body, r#"{"detail":"Invalid token."}"#, "{backend:?}");

        // Other schemes are not token authentication: the request is anonymous.
        let bearer = client.send(token_request(&client, Method::GET, WHOAMI, &format!("Bearer {token}"))).await;
        assert_eq!(bearer.status, StatusCode::UNAUTHORIZED, "{backend:?}");
        assert_eq!(bearer.body, NOT_AUTHENTICATED, "{backend:?}");
        let version = client.send(token_request(&client, Method::GET, "/version/", &format!("Bearer {token}"))).await;
        assert_eq!(version.status, StatusCode::OK, "{backend:?}");

        server.execute_sql("UPDATE users_user SET is_active = FALSE WHERE username = 'alice'").await;
        let inactive = client.send(token_request(&client, Method::GET, WHOAMI, &format!("Token {token}"))).await;
        assert_eq!(inactive.status, StatusCode::UNAUTHORIZED, "{backend:?}");
        assert_eq!(inactive.body, r#"{"detail":"User inactive or deleted."}"#, "{backend:?}");
    }
}
