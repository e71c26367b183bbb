//! `keystone` child processes: one-shot commands with a time limit, and long-running servers
//! that tests wait for, signal and kill.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::keystone_binary;

/// Time limit for one-shot commands such as `migrate`, `check` and `createsuperuser`.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Time limit for a server to respond to its first request after start.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds a `keystone` command with a cleared environment (only `PATH` is kept) plus `env`.
fn keystone_command(args: &[&str], env: &[(String, String)], cwd: Option<&Path>) -> Command {
    let mut command = Command::new(keystone_binary());
    command.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    command
}

/// Runs `keystone ARGS` to completion with only `env` set, killing it and panicking after
/// `timeout`. Output goes through temporary files, so a chatty command cannot block on a full
/// pipe.
pub fn run_keystone(args: &[&str], env: &[(String, String)], cwd: Option<&Path>, timeout: Duration) -> Output {
    let mut stdout = tempfile::tempfile().expect("failed to create a file for stdout");
    let mut stderr = tempfile::tempfile().expect("failed to create a file for stderr");
    let mut command = keystone_command(args, env, cwd);
    command.stdout(stdout.try_clone().expect("stdout file can be cloned")).stderr(stderr.try_clone().expect("stderr file can be cloned"));
    let mut child = command.spawn().expect("failed to run keystone");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("failed to poll keystone") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("keystone {} did not exit within {timeout:?}; stderr: {}", args.join(" "), read_all(&mut stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: read_all(&mut stdout).into_bytes(), stderr: read_all(&mut stderr).into_bytes() }
}

fn read_all(file: &mut std::fs::File) -> String {
    use std::io::{Read, Seek};
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    text
}

/// A long-running `keystone` process (`serve` or `quickstart`) listening on `port`, killed
/// when dropped. Its stderr goes to `log_path`.
pub struct KeystoneProcess {
    child: Option<Child>,
    pub port: u16,
    log_path: PathBuf,
}

impl KeystoneProcess {
    /// Starts `keystone ARGS` with only `env` set. `port` must be the port the arguments
    /// bind, so that [`KeystoneProcess::wait_until_ready`] can poll it.
    pub fn spawn(args: &[&str], env: &[(String, String)], cwd: Option<&Path>, port: u16, log_path: PathBuf) -> KeystoneProcess {
        let log = std::fs::File::create(&log_path).expect("failed to create the server log");
        let mut command = keystone_command(args, env, cwd);
        command.env("RUST_LOG", "info").stdout(Stdio::null()).stderr(log);
        let child = command.spawn().expect("failed to start keystone");
        KeystoneProcess { child: Some(child), port, log_path }
    }

    /// Starts `keystone serve` on `port` and waits until it responds to `/version/`.
    pub async fn serve(env: &[(String, String)], port: u16, log_path: PathBuf) -> KeystoneProcess {
        let bind = format!("127.0.0.1:{port}");
        let mut process = KeystoneProcess::spawn(&["serve", "--bind", &bind], env, None, port, log_path);
        process.wait_until_ready().await;
        process
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits (at most [`START_TIMEOUT`]) until `GET /version/` is answered without a server
    /// error; panics with the log when the process exits first or the time runs out. A
    /// redirect counts as ready, for servers started with `SECURE_SSL_REDIRECT`. The probe
    /// comes from its own forwarded address, so it uses none of the client's throttle budget.
    pub async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client builds");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let probe = client.get(format!("{}/version/", self.base_url())).header("X-Forwarded-For", "192.0.2.1");
            if let Ok(response) = probe.send().await {
                if response.status().is_success() || response.status().is_redirection() {
                    return;
                }
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("keystone exited early with {status}; log: {}", self.log());
                }
            }
            assert!(Instant::now() < deadline, "keystone did not answer within {START_TIMEOUT:?}; log: {}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGTERM without waiting for the process to exit.
    pub fn signal_terminate(&self) {
        if let Some(child) = &self.child {
            let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            assert!(status.is_ok_and(|status| status.success()), "failed to send SIGTERM to {}", child.id());
        }
    }

    /// Waits at most `timeout` for the process to exit. Returns its status, or `None` when it
    /// was still running (it is then killed) or had already been reaped.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Sends SIGTERM and waits (at most 30 s, blocking the thread) for the exit status; kills
    /// the process when it does not stop in time.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        self.signal_terminate();
        let mut child = self.child.take()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// Returns the process's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for KeystoneProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Returns a port on 127.0.0.1 that was free a moment ago. Another process may take it before the
/// caller binds it; tests accept that small race.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("failed to find a free port");
    listener.local_addr().expect("listener has an address").port()
}
