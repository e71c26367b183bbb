//! Sessions live in the database: other processes on the same database accept them, they
//! survive restarts, with a configured or a generated secret key, and they expire.

use keystone_blackbox::{Client, TestServer, BACKENDS, TEST_SECRET_KEY};
use reqwest::{Method, StatusCode};

const WHOAMI: &str = "/authentication/whoami/";
const LOGOUT: &str = "/authentication/logout/";
const PASSWORD: &str = "quiet-lantern-47";

async fn logout(client: &Client) -> StatusCode {
    let csrf = client.csrf.clone().expect("the client holds a CSRF cookie");
    client.send(client.request(Method::POST, LOGOUT).header("X-CSRFToken", csrf)).await.status
}

#[tokio::test]
async fn processes_share_sessions() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, false).await;
        let peer = server.start_peer(&[]).await;
        let stranger = server.start_peer(&[("SECURE_SECRET_KEY", "another-secret-key-that-is-long-enough-987")]).await;

        let mut client = server.client();
        client.login("alice", PASSWORD).await;
        let on_peer = client.with_base_url(peer.base_url());
        let whoami = on_peer.get(WHOAMI).await;
        assert_eq!(whoami.status, StatusCode::OK, "{backend:?}: the peer rejected the session: {}", whoami.body);
        assert_eq!(whoami.json()["username"], "alice", "{backend:?}");

        // A process with another secret key computes other session digests.
        let on_stranger = client.with_base_url(stranger.base_url());
        assert_eq!(on_stranger.get(WHOAMI).await.status, StatusCode::UNAUTHORIZED, "{backend:?}");

        assert_eq!(logout(&on_peer).await, StatusCode::OK, "{backend:?}");
        assert_eq!(client.get(WHOAMI).await.status, StatusCode::UNAUTHORIZED, "{backend:?}: signing out on the peer left the session");
    }
}

#[tokio::test]
async fn sessions_survive_restart() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, false).await;
        let mut client = server.client();
        client.login("alice", PASSWORD).await;

        server.restart().await;
        let client = client.with_base_url(server.base_url());
        let whoami = client.get(WHOAMI).await;
        assert_eq!(whoami.status, StatusCode::OK, "{backend:?}: {}", whoami.body);
        assert!(
            !server.data_dir.path().join("secret_key").exists(),
            "{backend:?}: a key file was written although SECURE_SECRET_KEY is set"
        );
    }
}

#[tokio::test]
async fn generated_secret_key_survives_restart() {
    for backend in BACKENDS {
        let mut server = TestServer::builder(backend).without_env("SECURE_SECRET_KEY").start().await;
        assert!(server.env().iter().all(|(name, _)| name != "SECURE_SECRET_KEY"), "{backend:?}");
        server.create_user("alice", PASSWORD, false).await;
        let mut client = server.client();
        client.login("alice", PASSWORD).await;

        let key_path = server.data_dir.path().join("secret_key");
        let key = std::fs::read_to_string(&key_path).expect("the generated key is stored in the data directory");
        assert!(key.trim().len() >= 32, "{backend:?}: generated key too short");
        assert_ne!(key.trim(), TEST_SECRET_KEY, "{backend:?}");

        server.restart().await;
        let client = client.with_base_url(server.base_url());
        let whoami = client.get(WHOAMI).await;
        assert_eq!(whoami.status, StatusCode::OK, "{backend:?}: the session did not survive the restart: {}", whoami.body);
        assert_eq!(std::fs::read_to_string(&key_path).expect("key file"), key, "{backend:?}: the key changed on restart");
    }
}

#[tokio::test]
async fn sessions_expire_after_session_age() {
    for backend in BACKENDS {
        let server = TestServer::builder(backend).env("SECURE_SESSION_AGE", "2").start().await;
        server.create_user("alice", PASSWORD, false).await;
        let mut client = server.client();
        let login = client.login("alice", PASSWORD).await;
        let session_cookie = login.set_cookies().into_iter().find(|cookie| cookie.starts_with("sessionid=")).expect("sessionid is set");
        assert!(session_cookie.contains("; Max-Age=2; "), "{backend:?}: {session_cookie}");
        assert_eq!(client.get(WHOAMI).await.status, StatusCode::OK, "{backend:?}");

        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let expired = client.get(WHOAMI).await;
        assert_eq!(expired.status, StatusCode::UNAUTHORIZED, "{backend:?}: the session outlived SECURE_SESSION_AGE");
    }
}
