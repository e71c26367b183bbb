//! Storage errors.
//!
//! Repositories return [`StorageError`]. A missing row is `NotFound`, a violated unique or
//! foreign-key constraint is `Conflict` (so the API can answer 400 or 409 rather than 500), and
//! everything else keeps the driver error as its source.

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("record not found")]
    NotFound,

    /// A unique or foreign-key constraint rejected the change; the payload names the constraint.
    #[error("constraint violated: {0}")]
    Conflict(String),

    /// The cause is part of the message and deliberately not a `source`, so error chains
    /// print it once.
    #[error("failed to connect to the {target}: {cause}")]
    Connect { target: String, cause: sqlx::Error },

    #[error("failed to {action}: {cause}")]
    Io { action: String, cause: std::io::Error },

    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("database query failed: {0}")]
    Query(sqlx::Error),
}

impl From<sqlx::Error> for StorageError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => StorageError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() || db.is_foreign_key_violation() => {
                StorageError::Conflict(db.constraint().map(str::to_string).unwrap_or_else(|| db.message().to_string()))
            }
            _ => StorageError::Query(error),
        }
    }
}

/// Checks that a delete by primary key removed its row. When a concurrent request removed it
/// first, the result is `NotFound`, so the caller's transaction rolls back without writing a
/// second delete entry to the audit log.
pub(crate) fn removed_one(rows_affected: u64) -> Result<(), StorageError> {
    if rows_affected == 0 {
        Err(StorageError::NotFound)
    } else {
        Ok(())
    }
}
