//! Runs one task: dispatches on the task name and returns its result as JSON text.

use std::time::Duration;

use chrono::Utc;
use keystone_cluster::NewJob;

use crate::jobs::catalog::{self, TaskSpec};
use crate::jobs::payload::JobPayload;
use crate::jobs::JobContext;

/// Runs `task` with `payload` and returns its JSON result, or the error text.
pub async fn run_task(context: &JobContext, task: &TaskSpec, payload: &JobPayload, job_id: &str) -> Result<String, String> {
    match task.name {
        name if name == catalog::CLEAR_LOG_RECORDS.name => clear_log_records(context).await,
        name if name == catalog::UPDATE_LIMITS.name => fan_out_limits(context, job_id).await,
        name if name == catalog::UPDATE_LIMITS_FOR_CLUSTER.name => update_cluster_limits(context, payload).await,
        name if name == catalog::TEST_SLEEP.name => {
            let seconds: u64 = payload.args.get("seconds").and_then(|value| value.parse().ok()).unwrap_or(5);
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            Ok(format!("{{\"slept\": {seconds}}}"))
        }
        name if name == catalog::TEST_PANIC.name => panic!("test task panicked on purpose"),
        other => Err(format!("no implementation for task {other}")),
    }
}

/// Deletes log records past their retention; a zero retention keeps records forever.
async fn clear_log_records(context: &JobContext) -> Result<String, String> {
    let logging = &context.settings.logging;
    let cutoff = |retention: Duration| {
        (!retention.is_zero()).then(|| Utc::now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX))
    };
    let (requests, audit, tasks) = context
        .db
        .delete_old_logs(cutoff(logging.request_retention), cutoff(logging.audit_retention), cutoff(logging.task_retention))
        .await
        .map_err(|error| error.to_string())?;
    tracing::info!(requests, audit, tasks, "deleted old log records");
    Ok(serde_json::json!({"requests": requests, "audit": audit, "tasks": tasks}).to_string())
}

/// Enqueues one `update_limits_for_cluster` job per enabled cluster.
async fn fan_out_limits(context: &JobContext, parent_id: &str) -> Result<String, String> {
    let clusters = crate::tasks::update_limits::update_limits(&context.db).await.map_err(|error| error.to_string())?;
    let spec = catalog::UPDATE_LIMITS_FOR_CLUSTER;
    for cluster in &clusters {
        let mut payload = JobPayload::default();
        payload.args.insert("cluster_name".to_string(), cluster.clone());
        let job = NewJob::new(spec.name, payload.encode())
            .with_dedup_key(format!("{}:{cluster}@{parent_id}", spec.alias))
            .with_max_attempts(spec.max_attempts);
        context.coordinator.enqueue(job).await.map_err(|error| error.to_string())?;
    }
    tracing::info!(clusters = clusters.len(), "enqueued Slurm limit updates");
    Ok(serde_json::json!({"clusters": clusters}).to_string())
}

async fn update_cluster_limits(context: &JobContext, payload: &JobPayload) -> Result<String, String> {
    let cluster = payload.args.get("cluster_name").ok_or("missing argument cluster_name")?;
    let today = Utc::now().date_naive();
    let report = crate::tasks::update_limits::update_limits_for_cluster(&context.db, &context.slurm, cluster, today)
        .await
        .map_err(|error| error.to_string())?;
    Ok(format!("{report:?}"))
}
