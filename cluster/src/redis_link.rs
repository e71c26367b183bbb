//! Connection details for Redis.

use std::time::Duration;

use bb8_redis::redis;
use keystone_config::{ExposeSecret, RedisSettings};

/// The Redis URL for the settings. It contains the password, so never log it.
pub fn redis_url(settings: &RedisSettings) -> String {
    let auth = match &settings.password {
        Some(password) => format!(":{}@", password.expose_secret()),
        None => String::new(),
    };
    format!("redis://{auth}{}:{}/{}", settings.host, settings.port, settings.db)
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
