//! `keystone check`: settings, database and (in a cluster) Redis.

use std::time::Duration;

use anyhow::Context;
use keystone_config::Settings;

use crate::commands::open_database;

pub async fn check(settings: Settings) -> anyhow::Result<()> {
    println!("settings: ok");
    if !settings.database.postgres_enable && !settings.database.sqlite_path.exists() {
        anyhow::bail!(
            "no SQLite database at {}; run `keystone migrate` or `keystone quickstart` to create it",
            settings.database.sqlite_path.display()
        );
    }
    let db = open_database(&settings).await?;
    db.ping().await.context("the database did not answer")?;
    let pending = db.pending_migrations().await?;
    let backend = db.backend();
    db.close().await;
    if pending > 0 {
        anyhow::bail!("the database has {pending} migrations to apply; run `keystone migrate`");
    }
    println!("database: ok ({backend:?})");
    if settings.cluster_enable {
        keystone_cluster::ping_redis(&settings.redis, Duration::from_secs(5)).await.map_err(anyhow::Error::msg)?;
        println!("redis: ok ({}:{})", settings.redis.host, settings.redis.port);
    }
    Ok(())
}
