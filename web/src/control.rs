//! The control socket: a Unix socket in the data directory through which `keystone task`
//! reaches a running single node, whose job queue lives in its memory. Each connection sends
//! one JSON request line and reads one JSON response line. The socket file is created with
//! mode 0600, so only the account that runs Keystone can use it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keystone_actors::jobs::{enqueue_now, job_status, Catalog};
use keystone_cluster::Coordinator;
use keystone_storage::Database;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// File name of the socket inside the data directory.
pub const SOCKET_NAME: &str = "keystone.sock";

/// A request on the control socket.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ControlRequest {
    Run { task: String, args: BTreeMap<String, String> },
    Status { job_id: String },
}

/// The answer: a job id, a job status, or an error message.
#[derive(Debug, Serialize, Deserialize)]
pub struct ControlResponse {
    pub job_id: Option<String>,
    pub status: Option<keystone_actors::jobs::JobStatus>,
    pub error: Option<String>,
}

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// Listens on the control socket until `stopped` turns true; removes the socket file then.
pub fn spawn(
    path: PathBuf,
    coordinator: Arc<dyn Coordinator>,
    db: Database,
    catalog: Catalog,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    if std::os::unix::net::UnixStream::connect(&path).is_ok() {
        tracing::warn!(path = %path.display(), "another node answers on the control socket of this data directory; leaving it in place");
        return;
    }
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "failed to open the control socket; `keystone task` cannot reach this node");
            return;
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(error) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(path = %path.display(), %error, "failed to restrict the control socket to its owner");
        }
    }
    tracing::info!(path = %path.display(), "control socket listening");
    tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let (coordinator, db, catalog) = (coordinator.clone(), db.clone(), catalog.clone());
                        tokio::spawn(async move { serve_connection(stream, coordinator, db, catalog).await });
                    }
                    Err(error) => tracing::warn!(%error, "control socket accept failed"),
                },
                _ = stopped.wait_for(|stopped| *stopped) => break,
            }
        }
        let _ = std::fs::remove_file(&path);
    });
}

async fn serve_connection(stream: UnixStream, coordinator: Arc<dyn Coordinator>, db: Database, catalog: Catalog) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader).take(64 * 1024);
    let mut bytes = Vec::new();
    let response = match tokio::time::timeout(CONTROL_READ_TIMEOUT, reader.read_until(b'\n', &mut bytes)).await {
        Err(_) => invalid_request("no request line within 10 seconds".to_string()),
        Ok(Err(error)) => invalid_request(error.to_string()),
        Ok(Ok(_)) => match String::from_utf8(bytes) {
            Ok(line) => answer(&line, coordinator.as_ref(), &db, &catalog).await,
            Err(_) => invalid_request("the request is not UTF-8".to_string()),
        },
    };
    let mut text = serde_json::to_string(&response).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    let _ = writer.write_all(text.as_bytes()).await;
}

/// How long a client of the control socket may take to send its request line.
const CONTROL_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn invalid_request(reason: String) -> ControlResponse {
    tracing::info!(reason = %reason, "rejected a control request");
    ControlResponse { job_id: None, status: None, error: Some(format!("invalid control request: {reason}")) }
}

async fn answer(line: &str, coordinator: &dyn Coordinator, db: &Database, catalog: &Catalog) -> ControlResponse {
    match serde_json::from_str::<ControlRequest>(line) {
        Ok(ControlRequest::Run { task, args }) => match enqueue_now(coordinator, db, catalog, &task, args).await {
            Ok(job_id) => ControlResponse { job_id: Some(job_id.to_string()), status: None, error: None },
            Err(error) => ControlResponse { job_id: None, status: None, error: Some(error) },
        },
        Ok(ControlRequest::Status { job_id }) => match job_status(coordinator, &job_id).await {
            Ok(Some(status)) => ControlResponse { job_id: Some(job_id), status: Some(status), error: None },
            Ok(None) => ControlResponse { job_id: Some(job_id.clone()), status: None, error: Some(format!("no job {job_id}")) },
            Err(error) => ControlResponse { job_id: Some(job_id), status: None, error: Some(error) },
        },
        Err(error) => invalid_request(error.to_string()),
    }
}

/// Sends one request to the node listening at `path`.
pub async fn send(path: &Path, request: &ControlRequest) -> anyhow::Result<ControlResponse> {
    use anyhow::Context;
    let stream = UnixStream::connect(path).await.with_context(|| {
        format!("no running Keystone node answers on {}; start one with `keystone serve` in this data directory", path.display())
    })?;
    let (reader, mut writer) = stream.into_split();
    let mut text = serde_json::to_string(request)?;
    text.push('\n');
    writer.write_all(text.as_bytes()).await?;
    let mut line = String::new();
    BufReader::new(reader).read_line(&mut line).await?;
    serde_json::from_str(&line).context("the node sent an unreadable answer")
}
