//! Throttling with the reference's 429 body and `Retry-After`, counted across every node of a
//! cluster through Redis; and the HTTPS redirect and HSTS settings.

use keystone_blackbox::{Backend, TestServer};
use reqwest::StatusCode;

#[tokio::test]
async fn anonymous_burst_is_throttled_with_retry_after() {
    let server = TestServer::builder(Backend::Sqlite).env("API_THROTTLE_ANON", "5/min").start().await;
    let client = server.client();
    for attempt in 0..5 {
        assert_eq!(client.get("/version/").await.status, StatusCode::OK, "request {attempt}");
    }
    let limited = client.get("/version/").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.header("retry-after").expect("Retry-After header").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let unit = if wait == 1 { "second" } else { "seconds" };
    assert_eq!(limited.json()["detail"], format!("Request was throttled. Expected available in {wait} {unit}."));
    // Requests that fail authentication are rejected before throttling and not counted.
    let bad_token = client.send(client.request(reqwest::Method::GET, "/version/").header("Authorization", "Token nope")).await;
    assert_eq!(bad_token.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn limit_is_shared_by_cluster_nodes() {
    let prefix = format!("kstest:{}:", uuid::Uuid::new_v4().simple());
    let server = TestServer::builder(Backend::Postgres)
        .env("CLUSTER_ENABLE", "true")
        .env("REDIS_KEY_PREFIX", &prefix)
        .env("API_THROTTLE_ANON", "10/min")
        .start()
        .await;
    let peer = server.start_peer(&[]).await;
    let first = server.client();
    let second = first.with_base_url(peer.base_url());

    let mut allowed = 0;
    let mut throttled = 0;
    for index in 0..20 {
        let client = if index % 2 == 0 { &first } else { &second };
        match client.get("/version/").await.status {
            StatusCode::OK => allowed += 1,
            StatusCode::TOO_MANY_REQUESTS => throttled += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(allowed, 10, "two nodes must share one limit of 10 per minute");
    assert_eq!(throttled, 10);
    clean_redis_prefix(&prefix);
}

#[tokio::test]
async fn ssl_redirect_and_hsts() {
    let server = TestServer::builder(Backend::Sqlite)
        .env("SECURE_SSL_REDIRECT", "true")
        .env("SECURE_HSTS_SECONDS", "3600")
        .env("SECURE_HSTS_SUBDOMAINS", "true")
        .env("SECURE_HSTS_PRELOAD", "true")
        .start()
        .await;
    let client = server.client();
    let plain = client.get("/version/?a=1").await;
    assert_eq!(plain.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(plain.header("location"), Some(format!("https://127.0.0.1:{}/version/?a=1", server.port).as_str()));
    assert_eq!(plain.header("strict-transport-security"), None);

    let proxied = client.send(client.request(reqwest::Method::GET, "/version/").header("X-Forwarded-Proto", "https")).await;
    assert_eq!(proxied.status, StatusCode::OK);
    assert_eq!(proxied.header("strict-transport-security"), Some("max-age=3600; includeSubDomains; preload"));
}

/// Deletes the keys a test wrote to the shared Redis.
fn clean_redis_prefix(prefix: &str) {
    let script =
        format!("for k in $(redis-cli -h 127.0.0.1 --scan --pattern '{prefix}*'); do redis-cli -h 127.0.0.1 del \"$k\" >/dev/null; done");
    let _ = std::process::Command::new("sh").arg("-c").arg(script).status();
}
