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

    /// Inserts a team and its audit record.
    pub async fn create_team(&self, name: &str, is_active: bool, context: &AuditContext) -> Result<Team, StorageError> {
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
            Ok::<Team, StorageError>(team)
        })
    }

    /// Inserts a membership and its audit record.
    pub async fn create_membership(&self, user_id: i64, team_id: i64, role: &str, context: &AuditContext) -> Result<Membership, StorageError> {
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
