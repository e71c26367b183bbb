//! Writes and reads of the log tables.

use chrono::{DateTime, Utc};

use super::records::{AuditLogRow, FeedRow, NewRequestLog, NewTaskResult, RequestLogRow, TaskResultRow};
use super::resources::FEED_FROM;
use crate::{on_backend, placeholders, Database, StorageError};

/// Request records per `INSERT` statement: 8 values each, well under both backends' limits.
const ROWS_PER_INSERT: usize = 500;

const REQUEST_COLUMNS: &str = "id, method, endpoint, response_code, remote_address, timestamp, cid, user_id";
const AUDIT_COLUMNS: &str =
    "a.id, c.app_label, c.model, a.object_id, a.action, a.changes, a.cid, a.remote_addr, a.remote_port, a.timestamp, a.actor_id";
const TASK_COLUMNS: &str = "id, task_id, periodic_task_name, task_name, task_args, task_kwargs, status, worker, content_type, \
     content_encoding, result, date_created, date_started, date_done, traceback, meta";

impl Database {
    /// Inserts request records in as few statements as possible.
    pub async fn insert_request_logs(&self, records: &[NewRequestLog]) -> Result<(), StorageError> {
        for chunk in records.chunks(ROWS_PER_INSERT) {
            let rows: Vec<String> = (0..chunk.len()).map(|index| format!("({})", placeholders(index * 7 + 1, 7))).collect();
            let sql = format!(
                "INSERT INTO logging_requestlog (method, endpoint, response_code, remote_address, timestamp, cid, user_id) VALUES {}",
                rows.join(", ")
            );
            on_backend!(self, pool => {
                let mut query = sqlx::query(&sql);
                for record in chunk {
                    query = query
                        .bind(&record.method)
                        .bind(&record.endpoint)
                        .bind(record.response_code)
                        .bind(&record.remote_address)
                        .bind(record.timestamp)
                        .bind(&record.cid)
                        .bind(record.user_id);
                }
                query.execute(pool).await.map(|done| done.rows_affected())
            })?;
        }
        Ok(())
    }

    pub async fn request_logs_by_ids(&self, ids: &[i64]) -> Result<Vec<RequestLogRow>, StorageError> {
        self.rows_by_ids(&format!("SELECT {REQUEST_COLUMNS} FROM logging_requestlog WHERE id IN"), ids).await
    }

    pub async fn audit_logs_by_ids(&self, ids: &[i64]) -> Result<Vec<AuditLogRow>, StorageError> {
        self.rows_by_ids(
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM auditlog_logentry a JOIN django_content_type c ON c.id = a.content_type_id WHERE a.id IN"
            ),
            ids,
        )
        .await
    }

    pub async fn task_results_by_ids(&self, ids: &[i64]) -> Result<Vec<TaskResultRow>, StorageError> {
        self.rows_by_ids(&format!("SELECT {TASK_COLUMNS} FROM django_celery_results_taskresult WHERE id IN"), ids).await
    }

    /// Feed rows by their text ids (`r12`, `t3`, `a7`).
    pub async fn feed_rows_by_ids(&self, ids: &[String]) -> Result<Vec<FeedRow>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT f.id, f.record_id, f.record_type, f.timestamp, f.summary, f.user_id, f.cid, f.status FROM {FEED_FROM} WHERE f.id IN ({})", placeholders(1, ids.len()));
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, FeedRow>(&sql);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Inserts or replaces the record of a task run, keyed by its task id.
    pub async fn upsert_task_result(&self, record: &NewTaskResult) -> Result<(), StorageError> {
        on_backend!(self, pool => sqlx::query(
            "INSERT INTO django_celery_results_taskresult (task_id, periodic_task_name, task_name, task_args, task_kwargs, status, worker, \
             content_type, content_encoding, result, date_created, date_started, date_done, traceback, meta) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'application/json', 'utf-8', $8, $9, $10, $11, $12, NULL) \
             ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, worker = excluded.worker, result = excluded.result, \
             date_started = excluded.date_started, date_done = excluded.date_done, traceback = excluded.traceback",
        )
        .bind(&record.task_id)
        .bind(&record.periodic_task_name)
        .bind(&record.task_name)
        .bind(&record.task_args)
        .bind(&record.task_kwargs)
        .bind(&record.status)
        .bind(&record.worker)
        .bind(&record.result)
        .bind(record.date_created)
        .bind(record.date_started)
        .bind(record.date_done)
        .bind(&record.traceback)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Deletes log records older than their retention; a zero retention keeps them. Returns the
    /// number of request, audit and task records deleted.
    pub async fn delete_old_logs(
        &self,
        request_before: Option<DateTime<Utc>>,
        audit_before: Option<DateTime<Utc>>,
        task_before: Option<DateTime<Utc>>,
    ) -> Result<(u64, u64, u64), StorageError> {
        let mut counts = [0u64; 3];
        let targets = [
            ("DELETE FROM logging_requestlog WHERE timestamp < $1", request_before),
            ("DELETE FROM auditlog_logentry WHERE timestamp < $1", audit_before),
            ("DELETE FROM django_celery_results_taskresult WHERE date_created < $1", task_before),
        ];
        for (index, (sql, before)) in targets.into_iter().enumerate() {
            if let Some(before) = before {
                counts[index] =
                    on_backend!(self, pool => sqlx::query(sql).bind(before).execute(pool).await.map(|done| done.rows_affected()))?;
            }
        }
        Ok((counts[0], counts[1], counts[2]))
    }

    async fn rows_by_ids<T>(&self, prefix: &str, ids: &[i64]) -> Result<Vec<T>, StorageError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{prefix} ({})", placeholders(1, ids.len()));
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, T>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }
}
