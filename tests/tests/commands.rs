//! `keystone createsuperuser`, `keystone quickstart` and the help of every subcommand.

use std::path::Path;
use std::process::Output;

use keystone_blackbox::{
    free_port, query_count, run_keystone, Backend, Client, KeystoneProcess, TestDatabase, TestServer, BACKENDS, COMMAND_TIMEOUT,
};
use reqwest::StatusCode;

const SUPERUSER_PASSWORD: &str = "harbor-violet-93";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn create_superuser(server: &TestServer, username: &str, password: Option<&str>) -> Output {
    let args = ["createsuperuser", "--username", username, "--email", "bob@example.org", "--no-input"];
    match password {
        Some(password) => server.command_with_env(&args, &[("KEYSTONE_SUPERUSER_PASSWORD", password)]),
        None => server.command(&args),
    }
}

#[tokio::test]
async fn createsuperuser_without_input() {
    for backend in BACKENDS {
        let server = TestServer::start(backend).await;

        let created = create_superuser(&server, "bob", Some(SUPERUSER_PASSWORD));
        assert!(created.status.success(), "{backend:?}: {}", stderr(&created));
        assert!(stdout(&created).contains("bob"), "{backend:?}: {}", stdout(&created));
        let mut client = server.client();
        let user = client.login("bob", SUPERUSER_PASSWORD).await.json();
        assert_eq!(user["username"], "bob", "{backend:?}");
        assert_eq!(user["email"], "bob@example.org", "{backend:?}");
        assert_eq!(user["is_staff"], true, "{backend:?}");
        assert_eq!(user["is_superuser"], true, "{backend:?}");
        assert_eq!(user["is_active"], true, "{backend:?}");

        let missing_variable = create_superuser(&server, "carol", None);
        assert!(!missing_variable.status.success(), "{backend:?}");
        assert!(stderr(&missing_variable).contains("KEYSTONE_SUPERUSER_PASSWORD"), "{backend:?}: {}", stderr(&missing_variable));

        let empty_variable = create_superuser(&server, "carol", Some(""));
        assert!(!empty_variable.status.success(), "{backend:?}");
        assert!(stderr(&empty_variable).contains("KEYSTONE_SUPERUSER_PASSWORD"), "{backend:?}: {}", stderr(&empty_variable));

        let duplicate = create_superuser(&server, "bob", Some("another-long-passphrase-12"));
        assert!(!duplicate.status.success(), "{backend:?}");
        let message = stderr(&duplicate);
        assert!(message.contains("bob"), "{backend:?}: {message}");
        assert!(message.contains("already exists"), "{backend:?}: {message}");

        let weak = create_superuser(&server, "dave", Some("123"));
        assert!(!weak.status.success(), "{backend:?}");
        let message = stderr(&weak);
        assert!(message.contains("password"), "{backend:?}: {message}");
        assert!(message.contains("too short"), "{backend:?}: {message}");
        assert!(message.contains("entirely numeric"), "{backend:?}: {message}");

        let common = create_superuser(&server, "dave", Some("password123"));
        assert!(!common.status.success(), "{backend:?}");
        assert!(stderr(&common).contains("too common"), "{backend:?}: {}", stderr(&common));

        let no_username =
            server.command_with_env(&["createsuperuser", "--no-input"], &[("KEYSTONE_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD)]);
        assert!(!no_username.status.success(), "{backend:?}");
        assert!(stderr(&no_username).contains("--username"), "{backend:?}: {}", stderr(&no_username));

        let bad_username = create_superuser(&server, "no spaces allowed", Some(SUPERUSER_PASSWORD));
        assert!(!bad_username.status.success(), "{backend:?}");
        assert!(stderr(&bad_username).contains("invalid username"), "{backend:?}: {}", stderr(&bad_username));

        let users = server.query_count("SELECT COUNT(*) FROM users_user").await;
        assert_eq!(users, 1, "{backend:?}: a rejected createsuperuser wrote a user");
    }
}

#[test]
fn help_lists_every_flag() {
    let cases: [(&[&str], &[&str]); 7] = [
        (&["--help"], &["serve", "quickstart", "migrate", "createsuperuser", "createtoken", "check", "--version"]),
        (&["serve", "--help"], &["--bind"]),
        (&["quickstart", "--help"], &["--bind", "--seed"]),
        (&["migrate", "--help"], &["--help"]),
        (&["createsuperuser", "--help"], &["--username", "--email", "--no-input", "KEYSTONE_SUPERUSER_PASSWORD"]),
        (&["createtoken", "--help"], &["<USER>"]),
        (&["check", "--help"], &["--help"]),
    ];
    for (args, expected) in cases {
        // Invalid settings must not stop `--help`.
        let env = [("DB_PORT".to_string(), "abc".to_string())];
        let output = run_keystone(args, &env, None, COMMAND_TIMEOUT);
        let text = stdout(&output);
        assert!(output.status.success(), "keystone {}: {}", args.join(" "), stderr(&output));
        for word in expected {
            assert!(text.contains(word), "keystone {} does not mention {word}: {text}", args.join(" "));
        }
    }
}

/// Opens the database that a quickstart in `dir` uses.
async fn open_quickstart_database(dir: &Path, database_env: &[(String, String)]) -> keystone_storage::Database {
    let data_dir = dir.display().to_string();
    let mut source: Vec<(&str, &str)> = database_env.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    source.push(("KEYSTONE_DATA_DIR", &data_dir));
    let settings = keystone_config::Settings::from_source(&source).expect("quickstart settings are valid");
    keystone_storage::Database::connect(&settings.database).await.expect("the quickstart database opens")
}

/// Runs `keystone quickstart` in `dir`, waits until it responds and returns the running process.
async fn start_quickstart(dir: &Path, database_env: &[(String, String)], seed: bool) -> KeystoneProcess {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut args = vec!["quickstart", "--bind", &bind];
    if seed {
        args.push("--seed");
    }
    let log = dir.parent().expect("the quickstart folder has a parent").join(format!("quickstart-{port}.log"));
    let mut process = KeystoneProcess::spawn(&args, database_env, Some(dir), port, log);
    process.wait_until_ready().await;
    process
}

#[tokio::test]
async fn quickstart_in_empty_directory() {
    for backend in BACKENDS {
        let root = tempfile::tempdir().expect("temporary directory");
        let dir = root.path().join("site");
        std::fs::create_dir(&dir).expect("site folder");
        let database = TestDatabase::create(backend, &dir).await;
        // Only the database selection: no KEYSTONE_DATA_DIR and no SECURE_SECRET_KEY.
        let env = database.env();

        let mut first = start_quickstart(&dir, &env, false).await;
        let mut client = Client::new(first.base_url());
        let admin = client.login("admin", "quickstart").await.json();
        assert_eq!(admin["is_staff"], true, "{backend:?}");
        assert_eq!(admin["is_superuser"], true, "{backend:?}");
        let status = first.terminate().expect("quickstart was running");
        assert!(status.success(), "{backend:?}: quickstart exited with {status}; log: {}", first.log());

        assert_eq!(dir.join("keystone.db").is_file(), backend == Backend::Sqlite, "{backend:?}: keystone.db");
        assert!(dir.join("media").is_dir(), "{backend:?}: media/ is missing");
        let key = std::fs::read_to_string(dir.join("secret_key")).expect("secret_key was written");
        assert!(key.trim().len() >= 32, "{backend:?}: secret key too short");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("secret_key")).expect("secret_key exists").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{backend:?}: secret_key mode");
        }

        // A second run keeps the admin and the key, so the first run's session stays valid.
        let mut second = start_quickstart(&dir, &env, false).await;
        let returning = client.with_base_url(second.base_url());
        let whoami = returning.get("/authentication/whoami/").await;
        assert_eq!(whoami.status, StatusCode::OK, "{backend:?}: the session did not survive the restart");
        let db = open_quickstart_database(&dir, &env).await;
        assert_eq!(query_count(&db, "SELECT COUNT(*) FROM users_user").await, 1, "{backend:?}: a second admin was created");
        assert_eq!(query_count(&db, "SELECT COUNT(*) FROM users_team").await, 0, "{backend:?}: teams without --seed");
        db.close().await;
        assert_eq!(std::fs::read_to_string(dir.join("secret_key")).expect("secret_key"), key, "{backend:?}: the key changed");
        second.terminate();

        let mut seeded = start_quickstart(&dir, &env, true).await;
        let db = open_quickstart_database(&dir, &env).await;
        let teams = query_count(&db, "SELECT COUNT(*) FROM users_team").await;
        let users = query_count(&db, "SELECT COUNT(*) FROM users_user").await;
        let memberships = query_count(&db, "SELECT COUNT(*) FROM users_membership").await;
        let requests = query_count(&db, "SELECT COUNT(*) FROM allocations_allocationrequest").await;
        let statuses = query_count(&db, "SELECT COUNT(DISTINCT status) FROM allocations_allocationrequest").await;
        let allocations = query_count(&db, "SELECT COUNT(*) FROM allocations_resourceallocation").await;
        let reviews = query_count(&db, "SELECT COUNT(*) FROM allocations_allocationreview").await;
        let comments = query_count(&db, "SELECT COUNT(*) FROM allocations_comment").await;
        let grants = query_count(&db, "SELECT COUNT(*) FROM research_products_grant").await;
        let publications = query_count(&db, "SELECT COUNT(*) FROM research_products_publication").await;
        let clusters = query_count(&db, "SELECT COUNT(*) FROM allocations_cluster").await;
        let staff = query_count(&db, "SELECT COUNT(*) FROM users_user WHERE is_staff").await;
        db.close().await;
        assert_eq!(teams, 200, "{backend:?}");
        assert_eq!(clusters, 4, "{backend:?}");
        assert_eq!(staff, 101, "{backend:?}: the admin and 100 staff");
        assert!((700..=1200).contains(&users), "{backend:?}: {users} users");
        assert_eq!(memberships, users - staff, "{backend:?}: every non-staff demo user belongs to one team");
        assert!((1000..=1400).contains(&requests), "{backend:?}: {requests} requests");
        assert_eq!(statuses, 4, "{backend:?}: requests in every status");
        assert!((2500..=4200).contains(&allocations), "{backend:?}: {allocations} allocations");
        assert!((1300..=2200).contains(&reviews), "{backend:?}: {reviews} reviews");
        assert!((2000..=2900).contains(&comments), "{backend:?}: {comments} comments");
        assert!((1000..=1400).contains(&grants), "{backend:?}: {grants} grants");
        assert!((1000..=1400).contains(&publications), "{backend:?}: {publications} publications");
        let mut demo = Client::new(seeded.base_url());
        let demo_user = demo.login("user1", "password").await.json();
        assert_eq!(demo_user["_membership"].as_array().map(Vec::len), Some(1), "{backend:?}: {demo_user}");
        let status = seeded.terminate().expect("quickstart was running");
        assert!(status.success(), "{backend:?}: {status}");
    }
}
