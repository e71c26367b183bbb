//! The distributed job system that replaces the reference's Celery worker and beat:
//!
//! ```text
//! jobs
//! ├── scheduler    leader only: turns schedule ticks into jobs, each tick once cluster-wide
//! ├── worker-N     claim jobs, run them with a timeout, record results, retry with backoff
//! └── reclaimer    heartbeats, and returns jobs of stopped nodes to the queue
//! ```
//!
//! Coordination goes through [`Coordinator`]: Redis in a cluster, in-process on a single node.

pub mod catalog;
pub mod payload;
mod reclaimer;
mod records;
mod runner;
mod scheduler;
mod worker;

use std::sync::Arc;

use keystone_cluster::Coordinator;
use keystone_config::Settings;
use keystone_storage::Database;

use crate::slurm::SlurmClient;
use crate::supervisor::ChildSpec;

pub use catalog::{Catalog, TaskSpec};
pub use payload::JobPayload;
pub use records::record_enqueued;

/// Everything a job actor needs.
#[derive(Clone)]
pub struct JobContext {
    pub node_id: String,
    pub db: Database,
    pub coordinator: Arc<dyn Coordinator>,
    pub settings: Arc<Settings>,
    pub catalog: Catalog,
    pub slurm: SlurmClient,
}

/// Child specs of the job supervisor: the scheduler, the workers and the reclaimer.
pub fn children(context: JobContext) -> Vec<ChildSpec> {
    let mut children = Vec::new();
    let scheduler_context = context.clone();
    children.push(ChildSpec::new("scheduler", || scheduler::Scheduler, move || scheduler_context.clone()));
    for index in 0..context.settings.jobs.workers {
        let worker_context = context.clone();
        children.push(ChildSpec::new(format!("worker-{index}"), || worker::Worker, move || worker_context.clone()));
    }
    let reclaimer_context = context.clone();
    children.push(ChildSpec::new("reclaimer", || reclaimer::Reclaimer, move || reclaimer_context.clone()));
    children
}

/// Enqueues a run of `name` (dotted name or alias) now, as `keystone task run` does, and
/// records it as pending. Returns the job id.
pub async fn enqueue_now(
    coordinator: &dyn Coordinator,
    db: &Database,
    catalog: &Catalog,
    name: &str,
    args: std::collections::BTreeMap<String, String>,
) -> Result<keystone_cluster::JobId, String> {
    let spec = catalog.find(name).ok_or_else(|| format!("unknown task {name}; `keystone task list` shows the known tasks"))?;
    let payload = JobPayload { args, ..Default::default() };
    let job = keystone_cluster::NewJob::new(spec.name, payload.encode()).with_max_attempts(spec.max_attempts);
    let outcome = coordinator.enqueue(job).await.map_err(|error| format!("failed to enqueue {}: {error}", spec.name))?;
    record_enqueued(db, outcome.job_id().as_str(), spec.name, &payload).await;
    tracing::info!(task = spec.name, job_id = %outcome.job_id(), "enqueued a run on request");
    Ok(outcome.job_id().clone())
}

/// A job's state for operators: `pending`, `running`, `succeeded`, `failed` (waiting for a
/// retry) or `dead` (every attempt failed).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct JobStatus {
    pub job_id: String,
    pub task: String,
    pub state: String,
    pub node: Option<String>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub result: Option<String>,
}

impl JobStatus {
    /// True once the job will not run again.
    pub fn is_final(&self) -> bool {
        matches!(self.state.as_str(), "succeeded" | "dead")
    }
}

/// Reads a job's state from the coordinator.
pub async fn job_status(coordinator: &dyn Coordinator, job_id: &str) -> Result<Option<JobStatus>, String> {
    let record =
        coordinator.job(&keystone_cluster::JobId::new(job_id)).await.map_err(|error| format!("failed to read job {job_id}: {error}"))?;
    Ok(record.map(|record| {
        let (state, node) = match record.state {
            keystone_cluster::JobState::Pending => ("pending", None),
            keystone_cluster::JobState::Running { node } => ("running", Some(node)),
            keystone_cluster::JobState::Succeeded => ("succeeded", None),
            keystone_cluster::JobState::Failed => ("failed", None),
            keystone_cluster::JobState::DeadLettered => ("dead", None),
        };
        JobStatus {
            job_id: record.id.to_string(),
            task: record.task,
            state: state.to_string(),
            node,
            attempts: record.attempts,
            max_attempts: record.max_attempts,
            last_error: record.last_error,
            result: record.result.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        }
    }))
}
