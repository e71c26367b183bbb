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
    pub groups: Vec<i64>,
    pub user_permissions: Vec<i64>,
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
            for group in &new.groups {
                sqlx::query("INSERT INTO users_user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(user.id).bind(*group).execute(&mut *tx).await?;
            }
            for permission in &new.user_permissions {
                sqlx::query("INSERT INTO users_user_user_permissions (user_id, permission_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(user.id).bind(*permission).execute(&mut *tx).await?;
            }
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

/// New values for a user; `None` leaves a field unchanged. `password` is an encoded hash.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    pub username: Option<String>,
    pub password: Option<String>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub department: Option<Option<String>>,
    pub role: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
    pub is_superuser: Option<bool>,
    pub is_ldap_user: Option<bool>,
    pub groups: Option<Vec<i64>>,
    pub user_permissions: Option<Vec<i64>>,
}

impl Database {
    /// Applies changes to a user with one audit record of the changed fields. A new password
    /// ends every session of the user. Returns the updated row.
    pub async fn update_user(&self, current: &User, changes: &UserChanges, context: &AuditContext) -> Result<User, StorageError> {
        let updated = apply_user_changes(current, changes);
        let mut audit = Changes::new();
        audit
            .updated("password", current.password.as_str(), updated.password.as_str())
            .mask("password")
            .updated("is_superuser", &current.is_superuser, &updated.is_superuser)
            .updated("username", current.username.as_str(), updated.username.as_str())
            .updated("first_name", &current.first_name, &updated.first_name)
            .updated("last_name", &current.last_name, &updated.last_name)
            .updated("email", &current.email, &updated.email)
            .updated("department", &current.department, &updated.department)
            .updated("role", &current.role, &updated.role)
            .updated("is_active", &current.is_active, &updated.is_active)
            .updated("is_staff", &current.is_staff, &updated.is_staff)
            .updated("is_ldap_user", &current.is_ldap_user, &updated.is_ldap_user);
        let password_changed = updated.password != current.password;
        let sql = format!(
            "UPDATE users_user SET password = $1, is_superuser = $2, username = $3, first_name = $4, last_name = $5, \
             email = $6, department = $7, role = $8, is_active = $9, is_staff = $10, is_ldap_user = $11 \
             WHERE id = $12 RETURNING {USER_COLUMNS}"
        );
        in_transaction!(self, tx => {
            let user: User = sqlx::query_as::<_, User>(&sql)
                .bind(&updated.password)
                .bind(updated.is_superuser)
                .bind(&updated.username)
                .bind(&updated.first_name)
                .bind(&updated.last_name)
                .bind(&updated.email)
                .bind(&updated.department)
                .bind(&updated.role)
                .bind(updated.is_active)
                .bind(updated.is_staff)
                .bind(updated.is_ldap_user)
                .bind(current.id)
                .fetch_one(&mut *tx)
                .await?;
            if password_changed {
                sqlx::query("DELETE FROM keystone_session WHERE user_id = $1").bind(current.id).execute(&mut *tx).await?;
            }
            if let Some(groups) = &changes.groups {
                sqlx::query("DELETE FROM users_user_groups WHERE user_id = $1").bind(current.id).execute(&mut *tx).await?;
                for group in groups {
                    sqlx::query("INSERT INTO users_user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(current.id).bind(*group).execute(&mut *tx).await?;
                }
            }
            if let Some(permissions) = &changes.user_permissions {
                sqlx::query("DELETE FROM users_user_user_permissions WHERE user_id = $1").bind(current.id).execute(&mut *tx).await?;
                for permission in permissions {
                    sqlx::query("INSERT INTO users_user_user_permissions (user_id, permission_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(current.id).bind(*permission).execute(&mut *tx).await?;
                }
            }
            if !audit.is_empty() {
                insert_audit!(&mut *tx, context, ContentType::User, user.id, user_repr(&user), AuditAction::Update, Some(audit.to_json()))?;
            }
            Ok::<User, StorageError>(user)
        })
    }

    /// Deletes a user; memberships, sessions and tokens go with it, and each deleted record
    /// gets an audit entry. A user still referenced by protected records is a
    /// [`StorageError::Conflict`].
    ///
    /// The audit entries are written before the row is deleted. A user who deletes their own
    /// account is the actor of those entries, and `ON DELETE SET NULL` then clears the actor, as
    /// it does for every other entry that user made.
    pub async fn delete_user(&self, user: &User, context: &AuditContext) -> Result<(), StorageError> {
        let audit = user_deleted_changes(user);
        in_transaction!(self, tx => {
            crate::teams::audit_membership_deletes!(&mut *tx, context, "m.user_id = $1", user.id)?;
            insert_audit!(&mut *tx, context, ContentType::User, user.id, user_repr(user), AuditAction::Delete, Some(audit.to_json()))?;
            crate::error::removed_one(sqlx::query("DELETE FROM users_user WHERE id = $1").bind(user.id).execute(&mut *tx).await?.rows_affected())?;
            Ok::<(), StorageError>(())
        })
    }

    /// Group and permission ids of the given users, as `(user_id, id)` pairs ordered by id.
    pub async fn user_groups_and_permissions(&self, user_ids: &[i64]) -> Result<(Vec<(i64, i64)>, Vec<(i64, i64)>), StorageError> {
        if user_ids.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let list = placeholders(1, user_ids.len());
        let groups_sql = format!("SELECT user_id, group_id FROM users_user_groups WHERE user_id IN ({list}) ORDER BY group_id");
        let permissions_sql =
            format!("SELECT user_id, permission_id FROM users_user_user_permissions WHERE user_id IN ({list}) ORDER BY permission_id");
        let groups = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, (i64, i64)>(&groups_sql);
            for id in user_ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        let permissions = on_backend!(self, pool => {
            let mut query = sqlx::query_as::<_, (i64, i64)>(&permissions_sql);
            for id in user_ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok((groups, permissions))
    }

    /// Returns which of `ids` in `table` (a table with a `team_id` column, never client input)
    /// belong to `team_id`.
    pub async fn ids_owned_by_team(&self, table: &'static str, ids: &[i64], team_id: i64) -> Result<Vec<i64>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT id FROM {table} WHERE team_id = $1 AND id IN ({})", placeholders(2, ids.len()));
        let found = on_backend!(self, pool => {
            let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(team_id);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(found)
    }

    /// Returns which of `ids` exist in `table` (one of Keystone's tables, never client input).
    pub async fn existing_ids(&self, table: &'static str, ids: &[i64]) -> Result<Vec<i64>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT id FROM {table} WHERE id IN ({})", placeholders(1, ids.len()));
        let found = on_backend!(self, pool => {
            let mut query = sqlx::query_scalar::<_, i64>(&sql);
            for id in ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(found)
    }
}

fn apply_user_changes(current: &User, changes: &UserChanges) -> User {
    let mut user = current.clone();
    if let Some(value) = &changes.username {
        user.username = value.clone();
    }
    if let Some(value) = &changes.password {
        user.password = value.clone();
    }
    if let Some(value) = &changes.first_name {
        user.first_name = value.clone();
    }
    if let Some(value) = &changes.last_name {
        user.last_name = value.clone();
    }
    if let Some(value) = &changes.email {
        user.email = value.clone();
    }
    if let Some(value) = &changes.department {
        user.department = value.clone();
    }
    if let Some(value) = &changes.role {
        user.role = value.clone();
    }
    user.is_active = changes.is_active.unwrap_or(user.is_active);
    user.is_staff = changes.is_staff.unwrap_or(user.is_staff);
    user.is_superuser = changes.is_superuser.unwrap_or(user.is_superuser);
    user.is_ldap_user = changes.is_ldap_user.unwrap_or(user.is_ldap_user);
    user
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

/// Builds the changes of a deleted user: every audited non-null field as `[old, "None"]`, with
/// the password masked.
fn user_deleted_changes(user: &User) -> Changes {
    let mut changes = Changes::new();
    changes
        .deleted("id", &user.id)
        .deleted("password", user.password.as_str())
        .deleted("is_superuser", &user.is_superuser)
        .deleted("username", user.username.as_str())
        .deleted("first_name", &user.first_name)
        .deleted("last_name", &user.last_name)
        .deleted("email", &user.email)
        .deleted("department", &user.department)
        .deleted("role", &user.role)
        .deleted("is_active", &user.is_active)
        .deleted("is_staff", &user.is_staff)
        .deleted("is_ldap_user", &user.is_ldap_user)
        .deleted("date_joined", &user.date_joined)
        .mask("password");
    changes
}
