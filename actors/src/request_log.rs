//! The request-log batcher: request records arrive as messages and are written in batches, so
//! logging adds no database round trip to a request. Stopping the actor writes what it holds.

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

/// Sends a record to the running batcher; a record is dropped (and logged) when none runs.
pub fn log_request(record: NewRequestLog) {
    match ractor::registry::where_is(REQUEST_LOG_ACTOR.to_string()) {
        Some(cell) => {
            if let Err(error) = cell.send_message(RequestLogMessage::Record(record)) {
                tracing::warn!(%error, "request-log batcher rejected a record");
            }
        }
        None => tracing::debug!("no request-log batcher is running; record dropped"),
    }
}
