//! Demo data at the scale of a mid-size research computing center, written with multi-row
//! inserts in one transaction so a full seed takes seconds, not minutes.
//!
//! Seeded rows get no audit entries: they describe no change anyone made. Ids are assigned
//! here, continuing after the largest existing id, and PostgreSQL sequences are moved past them
//! afterwards.

mod generate;
mod insert;

use std::collections::BTreeMap;

pub use generate::{generate, SeedData, SeedScale};

use crate::{Backend, Database, StorageError};

/// Rows written per table, for the caller's report.
pub type SeedCounts = BTreeMap<&'static str, usize>;

impl Database {
    /// Largest id in each seeded table, so generated ids continue after existing rows.
    pub async fn seed_id_bases(&self) -> Result<BTreeMap<&'static str, i64>, StorageError> {
        let mut bases = BTreeMap::new();
        for table in insert::TABLES {
            let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {table}");
            let max: i64 = crate::on_backend!(self, pool => sqlx::query_scalar(&sql).fetch_one(pool).await)?;
            bases.insert(table, max);
        }
        Ok(bases)
    }

    /// Writes generated demo data in one transaction, calling `progress(table, rows)` after
    /// each table.
    pub async fn insert_seed(&self, data: &SeedData, mut progress: impl FnMut(&'static str, usize)) -> Result<SeedCounts, StorageError> {
        let mut counts = SeedCounts::new();
        let backend = self.backend();
        crate::in_transaction!(self, tx => {
            for (table, columns, rows) in data.tables() {
                insert::insert_rows!(&mut *tx, table, columns, rows)?;
                counts.insert(table, rows.len());
                progress(table, rows.len());
            }
            if backend == Backend::Postgres {
                for table in insert::TABLES {
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
                    );
                    sqlx::query(&sql).execute(&mut *tx).await?;
                }
            }
            Ok::<(), StorageError>(())
        })?;
        Ok(counts)
    }
}
