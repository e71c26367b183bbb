//! Malformed input never crashes the server or leaves a partial write: after a burst of
//! garbage the server still responds, every response is a 4xx, and no table changed.

use std::time::Duration;

use keystone_blackbox::{Client, TestServer, BACKENDS};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use tokio::io::AsyncWriteExt;

const LOGIN: &str = "/authentication/login/";
const WHOAMI: &str = "/authentication/whoami/";
const PASSWORD: &str = "quiet-lantern-47";

const TABLES: [&str; 4] = ["users_user", "keystone_session", "authtoken_token", "auditlog_logentry"];

async fn table_counts(server: &TestServer) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push(server.query_count(&format!("SELECT COUNT(*) FROM {table}")).await);
    }
    counts
}

async fn assert_still_answers(server: &TestServer, context: &str) {
    let response = server.client().get("/version/").await;
    assert_eq!(response.status, StatusCode::OK, "{context}: /version/ failed after the request");
}

fn random_bytes(rng: &mut StdRng, length: usize) -> Vec<u8> {
    (0..length).map(|_| rng.gen()).collect()
}

#[tokio::test]
async fn garbage_requests_change_nothing() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, false).await;
        let output = server.command(&["createtoken", "alice"]);
        assert!(output.status.success(), "{backend:?}");
        let before = table_counts(&server).await;
        let client = server.client();
        let mut rng = StdRng::seed_from_u64(20_260_101);

        // Random bodies under every content type the login endpoint may see.
        let content_types = [
            Some("application/json"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=XyZ"),
            Some("multipart/form-data"),
            Some("application/octet-stream"),
            Some("application/json; charset=latin-1"),
            None,
        ];
        for content_type in content_types {
            for length in [1, 17, 4096, 65_536] {
                let body = random_bytes(&mut rng, length);
                let mut builder = client.request(Method::POST, LOGIN).body(body);
                if let Some(content_type) = content_type {
                    builder = builder.header("Content-Type", content_type);
                }
                let response = client.send(builder).await;
                let context = format!("{backend:?} {content_type:?} {length} random bytes");
                assert!(matches!(response.status.as_u16(), 400 | 415), "{context}: {} {}", response.status, response.body);
                assert_eq!(response.header("content-type"), Some("application/json"), "{context}");
            }
        }

        let no_type = client.send(client.request(Method::POST, LOGIN).body("username=alice")).await;
        assert_eq!(no_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{backend:?}");
        assert_eq!(no_type.body, r#"{"detail":"Unsupported media type \"\" in request."}"#, "{backend:?}");

        // Malformed and hostile JSON.
        let deep_nesting = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let bad_json: Vec<(&str, Vec<u8>)> = vec![
            ("deep nesting", deep_nesting.into_bytes()),
            ("invalid UTF-8 in a string", b"{\"username\": \"al\xffice\", \"password\": \"x\"}".to_vec()),
            ("lone surrogate", br#"{"username": "\ud800", "password": "x"}"#.to_vec()),
            ("huge number", format!("{{\"username\": {}, \"password\": \"x\"}}", "9".repeat(5000)).into_bytes()),
            ("NUL byte", b"{\"username\": \"al\0ice\"}".to_vec()),
            ("two documents", br#"{"username": "alice"} {"password": "x"}"#.to_vec()),
        ];
        for (case, body) in bad_json {
            let response = client.send(client.request(Method::POST, LOGIN).header("Content-Type", "application/json").body(body)).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{backend:?} {case}: {}", response.body);
            let detail = response.json()["detail"].as_str().unwrap_or_default().to_string();
            assert!(detail.starts_with("JSON parse error - "), "{backend:?} {case}: {}", response.body);
        }

        // NUL characters are rejected by the field, as the reference's CharField does, and
        // never reach the database (PostgreSQL rejects NUL in text).
        let nul_cases = [
            (serde_json::json!({"username": "al\u{0}ice", "password": PASSWORD}), r#"{"username":["Null characters are not allowed."]}"#),
            (serde_json::json!({"username": "alice", "password": "x\u{0}y"}), r#"{"password":["Null characters are not allowed."]}"#),
        ];
        for (body, expected) in nul_cases {
            let response = client.send(client.request(Method::POST, LOGIN).json(&body)).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{backend:?} {body}: {}", response.body);
            assert_eq!(response.body, expected, "{backend:?} {body}");
        }
        let form_nul = client.send(client.request(Method::POST, LOGIN).form(&[("username", "al\u{0}ice"), ("password", PASSWORD)])).await;
        assert_eq!(form_nul.status, StatusCode::BAD_REQUEST, "{backend:?}: {}", form_nul.body);
        assert_eq!(form_nul.body, r#"{"username":["Null characters are not allowed."]}"#, "{backend:?}");

        // Header garbage, sent raw so that no client library cleans it up.
        let raw_cases: Vec<(&str, Vec<u8>, u16, Option<&str>)> = vec![
            (
                "invalid UTF-8 token",
                b"GET /version/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token \xff\xfe\xfd\r\nConnection: close\r\n\r\n".to_vec(),
                401,
                Some(r#"{"detail":"Invalid token header. Token string should not contain invalid characters."}"#),
            ),
            (
                "invalid UTF-8 scheme",
                b"GET /version/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \xff\xfe abc\r\nConnection: close\r\n\r\n".to_vec(),
                200,
                None,
            ),
            (
                "invalid UTF-8 session cookie",
                b"GET /authentication/whoami/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid=\xff\xfe\r\nConnection: close\r\n\r\n"
                    .to_vec(),
                401,
                Some(r#"{"detail":"Authentication credentials were not provided."}"#),
            ),
            ("invalid UTF-8 host", b"GET /version/ HTTP/1.1\r\nHost: \xff\xfe\r\nConnection: close\r\n\r\n".to_vec(), 400, None),
            (
                "invalid UTF-8 correlation id",
                b"GET /version/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-KEYSTONE-CID: \xff\xfe\r\nConnection: close\r\n\r\n".to_vec(),
                200,
                None,
            ),
        ];
        for (case, request, status, body) in raw_cases {
            let response = server.raw(&request).await.unwrap_or_else(|| panic!("{backend:?} {case}: no response"));
            assert_eq!(response.status, status, "{backend:?} {case}: {}", response.text());
            if let Some(body) = body {
                assert_eq!(response.text(), body, "{backend:?} {case}");
            }
        }

        for cid in ["not-a-uuid", "", "12345678-1234-1234-1234-1234567890123", &"x".repeat(8000), "'; DROP TABLE users_user; --"] {
            let response = client.send(client.request(Method::GET, "/version/").header("X-KEYSTONE-CID", cid)).await;
            assert_eq!(response.status, StatusCode::OK, "{backend:?} CID {cid:.40}");
        }

        let forged_sessions = ["", "\"\"", "x", &"a".repeat(32), &"a".repeat(10_000), "a; sessionid=b", "' OR 1=1 --"];
        for forged in forged_sessions {
            let response = client.send(client.request(Method::GET, WHOAMI).header("Cookie", format!("sessionid={forged}"))).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{backend:?} sessionid {forged:.40}");
        }
        for token in ["' OR 1=1 --", &"a".repeat(10_000), "%00"] {
            let response = client.send(client.request(Method::GET, "/version/").header("Authorization", format!("Token {token}"))).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{backend:?} token {token:.40}");
        }

        // Oversized and excessive headers: hyper rejects them before Keystone receives them, or
        // drops the connection; either way the server keeps serving.
        let huge_header =
            format!("GET /version/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "a".repeat(1 << 20));
        let many_headers = format!(
            "GET /version/ HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Connection: close\r\n\r\n",
            (0..500).map(|index| format!("X-Header-{index}: {index}\r\n")).collect::<String>()
        );
        let long_path = format!("GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "a/".repeat(50_000));
        for (case, request) in [("1 MiB header", huge_header), ("500 headers", many_headers), ("100 kB path", long_path)] {
            if let Some(response) = server.raw(request.as_bytes()).await {
                assert!((400..500).contains(&response.status), "{backend:?} {case}: {}", response.status);
            }
            assert_still_answers(&server, &format!("{backend:?} {case}")).await;
        }

        // Bytes that are not HTTP at all, and requests cut off in the middle.
        for length in [1, 100, 10_000] {
            let garbage = random_bytes(&mut rng, length);
            if let Some(response) = server.raw(&garbage).await {
                assert!((400..500).contains(&response.status), "{backend:?} {length} random bytes: {}", response.status);
            }
        }
        let truncated = [
            &b"POST /authentication/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\": \"alice\", \"pass"[..],
            &b"POST /authentication/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n10\r\n{\"username\": \"a"[..],
            &b"GET /version/ HTTP/1.1\r\nHost: 127.0"[..],
        ];
        for request in truncated {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.expect("connect");
            stream.write_all(request).await.expect("write");
            stream.shutdown().await.expect("shutdown");
            drop(stream);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;

        // Every table is as it was, and a real sign-in still works.
        assert_still_answers(&server, &format!("{backend:?} after the burst")).await;
        assert_eq!(table_counts(&server).await, before, "{backend:?}: rows of {TABLES:?} changed");
        let mut alice = Client::new(server.base_url());
        alice.login("alice", PASSWORD).await;
        assert_eq!(alice.get(WHOAMI).await.status, StatusCode::OK, "{backend:?}");
    }
}

#[tokio::test]
async fn header_bytes_decode_like_reference() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, false).await;
        let mut client = server.client();
        client.login("alice", PASSWORD).await;
        let session = client.session.clone().expect("sessionid");
        let secret = client.csrf.clone().expect("csrftoken");

        // The reference reads header bytes as Latin-1, so 32 bytes of 0xff are 32 characters
        // that are not in the token alphabet.
        let mut request = format!(
            "POST {WHOAMI} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={session}; csrftoken={secret}\r\nContent-Length: 0\r\nConnection: close\r\nX-CSRFToken: "
        )
        .into_bytes();
        request.extend_from_slice(&[0xff; 32]);
        request.extend_from_slice(b"\r\n\r\n");
        let response = server.raw(&request).await.expect("a response");
        assert_eq!(response.status, 403, "{backend:?}: {}", response.text());
        assert_eq!(
            response.text(),
            r#"{"detail":"CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header has invalid characters."}"#,
            "{backend:?}"
        );

        // A foreign cookie with non-ASCII and invalid UTF-8 bytes does not hide the session.
        let mut request = format!("GET {WHOAMI} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: tracker=caf").into_bytes();
        request.extend_from_slice(&[0xc3, 0xa9, 0xff]);
        request.extend_from_slice(format!("; sessionid={session}\r\n\r\n").as_bytes());
        let response = server.raw(&request).await.expect("a response");
        assert_eq!(response.status, 200, "{backend:?}: {}", response.text());

        // A form field of 16 two-byte characters is 16 characters long, not 32.
        let field = "\u{e9}".repeat(16);
        let form = client.send(client.request(Method::POST, WHOAMI).form(&[("csrfmiddlewaretoken", field.as_str())])).await;
        assert_eq!(form.status, StatusCode::FORBIDDEN, "{backend:?}: {}", form.body);
        assert_eq!(form.body, r#"{"detail":"CSRF Failed: CSRF token from POST has incorrect length."}"#, "{backend:?}");
    }
}

/// A client that sends its headers and then stalls gets 408 once the body deadline passes,
/// instead of holding the connection and its buffered bytes forever.
#[tokio::test]
async fn stalled_body_times_out() {
    use tokio::io::AsyncReadExt;
    let server = TestServer::start(keystone_blackbox::Backend::Sqlite).await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.expect("connect");
    let head = b"POST /authentication/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\"";
    stream.write_all(head).await.expect("write");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        let mut buffer = [0u8; 4096];
        loop {
            let count = stream.read(&mut buffer).await.expect("read");
            answer.extend_from_slice(&buffer[..count]);
            if count == 0 || answer.windows(4).any(|window| window == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a stalled body within 60 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "answer to a stalled body: {text}");
    assert!(text.contains("did not arrive within 30 seconds"), "answer to a stalled body: {text}");
    assert!(started.elapsed() >= Duration::from_secs(25), "answered after {:?}, before the deadline", started.elapsed());
    assert_still_answers(&server, "after the stalled body").await;
}
