//! Durable record of schedule ticks: which (task, tick) pairs were already enqueued.

use crate::{on_backend, Database, StorageError};

impl Database {
    /// Records that `task`'s tick at `tick_unix` (seconds) was enqueued. Returns false when it
    /// was recorded before, by this node or another.
    pub async fn claim_schedule_tick(&self, task: &str, tick_unix: i64) -> Result<bool, StorageError> {
        let inserted = on_backend!(self, pool => sqlx::query(
            "INSERT INTO keystone_schedule_tick (task, tick, enqueued) VALUES ($1, $2, $3) ON CONFLICT (task, tick) DO NOTHING",
        )
        .bind(task)
        .bind(tick_unix)
        .bind(crate::now())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(inserted == 1)
    }

    /// The latest recorded tick of `task`, in Unix seconds.
    pub async fn last_schedule_tick(&self, task: &str) -> Result<Option<i64>, StorageError> {
        let tick: Option<i64> = on_backend!(self, pool => sqlx::query_scalar("SELECT MAX(tick) FROM keystone_schedule_tick WHERE task = $1")
            .bind(task)
            .fetch_one(pool)
            .await)?;
        Ok(tick)
    }
}
