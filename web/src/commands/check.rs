//! `keystone check`: settings, database and (in a cluster) Redis.

use std::time::Duration;

use anyhow::Context;
use keystone_config::Settings;

use crate::commands::open_database;

pub async fn check(settings: Settings) -> anyhow::Result<()> {
    println!("settings: ok");
    let db = open_database(&settings).await?;
    db.ping().await.context("the database did not answer")?;
    println!("database: ok ({:?})", db.backend());
    db.close().await;
    if settings.cluster_enable {
        keystone_cluster::ping_redis(&settings.redis, Duration::from_secs(5)).await.map_err(anyhow::Error::msg)?;
        println!("redis: ok ({}:{})", settings.redis.host, settings.redis.port);
    }
    Ok(())
}
