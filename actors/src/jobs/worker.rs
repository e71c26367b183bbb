//! A worker: claims jobs, runs each with its task's timeout, keeps the claim alive while it
//! runs, records the outcome, and acknowledges or fails the job (retry with backoff, then dead
//! letters). A panicking task fails its job like an error does, then takes the worker down,
//! and the supervisor restarts the worker. A job whose worker stops without failing it (the
//! node crashed) returns to the queue when its claim expires.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt;
use keystone_cluster::{ClaimedJob, CoordinationError, CoordinationResult, FailOutcome};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use rand::Rng;

use crate::jobs::payload::JobPayload;
use crate::jobs::records::{self, RecordBase};
use crate::jobs::runner::run_task;
use crate::jobs::JobContext;

/// Wait between polls of an empty queue.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// First wait after the queue could not be reached; it doubles with each failure in a row.
const ERROR_POLL: Duration = Duration::from_secs(1);
/// Longest wait between attempts while the queue stays unreachable.
const MAX_ERROR_POLL: Duration = Duration::from_secs(30);
/// Maximum time a worker retries acknowledging a finished job while the coordinator is
/// unavailable. The retries hold up the worker, and so the node's shutdown, as long.
const ACK_RETRY_LIMIT: Duration = Duration::from_secs(30);

pub struct Worker;

pub enum WorkerMessage {
    Poll,
}

/// A worker's context and its count of claim failures in a row.
pub struct WorkerState {
    context: JobContext,
    failures: u32,
}

impl Actor for Worker {
    type Msg = WorkerMessage;
    type State = WorkerState;
    type Arguments = JobContext;

    async fn pre_start(&self, myself: ActorRef<Self::Msg>, context: JobContext) -> Result<Self::State, ActorProcessingErr> {
        myself.send_message(WorkerMessage::Poll)?;
        Ok(WorkerState { context, failures: 0 })
    }

    async fn handle(&self, myself: ActorRef<Self::Msg>, _message: Self::Msg, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        let context = &state.context;
        let claimed = context.coordinator.claim(&context.node_id, context.settings.jobs.visibility).await;
        if claimed.is_ok() && state.failures > 0 {
            tracing::info!(node = %context.node_id, failures = state.failures, "job queue reachable again");
            state.failures = 0;
        }
        match claimed {
            Ok(Some(job)) => {
                metrics::counter!("keystone_jobs_claimed_total", "task" => job.task.clone()).increment(1);
                execute(context, job).await;
                myself.send_message(WorkerMessage::Poll)?;
            }
            Ok(None) => {
                myself.send_after(IDLE_POLL, || WorkerMessage::Poll);
            }
            Err(error) => {
                state.failures += 1;
                let delay = ERROR_POLL.saturating_mul(2u32.saturating_pow(state.failures.min(10) - 1)).min(MAX_ERROR_POLL);
                // The first failure and then every tenth are logged, so an outage does not flood the log.
                if state.failures == 1 || state.failures % 10 == 0 {
                    tracing::warn!(%error, node = %context.node_id, failures = state.failures, retry_in_ms = delay.as_millis() as u64, "failed to claim a job; retrying");
                }
                myself.send_after(delay, || WorkerMessage::Poll);
            }
        }
        Ok(())
    }
}

/// Aborts the claim keep-alive when the job ends, including by a panic.
struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn keep_claim_alive(context: &JobContext, job: &ClaimedJob) -> KeepAlive {
    let coordinator = context.coordinator.clone();
    let visibility = context.settings.jobs.visibility;
    let (id, token) = (job.id.clone(), job.claim_token.clone());
    KeepAlive(tokio::spawn(async move {
        loop {
            tokio::time::sleep(visibility / 3).await;
            if let Err(error) = coordinator.extend_claim(&id, &token, visibility).await {
                tracing::warn!(job_id = %id, %error, "failed to extend a job claim");
            }
        }
    }))
}

async fn execute(context: &JobContext, job: ClaimedJob) {
    let payload = match JobPayload::decode(&job.payload) {
        Ok(payload) => payload,
        Err(error) => {
            tracing::error!(job_id = %job.id, task = %job.task, %error, "dropping a job with an unreadable payload");
            finish_failed(context, &job, &JobPayload::default(), error, None).await;
            return;
        }
    };
    let Some(spec) = context.catalog.find(&job.task).copied() else {
        let error = format!("unknown task {}", job.task);
        tracing::error!(job_id = %job.id, %error, "cannot run job");
        finish_failed(context, &job, &payload, error, None).await;
        return;
    };

    let started = keystone_storage::now();
    let base =
        RecordBase { job_id: job.id.as_str(), task_name: spec.name, payload: &payload, node_id: Some(&context.node_id), created: started };
    records::write(&context.db, &base, "STARTED", Some(started), None, None).await;
    tracing::info!(job_id = %job.id, task = spec.name, attempt = job.attempt, node = %context.node_id, "job started");

    let clock = Instant::now();
    let outcome = {
        let _keep_alive = keep_claim_alive(context, &job);
        let run = AssertUnwindSafe(run_task(context, &spec, &payload, job.id.as_str())).catch_unwind();
        tokio::time::timeout(spec.timeout, run).await
    };
    metrics::histogram!("keystone_job_duration_seconds", "task" => spec.alias).record(clock.elapsed().as_secs_f64());

    match outcome {
        Ok(Ok(Ok(result))) => {
            match acknowledge(context, &job, &result).await {
                Ok(()) => {}
                // The coordinator has no record of the job (Redis lost its data, as in a restart
                // without persistence), so no worker can claim it again and this result is final.
                Err(CoordinationError::NotFound) => {
                    tracing::warn!(job_id = %job.id, task = spec.name, "the coordinator has no record of a finished job; recording its result anyway");
                }
                Err(error) => {
                    tracing::error!(job_id = %job.id, %error, "failed to acknowledge a finished job");
                    return;
                }
            }
            records::write(&context.db, &base, "SUCCESS", Some(started), Some(result), None).await;
            metrics::counter!("keystone_jobs_succeeded_total", "task" => spec.alias).increment(1);
            tracing::info!(job_id = %job.id, task = spec.name, "job succeeded");
        }
        Ok(Ok(Err(error))) => finish_failed(context, &job, &payload, error, Some(started)).await,
        Ok(Err(panic)) => {
            let message = panic_message(panic.as_ref());
            finish_failed(context, &job, &payload, format!("task panicked: {message}"), Some(started)).await;
            // The panic goes on to fail the worker, so its supervisor counts and restarts it.
            std::panic::resume_unwind(panic);
        }
        Err(_) => finish_failed(context, &job, &payload, format!("timed out after {} s", spec.timeout.as_secs()), Some(started)).await,
    }
}

/// Returns the text of a panic payload: the message of `panic!` with a string or a format.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(message) = panic.downcast_ref::<&str>() {
        message
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message
    } else {
        "panic without a message"
    }
}

/// Acknowledges a finished job, retrying while the coordinator is unavailable with delays that
/// double from 0.5 s to 8 s, for at most [`ACK_RETRY_LIMIT`]. A job left unacknowledged runs
/// again once its claim expires, unless Redis lost it.
async fn acknowledge(context: &JobContext, job: &ClaimedJob, result: &str) -> CoordinationResult<()> {
    let deadline = Instant::now() + ACK_RETRY_LIMIT;
    let mut delay = Duration::from_millis(500);
    loop {
        match context.coordinator.ack(&job.id, &job.claim_token, result.as_bytes().to_vec()).await {
            Err(CoordinationError::Unavailable(error)) if Instant::now() + delay < deadline => {
                tracing::warn!(job_id = %job.id, %error, retry_in_ms = delay.as_millis() as u64, "failed to acknowledge a finished job; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            outcome => return outcome,
        }
    }
}

/// Fails the job: retried after a backoff of 2^attempt seconds with jitter, or dead-lettered.
async fn finish_failed(
    context: &JobContext,
    job: &ClaimedJob,
    payload: &JobPayload,
    error: String,
    started: Option<chrono::DateTime<chrono::Utc>>,
) {
    let backoff = Duration::from_secs(2u64.saturating_pow(job.attempt.min(10))).mul_f64(1.0 + rand::thread_rng().gen_range(0.0..0.25));
    let task_name = context.catalog.find(&job.task).map(|spec| spec.name).unwrap_or(job.task.as_str());
    let base = RecordBase {
        job_id: job.id.as_str(),
        task_name,
        payload,
        node_id: Some(&context.node_id),
        created: started.unwrap_or_else(keystone_storage::now),
    };
    metrics::counter!("keystone_jobs_failed_total", "task" => job.task.clone()).increment(1);
    match context.coordinator.fail(&job.id, &job.claim_token, error.clone(), backoff).await {
        Ok(FailOutcome::Retried) => {
            tracing::warn!(job_id = %job.id, task = task_name, attempt = job.attempt, %error, retry_in_ms = backoff.as_millis() as u64, "job failed; retrying");
            metrics::counter!("keystone_jobs_retried_total", "task" => job.task.clone()).increment(1);
            records::write(&context.db, &base, "RETRY", started, None, Some(error)).await;
        }
        Ok(FailOutcome::DeadLettered) => {
            tracing::error!(job_id = %job.id, task = task_name, attempts = job.attempt, %error, "job failed for good; moved to the dead letters");
            metrics::counter!("keystone_jobs_dead_lettered_total", "task" => job.task.clone()).increment(1);
            records::write(&context.db, &base, "FAILURE", started, None, Some(error)).await;
        }
        Err(failure) => tracing::error!(job_id = %job.id, %failure, %error, "failed to record a job failure"),
    }
}
