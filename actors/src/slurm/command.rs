//! Runs Slurm's command-line tools as child processes, without a shell, with a timeout.

use std::ffi::{OsStr, OsString};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::Command;

/// How long a Slurm tool may run before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A Slurm tool could not be run, did not finish in time, or exited with an error.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("failed to run `{command}`: {source}")]
    Spawn { command: String, source: std::io::Error },

    #[error("`{command}` timed out after {timeout:?} and was killed")]
    TimedOut { command: String, timeout: Duration },

    /// The tool exited with a non-zero status. `stderr` is its trimmed error output.
    #[error("`{command}` failed ({status}): {}", if stderr.is_empty() { "no error output" } else { stderr })]
    Failed { command: String, status: ExitStatus, stderr: String },

    /// A limit in hours that Slurm cannot store as whole minutes.
    #[error("invalid Slurm limit of {hours} hours: it must be zero or more and at most {} hours", i64::MAX / 60)]
    InvalidLimit { hours: i64 },
}

/// The way to Slurm's tools: their program names or paths, the environment of their
/// processes, and how long each may run.
///
/// Programs given by name are looked up in the `PATH` of the child process, which is the
/// search path set with [`SlurmClient::with_search_path`] or else this process's `PATH`.
#[derive(Clone, Debug)]
pub struct SlurmClient {
    pub(super) sacctmgr: OsString,
    pub(super) sshare: OsString,
    search_path: Option<OsString>,
    environment: Vec<(OsString, OsString)>,
    timeout: Duration,
}

impl Default for SlurmClient {
    fn default() -> Self {
        SlurmClient {
            sacctmgr: "sacctmgr".into(),
            sshare: "sshare".into(),
            search_path: None,
            environment: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl SlurmClient {
    /// Creates a client that runs `sacctmgr` and `sshare` from `PATH`, each for at most
    /// [`DEFAULT_TIMEOUT`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how long one tool may run before it is killed and the call fails.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the `PATH` of the tool processes, which is also where tools given by name are
    /// found. This process's own `PATH` stays unchanged.
    pub fn with_search_path(mut self, path: impl Into<OsString>) -> Self {
        self.search_path = Some(path.into());
        self
    }

    /// Adds an environment variable to the tool processes, such as `SLURM_CONF`.
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.environment.push((key.into(), value.into()));
        self
    }

    /// Sets the programs run as `sacctmgr` and `sshare`: names to look up in `PATH`, or paths.
    pub fn with_programs(mut self, sacctmgr: impl Into<OsString>, sshare: impl Into<OsString>) -> Self {
        self.sacctmgr = sacctmgr.into();
        self.sshare = sshare.into();
        self
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs `program` with `args` and returns its standard output, decoded as UTF-8 (invalid
    /// bytes replaced) and trimmed. Standard input is empty. A non-zero exit status is a
    /// [`SlurmError::Failed`] carrying the command line and the standard error output.
    ///
    /// On timeout the tool process is killed. Processes that the tool started itself are not.
    pub async fn run(&self, program: &OsStr, args: &[String]) -> Result<String, SlurmError> {
        let command_line = command_line(program, args);
        tracing::debug!(command = %command_line, "running Slurm command");

        let mut command = Command::new(program);
        command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        if let Some(path) = &self.search_path {
            command.env("PATH", path);
        }
        for (key, value) in &self.environment {
            command.env(key, value);
        }
        let child = command.spawn().map_err(|source| SlurmError::Spawn { command: command_line.clone(), source })?;

        // Dropping the unfinished wait on timeout drops the child, and `kill_on_drop` kills it.
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(output)) => output,
            Ok(Err(source)) => return Err(SlurmError::Spawn { command: command_line, source }),
            Err(_) => return Err(SlurmError::TimedOut { command: command_line, timeout: self.timeout }),
        };

        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
            return Err(SlurmError::Failed { command: command_line, status: output.status, stderr });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }
}

/// Joins a program and its arguments with spaces, as error messages and logs show them.
fn command_line(program: &OsStr, args: &[String]) -> String {
    let mut line = program.to_string_lossy().into_owned();
    for arg in args {
        line.push(' ');
        line.push_str(arg);
    }
    line
}
