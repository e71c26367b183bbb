//! A `keystone serve` process on a free port of 127.0.0.1, with its own data directory and
//! database, killed when the test ends.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output};
use std::time::Duration;

use crate::process::{free_port, run_keystone, KeystoneProcess, COMMAND_TIMEOUT};
use crate::{raw_request, Backend, Client, RawResponse, TestDatabase};

/// Path of the `keystone` binary: `KEYSTONE_BIN`, else the workspace's debug build.
pub fn keystone_binary() -> PathBuf {
    if let Ok(path) = std::env::var("KEYSTONE_BIN") {
        return PathBuf::from(path);
    }
    let target =
        std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let binary = target.join("debug/keystone");
    assert!(binary.exists(), "{} is missing: run `cargo build --bin keystone` (scripts/test.sh does)", binary.display());
    binary
}

/// The `SECURE_SECRET_KEY` every test server gets unless the test removes it.
pub const TEST_SECRET_KEY: &str = "test-secret-key-that-is-long-enough-0123456789";

/// Options for a test server.
pub struct TestServerBuilder {
    backend: Backend,
    env: Vec<(String, String)>,
    removed: Vec<String>,
}

impl TestServerBuilder {
    /// Sets an environment variable, overriding the harness's own value.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Leaves a variable unset, including one the harness sets (such as `SECURE_SECRET_KEY`).
    pub fn without_env(mut self, name: &str) -> Self {
        self.removed.push(name.to_string());
        self
    }

    /// Creates the database, migrates it and starts `keystone serve`, waiting (at most 60 s)
    /// until it answers.
    pub async fn start(self) -> TestServer {
        let data_dir = tempfile::tempdir().expect("failed to create a data directory");
        let database = TestDatabase::create(self.backend, data_dir.path()).await;
        let mut env = database.env();
        env.push(("KEYSTONE_DATA_DIR".into(), data_dir.path().display().to_string()));
        env.push(("SECURE_SECRET_KEY".into(), TEST_SECRET_KEY.into()));
        // Tests send bursts far above the default rates; throttle tests set their own.
        env.push(("API_THROTTLE_ANON".into(), "1000000/s".into()));
        env.push(("API_THROTTLE_USER".into(), "1000000/s".into()));
        env.extend(self.env);
        env.retain(|(name, _)| !self.removed.contains(name));
        let mut server = TestServer { data_dir, database, env, process: None, port: 0 };
        let migrate = server.command(&["migrate"]);
        assert!(migrate.status.success(), "keystone migrate failed: {}", String::from_utf8_lossy(&migrate.stderr));
        server.launch().await;
        server
    }
}

/// Runs a query that returns one integer, such as `SELECT COUNT(*) FROM ...`, on `db`.
pub async fn query_count(db: &keystone_storage::Database, sql: &str) -> i64 {
    let result = match db {
        keystone_storage::Database::Postgres(pool) => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await,
        keystone_storage::Database::Sqlite(pool) => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await,
    };
    result.unwrap_or_else(|error| panic!("SQL failed ({error}): {sql}"))
}

/// A running Keystone server.
pub struct TestServer {
    pub data_dir: tempfile::TempDir,
    pub database: TestDatabase,
    env: Vec<(String, String)>,
    process: Option<KeystoneProcess>,
    pub port: u16,
}

impl TestServer {
    pub fn builder(backend: Backend) -> TestServerBuilder {
        TestServerBuilder { backend, env: Vec::new(), removed: Vec::new() }
    }

    pub async fn start(backend: Backend) -> TestServer {
        Self::builder(backend).start().await
    }

    pub fn backend(&self) -> Backend {
        self.database.backend
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Returns the environment variables the server runs with.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// A client with its own cookie jar.
    pub fn client(&self) -> Client {
        Client::new(self.base_url())
    }

    /// Sends raw bytes to the server and reads the response; see [`raw_request`].
    pub async fn raw(&self, request: &[u8]) -> Option<RawResponse> {
        raw_request(self.port, request).await
    }

    /// Runs another `keystone` subcommand with this server's settings and waits for it (at
    /// most 60 s).
    pub fn command(&self, args: &[&str]) -> Output {
        self.command_with_env(args, &[])
    }

    /// Like [`TestServer::command`], with extra variables that override the server's.
    pub fn command_with_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut env = self.env.clone();
        env.extend(extra.iter().map(|(name, value)| (name.to_string(), value.to_string())));
        run_keystone(args, &env, None, COMMAND_TIMEOUT)
    }

    /// Creates a user through SQL and returns its id. Staff users are superusers; others are
    /// plain active users.
    pub async fn create_user(&self, username: &str, password: &str, staff: bool) -> i64 {
        let encoded = keystone_storage::password::hash_password(password);
        let db = self.storage().await;
        let new = keystone_storage::NewUser {
            username: username.to_string(),
            password: encoded,
            is_active: true,
            is_staff: staff,
            is_superuser: staff,
            ..Default::default()
        };
        let user = db.create_user(&new, &Default::default()).await.expect("failed to create a test user");
        db.close().await;
        user.id
    }

    /// Opens this server's database directly, for set-up and assertions.
    pub async fn storage(&self) -> keystone_storage::Database {
        let settings = keystone_config::Settings::from_source(&self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>())
            .expect("test settings are valid");
        keystone_storage::Database::connect(&settings.database).await.expect("failed to open the test database")
    }

    /// Runs one SQL statement without parameters on this server's database.
    pub async fn execute_sql(&self, sql: &str) {
        let db = self.storage().await;
        let result = match &db {
            keystone_storage::Database::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            keystone_storage::Database::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        };
        db.close().await;
        result.unwrap_or_else(|error| panic!("SQL failed ({error}): {sql}"));
    }

    /// Runs a query that returns one integer, such as `SELECT COUNT(*) FROM ...`.
    pub async fn query_count(&self, sql: &str) -> i64 {
        let db = self.storage().await;
        let count = query_count(&db, sql).await;
        db.close().await;
        count
    }

    /// Starts a second `keystone serve` process on a new port with this server's settings plus
    /// `overrides`, sharing its database and data directory.
    pub async fn start_peer(&self, overrides: &[(&str, &str)]) -> KeystoneProcess {
        let mut env = self.env.clone();
        env.extend(overrides.iter().map(|(name, value)| (name.to_string(), value.to_string())));
        let port = free_port();
        KeystoneProcess::serve(&env, port, self.log_path(port)).await
    }

    /// Sends SIGTERM and waits (at most 30 s) for the process to exit; returns its status.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        self.process.as_mut()?.terminate()
    }

    /// Sends SIGTERM and returns at once, so requests in flight can be observed.
    pub fn signal_terminate(&self) {
        if let Some(process) = &self.process {
            process.signal_terminate();
        }
    }

    /// Waits at most `timeout` for the server to exit after [`TestServer::signal_terminate`];
    /// `None` when it did not exit in time (it is then killed).
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.process.as_mut()?.wait_for_exit(timeout).await
    }

    /// Starts the server process again after `terminate`, on a new port.
    pub async fn restart(&mut self) {
        self.terminate();
        self.launch().await;
    }

    async fn launch(&mut self) {
        let port = free_port();
        // Drop the old process first, so a server that ignored SIGTERM is killed.
        self.process = None;
        self.process = Some(KeystoneProcess::serve(&self.env, port, self.log_path(port)).await);
        self.port = port;
    }

    fn log_path(&self, port: u16) -> PathBuf {
        self.data_dir.path().join(format!("server-{port}.log"))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.process
            .as_ref()
            .map(KeystoneProcess::log)
            .unwrap_or_else(|| std::fs::read_to_string(self.log_path(self.port)).unwrap_or_default())
    }
}
