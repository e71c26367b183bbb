//! How `RedisCoordinator` behaves when Redis is unreachable, hangs, or restarts without its data.
//!
//! The restart test runs its own `redis-server` on a free port, so the shared server is never
//! stopped.

use std::net::TcpListener as StdTcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keystone_cluster::{CoordinationError, Coordinator, RedisCoordinator, RedisPoolOptions};
use keystone_config::{RedisSettings, SecretString};
use tokio::net::TcpListener;

const PASSWORD: &str = "not-to-be-printed";

fn settings_for_port(port: u16, password: Option<&str>) -> RedisSettings {
    RedisSettings {
        host: "127.0.0.1".to_owned(),
        port,
        db: 0,
        password: password.map(SecretString::from),
        key_prefix: "kstest:connection:".to_owned(),
    }
}

fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn options() -> RedisPoolOptions {
    RedisPoolOptions { connection_timeout: Duration::from_millis(500), ..RedisPoolOptions::default() }
}

fn assert_unavailable_without_password(error: CoordinationError) {
    let CoordinationError::Unavailable(message) = error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(message.contains("127.0.0.1:"), "message {message:?} does not name the server");
    assert!(!message.contains(PASSWORD), "message {message:?} contains the password");
}

#[tokio::test]
async fn connect_fails_fast_without_server() {
    let settings = settings_for_port(free_port(), Some(PASSWORD));
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(5), RedisCoordinator::connect_with(&settings, options())).await;

    let error = result.expect("connect did not fail within 5 s").err().expect("connected to a closed port");
    assert_unavailable_without_password(error);
    assert!(started.elapsed() < Duration::from_secs(3), "failing took {:?}", started.elapsed());
}

#[tokio::test]
async fn connect_fails_fast_when_server_hangs() {
    // A server that accepts connections and never replies.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            connections.push(connection);
        }
    });

    let settings = settings_for_port(port, Some(PASSWORD));
    let result = tokio::time::timeout(Duration::from_secs(5), RedisCoordinator::connect_with(&settings, options())).await;
    silent.abort();

    let error = result.expect("connect did not fail within 5 s").err().expect("connected to a silent server");
    assert_unavailable_without_password(error);
}

/// A `redis-server` child process, killed when dropped.
struct PrivateRedis {
    child: Child,
}

impl PrivateRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start redis-server (install the redis-server package): {error}"));
        Self { child }
    }

    fn stop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn wait_until_cache_works(coordinator: &RedisCoordinator, what: &str) {
    let polling = async {
        loop {
            if coordinator.cache_set("probe", b"1".to_vec(), Duration::from_secs(10)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), polling).await.unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_reconnects_after_restart() {
    let port = free_port();
    let settings = settings_for_port(port, None);
    let mut server = PrivateRedis::start(port);

    let connecting = async {
        loop {
            match RedisCoordinator::connect_with(&settings, options()).await {
                Ok(coordinator) => return coordinator,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    let coordinator = tokio::time::timeout(Duration::from_secs(10), connecting).await.expect("private redis-server did not start");
    wait_until_cache_works(&coordinator, "the first server replies").await;
    let before = coordinator.acquire_leadership("node-a", Duration::from_secs(30)).await.unwrap().unwrap();

    server.stop();
    let started = Instant::now();
    let error = coordinator.cache_get("probe").await.expect_err("an operation succeeded with Redis stopped");
    assert!(matches!(error, CoordinationError::Unavailable(_)), "expected Unavailable, got {error:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "failing took {:?}", started.elapsed());

    let _restarted = PrivateRedis::start(port);
    wait_until_cache_works(&coordinator, "the pool reconnects to the restarted server").await;
    assert_eq!(coordinator.cache_get("probe").await.unwrap(), Some(b"1".to_vec()));

    // The restarted server has no data, yet the next term's epoch is still higher.
    let after = coordinator.acquire_leadership("node-b", Duration::from_secs(30)).await.unwrap().unwrap();
    assert!(after.epoch > before.epoch, "epoch {} after the data loss is not above {}", after.epoch, before.epoch);
}
