//! `keystone serve`.

use std::net::SocketAddr;

use std::sync::Arc;

use anyhow::Context;
use keystone_actors::jobs::{Catalog, JobContext};
use keystone_actors::slurm::SlurmClient;
use keystone_cluster::{Coordinator, LocalCoordinator, RedisCoordinator};
use keystone_config::Settings;

use crate::commands::open_migrated_database;
use crate::state::{resolve_secret_key, AppState};

pub async fn serve(settings: Settings, bind: SocketAddr) -> anyhow::Result<()> {
    let db = open_migrated_database(&settings).await?;
    run_server(settings, db, bind).await
}

/// Temporary upload files older than this are leftovers of a killed process.
const STALE_UPLOAD_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

fn sweep_stale_uploads(settings: &Settings) {
    let store = keystone_storage::attachments::FileStore::new(&settings.files.upload_dir);
    let removed = store.remove_stale_uploads(STALE_UPLOAD_AGE);
    if removed > 0 {
        tracing::info!(removed, folder = %store.folder().display(), "removed temporary upload files left by an earlier process");
    }
}

/// Serves until a shutdown signal, then closes the database.
pub async fn run_server(settings: Settings, db: keystone_storage::Database, bind: SocketAddr) -> anyhow::Result<()> {
    let secret_key = resolve_secret_key(&settings)?;
    tracing::info!(backend = ?db.backend(), "starting Keystone {}", crate::state::VERSION);
    let settings = Arc::new(settings);
    let coordinator = coordinator(&settings).await?;
    let catalog = Catalog::new(settings.jobs.test_tasks);
    let node_id = format!("node-{}-{}", bind.port(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let jobs = JobContext {
        node_id: node_id.clone(),
        db: db.clone(),
        coordinator: coordinator.clone(),
        settings: settings.clone(),
        catalog: catalog.clone(),
        slurm: SlurmClient::default(),
    };
    // The recorder comes first, so the actors' first measurements are not lost.
    crate::metrics::install();
    let node = keystone_actors::Node::start(db.clone(), jobs)
        .await
        .map_err(|error| anyhow::anyhow!("failed to start the actor system: {error}"))?;
    tracing::info!(node = %node_id, cluster = settings.cluster_enable, "node started");
    sweep_stale_uploads(&settings);
    let (stop_background, background_stopped) = tokio::sync::watch::channel(false);
    crate::metrics::spawn_exporter(bind.ip(), &settings.files.metrics_ports, db.clone(), background_stopped.clone());
    if !settings.cluster_enable {
        crate::control::spawn(
            crate::control::socket_path(&settings.data_dir),
            coordinator.clone(),
            db.clone(),
            catalog,
            background_stopped,
        );
    }
    let state = AppState::new(Settings::clone(&settings), db.clone(), secret_key, node.health.clone(), coordinator);
    let result = crate::server::serve(state, bind).await;
    let _ = stop_background.send(true);
    // The tree stops after the last request, so the request log holds every record to write.
    node.stop().await;
    db.close().await;
    tracing::info!("Keystone stopped");
    result
}

/// Redis in a cluster, in-process coordination on a single node.
async fn coordinator(settings: &Settings) -> anyhow::Result<Arc<dyn Coordinator>> {
    if settings.cluster_enable {
        let coordinator = RedisCoordinator::connect(&settings.redis)
            .await
            .with_context(|| {
                let (host, port) = (&settings.redis.host, settings.redis.port);
                format!("failed to reach Redis at {host}:{port}, which CLUSTER_ENABLE=true requires; start Redis there or set REDIS_HOST and REDIS_PORT")
            })?;
        Ok(Arc::new(coordinator))
    } else {
        Ok(Arc::new(LocalCoordinator::new()))
    }
}
