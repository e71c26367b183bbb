//! The CSRF check on unsafe requests authenticated by the session cookie.
//!
//! `POST /authentication/whoami/` is the probe: the CSRF check runs before the method check,
//! so a request that fails it gets 403 and one that passes gets 405, and nothing changes.

use keystone_blackbox::{mask_csrf_secret, Client, Response, TestServer, BACKENDS, CSRF_ALPHABET};
use reqwest::{Method, StatusCode};
use serde_json::json;

const LOGIN: &str = "/authentication/login/";
const LOGOUT: &str = "/authentication/logout/";
const WHOAMI: &str = "/authentication/whoami/";
const PASSWORD: &str = "quiet-lantern-47";

const PASSED: &str = r#"{"detail":"Method \"POST\" not allowed."}"#;

fn csrf_failure(reason: &str) -> String {
    format!(r#"{{"detail":"CSRF Failed: {reason}"}}"#)
}

/// Returns a 32-character alphanumeric string different from `secret`.
fn other_secret(secret: &str) -> String {
    let rotated: String = secret.chars().rev().collect();
    if rotated != secret {
        rotated
    } else {
        "a".repeat(32)
    }
}

/// Builds a mask from the alphabet, different for each `seed`.
fn mask(seed: usize) -> String {
    (0..32).map(|index| CSRF_ALPHABET[(index * 7 + seed) % CSRF_ALPHABET.len()] as char).collect()
}

/// One probe request: which cookies it carries and which CSRF header and `Origin` it sends.
struct Probe {
    name: &'static str,
    session: bool,
    csrf_cookie: Option<String>,
    header: Option<String>,
    origin: Option<String>,
}

async fn send_probe(client: &Client, session: &str, probe: &Probe) -> Response {
    let mut cookies = Vec::new();
    if probe.session {
        cookies.push(format!("sessionid={session}"));
    }
    if let Some(csrf) = &probe.csrf_cookie {
        cookies.push(format!("csrftoken={csrf}"));
    }
    let mut builder = client.request(Method::POST, WHOAMI).json(&json!({}));
    if !cookies.is_empty() {
        builder = builder.header("Cookie", cookies.join("; "));
    }
    if let Some(header) = &probe.header {
        builder = builder.header("X-CSRFToken", header);
    }
    if let Some(origin) = &probe.origin {
        builder = builder.header("Origin", origin);
    }
    client.send(builder).await
}

#[tokio::test]
async fn session_requests_need_csrf_token() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, false).await;
        let mut signed_in = server.client();
        signed_in.login("alice", PASSWORD).await;
        let session = signed_in.session.clone().expect("sessionid was set");
        let secret = signed_in.csrf.clone().expect("csrftoken was set");
        let own_origin = server.base_url();
        // The probes send no credentials of their own; cookies are set per probe.
        let client = server.client();

        let probe = |name, session, csrf_cookie: Option<&str>, header: Option<&str>, origin: Option<&str>| Probe {
            name,
            session,
            csrf_cookie: csrf_cookie.map(str::to_string),
            header: header.map(str::to_string),
            origin: origin.map(str::to_string),
        };
        let wrong = other_secret(&secret);
        let masked = mask_csrf_secret(&secret, &mask(3));
        let masked_wrong = mask_csrf_secret(&wrong, &mask(5));
        // Django also accepts a cookie that contains the masked form.
        let masked_cookie = mask_csrf_secret(&secret, &mask(11));
        let invalid_characters = format!("{}!", &secret[..31]);
        let cases: Vec<(Probe, StatusCode, String)> = vec![
            (probe("plain secret", true, Some(&secret), Some(&secret), None), StatusCode::METHOD_NOT_ALLOWED, PASSED.to_string()),
            (probe("masked secret", true, Some(&secret), Some(&masked), None), StatusCode::METHOD_NOT_ALLOWED, PASSED.to_string()),
            (probe("masked cookie", true, Some(&masked_cookie), Some(&secret), None), StatusCode::METHOD_NOT_ALLOWED, PASSED.to_string()),
            (probe("no header", true, Some(&secret), None, None), StatusCode::FORBIDDEN, csrf_failure("CSRF token missing.")),
            (probe("no cookie", true, None, Some(&secret), None), StatusCode::FORBIDDEN, csrf_failure("CSRF cookie not set.")),
            (
                probe("wrong token", true, Some(&secret), Some(&wrong), None),
                StatusCode::FORBIDDEN,
                csrf_failure("CSRF token from the 'X-Csrftoken' HTTP header incorrect."),
            ),
            (
                probe("masked wrong token", true, Some(&secret), Some(&masked_wrong), None),
                StatusCode::FORBIDDEN,
                csrf_failure("CSRF token from the 'X-Csrftoken' HTTP header incorrect."),
            ),
            (
                probe("short token", true, Some(&secret), Some("abc123"), None),
                StatusCode::FORBIDDEN,
                csrf_failure("CSRF token from the 'X-Csrftoken' HTTP header has incorrect length."),
            ),
            (
                probe("33-character token", true, Some(&secret), Some(&format!("{secret}x")), None),
                StatusCode::FORBIDDEN,
                csrf_failure("CSRF token from the 'X-Csrftoken' HTTP header has incorrect length."),
            ),
            (
                probe("invalid characters", true, Some(&secret), Some(&invalid_characters), None),
                StatusCode::FORBIDDEN,
                csrf_failure("CSRF token from the 'X-Csrftoken' HTTP header has invalid characters."),
            ),
            (
                probe("short cookie", true, Some("abc"), Some(&secret), None),
                StatusCode::FORBIDDEN,
                csrf_failure("CSRF cookie has incorrect length."),
            ),
            (
                probe("untrusted origin", true, Some(&secret), Some(&secret), Some("http://evil.example")),
                StatusCode::FORBIDDEN,
                csrf_failure("Origin checking failed - http://evil.example does not match any trusted origins."),
            ),
            (
                probe("untrusted origin without token", true, None, None, Some("http://evil.example")),
                StatusCode::FORBIDDEN,
                csrf_failure("Origin checking failed - http://evil.example does not match any trusted origins."),
            ),
            (
                probe("own origin on another port", true, Some(&secret), Some(&secret), Some("http://127.0.0.1:1")),
                StatusCode::FORBIDDEN,
                csrf_failure("Origin checking failed - http://127.0.0.1:1 does not match any trusted origins."),
            ),
            (
                probe("own origin", true, Some(&secret), Some(&secret), Some(&own_origin)),
                StatusCode::METHOD_NOT_ALLOWED,
                PASSED.to_string(),
            ),
            (
                probe("trusted origin", true, Some(&secret), Some(&secret), Some("http://localhost:4200")),
                StatusCode::METHOD_NOT_ALLOWED,
                PASSED.to_string(),
            ),
            (
                probe("anonymous without token", false, None, None, Some("http://evil.example")),
                StatusCode::UNAUTHORIZED,
                r#"{"detail":"Authentication credentials were not provided."}"#.to_string(),
            ),
            (
                probe("unknown session without token", false, Some(&secret), None, None),
                StatusCode::UNAUTHORIZED,
                r#"{"detail":"Authentication credentials were not provided."}"#.to_string(),
            ),
        ];

        for (probe, status, expected) in &cases {
            let response = send_probe(&client, &session, probe).await;
            assert_eq!(response.status, *status, "{backend:?} {}: {}", probe.name, response.body);
            assert_eq!(&response.body, expected, "{backend:?} {}", probe.name);
        }

        // The session survived every probe.
        let whoami = signed_in.get(WHOAMI).await;
        assert_eq!(whoami.status, StatusCode::OK, "{backend:?}");
    }
}

#[tokio::test]
async fn csrf_exemptions_and_form_tokens() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, false).await;
        let output = server.command(&["createtoken", "alice"]);
        assert!(output.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&output.stderr));
        let token = String::from_utf8_lossy(&output.stdout).trim().to_string();

        let mut client = server.client();
        client.login("alice", PASSWORD).await;
        let secret = client.csrf.clone().expect("csrftoken was set");

        // Token authentication is never CSRF-checked, even with a session cookie present.
        let with_token = client
            .send(
                client
                    .request(Method::POST, WHOAMI)
                    .header("Authorization", format!("Token {token}"))
                    .header("Origin", "http://evil.example"),
            )
            .await;
        assert_eq!(with_token.status, StatusCode::METHOD_NOT_ALLOWED, "{backend:?}: {}", with_token.body);

        // Signing in again while holding a session needs the CSRF token like any session request.
        let relogin = client.send(client.request(Method::POST, LOGIN).json(&json!({"username": "alice", "password": PASSWORD}))).await;
        assert_eq!(relogin.status, StatusCode::FORBIDDEN, "{backend:?}: {}", relogin.body);
        assert_eq!(relogin.body, csrf_failure("CSRF token missing."), "{backend:?}");
        assert!(relogin.set_cookies().is_empty(), "{backend:?}");

        let logout_without_token = client.send(client.request(Method::POST, LOGOUT)).await;
        assert_eq!(logout_without_token.status, StatusCode::FORBIDDEN, "{backend:?}");
        assert_eq!(logout_without_token.body, csrf_failure("CSRF token missing."), "{backend:?}");

        // Form bodies may carry the token in `csrfmiddlewaretoken`.
        let wrong_form =
            client.send(client.request(Method::POST, WHOAMI).form(&[("csrfmiddlewaretoken", other_secret(&secret).as_str())])).await;
        assert_eq!(wrong_form.status, StatusCode::FORBIDDEN, "{backend:?}: {}", wrong_form.body);
        assert_eq!(wrong_form.body, csrf_failure("CSRF token from POST incorrect."), "{backend:?}");
        let masked_form = mask_csrf_secret(&secret, &mask(17));
        let form_probe = client.send(client.request(Method::POST, WHOAMI).form(&[("csrfmiddlewaretoken", masked_form.as_str())])).await;
        assert_eq!(form_probe.status, StatusCode::METHOD_NOT_ALLOWED, "{backend:?}: {}", form_probe.body);
        let multipart = reqwest::multipart::Form::new().text("csrfmiddlewaretoken", secret.clone());
        let multipart_probe = client.send(client.request(Method::POST, WHOAMI).multipart(multipart)).await;
        assert_eq!(multipart_probe.status, StatusCode::METHOD_NOT_ALLOWED, "{backend:?}: {}", multipart_probe.body);

        let form_login = client
            .send(client.request(Method::POST, LOGIN).form(&[
                ("username", "alice"),
                ("password", PASSWORD),
                ("csrfmiddlewaretoken", secret.as_str()),
            ]))
            .await;
        assert_eq!(form_login.status, StatusCode::OK, "{backend:?}: {}", form_login.body);
        let old_session = client.session.clone();
        client.store_cookies(&form_login);
        assert_ne!(client.session, old_session, "{backend:?}: signing in again kept the session key");
        let old = server.client();
        let old_whoami =
            old.send(old.request(Method::GET, WHOAMI).header("Cookie", format!("sessionid={}", old_session.unwrap_or_default()))).await;
        assert_eq!(old_whoami.status, StatusCode::UNAUTHORIZED, "{backend:?}: the replaced session still works");

        let new_secret = client.csrf.clone().expect("csrftoken was set again");
        let form_logout = client.send(client.request(Method::POST, LOGOUT).form(&[("csrfmiddlewaretoken", new_secret.as_str())])).await;
        assert_eq!(form_logout.status, StatusCode::OK, "{backend:?}: {}", form_logout.body);
        let whoami = client.get(WHOAMI).await;
        assert_eq!(whoami.status, StatusCode::UNAUTHORIZED, "{backend:?}");
    }
}
