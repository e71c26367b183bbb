//! Command implementations. Each loads the settings first, so an invalid setting stops any
//! command with a message that names it.

mod check;
mod quickstart;
mod seed;
mod serve;
mod task;
mod users;

use std::process::ExitCode;

use anyhow::Context;
use keystone_config::Settings;
use keystone_storage::Database;

use crate::cli::{Cli, Command};

/// Runs a command and maps failure to a message on stderr and exit status 1
/// (2 for invalid settings).
pub fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("keystone: {error}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings, &cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("keystone: failed to start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { bind } => serve::serve(settings, bind).await,
            Command::Quickstart { bind, seed } => quickstart::quickstart(settings, bind, seed).await,
            Command::Migrate => migrate(settings).await,
            Command::Createsuperuser { username, email, no_input } => users::create_superuser(settings, username, email, no_input).await,
            Command::Createtoken { user } => users::create_token(settings, &user).await,
            Command::Check => check::check(settings).await,
            Command::Task { command } => task::task(settings, command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("keystone: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr at `LOG_APP_LEVEL`, or as `RUST_LOG` says when it is set. Interactive
/// set-up commands log at least at INFO so their steps are visible.
fn init_tracing(settings: &Settings, command: &Command) {
    use tracing_subscriber::EnvFilter;
    let level = match command {
        Command::Quickstart { .. } | Command::Migrate | Command::Check => "info",
        _ => settings.logging.app_level.directive(),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("{level},sqlx=error,hyper=warn,warp=warn")));
    // Colour codes only on a terminal: redirected logs (files, journald) stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
}

/// Opens the configured database.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Database> {
    let db = Database::connect(&settings.database).await?;
    Ok(db)
}

/// Opens the configured database for a command that needs its tables: a missing SQLite file
/// is an error rather than a new empty file, and so is a database with migrations to apply.
pub async fn open_migrated_database(settings: &Settings) -> anyhow::Result<Database> {
    let path = &settings.database.sqlite_path;
    if !settings.database.postgres_enable && !path.exists() {
        anyhow::bail!("there is no database at {}; run `keystone migrate` first, or `keystone quickstart`", path.display());
    }
    let db = open_database(settings).await?;
    let pending = db.pending_migrations().await?;
    if pending > 0 {
        db.close().await;
        anyhow::bail!("the database has {pending} migrations to apply; run `keystone migrate` first");
    }
    Ok(db)
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    db.migrate().await.context("failed to apply migrations")?;
    tracing::info!(backend = ?db.backend(), "migrations applied");
    db.close().await;
    Ok(())
}
