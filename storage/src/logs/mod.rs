//! Request records, task results and the audit log, as `/logs/` serves them.

mod records;
mod repository;
pub mod resources;

pub use records::{AuditLogRow, FeedRow, NewRequestLog, NewTaskResult, RequestLogRow, TaskResultRow};
