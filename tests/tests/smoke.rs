//! The server starts on each backend and a staff user can sign in.

use keystone_blackbox::{TestServer, BACKENDS};
use reqwest::StatusCode;

#[tokio::test]
async fn sign_in_on_each_backend() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;
        server.create_user("alice", "quiet-lantern-47", true).await;
        let mut client = server.client();
        let login = client.login("alice", "quiet-lantern-47").await;
        assert_eq!(login.json()["username"], "alice", "{backend:?}");
        let whoami = client.get("/authentication/whoami/").await;
        assert_eq!(whoami.status, StatusCode::OK, "{backend:?}");
        assert_eq!(whoami.json()["is_staff"], true, "{backend:?}");
    }
}
