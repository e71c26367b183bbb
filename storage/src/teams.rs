//! Teams and memberships: creation with audit records, and the slug rule.

use unicode_normalization::UnicodeNormalization;

use crate::audit::{AuditAction, AuditContext, Changes, ContentType};
use crate::records::{Membership, Team};
use crate::{in_transaction, insert_audit, Database, StorageError};

/// Membership roles: code and label.
pub const ROLES: [(&str, &str); 3] = [("OW", "Owner"), ("AD", "Admin"), ("MB", "Member")];

/// Derives a team slug from its name as the reference does (Django `slugify`): decompose and
/// drop non-ASCII characters, lower-case, drop characters other than letters, digits,
/// underscores, whitespace and hyphens, join runs of whitespace and hyphens with one hyphen,
/// and strip leading and trailing hyphens and underscores.
pub fn slugify(name: &str) -> String {
    let ascii: String = name.nfkd().filter(char::is_ascii).collect::<String>().to_lowercase();
    let kept: String = ascii.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || is_python_space(*c)).collect();
    let mut slug = String::with_capacity(kept.len());
    let mut in_run = false;
    for c in kept.chars() {
        if c == '-' || is_python_space(c) {
            if !in_run {
                slug.push('-');
            }
            in_run = true;
        } else {
            slug.push(c);
            in_run = false;
        }
    }
    slug.trim_matches(|c| c == '-' || c == '_').to_string()
}

/// ASCII characters that Python's `\s` matches.
fn is_python_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1f')
}

impl Database {
    pub async fn team_count(&self) -> Result<i64, StorageError> {
        let count: i64 = crate::on_backend!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users_team").fetch_one(pool).await)?;
        Ok(count)
    }

    /// Inserts a team and its audit record, and when `owner` is given, that user's owner
    /// membership, in one transaction.
    pub async fn create_team(&self, name: &str, is_active: bool, owner: Option<i64>, context: &AuditContext) -> Result<Team, StorageError> {
        let slug = slugify(name);
        in_transaction!(self, tx => {
            let team: Team = sqlx::query_as::<_, Team>(
                "INSERT INTO users_team (name, slug, is_active) VALUES ($1, $2, $3) RETURNING id, name, slug, is_active",
            )
            .bind(name)
            .bind(&slug)
            .bind(is_active)
            .fetch_one(&mut *tx)
            .await?;
            let mut changes = Changes::new();
            changes.created("id", &team.id).created("name", &team.name).created("slug", &team.slug).created("is_active", &team.is_active);
            insert_audit!(&mut *tx, context, ContentType::Team, team.id, team_repr(&team), AuditAction::Create, Some(changes.to_json()))?;
            if let Some(user_id) = owner {
                let (membership_id, username): (i64, String) = sqlx::query_as(
                    "INSERT INTO users_membership (role, user_id, team_id) VALUES ('OW', $1, $2) \
                     RETURNING id, (SELECT username FROM users_user WHERE id = $1)",
                )
                .bind(user_id)
                .bind(team.id)
                .fetch_one(&mut *tx)
                .await?;
                let mut created = Changes::new();
                created.created("id", &membership_id).created("role", "OW").created("user", &user_id).created("team", &team.id);
                let repr = format!("Membership #{membership_id} - {username} in Team #{} - {}", team.id, team.name);
                insert_audit!(&mut *tx, context, ContentType::Membership, membership_id, repr, AuditAction::Create, Some(created.to_json()))?;
            }
            Ok::<Team, StorageError>(team)
        })
    }

    /// Inserts a membership and its audit record.
    pub async fn create_membership(
        &self,
        user_id: i64,
        team_id: i64,
        role: &str,
        context: &AuditContext,
    ) -> Result<Membership, StorageError> {
        in_transaction!(self, tx => {
            let membership: Membership = sqlx::query_as::<_, Membership>(
                "INSERT INTO users_membership (role, user_id, team_id) VALUES ($1, $2, $3) RETURNING id, role, user_id, team_id",
            )
            .bind(role)
            .bind(user_id)
            .bind(team_id)
            .fetch_one(&mut *tx)
            .await?;
            let (username, team_name): (String, String) = sqlx::query_as(
                "SELECT u.username, t.name FROM users_user u, users_team t WHERE u.id = $1 AND t.id = $2",
            )
            .bind(user_id)
            .bind(team_id)
            .fetch_one(&mut *tx)
            .await?;
            let mut changes = Changes::new();
            changes.created("id", &membership.id).created("role", &membership.role).created("user", &user_id).created("team", &team_id);
            let repr = format!("Membership #{} - {username} in Team #{team_id} - {team_name}", membership.id);
            insert_audit!(&mut *tx, context, ContentType::Membership, membership.id, repr, AuditAction::Create, Some(changes.to_json()))?;
            Ok::<Membership, StorageError>(membership)
        })
    }
}

/// Inserts a delete audit entry for every membership matching `$condition` (which uses `$1`
/// for `$key`), in one statement, before the memberships are deleted or cascaded away. The
/// changes list each field as `[old, "None"]`, built in SQL as the compact JSON that
/// [`Changes::to_json`] writes. Only ids and role codes are spliced into it, so no value needs
/// JSON escaping.
macro_rules! audit_membership_deletes {
    ($executor:expr, $context:expr, $condition:literal, $key:expr) => {{
        let context: &$crate::audit::AuditContext = $context;
        sqlx::query(concat!(
            "INSERT INTO auditlog_logentry (content_type_id, object_pk, object_id, object_repr, action, changes_text, changes, \
             cid, remote_addr, remote_port, timestamp, actor_id, actor_email) \
             SELECT 3, CAST(m.id AS TEXT), m.id, \
             'Membership #' || CAST(m.id AS TEXT) || ' - ' || u.username || ' in Team #' || CAST(t.id AS TEXT) || ' - ' || t.name, \
             2, '', \
             '{\"id\":[\"' || CAST(m.id AS TEXT) || '\",\"None\"],\"role\":[\"' || m.role || '\",\"None\"],\"user\":[\"' \
             || CAST(m.user_id AS TEXT) || '\",\"None\"],\"team\":[\"' || CAST(m.team_id AS TEXT) || '\",\"None\"]}', \
             $2, $3, $4, $5, $6, $7 \
             FROM users_membership m JOIN users_user u ON u.id = m.user_id JOIN users_team t ON t.id = m.team_id WHERE ",
            $condition
        ))
        .bind($key)
        .bind(context.cid.clone())
        .bind(context.remote_addr.clone())
        .bind(context.remote_port)
        .bind($crate::now())
        .bind(context.actor_id)
        .bind(context.actor_email.clone())
        .execute($executor)
        .await
    }};
}
pub(crate) use audit_membership_deletes;

/// A membership with its user's and team's summary columns.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MembershipDetail {
    pub id: i64,
    pub role: String,
    pub user_id: i64,
    pub team_id: i64,
    pub team_slug: String,
    pub team_name: String,
    pub team_is_active: bool,
    pub user_is_active: bool,
}

const MEMBERSHIP_DETAIL: &str = "SELECT m.id, m.role, m.user_id, m.team_id, t.slug AS team_slug, t.name AS team_name, \
     t.is_active AS team_is_active, u.is_active AS user_is_active \
     FROM users_membership m JOIN users_team t ON t.id = m.team_id JOIN users_user u ON u.id = m.user_id";

impl Database {
    pub async fn team_by_id(&self, id: i64) -> Result<Option<Team>, StorageError> {
        let team = crate::on_backend!(self, pool => sqlx::query_as::<_, Team>("SELECT id, name, slug, is_active FROM users_team WHERE id = $1").bind(id).fetch_optional(pool).await)?;
        Ok(team)
    }

    /// Teams by id, in no particular order.
    pub async fn teams_by_ids(&self, ids: &[i64]) -> Result<Vec<Team>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT id, name, slug, is_active FROM users_team WHERE id IN ({})", crate::placeholders(1, ids.len()));
        let teams = crate::on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, Team>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(teams)
    }

    /// Returns a team whose slug equals `slug`, other than `except`.
    pub async fn team_with_slug(&self, slug: &str, except: Option<i64>) -> Result<Option<Team>, StorageError> {
        let team = crate::on_backend!(self, pool => sqlx::query_as::<_, Team>(
            "SELECT id, name, slug, is_active FROM users_team WHERE slug = $1 AND id <> $2",
        ).bind(slug).bind(except.unwrap_or(0)).fetch_optional(pool).await)?;
        Ok(team)
    }

    /// Sets a team's active flag (its name is read-only once created), with an audit entry.
    pub async fn update_team(&self, current: &Team, is_active: bool, context: &AuditContext) -> Result<Team, StorageError> {
        let mut changes = Changes::new();
        changes.updated("is_active", &current.is_active, &is_active);
        in_transaction!(self, tx => {
            let team: Team = sqlx::query_as::<_, Team>("UPDATE users_team SET is_active = $1 WHERE id = $2 RETURNING id, name, slug, is_active")
                .bind(is_active)
                .bind(current.id)
                .fetch_one(&mut *tx)
                .await?;
            if !changes.is_empty() {
                insert_audit!(&mut *tx, context, ContentType::Team, team.id, team_repr(&team), AuditAction::Update, Some(changes.to_json()))?;
            }
            Ok::<Team, StorageError>(team)
        })
    }

    /// Deletes a team and, by cascade, its memberships, each with an audit entry.
    pub async fn delete_team(&self, team: &Team, context: &AuditContext) -> Result<(), StorageError> {
        let mut changes = Changes::new();
        changes
            .deleted("id", &team.id)
            .deleted("name", team.name.as_str())
            .deleted("slug", team.slug.as_str())
            .deleted("is_active", &team.is_active);
        in_transaction!(self, tx => {
            audit_membership_deletes!(&mut *tx, context, "m.team_id = $1", team.id)?;
            crate::error::removed_one(sqlx::query("DELETE FROM users_team WHERE id = $1").bind(team.id).execute(&mut *tx).await?.rows_affected())?;
            insert_audit!(&mut *tx, context, ContentType::Team, team.id, team_repr(team), AuditAction::Delete, Some(changes.to_json()))?;
            Ok::<(), StorageError>(())
        })
    }

    /// Memberships of the given teams, ordered by id.
    pub async fn memberships_of_teams(&self, team_ids: &[i64]) -> Result<Vec<Membership>, StorageError> {
        if team_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, role, user_id, team_id FROM users_membership WHERE team_id IN ({}) ORDER BY id",
            crate::placeholders(1, team_ids.len())
        );
        let rows = crate::on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, Membership>(&sql);
            for id in team_ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// The caller's role in a team, if a member.
    pub async fn role_in_team(&self, user_id: i64, team_id: i64) -> Result<Option<String>, StorageError> {
        let role = crate::on_backend!(self, pool => sqlx::query_scalar::<_, String>(
            "SELECT role FROM users_membership WHERE user_id = $1 AND team_id = $2",
        ).bind(user_id).bind(team_id).fetch_optional(pool).await)?;
        Ok(role)
    }

    pub async fn membership_by_id(&self, id: i64) -> Result<Option<MembershipDetail>, StorageError> {
        let sql = format!("{MEMBERSHIP_DETAIL} WHERE m.id = $1");
        let row = crate::on_backend!(self, pool => sqlx::query_as::<_, MembershipDetail>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(row)
    }

    /// Memberships with their user and team columns, by id, in no particular order.
    pub async fn memberships_by_ids(&self, ids: &[i64]) -> Result<Vec<MembershipDetail>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{MEMBERSHIP_DETAIL} WHERE m.id IN ({})", crate::placeholders(1, ids.len()));
        let rows = crate::on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, MembershipDetail>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Changes a membership's role, user or team, with an audit entry. A duplicate
    /// (user, team) pair is a [`StorageError::Conflict`].
    pub async fn update_membership(
        &self,
        current: &Membership,
        role: &str,
        user_id: i64,
        team_id: i64,
        context: &AuditContext,
    ) -> Result<Membership, StorageError> {
        let mut changes = Changes::new();
        changes.updated("role", current.role.as_str(), role).updated("user", &current.user_id, &user_id).updated(
            "team",
            &current.team_id,
            &team_id,
        );
        in_transaction!(self, tx => {
            let membership: Membership = sqlx::query_as::<_, Membership>(
                "UPDATE users_membership SET role = $1, user_id = $2, team_id = $3 WHERE id = $4 RETURNING id, role, user_id, team_id",
            )
            .bind(role)
            .bind(user_id)
            .bind(team_id)
            .bind(current.id)
            .fetch_one(&mut *tx)
            .await?;
            if !changes.is_empty() {
                let (username, team_name): (String, String) = sqlx::query_as("SELECT u.username, t.name FROM users_user u, users_team t WHERE u.id = $1 AND t.id = $2")
                    .bind(user_id).bind(team_id).fetch_one(&mut *tx).await?;
                let repr = format!("Membership #{} - {username} in Team #{team_id} - {team_name}", membership.id);
                insert_audit!(&mut *tx, context, ContentType::Membership, membership.id, repr, AuditAction::Update, Some(changes.to_json()))?;
            }
            Ok::<Membership, StorageError>(membership)
        })
    }

    pub async fn delete_membership(&self, id: i64, context: &AuditContext) -> Result<(), StorageError> {
        in_transaction!(self, tx => {
            audit_membership_deletes!(&mut *tx, context, "m.id = $1", id)?;
            crate::error::removed_one(sqlx::query("DELETE FROM users_membership WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected())?;
            Ok::<(), StorageError>(())
        })
    }
}

/// The audit `object_repr` of a team.
pub fn team_repr(team: &Team) -> String {
    format!("Team #{} - {}", team.id, team.name)
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugify_matches_django() {
        assert_eq!(slugify("Team X"), "team-x");
        assert_eq!(slugify("Team-X"), "team-x");
        assert_eq!(slugify("  Team   --  X "), "team-x");
        assert_eq!(slugify("Équipe Über Straße"), "equipe-uber-strae");
        assert_eq!(slugify("_under_score_"), "under_score");
        assert_eq!(slugify("C++ & Rust!"), "c-rust");
        assert_eq!(slugify("日本語"), "");
        assert_eq!(slugify("a\tb\nc"), "a-b-c");
    }
}
