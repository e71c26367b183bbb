//! The job system with real processes. Tests start clusters of `keystone serve` nodes on one
//! PostgreSQL database and Redis, then kill nodes with SIGKILL, pause them with SIGSTOP and
//! restart Redis under them. A single node on SQLite is reached through its control socket,
//! and cluster mode checks its settings at start-up.
//!
//! Nodes run with a 3 s claim visibility and a 3 s leader lease. The tests that start clusters
//! run one at a time, so their timing bounds do not depend on how many run in parallel.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::time::{Duration, Instant};

use keystone_blackbox::{
    count_rows, free_port, run_keystone, text_rows, wait_until, Backend, RedisMode, TestCluster, TestDatabase, TestServer, COMMAND_TIMEOUT,
    TEST_SECRET_KEY,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serializes the tests that start clusters.
static CLUSTER_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `KEYSTONE_LEADER_TTL_SEC` of every cluster (the harness default).
const LEADER_TTL: Duration = Duration::from_secs(3);

/// How often a scheduler renews or tries to take the lease.
const SCHEDULER_INTERVAL: Duration = Duration::from_secs(1);

/// Slack for process scheduling on a loaded machine, added to the bounds that the design sets.
const SLACK: Duration = Duration::from_secs(1);

const CLEAR_LOG_RECORDS: &str = "apps.logging.tasks.clear_log_records";
const EVERY_SECOND: &str = "clear_log_records=* * * * * *;update_limits=off";

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Counts the task records of `clear_log_records` runs with `status`.
async fn scheduled_runs(cluster: &TestCluster, status: &str) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM django_celery_results_taskresult WHERE periodic_task_name = 'clear_log_records' AND status = '{status}'"
    );
    count_rows(cluster.storage(), &sql).await
}

/// Waits at most `timeout` until at least `count` `clear_log_records` runs succeeded.
async fn wait_for_scheduled_successes(cluster: &TestCluster, count: i64, timeout: Duration) {
    let reached = wait_until(timeout, || async { (scheduled_runs(cluster, "SUCCESS").await >= count).then_some(()) }).await;
    if reached.is_none() {
        panic!("fewer than {count} scheduled runs succeeded within {timeout:?}; logs: {}", cluster.logs());
    }
}

/// Waits at most 15 s until exactly one running node reports itself the scheduler leader.
async fn wait_for_single_leader(cluster: &mut TestCluster) -> usize {
    let mut last = Vec::new();
    for _ in 0..150 {
        last = cluster.leaders().await;
        if last.len() == 1 {
            return last[0];
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no single scheduler leader within 15 s (leaders: {last:?}); logs: {}", cluster.logs());
}

/// Returns the epoch of the last "became the scheduler leader" line of the node's log.
fn leader_epoch(cluster: &TestCluster, node: usize) -> Option<u64> {
    let lines = cluster.nodes[node].log_lines(&["became the scheduler leader"]);
    let line = lines.last()?;
    line.split("epoch=").nth(1)?.split_whitespace().next()?.parse().ok()
}

/// A scheduled run as logged by the leader that enqueued it.
struct EnqueuedTick {
    tick: String,
    job_id: String,
}

/// Parses the "enqueued a scheduled run" lines of `clear_log_records` in every node's log,
/// killed nodes included.
fn enqueued_ticks(cluster: &TestCluster) -> Vec<EnqueuedTick> {
    let task = format!("task=\"{CLEAR_LOG_RECORDS}\"");
    let mut ticks = Vec::new();
    for line in cluster.log_lines(&["enqueued a scheduled run", &task]) {
        let field = |name: &str, end: &str| line.split(name).nth(1).and_then(|rest| rest.split(end).next()).map(str::to_string);
        let (Some(tick), Some(job_id)) = (field("tick=", " job_id="), field("job_id=", " ")) else {
            panic!("unreadable enqueue line: {line}");
        };
        ticks.push(EnqueuedTick { tick, job_id });
    }
    ticks
}

/// Checks that no schedule tick of `clear_log_records` became more than one job, and returns
/// the number of ticks recorded.
///
/// Three views must agree: the enqueue lines of every node, the task records and the tick
/// table. Each tick has one job id in the enqueue lines. A leader writes the task record before
/// the enqueue line, so the records number at least the logged jobs and at most the ticks.
async fn assert_ticks_enqueued_once(cluster: &TestCluster) -> i64 {
    let mut jobs_per_tick: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for enqueued in enqueued_ticks(cluster) {
        jobs_per_tick.entry(enqueued.tick).or_default().insert(enqueued.job_id);
    }
    let repeated: Vec<_> = jobs_per_tick.iter().filter(|(_, jobs)| jobs.len() > 1).collect();
    assert!(repeated.is_empty(), "ticks enqueued as more than one job: {repeated:?}");
    let logged_jobs = jobs_per_tick.values().map(BTreeSet::len).sum::<usize>() as i64;

    let db = cluster.storage();
    let ticks = count_rows(db, &format!("SELECT COUNT(*) FROM keystone_schedule_tick WHERE task = '{CLEAR_LOG_RECORDS}'")).await;
    let distinct_ticks =
        count_rows(db, &format!("SELECT COUNT(DISTINCT tick) FROM keystone_schedule_tick WHERE task = '{CLEAR_LOG_RECORDS}'")).await;
    assert_eq!(ticks, distinct_ticks, "a tick is recorded twice in keystone_schedule_tick");

    let records =
        count_rows(db, "SELECT COUNT(*) FROM django_celery_results_taskresult WHERE periodic_task_name = 'clear_log_records'").await;
    assert!(records <= ticks, "{records} scheduled task records for {ticks} ticks: a tick ran twice");
    assert!(records >= logged_jobs, "{records} scheduled task records for {logged_jobs} logged enqueues");
    assert!(logged_jobs > 0, "no scheduled run was logged");
    ticks
}

/// Kill -9 of the node running a job: the claim expires, another node runs the job again, and
/// the job has exactly one success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_node_job_completes_elsewhere() {
    let _serial = CLUSTER_TESTS.lock().await;
    let mut cluster = TestCluster::builder().start().await;

    let job_id = cluster.enqueue("test_sleep", &["seconds=4"]).await;
    let worker = cluster
        .wait_for_status(&job_id, "STARTED", Duration::from_secs(15))
        .await
        .unwrap_or_else(|| panic!("job {job_id} did not start within 15 s; logs: {}", cluster.logs()))
        .expect("the record of a started job names its worker");
    let victim = cluster.node_of_worker(&worker).unwrap_or_else(|| panic!("worker {worker} is none of the cluster's nodes"));
    cluster.nodes[victim].kill();
    let killed_at = Instant::now();

    let finisher = cluster
        .wait_for_status(&job_id, "SUCCESS", Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("job {job_id} did not succeed within 30 s of the kill; logs: {}", cluster.logs()))
        .expect("the record of a finished job names its worker");
    let finisher = cluster.node_of_worker(&finisher).unwrap_or_else(|| panic!("worker {finisher} is none of the cluster's nodes"));
    assert_ne!(finisher, victim, "the killed node cannot have finished the job");
    // The second attempt sleeps the full 4 s, so it cannot have finished sooner.
    assert!(killed_at.elapsed() >= Duration::from_secs(4), "the job succeeded {:?} after the kill", killed_at.elapsed());

    let job = format!("job_id={job_id}");
    assert_eq!(cluster.log_lines(&["job started", &job]).len(), 2, "two attempts; logs: {}", cluster.logs());
    assert_eq!(cluster.nodes[victim].log_lines(&["job started", &job]).len(), 1, "the first attempt ran on the killed node");
    assert!(cluster.nodes[victim].log_lines(&["job succeeded", &job]).is_empty(), "the killed node logged a success");
    assert_eq!(cluster.log_lines(&["job succeeded", &job]).len(), 1, "exactly one success; logs: {}", cluster.logs());
    assert_eq!(cluster.log_lines(&["returned a job of a stopped worker to the queue", &job]).len(), 1);
    assert_eq!(cluster.metric_sum("keystone_jobs_succeeded_total{task=\"test_sleep\"}").await, 1.0);

    let db = cluster.storage();
    let sql = format!("SELECT COUNT(*) FROM django_celery_results_taskresult WHERE task_id = '{job_id}' AND status = 'SUCCESS'");
    assert_eq!(count_rows(db, &sql).await, 1);
    let sql = "SELECT COUNT(*) FROM django_celery_results_taskresult WHERE task_name = 'keystone.testing.sleep'";
    assert_eq!(count_rows(db, sql).await, 1, "one record per job, not per attempt");

    let status = cluster.command(&["task", "status", &job_id]).await;
    assert!(status.status.success(), "keystone task status failed: {}", stderr(&status));
    assert!(stdout(&status).contains("state:    succeeded"), "{}", stdout(&status));
    assert!(stdout(&status).contains("attempts: 2/3"), "{}", stdout(&status));
}

/// A worker paused with SIGSTOP loses its claim to another node, which finishes the job. When
/// the paused worker resumes, its late acknowledgement is rejected and it records nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_worker_cannot_record_reclaimed_job() {
    let _serial = CLUSTER_TESTS.lock().await;
    let mut cluster = TestCluster::builder().start().await;

    let job_id = cluster.enqueue("test_sleep", &["seconds=2"]).await;
    let worker = cluster
        .wait_for_status(&job_id, "STARTED", Duration::from_secs(15))
        .await
        .unwrap_or_else(|| panic!("job {job_id} did not start within 15 s; logs: {}", cluster.logs()))
        .expect("the record of a started job names its worker");
    let paused = cluster.node_of_worker(&worker).unwrap_or_else(|| panic!("worker {worker} is none of the cluster's nodes"));
    cluster.nodes[paused].signal("STOP");

    let finisher = cluster.wait_for_status(&job_id, "SUCCESS", Duration::from_secs(30)).await;
    cluster.nodes[paused].signal("CONT");
    let finisher = finisher
        .unwrap_or_else(|| panic!("job {job_id} did not succeed within 30 s of the pause; logs: {}", cluster.logs()))
        .expect("the record of a finished job names its worker");
    let finisher = cluster.node_of_worker(&finisher).unwrap_or_else(|| panic!("worker {finisher} is none of the cluster's nodes"));
    assert_ne!(finisher, paused, "the paused node cannot have finished the job");

    // The paused attempt's sleep ended during the pause, so it acknowledges at once on resume.
    let job = format!("job_id={job_id}");
    let rejected = wait_until(Duration::from_secs(10), || async {
        (!cluster.nodes[paused].log_lines(&["failed to acknowledge a finished job", &job]).is_empty()).then_some(())
    })
    .await;
    assert!(rejected.is_some(), "the resumed node did not try to acknowledge; log: {}", cluster.nodes[paused].log());
    let line = cluster.nodes[paused].log_lines(&["failed to acknowledge a finished job", &job]).remove(0);
    assert!(line.contains("stale claim token"), "{line}");

    assert_eq!(cluster.log_lines(&["job succeeded", &job]).len(), 1, "exactly one success; logs: {}", cluster.logs());
    let (status, worker) = cluster.task_record(&job_id).await.expect("the job has a task record");
    assert_eq!(status, "SUCCESS", "the resumed node overwrote the record");
    assert!(worker.is_some_and(|worker| worker.starts_with(&cluster.nodes[finisher].id_prefix())), "the record names the finishing node");
    assert!(cluster.nodes[paused].is_running(), "the resumed node exited; log: {}", cluster.nodes[paused].log());
    assert_eq!(cluster.nodes[paused].metric("keystone_jobs_succeeded_total{task=\"test_sleep\"}").await, None);
}

/// Kill -9 of the scheduler leader: another node takes the lease within its TTL plus one
/// scheduler interval, and no schedule tick becomes two jobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_leader_is_replaced_without_double_ticks() {
    let _serial = CLUSTER_TESTS.lock().await;
    let mut cluster = TestCluster::builder().env("KEYSTONE_SCHEDULES", EVERY_SECOND).start().await;

    let old_leader = wait_for_single_leader(&mut cluster).await;
    wait_for_scheduled_successes(&cluster, 3, Duration::from_secs(15)).await;
    let old_epoch = leader_epoch(&cluster, old_leader).expect("the leader logged its epoch");
    let enqueued_before = cluster.nodes[old_leader].log_lines(&["enqueued a scheduled run"]).len();
    assert!(enqueued_before >= 3, "the leader enqueued {enqueued_before} runs");

    cluster.nodes[old_leader].kill();
    let killed_at = Instant::now();
    let killed_unix = chrono::Utc::now().timestamp();

    let mut new_leader = None;
    while new_leader.is_none() && killed_at.elapsed() < Duration::from_secs(15) {
        let leaders = cluster.leaders().await;
        if leaders.len() == 1 {
            new_leader = Some(leaders[0]);
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let failover = killed_at.elapsed();
    let new_leader = new_leader.unwrap_or_else(|| panic!("no node took the lease within 15 s of the kill; logs: {}", cluster.logs()));
    eprintln!("leader failover took {} ms (lease TTL {} s)", failover.as_millis(), LEADER_TTL.as_secs());
    let bound = LEADER_TTL + SCHEDULER_INTERVAL + SLACK;
    assert!(failover <= bound, "failover took {failover:?}, more than {bound:?}");
    assert_ne!(new_leader, old_leader);

    let new_epoch = leader_epoch(&cluster, new_leader).expect("the new leader logged its epoch");
    assert!(new_epoch > old_epoch, "epoch {new_epoch} of the new term is not above {old_epoch}");

    // The new leader keeps the schedule going.
    let resumed = wait_until(Duration::from_secs(15), || async {
        (cluster.nodes[new_leader].log_lines(&["enqueued a scheduled run"]).len() >= 3).then_some(())
    })
    .await;
    assert!(resumed.is_some(), "the new leader enqueued fewer than 3 runs in 15 s; logs: {}", cluster.logs());
    let after = count_rows(
        cluster.storage(),
        &format!("SELECT COUNT(*) FROM keystone_schedule_tick WHERE task = '{CLEAR_LOG_RECORDS}' AND tick > {killed_unix}"),
    )
    .await;
    assert!(after >= 3, "{after} ticks recorded after the kill");
    let succeeded = scheduled_runs(&cluster, "SUCCESS").await;
    wait_for_scheduled_successes(&cluster, succeeded + 2, Duration::from_secs(15)).await;

    assert_eq!(cluster.leaders().await, vec![new_leader], "exactly one leader after the failover");
    let ticks = assert_ticks_enqueued_once(&cluster).await;
    assert!(ticks >= 6, "{ticks} ticks in all");
}

/// A leader paused with SIGSTOP for longer than its lease is replaced, and steps down when it
/// resumes, without enqueueing a tick that the new leader enqueued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_leader_steps_down_on_resume() {
    let _serial = CLUSTER_TESTS.lock().await;
    let mut cluster = TestCluster::builder().nodes(2).env("KEYSTONE_SCHEDULES", EVERY_SECOND).start().await;

    let old_leader = wait_for_single_leader(&mut cluster).await;
    let other = 1 - old_leader;
    wait_for_scheduled_successes(&cluster, 2, Duration::from_secs(15)).await;

    cluster.nodes[old_leader].signal("STOP");
    let paused_at = Instant::now();
    // The paused node cannot respond to /metrics/, so read only the other one.
    let took_over = wait_until(Duration::from_secs(15), || async {
        (cluster.nodes[other].metric("keystone_scheduler_leader").await == Some(1.0)).then_some(())
    })
    .await;
    let failover = paused_at.elapsed();
    if took_over.is_none() {
        cluster.nodes[old_leader].signal("CONT");
        panic!("the other node did not take the lease within 15 s; logs: {}", cluster.logs());
    }
    eprintln!("leader failover after a pause took {} ms", failover.as_millis());
    let enqueued = wait_until(Duration::from_secs(10), || async {
        (cluster.nodes[other].log_lines(&["enqueued a scheduled run"]).len() >= 2).then_some(())
    })
    .await;
    cluster.nodes[old_leader].signal("CONT");
    assert!(enqueued.is_some(), "the new leader enqueued fewer than 2 runs; logs: {}", cluster.logs());
    let bound = LEADER_TTL + SCHEDULER_INTERVAL + SLACK;
    assert!(failover <= bound, "failover took {failover:?}, more than {bound:?}");

    let stepped_down = wait_until(Duration::from_secs(10), || async {
        (!cluster.nodes[old_leader].log_lines(&["lost the leader lease"]).is_empty()).then_some(())
    })
    .await;
    assert!(stepped_down.is_some(), "the resumed leader did not step down; log: {}", cluster.nodes[old_leader].log());
    // Let the resumed node run a few scheduler intervals as a follower.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(cluster.leaders().await, vec![other], "exactly one leader after the resume");
    assert!(cluster.nodes[old_leader].is_running());
    assert_ticks_enqueued_once(&cluster).await;
}

/// A task that panics fails its job and takes its worker down: the supervisor restarts the
/// worker, and the job is retried, then dead-lettered after its 2 attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_task_is_retried_then_dead_lettered() {
    let _serial = CLUSTER_TESTS.lock().await;
    let mut cluster = TestCluster::builder().start().await;

    let job_id = cluster.enqueue("test_panic", &[]).await;
    let failed = cluster.wait_for_status(&job_id, "FAILURE", Duration::from_secs(40)).await;
    assert!(failed.is_some(), "job {job_id} was not recorded as FAILURE within 40 s; logs: {}", cluster.logs());

    let status = cluster.command(&["task", "status", &job_id]).await;
    assert!(status.status.success(), "keystone task status failed: {}", stderr(&status));
    assert!(stdout(&status).contains("state:    dead"), "{}", stdout(&status));
    assert!(stdout(&status).contains("attempts: 2/2"), "{}", stdout(&status));
    assert!(stdout(&status).contains("error:    task panicked: test task panicked on purpose"), "{}", stdout(&status));

    // The worker fails the job before it goes down, so no attempt waits for its claim to expire.
    let job = format!("job_id={job_id}");
    assert_eq!(cluster.log_lines(&["job started", &job, "attempt=1"]).len(), 1, "logs: {}", cluster.logs());
    assert_eq!(cluster.log_lines(&["job started", &job, "attempt=2"]).len(), 1, "logs: {}", cluster.logs());
    assert_eq!(cluster.log_lines(&["job failed; retrying", &job]).len(), 1, "logs: {}", cluster.logs());
    assert_eq!(cluster.log_lines(&["job failed for good; moved to the dead letters", &job]).len(), 1);
    assert!(cluster.log_lines(&["returned a job of a stopped worker to the queue", &job]).is_empty());

    // One worker restart per panic, and no other actor restarted or was given up on.
    assert_eq!(cluster.log_lines(&["restarting actor after backoff", "actor=worker-"]).len(), 2, "logs: {}", cluster.logs());
    assert_eq!(cluster.log_lines(&["restarting actor after backoff"]).len(), 2);
    let restarted =
        wait_until(Duration::from_secs(5), || async { (cluster.log_lines(&["actor restarted"]).len() == 2).then_some(()) }).await;
    assert!(restarted.is_some(), "logs: {}", cluster.logs());
    assert!(cluster.log_lines(&["giving up on it"]).is_empty());
    assert_eq!(cluster.metric_sum("keystone_actor_restarts_total").await, 2.0);
    assert_eq!(cluster.metric_sum("keystone_jobs_dead_lettered_total").await, 1.0);

    let sql = format!("SELECT traceback, worker FROM django_celery_results_taskresult WHERE task_id = '{job_id}'");
    let mut record = text_rows(cluster.storage(), &sql).await.remove(0);
    let worker = record.pop().flatten().unwrap_or_default();
    let traceback = record.pop().flatten().unwrap_or_default();
    assert_eq!(traceback, "task panicked: test task panicked on purpose", "the FAILURE record carries the panic message");
    assert!(cluster.node_of_worker(&worker).is_some(), "the FAILURE record names the node of the last attempt, not {worker:?}");

    // The restarted workers still take jobs.
    let follow_up = cluster.enqueue("test_sleep", &["seconds=0"]).await;
    let done = cluster.wait_for_status(&follow_up, "SUCCESS", Duration::from_secs(15)).await;
    assert!(done.is_some(), "a job after the panics did not succeed; logs: {}", cluster.logs());
}

/// Runs jobs across a Redis restart (SIGKILL, 4 s down, start again on the same port).
/// Jobs acknowledged before the restart keep their records, jobs in flight during the restart
/// succeed, the nodes keep running and reconnect, and jobs enqueued afterwards succeed. With
/// `durable`, Redis keeps an append-only file synced on every write.
async fn run_across_redis_restart(durable: bool) {
    let mode = if durable { RedisMode::PrivateDurable } else { RedisMode::Private };
    let mut cluster = TestCluster::builder().redis(mode).env("KEYSTONE_SCHEDULES", EVERY_SECOND).start().await;
    wait_for_single_leader(&mut cluster).await;

    let mut acknowledged = Vec::new();
    for _ in 0..3 {
        acknowledged.push(cluster.enqueue("test_sleep", &["seconds=1"]).await);
    }
    for job_id in &acknowledged {
        let done = cluster.wait_for_status(job_id, "SUCCESS", Duration::from_secs(20)).await;
        assert!(done.is_some(), "job {job_id} did not succeed before the restart; logs: {}", cluster.logs());
    }
    let mut in_flight = Vec::new();
    for _ in 0..2 {
        in_flight.push(cluster.enqueue("test_sleep", &["seconds=3"]).await);
    }
    for job_id in &in_flight {
        let started = cluster.wait_for_status(job_id, "STARTED", Duration::from_secs(10)).await;
        assert!(started.is_some(), "job {job_id} did not start; logs: {}", cluster.logs());
    }

    cluster.private_redis().kill();
    let outage_started = chrono::Utc::now().timestamp();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let run_without_redis = cluster.command(&["task", "run", "test_sleep"]).await;
    assert!(!run_without_redis.status.success(), "keystone task run succeeded without Redis");
    assert!(stderr(&run_without_redis).contains("failed to reach Redis"), "{}", stderr(&run_without_redis));
    for node in &mut cluster.nodes {
        assert!(node.is_running(), "the node on port {} exited without Redis; log: {}", node.port, node.log());
        let version = reqwest::get(format!("{}/version/", node.base_url())).await.expect("version request");
        assert!(version.status().is_success(), "the node on port {} stopped serving without Redis", node.port);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.private_redis().start_again();

    let mut after = Vec::new();
    for _ in 0..3 {
        after.push(cluster.enqueue("test_sleep", &["seconds=1"]).await);
    }
    for job_id in &after {
        let done = cluster.wait_for_status(job_id, "SUCCESS", Duration::from_secs(30)).await;
        assert!(done.is_some(), "job {job_id} enqueued after the restart did not succeed; logs: {}", cluster.logs());
    }
    for job_id in &acknowledged {
        let (status, _) = cluster.task_record(job_id).await.expect("the record survives");
        assert_eq!(status, "SUCCESS", "job {job_id}");
    }
    // A worker retries the acknowledgement until Redis is back. A durable Redis still contains
    // the job, which is then acknowledged or, once its claim expired, run again. A Redis without
    // persistence lost it, so the worker records the result of its run as final.
    for job_id in &in_flight {
        let done = cluster.wait_for_status(job_id, "SUCCESS", Duration::from_secs(30)).await;
        assert!(done.is_some(), "job {job_id} in flight during the restart did not succeed; logs: {}", cluster.logs());
        let lost = cluster.log_lines(&["the coordinator has no record of a finished job", &format!("job_id={job_id}")]);
        assert_eq!(lost.len(), usize::from(!durable), "job {job_id}; logs: {}", cluster.logs());
    }

    for node in &mut cluster.nodes {
        assert!(node.is_running(), "the node on port {} exited; log: {}", node.port, node.log());
        let log = node.log();
        let retried =
            ["failed to claim a job; retrying", "failed to send the node heartbeat", "failed to open a Redis connection, retrying"]
                .iter()
                .any(|line| log.contains(line));
        assert!(retried, "the node on port {} logged no retry while Redis was down; log: {log}", node.port);
        assert!(log.contains("Redis connection restored"), "the node on port {} did not log the reconnection; log: {log}", node.port);
    }

    // The schedule resumes, and the tick table keeps ticks unique even when Redis forgot them.
    wait_for_single_leader(&mut cluster).await;
    let resumed = wait_until(Duration::from_secs(15), || async {
        let sql = format!("SELECT COUNT(*) FROM keystone_schedule_tick WHERE task = '{CLEAR_LOG_RECORDS}' AND tick > {outage_started}");
        (count_rows(cluster.storage(), &sql).await >= 3).then_some(())
    })
    .await;
    assert!(resumed.is_some(), "the schedule did not resume after the restart; logs: {}", cluster.logs());
    assert_ticks_enqueued_once(&cluster).await;
    let live = cluster.nodes[0].metric("keystone_cluster_live_nodes").await;
    assert_eq!(live, Some(3.0), "every node sends heartbeats again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_without_persistence() {
    let _serial = CLUSTER_TESTS.lock().await;
    run_across_redis_restart(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_with_append_only_file() {
    let _serial = CLUSTER_TESTS.lock().await;
    run_across_redis_restart(true).await;
}

/// A single node without Redis runs the schedule and serves `keystone task` through its
/// control socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_runs_jobs_without_redis() {
    let server = TestServer::builder(Backend::Sqlite)
        .env("KEYSTONE_TEST_TASKS", "true")
        .env("KEYSTONE_SCHEDULES", EVERY_SECOND)
        .env("KEYSTONE_JOB_VISIBILITY_SEC", "3")
        .start()
        .await;
    let db = server.storage().await;

    let scheduled = wait_until(Duration::from_secs(15), || async {
        let sql =
            "SELECT COUNT(*) FROM django_celery_results_taskresult WHERE periodic_task_name = 'clear_log_records' AND status = 'SUCCESS'";
        (count_rows(&db, sql).await >= 2).then_some(())
    })
    .await;
    assert!(scheduled.is_some(), "fewer than 2 scheduled runs succeeded in 15 s; log: {}", server.log());
    assert!(server.log().contains("became the scheduler leader"), "{}", server.log());

    let run = tokio::task::block_in_place(|| server.command(&["task", "run", "test_sleep", "--arg", "seconds=1", "--wait"]));
    assert!(run.status.success(), "keystone task run --wait failed: {}", stderr(&run));
    let job_id = stdout(&run).lines().next().unwrap_or_default().trim().to_string();
    assert!(uuid::Uuid::parse_str(&job_id).is_ok(), "no job id in {:?}", stdout(&run));
    assert!(stdout(&run).contains("state:    succeeded"), "{}", stdout(&run));

    let status = tokio::task::block_in_place(|| server.command(&["task", "status", &job_id]));
    assert!(status.status.success(), "keystone task status failed: {}", stderr(&status));
    assert!(stdout(&status).contains("state:    succeeded"), "{}", stdout(&status));
    assert!(stdout(&status).contains("attempts: 1/3"), "{}", stdout(&status));
    let sql = format!("SELECT COUNT(*) FROM django_celery_results_taskresult WHERE task_id = '{job_id}' AND status = 'SUCCESS' AND worker LIKE 'node-{}-%'", server.port);
    assert_eq!(count_rows(&db, &sql).await, 1, "the record names this node");

    let unknown = tokio::task::block_in_place(|| server.command(&["task", "run", "nope"]));
    assert!(!unknown.status.success(), "an unknown task was accepted");
    assert!(stderr(&unknown).contains("unknown task nope"), "{}", stderr(&unknown));

    let missing = tokio::task::block_in_place(|| server.command(&["task", "status", "01a24307-0000-7000-8000-000000000000"]));
    assert!(!missing.status.success(), "status of a job that does not exist succeeded");
    assert!(stderr(&missing).contains("no job"), "{}", stderr(&missing));

    let panicked = tokio::task::block_in_place(|| server.command(&["task", "run", "test_panic", "--wait", "--timeout", "60"]));
    assert!(!panicked.status.success(), "a task that always panics reported success");
    assert!(stdout(&panicked).contains("state:    dead"), "{}", stdout(&panicked));
    assert!(stdout(&panicked).contains("attempts: 2/2"), "{}", stdout(&panicked));
    assert!(stderr(&panicked).contains("failed"), "{}", stderr(&panicked));

    let bad_argument = tokio::task::block_in_place(|| server.command(&["task", "run", "test_sleep", "--arg", "=1"]));
    assert!(!bad_argument.status.success(), "an argument without a key was accepted");
    assert!(stderr(&bad_argument).contains("the KEY before `=` is empty"), "{}", stderr(&bad_argument));

    // The control socket rejects a request that is not UTF-8 with an error response instead of closing silently.
    let socket = server.data_dir.path().join("keystone.sock");
    let mut stream = tokio::net::UnixStream::connect(&socket).await.expect("connect to the control socket");
    stream.write_all(b"{\"run\": \xff}\n").await.expect("write to the control socket");
    let mut reply = String::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut reply)).await;
    assert!(read.is_ok(), "the control socket did not answer within 10 s");
    assert!(reply.contains("invalid control request: the request is not UTF-8"), "{reply}");

    let elsewhere = tempfile::tempdir().expect("temporary folder");
    let elsewhere = elsewhere.path().display().to_string();
    let no_node =
        tokio::task::block_in_place(|| server.command_with_env(&["task", "run", "test_sleep"], &[("KEYSTONE_DATA_DIR", &elsewhere)]));
    assert!(!no_node.status.success());
    assert!(stderr(&no_node).contains("no running Keystone node answers"), "{}", stderr(&no_node));
    db.close().await;
}

/// Runs `keystone serve` with `env` and returns its output, checking that it exits within 15 s.
fn serve_must_fail(env: &[(String, String)]) -> Output {
    let bind = format!("127.0.0.1:{}", free_port());
    let started = Instant::now();
    let output = run_keystone(&["serve", "--bind", &bind], env, None, COMMAND_TIMEOUT);
    assert!(started.elapsed() < Duration::from_secs(15), "keystone serve took {:?} to give up", started.elapsed());
    assert!(!output.status.success(), "keystone serve started: {}", stderr(&output));
    output
}

/// `CLUSTER_ENABLE=true` refuses to start on SQLite, without a secret key, or without Redis,
/// with a message that names the problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_start_up_checks() {
    let data_dir = tempfile::tempdir().expect("temporary folder");
    let base =
        vec![("KEYSTONE_DATA_DIR".to_string(), data_dir.path().display().to_string()), ("CLUSTER_ENABLE".to_string(), "true".to_string())];

    let mut sqlite = base.clone();
    sqlite.push(("SECURE_SECRET_KEY".into(), TEST_SECRET_KEY.into()));
    let output = tokio::task::block_in_place(|| serve_must_fail(&sqlite));
    assert_eq!(output.status.code(), Some(2), "invalid settings exit with status 2");
    assert!(stderr(&output).contains("CLUSTER_ENABLE"), "{}", stderr(&output));
    assert!(stderr(&output).contains("DB_POSTGRES_ENABLE=true"), "{}", stderr(&output));

    let database = TestDatabase::create(Backend::Postgres, data_dir.path()).await;
    let mut postgres = base.clone();
    postgres.extend(database.env());
    let output = tokio::task::block_in_place(|| serve_must_fail(&postgres));
    assert!(stderr(&output).contains("SECURE_SECRET_KEY"), "{}", stderr(&output));

    let closed_port = free_port();
    postgres.push(("SECURE_SECRET_KEY".into(), TEST_SECRET_KEY.into()));
    let migrated = tokio::task::block_in_place(|| run_keystone(&["migrate"], &postgres, None, COMMAND_TIMEOUT));
    assert!(migrated.status.success(), "keystone migrate failed: {}", stderr(&migrated));
    postgres.push(("REDIS_PORT".into(), closed_port.to_string()));
    let output = tokio::task::block_in_place(|| serve_must_fail(&postgres));
    assert!(stderr(&output).contains("Redis"), "{}", stderr(&output));
    assert!(stderr(&output).contains(&format!("127.0.0.1:{closed_port}")), "{}", stderr(&output));

    let check = tokio::task::block_in_place(|| run_keystone(&["check"], &postgres, None, COMMAND_TIMEOUT));
    assert!(!check.status.success(), "keystone check passed without Redis");
    assert!(stderr(&check).contains(&format!("failed to reach Redis at 127.0.0.1:{closed_port}")), "{}", stderr(&check));
}
