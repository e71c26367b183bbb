//! Invalid settings stop `keystone serve` and `keystone check` with a clear message, secrets
//! never reach stderr, and `keystone check` reports on the database.

use std::process::Output;
use std::time::Duration;

use keystone_blackbox::{free_port, run_keystone, TestDatabase, BACKENDS, COMMAND_TIMEOUT};

/// Environment for a command on SQLite in `data_dir`, plus `extra`.
fn sqlite_env(data_dir: &std::path::Path, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env =
        vec![("KEYSTONE_DATA_DIR".to_string(), data_dir.display().to_string()), ("DB_POSTGRES_ENABLE".to_string(), "false".to_string())];
    env.extend(extra.iter().map(|(name, value)| (name.to_string(), value.to_string())));
    env
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `keystone serve` arguments on a free port, so a wrongly started server binds nothing in use.
fn serve_args(port: &str) -> [&str; 3] {
    ["serve", "--bind", port]
}

#[test]
fn invalid_values_stop_serve_and_check() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let bind = format!("127.0.0.1:{}", free_port());
    // Variable, value, the part of the value the message quotes, and the expected form.
    let cases = [
        ("DB_PORT", "abc", "abc", "expected an integer from 1 to 65535"),
        ("API_THROTTLE_USER", "3/x", "3/x", "expected <count>/<period>"),
        ("CONFIG_UPLOAD_SIZE", "-1", "-1", "expected an integer from 1 to"),
        ("SECURE_SSL_TOKENS", "ture", "ture", "expected a boolean"),
        ("SECURE_ALLOWED_ORIGINS", "http://a.example, http://b.example", " http://b.example", "scheme://host[:port]"),
    ];
    for (name, value, quoted, form) in cases {
        for args in [&serve_args(&bind)[..], &["check"][..]] {
            let output = run_keystone(args, &sqlite_env(data_dir.path(), &[(name, value)]), None, Duration::from_secs(30));
            let message = stderr(&output);
            let command = args[0];
            assert!(!output.status.success(), "{command} with {name}={value} succeeded");
            assert_eq!(output.status.code(), Some(2), "{command} with {name}={value}: {message}");
            assert!(message.contains(name), "{command} with {name}={value}: {message}");
            assert!(message.contains(&format!("\"{quoted}\"")), "{command} with {name}={value}: {message}");
            assert!(message.contains(form), "{command} with {name}={value}: {message}");
        }
    }
    assert!(!data_dir.path().join("keystone.db").exists(), "a command with invalid settings created the database");
}

#[test]
fn secrets_stay_out_of_stderr() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let closed_port = free_port().to_string();
    let bind = format!("127.0.0.1:{}", free_port());
    let secrets = [
        ("DB_PASSWORD", "sekrit123"),
        ("SECURE_SECRET_KEY", "hunter2-secret-key-0123456789-abcdefghij"),
        ("REDIS_PASSWORD", "redis-sekrit-456"),
        ("EMAIL_HOST_PASSWORD", "mail-sekrit-789"),
    ];
    let mut extra: Vec<(&str, &str)> = vec![
        ("DB_POSTGRES_ENABLE", "true"),
        ("DB_HOST", "127.0.0.1"),
        ("DB_PORT", &closed_port),
        ("DB_USER", "postgres"),
        ("DB_NAME", "keystone"),
        ("RUST_LOG", "debug"),
    ];
    extra.extend(secrets);

    // Each command waits for the pool's connect timeout, so run them side by side.
    let env = sqlite_env(data_dir.path(), &extra);
    let commands = [&serve_args(&bind)[..], &["check"][..], &["migrate"][..]];
    let outputs: Vec<Output> = std::thread::scope(|scope| {
        let handles: Vec<_> = commands.iter().map(|args| scope.spawn(|| run_keystone(args, &env, None, COMMAND_TIMEOUT))).collect();
        handles.into_iter().map(|handle| handle.join().expect("command thread panicked")).collect()
    });
    for (args, output) in commands.iter().zip(&outputs) {
        let message = stderr(output);
        let command = args[0];
        assert!(!message.contains('\u{1b}'), "{command}: stderr contains terminal escape codes: {message:?}");
        assert!(!output.status.success(), "{command} succeeded without a database");
        assert!(message.contains("PostgreSQL"), "{command}: {message}");
        assert!(message.contains(&format!("127.0.0.1:{closed_port}")), "{command}: {message}");
        for (name, secret) in secrets {
            assert!(!message.contains(secret), "{command}: {name} appears in stderr: {message}");
            assert!(!String::from_utf8_lossy(&output.stdout).contains(secret), "{command}: {name} appears in stdout");
        }
    }

    // An invalid value next to a secret names the invalid variable only.
    let mut invalid = extra.clone();
    invalid.push(("DB_PORT", "abc"));
    let output = run_keystone(&["check"], &sqlite_env(data_dir.path(), &invalid), None, COMMAND_TIMEOUT);
    let message = stderr(&output);
    assert!(message.contains("DB_PORT"), "{message}");
    for (name, secret) in secrets {
        assert!(!message.contains(secret), "{name} appears in stderr: {message}");
    }
}

#[tokio::test]
async fn check_reports_database() {
    for backend in BACKENDS {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let database = TestDatabase::create(backend, data_dir.path()).await;
        let mut env = database.env();
        env.push(("KEYSTONE_DATA_DIR".to_string(), data_dir.path().display().to_string()));
        let unmigrated = run_keystone(&["check"], &env, None, COMMAND_TIMEOUT);
        assert!(!unmigrated.status.success(), "{backend:?}: check passed before migrations");
        assert!(stderr(&unmigrated).contains("keystone migrate"), "{backend:?}: {}", stderr(&unmigrated));
        assert!(!data_dir.path().join("keystone.db").exists(), "{backend:?}: check created a database file");
        let migrate = run_keystone(&["migrate"], &env, None, COMMAND_TIMEOUT);
        assert!(migrate.status.success(), "{backend:?}: {}", stderr(&migrate));
        let output = run_keystone(&["check"], &env, None, COMMAND_TIMEOUT);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{backend:?}: {}", stderr(&output));
        assert!(stdout.contains("settings: ok"), "{backend:?}: {stdout}");
        assert!(stdout.contains("database: ok"), "{backend:?}: {stdout}");
        assert!(stdout.contains(&format!("{backend:?}")), "{backend:?}: {stdout}");
    }

    let data_dir = tempfile::tempdir().expect("temporary directory");
    let closed_port = free_port().to_string();
    let env = sqlite_env(
        data_dir.path(),
        &[("DB_POSTGRES_ENABLE", "true"), ("DB_HOST", "127.0.0.1"), ("DB_PORT", &closed_port), ("DB_NAME", "keystone")],
    );
    let started = std::time::Instant::now();
    let output = run_keystone(&["check"], &env, None, COMMAND_TIMEOUT);
    let message = stderr(&output);
    assert!(!output.status.success(), "check succeeded with PostgreSQL at a closed port");
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains(&format!("PostgreSQL database keystone at 127.0.0.1:{closed_port}")), "{message}");
    assert!(started.elapsed() < Duration::from_secs(30), "check took {:?} to report a closed port", started.elapsed());
}

#[test]
fn check_names_refused_connection() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let closed_port = free_port().to_string();
    let env = sqlite_env(
        data_dir.path(),
        &[("DB_POSTGRES_ENABLE", "true"), ("DB_HOST", "127.0.0.1"), ("DB_PORT", &closed_port), ("DB_NAME", "keystone")],
    );
    let started = std::time::Instant::now();
    let output = run_keystone(&["check"], &env, None, COMMAND_TIMEOUT);
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.to_lowercase().contains("refused"), "the cause is missing: {message}");
    assert_eq!(message.matches("pool timed out").count(), 0, "{message}");
    assert!(started.elapsed() < Duration::from_secs(5), "check took {:?} to report a refused connection", started.elapsed());
}

#[test]
fn serve_refuses_unmigrated_database() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let env = sqlite_env(data_dir.path(), &[]);
    let port = free_port().to_string();
    let output = run_keystone(&["serve", "--bind", &format!("127.0.0.1:{port}")], &env, None, COMMAND_TIMEOUT);
    assert!(!output.status.success(), "serve started on an empty database");
    assert!(stderr(&output).contains("run `keystone migrate` first"), "{}", stderr(&output));
}

#[test]
fn commands_leave_no_empty_database() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let env = sqlite_env(data_dir.path(), &[]);
    for args in [&["createtoken", "admin"][..], &["createsuperuser", "--username", "root", "--email", "root@example.org", "--no-input"]] {
        let mut env = env.clone();
        env.push(("KEYSTONE_SUPERUSER_PASSWORD".into(), "a-long-enough-passphrase".into()));
        let output = run_keystone(args, &env, None, COMMAND_TIMEOUT);
        assert!(!output.status.success(), "{args:?} succeeded without a database");
        assert!(stderr(&output).contains("there is no database at"), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains("run `keystone migrate` first"), "{args:?}: {}", stderr(&output));
    }
    let files: Vec<_> =
        std::fs::read_dir(data_dir.path()).expect("list the data directory").flatten().map(|entry| entry.file_name()).collect();
    assert!(!files.iter().any(|name| name.to_string_lossy().starts_with("keystone.db")), "a database file appeared: {files:?}");
}

#[test]
fn sqlite_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let env = sqlite_env(data_dir.path(), &[]);
    let output = run_keystone(&["migrate"], &env, None, COMMAND_TIMEOUT);
    assert!(output.status.success(), "{}", stderr(&output));
    let mode = std::fs::metadata(data_dir.path().join("keystone.db")).expect("database file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the database file holds password hashes and tokens");
}
