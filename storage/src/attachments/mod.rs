//! Attachments of allocation requests and the file store that contains their files.
//!
//! A row of `allocations_attachment` names its file by its stored path, such as
//! `allocations/report.pdf`, relative to `CONFIG_UPLOAD_DIR`. Creating or replacing a file
//! links the staged upload inside the row's transaction (see [`store`]), and deleting a row
//! removes its file once the deletion is committed.

pub mod file_types;
mod store;

use chrono::{DateTime, Utc};

pub use store::{client_base_name, storage_name, FileStore, StagedFile, FOLDER, MAX_STORED_PATH};

use crate::audit::{AuditAction, AuditContext, Changes, ContentType};
use crate::query::{Field, FieldKind, OrderKey, Resource, SearchField};
use crate::{in_transaction, insert_audit, on_backend, placeholders, Backend, Database, StorageError};

/// A row of `allocations_attachment`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Attachment {
    pub id: i64,
    /// The stored path, relative to the upload folder: `allocations/<name>`.
    pub file: String,
    pub name: String,
    pub uploaded: DateTime<Utc>,
    pub request_id: i64,
}

const ATTACHMENT_COLUMNS: &str = "id, file, name, uploaded, request_id";

/// The new state of an attachment. `file` is an upload to store in place of the current file;
/// `None` keeps the current file.
pub struct AttachmentChange<'a> {
    pub name: String,
    pub request_id: i64,
    pub file: Option<(&'a mut StagedFile, String)>,
}

static ATTACHMENT_FIELDS: [Field; 4] = [
    Field::new("id", "a.id", FieldKind::Integer),
    Field::new("name", "a.name", FieldKind::Text),
    Field::new("uploaded", "a.uploaded", FieldKind::DateTime),
    Field::new("request", "a.request_id", FieldKind::ForeignKey { table: "allocations_allocationrequest" }),
];

// The reference also lists a `path` search field, which does not exist there and makes every
// search fail, so it is left out.
static ATTACHMENT_SEARCH: [SearchField; 4] = [
    SearchField::Column("ar.title"),
    SearchField::Column("asu.username"),
    SearchField::Column("asu.first_name"),
    SearchField::Column("asu.last_name"),
];

static ATTACHMENT_ORDER: [OrderKey; 5] = [
    OrderKey::new("id", "a.id"),
    OrderKey::text("file", "a.file"),
    OrderKey::text("name", "a.name"),
    OrderKey::new("uploaded", "a.uploaded"),
    OrderKey::new("request", "a.request_id"),
];

/// `/allocations/attachments/`. The request is joined as `ar` (for scoping by team) and its
/// submitter as `asu`; each attachment has exactly one of each.
pub static ATTACHMENTS: Resource = Resource {
    from: "allocations_attachment a JOIN allocations_allocationrequest ar ON ar.id = a.request_id \
           JOIN users_user asu ON asu.id = ar.submitter_id",
    id_column: "a.id",
    fields: &ATTACHMENT_FIELDS,
    search_fields: &ATTACHMENT_SEARCH,
    order_keys: &ATTACHMENT_ORDER,
    default_order: &["id"],
};

impl Database {
    pub async fn attachment_by_id(&self, id: i64) -> Result<Option<Attachment>, StorageError> {
        let sql = format!("SELECT {ATTACHMENT_COLUMNS} FROM allocations_attachment WHERE id = $1");
        let row = on_backend!(self, pool => sqlx::query_as::<_, Attachment>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row)
    }

    /// Fetches attachments by id, in no particular order.
    pub async fn attachments_by_ids(&self, ids: &[i64]) -> Result<Vec<Attachment>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {ATTACHMENT_COLUMNS} FROM allocations_attachment WHERE id IN ({})", placeholders(1, ids.len()));
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, Attachment>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Lists the stored paths of the attachments of every request of a team, so that a team
    /// deletion can remove their files after it commits.
    pub async fn attachment_files_of_team(&self, team_id: i64) -> Result<Vec<String>, StorageError> {
        let files = on_backend!(self, pool => sqlx::query_scalar::<_, String>(
            "SELECT a.file FROM allocations_attachment a JOIN allocations_allocationrequest r ON r.id = a.request_id WHERE r.team_id = $1",
        ).bind(team_id).fetch_all(pool).await)?;
        Ok(files)
    }

    /// Lists the stored paths of a request's attachments, so that a request deletion can remove
    /// their files after it commits.
    pub async fn attachment_files_of_request(&self, request_id: i64) -> Result<Vec<String>, StorageError> {
        let files = on_backend!(self, pool => sqlx::query_scalar::<_, String>(
            "SELECT file FROM allocations_attachment WHERE request_id = $1",
        ).bind(request_id).fetch_all(pool).await)?;
        Ok(files)
    }

    /// Inserts an attachment and its audit entry, storing the staged upload under
    /// `stored_name` (or that name with a random suffix when it is taken), all in one
    /// transaction. Returns `None`, and stores nothing, when the request already has `limit`
    /// attachments. The file is kept only when the row is committed.
    pub async fn create_attachment(
        &self,
        name: &str,
        request_id: i64,
        mut staged: StagedFile,
        stored_name: &str,
        limit: u64,
        context: &AuditContext,
    ) -> Result<Option<Attachment>, StorageError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let is_postgres = self.backend() == Backend::Postgres;
        let sql = format!(
            "INSERT INTO allocations_attachment (file, name, uploaded, request_id) \
             SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM allocations_attachment WHERE request_id = $4) < $5 \
             RETURNING {ATTACHMENT_COLUMNS}"
        );
        let created = in_transaction!(self, tx => {
            if is_postgres {
                // Concurrent uploads to one request wait here, so they cannot both pass the
                // count check. SQLite takes its write lock at the INSERT, before counting.
                sqlx::query("SELECT id FROM allocations_allocationrequest WHERE id = $1 FOR UPDATE").bind(request_id).execute(&mut *tx).await?;
            }
            let stored = staged.link(stored_name)?;
            let inserted: Option<Attachment> = sqlx::query_as::<_, Attachment>(&sql)
                .bind(&stored)
                .bind(name)
                .bind(crate::now())
                .bind(request_id)
                .bind(limit)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(attachment) = &inserted {
                let mut changes = Changes::new();
                changes
                    .created("id", &attachment.id)
                    .created("file", attachment.file.as_str())
                    .created("name", attachment.name.as_str())
                    .created("request", &attachment.request_id)
                    .created("uploaded", &attachment.uploaded);
                insert_audit!(&mut *tx, context, ContentType::Attachment, attachment.id, attachment_repr(attachment), AuditAction::Create, Some(changes.to_json()))?;
            }
            Ok::<Option<Attachment>, StorageError>(inserted)
        })?;
        if created.is_some() {
            staged.keep();
        }
        Ok(created)
    }

    /// Stores the new state of an attachment with an audit entry, and `uploaded` set to now.
    /// A new file is linked inside the transaction and kept only when it commits; the
    /// replaced file is then removed from `store`. Returns `None`, and changes nothing, when
    /// the attachment moves to a request that already has `limit` attachments.
    pub async fn update_attachment(
        &self,
        current: &Attachment,
        change: AttachmentChange<'_>,
        limit: u64,
        store: &FileStore,
        context: &AuditContext,
    ) -> Result<Option<Attachment>, StorageError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let is_postgres = self.backend() == Backend::Postgres;
        let moves = change.request_id != current.request_id;
        let AttachmentChange { name, request_id, file } = change;
        let (mut staged, stored_name) = match file {
            Some((staged, stored_name)) => (Some(staged), stored_name),
            None => (None, String::new()),
        };
        let sql = format!(
            "UPDATE allocations_attachment SET file = $1, name = $2, uploaded = $3, request_id = $4 \
             WHERE id = $5 AND (request_id = $4 OR (SELECT COUNT(*) FROM allocations_attachment WHERE request_id = $4) < $6) \
             RETURNING {ATTACHMENT_COLUMNS}"
        );
        let updated = in_transaction!(self, tx => {
            if is_postgres && moves {
                sqlx::query("SELECT id FROM allocations_allocationrequest WHERE id = $1 FOR UPDATE").bind(request_id).execute(&mut *tx).await?;
            }
            let stored = match staged.as_deref_mut() {
                Some(staged) => staged.link(&stored_name)?,
                None => current.file.clone(),
            };
            let updated: Option<Attachment> = sqlx::query_as::<_, Attachment>(&sql)
                .bind(&stored)
                .bind(&name)
                .bind(crate::now())
                .bind(request_id)
                .bind(current.id)
                .bind(limit)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(attachment) = &updated {
                let mut changes = Changes::new();
                changes
                    .updated("file", current.file.as_str(), attachment.file.as_str())
                    .updated("name", current.name.as_str(), attachment.name.as_str())
                    .updated("request", &current.request_id, &attachment.request_id)
                    .updated("uploaded", &current.uploaded, &attachment.uploaded);
                insert_audit!(&mut *tx, context, ContentType::Attachment, attachment.id, attachment_repr(attachment), AuditAction::Update, Some(changes.to_json()))?;
            }
            Ok::<Option<Attachment>, StorageError>(updated)
        })?;
        if let (Some(attachment), Some(staged)) = (&updated, staged) {
            staged.keep();
            if attachment.file != current.file {
                store.remove(&current.file);
            }
        }
        Ok(updated)
    }

    /// Deletes an attachment with an audit entry, then removes its file from `store`.
    pub async fn delete_attachment(&self, attachment: &Attachment, store: &FileStore, context: &AuditContext) -> Result<(), StorageError> {
        let mut changes = Changes::new();
        changes
            .deleted("id", &attachment.id)
            .deleted("file", attachment.file.as_str())
            .deleted("name", attachment.name.as_str())
            .deleted("request", &attachment.request_id)
            .deleted("uploaded", &attachment.uploaded);
        in_transaction!(self, tx => {
            crate::error::removed_one(sqlx::query("DELETE FROM allocations_attachment WHERE id = $1").bind(attachment.id).execute(&mut *tx).await?.rows_affected())?;
            insert_audit!(&mut *tx, context, ContentType::Attachment, attachment.id, attachment_repr(attachment), AuditAction::Delete, Some(changes.to_json()))?;
            Ok::<(), StorageError>(())
        })?;
        // NOTE: a crash between the commit and this removal leaves the file on disk, unlisted.
        store.remove(&attachment.file);
        Ok(())
    }
}

/// Formats the audit `object_repr` of an attachment.
fn attachment_repr(attachment: &Attachment) -> String {
    format!("Attachment #{} - '{}' on request #{}", attachment.id, attachment.name, attachment.request_id)
}
