//! Health checks: SMTP, database, file store, Redis (in a cluster), the job system, and LDAP
//! (when configured). Results are cached for 60 s and refreshed by one caller at a time, so a
//! burst of callers runs the checks once.

mod checks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::state::AppState;

pub use checks::CheckResult;

/// How long a set of results is served before the checks run again.
pub const CACHE_TTL: Duration = Duration::from_secs(60);

/// The last results and when they were taken. The mutex makes refreshes single-flight.
#[derive(Default)]
pub struct HealthCache {
    latest: Mutex<Option<(Instant, Arc<Vec<CheckResult>>)>>,
    evaluations: std::sync::atomic::AtomicU64,
}

impl HealthCache {
    /// How many times the checks have run since start-up.
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Returns fresh-enough results, running the checks when the cache is older than the TTL.
/// Concurrent callers wait for the one refresh in progress instead of starting their own.
pub async fn results(state: &AppState) -> Arc<Vec<CheckResult>> {
    let cache = state.health_cache();
    let mut latest = cache.latest.lock().await;
    if let Some((taken, results)) = latest.as_ref() {
        if taken.elapsed() < CACHE_TTL {
            return results.clone();
        }
    }
    cache.evaluations.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    metrics::counter!("keystone_health_evaluations_total").increment(1);
    let results = Arc::new(checks::run_all(state).await);
    for result in results.iter().filter(|result| !result.healthy) {
        tracing::warn!(check = result.name, error = result.error.as_deref().unwrap_or(""), "health check failed");
    }
    *latest = Some((Instant::now(), results.clone()));
    results
}
