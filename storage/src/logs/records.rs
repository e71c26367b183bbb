//! Rows of the log tables.

use chrono::{DateTime, Utc};

/// One answered HTTP request, as the request-log batcher receives it.
#[derive(Clone, Debug)]
pub struct NewRequestLog {
    pub method: String,
    /// Path with its query string, cut to 2048 characters.
    pub endpoint: String,
    pub response_code: i32,
    pub remote_address: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub cid: Option<String>,
    pub user_id: Option<i64>,
}

/// A row of `logging_requestlog`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestLogRow {
    pub id: i64,
    pub method: String,
    pub endpoint: String,
    pub response_code: i32,
    pub remote_address: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub cid: Option<String>,
    pub user_id: Option<i64>,
}

/// A row of `auditlog_logentry` with its content type's labels.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditLogRow {
    pub id: i64,
    pub app_label: String,
    pub model: String,
    pub object_id: Option<i64>,
    pub action: i16,
    pub changes: Option<String>,
    pub cid: Option<String>,
    pub remote_addr: Option<String>,
    pub remote_port: Option<i32>,
    pub timestamp: DateTime<Utc>,
    pub actor_id: Option<i64>,
}

/// A finished or running background task, as recorded for `/logs/tasks/`.
#[derive(Clone, Debug)]
pub struct NewTaskResult {
    pub task_id: String,
    pub periodic_task_name: Option<String>,
    pub task_name: String,
    pub task_args: String,
    pub task_kwargs: String,
    pub status: String,
    pub worker: Option<String>,
    pub result: Option<String>,
    pub date_created: DateTime<Utc>,
    pub date_started: Option<DateTime<Utc>>,
    pub date_done: DateTime<Utc>,
    pub traceback: Option<String>,
}

/// A row of `django_celery_results_taskresult`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TaskResultRow {
    pub id: i64,
    pub task_id: String,
    pub periodic_task_name: Option<String>,
    pub task_name: Option<String>,
    pub task_args: Option<String>,
    pub task_kwargs: Option<String>,
    pub status: String,
    pub worker: Option<String>,
    pub content_type: String,
    pub content_encoding: String,
    pub result: Option<String>,
    pub date_created: DateTime<Utc>,
    pub date_started: Option<DateTime<Utc>>,
    pub date_done: DateTime<Utc>,
    pub traceback: Option<String>,
    pub meta: Option<String>,
}

/// A row of the merged feed of requests, tasks and audit entries.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FeedRow {
    pub id: String,
    pub record_id: i64,
    pub record_type: String,
    pub timestamp: DateTime<Utc>,
    pub summary: Option<String>,
    pub user_id: Option<i64>,
    pub cid: Option<String>,
    pub status: Option<String>,
}
