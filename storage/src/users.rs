//! Users: look-ups, creation with its audit record, and the data nested in a user's
//! representation (memberships with teams, audit history), each fetched in one query for any
//! number of users.

use chrono::{DateTime, Utc};

use crate::audit::{AuditAction, AuditContext, Changes, ContentType};
use crate::records::{AuditEntry, MembershipWithTeam, User, USER_COLUMNS};
use crate::{in_transaction, insert_audit, on_backend, placeholders, Database, StorageError};

/// Fields of a user to create. `password` is an already-encoded hash.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub role: Option<String>,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub is_ldap_user: bool,
}

impl Database {
    pub async fn count_users(&self) -> Result<i64, StorageError> {
        let count: i64 = on_backend!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users_user").fetch_one(pool).await)?;
        Ok(count)
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users_user WHERE id = $1");
        let user = on_backend!(self, pool => sqlx::query_as::<_, User>(&sql).bind(id).fetch_optional(pool).await)?;
        Ok(user)
    }

    /// Finds a user by exact (case-sensitive) username.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users_user WHERE username = $1");
        let user = on_backend!(self, pool => sqlx::query_as::<_, User>(&sql).bind(username).fetch_optional(pool).await)?;
        Ok(user)
    }

    /// Fetches users by id, in no particular order.
    pub async fn users_by_ids(&self, ids: &[i64]) -> Result<Vec<User>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {USER_COLUMNS} FROM users_user WHERE id IN ({})", placeholders(1, ids.len()));
        let users = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, User>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(users)
    }

    /// Inserts a user and its audit record in one transaction. A taken username is a
    /// [`StorageError::Conflict`].
    pub async fn create_user(&self, new: &NewUser, context: &AuditContext) -> Result<User, StorageError> {
        let joined = crate::now();
        let sql = format!(
            "INSERT INTO users_user (password, is_superuser, username, first_name, last_name, email, department, role, \
             is_active, is_staff, is_ldap_user, date_joined) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {USER_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let user: User = sqlx::query_as::<_, User>(&sql)
                .bind(&new.password)
                .bind(new.is_superuser)
                .bind(&new.username)
                .bind(&new.first_name)
                .bind(&new.last_name)
                .bind(&new.email)
                .bind(&new.department)
                .bind(&new.role)
                .bind(new.is_active)
                .bind(new.is_staff)
                .bind(new.is_ldap_user)
                .bind(joined)
                .fetch_one(&mut *tx)
                .await?;
            let changes = user_created_changes(&user);
            insert_audit!(&mut *tx, context, ContentType::User, user.id, user_repr(&user), AuditAction::Create, Some(changes.to_json()))?;
            Ok::<User, StorageError>(user)
        })
    }

    /// Stores a new password hash and ends every session of the user, in one transaction.
    pub async fn set_password(&self, user_id: i64, encoded: &str, context: &AuditContext) -> Result<(), StorageError> {
        let Some(user) = self.user_by_id(user_id).await? else {
            return Err(StorageError::NotFound);
        };
        let mut changes = Changes::new();
        changes.updated("password", user.password.as_str(), encoded).mask("password");
        in_transaction!(self, tx => {
            sqlx::query("UPDATE users_user SET password = $1 WHERE id = $2").bind(encoded).bind(user_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM keystone_session WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            insert_audit!(&mut *tx, context, ContentType::User, user_id, user_repr(&user), AuditAction::Update, Some(changes.to_json()))?;
            Ok::<(), StorageError>(())
        })
    }

    /// Sets `last_login`, which the audit log does not record.
    pub async fn record_login(&self, user_id: i64, when: DateTime<Utc>) -> Result<(), StorageError> {
        on_backend!(self, pool => sqlx::query("UPDATE users_user SET last_login = $1 WHERE id = $2").bind(when).bind(user_id).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// All memberships of the given users, with their teams, ordered by membership id.
    pub async fn memberships_of_users(&self, user_ids: &[i64]) -> Result<Vec<MembershipWithTeam>, StorageError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT m.id, m.role, m.user_id, m.team_id, t.slug AS team_slug, t.name AS team_name, t.is_active AS team_is_active \
             FROM users_membership m JOIN users_team t ON t.id = m.team_id \
             WHERE m.user_id IN ({}) ORDER BY m.id",
            placeholders(1, user_ids.len())
        );
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, MembershipWithTeam>(&sql);
            for id in user_ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Audit entries of the given records, newest first.
    pub async fn history(&self, content_type: ContentType, object_ids: &[i64]) -> Result<Vec<AuditEntry>, StorageError> {
        if object_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, content_type_id, object_id, action, changes, cid, remote_addr, remote_port, timestamp, actor_id \
             FROM auditlog_logentry WHERE content_type_id = $1 AND object_id IN ({}) ORDER BY timestamp DESC, id DESC",
            placeholders(2, object_ids.len())
        );
        let rows = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, AuditEntry>(&sql).bind(content_type as i64);
            for id in object_ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }
}

/// The audit `object_repr` of a user.
pub fn user_repr(user: &User) -> String {
    format!("User #{} - {}", user.id, user.username)
}

fn user_created_changes(user: &User) -> Changes {
    let mut changes = Changes::new();
    changes
        .created("id", &user.id)
        .created("password", &user.password)
        .created("is_superuser", &user.is_superuser)
        .created("username", &user.username)
        .created("first_name", &user.first_name)
        .created("last_name", &user.last_name)
        .created("email", &user.email)
        .created("department", &user.department)
        .created("role", &user.role)
        .created("is_active", &user.is_active)
        .created("is_staff", &user.is_staff)
        .created("is_ldap_user", &user.is_ldap_user)
        .created("date_joined", &user.date_joined)
        .mask("password");
    changes
}
