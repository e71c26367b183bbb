//! The request-log batcher: request records arrive as messages and are written in batches, so
//! logging adds no database round trip to a request. Stopping the actor writes what it holds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use keystone_storage::logs::NewRequestLog;
use keystone_storage::Database;
use ractor::{Actor, ActorProcessingErr, ActorRef};

/// Registered name of the batcher; senders look it up, so they keep working after a restart.
pub const REQUEST_LOG_ACTOR: &str = "request-log";

/// Records held before an early write.
const BATCH_SIZE: usize = 200;
/// Longest time a record waits before it is written.
const FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// Records sent but not yet taken from the mailbox, beyond which new records are dropped.
/// Without this bound, a burst faster than the database takes batches would grow the mailbox
/// without limit. At a few hundred bytes a record, the bound is tens of megabytes.
const MAX_QUEUED: usize = 100_000;

/// Records in the batcher's mailbox.
static QUEUED: AtomicUsize = AtomicUsize::new(0);
/// Records dropped since start; the warning repeats once per 10,000.
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Messages to the batcher.
pub enum RequestLogMessage {
    Record(NewRequestLog),
    Flush,
}

/// Writes request records in batches.
pub struct RequestLogBatcher;

/// Batcher state: the database and the records not yet written.
pub struct BatcherState {
    db: Database,
    pending: Vec<NewRequestLog>,
}

impl Actor for RequestLogBatcher {
    type Msg = RequestLogMessage;
    type State = BatcherState;
    type Arguments = Database;

    async fn pre_start(&self, myself: ActorRef<Self::Msg>, db: Database) -> Result<Self::State, ActorProcessingErr> {
        myself.send_interval(FLUSH_INTERVAL, || RequestLogMessage::Flush);
        Ok(BatcherState { db, pending: Vec::with_capacity(BATCH_SIZE) })
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, message: Self::Msg, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        match message {
            RequestLogMessage::Record(record) => {
                QUEUED.fetch_sub(1, Ordering::Relaxed);
                state.pending.push(record);
                if state.pending.len() >= BATCH_SIZE {
                    flush(state).await;
                }
            }
            RequestLogMessage::Flush => flush(state).await,
        }
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        flush(state).await;
        Ok(())
    }
}

/// Writes the pending records. A failed write keeps them for the next attempt, up to a bound,
/// so a database outage neither loses a short burst nor grows memory without limit.
async fn flush(state: &mut BatcherState) {
    if state.pending.is_empty() {
        return;
    }
    match state.db.insert_request_logs(&state.pending).await {
        Ok(()) => state.pending.clear(),
        Err(error) => {
            const MAX_HELD: usize = 50_000;
            tracing::warn!(%error, held = state.pending.len(), "failed to write request records; retrying on the next flush");
            if state.pending.len() > MAX_HELD {
                let dropped = state.pending.len() - MAX_HELD;
                state.pending.drain(..dropped);
                tracing::error!(dropped, "dropped the oldest request records because the database stays unavailable");
            }
        }
    }
}

/// Sends a record to the running batcher. A record is dropped (and counted) when none runs or
/// when [`MAX_QUEUED`] records are already waiting.
pub fn log_request(record: NewRequestLog) {
    let Some(cell) = ractor::registry::where_is(REQUEST_LOG_ACTOR.to_string()) else {
        tracing::debug!("no request-log batcher is running; record dropped");
        return;
    };
    if QUEUED.fetch_add(1, Ordering::Relaxed) >= MAX_QUEUED {
        QUEUED.fetch_sub(1, Ordering::Relaxed);
        metrics::counter!("keystone_request_logs_dropped_total").increment(1);
        let dropped = DROPPED.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped % 10_000 == 1 {
            tracing::warn!(dropped, queued = MAX_QUEUED, "dropped request-log records because the database is not keeping up");
        }
        return;
    }
    if let Err(error) = cell.send_message(RequestLogMessage::Record(record)) {
        QUEUED.fetch_sub(1, Ordering::Relaxed);
        tracing::warn!(%error, "request-log batcher rejected a record");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: usize) -> NewRequestLog {
        NewRequestLog {
            method: "GET".into(),
            endpoint: format!("/version/?n={index}"),
            response_code: 200,
            remote_address: Some("127.0.0.1".into()),
            timestamp: keystone_storage::now(),
            cid: None,
            user_id: None,
        }
    }

    /// Every record sent is written, and the queue count returns to zero, so the bound never
    /// drops records after a long run of ordinary traffic.
    #[tokio::test]
    async fn queue_count_returns_to_zero() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let db = Database::connect_sqlite(&dir.path().join("keystone.db")).await.expect("open SQLite");
        db.migrate().await.expect("migrate");
        let (actor, handle) =
            Actor::spawn(Some(REQUEST_LOG_ACTOR.to_string()), RequestLogBatcher, db.clone()).await.expect("spawn the batcher");

        for index in 0..1_000 {
            log_request(record(index));
        }
        let mut written = 0_i64;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let Database::Sqlite(pool) = &db else { unreachable!("the test opens SQLite") };
            written = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM logging_requestlog").fetch_one(pool).await.expect("count records");
            if written == 1_000 {
                break;
            }
        }
        assert_eq!(written, 1_000, "records written");
        assert_eq!(QUEUED.load(Ordering::Relaxed), 0, "records still counted as queued");
        assert_eq!(DROPPED.load(Ordering::Relaxed), 0, "records dropped");

        actor.stop(None);
        handle.await.expect("the batcher stops");
        db.close().await;
    }
}
