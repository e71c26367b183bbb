//! A fresh database per test: a temporary SQLite file, or a PostgreSQL database named
//! `ks_test_<uuid>` on 127.0.0.1:5432 that is dropped when the test ends.

use std::path::Path;

use sqlx::postgres::PgPoolOptions;
use sqlx::Executor;

/// The backend a test server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub backend: Backend,
    /// PostgreSQL database name; empty for SQLite.
    pub name: String,
}

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

impl TestDatabase {
    /// Creates the database. For SQLite the file is created by Keystone inside `data_dir`.
    pub async fn create(backend: Backend, _data_dir: &Path) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase { backend, name: String::new() },
            Backend::Postgres => {
                let name = format!("ks_test_{}", uuid::Uuid::new_v4().simple());
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(ADMIN_URL)
                    .await
                    .expect("PostgreSQL must answer on 127.0.0.1:5432 (run scripts/services.sh)");
                pool.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("failed to create the test database");
                pool.close().await;
                TestDatabase { backend, name }
            }
        }
    }

    /// Environment variables that point Keystone at this database.
    pub fn env(&self) -> Vec<(String, String)> {
        match self.backend {
            Backend::Sqlite => vec![("DB_POSTGRES_ENABLE".into(), "false".into())],
            Backend::Postgres => vec![
                ("DB_POSTGRES_ENABLE".into(), "true".into()),
                ("DB_NAME".into(), self.name.clone()),
                ("DB_USER".into(), "postgres".into()),
                ("DB_HOST".into(), "127.0.0.1".into()),
                ("DB_PORT".into(), "5432".into()),
            ],
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.backend != Backend::Postgres {
            return;
        }
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee, so use a private one on its own thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async move {
                let pool = PgPoolOptions::new().max_connections(1).connect(ADMIN_URL).await.ok()?;
                pool.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.ok()?;
                pool.close().await;
                Some(())
            })
        })
        .join();
    }
}
