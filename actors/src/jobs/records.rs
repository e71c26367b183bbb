//! Task records in `django_celery_results_taskresult`, served at `/logs/tasks/`. Statuses use
//! Celery's names so existing dashboards read them unchanged.

use chrono::{DateTime, Utc};
use keystone_storage::logs::NewTaskResult;
use keystone_storage::Database;

use crate::jobs::payload::JobPayload;

/// Fields shared by every record of one job.
pub struct RecordBase<'a> {
    pub job_id: &'a str,
    pub task_name: &'a str,
    pub payload: &'a JobPayload,
    pub node_id: Option<&'a str>,
    pub created: DateTime<Utc>,
}

/// Writes (or rewrites) the record of a job; a failure is logged, because the job itself has
/// run and must not fail for want of its record.
pub async fn write(
    db: &Database,
    base: &RecordBase<'_>,
    status: &str,
    started: Option<DateTime<Utc>>,
    result: Option<String>,
    error: Option<String>,
) {
    let record = NewTaskResult {
        task_id: base.job_id.to_string(),
        periodic_task_name: base.payload.periodic_task_name.clone(),
        task_name: base.task_name.to_string(),
        task_args: "[]".to_string(),
        task_kwargs: serde_json::to_string(&base.payload.args).unwrap_or_else(|_| "{}".to_string()),
        status: status.to_string(),
        worker: base.node_id.map(str::to_string),
        result,
        date_created: base.created,
        date_started: started,
        date_done: keystone_storage::now(),
        traceback: error,
    };
    if let Err(error) = db.upsert_task_result(&record).await {
        tracing::error!(job_id = base.job_id, task = base.task_name, %error, "failed to write the task record");
    }
}

/// Records a newly enqueued job as `PENDING`.
pub async fn record_enqueued(db: &Database, job_id: &str, task_name: &str, payload: &JobPayload) {
    let base = RecordBase { job_id, task_name, payload, node_id: None, created: keystone_storage::now() };
    write(db, &base, "PENDING", None, None, None).await;
}
