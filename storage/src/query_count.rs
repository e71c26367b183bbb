//! Counts the statements a task sends to the database, so tests can check that a request
//! costs a fixed number of queries whatever its page size.
//!
//! Reads that go through [`on_backend!`](crate::on_backend) are counted; statements inside
//! [`in_transaction!`](crate::in_transaction) blocks count once per transaction.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

tokio::task_local! {
    static COUNTER: Arc<AtomicUsize>;
}

/// Runs `future` while counting its database statements; returns its output and the count.
pub async fn counting<F: Future>(future: F) -> (F::Output, usize) {
    let counter = Arc::new(AtomicUsize::new(0));
    let output = COUNTER.scope(counter.clone(), future).await;
    (output, counter.load(Ordering::Relaxed))
}

/// Records one statement for the current task, if it is being counted.
pub fn record() {
    let _ = COUNTER.try_with(|counter| counter.fetch_add(1, Ordering::Relaxed));
}
