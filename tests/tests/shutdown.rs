//! SIGTERM lets requests in flight finish, then the server exits with status 0.

use std::time::{Duration, Instant};

use keystone_blackbox::{TestServer, BACKENDS};
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "quiet-lantern-47";

/// Concurrent sign-ins; each spends about 0.3 s hashing, so together they outlast the signal.
const LOGINS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_requests_in_flight() {
    for backend in BACKENDS {
        let mut server = TestServer::start(backend).await;
        server.create_user("alice", PASSWORD, false).await;

        // An idle keep-alive connection must not hold the shutdown up.
        let idle = reqwest::Client::new();
        let version = idle.get(format!("{}/version/", server.base_url())).send().await.expect("version request");
        assert_eq!(version.status(), StatusCode::OK, "{backend:?}");

        let login_url = format!("{}/authentication/login/", server.base_url());
        let logins: Vec<_> = (0..LOGINS)
            .map(|_| {
                let url = login_url.clone();
                tokio::spawn(async move {
                    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client builds");
                    let response = client.post(url).json(&json!({"username": "alice", "password": PASSWORD})).send().await?;
                    let status = response.status();
                    let body = response.text().await?;
                    Ok::<_, reqwest::Error>((status, body, Instant::now()))
                })
            })
            .collect();
        // Give the requests time to reach the server, but not to finish hashing.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let signalled = Instant::now();
        server.signal_terminate();

        let mut finished_after_signal = 0;
        for (index, login) in logins.into_iter().enumerate() {
            let result =
                tokio::time::timeout(Duration::from_secs(30), login).await.expect("login did not finish within 30 s").expect("login task");
            let (status, body, finished) =
                result.unwrap_or_else(|error| panic!("{backend:?}: login {index} failed during shutdown: {error}"));
            assert_eq!(status, StatusCode::OK, "{backend:?}: login {index}: {body}");
            assert!(body.contains("\"username\":\"alice\""), "{backend:?}: login {index}: {body}");
            if finished > signalled {
                finished_after_signal += 1;
            }
        }
        // Otherwise the signal came too late and the test proved nothing.
        assert!(finished_after_signal > 0, "{backend:?}: every login finished before SIGTERM was sent");

        let exit = server.wait_for_exit(Duration::from_secs(20)).await;
        let status = exit.unwrap_or_else(|| panic!("{backend:?}: the server did not exit within 20 s of SIGTERM; log: {}", server.log()));
        assert!(status.success(), "{backend:?}: exit status {status}; log: {}", server.log());
        assert!(signalled.elapsed() < Duration::from_secs(20), "{backend:?}");

        let sessions = server.query_count("SELECT COUNT(*) FROM keystone_session").await;
        assert_eq!(sessions, LOGINS as i64, "{backend:?}: every finished sign-in stored its session");
        let connection = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await;
        assert!(connection.is_err(), "{backend:?}: the port still accepts connections after exit");
        drop(idle);
    }
}
