//! Allocation requests: look-ups, the records nested in a request's representation (each
//! fetched in one query for any number of requests), and changes with audit records.

use chrono::NaiveDate;

use crate::allocations::records::{
    AllocationRequest, RequestAllocation, RequestAttachment, RequestComment, RequestGrant, RequestPublication, RequestWithTeam,
};
use crate::allocations::resources::REQUEST_FROM;
use crate::allocations::short_title;
use crate::audit::{AuditAction, AuditContext, Changes, ContentType};
use crate::{in_transaction, insert_audit, on_backend, placeholders, Database, StorageError};

/// Columns of `allocations_allocationrequest`, in table order.
pub const REQUEST_COLUMNS: &str = "id, title, description, submitted, active, expire, status, submitter_id, team_id";

/// The select list of a [`RequestWithTeam`] over [`REQUEST_FROM`].
pub const REQUEST_WITH_TEAM_COLUMNS: &str = "r.id, r.title, r.description, r.submitted, r.active, r.expire, r.status, \
     r.submitter_id, r.team_id, rt.slug AS team_slug, rt.name AS team_name, rt.is_active AS team_is_active";

/// Writable plain fields of an allocation request.
#[derive(Clone, Debug)]
pub struct RequestFields {
    pub title: String,
    pub description: String,
    pub active: Option<NaiveDate>,
    pub expire: Option<NaiveDate>,
    pub status: String,
    pub submitter_id: i64,
    pub team_id: i64,
}

/// New id lists of a request's many-to-many links; `None` keeps a list unchanged.
#[derive(Clone, Debug, Default)]
pub struct RequestLinks {
    pub assignees: Option<Vec<i64>>,
    pub publications: Option<Vec<i64>>,
    pub grants: Option<Vec<i64>>,
}

/// Formats the audit `object_repr` of an allocation request.
pub fn request_repr(id: i64, title: &str, team_id: i64, team_name: &str) -> String {
    format!("Allocation Request #{id} - '{}' for Team #{team_id} - {team_name}", short_title(title))
}

/// Renders a date as Python's `str()` does in audit records.
fn date_text(date: &Option<NaiveDate>) -> Option<String> {
    date.map(|date| date.format("%Y-%m-%d").to_string())
}

/// Binds every id of `$ids` to `$query` in order.
macro_rules! bind_ids {
    ($query:expr, $ids:expr) => {{
        let mut query = $query;
        for id in $ids {
            query = query.bind(*id);
        }
        query
    }};
}

/// Replaces the link tables named in `$links` (a [`RequestLinks`]) for request `$id`.
macro_rules! replace_links {
    ($tx:ident, $id:expr, $links:expr) => {{
        let links: &RequestLinks = $links;
        let tables: [(&str, &str, &Option<Vec<i64>>); 3] = [
            ("allocations_allocationrequest_assignees", "user_id", &links.assignees),
            ("allocations_allocationrequest_publications", "publication_id", &links.publications),
            ("allocations_allocationrequest_grants", "grant_id", &links.grants),
        ];
        for (table, column, ids) in tables {
            let Some(ids) = ids else { continue };
            sqlx::query(&format!("DELETE FROM {table} WHERE allocationrequest_id = $1")).bind($id).execute(&mut *$tx).await?;
            for linked in ids {
                sqlx::query(&format!("INSERT INTO {table} (allocationrequest_id, {column}) VALUES ($1, $2) ON CONFLICT DO NOTHING"))
                    .bind($id)
                    .bind(*linked)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    }};
}

/// Inserts a delete audit entry for every review, resource allocation, comment and attachment
/// of request `$request_id`, before the request's deletion cascades to them.
macro_rules! audit_request_children_deletes {
    ($tx:ident, $context:expr, $request_id:expr) => {{
        let context: &AuditContext = $context;
        let statements = [
            "SELECT 6 AS content_type, v.id AS id, 'Allocation Review #' || CAST(v.id AS TEXT) || ' - ' || u.username || ' review of request #' \
             || CAST(v.request_id AS TEXT) AS repr FROM allocations_allocationreview v JOIN users_user u ON u.id = v.reviewer_id \
             WHERE v.request_id = $1",
            "SELECT 7 AS content_type, a.id AS id, 'Resource Allocation #' || CAST(a.id AS TEXT) || ' - Cluster #' || CAST(c.id AS TEXT) || ' - ' \
             || c.name || ' allocation for Team #' || CAST(t.id AS TEXT) || ' - ' || t.name AS repr \
             FROM allocations_resourceallocation a JOIN allocations_cluster c ON c.id = a.cluster_id \
             JOIN allocations_allocationrequest r ON r.id = a.request_id JOIN users_team t ON t.id = r.team_id \
             WHERE a.request_id = $1",
            "SELECT 9 AS content_type, m.id AS id, 'Comment #' || CAST(m.id AS TEXT) || ' - by ' || u.username || ' on request #' \
             || CAST(m.request_id AS TEXT) AS repr FROM allocations_comment m JOIN users_user u ON u.id = m.user_id \
             WHERE m.request_id = $1",
            "SELECT 8 AS content_type, f.id AS id, 'Attachment #' || CAST(f.id AS TEXT) || ' - ''' || f.name || ''' on request #' \
             || CAST(f.request_id AS TEXT) AS repr FROM allocations_attachment f WHERE f.request_id = $1",
        ];
        for select in statements {
            sqlx::query(&format!(
                "INSERT INTO auditlog_logentry (content_type_id, object_id, object_repr, object_pk, action, changes_text, \
                 changes, cid, remote_addr, remote_port, timestamp, actor_id, actor_email) \
                 SELECT child.content_type, child.id, child.repr, CAST(child.id AS TEXT), 2, '', NULL, $2, $3, $4, $5, $6, $7 \
                 FROM ({select}) child"
            ))
            .bind($request_id)
            .bind(context.cid.clone())
            .bind(context.remote_addr.clone())
            .bind(context.remote_port)
            .bind(crate::now())
            .bind(context.actor_id)
            .bind(context.actor_email.clone())
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Database {
    pub async fn allocation_request_by_id(&self, id: i64) -> Result<Option<AllocationRequest>, StorageError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM allocations_allocationrequest WHERE id = $1");
        let request = on_backend!(self, pool => sqlx::query_as::<_, AllocationRequest>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(request)
    }

    /// Requests with their team's summary columns, by id, in no particular order.
    pub async fn allocation_requests_by_ids(&self, ids: &[i64]) -> Result<Vec<RequestWithTeam>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {REQUEST_WITH_TEAM_COLUMNS} FROM {REQUEST_FROM} WHERE r.id IN ({})", placeholders(1, ids.len()));
        let rows = on_backend!(self, pool => bind_ids!(sqlx::query_as::<_, RequestWithTeam>(&sql), ids).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// Assignees of the given requests as `(request_id, user_id)` pairs, ordered by user id.
    pub async fn request_assignees(&self, request_ids: &[i64]) -> Result<Vec<(i64, i64)>, StorageError> {
        if request_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT allocationrequest_id, user_id FROM allocations_allocationrequest_assignees \
             WHERE allocationrequest_id IN ({}) ORDER BY allocationrequest_id, user_id",
            placeholders(1, request_ids.len())
        );
        let rows = on_backend!(self, pool => bind_ids!(sqlx::query_as::<_, (i64, i64)>(&sql), request_ids).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// Publications linked to the given requests, ordered by title (code point order), then id.
    pub async fn request_publications(&self, request_ids: &[i64]) -> Result<Vec<RequestPublication>, StorageError> {
        if request_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT l.allocationrequest_id AS request_id, p.id, p.title, p.abstract, p.published, p.submitted, p.journal, \
             p.doi, p.volume, p.issue, p.team_id FROM allocations_allocationrequest_publications l \
             JOIN research_products_publication p ON p.id = l.publication_id WHERE l.allocationrequest_id IN ({})",
            placeholders(1, request_ids.len())
        );
        let mut rows =
            on_backend!(self, pool => bind_ids!(sqlx::query_as::<_, RequestPublication>(&sql), request_ids).fetch_all(pool).await)?;
        rows.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
        Ok(rows)
    }

    /// Grants linked to the given requests, ordered by title (code point order), then id.
    pub async fn request_grants(&self, request_ids: &[i64]) -> Result<Vec<RequestGrant>, StorageError> {
        if request_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT l.allocationrequest_id AS request_id, g.id, g.title, g.agency, g.pi, g.amount_cents, g.grant_number, \
             g.start_date, g.end_date, g.description, g.team_id FROM allocations_allocationrequest_grants l \
             JOIN research_products_grant g ON g.id = l.grant_id WHERE l.allocationrequest_id IN ({})",
            placeholders(1, request_ids.len())
        );
        let mut rows = on_backend!(self, pool => bind_ids!(sqlx::query_as::<_, RequestGrant>(&sql), request_ids).fetch_all(pool).await)?;
        rows.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
        Ok(rows)
    }

    /// Resource allocations of the given requests with their clusters, ordered by cluster
    /// name (code point order), then id.
    pub async fn request_allocations(&self, request_ids: &[i64]) -> Result<Vec<RequestAllocation>, StorageError> {
        if request_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT a.request_id, a.id, a.cluster_id, a.requested, a.awarded, a.final, c.name AS cluster_name, \
             c.enabled AS cluster_enabled FROM allocations_resourceallocation a JOIN allocations_cluster c ON c.id = a.cluster_id \
             WHERE a.request_id IN ({})",
            placeholders(1, request_ids.len())
        );
        let mut rows =
            on_backend!(self, pool => bind_ids!(sqlx::query_as::<_, RequestAllocation>(&sql), request_ids).fetch_all(pool).await)?;
        rows.sort_by(|a, b| a.cluster_name.cmp(&b.cluster_name).then(a.id.cmp(&b.id)));
        Ok(rows)
    }

    /// Attachment paths and names of the given requests, ordered by attachment id.
    pub async fn request_attachments(&self, request_ids: &[i64]) -> Result<Vec<RequestAttachment>, StorageError> {
        if request_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT request_id, file, name FROM allocations_attachment WHERE request_id IN ({}) ORDER BY id",
            placeholders(1, request_ids.len())
        );
        let rows = on_backend!(self, pool => bind_ids!(sqlx::query_as::<_, RequestAttachment>(&sql), request_ids).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// Comments on the given requests, oldest first; private ones only when `include_private`.
    pub async fn request_comments(&self, request_ids: &[i64], include_private: bool) -> Result<Vec<RequestComment>, StorageError> {
        if request_ids.is_empty() {
            return Ok(Vec::new());
        }
        let visibility = if include_private { "" } else { "AND NOT private" };
        let sql = format!(
            "SELECT request_id, id, user_id, content, created, private FROM allocations_comment \
             WHERE request_id IN ({}) {visibility} ORDER BY created, id",
            placeholders(1, request_ids.len())
        );
        let rows = on_backend!(self, pool => bind_ids!(sqlx::query_as::<_, RequestComment>(&sql), request_ids).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// Inserts a request with its links and its audit record; `submitted` is now.
    pub async fn create_allocation_request(
        &self,
        fields: &RequestFields,
        links: &RequestLinks,
        context: &AuditContext,
    ) -> Result<AllocationRequest, StorageError> {
        let submitted = crate::now();
        let sql = format!(
            "INSERT INTO allocations_allocationrequest (title, description, submitted, active, expire, status, submitter_id, team_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {REQUEST_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let request: AllocationRequest = sqlx::query_as::<_, AllocationRequest>(&sql)
                .bind(&fields.title)
                .bind(&fields.description)
                .bind(submitted)
                .bind(fields.active)
                .bind(fields.expire)
                .bind(&fields.status)
                .bind(fields.submitter_id)
                .bind(fields.team_id)
                .fetch_one(&mut *tx)
                .await?;
            replace_links!(tx, request.id, links);
            let team_name: String = sqlx::query_scalar("SELECT name FROM users_team WHERE id = $1").bind(request.team_id).fetch_one(&mut *tx).await?;
            let mut changes = Changes::new();
            changes
                .created("id", &request.id)
                .created("title", &request.title)
                .created("description", &request.description)
                .created("submitted", &request.submitted)
                .created("active", &date_text(&request.active))
                .created("expire", &date_text(&request.expire))
                .created("status", &request.status)
                .created("submitter", &request.submitter_id)
                .created("team", &request.team_id);
            let repr = request_repr(request.id, &request.title, request.team_id, &team_name);
            insert_audit!(&mut *tx, context, ContentType::AllocationRequest, request.id, repr, AuditAction::Create, Some(changes.to_json()))?;
            Ok::<AllocationRequest, StorageError>(request)
        })
    }

    /// Replaces a request's plain fields and the links given in `links`, with an audit record
    /// of the changed plain fields.
    pub async fn update_allocation_request(
        &self,
        current: &AllocationRequest,
        fields: &RequestFields,
        links: &RequestLinks,
        context: &AuditContext,
    ) -> Result<AllocationRequest, StorageError> {
        let mut changes = Changes::new();
        changes
            .updated("title", current.title.as_str(), fields.title.as_str())
            .updated("description", current.description.as_str(), fields.description.as_str())
            .updated("active", &date_text(&current.active), &date_text(&fields.active))
            .updated("expire", &date_text(&current.expire), &date_text(&fields.expire))
            .updated("status", current.status.as_str(), fields.status.as_str())
            .updated("submitter", &current.submitter_id, &fields.submitter_id)
            .updated("team", &current.team_id, &fields.team_id);
        let sql = format!(
            "UPDATE allocations_allocationrequest SET title = $1, description = $2, active = $3, expire = $4, status = $5, \
             submitter_id = $6, team_id = $7 WHERE id = $8 RETURNING {REQUEST_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let request: AllocationRequest = sqlx::query_as::<_, AllocationRequest>(&sql)
                .bind(&fields.title)
                .bind(&fields.description)
                .bind(fields.active)
                .bind(fields.expire)
                .bind(&fields.status)
                .bind(fields.submitter_id)
                .bind(fields.team_id)
                .bind(current.id)
                .fetch_one(&mut *tx)
                .await?;
            replace_links!(tx, request.id, links);
            if !changes.is_empty() {
                let team_name: String = sqlx::query_scalar("SELECT name FROM users_team WHERE id = $1").bind(request.team_id).fetch_one(&mut *tx).await?;
                let repr = request_repr(request.id, &request.title, request.team_id, &team_name);
                insert_audit!(&mut *tx, context, ContentType::AllocationRequest, request.id, repr, AuditAction::Update, Some(changes.to_json()))?;
            }
            Ok::<AllocationRequest, StorageError>(request)
        })
    }

    /// Deletes a request. Its reviews, resource allocations, comments and attachments go with
    /// it, and each deleted record gets an audit entry. The caller removes the attachment files
    /// once this returns, because the files are not part of the transaction.
    pub async fn delete_allocation_request(&self, request: &AllocationRequest, context: &AuditContext) -> Result<(), StorageError> {
        let mut changes = Changes::new();
        changes
            .deleted("id", &request.id)
            .deleted("title", request.title.as_str())
            .deleted("description", request.description.as_str())
            .deleted("submitted", &request.submitted)
            .deleted("active", &date_text(&request.active))
            .deleted("expire", &date_text(&request.expire))
            .deleted("status", request.status.as_str())
            .deleted("submitter", &request.submitter_id)
            .deleted("team", &request.team_id);
        in_transaction!(self, tx => {
            audit_request_children_deletes!(tx, context, request.id);
            let team_name: String = sqlx::query_scalar("SELECT name FROM users_team WHERE id = $1").bind(request.team_id).fetch_one(&mut *tx).await?;
            crate::error::removed_one(sqlx::query("DELETE FROM allocations_allocationrequest WHERE id = $1").bind(request.id).execute(&mut *tx).await?.rows_affected())?;
            let repr = request_repr(request.id, &request.title, request.team_id, &team_name);
            insert_audit!(&mut *tx, context, ContentType::AllocationRequest, request.id, repr, AuditAction::Delete, Some(changes.to_json()))?;
            Ok::<(), StorageError>(())
        })
    }
}
