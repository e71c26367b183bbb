//! State shared by every request of a node.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use keystone_config::{ExposeSecret, Settings};
use keystone_storage::Database;

use crate::http::CookieOptions;

/// Settings, the database and the signing key, shared by every request.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
    pub db: Database,
}

struct Inner {
    settings: Settings,
    secret_key: Vec<u8>,
    node_health: keystone_actors::Health,
    health_cache: crate::health::HealthCache,
    coordinator: Arc<dyn keystone_cluster::Coordinator>,
}

impl AppState {
    pub fn new(
        settings: Settings,
        db: Database,
        secret_key: Vec<u8>,
        node_health: keystone_actors::Health,
        coordinator: Arc<dyn keystone_cluster::Coordinator>,
    ) -> Self {
        let health_cache = crate::health::HealthCache::default();
        AppState { inner: Arc::new(Inner { settings, secret_key, node_health, health_cache, coordinator }), db }
    }

    /// Coordination with the other nodes (in-process on a single node).
    pub fn coordinator(&self) -> &Arc<dyn keystone_cluster::Coordinator> {
        &self.inner.coordinator
    }

    /// Restart and give-up records of this node's actors.
    pub fn node_health(&self) -> &keystone_actors::Health {
        &self.inner.node_health
    }

    pub fn health_cache(&self) -> &crate::health::HealthCache {
        &self.inner.health_cache
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn secret_key(&self) -> &[u8] {
        &self.inner.secret_key
    }

    pub fn cookie_options(&self) -> CookieOptions {
        let security = &self.inner.settings.security;
        CookieOptions { domain: security.token_domain.clone(), secure: security.ssl_tokens }
    }
}

/// The version reported by `/`, `/version/` and `/config/`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Returns `SECURE_SECRET_KEY`, or the key kept in `<data dir>/secret_key`, generating and
/// storing one (mode 0600) on first use so sessions survive a restart.
pub fn resolve_secret_key(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(key) = &settings.security.secret_key {
        return Ok(key.expose_secret().as_bytes().to_vec());
    }
    let path = settings.data_dir.join("secret_key");
    if path.exists() {
        let key = std::fs::read_to_string(&path).with_context(|| format!("failed to read the secret key file {}", path.display()))?;
        let key = key.trim();
        anyhow::ensure!(
            key.len() >= 32,
            "the secret key file {} holds fewer than 32 characters; delete it to generate a new key",
            path.display()
        );
        return Ok(key.as_bytes().to_vec());
    }
    let key: String = {
        use rand::distributions::Alphanumeric;
        use rand::Rng;
        rand::thread_rng().sample_iter(&Alphanumeric).take(50).map(char::from).collect()
    };
    write_private_file(&path, &key).with_context(|| format!("failed to store a new secret key in {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a secret key because SECURE_SECRET_KEY is unset");
    Ok(key.into_bytes())
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}
