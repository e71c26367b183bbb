//! Health checks, their cache, and the Prometheus output checked with `promtool`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keystone_blackbox::{free_port, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

/// A real SMTP server (aiosmtpd from Debian's packages) on a free port, stopped on drop.
struct SmtpServer {
    child: Child,
    port: u16,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let port = free_port();
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd must be installed (scripts/services.sh installs python3-aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer { child, port }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn check<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["data"].as_array().unwrap().iter().find(|item| item["check"] == name).unwrap_or_else(|| panic!("no {name} check in {body}"))
}

#[tokio::test]
async fn healthy_with_real_smtp_server() {
    let smtp = SmtpServer::start();
    let server =
        TestServer::builder(Backend::Postgres).env("EMAIL_HOST", "127.0.0.1").env("EMAIL_PORT", &smtp.port.to_string()).start().await;
    let client = server.client();

    let json = client.get("/health/json/").await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert!(
        json.body.starts_with("{\"data\": [{\"check\": \"SMTP\", \"healthy\": true, \"error\": null, \"time_taken\": "),
        "{}",
        json.body
    );
    let body = json.json();
    let names: Vec<&str> = body["data"].as_array().unwrap().iter().map(|item| item["check"].as_str().unwrap()).collect();
    assert_eq!(names, ["SMTP", "Database", "Storage", "Celery"]);
    assert!(body["data"].as_array().unwrap().iter().all(|item| item["healthy"] == true), "{body}");

    let summary = client.get("/health/").await;
    assert_eq!(summary.status, StatusCode::OK);
    assert!(summary.body.is_empty());
}

#[tokio::test]
async fn unreachable_smtp_is_unhealthy() {
    let closed = free_port();
    let server = TestServer::builder(Backend::Sqlite).env("EMAIL_HOST", "127.0.0.1").env("EMAIL_PORT", &closed.to_string()).start().await;
    let client = server.client();
    let body = client.get("/health/json/").await.json();
    assert_eq!(check(&body, "SMTP")["healthy"], false);
    assert_eq!(check(&body, "SMTP")["error"], "Unavailable: Connection refused error");
    assert_eq!(check(&body, "Database")["healthy"], true);
    assert_eq!(client.get("/health/").await.status, StatusCode::INTERNAL_SERVER_ERROR);

    let prom = client.get("/health/prom/").await;
    assert_eq!(prom.status, StatusCode::OK);
    assert!(prom.body.contains("keystone_health_check_status{check=\"SMTP\"} 500.0\n"), "{}", prom.body);
    assert!(prom.body.contains("keystone_health_check_status{check=\"Database\"} 200.0\n"), "{}", prom.body);
    promtool_accepts(&prom.body);
}

#[tokio::test]
async fn cache_runs_checks_once_for_concurrent_callers() {
    let mail = tempfile::tempdir().unwrap();
    let server = TestServer::builder(Backend::Sqlite).env("EMAIL_DEBUG_DIR", &mail.path().display().to_string()).start().await;
    let base = server.base_url();
    let http = reqwest::Client::new();
    let calls = (0..100).map(|_| {
        let http = http.clone();
        let url = format!("{base}/health/json/");
        async move { http.get(url).send().await.map(|response| response.status()) }
    });
    let statuses = futures::future::join_all(calls).await;
    assert!(statuses.iter().all(|status| matches!(status, Ok(StatusCode::OK))), "{statuses:?}");

    let metrics = server.client().get("/metrics/").await;
    assert_eq!(metrics.status, StatusCode::OK);
    let evaluations = metrics
        .body
        .lines()
        .find(|line| line.starts_with("keystone_health_evaluations_total"))
        .unwrap_or_else(|| panic!("no evaluation counter in {}", metrics.body));
    assert_eq!(evaluations.split_whitespace().last(), Some("1"), "{evaluations}");
}

#[tokio::test]
async fn metrics_pass_promtool() {
    let server = TestServer::start(Backend::Postgres).await;
    let client = server.client();
    for path in ["/version/", "/users/users/", "/nope/"] {
        client.get(path).await;
    }
    let metrics = client.get("/metrics/").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics.body.contains("keystone_http_requests_total{route=\"/users/users/\",method=\"GET\",status=\"401\"} 1"),
        "{}",
        metrics.body
    );
    assert!(
        metrics.body.contains("keystone_http_request_duration_seconds_bucket{route=\"/version/\",method=\"GET\",le=\"0.005\"}"),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains("keystone_db_pool_connections{state=\"idle\"}"), "{}", metrics.body);
    promtool_accepts(&metrics.body);
}

fn promtool_accepts(text: &str) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (scripts/services.sh installs prometheus)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool rejected the metrics: {}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn cluster_nodes_share_one_evaluation() {
    let mail = tempfile::tempdir().unwrap();
    let prefix = format!("kstest:{}:", uuid::Uuid::new_v4().simple());
    let server = TestServer::builder(Backend::Postgres)
        .env("CLUSTER_ENABLE", "true")
        .env("REDIS_KEY_PREFIX", &prefix)
        .env("EMAIL_DEBUG_DIR", &mail.path().display().to_string())
        .start()
        .await;
    let peer = server.start_peer(&[]).await;
    let bases = [server.base_url(), peer.base_url()];
    let http = reqwest::Client::new();
    let calls = (0..100).map(|index| {
        let http = http.clone();
        let url = format!("{}/health/json/", bases[index % 2]);
        async move { http.get(url).send().await.map(|response| response.status()) }
    });
    let statuses = futures::future::join_all(calls).await;
    assert!(statuses.iter().all(|status| matches!(status, Ok(StatusCode::OK))), "{statuses:?}");
    let body = server.client().get("/health/json/").await.json();
    let names: Vec<&str> = body["data"].as_array().unwrap().iter().map(|item| item["check"].as_str().unwrap()).collect();
    assert_eq!(names, ["SMTP", "Database", "Storage", "Redis", "Celery"]);

    let mut evaluations = 0u64;
    for base in &bases {
        let text = http.get(format!("{base}/metrics/")).send().await.unwrap().text().await.unwrap();
        evaluations += text
            .lines()
            .find(|line| line.starts_with("keystone_health_evaluations_total"))
            .and_then(|line| line.split_whitespace().last())
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0);
    }
    assert_eq!(evaluations, 1, "two nodes and 100 callers must run the checks once");
    let script =
        format!("for k in $(redis-cli -h 127.0.0.1 --scan --pattern '{prefix}*'); do redis-cli -h 127.0.0.1 del \"$k\" >/dev/null; done");
    let _ = Command::new("sh").arg("-c").arg(script).status();
}
