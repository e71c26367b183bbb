//! Health checks: SMTP, database, file store, Redis (in a cluster), the job system, and LDAP
//! (when configured). Results are cached for 60 s in the coordinator's shared cache, so every
//! node of a cluster serves the same results, and refreshed by one caller at a time: within a
//! node a mutex lets one request refresh while the others wait, and across nodes a shared lock
//! lets one node run the checks while the others wait for its results.

mod checks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::state::AppState;

pub use checks::CheckResult;

/// How long a set of results is served before the checks run again.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a node reuses the shared results without asking the coordinator again; short, so
/// the shared entry decides the results' age.
const LOCAL_TTL: Duration = Duration::from_secs(1);

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

/// Key of the cached results in the coordinator's cache.
const CACHE_KEY: &str = "health:results";
/// Key of the lock held by the node that refreshes the results.
const LOCK_KEY: &str = "health:refresh";
/// Longest wait for another node's refresh before running the checks here.
const PEER_WAIT: Duration = Duration::from_secs(20);

/// Returns fresh-enough results, running the checks when the cache is older than the TTL.
/// Concurrent callers wait for the one refresh in progress instead of starting their own.
pub async fn results(state: &AppState) -> Arc<Vec<CheckResult>> {
    let cache = state.health_cache();
    let mut latest = cache.latest.lock().await;
    if let Some((taken, results)) = latest.as_ref() {
        if taken.elapsed() < LOCAL_TTL {
            return results.clone();
        }
    }
    let results = Arc::new(shared_results(state).await);
    *latest = Some((Instant::now(), results.clone()));
    results
}

/// Reads the shared cache, or refreshes it under the shared lock.
async fn shared_results(state: &AppState) -> Vec<CheckResult> {
    let coordinator = state.coordinator();
    let deadline = Instant::now() + PEER_WAIT;
    loop {
        if let Some(results) = cached(state).await {
            return results;
        }
        match coordinator.try_lock(LOCK_KEY, PEER_WAIT).await {
            Ok(Some(token)) => {
                let results = evaluate(state).await;
                match serde_json::to_vec(&results) {
                    Ok(bytes) => {
                        if let Err(error) = coordinator.cache_set(CACHE_KEY, bytes, CACHE_TTL).await {
                            tracing::warn!(%error, "failed to share health results");
                        }
                    }
                    Err(error) => tracing::warn!(%error, "failed to encode health results"),
                }
                let _ = coordinator.unlock(LOCK_KEY, &token).await;
                return results;
            }
            Ok(None) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Ok(None) => return evaluate(state).await,
            Err(error) => {
                tracing::warn!(%error, "coordinator unavailable; running health checks on this node only");
                return evaluate(state).await;
            }
        }
    }
}

async fn cached(state: &AppState) -> Option<Vec<CheckResult>> {
    let bytes = state.coordinator().cache_get(CACHE_KEY).await.ok()??;
    serde_json::from_slice(&bytes).ok()
}

async fn evaluate(state: &AppState) -> Vec<CheckResult> {
    let cache = state.health_cache();
    cache.evaluations.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    metrics::counter!("keystone_health_evaluations_total").increment(1);
    let results = checks::run_all(state).await;
    for result in results.iter().filter(|result| !result.healthy) {
        tracing::warn!(check = %result.name, error = result.error.as_deref().unwrap_or(""), "health check failed");
    }
    results
}
