//! Runs one behaviour test against either coordinator.
//!
//! The Redis runs use the server at `REDIS_HOST`:`REDIS_PORT` (default 127.0.0.1:6379), each
//! under a fresh key prefix `kstest:<uuid>:`, and delete their keys afterwards, even when the
//! behaviour fails.

pub mod behaviours;

use std::future::Future;
use std::panic;
use std::sync::Arc;
use std::time::Duration;

use bb8_redis::redis;
use keystone_cluster::{Coordinator, LocalCoordinator, RedisCoordinator};
use keystone_config::RedisSettings;
use uuid::Uuid;

/// Upper bound for one behaviour, so a hung operation fails the test instead of stalling it.
const BEHAVIOUR_TIMEOUT: Duration = Duration::from_secs(20);

/// Two coordinators on one shared state, standing for two nodes of one deployment.
#[derive(Clone)]
pub struct Deployment {
    pub first: Arc<dyn Coordinator>,
    pub second: Arc<dyn Coordinator>,
}

/// Runs `behaviour` against two clones of one `LocalCoordinator`.
pub async fn run_local<F, Fut>(behaviour: F)
where
    F: FnOnce(Deployment) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let coordinator = LocalCoordinator::new();
    let deployment = Deployment { first: Arc::new(coordinator.clone()), second: Arc::new(coordinator) };
    finish(tokio::spawn(tokio::time::timeout(BEHAVIOUR_TIMEOUT, behaviour(deployment))).await);
}

/// Runs `behaviour` against two `RedisCoordinator`s, each with its own pool, on one fresh prefix.
pub async fn run_redis<F, Fut>(behaviour: F)
where
    F: FnOnce(Deployment) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let settings = test_redis_settings();
    let first = connect(&settings).await;
    let second = connect(&settings).await;
    let deployment = Deployment { first: Arc::new(first), second: Arc::new(second) };

    let outcome = tokio::spawn(tokio::time::timeout(BEHAVIOUR_TIMEOUT, behaviour(deployment))).await;
    delete_keys(&settings).await;
    finish(outcome);
}

/// Redis settings for the shared test server with a fresh key prefix.
pub fn test_redis_settings() -> RedisSettings {
    let port = std::env::var("REDIS_PORT").ok().map(|port| port.parse().expect("REDIS_PORT must be a port number"));
    RedisSettings {
        host: std::env::var("REDIS_HOST").unwrap_or_else(|_| "127.0.0.1".to_owned()),
        port: port.unwrap_or(6379),
        db: 0,
        password: None,
        key_prefix: format!("kstest:{}:", Uuid::new_v4()),
    }
}

async fn connect(settings: &RedisSettings) -> RedisCoordinator {
    match RedisCoordinator::connect(settings).await {
        Ok(coordinator) => coordinator,
        Err(error) => panic!(
            "the Redis tests need a Redis server at {}:{} and could not use it: {error}. \
             Start one with scripts/services.sh, or set REDIS_HOST and REDIS_PORT.",
            settings.host, settings.port
        ),
    }
}

/// Deletes every key under the settings' prefix, then checks that none is left.
async fn delete_keys(settings: &RedisSettings) {
    let client = redis::Client::open(keystone_cluster::redis_url(settings)).expect("valid Redis URL");
    let mut connection = client.get_multiplexed_async_connection().await.expect("connection to Redis for clean-up");
    let pattern = format!("{}*", settings.key_prefix);

    let mut remaining = Vec::new();
    for _ in 0..3 {
        let keys = scan_keys(&mut connection, &pattern).await;
        if keys.is_empty() {
            return;
        }
        redis::cmd("DEL").arg(&keys).query_async::<()>(&mut connection).await.expect("DEL of test keys");
        remaining = keys;
    }
    panic!("test keys under {} were still present after clean-up: {remaining:?}", settings.key_prefix);
}

async fn scan_keys(connection: &mut redis::aio::MultiplexedConnection, pattern: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor = 0_u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(connection)
            .await
            .expect("SCAN of test keys");
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

/// Re-raises the behaviour's panic, or fails when it timed out.
fn finish(outcome: Result<Result<(), tokio::time::error::Elapsed>, tokio::task::JoinError>) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("behaviour did not finish within {BEHAVIOUR_TIMEOUT:?}"),
        Err(error) if error.is_panic() => panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("behaviour task failed: {error}"),
    }
}

/// Polls `check` every 20 ms until it returns a value, failing after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let polling = async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    match tokio::time::timeout(limit, polling).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {limit:?} waiting until {what}"),
    }
}
