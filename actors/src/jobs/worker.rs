//! A worker: claims jobs, runs each with its task's timeout, keeps the claim alive while it
//! runs, records the outcome, and acknowledges or fails the job (retry with backoff, then dead
//! letters). A panicking task takes the worker down; its supervisor restarts it, and the job
//! returns to the queue when its claim expires.

use std::time::{Duration, Instant};

use keystone_cluster::{ClaimedJob, FailOutcome};
use rand::Rng;
use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::jobs::payload::JobPayload;
use crate::jobs::records::{self, RecordBase};
use crate::jobs::runner::run_task;
use crate::jobs::JobContext;

/// Wait between polls of an empty queue.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// Wait after the queue could not be reached.
const ERROR_POLL: Duration = Duration::from_secs(1);

pub struct Worker;

pub enum WorkerMessage {
    Poll,
}

impl Actor for Worker {
    type Msg = WorkerMessage;
    type State = JobContext;
    type Arguments = JobContext;

    async fn pre_start(&self, myself: ActorRef<Self::Msg>, context: JobContext) -> Result<Self::State, ActorProcessingErr> {
        myself.send_message(WorkerMessage::Poll)?;
        Ok(context)
    }

    async fn handle(&self, myself: ActorRef<Self::Msg>, _message: Self::Msg, context: &mut Self::State) -> Result<(), ActorProcessingErr> {
        match context.coordinator.claim(&context.node_id, context.settings.jobs.visibility).await {
            Ok(Some(job)) => {
                metrics::counter!("keystone_jobs_claimed_total", "task" => job.task.clone()).increment(1);
                execute(context, job).await;
                myself.send_message(WorkerMessage::Poll)?;
            }
            Ok(None) => {
                myself.send_after(IDLE_POLL, || WorkerMessage::Poll);
            }
            Err(error) => {
                tracing::warn!(%error, node = %context.node_id, "failed to claim a job; retrying");
                myself.send_after(ERROR_POLL, || WorkerMessage::Poll);
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
    let base = RecordBase { job_id: job.id.as_str(), task_name: spec.name, payload: &payload, node_id: Some(&context.node_id), created: started };
    records::write(&context.db, &base, "STARTED", Some(started), None, None).await;
    tracing::info!(job_id = %job.id, task = spec.name, attempt = job.attempt, node = %context.node_id, "job started");

    let clock = Instant::now();
    let outcome = {
        let _keep_alive = keep_claim_alive(context, &job);
        tokio::time::timeout(spec.timeout, run_task(context, &spec, &payload, job.id.as_str())).await
    };
    metrics::histogram!("keystone_job_duration_seconds", "task" => spec.alias).record(clock.elapsed().as_secs_f64());

    match outcome {
        Ok(Ok(result)) => {
            if let Err(error) = context.coordinator.ack(&job.id, &job.claim_token, result.clone().into_bytes()).await {
                tracing::error!(job_id = %job.id, %error, "failed to acknowledge a finished job");
                return;
            }
            records::write(&context.db, &base, "SUCCESS", Some(started), Some(result), None).await;
            metrics::counter!("keystone_jobs_succeeded_total", "task" => spec.alias).increment(1);
            tracing::info!(job_id = %job.id, task = spec.name, "job succeeded");
        }
        Ok(Err(error)) => finish_failed(context, &job, &payload, error, Some(started)).await,
        Err(_) => finish_failed(context, &job, &payload, format!("timed out after {} s", spec.timeout.as_secs()), Some(started)).await,
    }
}

/// Fails the job: retried after a backoff of 2^attempt seconds with jitter, or dead-lettered.
async fn finish_failed(context: &JobContext, job: &ClaimedJob, payload: &JobPayload, error: String, started: Option<chrono::DateTime<chrono::Utc>>) {
    let backoff = Duration::from_secs(2u64.saturating_pow(job.attempt.min(10))).mul_f64(1.0 + rand::thread_rng().gen_range(0.0..0.25));
    let task_name = context.catalog.find(&job.task).map(|spec| spec.name).unwrap_or(job.task.as_str());
    let base = RecordBase { job_id: job.id.as_str(), task_name, payload, node_id: Some(&context.node_id), created: started.unwrap_or_else(keystone_storage::now) };
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
