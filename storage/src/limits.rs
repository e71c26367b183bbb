//! Queries of the Slurm limit enforcement task: enabled clusters, teams by account name
//! (slug), the allocation sets a team's limit on a cluster is computed from, and the write of
//! `final` amounts.
//!
//! Every set contains only allocations of approved (`AP`) requests of one team on one cluster.
//! "Today" is a parameter so that callers decide the time zone and tests stay deterministic.

use chrono::NaiveDate;

use crate::allocations::clusters::CLUSTER_COLUMNS;
use crate::allocations::records::{Cluster, ResourceAllocation};
use crate::records::Team;
use crate::{in_transaction, on_backend, placeholders, Database, StorageError};

/// A set of a team's approved allocations on one cluster, relative to a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocationSet {
    /// Every allocation of an approved request.
    Approved,
    /// Approved, started on or before today (a request without an `active` date has not
    /// started) and expiring after today or never.
    Active,
    /// Approved, without a `final` amount, and expired on or before today; ordered by the
    /// request's `expire` date, then by allocation id.
    Expiring,
    /// Approved and expired on or before today, whether or not `final` is set.
    Expired,
}

impl AllocationSet {
    /// Returns the SQL condition that selects this set, on top of the team, cluster and status
    /// conditions. `$3` is today, bound only for sets other than `Approved`.
    fn condition(self) -> &'static str {
        match self {
            AllocationSet::Approved => "",
            AllocationSet::Active => " AND r.active IS NOT NULL AND r.active <= $3 AND (r.expire IS NULL OR r.expire > $3)",
            AllocationSet::Expiring => " AND a.final IS NULL AND r.expire <= $3",
            AllocationSet::Expired => " AND r.expire <= $3",
        }
    }

    fn order(self) -> &'static str {
        match self {
            AllocationSet::Expiring => " ORDER BY r.expire, a.id",
            _ => " ORDER BY a.id",
        }
    }
}

/// Pairs of (allocation id, final amount) written per statement, which keeps the bound
/// parameters far below the limits of both backends.
const FINAL_AMOUNTS_PER_STATEMENT: usize = 500;

impl Database {
    /// Lists the names of the clusters with `enabled` set, ordered by name.
    pub async fn enabled_cluster_names(&self) -> Result<Vec<String>, StorageError> {
        let names = on_backend!(self, pool => sqlx::query_scalar::<_, String>(
            "SELECT name FROM allocations_cluster WHERE enabled = TRUE ORDER BY name",
        ).fetch_all(pool).await)?;
        Ok(names)
    }

    /// Fetches the cluster named exactly `name`, enabled or not.
    pub async fn cluster_by_name(&self, name: &str) -> Result<Option<Cluster>, StorageError> {
        let sql = format!("SELECT {CLUSTER_COLUMNS} FROM allocations_cluster WHERE name = $1");
        let cluster = on_backend!(self, pool => sqlx::query_as::<_, Cluster>(&sql).bind(name).fetch_optional(pool).await)?;
        Ok(cluster)
    }

    /// Fetches the teams whose slug is one of `slugs`, ordered by slug. Slugs without a team
    /// are left out.
    pub async fn teams_by_slugs(&self, slugs: &[String]) -> Result<Vec<Team>, StorageError> {
        if slugs.is_empty() {
            return Ok(Vec::new());
        }
        let sql =
            format!("SELECT id, name, slug, is_active FROM users_team WHERE slug IN ({}) ORDER BY slug", placeholders(1, slugs.len()));
        let teams = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, Team>(&sql);
            for slug in slugs {
                query = query.bind(slug);
            }
            query.fetch_all(pool).await
        })?;
        Ok(teams)
    }

    /// Fetches the allocations of team `team_id` on cluster `cluster_id` that belong to `set` on the
    /// day `today`.
    pub async fn allocations_in_set(
        &self,
        team_id: i64,
        cluster_id: i64,
        set: AllocationSet,
        today: NaiveDate,
    ) -> Result<Vec<ResourceAllocation>, StorageError> {
        let sql = format!(
            "SELECT a.id, a.requested, a.awarded, a.final, a.cluster_id, a.request_id \
             FROM allocations_resourceallocation a JOIN allocations_allocationrequest r ON r.id = a.request_id \
             WHERE r.team_id = $1 AND a.cluster_id = $2 AND r.status = 'AP'{}{}",
            set.condition(),
            set.order()
        );
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, ResourceAllocation>(&sql).bind(team_id).bind(cluster_id);
            if set != AllocationSet::Approved {
                query = query.bind(today);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Sets the `final` amount of each listed allocation, given as (allocation id, final
    /// amount) pairs, in one transaction. Writes no audit entries, because the Python
    /// Keystone server writes these values with a bulk update that bypasses its audit log.
    pub async fn write_final_amounts(&self, finals: &[(i64, i64)]) -> Result<(), StorageError> {
        if finals.is_empty() {
            return Ok(());
        }
        in_transaction!(self, tx => {
            for chunk in finals.chunks(FINAL_AMOUNTS_PER_STATEMENT) {
                let sql = final_amounts_update(chunk.len());
                let mut query = sqlx::query(&sql);
                for (id, amount) in chunk {
                    query = query.bind(*id).bind(*amount);
                }
                for (id, _) in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *tx).await?;
            }
            Ok::<(), StorageError>(())
        })
    }
}

/// Builds `UPDATE ... SET final = CASE id WHEN $1 THEN $2 ... END WHERE id IN (...)` for
/// `count` pairs: the pairs bind first, then the ids of the `IN` list.
fn final_amounts_update(count: usize) -> String {
    let cases: String = (0..count).map(|index| format!(" WHEN ${} THEN ${}", 2 * index + 1, 2 * index + 2)).collect();
    format!("UPDATE allocations_resourceallocation SET final = CASE id{cases} END WHERE id IN ({})", placeholders(2 * count + 1, count))
}

#[cfg(test)]
mod tests {
    use super::final_amounts_update;

    #[test]
    fn final_amounts_update_numbers_placeholders() {
        assert_eq!(
            final_amounts_update(2),
            "UPDATE allocations_resourceallocation SET final = CASE id WHEN $1 THEN $2 WHEN $3 THEN $4 END WHERE id IN ($5, $6)"
        );
    }
}
