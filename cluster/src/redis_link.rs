//! Connection details for Redis, and the connection pool of the Redis coordinator.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bb8::{ErrorSink, Pool, PooledConnection, RunError};
use bb8_redis::redis::{self, ErrorKind, RedisError};
use bb8_redis::RedisConnectionManager;
use keystone_config::{ExposeSecret, RedisSettings};

use crate::error::CoordinationError;

/// Builds the Redis URL for the settings. It contains the password, so never log it.
pub fn redis_url(settings: &RedisSettings) -> String {
    let auth = match &settings.password {
        Some(password) => format!(":{}@", password.expose_secret()),
        None => String::new(),
    };
    format!("redis://{auth}{}:{}/{}", settings.host, settings.port, settings.db)
}

/// Formats the server and database for messages: the URL without the password.
pub(crate) fn redis_target(settings: &RedisSettings) -> String {
    format!("{}:{}/{}", settings.host, settings.port, settings.db)
}

/// Sends `PING` to the configured Redis server, failing after `timeout`.
pub async fn ping_redis(settings: &RedisSettings, timeout: Duration) -> Result<(), String> {
    let target = format!("{}:{}", settings.host, settings.port);
    let client = redis::Client::open(redis_url(settings)).map_err(|error| format!("invalid Redis settings for {target}: {error}"))?;
    let attempt = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut connection).await
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(format!("failed to reach Redis at {target}: {error}")),
        Err(_) => Err(format!("timed out after {} s reaching Redis at {target}", timeout.as_secs())),
    }
}

/// Connection pool settings of [`crate::RedisCoordinator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisPoolOptions {
    /// Maximum open connections. Each is multiplexed, so a few serve many concurrent operations.
    pub max_connections: u32,
    /// How long an operation waits for a connection before failing with `Unavailable`. While
    /// Redis is down, every operation fails after this delay.
    pub connection_timeout: Duration,
}

impl Default for RedisPoolOptions {
    fn default() -> Self {
        Self { max_connections: 8, connection_timeout: Duration::from_secs(1) }
    }
}

/// Minimum seconds between two warnings about failed connection attempts.
const WARNING_INTERVAL_SECS: u64 = 10;

/// A pool of Redis connections that turns failures into [`CoordinationError`]s.
///
/// bb8 opens connections on demand and replaces one that fails its check-out `PING`, so the
/// pool reconnects by itself after Redis comes back.
#[derive(Clone)]
pub(crate) struct RedisPool {
    pool: Pool<RedisConnectionManager>,
    target: String,
    connection_failures: Arc<ConnectionFailures>,
    connection_timeout: Duration,
}

impl RedisPool {
    pub fn new(settings: &RedisSettings, options: RedisPoolOptions) -> Result<Self, CoordinationError> {
        let target = redis_target(settings);
        // The redis crate's error for a malformed URL may quote the URL, so leave it out.
        let manager = RedisConnectionManager::new(redis_url(settings)).map_err(|_| {
            CoordinationError::Unavailable(format!("invalid Redis settings for {target}: check REDIS_HOST, REDIS_PORT and REDIS_DB"))
        })?;
        let connection_failures = Arc::new(ConnectionFailures { target: target.clone(), ..ConnectionFailures::default() });
        let pool = Pool::builder()
            .max_size(options.max_connections.max(1))
            .connection_timeout(options.connection_timeout)
            .error_sink(Box::new(WarningSink(connection_failures.clone())))
            .build_unchecked(manager);
        Ok(Self { pool, target, connection_failures, connection_timeout: options.connection_timeout })
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    /// Checks out a connection, failing with `Unavailable` after the connection timeout.
    pub async fn get(&self) -> Result<PooledConnection<'_, RedisConnectionManager>, CoordinationError> {
        match self.pool.get().await {
            Ok(connection) => {
                self.connection_failures.reset();
                Ok(connection)
            }
            Err(RunError::User(error)) => Err(self.connection_error(&error)),
            Err(RunError::TimedOut) => {
                let cause = match self.connection_failures.last_error() {
                    Some(error) => format!(" (last error: {error})"),
                    None => String::new(),
                };
                Err(CoordinationError::Unavailable(format!(
                    "timed out after {} ms waiting for a Redis connection to {}{cause}",
                    self.connection_timeout.as_millis(),
                    self.target
                )))
            }
        }
    }

    fn connection_error(&self, error: &RedisError) -> CoordinationError {
        CoordinationError::Unavailable(format!("failed to connect to Redis at {}: {error}", self.target))
    }

    /// Converts the error of a command sent to this pool's server.
    pub fn command_error(&self, error: RedisError) -> CoordinationError {
        match error.kind() {
            ErrorKind::Parse => CoordinationError::Serialization(format!("unexpected reply from Redis at {}: {error}", self.target)),
            _ => CoordinationError::Unavailable(format!("Redis command failed at {}: {error}", self.target)),
        }
    }
}

/// Connection failures seen by the pool's background connection attempts.
#[derive(Debug, Default)]
struct ConnectionFailures {
    target: String,
    last_error: Mutex<Option<String>>,
    /// Set by a failure, cleared by the next successful check-out.
    failing: AtomicBool,
    /// Failures since the last warning.
    unreported: AtomicU64,
    /// Seconds since the Unix epoch of the last warning.
    last_warning_secs: AtomicU64,
}

impl ConnectionFailures {
    fn record(&self, error: &RedisError) {
        *self.last_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error.to_string());
        self.failing.store(true, Ordering::Relaxed);
        let failures = self.unreported.fetch_add(1, Ordering::Relaxed) + 1;

        let now_secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or_default();
        let last_warning = self.last_warning_secs.load(Ordering::Relaxed);
        if now_secs < last_warning + WARNING_INTERVAL_SECS {
            return;
        }
        if self.last_warning_secs.compare_exchange(last_warning, now_secs, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.unreported.store(0, Ordering::Relaxed);
            tracing::warn!(redis = %self.target, %error, failures, "failed to open a Redis connection, retrying");
        }
    }

    fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn reset(&self) {
        if self.failing.swap(false, Ordering::Relaxed) {
            self.unreported.store(0, Ordering::Relaxed);
            self.last_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
            tracing::info!(redis = %self.target, "Redis connection restored");
        }
    }
}

/// Receives bb8's errors from connection attempts and health checks.
#[derive(Debug, Clone)]
struct WarningSink(Arc<ConnectionFailures>);

impl ErrorSink<RedisError> for WarningSink {
    fn sink(&self, error: RedisError) {
        self.0.record(&error);
    }

    fn boxed_clone(&self) -> Box<dyn ErrorSink<RedisError>> {
        Box::new(self.clone())
    }
}
