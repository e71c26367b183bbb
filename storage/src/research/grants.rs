//! Grants: look-ups and changes with their audit entries.

use chrono::NaiveDate;

use super::{cents_text, date_text, short_title};
use crate::audit::{AuditAction, AuditContext, Changes, ContentType};
use crate::{in_transaction, insert_audit, on_backend, placeholders, Database, StorageError};

/// A row of `research_products_grant`. The amount is stored in cents, so it stays exact.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Grant {
    pub id: i64,
    pub title: String,
    pub agency: String,
    pub pi: Option<String>,
    pub amount_cents: i64,
    pub grant_number: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub description: Option<String>,
    pub team_id: i64,
}

const GRANT_COLUMNS: &str = "id, title, agency, pi, amount_cents, grant_number, start_date, end_date, description, team_id";

/// The writable fields of a grant, for a new grant or the new state of an existing one.
#[derive(Clone, Debug)]
pub struct GrantFields {
    pub title: String,
    pub agency: String,
    pub pi: Option<String>,
    pub amount_cents: i64,
    pub grant_number: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub description: Option<String>,
    pub team_id: i64,
}

impl GrantFields {
    /// Copies the current fields of a grant, to apply a partial change to.
    pub fn of(grant: &Grant) -> GrantFields {
        GrantFields {
            title: grant.title.clone(),
            agency: grant.agency.clone(),
            pi: grant.pi.clone(),
            amount_cents: grant.amount_cents,
            grant_number: grant.grant_number.clone(),
            start_date: grant.start_date,
            end_date: grant.end_date,
            description: grant.description.clone(),
            team_id: grant.team_id,
        }
    }
}

/// Binds the nine writable columns, in `GRANT_COLUMNS` order without the id, as `$1`..`$9`.
macro_rules! bind_fields {
    ($query:expr, $fields:expr) => {{
        let fields: &GrantFields = $fields;
        $query
            .bind(fields.title.clone())
            .bind(fields.agency.clone())
            .bind(fields.pi.clone())
            .bind(fields.amount_cents)
            .bind(fields.grant_number.clone())
            .bind(fields.start_date)
            .bind(fields.end_date)
            .bind(fields.description.clone())
            .bind(fields.team_id)
    }};
}

impl Database {
    pub async fn grant_by_id(&self, id: i64) -> Result<Option<Grant>, StorageError> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM research_products_grant WHERE id = $1");
        let row = on_backend!(self, pool => sqlx::query_as::<_, Grant>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row)
    }

    /// Fetches grants by id, in no particular order.
    pub async fn grants_by_ids(&self, ids: &[i64]) -> Result<Vec<Grant>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {GRANT_COLUMNS} FROM research_products_grant WHERE id IN ({})", placeholders(1, ids.len()));
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, Grant>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Inserts a grant and its audit entry in one transaction.
    pub async fn create_grant(&self, fields: &GrantFields, context: &AuditContext) -> Result<Grant, StorageError> {
        let sql = format!(
            "INSERT INTO research_products_grant (title, agency, pi, amount_cents, grant_number, start_date, end_date, description, team_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {GRANT_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let grant: Grant = bind_fields!(sqlx::query_as::<_, Grant>(&sql), fields).fetch_one(&mut *tx).await?;
            // Fields in the order PostgreSQL's jsonb gives the reference's audit entries.
            let mut changes = Changes::new();
            changes
                .created("id", &grant.id)
                .created("pi", &grant.pi)
                .created("team", &grant.team_id)
                .created("title", grant.title.as_str())
                .created("agency", grant.agency.as_str())
                .created("amount", &cents_text(grant.amount_cents))
                .created("end_date", &date_text(grant.end_date))
                .created("start_date", &date_text(Some(grant.start_date)))
                .created("description", &grant.description)
                .created("grant_number", &grant.grant_number);
            insert_audit!(&mut *tx, context, ContentType::Grant, grant.id, grant_repr(&grant), AuditAction::Create, Some(changes.to_json()))?;
            Ok::<Grant, StorageError>(grant)
        })
    }

    /// Stores the new state of a grant with an audit entry of the changed fields.
    pub async fn update_grant(&self, current: &Grant, fields: &GrantFields, context: &AuditContext) -> Result<Grant, StorageError> {
        let mut changes = Changes::new();
        changes
            .updated("pi", &current.pi, &fields.pi)
            .updated("team", &current.team_id, &fields.team_id)
            .updated("title", current.title.as_str(), fields.title.as_str())
            .updated("agency", current.agency.as_str(), fields.agency.as_str())
            .updated("amount", &cents_text(current.amount_cents), &cents_text(fields.amount_cents))
            .updated("end_date", &date_text(current.end_date), &date_text(fields.end_date))
            .updated("start_date", &date_text(Some(current.start_date)), &date_text(Some(fields.start_date)))
            .updated("description", &current.description, &fields.description)
            .updated("grant_number", &current.grant_number, &fields.grant_number);
        let sql = format!(
            "UPDATE research_products_grant SET title = $1, agency = $2, pi = $3, amount_cents = $4, grant_number = $5, \
             start_date = $6, end_date = $7, description = $8, team_id = $9 WHERE id = $10 RETURNING {GRANT_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let grant: Grant = bind_fields!(sqlx::query_as::<_, Grant>(&sql), fields).bind(current.id).fetch_one(&mut *tx).await?;
            if !changes.is_empty() {
                insert_audit!(&mut *tx, context, ContentType::Grant, grant.id, grant_repr(&grant), AuditAction::Update, Some(changes.to_json()))?;
            }
            Ok::<Grant, StorageError>(grant)
        })
    }

    /// Deletes a grant with an audit entry. Links from allocation requests go with it.
    pub async fn delete_grant(&self, grant: &Grant, context: &AuditContext) -> Result<(), StorageError> {
        let mut changes = Changes::new();
        changes
            .deleted("id", &grant.id)
            .deleted("pi", &grant.pi)
            .deleted("team", &grant.team_id)
            .deleted("title", grant.title.as_str())
            .deleted("agency", grant.agency.as_str())
            .deleted("amount", &cents_text(grant.amount_cents))
            .deleted("end_date", &date_text(grant.end_date))
            .deleted("start_date", &date_text(Some(grant.start_date)))
            .deleted("description", &grant.description)
            .deleted("grant_number", &grant.grant_number);
        in_transaction!(self, tx => {
            crate::error::removed_one(sqlx::query("DELETE FROM research_products_grant WHERE id = $1").bind(grant.id).execute(&mut *tx).await?.rows_affected())?;
            insert_audit!(&mut *tx, context, ContentType::Grant, grant.id, grant_repr(grant), AuditAction::Delete, Some(changes.to_json()))?;
            Ok::<(), StorageError>(())
        })
    }
}

/// Formats the audit `object_repr` of a grant.
fn grant_repr(grant: &Grant) -> String {
    format!("Grant #{} - {}", grant.id, short_title(&grant.title))
}
