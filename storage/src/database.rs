//! Connection pools for the two backends and their migrations.
//!
//! Every repository writes its SQL once, with `$1`-style placeholders that both PostgreSQL and
//! SQLite accept, and runs it through [`on_backend!`], which expands the same code for each pool.

use std::str::FromStr;
use std::time::Duration;

use keystone_config::{DatabaseSettings, ExposeSecret};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::StorageError;

/// A pool for one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Database {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to the active pool, whichever backend it is.
#[macro_export]
macro_rules! on_backend {
    ($database:expr, $pool:ident => $body:expr) => {{
        $crate::query_count::record();
        match $database {
            $crate::Database::Postgres($pool) => $body,
            $crate::Database::Sqlite($pool) => $body,
        }
    }};
}

/// Runs `$body` inside one transaction, bound to `$tx`, committing when it returns `Ok`.
#[macro_export]
macro_rules! in_transaction {
    ($database:expr, $tx:ident => $body:expr) => {{
        $crate::query_count::record();
        match $database {
            $crate::Database::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let result = $body;
                if result.is_ok() {
                    $tx.commit().await?;
                }
                result
            }
            $crate::Database::Sqlite(pool) => {
                let mut $tx = pool.begin().await?;
                let result = $body;
                if result.is_ok() {
                    $tx.commit().await?;
                }
                result
            }
        }
    }};
}

/// Which backend a [`Database`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Database {
    /// Opens the pool the settings select: PostgreSQL when `DB_POSTGRES_ENABLE` is set, else the
    /// SQLite file (created when missing, in WAL mode with a 30 s lock timeout).
    pub async fn connect(settings: &DatabaseSettings) -> Result<Database, StorageError> {
        if settings.postgres_enable {
            let mut options =
                PgConnectOptions::new().host(&settings.host).port(settings.port).database(&settings.name).application_name("keystone");
            if !settings.user.is_empty() {
                options = options.username(&settings.user);
            }
            if let Some(password) = &settings.password {
                options = options.password(password.expose_secret());
            }
            let target = format!("PostgreSQL database {} at {}:{}", settings.name, settings.host, settings.port);
            // One direct connection first: a pool retries until its timeout and then reports
            // only that it timed out, hiding a refused connection or a bad password.
            let probe = <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(&options)
                .await
                .map_err(|cause| StorageError::Connect { target: target.clone(), cause })?;
            let _ = sqlx::Connection::close(probe).await;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(|cause| StorageError::Connect { target, cause })?;
            Ok(Database::Postgres(pool))
        } else {
            Self::connect_sqlite(&settings.sqlite_path).await
        }
    }

    /// Opens (creating if needed) a SQLite database file.
    pub async fn connect_sqlite(path: &std::path::Path) -> Result<Database, StorageError> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|cause| StorageError::Io { action: format!("create the database folder {}", parent.display()), cause })?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|cause| StorageError::Connect { target: format!("SQLite file {}", path.display()), cause })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let created = !path.exists();
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|cause| StorageError::Connect { target: format!("SQLite file {}", path.display()), cause })?;
        if created {
            // The file holds password hashes and API tokens: only its owner may read it.
            restrict_to_owner(path);
        }
        Ok(Database::Sqlite(pool))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Database::Postgres(_) => Backend::Postgres,
            Database::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match self {
            Database::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
            Database::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
        }
        Ok(())
    }

    /// Counts the migrations of this backend that the database has not applied; a database
    /// without Keystone's tables has them all pending.
    pub async fn pending_migrations(&self) -> Result<usize, StorageError> {
        let migrator = match self {
            Database::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
            Database::Sqlite(_) => sqlx::migrate!("./migrations/sqlite"),
        };
        let applied: Vec<i64> = on_backend!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(pool).await
        })
        .unwrap_or_default();
        Ok(migrator.iter().filter(|migration| !applied.contains(&migration.version)).count())
    }

    /// Runs a trivial query, for health checks and `keystone check`.
    pub async fn ping(&self) -> Result<(), StorageError> {
        on_backend!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Pool use: open connections, idle connections and the maximum.
    pub fn pool_usage(&self) -> (u32, u32, u32) {
        match self {
            Database::Postgres(pool) => (pool.size(), pool.num_idle() as u32, pool.options().get_max_connections()),
            Database::Sqlite(pool) => (pool.size(), pool.num_idle() as u32, pool.options().get_max_connections()),
        }
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        on_backend!(self, pool => pool.close().await)
    }
}

/// Sets a new database file (and its WAL files) to mode 0600.
fn restrict_to_owner(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut files = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            files.push(std::path::PathBuf::from(format!("{}{suffix}", path.display())));
        }
        for file in files.iter().filter(|file| file.exists()) {
            if let Err(error) = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)) {
                tracing::warn!(path = %file.display(), %error, "failed to restrict the database file to its owner");
            }
        }
    }
}
