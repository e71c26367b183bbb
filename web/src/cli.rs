//! The `keystone` command line.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

/// Keystone: HPC allocation management API server.
///
/// Settings come from environment variables (see docs/configuration.md); state without a
/// setting of its own lives in KEYSTONE_DATA_DIR, by default the working directory.
#[derive(Debug, Parser)]
#[command(name = "keystone", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API with the current settings (the database must be migrated).
    Serve {
        /// Address and port to listen on.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8000")]
        bind: SocketAddr,
    },
    /// Prepare a local instance and serve it: create the database and upload folder, apply
    /// migrations, create the staff user `admin` (password `quickstart`) when no user exists.
    Quickstart {
        /// Address and port to listen on.
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8000")]
        bind: SocketAddr,
        /// Fill the database with demo users and teams when it holds no teams yet.
        #[arg(long)]
        seed: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create a staff superuser, asking for the details unless --no-input is given.
    Createsuperuser {
        /// Username of the new account.
        #[arg(long, value_name = "NAME")]
        username: Option<String>,
        /// Email address of the new account.
        #[arg(long, value_name = "ADDR")]
        email: Option<String>,
        /// Ask nothing: --username is required and the password is read from the environment
        /// variable KEYSTONE_SUPERUSER_PASSWORD.
        #[arg(long)]
        no_input: bool,
    },
    /// Print the API token of USER, creating the token when the user has none.
    Createtoken {
        /// Username whose token to print.
        user: String,
    },
    /// Validate the settings and reach the database and, in a cluster, Redis. Exits non-zero
    /// with a message on the first failure.
    Check,
    /// List, run and inspect background tasks. In a cluster the command talks to Redis; on a
    /// single node it talks to the running node through the control socket in the data
    /// directory.
    Task {
        #[command(subcommand)]
        command: TaskCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Print the known tasks, their short names and schedules (cron, UTC, with seconds).
    List,
    /// Enqueue a run of a task now and print its job id.
    Run {
        /// Task name: the dotted name or the short name from `keystone task list`.
        name: String,
        /// Task argument as KEY=VALUE; repeat for several.
        #[arg(long = "arg", value_name = "KEY=VALUE")]
        args: Vec<String>,
        /// Wait for the job to finish; exit non-zero when it fails for good.
        #[arg(long)]
        wait: bool,
        /// Longest wait with --wait, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        timeout: u64,
    },
    /// Print the state of a job.
    Status {
        /// Job id printed by `keystone task run`.
        job_id: String,
    },
}
