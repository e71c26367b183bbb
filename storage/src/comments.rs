//! Comments on allocation requests, and the columns of a parent request that comments and
//! attachments show and check.
//!
//! Allocation requests belong to the allocations module. Their children read the request table
//! directly for the few columns they need: the summary nested in their representation and the
//! team that decides who may see them.

use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::{AuditAction, AuditContext, Changes, ContentType};
use crate::query::{Field, FieldKind, OrderKey, Resource, SearchField};
use crate::{in_transaction, insert_audit, on_backend, placeholders, Database, StorageError};

/// A row of `allocations_comment`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Comment {
    pub id: i64,
    pub content: String,
    pub created: DateTime<Utc>,
    pub private: bool,
    pub user_id: i64,
    pub request_id: i64,
}

const COMMENT_COLUMNS: &str = "id, content, created, private, user_id, request_id";

/// The writable fields of a comment, for a new comment or the new state of an existing one.
#[derive(Clone, Debug)]
pub struct CommentFields {
    pub content: String,
    pub private: bool,
    pub user_id: i64,
    pub request_id: i64,
}

/// The columns of an allocation request that its comments and attachments need: the summary
/// nested in their representation and the owning team.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ParentRequest {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub active: Option<NaiveDate>,
    pub expire: Option<NaiveDate>,
    pub team_id: i64,
}

const PARENT_COLUMNS: &str = "id, title, status, active, expire, team_id";

static COMMENT_FIELDS: [Field; 6] = [
    Field::new("id", "c.id", FieldKind::Integer),
    Field::new("content", "c.content", FieldKind::Text),
    Field::new("created", "c.created", FieldKind::DateTime),
    Field::new("private", "c.private", FieldKind::Boolean),
    Field::new("user", "c.user_id", FieldKind::ForeignKey { table: "users_user" }),
    Field::new("request", "c.request_id", FieldKind::ForeignKey { table: "allocations_allocationrequest" }),
];

static COMMENT_SEARCH: [SearchField; 5] = [
    SearchField::Column("c.content"),
    SearchField::Column("cr.title"),
    SearchField::Column("cu.username"),
    SearchField::Column("cu.first_name"),
    SearchField::Column("cu.last_name"),
];

static COMMENT_ORDER: [OrderKey; 6] = [
    OrderKey::new("id", "c.id"),
    OrderKey::new("user", "c.user_id"),
    OrderKey::text("content", "c.content"),
    OrderKey::new("created", "c.created"),
    OrderKey::new("private", "c.private"),
    OrderKey::new("request", "c.request_id"),
];

/// `/allocations/comments/`. The request is joined as `cr` (for scoping by team) and the
/// author as `cu`; each comment has exactly one of each.
pub static COMMENTS: Resource = Resource {
    from: "allocations_comment c JOIN allocations_allocationrequest cr ON cr.id = c.request_id \
           JOIN users_user cu ON cu.id = c.user_id",
    id_column: "c.id",
    fields: &COMMENT_FIELDS,
    search_fields: &COMMENT_SEARCH,
    order_keys: &COMMENT_ORDER,
    default_order: &["id"],
};

impl Database {
    pub async fn parent_request(&self, id: i64) -> Result<Option<ParentRequest>, StorageError> {
        let sql = format!("SELECT {PARENT_COLUMNS} FROM allocations_allocationrequest WHERE id = $1");
        let row = on_backend!(self, pool => sqlx::query_as::<_, ParentRequest>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row)
    }

    /// Fetches allocation requests by id, in no particular order.
    pub async fn parent_requests(&self, ids: &[i64]) -> Result<Vec<ParentRequest>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {PARENT_COLUMNS} FROM allocations_allocationrequest WHERE id IN ({})", placeholders(1, ids.len()));
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, ParentRequest>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    pub async fn comment_by_id(&self, id: i64) -> Result<Option<Comment>, StorageError> {
        let sql = format!("SELECT {COMMENT_COLUMNS} FROM allocations_comment WHERE id = $1");
        let row = on_backend!(self, pool => sqlx::query_as::<_, Comment>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row)
    }

    /// Fetches comments by id, in no particular order.
    pub async fn comments_by_ids(&self, ids: &[i64]) -> Result<Vec<Comment>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {COMMENT_COLUMNS} FROM allocations_comment WHERE id IN ({})", placeholders(1, ids.len()));
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, Comment>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Inserts a comment, created now, and its audit entry in one transaction. A user or
    /// request that does not exist is a [`StorageError::Conflict`].
    pub async fn create_comment(&self, fields: &CommentFields, context: &AuditContext) -> Result<Comment, StorageError> {
        let sql = format!(
            "INSERT INTO allocations_comment (content, created, private, user_id, request_id) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COMMENT_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let comment: Comment = sqlx::query_as::<_, Comment>(&sql)
                .bind(&fields.content)
                .bind(crate::now())
                .bind(fields.private)
                .bind(fields.user_id)
                .bind(fields.request_id)
                .fetch_one(&mut *tx)
                .await?;
            let username: String =
                sqlx::query_scalar("SELECT username FROM users_user WHERE id = $1").bind(comment.user_id).fetch_one(&mut *tx).await?;
            // Fields in the order PostgreSQL's jsonb gives the reference's audit entries.
            let mut changes = Changes::new();
            changes
                .created("id", &comment.id)
                .created("user", &comment.user_id)
                .created("content", comment.content.as_str())
                .created("created", &comment.created)
                .created("private", &comment.private)
                .created("request", &comment.request_id);
            let repr = comment_repr(&comment, &username);
            insert_audit!(&mut *tx, context, ContentType::Comment, comment.id, repr, AuditAction::Create, Some(changes.to_json()))?;
            Ok::<Comment, StorageError>(comment)
        })
    }

    /// Stores the new state of a comment with an audit entry of the changed fields.
    pub async fn update_comment(&self, current: &Comment, fields: &CommentFields, context: &AuditContext) -> Result<Comment, StorageError> {
        let mut changes = Changes::new();
        changes
            .updated("user", &current.user_id, &fields.user_id)
            .updated("content", current.content.as_str(), fields.content.as_str())
            .updated("private", &current.private, &fields.private)
            .updated("request", &current.request_id, &fields.request_id);
        let sql = format!(
            "UPDATE allocations_comment SET content = $1, private = $2, user_id = $3, request_id = $4 \
             WHERE id = $5 RETURNING {COMMENT_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let comment: Comment = sqlx::query_as::<_, Comment>(&sql)
                .bind(&fields.content)
                .bind(fields.private)
                .bind(fields.user_id)
                .bind(fields.request_id)
                .bind(current.id)
                .fetch_one(&mut *tx)
                .await?;
            if !changes.is_empty() {
                let username: String =
                    sqlx::query_scalar("SELECT username FROM users_user WHERE id = $1").bind(comment.user_id).fetch_one(&mut *tx).await?;
                let repr = comment_repr(&comment, &username);
                insert_audit!(&mut *tx, context, ContentType::Comment, comment.id, repr, AuditAction::Update, Some(changes.to_json()))?;
            }
            Ok::<Comment, StorageError>(comment)
        })
    }

    /// Deletes a comment with an audit entry.
    pub async fn delete_comment(&self, comment: &Comment, context: &AuditContext) -> Result<(), StorageError> {
        let mut changes = Changes::new();
        changes
            .deleted("id", &comment.id)
            .deleted("user", &comment.user_id)
            .deleted("content", comment.content.as_str())
            .deleted("created", &comment.created)
            .deleted("private", &comment.private)
            .deleted("request", &comment.request_id);
        in_transaction!(self, tx => {
            // Writing first makes SQLite take its write lock at the start of the transaction.
            crate::error::removed_one(sqlx::query("DELETE FROM allocations_comment WHERE id = $1").bind(comment.id).execute(&mut *tx).await?.rows_affected())?;
            let username: String =
                sqlx::query_scalar("SELECT username FROM users_user WHERE id = $1").bind(comment.user_id).fetch_one(&mut *tx).await?;
            let repr = comment_repr(comment, &username);
            insert_audit!(&mut *tx, context, ContentType::Comment, comment.id, repr, AuditAction::Delete, Some(changes.to_json()))?;
            Ok::<(), StorageError>(())
        })
    }
}

/// Formats the audit `object_repr` of a comment.
fn comment_repr(comment: &Comment, username: &str) -> String {
    format!("Comment #{} - by {username} on request #{}", comment.id, comment.request_id)
}
