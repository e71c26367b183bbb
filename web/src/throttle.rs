//! Request throttling with `API_THROTTLE_ANON` and `API_THROTTLE_USER`, counted through the
//! coordinator so that every node of a cluster shares one count per client.
//!
//! As in the reference, throttling runs after authentication and permission checks (denied
//! requests are not counted). Anonymous requests count against both rates, keyed by client
//! address; signed-in requests count against the user rate, keyed by user id.

use std::sync::atomic::{AtomicI64, Ordering};

use keystone_cluster::ThrottleDecision;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::http::Request;
use crate::state::AppState;

/// Seconds after a coordinator failure during which throttling is skipped without asking it,
/// so an outage does not add the coordinator's connection timeout to every request.
const SKIP_AFTER_FAILURE_SECS: i64 = 5;

/// Unix time of the last coordinator failure seen by this process.
static LAST_FAILURE: AtomicI64 = AtomicI64::new(0);

/// Counts the request, or rejects it with 429 and the seconds to wait.
pub async fn check(state: &AppState, request: &Request, identity: &Identity) -> Result<(), ApiError> {
    let now = chrono::Utc::now().timestamp();
    if now - LAST_FAILURE.load(Ordering::Relaxed) < SKIP_AFTER_FAILURE_SECS {
        return Ok(());
    }
    let throttle = &state.settings().throttle;
    let mut buckets = Vec::with_capacity(2);
    match &identity.user {
        Some(user) => buckets.push((format!("user:{}", user.id), throttle.user)),
        None => {
            let address = client_key(request);
            buckets.push((format!("anon:{address}"), throttle.anon));
            buckets.push((format!("user:{address}"), throttle.user));
        }
    }
    for (key, rate) in buckets {
        let limit = u32::try_from(rate.count).unwrap_or(u32::MAX);
        match state.coordinator().throttle_hit(&key, limit, rate.period).await {
            Ok(ThrottleDecision::Allowed) => {}
            Ok(ThrottleDecision::Limited { retry_after }) => {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                tracing::info!(key = %key, cid = %request.cid, retry_after = seconds, "request throttled");
                metrics::counter!("keystone_http_throttled_total").increment(1);
                return Err(ApiError::Throttled(seconds.max(1)));
            }
            Err(error) => {
                // An unreachable coordinator must not take the API down with it.
                LAST_FAILURE.store(now, Ordering::Relaxed);
                tracing::warn!(%error, skip_seconds = SKIP_AFTER_FAILURE_SECS, "throttling skipped because the coordinator failed");
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The reference's client key: the whole `X-Forwarded-For` value without whitespace, else the
/// peer address.
fn client_key(request: &Request) -> String {
    match request.header("x-forwarded-for") {
        Some(forwarded) => forwarded.chars().filter(|c| !c.is_whitespace()).collect(),
        None => request.remote.map(|address| address.ip().to_string()).unwrap_or_default(),
    }
}
