//! Clusters and their access lists.

use crate::allocations::records::Cluster;
use crate::audit::{AuditAction, AuditContext, Changes, ContentType};
use crate::records::Team;
use crate::{in_transaction, insert_audit, on_backend, placeholders, Database, StorageError};

/// Columns of `allocations_cluster`, in table order.
pub const CLUSTER_COLUMNS: &str = "id, name, description, enabled, access_mode";

/// Writable fields of a cluster.
#[derive(Clone, Debug)]
pub struct ClusterFields {
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub access_mode: String,
}

/// A team on a cluster's access list.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AccessTeam {
    pub cluster_id: i64,
    #[sqlx(flatten)]
    pub team: Team,
}

/// Formats the audit `object_repr` of a cluster.
pub fn cluster_repr(id: i64, name: &str) -> String {
    format!("Cluster #{id} - {name}")
}

impl Database {
    pub async fn cluster_by_id(&self, id: i64) -> Result<Option<Cluster>, StorageError> {
        let sql = format!("SELECT {CLUSTER_COLUMNS} FROM allocations_cluster WHERE id = $1");
        let cluster = on_backend!(self, pool => sqlx::query_as::<_, Cluster>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(cluster)
    }

    /// Returns a cluster named exactly `name`, other than `except`.
    pub async fn cluster_with_name(&self, name: &str, except: Option<i64>) -> Result<Option<Cluster>, StorageError> {
        let sql = format!("SELECT {CLUSTER_COLUMNS} FROM allocations_cluster WHERE name = $1 AND id <> $2");
        let cluster =
            on_backend!(self, pool => sqlx::query_as::<_, Cluster>(&sql).bind(name).bind(except.unwrap_or(0)).fetch_optional(pool).await)?;
        Ok(cluster)
    }

    /// Fetches the access-list teams of the given clusters, ordered by cluster and team id.
    pub async fn cluster_access_teams(&self, cluster_ids: &[i64]) -> Result<Vec<AccessTeam>, StorageError> {
        if cluster_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT ct.cluster_id, t.id, t.name, t.slug, t.is_active FROM allocations_cluster_access_teams ct \
             JOIN users_team t ON t.id = ct.team_id WHERE ct.cluster_id IN ({}) ORDER BY ct.cluster_id, t.id",
            placeholders(1, cluster_ids.len())
        );
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, AccessTeam>(&sql);
            for id in cluster_ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Checks whether `team_id` may receive allocations on cluster `cluster_id` under the
    /// cluster's access mode. Returns `None` when there is no such cluster.
    pub async fn cluster_admits_team(&self, cluster_id: i64, team_id: i64) -> Result<Option<bool>, StorageError> {
        let sql = format!(
            "SELECT {CLUSTER_COLUMNS}, (SELECT COUNT(*) FROM allocations_cluster_access_teams ct \
             WHERE ct.cluster_id = c.id AND ct.team_id = $2) AS listed FROM allocations_cluster c WHERE c.id = $1"
        );
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            cluster: Cluster,
            listed: i64,
        }
        let row = on_backend!(self, pool => sqlx::query_as::<_, Row>(&sql).bind(cluster_id).bind(team_id).fetch_optional(pool).await)?;
        Ok(row.map(|row| row.cluster.admits(row.listed > 0)))
    }

    /// Inserts a cluster with its access list and its audit record. A taken name is a
    /// [`StorageError::Conflict`].
    pub async fn create_cluster(
        &self,
        fields: &ClusterFields,
        access_teams: &[i64],
        context: &AuditContext,
    ) -> Result<Cluster, StorageError> {
        let sql = format!(
            "INSERT INTO allocations_cluster (name, description, enabled, access_mode) VALUES ($1, $2, $3, $4) RETURNING {CLUSTER_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let cluster: Cluster = sqlx::query_as::<_, Cluster>(&sql)
                .bind(&fields.name)
                .bind(&fields.description)
                .bind(fields.enabled)
                .bind(&fields.access_mode)
                .fetch_one(&mut *tx)
                .await?;
            for team_id in access_teams {
                sqlx::query("INSERT INTO allocations_cluster_access_teams (cluster_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(cluster.id)
                    .bind(*team_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut changes = Changes::new();
            changes
                .created("id", &cluster.id)
                .created("name", &cluster.name)
                .created("description", &cluster.description)
                .created("enabled", &cluster.enabled)
                .created("access_mode", &cluster.access_mode);
            insert_audit!(&mut *tx, context, ContentType::Cluster, cluster.id, cluster_repr(cluster.id, &cluster.name), AuditAction::Create, Some(changes.to_json()))?;
            Ok::<Cluster, StorageError>(cluster)
        })
    }

    /// Replaces a cluster's fields and, when `access_teams` is given, its access list, with an
    /// audit record of the changed fields. A taken name is a [`StorageError::Conflict`].
    pub async fn update_cluster(
        &self,
        current: &Cluster,
        fields: &ClusterFields,
        access_teams: Option<&[i64]>,
        context: &AuditContext,
    ) -> Result<Cluster, StorageError> {
        let mut changes = Changes::new();
        changes
            .updated("name", current.name.as_str(), fields.name.as_str())
            .updated("description", &current.description, &fields.description)
            .updated("enabled", &current.enabled, &fields.enabled)
            .updated("access_mode", current.access_mode.as_str(), fields.access_mode.as_str());
        let sql = format!(
            "UPDATE allocations_cluster SET name = $1, description = $2, enabled = $3, access_mode = $4 WHERE id = $5 RETURNING {CLUSTER_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let cluster: Cluster = sqlx::query_as::<_, Cluster>(&sql)
                .bind(&fields.name)
                .bind(&fields.description)
                .bind(fields.enabled)
                .bind(&fields.access_mode)
                .bind(current.id)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(team_ids) = access_teams {
                sqlx::query("DELETE FROM allocations_cluster_access_teams WHERE cluster_id = $1").bind(current.id).execute(&mut *tx).await?;
                for team_id in team_ids {
                    sqlx::query("INSERT INTO allocations_cluster_access_teams (cluster_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(current.id)
                        .bind(*team_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            if !changes.is_empty() {
                insert_audit!(&mut *tx, context, ContentType::Cluster, cluster.id, cluster_repr(cluster.id, &cluster.name), AuditAction::Update, Some(changes.to_json()))?;
            }
            Ok::<Cluster, StorageError>(cluster)
        })
    }

    /// Deletes a cluster and its access list, with an audit record. A cluster that resource
    /// allocations still refer to is not deleted: that is a [`StorageError::Conflict`].
    pub async fn delete_cluster(&self, cluster: &Cluster, context: &AuditContext) -> Result<(), StorageError> {
        let mut changes = Changes::new();
        changes
            .deleted("id", &cluster.id)
            .deleted("name", cluster.name.as_str())
            .deleted("description", &cluster.description)
            .deleted("enabled", &cluster.enabled)
            .deleted("access_mode", cluster.access_mode.as_str());
        in_transaction!(self, tx => {
            let references: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM allocations_resourceallocation WHERE cluster_id = $1")
                .bind(cluster.id)
                .fetch_one(&mut *tx)
                .await?;
            if references > 0 {
                return Err(StorageError::Conflict("allocations_resourceallocation.cluster_id".to_string()));
            }
            crate::error::removed_one(sqlx::query("DELETE FROM allocations_cluster WHERE id = $1").bind(cluster.id).execute(&mut *tx).await?.rows_affected())?;
            insert_audit!(&mut *tx, context, ContentType::Cluster, cluster.id, cluster_repr(cluster.id, &cluster.name), AuditAction::Delete, Some(changes.to_json()))?;
            Ok::<(), StorageError>(())
        })
    }
}
