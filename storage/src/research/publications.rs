//! Publications: look-ups and changes with their audit entries.

use chrono::NaiveDate;

use super::{date_text, short_title};
use crate::audit::{AuditAction, AuditContext, Changes, ContentType};
use crate::{in_transaction, insert_audit, on_backend, placeholders, Database, StorageError};

/// A row of `research_products_publication`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Publication {
    pub id: i64,
    pub title: String,
    #[sqlx(rename = "abstract")]
    pub abstract_text: Option<String>,
    pub published: Option<NaiveDate>,
    pub submitted: Option<NaiveDate>,
    pub journal: Option<String>,
    pub doi: Option<String>,
    pub volume: Option<String>,
    pub issue: Option<String>,
    pub team_id: i64,
}

const PUBLICATION_COLUMNS: &str = "id, title, abstract, published, submitted, journal, doi, volume, issue, team_id";

/// The writable fields of a publication, for a new publication or the new state of an
/// existing one.
#[derive(Clone, Debug)]
pub struct PublicationFields {
    pub title: String,
    pub abstract_text: Option<String>,
    pub published: Option<NaiveDate>,
    pub submitted: Option<NaiveDate>,
    pub journal: Option<String>,
    pub doi: Option<String>,
    pub volume: Option<String>,
    pub issue: Option<String>,
    pub team_id: i64,
}

impl PublicationFields {
    /// Copies the current fields of a publication, to apply a partial change to.
    pub fn of(publication: &Publication) -> PublicationFields {
        PublicationFields {
            title: publication.title.clone(),
            abstract_text: publication.abstract_text.clone(),
            published: publication.published,
            submitted: publication.submitted,
            journal: publication.journal.clone(),
            doi: publication.doi.clone(),
            volume: publication.volume.clone(),
            issue: publication.issue.clone(),
            team_id: publication.team_id,
        }
    }
}

/// Binds the nine writable columns, in `PUBLICATION_COLUMNS` order without the id, as
/// `$1`..`$9`.
macro_rules! bind_fields {
    ($query:expr, $fields:expr) => {{
        let fields: &PublicationFields = $fields;
        $query
            .bind(fields.title.clone())
            .bind(fields.abstract_text.clone())
            .bind(fields.published)
            .bind(fields.submitted)
            .bind(fields.journal.clone())
            .bind(fields.doi.clone())
            .bind(fields.volume.clone())
            .bind(fields.issue.clone())
            .bind(fields.team_id)
    }};
}

impl Database {
    pub async fn publication_by_id(&self, id: i64) -> Result<Option<Publication>, StorageError> {
        let sql = format!("SELECT {PUBLICATION_COLUMNS} FROM research_products_publication WHERE id = $1");
        let row = on_backend!(self, pool => sqlx::query_as::<_, Publication>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row)
    }

    /// Fetches publications by id, in no particular order.
    pub async fn publications_by_ids(&self, ids: &[i64]) -> Result<Vec<Publication>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {PUBLICATION_COLUMNS} FROM research_products_publication WHERE id IN ({})", placeholders(1, ids.len()));
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, Publication>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Checks whether a publication other than `except` has this DOI.
    pub async fn doi_taken(&self, doi: &str, except: Option<i64>) -> Result<bool, StorageError> {
        let count: i64 = on_backend!(self, pool => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM research_products_publication WHERE doi = $1 AND id <> $2",
        ).bind(doi).bind(except.unwrap_or(0)).fetch_one(pool).await)?;
        Ok(count > 0)
    }

    /// Inserts a publication and its audit entry in one transaction. A DOI that another
    /// publication has is a [`StorageError::Conflict`].
    pub async fn create_publication(&self, fields: &PublicationFields, context: &AuditContext) -> Result<Publication, StorageError> {
        let sql = format!(
            "INSERT INTO research_products_publication (title, abstract, published, submitted, journal, doi, volume, issue, team_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {PUBLICATION_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let publication: Publication = bind_fields!(sqlx::query_as::<_, Publication>(&sql), fields).fetch_one(&mut *tx).await?;
            // Fields in the order PostgreSQL's jsonb gives the reference's audit entries.
            let mut changes = Changes::new();
            changes
                .created("id", &publication.id)
                .created("doi", &publication.doi)
                .created("team", &publication.team_id)
                .created("issue", &publication.issue)
                .created("title", publication.title.as_str())
                .created("volume", &publication.volume)
                .created("journal", &publication.journal)
                .created("abstract", &publication.abstract_text)
                .created("published", &date_text(publication.published))
                .created("submitted", &date_text(publication.submitted));
            let repr = publication_repr(&publication);
            insert_audit!(&mut *tx, context, ContentType::Publication, publication.id, repr, AuditAction::Create, Some(changes.to_json()))?;
            Ok::<Publication, StorageError>(publication)
        })
    }

    /// Stores the new state of a publication with an audit entry of the changed fields. A DOI
    /// that another publication has is a [`StorageError::Conflict`].
    pub async fn update_publication(
        &self,
        current: &Publication,
        fields: &PublicationFields,
        context: &AuditContext,
    ) -> Result<Publication, StorageError> {
        let mut changes = Changes::new();
        changes
            .updated("doi", &current.doi, &fields.doi)
            .updated("team", &current.team_id, &fields.team_id)
            .updated("issue", &current.issue, &fields.issue)
            .updated("title", current.title.as_str(), fields.title.as_str())
            .updated("volume", &current.volume, &fields.volume)
            .updated("journal", &current.journal, &fields.journal)
            .updated("abstract", &current.abstract_text, &fields.abstract_text)
            .updated("published", &date_text(current.published), &date_text(fields.published))
            .updated("submitted", &date_text(current.submitted), &date_text(fields.submitted));
        let sql = format!(
            "UPDATE research_products_publication SET title = $1, abstract = $2, published = $3, submitted = $4, journal = $5, \
             doi = $6, volume = $7, issue = $8, team_id = $9 WHERE id = $10 RETURNING {PUBLICATION_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let publication: Publication =
                bind_fields!(sqlx::query_as::<_, Publication>(&sql), fields).bind(current.id).fetch_one(&mut *tx).await?;
            if !changes.is_empty() {
                let repr = publication_repr(&publication);
                insert_audit!(&mut *tx, context, ContentType::Publication, publication.id, repr, AuditAction::Update, Some(changes.to_json()))?;
            }
            Ok::<Publication, StorageError>(publication)
        })
    }

    /// Deletes a publication with an audit entry. Links from allocation requests go with it.
    pub async fn delete_publication(&self, publication: &Publication, context: &AuditContext) -> Result<(), StorageError> {
        let mut changes = Changes::new();
        changes
            .deleted("id", &publication.id)
            .deleted("doi", &publication.doi)
            .deleted("team", &publication.team_id)
            .deleted("issue", &publication.issue)
            .deleted("title", publication.title.as_str())
            .deleted("volume", &publication.volume)
            .deleted("journal", &publication.journal)
            .deleted("abstract", &publication.abstract_text)
            .deleted("published", &date_text(publication.published))
            .deleted("submitted", &date_text(publication.submitted));
        in_transaction!(self, tx => {
            crate::error::removed_one(sqlx::query("DELETE FROM research_products_publication WHERE id = $1").bind(publication.id).execute(&mut *tx).await?.rows_affected())?;
            let repr = publication_repr(publication);
            insert_audit!(&mut *tx, context, ContentType::Publication, publication.id, repr, AuditAction::Delete, Some(changes.to_json()))?;
            Ok::<(), StorageError>(())
        })
    }
}

/// Formats the audit `object_repr` of a publication.
fn publication_repr(publication: &Publication) -> String {
    format!("Publication #{} - {}", publication.id, short_title(&publication.title))
}
