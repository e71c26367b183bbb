//! Demo data for `keystone quickstart --seed`, at the scale of a mid-size center: about 900
//! users, 200 teams, 4 clusters, 1,200 requests in every status with their allocations,
//! reviews and comments, 1,200 grants and 1,200 publications.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use keystone_storage::password::hash_password;
use keystone_storage::seed::{generate, SeedScale};
use keystone_storage::Database;

/// Every demo user signs in with this password.
const DEMO_PASSWORD: &str = "password";

/// Seeds demo data unless teams already exist.
pub async fn seed(db: &Database) -> anyhow::Result<()> {
    let existing = db.team_count().await?;
    if existing > 0 {
        tracing::info!(teams = existing, "teams already exist; skipping demo data");
        return Ok(());
    }
    let started = Instant::now();
    // One hash for every demo user keeps seeding fast; each row still holds a valid hash.
    let encoded = tokio::task::spawn_blocking(|| hash_password(DEMO_PASSWORD)).await?;
    let bases = db.seed_id_bases().await?;
    let data = generate(&SeedScale::default(), &encoded, &bases, keystone_storage::now());
    let total: usize = data.counts().values().sum();

    let bar = ProgressBar::new(total as u64);
    bar.set_style(ProgressStyle::with_template("seeding {bar:40} {pos}/{len} rows {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let counts = db
        .insert_seed(&data, |table, rows| {
            bar.set_message(table);
            bar.inc(rows as u64);
        })
        .await?;
    bar.finish_with_message("done");

    for (table, rows) in &counts {
        tracing::info!(table, rows, "seeded");
    }
    tracing::info!(
        rows = total,
        seconds = started.elapsed().as_secs_f64(),
        "created demo data; demo users (user<N>, staff<N>) sign in with the password 'password'"
    );
    Ok(())
}
