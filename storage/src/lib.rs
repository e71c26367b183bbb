//! Keystone storage: pools for PostgreSQL and SQLite, migrations, records and repositories.
//!
//! Repositories are methods on [`Database`]; each writes its SQL once and runs it on either
//! backend. Changes to audited records write their audit entry in the same transaction.

pub mod allocations;
pub mod attachments;
pub mod audit;
pub mod comments;
mod database;
mod error;
pub mod limits;
pub mod logs;
pub mod password;
pub mod query;
pub mod query_count;
pub mod records;
pub mod research;
pub mod resources;
pub mod schedule;
pub mod seed;
mod sessions;
pub mod teams;
mod users;

use chrono::{DateTime, SubsecRound, Utc};

pub use database::{Backend, Database};
pub use error::StorageError;
pub use sessions::TokenOwner;
pub use users::{user_repr, NewUser, UserChanges};

/// The current time at the microsecond precision both backends store.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Builds `$first, $first+1, ...` placeholders for an `IN` list of `count` values.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|index| format!("${index}")).collect::<Vec<_>>().join(", ")
}
