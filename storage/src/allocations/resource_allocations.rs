//! Resource allocations: service units on one cluster for one allocation request.

use crate::allocations::records::{AllocationWithContext, ResourceAllocation};
use crate::allocations::resources::ALLOCATION_FROM;
use crate::audit::{AuditAction, AuditContext, Changes, ContentType};
use crate::{in_transaction, insert_audit, on_backend, placeholders, Database, StorageError};

/// Columns of `allocations_resourceallocation`, in table order.
pub const ALLOCATION_COLUMNS: &str = "id, requested, awarded, final, cluster_id, request_id";

/// The select list of an [`AllocationWithContext`] over [`ALLOCATION_FROM`].
pub const ALLOCATION_WITH_CONTEXT_COLUMNS: &str = "a.id, a.requested, a.awarded, a.final, a.cluster_id, a.request_id, \
     ac.name AS cluster_name, ac.enabled AS cluster_enabled, ar.title AS request_title, ar.status AS request_status, \
     ar.active AS request_active, ar.expire AS request_expire, ar.team_id";

/// Writable fields of a resource allocation.
#[derive(Clone, Debug)]
pub struct AllocationFields {
    pub requested: i64,
    pub awarded: Option<i64>,
    pub final_amount: Option<i64>,
    pub cluster_id: i64,
    pub request_id: i64,
}

/// Selects the `object_repr` of resource allocation `$1`:
/// `Resource Allocation #<id> - Cluster #<id> - <name> allocation for Team #<id> - <name>`.
const REPR_SQL: &str = "SELECT 'Resource Allocation #' || CAST(a.id AS TEXT) || ' - Cluster #' || CAST(c.id AS TEXT) || ' - ' \
     || c.name || ' allocation for Team #' || CAST(t.id AS TEXT) || ' - ' || t.name \
     FROM allocations_resourceallocation a JOIN allocations_cluster c ON c.id = a.cluster_id \
     JOIN allocations_allocationrequest r ON r.id = a.request_id JOIN users_team t ON t.id = r.team_id WHERE a.id = $1";

impl Database {
    pub async fn resource_allocation_by_id(&self, id: i64) -> Result<Option<AllocationWithContext>, StorageError> {
        let sql = format!("SELECT {ALLOCATION_WITH_CONTEXT_COLUMNS} FROM {ALLOCATION_FROM} WHERE a.id = $1");
        let row = on_backend!(self, pool => sqlx::query_as::<_, AllocationWithContext>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row)
    }

    /// Resource allocations with their cluster and request columns, by id, in no particular
    /// order.
    pub async fn resource_allocations_by_ids(&self, ids: &[i64]) -> Result<Vec<AllocationWithContext>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {ALLOCATION_WITH_CONTEXT_COLUMNS} FROM {ALLOCATION_FROM} WHERE a.id IN ({})", placeholders(1, ids.len()));
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, AllocationWithContext>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Inserts a resource allocation and its audit record.
    pub async fn create_resource_allocation(
        &self,
        fields: &AllocationFields,
        context: &AuditContext,
    ) -> Result<ResourceAllocation, StorageError> {
        let sql = format!(
            "INSERT INTO allocations_resourceallocation (requested, awarded, final, cluster_id, request_id) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {ALLOCATION_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let allocation: ResourceAllocation = sqlx::query_as::<_, ResourceAllocation>(&sql)
                .bind(fields.requested)
                .bind(fields.awarded)
                .bind(fields.final_amount)
                .bind(fields.cluster_id)
                .bind(fields.request_id)
                .fetch_one(&mut *tx)
                .await?;
            let mut changes = Changes::new();
            changes
                .created("id", &allocation.id)
                .created("requested", &allocation.requested)
                .created("awarded", &allocation.awarded)
                .created("final", &allocation.final_amount)
                .created("cluster", &allocation.cluster_id)
                .created("request", &allocation.request_id);
            let repr: String = sqlx::query_scalar(REPR_SQL).bind(allocation.id).fetch_one(&mut *tx).await?;
            insert_audit!(&mut *tx, context, ContentType::ResourceAllocation, allocation.id, repr, AuditAction::Create, Some(changes.to_json()))?;
            Ok::<ResourceAllocation, StorageError>(allocation)
        })
    }

    /// Replaces a resource allocation's fields, with an audit record of the changed ones.
    pub async fn update_resource_allocation(
        &self,
        current: &ResourceAllocation,
        fields: &AllocationFields,
        context: &AuditContext,
    ) -> Result<ResourceAllocation, StorageError> {
        let mut changes = Changes::new();
        changes
            .updated("requested", &current.requested, &fields.requested)
            .updated("awarded", &current.awarded, &fields.awarded)
            .updated("final", &current.final_amount, &fields.final_amount)
            .updated("cluster", &current.cluster_id, &fields.cluster_id)
            .updated("request", &current.request_id, &fields.request_id);
        let sql = format!(
            "UPDATE allocations_resourceallocation SET requested = $1, awarded = $2, final = $3, cluster_id = $4, request_id = $5 \
             WHERE id = $6 RETURNING {ALLOCATION_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let allocation: ResourceAllocation = sqlx::query_as::<_, ResourceAllocation>(&sql)
                .bind(fields.requested)
                .bind(fields.awarded)
                .bind(fields.final_amount)
                .bind(fields.cluster_id)
                .bind(fields.request_id)
                .bind(current.id)
                .fetch_one(&mut *tx)
                .await?;
            if !changes.is_empty() {
                let repr: String = sqlx::query_scalar(REPR_SQL).bind(allocation.id).fetch_one(&mut *tx).await?;
                insert_audit!(&mut *tx, context, ContentType::ResourceAllocation, allocation.id, repr, AuditAction::Update, Some(changes.to_json()))?;
            }
            Ok::<ResourceAllocation, StorageError>(allocation)
        })
    }

    pub async fn delete_resource_allocation(&self, allocation: &ResourceAllocation, context: &AuditContext) -> Result<(), StorageError> {
        let mut changes = Changes::new();
        changes
            .deleted("id", &allocation.id)
            .deleted("requested", &allocation.requested)
            .deleted("awarded", &allocation.awarded)
            .deleted("final", &allocation.final_amount)
            .deleted("cluster", &allocation.cluster_id)
            .deleted("request", &allocation.request_id);
        in_transaction!(self, tx => {
            let repr: String = sqlx::query_scalar(REPR_SQL).bind(allocation.id).fetch_one(&mut *tx).await?;
            crate::error::removed_one(sqlx::query("DELETE FROM allocations_resourceallocation WHERE id = $1").bind(allocation.id).execute(&mut *tx).await?.rows_affected())?;
            insert_audit!(&mut *tx, context, ContentType::ResourceAllocation, allocation.id, repr, AuditAction::Delete, Some(changes.to_json()))?;
            Ok::<(), StorageError>(())
        })
    }
}
