//! `keystone serve`.

use std::net::SocketAddr;

use keystone_config::Settings;

use crate::commands::open_database;
use crate::state::{resolve_secret_key, AppState};

pub async fn serve(settings: Settings, bind: SocketAddr) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    run_server(settings, db, bind).await
}

/// Serves until a shutdown signal, then closes the database.
pub async fn run_server(settings: Settings, db: keystone_storage::Database, bind: SocketAddr) -> anyhow::Result<()> {
    let secret_key = resolve_secret_key(&settings)?;
    tracing::info!(backend = ?db.backend(), "starting Keystone {}", crate::state::VERSION);
    let state = AppState::new(settings, db.clone(), secret_key);
    let result = crate::server::serve(state, bind).await;
    db.close().await;
    tracing::info!("Keystone stopped");
    result
}
