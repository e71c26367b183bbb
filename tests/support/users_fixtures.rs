//! Fast set-up for tests of the users app: users that share one password hash computed once
//! per test binary, API tokens issued without a sign-in, fixed `date_joined` values, and SQL
//! reads of arbitrary columns as text.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use keystone_storage::audit::AuditContext;
use keystone_storage::{Database, NewUser};
use reqwest::Method;
use serde_json::Value;
use sqlx::Row;

use crate::{Client, Response, TestServer};

/// Time limit for one request sent by [`send_request`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The password of every user made by [`insert_user`] and [`insert_user_with`].
pub const FIXTURE_PASSWORD: &str = "Fixture-Passphrase-31";

/// Returns the hash of [`FIXTURE_PASSWORD`], computing it (about 0.3 s) on the first call only.
pub fn fixture_password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| keystone_storage::password::hash_password(FIXTURE_PASSWORD))
}

/// Inserts an active or inactive user with [`FIXTURE_PASSWORD`] and returns its id. Staff users
/// are superusers too.
pub async fn insert_user(db: &Database, username: &str, staff: bool, active: bool) -> i64 {
    let new = NewUser { username: username.to_string(), is_active: active, is_staff: staff, is_superuser: staff, ..Default::default() };
    insert_user_with(db, new).await
}

/// Inserts `new` with the fixture password hash (its own `password` is replaced) and returns
/// the user's id.
pub async fn insert_user_with(db: &Database, new: NewUser) -> i64 {
    let new = NewUser { password: fixture_password_hash().to_string(), ..new };
    let user = db
        .create_user(&new, &AuditContext::default())
        .await
        .unwrap_or_else(|error| panic!("failed to insert the test user {}: {error}", new.username));
    user.id
}

/// Returns the user's API token, creating it when missing.
pub async fn api_token(db: &Database, user_id: i64) -> String {
    db.token_for_user(user_id).await.unwrap_or_else(|error| panic!("failed to issue a token for user {user_id}: {error}"))
}

/// Builds a client of `server` that authenticates with the token of `user_id`.
pub async fn token_client(server: &TestServer, db: &Database, user_id: i64) -> Client {
    let mut client = server.client();
    client.token = Some(api_token(db, user_id).await);
    client
}

/// Sends `method path` with an optional JSON body and the client's credentials, plus the
/// `X-CSRFToken` header when the client has a CSRF cookie. Panics when no response arrives
/// within [`REQUEST_TIMEOUT`].
pub async fn send_request(client: &Client, method: Method, path: &str, body: Option<&Value>) -> Response {
    let mut builder = client.request(method.clone(), path);
    if let Some(body) = body {
        builder = builder.json(body);
    }
    if let Some(csrf) = &client.csrf {
        builder = builder.header("X-CSRFToken", csrf);
    }
    tokio::time::timeout(REQUEST_TIMEOUT, client.send(builder))
        .await
        .unwrap_or_else(|_| panic!("{method} {path} got no response within {REQUEST_TIMEOUT:?}"))
}

/// Sets a user's `date_joined`, bound as a date-time so that both backends store it the way
/// Keystone writes it.
pub async fn set_date_joined(db: &Database, user_id: i64, when: DateTime<Utc>) {
    let sql = "UPDATE users_user SET date_joined = $1 WHERE id = $2";
    let result = match db {
        Database::Postgres(pool) => sqlx::query(sql).bind(when).bind(user_id).execute(pool).await.map(|done| done.rows_affected()),
        Database::Sqlite(pool) => sqlx::query(sql).bind(when).bind(user_id).execute(pool).await.map(|done| done.rows_affected()),
    };
    let updated = result.unwrap_or_else(|error| panic!("failed to set date_joined of user {user_id}: {error}"));
    assert_eq!(updated, 1, "user {user_id} does not exist");
}

/// Runs a query without parameters whose every column is text or NULL, and returns the rows.
/// Cast other columns in the SQL (`CAST(id AS TEXT)`), because PostgreSQL decodes only text
/// columns as strings.
pub async fn text_rows(db: &Database, sql: &str) -> Vec<Vec<Option<String>>> {
    let rows = match db {
        Database::Postgres(pool) => sqlx::query(sql).fetch_all(pool).await.map(|rows| {
            rows.iter().map(|row| (0..row.len()).map(|index| row.get::<Option<String>, _>(index)).collect()).collect::<Vec<_>>()
        }),
        Database::Sqlite(pool) => sqlx::query(sql).fetch_all(pool).await.map(|rows| {
            rows.iter().map(|row| (0..row.len()).map(|index| row.get::<Option<String>, _>(index)).collect()).collect::<Vec<_>>()
        }),
    };
    rows.unwrap_or_else(|error| panic!("SQL failed ({error}): {sql}"))
}

/// Runs a query that returns one integer, such as `SELECT COUNT(*) FROM users_user`.
pub async fn count_rows(db: &Database, sql: &str) -> i64 {
    crate::server::query_count(db, sql).await
}
