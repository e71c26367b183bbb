//! Sign-in state: browser sessions and API tokens.
//!
//! Sessions live in the database so that any node can read them. The table holds an HMAC
//! digest of each cookie value, computed by the caller, never the value itself.

use chrono::{DateTime, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::records::{User, USER_COLUMNS};
use crate::{on_backend, Database, StorageError};

/// Who an API token belongs to.
#[derive(Clone, Debug)]
pub enum TokenOwner {
    Active(Box<User>),
    Inactive,
    Unknown,
}

impl Database {
    pub async fn create_session(
        &self,
        key_digest: &str,
        user_id: i64,
        created: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        on_backend!(self, pool => sqlx::query(
            "INSERT INTO keystone_session (key_digest, user_id, created, expire_date) VALUES ($1, $2, $3, $4)",
        )
        .bind(key_digest)
        .bind(user_id)
        .bind(created)
        .bind(expires)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Returns the active user of an unexpired session, or `None`.
    pub async fn session_user(&self, key_digest: &str, now: DateTime<Utc>) -> Result<Option<User>, StorageError> {
        let columns = prefixed_user_columns("u");
        let sql = format!(
            "SELECT {columns} FROM keystone_session s JOIN users_user u ON u.id = s.user_id \
             WHERE s.key_digest = $1 AND s.expire_date > $2 AND u.is_active"
        );
        let user = on_backend!(self, pool => sqlx::query_as::<_, User>(&sql).bind(key_digest).bind(now).fetch_optional(pool).await)?;
        Ok(user)
    }

    pub async fn delete_session(&self, key_digest: &str) -> Result<(), StorageError> {
        on_backend!(self, pool => sqlx::query("DELETE FROM keystone_session WHERE key_digest = $1").bind(key_digest).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Deletes expired sessions and returns how many there were.
    pub async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        let result = on_backend!(self, pool => sqlx::query("DELETE FROM keystone_session WHERE expire_date <= $1").bind(now).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(result)
    }

    /// Returns the user's API token, creating one when the user has none.
    pub async fn token_for_user(&self, user_id: i64) -> Result<String, StorageError> {
        let key: String = rand::thread_rng().sample_iter(&Alphanumeric).take(40).map(char::from).collect::<String>().to_lowercase();
        on_backend!(self, pool => sqlx::query(
            "INSERT INTO authtoken_token (key, user_id, created) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(&key)
        .bind(user_id)
        .bind(crate::now())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        let stored: String = on_backend!(self, pool => sqlx::query_scalar("SELECT key FROM authtoken_token WHERE user_id = $1").bind(user_id).fetch_one(pool).await)?;
        Ok(stored)
    }

    pub async fn token_owner(&self, key: &str) -> Result<TokenOwner, StorageError> {
        let columns = prefixed_user_columns("u");
        let sql = format!("SELECT {columns} FROM authtoken_token t JOIN users_user u ON u.id = t.user_id WHERE t.key = $1");
        let user = on_backend!(self, pool => sqlx::query_as::<_, User>(&sql).bind(key).fetch_optional(pool).await)?;
        Ok(match user {
            Some(user) if user.is_active => TokenOwner::Active(Box::new(user)),
            Some(_) => TokenOwner::Inactive,
            None => TokenOwner::Unknown,
        })
    }
}

fn prefixed_user_columns(alias: &str) -> String {
    USER_COLUMNS.split(", ").map(|column| format!("{alias}.{column}")).collect::<Vec<_>>().join(", ")
}
