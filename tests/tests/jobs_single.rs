//! Background tasks on a single node: log retention, Slurm limit enforcement through its
//! fan-out job, and catching up a schedule tick missed while the node was down.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use keystone_blackbox::{count_rows, token_client, Backend, TestServer};
use keystone_storage::logs::{NewRequestLog, NewTaskResult};
use reqwest::StatusCode;
use serde_json::json;

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn request_log(age: chrono::Duration, cid: &str) -> NewRequestLog {
    NewRequestLog {
        method: "GET".into(),
        endpoint: "/version/".into(),
        response_code: 200,
        remote_address: Some("127.0.0.1".into()),
        timestamp: Utc::now() - age,
        cid: Some(cid.into()),
        user_id: None,
    }
}

fn task_result(age: chrono::Duration, task_id: &str) -> NewTaskResult {
    let when = Utc::now() - age;
    NewTaskResult {
        task_id: task_id.into(),
        periodic_task_name: None,
        task_name: "keystone.testing.sleep".into(),
        task_args: "[]".into(),
        task_kwargs: "{}".into(),
        status: "SUCCESS".into(),
        worker: None,
        result: None,
        date_created: when,
        date_started: Some(when),
        date_done: when,
        traceback: None,
    }
}

#[tokio::test]
async fn log_retention_deletes_only_expired_records() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = TestServer::builder(backend)
            .env("KEYSTONE_TEST_TASKS", "true")
            .env("LOG_REQ_RETENTION_SEC", "3600")
            .env("LOG_AUD_RETENTION_SEC", "0")
            .env("LOG_TSK_RETENTION_SEC", "3600")
            .start()
            .await;
        let db = server.storage().await;
        db.insert_request_logs(&[request_log(chrono::Duration::days(2), "old"), request_log(chrono::Duration::minutes(5), "new")])
            .await
            .unwrap();
        db.upsert_task_result(&task_result(chrono::Duration::days(2), "old-task")).await.unwrap();
        db.upsert_task_result(&task_result(chrono::Duration::minutes(5), "new-task")).await.unwrap();
        server.create_user("auditor", "quiet-lantern-47", true).await;
        let sql = match backend {
            Backend::Postgres => "UPDATE auditlog_logentry SET timestamp = timestamp - INTERVAL '30 days'",
            Backend::Sqlite => "UPDATE auditlog_logentry SET timestamp = '2020-01-01T00:00:00+00:00'",
        };
        server.execute_sql(sql).await;
        let audit_before = count_rows(&db, "SELECT COUNT(*) FROM auditlog_logentry").await;
        assert!(audit_before > 0);

        let output = server.command(&["task", "run", "clear_log_records", "--wait", "--timeout", "60"]);
        assert!(output.status.success(), "{backend:?}: {}{}", stdout(&output), String::from_utf8_lossy(&output.stderr));
        assert!(stdout(&output).contains("state:    succeeded"), "{}", stdout(&output));

        assert_eq!(count_rows(&db, "SELECT COUNT(*) FROM logging_requestlog WHERE cid = 'old'").await, 0, "{backend:?}");
        assert_eq!(count_rows(&db, "SELECT COUNT(*) FROM logging_requestlog WHERE cid = 'new'").await, 1, "{backend:?}");
        assert_eq!(
            count_rows(&db, "SELECT COUNT(*) FROM django_celery_results_taskresult WHERE task_id = 'old-task'").await,
            0,
            "{backend:?}"
        );
        assert_eq!(
            count_rows(&db, "SELECT COUNT(*) FROM django_celery_results_taskresult WHERE task_id = 'new-task'").await,
            1,
            "{backend:?}"
        );
        assert_eq!(
            count_rows(&db, "SELECT COUNT(*) FROM auditlog_logentry").await,
            audit_before,
            "{backend:?}: retention 0 keeps audit records"
        );
        db.close().await;
    }
}

fn fake_slurm_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../actors/tests/fake_slurm").canonicalize().expect("fake Slurm tools exist")
}

#[tokio::test]
async fn update_limits_fans_out_per_enabled_cluster() {
    let fake = tempfile::tempdir().unwrap();
    let path = format!("{}:{}", fake_slurm_dir().display(), std::env::var("PATH").unwrap_or_default());
    let server =
        TestServer::builder(Backend::Postgres).env("PATH", &path).env("FAKE_SLURM_DIR", &fake.path().display().to_string()).start().await;
    let db = server.storage().await;
    let staff_id = server.create_user("operator", "quiet-lantern-47", true).await;
    let staff = token_client(&server, &db, staff_id).await;

    let cluster = staff.post("/allocations/clusters/", &json!({"name": "alpha"})).await;
    assert_eq!(cluster.status, StatusCode::CREATED, "{}", cluster.body);
    let disabled = staff.post("/allocations/clusters/", &json!({"name": "beta", "enabled": false})).await;
    assert_eq!(disabled.status, StatusCode::CREATED, "{}", disabled.body);
    let team = staff.post("/users/teams/", &json!({"name": "Physics Lab"})).await;
    assert_eq!(team.json()["slug"], "physics-lab");
    let today = Utc::now().date_naive();
    let request = staff
        .post(
            "/allocations/requests/",
            &json!({
                "title": "Lattice runs",
                "description": "Quarterly lattice QCD runs.",
                "status": "AP",
                "active": (today - chrono::Duration::days(10)).to_string(),
                "expire": (today + chrono::Duration::days(300)).to_string(),
                "submitter": staff_id,
                "team": team.json()["id"],
            }),
        )
        .await;
    assert_eq!(request.status, StatusCode::CREATED, "{}", request.body);
    let allocation = staff
        .post(
            "/allocations/allocations/",
            &json!({"requested": 1000, "awarded": 500, "cluster": cluster.json()["id"], "request": request.json()["id"]}),
        )
        .await;
    assert_eq!(allocation.status, StatusCode::CREATED, "{}", allocation.body);
    std::fs::write(fake.path().join("accounts.out"), "root\nphysics-lab\n").unwrap();

    let output = server.command(&["task", "run", "update_limits", "--wait", "--timeout", "60"]);
    assert!(output.status.success(), "{}{}", stdout(&output), String::from_utf8_lossy(&output.stderr));

    // The fanned-out job for the enabled cluster runs on its own; wait for its record.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = count_rows(
            &db,
            "SELECT COUNT(*) FROM django_celery_results_taskresult \
             WHERE task_name = 'apps.allocations.tasks.limits.update_limits_for_cluster' AND status = 'SUCCESS'",
        )
        .await;
        if done >= 1 {
            assert_eq!(done, 1, "one job per enabled cluster");
            break;
        }
        assert!(Instant::now() < deadline, "the per-cluster job did not succeed: {}", server.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let calls = std::fs::read_to_string(fake.path().join("calls.log")).unwrap();
    assert!(calls.contains("cluster=alpha"), "{calls}");
    assert!(!calls.contains("cluster=beta"), "disabled clusters are skipped: {calls}");
    let modify = calls.lines().find(|line| line.contains("modify")).unwrap_or_else(|| panic!("no limit was set: {calls}"));
    assert!(modify.contains("account=physics-lab"), "{modify}");
    assert!(modify.contains("GrpTresMins=billing=30000"), "500 active hours are 30,000 minutes: {modify}");
    let kwargs =
        count_rows(&db, "SELECT COUNT(*) FROM django_celery_results_taskresult WHERE task_kwargs LIKE '%\"cluster_name\":\"alpha\"%'")
            .await;
    assert_eq!(kwargs, 1, "the per-cluster job records its argument");
    db.close().await;
}

#[tokio::test]
async fn missed_ticks_run_once_after_restart() {
    let mut server = TestServer::builder(Backend::Sqlite).env("KEYSTONE_SCHEDULES", "clear_log_records=*/2 * * * * *").start().await;
    let db = server.storage().await;
    let runs =
        "SELECT COUNT(*) FROM django_celery_results_taskresult WHERE periodic_task_name = 'clear_log_records' AND status = 'SUCCESS'";
    let deadline = Instant::now() + Duration::from_secs(20);
    while count_rows(&db, runs).await < 1 {
        assert!(Instant::now() < deadline, "the schedule never ran: {}", server.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    server.terminate();
    let stopped = Utc::now().timestamp();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let restarted = Utc::now().timestamp();
    server.restart().await;
    let ready = Utc::now().timestamp();
    tokio::time::sleep(Duration::from_secs(3)).await;

    let ticks = keystone_blackbox::text_rows(
        &db,
        &format!("SELECT CAST(tick AS TEXT) FROM keystone_schedule_tick WHERE task = 'apps.logging.tasks.clear_log_records' AND tick > {stopped} ORDER BY tick"),
    )
    .await;
    let ticks: Vec<i64> =
        ticks.iter().filter_map(|row| row.first().cloned().flatten()).map(|tick| tick.parse().expect("tick is a number")).collect();
    let first = *ticks.first().unwrap_or_else(|| panic!("no tick ran after the restart: {}", server.log()));
    // At least three ticks fell between the stop and the restart; only the latest due one runs,
    // so the first tick recorded after the stop is no earlier than two seconds before restart.
    assert!(first >= restarted - 2, "an early missed tick ran: first {first}, stopped {stopped}, restarted {restarted}");
    assert!(first <= ready, "the latest missed tick ran at start-up: first {first}, ready {ready}");
    assert!(ticks.windows(2).all(|pair| pair[1] - pair[0] >= 2), "ticks after the restart follow the schedule: {ticks:?}");
    db.close().await;
}
