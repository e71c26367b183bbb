//! Reviews of allocation requests.

use crate::allocations::records::{AllocationReview, ReviewWithRequest};
use crate::allocations::resources::REVIEW_FROM;
use crate::audit::{AuditAction, AuditContext, Changes, ContentType};
use crate::{in_transaction, insert_audit, on_backend, placeholders, Database, StorageError};

/// Columns of `allocations_allocationreview`, in table order.
pub const REVIEW_COLUMNS: &str = "id, status, submitted, request_id, reviewer_id";

/// The select list of a [`ReviewWithRequest`] over [`REVIEW_FROM`].
pub const REVIEW_WITH_REQUEST_COLUMNS: &str = "v.id, v.status, v.submitted, v.request_id, v.reviewer_id, \
     vr.title AS request_title, vr.status AS request_status, vr.active AS request_active, vr.expire AS request_expire, vr.team_id";

/// Writable fields of a review.
#[derive(Clone, Debug)]
pub struct ReviewFields {
    pub status: String,
    pub request_id: i64,
    pub reviewer_id: i64,
}

/// Formats the audit `object_repr` of a review.
pub fn review_repr(id: i64, reviewer_username: &str, request_id: i64) -> String {
    format!("Allocation Review #{id} - {reviewer_username} review of request #{request_id}")
}

impl Database {
    pub async fn review_by_id(&self, id: i64) -> Result<Option<ReviewWithRequest>, StorageError> {
        let sql = format!("SELECT {REVIEW_WITH_REQUEST_COLUMNS} FROM {REVIEW_FROM} WHERE v.id = $1");
        let review = on_backend!(self, pool => sqlx::query_as::<_, ReviewWithRequest>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(review)
    }

    /// Reviews with their request's summary columns, by id, in no particular order.
    pub async fn reviews_by_ids(&self, ids: &[i64]) -> Result<Vec<ReviewWithRequest>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {REVIEW_WITH_REQUEST_COLUMNS} FROM {REVIEW_FROM} WHERE v.id IN ({})", placeholders(1, ids.len()));
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, ReviewWithRequest>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Inserts a review and its audit record; `submitted` is now.
    pub async fn create_review(&self, fields: &ReviewFields, context: &AuditContext) -> Result<AllocationReview, StorageError> {
        let sql = format!(
            "INSERT INTO allocations_allocationreview (status, submitted, request_id, reviewer_id) VALUES ($1, $2, $3, $4) \
             RETURNING {REVIEW_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let review: AllocationReview = sqlx::query_as::<_, AllocationReview>(&sql)
                .bind(&fields.status)
                .bind(crate::now())
                .bind(fields.request_id)
                .bind(fields.reviewer_id)
                .fetch_one(&mut *tx)
                .await?;
            let username: String = sqlx::query_scalar("SELECT username FROM users_user WHERE id = $1").bind(review.reviewer_id).fetch_one(&mut *tx).await?;
            let mut changes = Changes::new();
            changes
                .created("id", &review.id)
                .created("status", &review.status)
                .created("submitted", &review.submitted)
                .created("request", &review.request_id)
                .created("reviewer", &review.reviewer_id);
            let repr = review_repr(review.id, &username, review.request_id);
            insert_audit!(&mut *tx, context, ContentType::AllocationReview, review.id, repr, AuditAction::Create, Some(changes.to_json()))?;
            Ok::<AllocationReview, StorageError>(review)
        })
    }

    /// Replaces a review's fields, with an audit record of the changed ones.
    pub async fn update_review(
        &self,
        current: &AllocationReview,
        fields: &ReviewFields,
        context: &AuditContext,
    ) -> Result<AllocationReview, StorageError> {
        let mut changes = Changes::new();
        changes
            .updated("status", current.status.as_str(), fields.status.as_str())
            .updated("request", &current.request_id, &fields.request_id)
            .updated("reviewer", &current.reviewer_id, &fields.reviewer_id);
        let sql = format!("UPDATE allocations_allocationreview SET status = $1, request_id = $2, reviewer_id = $3 WHERE id = $4 RETURNING {REVIEW_COLUMNS}");
        in_transaction!(self, tx => {
            let review: AllocationReview = sqlx::query_as::<_, AllocationReview>(&sql)
                .bind(&fields.status)
                .bind(fields.request_id)
                .bind(fields.reviewer_id)
                .bind(current.id)
                .fetch_one(&mut *tx)
                .await?;
            if !changes.is_empty() {
                let username: String = sqlx::query_scalar("SELECT username FROM users_user WHERE id = $1").bind(review.reviewer_id).fetch_one(&mut *tx).await?;
                let repr = review_repr(review.id, &username, review.request_id);
                insert_audit!(&mut *tx, context, ContentType::AllocationReview, review.id, repr, AuditAction::Update, Some(changes.to_json()))?;
            }
            Ok::<AllocationReview, StorageError>(review)
        })
    }

    pub async fn delete_review(&self, review: &AllocationReview, context: &AuditContext) -> Result<(), StorageError> {
        let mut changes = Changes::new();
        changes
            .deleted("id", &review.id)
            .deleted("status", review.status.as_str())
            .deleted("submitted", &review.submitted)
            .deleted("request", &review.request_id)
            .deleted("reviewer", &review.reviewer_id);
        in_transaction!(self, tx => {
            let username: String = sqlx::query_scalar("SELECT username FROM users_user WHERE id = $1").bind(review.reviewer_id).fetch_one(&mut *tx).await?;
            crate::error::removed_one(sqlx::query("DELETE FROM allocations_allocationreview WHERE id = $1").bind(review.id).execute(&mut *tx).await?.rows_affected())?;
            let repr = review_repr(review.id, &username, review.request_id);
            insert_audit!(&mut *tx, context, ContentType::AllocationReview, review.id, repr, AuditAction::Delete, Some(changes.to_json()))?;
            Ok::<(), StorageError>(())
        })
    }
}
