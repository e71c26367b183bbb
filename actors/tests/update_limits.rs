//! The Slurm limit task against fake `sacctmgr` and `sshare` scripts (in `tests/fake_slurm/`)
//! on SQLite and PostgreSQL, and, when one is running, against a real single-node Slurm.
//!
//! The fakes print output from files in a temporary folder and log every call's argv there, so
//! each test checks the exact command lines, including the limit written in minutes.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use keystone_actors::slurm::{SlurmClient, SlurmError};
use keystone_actors::tasks::update_limits::{
    update_limits, update_limits_for_cluster, AccountOutcome, AccountReport, FinalAmount, SkipReason, UpdateLimitsError,
};
use keystone_storage::{on_backend, Database};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Executor;
use tempfile::TempDir;

/// Returns the day every test runs on. Allocation dates are offsets from it.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
}

fn day(offset: i64) -> NaiveDate {
    if offset >= 0 {
        today().checked_add_days(Days::new(offset as u64)).unwrap()
    } else {
        today().checked_sub_days(Days::new(offset.unsigned_abs())).unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// Fake Slurm tools

/// A folder of canned output for the fake tools, and a client that runs them.
struct FakeSlurm {
    dir: TempDir,
    client: SlurmClient,
}

impl FakeSlurm {
    fn new() -> FakeSlurm {
        Self::with_timeout(Duration::from_secs(10))
    }

    fn with_timeout(timeout: Duration) -> FakeSlurm {
        let dir = tempfile::tempdir().expect("failed to create a folder for the fake Slurm tools");
        let fakes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_slurm");
        let system_path = std::env::var_os("PATH").unwrap_or_default();
        let mut search_path = vec![fakes];
        search_path.extend(std::env::split_paths(&system_path));
        let client = SlurmClient::new()
            .with_search_path(std::env::join_paths(search_path).unwrap())
            .with_env("FAKE_SLURM_DIR", dir.path())
            .with_timeout(timeout);
        FakeSlurm { dir, client }
    }

    fn write(&self, file: &str, contents: &str) {
        std::fs::write(self.dir.path().join(file), contents).unwrap();
    }

    /// Makes the call named `name` print `stdout`.
    fn answer(&self, name: &str, stdout: &str) {
        self.write(&format!("{name}.out"), stdout);
    }

    /// Makes the call named `name` print `stderr` and exit with `status`.
    fn fail(&self, name: &str, status: i32, stderr: &str) {
        self.write(&format!("{name}.err"), stderr);
        self.write(&format!("{name}.exit"), &status.to_string());
    }

    /// Makes the call named `name` sleep for `seconds` and print nothing.
    fn hang(&self, name: &str, seconds: u32) {
        self.write(&format!("{name}.sleep"), &seconds.to_string());
    }

    /// Reads every call so far, as argv with the program name first.
    fn calls(&self) -> Vec<Vec<String>> {
        match std::fs::read_to_string(self.dir.path().join("calls.log")) {
            Ok(log) => log.lines().map(|line| line.split('\t').map(str::to_string).collect()).collect(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => panic!("failed to read the fake Slurm call log: {error}"),
        }
    }
}

fn argv(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_string).collect()
}

fn list_accounts_call(cluster: &str) -> Vec<String> {
    argv(&format!("sacctmgr show -nP account withassoc where parents=root format=Account cluster={cluster}"))
}

fn read_limit_call(account: &str, cluster: &str) -> Vec<String> {
    argv(&format!("sacctmgr show -nP association where account={account} cluster={cluster} format=GrpTRESMins"))
}

fn read_usage_call(account: &str, cluster: &str) -> Vec<String> {
    argv(&format!("sshare -nP -A {account} -M {cluster} --format=GrpTRESRaw"))
}

fn set_limit_call(account: &str, cluster: &str, minutes: i64) -> Vec<String> {
    argv(&format!("sacctmgr modify -i account where account={account} cluster={cluster} set GrpTresMins=billing={minutes}"))
}

/// `sacctmgr` output for a limit of `hours`: the account's line, then an empty line per user
/// association, as real Slurm prints it. No limit prints empty lines only.
fn limit_output(hours: i64) -> String {
    if hours == 0 {
        "\n\n".to_string()
    } else {
        format!("billing={}\n\n", hours * 60)
    }
}

/// `sshare` output for a usage of `hours` plus 59 minutes, which round down: a cluster line,
/// the account's row and the calling user's row, as real Slurm prints them.
fn usage_output(cluster: &str, hours: i64) -> String {
    let minutes = hours * 60 + 59;
    format!(
        "CLUSTER: {cluster}\ncpu=12,mem=4096,energy=0,node=2,billing={minutes},fs/disk=0,vmem=0,pages=0\n\
         cpu=0,mem=0,energy=0,node=0,billing=0,fs/disk=0,vmem=0,pages=0\n"
    )
}

// ---------------------------------------------------------------------------------------------
// Databases

/// Opens a migrated SQLite database in a temporary folder, which lives as long as the returned
/// guard.
async fn sqlite_database() -> (Database, TempDir) {
    let dir = tempfile::tempdir().expect("failed to create a folder for the SQLite database");
    let db = Database::connect_sqlite(&dir.path().join("keystone.db")).await.expect("failed to open the SQLite database");
    db.migrate().await.expect("failed to migrate the SQLite database");
    (db, dir)
}

const POSTGRES_HOST: &str = "127.0.0.1";
const POSTGRES_PORT: u16 = 5432;
const POSTGRES_USER: &str = "postgres";

fn postgres_options(database: &str) -> PgConnectOptions {
    PgConnectOptions::new().host(POSTGRES_HOST).port(POSTGRES_PORT).username(POSTGRES_USER).database(database)
}

/// Runs `body` on a fresh, migrated PostgreSQL database `ks_limits_test_<uuid>`, and drops the
/// database afterwards, also when `body` panics.
async fn with_postgres<F, Fut>(body: F)
where
    F: FnOnce(Database) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let name = format!("ks_limits_test_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPoolOptions::new().max_connections(1).connect_with(postgres_options("postgres")).await.unwrap_or_else(|error| {
        panic!(
            "PostgreSQL is required for this test but is not reachable at {POSTGRES_HOST}:{POSTGRES_PORT} as user \
             {POSTGRES_USER} (trust authentication); start it with scripts/services.sh: {error}"
        )
    });
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("failed to create the test database");

    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(postgres_options(&name))
        .await
        .expect("failed to connect to the test database");
    let db = Database::Postgres(pool);
    db.migrate().await.expect("failed to migrate the PostgreSQL test database");

    // A panic inside the spawned task is caught, so the database is dropped either way.
    let outcome = tokio::spawn(body(db.clone())).await;
    db.close().await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap_or_else(|error| panic!("failed to drop the test database {name}: {error}"));
    admin.close().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

// ---------------------------------------------------------------------------------------------
// Records

async fn insert_user(db: &Database, username: &str) -> i64 {
    on_backend!(db, pool => sqlx::query_scalar::<_, i64>(
        "INSERT INTO users_user (password, username, date_joined) VALUES ('!', $1, $2) RETURNING id",
    ).bind(username).bind(keystone_storage::now()).fetch_one(pool).await)
    .expect("failed to insert a user")
}

async fn insert_team(db: &Database, slug: &str, is_active: bool) -> i64 {
    on_backend!(db, pool => sqlx::query_scalar::<_, i64>(
        "INSERT INTO users_team (name, slug, is_active) VALUES ($1, $1, $2) RETURNING id",
    ).bind(slug).bind(is_active).fetch_one(pool).await)
    .expect("failed to insert a team")
}

async fn insert_cluster(db: &Database, name: &str, enabled: bool) -> i64 {
    on_backend!(db, pool => sqlx::query_scalar::<_, i64>(
        "INSERT INTO allocations_cluster (name, enabled) VALUES ($1, $2) RETURNING id",
    ).bind(name).bind(enabled).fetch_one(pool).await)
    .expect("failed to insert a cluster")
}

/// A resource allocation of its own request. Dates are day offsets from [`today`].
#[derive(Clone, Copy, Debug)]
struct Allocation {
    awarded: Option<i64>,
    final_amount: Option<i64>,
    active: Option<i64>,
    expire: Option<i64>,
    status: &'static str,
    /// Puts the allocation on another cluster than the one updated.
    elsewhere: bool,
}

/// Builds an allocation of an approved request on the cluster under test.
const fn approved(awarded: i64, final_amount: Option<i64>, active: i64, expire: i64) -> Allocation {
    Allocation { awarded: Some(awarded), final_amount, active: Some(active), expire: Some(expire), status: "AP", elsewhere: false }
}

/// Inserts a request of `team_id` and one allocation on `cluster_id`, and returns the
/// allocation's id.
async fn insert_allocation(db: &Database, user_id: i64, team_id: i64, cluster_id: i64, allocation: &Allocation) -> i64 {
    let active = allocation.active.map(day);
    let expire = allocation.expire.map(day);
    let request_id = on_backend!(db, pool => sqlx::query_scalar::<_, i64>(
        "INSERT INTO allocations_allocationrequest (title, description, submitted, active, expire, status, submitter_id, team_id) \
         VALUES ('Compute time', 'Simulations', $1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(keystone_storage::now())
    .bind(active)
    .bind(expire)
    .bind(allocation.status)
    .bind(user_id)
    .bind(team_id)
    .fetch_one(pool)
    .await)
    .expect("failed to insert an allocation request");
    on_backend!(db, pool => sqlx::query_scalar::<_, i64>(
        "INSERT INTO allocations_resourceallocation (requested, awarded, final, cluster_id, request_id) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(allocation.awarded.unwrap_or(0))
    .bind(allocation.awarded)
    .bind(allocation.final_amount)
    .bind(cluster_id)
    .bind(request_id)
    .fetch_one(pool)
    .await)
    .expect("failed to insert a resource allocation")
}

async fn final_amounts(db: &Database, ids: &[i64]) -> Vec<Option<i64>> {
    let mut finals = Vec::with_capacity(ids.len());
    for id in ids {
        let amount = on_backend!(db, pool => sqlx::query_scalar::<_, Option<i64>>(
            "SELECT final FROM allocations_resourceallocation WHERE id = $1",
        ).bind(*id).fetch_one(pool).await)
        .expect("failed to read a final amount");
        finals.push(amount);
    }
    finals
}

/// A team with its allocations on a fresh cluster, and fake tools that list its account.
struct Scenario {
    cluster: String,
    allocation_ids: Vec<i64>,
    slurm: FakeSlurm,
}

/// Sets up the team `slug` on a new cluster `cluster` with `allocations`, and fake tools that
/// list the accounts `root` and `slug` and print the given limit and usage.
async fn scenario(
    db: &Database,
    slug: &str,
    team_active: bool,
    allocations: &[Allocation],
    limit_hours: i64,
    usage_hours: i64,
) -> Scenario {
    let cluster = format!("cluster-{slug}");
    let user_id = insert_user(db, &format!("user-{slug}")).await;
    let team_id = insert_team(db, slug, team_active).await;
    let cluster_id = insert_cluster(db, &cluster, true).await;
    let other_cluster_id = insert_cluster(db, &format!("other-{slug}"), true).await;

    let mut allocation_ids = Vec::with_capacity(allocations.len());
    for allocation in allocations {
        let target = if allocation.elsewhere { other_cluster_id } else { cluster_id };
        allocation_ids.push(insert_allocation(db, user_id, team_id, target, allocation).await);
    }

    let slurm = FakeSlurm::new();
    slurm.answer("accounts", &format!("root\n{slug}\n"));
    slurm.answer(&format!("limit.{slug}"), &limit_output(limit_hours));
    slurm.answer(&format!("usage.{slug}"), &usage_output(&cluster, usage_hours));
    Scenario { cluster, allocation_ids, slurm }
}

// ---------------------------------------------------------------------------------------------
// Worked examples of the Python server's test suite

/// One worked example: a team's allocations, the limit and usage Slurm reports (hours), the
/// limit the task must set, and every allocation's `final` amount afterwards.
struct Example {
    name: &'static str,
    team_active: bool,
    allocations: Vec<Allocation>,
    limit_hours: i64,
    usage_hours: i64,
    expected_limit_hours: i64,
    expected_finals: Vec<Option<i64>>,
}

fn examples() -> Vec<Example> {
    // Arguments: name, whether the team is active, allocations, Slurm limit and usage, the
    // expected limit and the expected final amounts, in the order of the allocations.
    let example = |name,
                   team_active,
                   allocations: Vec<Allocation>,
                   limit_hours,
                   usage_hours,
                   expected_limit_hours,
                   expected_finals: Vec<Option<i64>>| Example {
        name,
        team_active,
        allocations,
        limit_hours,
        usage_hours,
        expected_limit_hours,
        expected_finals,
    };
    vec![
        example("no allocations", true, vec![], 0, 0, 0, vec![]),
        example(
            "settled allocation and active one",
            true,
            vec![approved(200, Some(50), -400, -35), approved(300, None, -30, 335)],
            50,
            200,
            350,
            vec![Some(50), None],
        ),
        example(
            "expiring allocation partly used",
            true,
            vec![approved(500, None, -400, -10), approved(1000, None, -30, 335)],
            1500,
            350,
            1350,
            vec![Some(350), None],
        ),
        example(
            "expiring allocation fully used",
            true,
            vec![approved(500, None, -400, -10), approved(1000, None, -30, 335)],
            1500,
            500,
            1500,
            vec![Some(500), None],
        ),
        example(
            "usage beyond expiring award",
            true,
            vec![approved(100, None, -400, -35), approved(300, None, -30, 335)],
            500,
            500,
            400,
            vec![Some(100), None],
        ),
        example(
            "several expiring in expiry order",
            true,
            vec![
                approved(200, Some(100), -400, -40),
                approved(100, None, -400, -30),
                approved(100, None, -400, -20),
                approved(100, None, -400, -10),
                approved(100, None, -30, 400),
            ],
            500,
            250,
            350,
            vec![Some(100), Some(100), Some(50), Some(0), None],
        ),
        example(
            "two expiring fully used",
            true,
            vec![approved(200, None, -400, -30), approved(300, None, -400, -20), approved(1000, None, -30, 335)],
            1500,
            800,
            1500,
            vec![Some(200), Some(300), None],
        ),
        example(
            "expiring allocation unused",
            true,
            vec![approved(500, None, -400, -30), approved(1000, None, -30, 335)],
            1500,
            0,
            1000,
            vec![Some(0), None],
        ),
        example("only an expiring allocation", true, vec![approved(500, None, -400, -30)], 500, 300, 300, vec![Some(300)]),
        example(
            "limit below the awards",
            true,
            vec![approved(50, None, -400, -35), approved(200, None, -30, 335)],
            100,
            180,
            250,
            vec![Some(50), None],
        ),
        example(
            "usage below settled usage",
            true,
            vec![approved(300, Some(200), -400, -35), approved(300, None, -30, 335)],
            500,
            50,
            500,
            vec![Some(200), None],
        ),
        example(
            "inactive team locked at usage",
            false,
            vec![approved(100, None, -400, -35), approved(300, None, -30, 335)],
            500,
            250,
            150,
            vec![None, None],
        ),
        example(
            "inactive team without usage",
            false,
            vec![approved(100, None, -400, -35), approved(200, None, -30, 335)],
            300,
            0,
            0,
            vec![None, None],
        ),
        example(
            "inactive team below settled usage",
            false,
            vec![approved(300, Some(200), -400, -35), approved(300, None, -30, 335)],
            500,
            50,
            200,
            vec![Some(200), None],
        ),
        // Not from the Python suite: requests that are not approved, allocations on another
        // cluster and upcoming ones count for nothing. An allocation is active from its
        // `active` day and has expired on its `expire` day.
        example(
            "allocations outside every set",
            true,
            vec![
                approved(100, None, -30, 335),
                Allocation { status: "PD", ..approved(500, None, -400, -10) },
                Allocation { status: "DC", ..approved(600, None, -30, 335) },
                Allocation { status: "CR", ..approved(700, None, -400, -10) },
                approved(200, None, 10, 375),
                Allocation { active: None, ..approved(300, None, 0, 100) },
                Allocation { expire: None, ..approved(400, None, -30, 0) },
                Allocation { elsewhere: true, ..approved(800, None, -400, -10) },
                Allocation { elsewhere: true, ..approved(900, None, -30, 335) },
                approved(50, None, 0, 1),
                approved(70, None, -30, 0),
            ],
            0,
            0,
            550,
            vec![None, None, None, None, None, None, None, None, None, None, Some(0)],
        ),
    ]
}

/// Runs every worked example on `db`, each for its own team and cluster.
async fn check_examples(db: Database) {
    for (index, example) in examples().into_iter().enumerate() {
        let name = example.name;
        let slug = format!("team-{index}");
        let setup = scenario(&db, &slug, example.team_active, &example.allocations, example.limit_hours, example.usage_hours).await;

        let report = update_limits_for_cluster(&db, &setup.slurm.client, &setup.cluster, today())
            .await
            .unwrap_or_else(|error| panic!("{name}: the task failed: {error}"));

        let expected_calls = vec![
            list_accounts_call(&setup.cluster),
            read_limit_call(&slug, &setup.cluster),
            read_usage_call(&slug, &setup.cluster),
            set_limit_call(&slug, &setup.cluster, example.expected_limit_hours * 60),
        ];
        assert_eq!(setup.slurm.calls(), expected_calls, "{name}: Slurm command lines");

        let finals = final_amounts(&db, &setup.allocation_ids).await;
        assert_eq!(finals, example.expected_finals, "{name}: final amounts");

        let expected_outcome = if example.team_active {
            let mut written: Vec<FinalAmount> = Vec::new();
            for (position, allocation) in example.allocations.iter().enumerate() {
                if let (None, Some(amount)) = (allocation.final_amount, example.expected_finals[position]) {
                    written.push(FinalAmount { allocation_id: setup.allocation_ids[position], amount });
                }
            }
            AccountOutcome::LimitSet { limit_hours: example.expected_limit_hours, finals: written }
        } else {
            AccountOutcome::Locked { limit_hours: example.expected_limit_hours }
        };
        let expected_accounts = vec![
            AccountReport { account: "root".to_string(), outcome: AccountOutcome::Skipped { reason: SkipReason::Root } },
            AccountReport { account: slug.clone(), outcome: expected_outcome },
        ];
        assert!(report.found, "{name}: cluster found");
        assert_eq!(report.cluster, setup.cluster, "{name}: cluster in report");
        assert_eq!(report.accounts, expected_accounts, "{name}: account reports");
    }
}

#[tokio::test]
async fn worked_examples_on_sqlite() {
    let (db, _dir) = sqlite_database().await;
    check_examples(db).await;
}

#[tokio::test]
async fn worked_examples_on_postgres() {
    with_postgres(check_examples).await;
}

#[tokio::test]
async fn second_run_changes_nothing() {
    let (db, _dir) = sqlite_database().await;
    let allocations = [approved(500, None, -400, -10), approved(1000, None, -30, 335)];
    let setup = scenario(&db, "team-a", true, &allocations, 1500, 350).await;
    update_limits_for_cluster(&db, &setup.slurm.client, &setup.cluster, today()).await.unwrap();

    // Slurm now reports the limit just set; the final amount is written once only.
    setup.slurm.answer("limit.team-a", &limit_output(1350));
    let report = update_limits_for_cluster(&db, &setup.slurm.client, &setup.cluster, today()).await.unwrap();

    assert_eq!(report.accounts[1].outcome, AccountOutcome::LimitSet { limit_hours: 1350, finals: vec![] });
    assert_eq!(final_amounts(&db, &setup.allocation_ids).await, vec![Some(350), None]);
    assert_eq!(setup.slurm.calls().last().unwrap(), &set_limit_call("team-a", &setup.cluster, 1350 * 60));
}

// ---------------------------------------------------------------------------------------------
// Accounts, failures and timeouts

#[tokio::test]
async fn root_and_unknown_accounts_skipped() {
    let (db, _dir) = sqlite_database().await;
    let setup = scenario(&db, "team-a", true, &[approved(100, None, -30, 335)], 0, 0).await;
    setup.slurm.answer("accounts", "root\nghost\nteam-a\nteam-a\n");

    let report = update_limits_for_cluster(&db, &setup.slurm.client, &setup.cluster, today()).await.unwrap();

    let expected = vec![
        AccountReport { account: "ghost".into(), outcome: AccountOutcome::Skipped { reason: SkipReason::NoTeam } },
        AccountReport { account: "root".into(), outcome: AccountOutcome::Skipped { reason: SkipReason::Root } },
        AccountReport { account: "team-a".into(), outcome: AccountOutcome::LimitSet { limit_hours: 100, finals: vec![] } },
    ];
    assert_eq!(report.accounts, expected);
    let expected_calls = vec![
        list_accounts_call(&setup.cluster),
        read_limit_call("team-a", &setup.cluster),
        read_usage_call("team-a", &setup.cluster),
        set_limit_call("team-a", &setup.cluster, 6000),
    ];
    assert_eq!(setup.slurm.calls(), expected_calls);
}

#[tokio::test]
async fn unparsable_limit_and_usage_read_as_zero() {
    let (db, _dir) = sqlite_database().await;
    let allocations = [approved(100, None, -400, -10), approved(300, None, -30, 335)];
    let setup = scenario(&db, "team-a", true, &allocations, 0, 0).await;
    // A billing limit followed by another TRES is not all digits, so it reads as no limit.
    setup.slurm.answer("limit.team-a", "billing=60000,gres/gpu=5\n");
    setup.slurm.answer("usage.team-a", &format!("CLUSTER: {}\ncpu=1,billing=many,fs/disk=0\n", setup.cluster));

    let report = update_limits_for_cluster(&db, &setup.slurm.client, &setup.cluster, today()).await.unwrap();

    // With limit and usage 0, the expired allocation used nothing and only the active award counts.
    assert_eq!(final_amounts(&db, &setup.allocation_ids).await, vec![Some(0), None]);
    let finals = vec![FinalAmount { allocation_id: setup.allocation_ids[0], amount: 0 }];
    assert_eq!(report.accounts[1].outcome, AccountOutcome::LimitSet { limit_hours: 300, finals });
    assert_eq!(setup.slurm.calls().last().unwrap(), &set_limit_call("team-a", &setup.cluster, 300 * 60));
}

#[tokio::test]
async fn failed_set_limit_spares_other_accounts() {
    let (db, _dir) = sqlite_database().await;
    let allocations = [approved(500, None, -400, -10), approved(1000, None, -30, 335)];
    let setup = scenario(&db, "team-a", true, &allocations, 1500, 350).await;
    let user_id = insert_user(&db, "user-b").await;
    let team_b = insert_team(&db, "team-b", true).await;
    let cluster_id = db.cluster_by_name(&setup.cluster).await.unwrap().unwrap().id;
    insert_allocation(&db, user_id, team_b, cluster_id, &approved(200, None, -30, 335)).await;
    setup.slurm.answer("accounts", "root\nteam-a\nteam-b\n");
    setup.slurm.fail("set.team-a", 1, " Unknown option: GrpTresMins\n");

    let report = update_limits_for_cluster(&db, &setup.slurm.client, &setup.cluster, today()).await.unwrap();

    let AccountOutcome::Failed { error } = &report.accounts[1].outcome else {
        panic!("team-a did not fail: {:?}", report.accounts[1]);
    };
    let command = set_limit_call("team-a", &setup.cluster, 1350 * 60).join(" ");
    assert!(error.contains(&command), "error {error:?} does not name the command {command:?}");
    assert!(error.contains("Unknown option: GrpTresMins"), "error {error:?} does not carry the tool's stderr");
    assert_eq!(report.accounts[2].outcome, AccountOutcome::LimitSet { limit_hours: 200, finals: vec![] });
    assert_eq!(setup.slurm.calls().last().unwrap(), &set_limit_call("team-b", &setup.cluster, 200 * 60));
    // Final amounts are written before the limit is set, and stay when setting it fails.
    assert_eq!(final_amounts(&db, &setup.allocation_ids).await, vec![Some(350), None]);
}

#[tokio::test]
async fn expiring_allocation_without_award_fails_account() {
    let (db, _dir) = sqlite_database().await;
    let not_awarded = Allocation { awarded: None, ..approved(0, None, -400, -10) };
    let allocations = [approved(100, None, -400, -20), not_awarded, approved(300, None, -30, 335)];
    let setup = scenario(&db, "team-a", true, &allocations, 400, 100).await;

    let report = update_limits_for_cluster(&db, &setup.slurm.client, &setup.cluster, today()).await.unwrap();

    let AccountOutcome::Failed { error } = &report.accounts[1].outcome else {
        panic!("team-a did not fail: {:?}", report.accounts[1]);
    };
    assert!(error.contains("without an awarded amount"), "unexpected error {error:?}");
    assert_eq!(final_amounts(&db, &setup.allocation_ids).await, vec![None, None, None]);
    let set_calls = setup.slurm.calls().into_iter().filter(|call| call.get(1).map(String::as_str) == Some("modify")).count();
    assert_eq!(set_calls, 0, "no limit may be set");
}

#[tokio::test]
async fn failed_account_listing_fails_task() {
    let (db, _dir) = sqlite_database().await;
    let setup = scenario(&db, "team-a", true, &[], 0, 0).await;
    setup.slurm.fail("accounts", 1, "sacctmgr: error: Problem talking to the database: Connection refused\n");

    let error = update_limits_for_cluster(&db, &setup.slurm.client, &setup.cluster, today()).await.unwrap_err();

    let UpdateLimitsError::Slurm(SlurmError::Failed { command, stderr, .. }) = &error else {
        panic!("unexpected error {error:?}");
    };
    assert_eq!(command, &list_accounts_call(&setup.cluster).join(" "));
    assert_eq!(stderr, "sacctmgr: error: Problem talking to the database: Connection refused");
    assert!(error.to_string().contains("Connection refused"), "message {error} lacks the stderr");
    assert_eq!(setup.slurm.calls(), vec![list_accounts_call(&setup.cluster)]);
}

#[tokio::test]
async fn hanging_account_listing_times_out() {
    let (db, _dir) = sqlite_database().await;
    let cluster = "cluster-a";
    insert_cluster(&db, cluster, true).await;
    let slurm = FakeSlurm::with_timeout(Duration::from_millis(300));
    slurm.hang("accounts", 30);

    let started = Instant::now();
    let error = update_limits_for_cluster(&db, &slurm.client, cluster, today()).await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(5), "the timeout took {:?}", started.elapsed());
    let UpdateLimitsError::Slurm(SlurmError::TimedOut { command, timeout }) = &error else {
        panic!("unexpected error {error:?}");
    };
    assert_eq!(command, &list_accounts_call(cluster).join(" "));
    assert_eq!(*timeout, Duration::from_millis(300));
}

#[tokio::test]
async fn hanging_usage_fails_only_its_account() {
    let (db, _dir) = sqlite_database().await;
    let setup = scenario(&db, "team-a", true, &[approved(100, None, -30, 335)], 0, 0).await;
    let user_id = insert_user(&db, "user-b").await;
    let team_b = insert_team(&db, "team-b", true).await;
    let cluster_id = db.cluster_by_name(&setup.cluster).await.unwrap().unwrap().id;
    insert_allocation(&db, user_id, team_b, cluster_id, &approved(200, None, -30, 335)).await;
    let slurm = FakeSlurm::with_timeout(Duration::from_millis(300));
    slurm.answer("accounts", "team-a\nteam-b\n");
    slurm.hang("usage.team-a", 30);

    let report = update_limits_for_cluster(&db, &slurm.client, &setup.cluster, today()).await.unwrap();

    let AccountOutcome::Failed { error } = &report.accounts[0].outcome else {
        panic!("team-a did not fail: {:?}", report.accounts[0]);
    };
    assert!(error.contains("timed out"), "unexpected error {error:?}");
    assert_eq!(report.accounts[1].outcome, AccountOutcome::LimitSet { limit_hours: 200, finals: vec![] });
}

#[tokio::test]
async fn missing_cluster_reported_without_calls() {
    let (db, _dir) = sqlite_database().await;
    let slurm = FakeSlurm::new();
    slurm.answer("accounts", "root\n");

    let report = update_limits_for_cluster(&db, &slurm.client, "nowhere", today()).await.unwrap();

    assert!(!report.found);
    assert_eq!(report.cluster, "nowhere");
    assert!(report.accounts.is_empty());
    assert!(slurm.calls().is_empty(), "unexpected calls {:?}", slurm.calls());
}

#[tokio::test]
async fn disabled_cluster_still_updated_by_name() {
    let (db, _dir) = sqlite_database().await;
    insert_cluster(&db, "cluster-off", false).await;
    let slurm = FakeSlurm::new();
    slurm.answer("accounts", "root\n");

    let report = update_limits_for_cluster(&db, &slurm.client, "cluster-off", today()).await.unwrap();

    assert!(report.found);
    assert_eq!(slurm.calls(), vec![list_accounts_call("cluster-off")]);
}

#[tokio::test]
async fn parent_lists_enabled_clusters() {
    let (db, _dir) = sqlite_database().await;
    assert!(update_limits(&db).await.unwrap().is_empty());
    insert_cluster(&db, "zeta", true).await;
    insert_cluster(&db, "alpha", true).await;
    insert_cluster(&db, "beta", false).await;

    assert_eq!(update_limits(&db).await.unwrap(), vec!["alpha".to_string(), "zeta".to_string()]);
}

// ---------------------------------------------------------------------------------------------
// The client on its own

#[tokio::test]
async fn client_rounds_minutes_down_to_hours() {
    let slurm = FakeSlurm::new();
    let cases = [
        ("billing=60000", 1000),
        ("cpu=100,billing=60000", 1000),
        ("billing=60000,gres/gpu=5", 0),
        ("", 0),
        ("cpu=10", 0),
        ("billing=59", 0),
    ];
    for (stdout, hours) in cases {
        slurm.answer("limit.team-a", stdout);
        assert_eq!(slurm.client.limit_hours("team-a", "c1").await.unwrap(), hours, "limit output {stdout:?}");
    }
    slurm.answer("usage.team-a", "cpu=1,mem=2,energy=0,node=1,billing=7260,fs/disk=0,vmem=0,pages=0");
    assert_eq!(slurm.client.usage_hours("team-a", "c1").await.unwrap(), 121);
}

#[tokio::test]
async fn client_rejects_negative_limit() {
    let slurm = FakeSlurm::new();
    let error = slurm.client.set_limit_hours("team-a", "c1", -1).await.unwrap_err();
    assert!(matches!(error, SlurmError::InvalidLimit { hours: -1 }), "unexpected error {error:?}");
    assert!(slurm.calls().is_empty());
}

#[tokio::test]
async fn client_reports_missing_program() {
    let client = SlurmClient::new().with_programs("/nonexistent/sacctmgr", "/nonexistent/sshare");
    let error = client.accounts("c1").await.unwrap_err();
    let SlurmError::Spawn { command, .. } = &error else {
        panic!("unexpected error {error:?}");
    };
    assert!(command.starts_with("/nonexistent/sacctmgr show"), "command {command:?}");
}

// ---------------------------------------------------------------------------------------------
// A real Slurm

/// Runs a real `sacctmgr` with `args` against the Slurm whose config is `slurm_conf`.
fn run_sacctmgr(slurm_conf: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("sacctmgr")
        .args(args)
        .env("SLURM_CONF", slurm_conf)
        .output()
        .unwrap_or_else(|error| panic!("failed to run sacctmgr {args:?}: {error}"))
}

/// Sets the limit of a new account on a running single-node Slurm. Set `KEYSTONE_SLURM_LAB` to
/// the folder of that Slurm (holding `etc/slurm.conf`) and, unless it is `lab`,
/// `KEYSTONE_SLURM_LAB_CLUSTER` to its cluster name. Without them the test prints why and passes.
#[tokio::test]
async fn real_slurm_sets_limit() {
    let Some(lab) = std::env::var_os("KEYSTONE_SLURM_LAB").map(PathBuf::from) else {
        println!("skipped: set KEYSTONE_SLURM_LAB to the folder of a running single-node Slurm to run this test");
        return;
    };
    let slurm_conf = lab.join("etc/slurm.conf");
    if !slurm_conf.is_file() {
        println!("skipped: {} does not exist, so KEYSTONE_SLURM_LAB is not a Slurm folder", slurm_conf.display());
        return;
    }
    let cluster = std::env::var("KEYSTONE_SLURM_LAB_CLUSTER").unwrap_or_else(|_| "lab".to_string());

    // A fresh account, so that earlier runs and other users of the Slurm do not matter.
    let account = format!("ks-limits-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let added = run_sacctmgr(&slurm_conf, &["-i", "add", "account", &account, "parent=root", &format!("cluster={cluster}")]);
    assert!(added.status.success(), "failed to add account {account}: {}", String::from_utf8_lossy(&added.stderr));

    let (db, _dir) = sqlite_database().await;
    let user_id = insert_user(&db, "lab-user").await;
    let team_id = insert_team(&db, &account, true).await;
    let cluster_id = insert_cluster(&db, &cluster, true).await;
    let expired = insert_allocation(&db, user_id, team_id, cluster_id, &approved(50, None, -400, -10)).await;
    let active = insert_allocation(&db, user_id, team_id, cluster_id, &approved(100, None, -30, 335)).await;
    let client = SlurmClient::new().with_env("SLURM_CONF", &slurm_conf).with_timeout(Duration::from_secs(30));

    let first = update_limits_for_cluster(&db, &client, &cluster, today()).await;
    let second = update_limits_for_cluster(&db, &client, &cluster, today()).await;
    let limit = client.limit_hours(&account, &cluster).await;
    let account_condition = format!("account={account}");
    let cluster_condition = format!("cluster={cluster}");
    let shown =
        run_sacctmgr(&slurm_conf, &["show", "-nP", "association", "where", &account_condition, &cluster_condition, "format=GrpTRESMins"]);
    // Deleting with `cluster=` would remove only the association and leave the account.
    let removed = run_sacctmgr(&slurm_conf, &["-i", "delete", "account", &format!("name={account}")]);

    // The new account has no limit and no usage, so the expired allocation used nothing.
    let first = first.expect("first run failed");
    let report = first.accounts.iter().find(|report| report.account == account).expect("account not listed");
    let finals = vec![FinalAmount { allocation_id: expired, amount: 0 }];
    assert_eq!(report.outcome, AccountOutcome::LimitSet { limit_hours: 100, finals });
    let root = first.accounts.iter().find(|report| report.account == "root").expect("root not listed");
    assert_eq!(root.outcome, AccountOutcome::Skipped { reason: SkipReason::Root });

    let second = second.expect("second run failed");
    let report = second.accounts.iter().find(|report| report.account == account).expect("account not listed");
    assert_eq!(report.outcome, AccountOutcome::LimitSet { limit_hours: 100, finals: vec![] });
    assert_eq!(final_amounts(&db, &[expired, active]).await, vec![Some(0), None]);

    assert_eq!(limit.expect("failed to read the limit"), 100);
    assert_eq!(String::from_utf8_lossy(&shown.stdout).lines().next(), Some("billing=6000"));
    assert!(removed.status.success(), "failed to delete account {account}: {}", String::from_utf8_lossy(&removed.stderr));
}
