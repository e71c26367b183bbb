//! A cluster of `keystone serve` nodes on 127.0.0.1 that share one fresh PostgreSQL database
//! and one fresh Redis key prefix, for tests that kill nodes, pause them and restart Redis.
//!
//! Redis is either the shared server on 127.0.0.1:6379, whose keys under the prefix are
//! deleted when the cluster is dropped, or a private `redis-server` child on a free port that
//! the test may kill and start again.

use std::future::Future;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use keystone_storage::Database;

use crate::process::{free_port, run_keystone, COMMAND_TIMEOUT, START_TIMEOUT};
use crate::{keystone_binary, text_rows, Backend, TestDatabase, TEST_SECRET_KEY};

/// Port of the shared Redis server.
pub const SHARED_REDIS_PORT: u16 = 6379;

/// Interval between two probes of [`wait_until`].
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Time limit for a private Redis server to respond to `PING` after start.
const REDIS_START_TIMEOUT: Duration = Duration::from_secs(15);

/// Polls `probe` every 100 ms until it returns `Some`, for at most `timeout`. Returns `None`
/// when the time ran out, so the caller can panic with the logs it has at hand.
pub async fn wait_until<T, F, Fut>(timeout: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Sums the samples of metric `name` in Prometheus text, over every label set; `None` when the
/// metric has no sample.
pub fn metric_total(text: &str, name: &str) -> Option<f64> {
    let mut total = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        // The name must end here, so `keystone_jobs` does not match `keystone_jobs_total`.
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        let Some(value) = rest.rsplit(' ').next().and_then(|value| value.parse::<f64>().ok()) else {
            continue;
        };
        total = Some(total.unwrap_or(0.0) + value);
    }
    total
}

/// How the cluster reaches Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisMode {
    /// The shared server on 127.0.0.1:6379.
    Shared,
    /// A private `redis-server` without persistence: a restart loses every key.
    Private,
    /// A private `redis-server` with an append-only file synced on every write, so a restart
    /// (even after SIGKILL) keeps every acknowledged write.
    PrivateDurable,
}

/// Options for a [`TestCluster`].
pub struct TestClusterBuilder {
    nodes: usize,
    redis: RedisMode,
    env: Vec<(String, String)>,
}

impl TestClusterBuilder {
    /// Sets the number of nodes (3 by default).
    pub fn nodes(mut self, count: usize) -> Self {
        self.nodes = count;
        self
    }

    pub fn redis(mut self, mode: RedisMode) -> Self {
        self.redis = mode;
        self
    }

    /// Sets an environment variable of every node and command, overriding the cluster's own.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Creates and migrates the database, starts Redis when private, then starts the nodes and
    /// waits (at most [`START_TIMEOUT`] each) until every node responds to `/version/`.
    pub async fn start(self) -> TestCluster {
        let data_dir = tempfile::tempdir().expect("failed to create a data directory");
        let database = TestDatabase::create(Backend::Postgres, data_dir.path()).await;
        let redis = match self.redis {
            RedisMode::Shared => None,
            RedisMode::Private => Some(PrivateRedis::start(data_dir.path(), false)),
            RedisMode::PrivateDurable => Some(PrivateRedis::start(data_dir.path(), true)),
        };
        let redis_port = redis.as_ref().map(|redis| redis.port).unwrap_or(SHARED_REDIS_PORT);
        let key_prefix = format!("ks-test-{}:", uuid::Uuid::new_v4().simple());

        let mut env = database.env();
        env.extend(
            [
                ("KEYSTONE_DATA_DIR", data_dir.path().display().to_string()),
                ("SECURE_SECRET_KEY", TEST_SECRET_KEY.to_string()),
                ("API_THROTTLE_ANON", "1000000/s".to_string()),
                ("API_THROTTLE_USER", "1000000/s".to_string()),
                ("CLUSTER_ENABLE", "true".to_string()),
                ("REDIS_HOST", "127.0.0.1".to_string()),
                ("REDIS_PORT", redis_port.to_string()),
                ("REDIS_KEY_PREFIX", key_prefix.clone()),
                ("KEYSTONE_TEST_TASKS", "true".to_string()),
                ("KEYSTONE_JOB_VISIBILITY_SEC", "3".to_string()),
                ("KEYSTONE_LEADER_TTL_SEC", "3".to_string()),
                // Tests switch on the schedules they watch, so other runs do not blur the counts.
                ("KEYSTONE_SCHEDULES", "clear_log_records=off;update_limits=off".to_string()),
            ]
            .map(|(name, value)| (name.to_string(), value)),
        );
        for (name, value) in self.env {
            env.retain(|(existing, _)| *existing != name);
            env.push((name, value));
        }

        let migrate = run_keystone(&["migrate"], &env, None, COMMAND_TIMEOUT);
        assert!(migrate.status.success(), "keystone migrate failed: {}", String::from_utf8_lossy(&migrate.stderr));
        let db = open_database(&env).await;

        let mut cluster = TestCluster { nodes: Vec::new(), redis, key_prefix, env, db, database, data_dir };
        for _ in 0..self.nodes {
            let node = ClusterNode::spawn(&cluster.env, cluster.data_dir.path());
            cluster.nodes.push(node);
        }
        for index in 0..cluster.nodes.len() {
            cluster.nodes[index].wait_until_ready().await;
        }
        cluster
    }
}

async fn open_database(env: &[(String, String)]) -> Database {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let settings = keystone_config::Settings::from_source(&pairs).expect("cluster settings are valid");
    Database::connect(&settings.database).await.expect("failed to open the cluster database")
}

/// Nodes on one database and one Redis key prefix. Dropping it kills every node (SIGKILL),
/// deletes the keys from the shared Redis or kills the private one, and drops the database.
pub struct TestCluster {
    pub nodes: Vec<ClusterNode>,
    redis: Option<PrivateRedis>,
    key_prefix: String,
    env: Vec<(String, String)>,
    db: Database,
    pub database: TestDatabase,
    pub data_dir: tempfile::TempDir,
}

impl TestCluster {
    pub fn builder() -> TestClusterBuilder {
        TestClusterBuilder { nodes: 3, redis: RedisMode::Shared, env: Vec::new() }
    }

    /// Returns the environment variables every node runs with.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Returns the shared database, for set-up and assertions.
    pub fn storage(&self) -> &Database {
        &self.db
    }

    /// Returns the private Redis server; panics for a cluster on the shared one.
    pub fn private_redis(&mut self) -> &mut PrivateRedis {
        self.redis.as_mut().expect("the cluster was started with a private Redis")
    }

    /// Runs `keystone ARGS` with the cluster's settings on a blocking thread and waits for it
    /// (at most [`COMMAND_TIMEOUT`]).
    pub async fn command(&self, args: &[&str]) -> Output {
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        let env = self.env.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_keystone(&args, &env, None, COMMAND_TIMEOUT)
        })
        .await
        .expect("the command thread panicked")
    }

    /// Enqueues a run of `task` with `keystone task run` and returns the job id it printed.
    pub async fn enqueue(&self, task: &str, args: &[&str]) -> String {
        let mut command = vec!["task", "run", task];
        for arg in args {
            command.extend(["--arg", arg]);
        }
        let output = self.command(&command).await;
        assert!(
            output.status.success(),
            "keystone task run {task} failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let job_id = stdout.lines().next().unwrap_or_default().trim().to_string();
        assert!(uuid::Uuid::parse_str(&job_id).is_ok(), "keystone task run {task} printed no job id: {stdout:?}");
        job_id
    }

    /// Returns the status and worker of a job's task record, if it has one.
    pub async fn task_record(&self, job_id: &str) -> Option<(String, Option<String>)> {
        let sql = format!("SELECT status, worker FROM django_celery_results_taskresult WHERE task_id = '{job_id}'");
        let mut rows = text_rows(&self.db, &sql).await;
        let mut row = rows.pop()?;
        let worker = row.pop().flatten();
        let status = row.pop().flatten().unwrap_or_default();
        Some((status, worker))
    }

    /// Waits at most `timeout` until the job's task record has `status`; returns its worker.
    pub async fn wait_for_status(&self, job_id: &str, status: &str, timeout: Duration) -> Option<Option<String>> {
        wait_until(timeout, || async {
            match self.task_record(job_id).await {
                Some((current, worker)) if current == status => Some(worker),
                _ => None,
            }
        })
        .await
    }

    /// Returns the index of the node whose id is `worker` (ids are `node-<port>-<suffix>`).
    pub fn node_of_worker(&self, worker: &str) -> Option<usize> {
        self.nodes.iter().position(|node| worker.starts_with(&node.id_prefix()))
    }

    /// Returns the indexes of the running nodes whose `/metrics/` reports
    /// `keystone_scheduler_leader 1`.
    pub async fn leaders(&mut self) -> Vec<usize> {
        let mut leaders = Vec::new();
        for index in 0..self.nodes.len() {
            if !self.nodes[index].is_running() {
                continue;
            }
            if self.nodes[index].metric("keystone_scheduler_leader").await == Some(1.0) {
                leaders.push(index);
            }
        }
        leaders
    }

    /// Sums metric `name` over the running nodes.
    pub async fn metric_sum(&mut self, name: &str) -> f64 {
        let mut sum = 0.0;
        for node in &mut self.nodes {
            if node.is_running() {
                sum += node.metric(name).await.unwrap_or(0.0);
            }
        }
        sum
    }

    /// Returns every node's log, each under a header line, for assertion messages.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        for node in &self.nodes {
            text.push_str(&format!("\n===== node on port {} =====\n{}", node.port, node.log()));
        }
        text
    }

    /// Returns the lines of every node's log that contain all of `needles`.
    pub fn log_lines(&self, needles: &[&str]) -> Vec<String> {
        let mut lines = Vec::new();
        for node in &self.nodes {
            lines.extend(node.log_lines(needles));
        }
        lines
    }

    /// Deletes every key under the prefix from the shared Redis with `redis-cli`.
    fn delete_shared_keys(&self) {
        let scan = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &SHARED_REDIS_PORT.to_string(), "--scan", "--pattern"])
            .arg(format!("{}*", self.key_prefix))
            .output();
        let Ok(scan) = scan else {
            eprintln!("failed to run redis-cli; Redis keys under {} were left behind", self.key_prefix);
            return;
        };
        let keys: Vec<String> = String::from_utf8_lossy(&scan.stdout).lines().map(str::to_string).filter(|key| !key.is_empty()).collect();
        for batch in keys.chunks(200) {
            let deleted = Command::new("redis-cli")
                .args(["-h", "127.0.0.1", "-p", &SHARED_REDIS_PORT.to_string(), "DEL"])
                .args(batch)
                .stdout(Stdio::null())
                .status();
            if !deleted.is_ok_and(|status| status.success()) {
                eprintln!("failed to delete Redis keys under {}", self.key_prefix);
            }
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // Nodes first, so none writes the keys again after they are deleted.
        self.nodes.clear();
        if self.redis.is_none() {
            self.delete_shared_keys();
        }
    }
}

/// One `keystone serve` process of a cluster, killed (SIGKILL) when dropped.
pub struct ClusterNode {
    child: Option<Child>,
    pub port: u16,
    log_path: PathBuf,
}

impl ClusterNode {
    fn spawn(env: &[(String, String)], data_dir: &Path) -> ClusterNode {
        let port = free_port();
        let mut metrics_port = free_port();
        while metrics_port == port {
            metrics_port = free_port();
        }
        let log_path = data_dir.join(format!("node-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("failed to create the node log");
        let bind = format!("127.0.0.1:{port}");
        let mut command = Command::new(keystone_binary());
        command
            .args(["serve", "--bind", &bind])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(name, value)| (name.as_str(), value.as_str())))
            // Each node gets its own metrics exporter port, so the nodes do not compete for one.
            .env("CONFIG_METRICS_PORTS", metrics_port.to_string())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = command.spawn().expect("failed to start keystone serve");
        ClusterNode { child: Some(child), port, log_path }
    }

    /// Waits (at most [`START_TIMEOUT`]) until `GET /version/` returns 200; panics with the log
    /// when the process exits first or the time runs out.
    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client builds");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(response) = client.get(format!("{}/version/", self.base_url())).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            if !self.is_running() {
                panic!("the node on port {} exited early; log: {}", self.port, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "the node on port {} did not answer within {START_TIMEOUT:?}; log: {}",
                self.port,
                self.log()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Start of the node's id, which `keystone serve` builds from its port.
    pub fn id_prefix(&self) -> String {
        format!("node-{}-", self.port)
    }

    /// Returns the process id, or `None` once the process was killed and reaped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Returns true while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the process with `kill -KILL <pid>`, as a crash would end it, and reaps it.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let status = Command::new("kill").args(["-KILL", &child.id().to_string()]).status();
        assert!(status.is_ok_and(|status| status.success()), "failed to send SIGKILL to {}", child.id());
        let _ = child.wait();
    }

    /// Sends `signal` (such as `STOP` or `CONT`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().expect("the node is running");
        let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status();
        assert!(status.is_ok_and(|status| status.success()), "failed to send SIG{signal} to {pid}");
    }

    /// Reads one metric from `/metrics/`, summed over its label sets. Returns `None` when the
    /// node does not respond within 5 s or has no sample of the metric.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client builds");
        let response = client.get(format!("{}/metrics/", self.base_url())).send().await.ok()?;
        let text = response.text().await.ok()?;
        metric_total(&text, name)
    }

    /// Returns the node's log (its standard error) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Returns the lines of the node's log that contain all of `needles`.
    pub fn log_lines(&self, needles: &[&str]) -> Vec<String> {
        self.log().lines().filter(|line| needles.iter().all(|needle| line.contains(needle))).map(str::to_string).collect()
    }
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL also ends a node paused with SIGSTOP.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `redis-server` child on a free port of 127.0.0.1 with its files in a folder of the
/// cluster's data directory. Killed (SIGKILL) when dropped.
pub struct PrivateRedis {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    durable: bool,
}

impl PrivateRedis {
    fn start(data_dir: &Path, durable: bool) -> PrivateRedis {
        let dir = data_dir.join("redis");
        std::fs::create_dir_all(&dir).expect("failed to create the Redis folder");
        let mut redis = PrivateRedis { child: None, port: free_port(), dir, durable };
        redis.launch();
        redis
    }

    fn launch(&mut self) {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("redis.log")).expect("failed to open the Redis log");
        let mut command = Command::new("redis-server");
        command.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--daemonize", "no"]);
        command.arg("--dir").arg(&self.dir);
        if self.durable {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        command.stdin(Stdio::null()).stdout(log.try_clone().expect("log file can be cloned")).stderr(log);
        self.child = Some(command.spawn().expect("failed to start redis-server; is it installed?"));
        let deadline = Instant::now() + REDIS_START_TIMEOUT;
        while !self.answers_ping() {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within {REDIS_START_TIMEOUT:?}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Returns true when the server replies `+PONG` to `PING` (not while it loads its data).
    pub fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut reply = [0u8; 16];
        let read = stream.read(&mut reply).unwrap_or(0);
        reply[..read].starts_with(b"+PONG")
    }

    /// Kills the server with SIGKILL, as a crash would end it, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill").args(["-KILL", &child.id().to_string()]).status();
            assert!(status.is_ok_and(|status| status.success()), "failed to send SIGKILL to redis-server {}", child.id());
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and folder, and waits until it responds.
    /// Another process may take the port while the server is down; tests accept that race.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis-server on port {} is still running", self.port);
        self.launch();
    }

    /// Returns the server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
