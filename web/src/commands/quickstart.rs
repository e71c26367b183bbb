//! `keystone quickstart`: a working local instance in one command.

use std::net::SocketAddr;

use anyhow::Context;
use keystone_config::Settings;
use keystone_storage::audit::AuditContext;
use keystone_storage::password::hash_password;
use keystone_storage::NewUser;

use crate::commands::{open_database, seed};

const DEMO_USERNAME: &str = "admin";
const DEMO_PASSWORD: &str = "quickstart";

pub async fn quickstart(settings: Settings, bind: SocketAddr, with_seed: bool) -> anyhow::Result<()> {
    for folder in [&settings.files.upload_dir, &settings.data_dir] {
        std::fs::create_dir_all(folder).with_context(|| format!("failed to create {}", folder.display()))?;
    }
    let db = open_database(&settings).await?;
    db.migrate().await.context("failed to apply migrations")?;
    tracing::info!(backend = ?db.backend(), "database ready");

    if db.count_users().await? == 0 {
        let encoded = tokio::task::spawn_blocking(|| hash_password(DEMO_PASSWORD)).await?;
        let admin = NewUser {
            username: DEMO_USERNAME.to_string(),
            password: encoded,
            is_active: true,
            is_staff: true,
            is_superuser: true,
            ..NewUser::default()
        };
        db.create_user(&admin, &AuditContext::default()).await?;
        tracing::warn!(
            username = DEMO_USERNAME,
            "created the staff user 'admin' with password 'quickstart'; change this password before anyone else can reach the server"
        );
    } else {
        tracing::info!("user accounts already exist; skipping the demo user");
    }

    if with_seed {
        seed::seed(&db).await?;
    }
    crate::commands::serve::run_server(settings, db, bind).await
}
