//! A `keystone serve` process on a free port of 127.0.0.1, with its own data directory and
//! database, killed when the test ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{Backend, Client, TestDatabase};

/// Path of the `keystone` binary: `KEYSTONE_BIN`, else the workspace's debug build.
pub fn keystone_binary() -> PathBuf {
    if let Ok(path) = std::env::var("KEYSTONE_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let binary = target.join("debug/keystone");
    assert!(binary.exists(), "{} is missing: run `cargo build --bin keystone` (scripts/test.sh does)", binary.display());
    binary
}

/// Options for a test server.
pub struct TestServerBuilder {
    backend: Backend,
    env: Vec<(String, String)>,
}

impl TestServerBuilder {
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Creates the database, migrates it and starts `keystone serve`, waiting (at most 60 s)
    /// until it answers.
    pub async fn start(self) -> TestServer {
        let data_dir = tempfile::tempdir().expect("failed to create a data directory");
        let database = TestDatabase::create(self.backend, data_dir.path()).await;
        let mut env = database.env();
        env.push(("KEYSTONE_DATA_DIR".into(), data_dir.path().display().to_string()));
        env.push(("SECURE_SECRET_KEY".into(), "test-secret-key-that-is-long-enough-0123456789".into()));
        env.extend(self.env);
        let mut server = TestServer { data_dir, database, env, child: None, port: 0 };
        let migrate = server.command(&["migrate"]);
        assert!(migrate.status.success(), "keystone migrate failed: {}", String::from_utf8_lossy(&migrate.stderr));
        server.launch().await;
        server
    }
}

/// A running Keystone server.
pub struct TestServer {
    pub data_dir: tempfile::TempDir,
    pub database: TestDatabase,
    env: Vec<(String, String)>,
    child: Option<Child>,
    pub port: u16,
}

impl TestServer {
    pub fn builder(backend: Backend) -> TestServerBuilder {
        TestServerBuilder { backend, env: Vec::new() }
    }

    pub async fn start(backend: Backend) -> TestServer {
        Self::builder(backend).start().await
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client with its own cookie jar.
    pub fn client(&self) -> Client {
        Client::new(self.base_url())
    }

    /// Runs another `keystone` subcommand with this server's settings and waits for it.
    pub fn command(&self, args: &[&str]) -> Output {
        self.command_with_env(args, &[])
    }

    pub fn command_with_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut command = Command::new(keystone_binary());
        command.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).stdin(Stdio::null());
        for (name, value) in &self.env {
            command.env(name, value);
        }
        for (name, value) in extra {
            command.env(name, value);
        }
        command.output().expect("failed to run keystone")
    }

    /// Creates a user through `createsuperuser` or SQL and returns its id. Staff users are
    /// superusers; others are plain active users.
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

    /// Sends SIGTERM and waits (at most 30 s) for the process to exit; returns its status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// Starts the server process again after `terminate`, on a new port.
    pub async fn restart(&mut self) {
        self.terminate();
        self.launch().await;
    }

    async fn launch(&mut self) {
        let port = free_port();
        let log = std::fs::File::create(self.data_dir.path().join(format!("server-{port}.log"))).expect("failed to create the server log");
        let mut command = Command::new(keystone_binary());
        command
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        self.child = Some(command.spawn().expect("failed to start keystone serve"));
        self.port = port;
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(format!("{}/version/", self.base_url())).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("keystone serve exited early with {status}; log: {}", self.log());
                }
            }
            assert!(Instant::now() < deadline, "keystone serve did not answer within 60 s; log: {}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join(format!("server-{}.log", self.port))).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("failed to find a free port");
    listener.local_addr().expect("listener has an address").port()
}
