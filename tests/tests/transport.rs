//! The HTTP surface around the API: `/`, `/version/`, `/config/`, unknown paths, content
//! negotiation, the `Host` check, security headers, CORS and the body size limit.

use keystone_blackbox::{Client, RawResponse, Response, TestServer, BACKENDS};
use reqwest::{Method, StatusCode};
use serde_json::json;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const PASSWORD: &str = "quiet-lantern-47";
const NOT_AUTHENTICATED: &str = r#"{"detail":"Authentication credentials were not provided."}"#;

const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("vary", "Cookie, origin"),
];

const ALLOWED_FILE_TYPES: [&str; 22] = [
    "application/pdf",
    "application/rtf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
    "application/x-latex",
    "application/x-tex",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "text/plain",
    "text/markdown",
    "text/richtext",
    "text/csv",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/svg+xml",
    "image/tiff",
    "image/bmp",
];

fn assert_security_headers(response: &Response, context: &str) {
    for (name, value) in SECURITY_HEADERS {
        let values: Vec<&str> = response.headers.get_all(name).iter().filter_map(|value| value.to_str().ok()).collect();
        assert_eq!(values, [value], "{context}: header {name}");
    }
}

fn assert_raw_security_headers(response: &RawResponse, context: &str) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(response.header(name), Some(value), "{context}: header {name}");
    }
}

fn get_with(client: &Client, path: &str, name: &str, value: &str) -> reqwest::RequestBuilder {
    client.request(Method::GET, path).header(name, value)
}

#[tokio::test]
async fn root_version_config_and_unknown_paths() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, false).await;
        let anonymous = server.client();

        let root = anonymous.get("/").await;
        assert_eq!(root.status, StatusCode::OK, "{backend:?}");
        assert_eq!(root.header("content-type"), Some("text/html; charset=utf-8"), "{backend:?}");
        assert_eq!(root.body, format!("Keystone API Version {VERSION}"), "{backend:?}");
        assert_security_headers(&root, "GET /");

        let version = anonymous.get("/version/").await;
        assert_eq!(version.status, StatusCode::OK, "{backend:?}");
        assert_eq!(version.header("content-type"), Some("text/plain"), "{backend:?}");
        assert_eq!(version.body, VERSION, "{backend:?}");
        assert_eq!(version.header("allow"), Some("GET, HEAD, OPTIONS"), "{backend:?}");
        assert_security_headers(&version, "GET /version/");

        let config = anonymous.get("/config/").await;
        assert_eq!(config.status, StatusCode::UNAUTHORIZED, "{backend:?}");
        assert_eq!(config.body, NOT_AUTHENTICATED, "{backend:?}");
        assert_eq!(config.header("www-authenticate"), Some("Token"), "{backend:?}");
        assert_security_headers(&config, "anonymous GET /config/");

        let mut client = server.client();
        client.login("alice", PASSWORD).await;
        let config = client.get("/config/").await;
        assert_eq!(config.status, StatusCode::OK, "{backend:?}: {}", config.body);
        let expected = json!({
            "version": VERSION,
            "max_upload_size": 2_621_440,
            "max_upload_count": 15,
            "allowed_file_types": ALLOWED_FILE_TYPES,
            "session_age": 1_209_600,
        });
        assert_eq!(config.body, expected.to_string(), "{backend:?}");

        let unknown = client.get("/no/such/path/").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{backend:?}");
        assert_eq!(unknown.header("content-type"), Some("text/html; charset=utf-8"), "{backend:?}");
        assert!(unknown.body.contains("<title>Not Found</title>"), "{backend:?}: {}", unknown.body);
        assert_security_headers(&unknown, "unknown path");

        for (path, location) in
            [("/config", "/config/"), ("/config?page=2", "/config/?page=2"), ("/authentication/whoami", "/authentication/whoami/")]
        {
            let redirect = anonymous.get(path).await;
            assert_eq!(redirect.status, StatusCode::MOVED_PERMANENTLY, "{backend:?} {path}");
            assert_eq!(redirect.header("location"), Some(location), "{backend:?} {path}");
            assert_eq!(redirect.body, "", "{backend:?} {path}");
            assert_eq!(redirect.header("content-type"), Some("text/html; charset=utf-8"), "{backend:?} {path}");
        }

        let not_acceptable = anonymous.send(get_with(&anonymous, "/version/", "Accept", "text/html")).await;
        assert_eq!(not_acceptable.status, StatusCode::NOT_ACCEPTABLE, "{backend:?}");
        assert_eq!(not_acceptable.body, r#"{"detail":"Could not satisfy the request Accept header."}"#, "{backend:?}");
        assert_eq!(not_acceptable.header("content-type"), Some("application/json"), "{backend:?}");
        assert_security_headers(&not_acceptable, "406");
        for accept in ["application/json", "*/*", "text/html, application/json;q=0.9", "application/*"] {
            let accepted = anonymous.send(get_with(&anonymous, "/version/", "Accept", accept)).await;
            assert_eq!(accepted.status, StatusCode::OK, "{backend:?} Accept: {accept}");
        }

        let xml = client.get("/config/?format=xml").await;
        assert_eq!(xml.status, StatusCode::NOT_FOUND, "{backend:?}");
        assert_eq!(xml.body, r#"{"detail":"Not found."}"#, "{backend:?}");
        let json_format = client.get("/config/?format=json").await;
        assert_eq!(json_format.status, StatusCode::OK, "{backend:?}");

        let post_version = anonymous.send(anonymous.request(Method::POST, "/version/")).await;
        assert_eq!(post_version.status, StatusCode::METHOD_NOT_ALLOWED, "{backend:?}");
        assert_eq!(post_version.body, r#"{"detail":"Method \"POST\" not allowed."}"#, "{backend:?}");
        assert_security_headers(&post_version, "405");
    }
}

#[tokio::test]
async fn host_header_is_checked() {
    for backend in BACKENDS {
        let server = TestServer::builder(backend).env("SECURE_ALLOWED_HOSTS", "127.0.0.1,.example.edu").start().await;
        let cases = [
            ("evil.example", 400),
            ("localhost", 400),
            ("example.edu.evil.example", 400),
            ("127.0.0.1", 200),
            ("127.0.0.1:8000", 200),
            ("example.edu", 200),
            ("api.example.edu", 200),
            ("API.Example.EDU:443", 200),
        ];
        for (host, status) in cases {
            let request = format!("GET /version/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            let response = server.raw(request.as_bytes()).await.unwrap_or_else(|| panic!("{backend:?} Host {host}: no response"));
            assert_eq!(response.status, status, "{backend:?} Host {host}: {}", response.text());
            assert_raw_security_headers(&response, &format!("Host {host}"));
            if status == 400 {
                assert_eq!(response.header("content-type"), Some("text/html; charset=utf-8"), "{backend:?} Host {host}");
                assert!(response.text().contains("Bad Request (400)"), "{backend:?} Host {host}: {}", response.text());
            } else {
                assert_eq!(response.text(), VERSION, "{backend:?} Host {host}");
            }
        }
    }
}

#[tokio::test]
async fn cors_for_trusted_origins() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        let client = server.client();

        let trusted = client.send(get_with(&client, "/version/", "Origin", "http://localhost:4200")).await;
        assert_eq!(trusted.status, StatusCode::OK, "{backend:?}");
        assert_eq!(trusted.header("access-control-allow-origin"), Some("http://localhost:4200"), "{backend:?}");
        assert_eq!(trusted.header("access-control-allow-credentials"), Some("true"), "{backend:?}");

        // Error responses carry the CORS headers too, so a browser can read them.
        let unauthorized = client.send(get_with(&client, "/config/", "Origin", "http://127.0.0.1:4200")).await;
        assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED, "{backend:?}");
        assert_eq!(unauthorized.header("access-control-allow-origin"), Some("http://127.0.0.1:4200"), "{backend:?}");

        for origin in ["http://evil.example", "http://localhost:4201", "https://localhost:4200", "null"] {
            let untrusted = client.send(get_with(&client, "/version/", "Origin", origin)).await;
            assert_eq!(untrusted.status, StatusCode::OK, "{backend:?} {origin}");
            assert_eq!(untrusted.header("access-control-allow-origin"), None, "{backend:?} {origin}");
            assert_eq!(untrusted.header("access-control-allow-credentials"), None, "{backend:?} {origin}");
        }

        // Preflights are handled before routing and authentication, even with a bad token.
        for path in ["/authentication/whoami/", "/config/", "/authentication/logout/", "/no/such/path/"] {
            let preflight = client
                .send(
                    client
                        .request(Method::OPTIONS, path)
                        .header("Origin", "http://localhost:4200")
                        .header("Access-Control-Request-Method", "POST")
                        .header("Access-Control-Request-Headers", "x-csrftoken, content-type")
                        .header("Authorization", "Token unknown-key"),
                )
                .await;
            assert_eq!(preflight.status, StatusCode::OK, "{backend:?} {path}: {}", preflight.body);
            assert_eq!(preflight.body, "", "{backend:?} {path}");
            assert_eq!(preflight.header("access-control-allow-origin"), Some("http://localhost:4200"), "{backend:?} {path}");
            assert_eq!(preflight.header("access-control-allow-credentials"), Some("true"), "{backend:?} {path}");
            let allowed_headers = preflight.header("access-control-allow-headers").unwrap_or_default().to_string();
            let allowed_headers: Vec<&str> = allowed_headers.split(',').map(str::trim).collect();
            for header in ["x-csrftoken", "x-keystone-cid", "content-type", "authorization"] {
                assert!(allowed_headers.contains(&header), "{backend:?} {path}: {header} missing from {allowed_headers:?}");
            }
            let allowed_methods = preflight.header("access-control-allow-methods").unwrap_or_default().to_string();
            assert!(allowed_methods.split(", ").any(|method| method == "POST"), "{backend:?} {path}: {allowed_methods}");
            assert_eq!(preflight.header("www-authenticate"), None, "{backend:?} {path}");
            assert_security_headers(&preflight, "preflight");
        }

        let untrusted_preflight = client
            .send(
                client
                    .request(Method::OPTIONS, "/authentication/whoami/")
                    .header("Origin", "http://evil.example")
                    .header("Access-Control-Request-Method", "POST"),
            )
            .await;
        assert_eq!(untrusted_preflight.status, StatusCode::OK, "{backend:?}");
        assert_eq!(untrusted_preflight.body, "", "{backend:?}");
        assert_eq!(untrusted_preflight.header("access-control-allow-origin"), None, "{backend:?}");
        assert_eq!(untrusted_preflight.header("access-control-allow-headers"), None, "{backend:?}");

        // A plain OPTIONS (no Access-Control-Request-Method) is an API request and needs sign-in.
        let plain_options = client.send(client.request(Method::OPTIONS, "/config/")).await;
        assert_eq!(plain_options.status, StatusCode::UNAUTHORIZED, "{backend:?}");
    }
}

#[tokio::test]
async fn upload_limits_follow_settings() {
    for backend in BACKENDS {
        let server = TestServer::builder(backend)
            .env("CONFIG_UPLOAD_SIZE", "1000")
            .env("CONFIG_UPLOAD_COUNT", "2")
            .env("SECURE_SESSION_AGE", "600")
            .start()
            .await;
        server.create_user("alice", PASSWORD, false).await;
        let mut client = server.client();
        client.login("alice", PASSWORD).await;

        let config = client.get("/config/").await;
        assert_eq!(config.status, StatusCode::OK, "{backend:?}");
        let body = config.json();
        assert_eq!(body["max_upload_size"], 1000, "{backend:?}");
        assert_eq!(body["max_upload_count"], 2, "{backend:?}");
        assert_eq!(body["session_age"], 600, "{backend:?}");
        assert_eq!(body["allowed_file_types"], json!(ALLOWED_FILE_TYPES), "{backend:?}");

        // The limit is 1000 * 2 + 1 MiB bytes. A JSON object of exactly that size is parsed;
        // one byte more is rejected before parsing.
        let limit = 1000 * 2 + (1 << 20);
        let padded = |size: usize| {
            let prefix = r#"{"username":"alice","pad":""#;
            let suffix = r#""}"#;
            format!("{prefix}{}{suffix}", "a".repeat(size - prefix.len() - suffix.len()))
        };
        let anonymous = server.client();
        let at_limit = anonymous
            .send(anonymous.request(Method::POST, "/authentication/login/").header("Content-Type", "application/json").body(padded(limit)))
            .await;
        assert_eq!(at_limit.status, StatusCode::BAD_REQUEST, "{backend:?}: {}", at_limit.body);
        assert_eq!(at_limit.body, r#"{"password":["This field is required."]}"#, "{backend:?}");

        let request = format!(
            "POST /authentication/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            limit + 1,
            padded(limit + 1)
        );
        let too_large = server.raw(request.as_bytes()).await.expect("the server responds to an oversized body");
        assert_eq!(too_large.status, 413, "{backend:?}: {}", too_large.text());
        assert_eq!(too_large.header("content-type"), Some("application/json"), "{backend:?}");
        let detail: serde_json::Value = serde_json::from_slice(&too_large.body).expect("413 body is JSON");
        assert!(detail["detail"].is_string(), "{backend:?}: {detail}");
        assert_raw_security_headers(&too_large, "413");

        let version = client.get("/version/").await;
        assert_eq!(version.status, StatusCode::OK, "{backend:?}: the server stopped answering after a 413");
    }
}
