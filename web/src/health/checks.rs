//! The individual checks. Each returns its error in the reference's `<kind>: <message>` form.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::state::AppState;

const SMTP_TIMEOUT: Duration = Duration::from_secs(15);
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// One check's outcome.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub healthy: bool,
    pub error: Option<String>,
    pub time_taken: f64,
}

/// Runs every applicable check concurrently, in the reference's output order.
pub async fn run_all(state: &AppState) -> Vec<CheckResult> {
    let settings = state.settings();
    let smtp = timed("SMTP", smtp(state));
    let database = timed("Database", database(state));
    let storage = timed("Storage", storage(state));
    let jobs = timed("Celery", jobs(state));
    let (smtp, database, storage, jobs) = tokio::join!(smtp, database, storage, jobs);
    let mut results = vec![smtp, database, storage];
    if settings.cluster_enable {
        results.push(timed("Redis", redis(state)).await);
    }
    results.push(jobs);
    if settings.ldap.server_uri.is_some() {
        results.push(timed("LDAP", ldap(state)).await);
    }
    results
}

async fn timed(name: &'static str, check: impl std::future::Future<Output = Result<(), String>>) -> CheckResult {
    let started = Instant::now();
    let outcome = check.await;
    CheckResult { name: name.to_string(), healthy: outcome.is_ok(), error: outcome.err(), time_taken: started.elapsed().as_secs_f64() }
}

/// Opens an SMTP session and reads the greeting, or checks the debug folder is writable.
async fn smtp(state: &AppState) -> Result<(), String> {
    let email = &state.settings().email;
    if let Some(folder) = &email.debug_dir {
        return std::fs::create_dir_all(folder)
            .map_err(|error| format!("Unavailable: Cannot write to the email folder {}: {error}", folder.display()));
    }
    let session = async {
        let stream = TcpStream::connect((email.host.as_str(), email.port)).await.map_err(|error| {
            if error.kind() == std::io::ErrorKind::ConnectionRefused {
                "Unavailable: Connection refused error".to_string()
            } else {
                "Unavailable: Failed to open connection with SMTP server".to_string()
            }
        })?;
        let mut reader = BufReader::new(stream);
        let mut greeting = String::new();
        reader.read_line(&mut greeting).await.map_err(|_| "Unavailable: Failed to open connection with SMTP server".to_string())?;
        if !greeting.starts_with("220") {
            return Err("Unavailable: Failed to open connection with SMTP server".to_string());
        }
        let _ = reader.get_mut().write_all(b"QUIT\r\n").await;
        Ok(())
    };
    tokio::time::timeout(SMTP_TIMEOUT, session)
        .await
        .unwrap_or_else(|_| Err("Unavailable: Failed to open connection with SMTP server".to_string()))
}

async fn database(state: &AppState) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("Unavailable: {}", error.to_string().split(':').next().unwrap_or("database error"))),
        Err(_) => Err("Unavailable: Timeout.".to_string()),
    }
}

/// Writes, reads back and deletes a file in the upload folder.
async fn storage(state: &AppState) -> Result<(), String> {
    let folder = state.settings().files.upload_dir.join("health_check_storage_test");
    let path = folder.join(format!("test-{}.txt", uuid::Uuid::new_v4()));
    let content = b"keystone storage health check";
    tokio::fs::create_dir_all(&folder).await.map_err(|error| format!("Unavailable: Cannot create {}: {error}", folder.display()))?;
    tokio::fs::write(&path, content).await.map_err(|_| "Unavailable: File does not exist".to_string())?;
    let read = tokio::fs::read(&path).await.map_err(|_| "Unavailable: File does not exist".to_string())?;
    if read != content {
        let _ = tokio::fs::remove_file(&path).await;
        return Err("Unavailable: File content does not match".to_string());
    }
    tokio::fs::remove_file(&path).await.map_err(|_| "Unavailable: File was not deleted".to_string())?;
    if tokio::fs::try_exists(&path).await.unwrap_or(true) {
        return Err("Unavailable: File was not deleted".to_string());
    }
    Ok(())
}

async fn redis(state: &AppState) -> Result<(), String> {
    keystone_cluster::ping_redis(&state.settings().redis, Duration::from_secs(5))
        .await
        .map_err(|error| format!("Unavailable: Unable to connect to Redis: {error}"))
}

/// The job system: every supervised actor is running (none was given up on).
async fn jobs(state: &AppState) -> Result<(), String> {
    let failed = state.node_health().failed_actors();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("Unavailable: Actors stopped after repeated failures: {}", failed.join(", ")))
    }
}

/// Opens a TCP connection to the LDAP server.
async fn ldap(state: &AppState) -> Result<(), String> {
    let ldap = &state.settings().ldap;
    let uri = ldap.server_uri.as_deref().unwrap_or("");
    let (default_port, rest) =
        if let Some(rest) = uri.strip_prefix("ldaps://") { (636, rest) } else { (389, uri.strip_prefix("ldap://").unwrap_or(uri)) };
    let authority = rest.split('/').next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(default_port)),
        None => (authority.to_string(), default_port),
    };
    // NOTE: this checks that the server accepts connections; binding with the configured
    // credentials waits for the LDAP client.
    match tokio::time::timeout(ldap.timeout, TcpStream::connect((host.as_str(), port))).await {
        Ok(Ok(_)) => Ok(()),
        _ => Err("Unavailable: LDAP server not reachable.".to_string()),
    }
}
