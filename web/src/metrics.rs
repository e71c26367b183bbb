//! Prometheus metrics: the recorder, HTTP request metrics, database pool gauges, and the
//! exporter on the first free port of `CONFIG_METRICS_PORTS`.
//!
//! Every metric goes through the `metrics` facade, so the actors and storage record theirs the
//! same way; this module owns only the recorder and its rendering.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use keystone_storage::Database;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use warp::Filter;

/// Latency buckets in seconds, from 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once) and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".to_string()), LATENCY_BUCKETS)
                .expect("latency buckets are not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; Keystone's metrics may be incomplete");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!("keystone_http_requests_total", "HTTP requests answered, by route template, method and status.");
    metrics::describe_histogram!(
        "keystone_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by route template and method."
    );
    metrics::describe_gauge!("keystone_db_pool_connections", "Database pool connections, by state (idle or in_use).");
    metrics::describe_gauge!("keystone_db_pool_max_connections", "Largest number of connections the database pool opens.");
    metrics::describe_counter!("keystone_http_throttled_total", "Requests rejected with 429 by the rate limits.");
    metrics::describe_counter!(
        "keystone_request_logs_dropped_total",
        "Request-log records dropped because the batcher's queue was full (the database fell behind)."
    );
    metrics::describe_counter!(
        "keystone_health_evaluations_total",
        "Health check evaluations run by this node; cached results are not counted."
    );

    metrics::describe_counter!("keystone_jobs_claimed_total", "Jobs claimed by this node's workers, by task.");
    metrics::describe_counter!("keystone_jobs_succeeded_total", "Jobs that succeeded on this node, by task.");
    metrics::describe_counter!("keystone_jobs_failed_total", "Job attempts that failed on this node, by task.");
    metrics::describe_counter!("keystone_jobs_retried_total", "Failed or abandoned jobs queued for another attempt, by task.");
    metrics::describe_counter!(
        "keystone_jobs_dead_lettered_total",
        "Jobs moved to the dead-letter list after their last attempt, by task."
    );
    metrics::describe_histogram!("keystone_job_duration_seconds", metrics::Unit::Seconds, "Run time of one job attempt, by task.");
    metrics::describe_gauge!("keystone_job_queue_depth", "Jobs in the queue, by state (ready, scheduled, running, dead_lettered).");
    metrics::describe_gauge!("keystone_scheduler_leader", "1 while this node holds the scheduler's leader lease, else 0.");
    metrics::describe_gauge!("keystone_cluster_live_nodes", "Nodes with a current heartbeat in the registry.");
    metrics::describe_counter!("keystone_actor_restarts_total", "Restarts of supervised actors after a panic or an error, by actor.");
    metrics::describe_counter!("keystone_actor_give_ups_total", "Supervised actors given up on after failing too often, by actor.");
}

/// Records one answered request.
pub fn record_request(route: &'static str, method: &str, status: u16, elapsed: Duration) {
    // Clients choose the method name; an unknown one shares one label, so series stay bounded.
    let method = match method {
        "GET" | "HEAD" | "OPTIONS" | "POST" | "PUT" | "PATCH" | "DELETE" | "TRACE" => method.to_string(),
        _ => "other".to_string(),
    };
    metrics::counter!("keystone_http_requests_total", "route" => route, "method" => method.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("keystone_http_request_duration_seconds", "route" => route, "method" => method).record(elapsed.as_secs_f64());
}

/// Updates the sampled gauges and renders every metric in the Prometheus text format.
pub fn render(db: &Database) -> String {
    let (size, idle, max) = db.pool_usage();
    metrics::gauge!("keystone_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("keystone_db_pool_connections", "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("keystone_db_pool_max_connections").set(f64::from(max));
    install().render()
}

/// Serves `/metrics` on the first port of `ports` that is free on `host`, in the background.
/// Returns the port, or `None` (with a warning) when every port is taken.
pub fn spawn_exporter(host: std::net::IpAddr, ports: &[u16], db: Database, shutdown: tokio::sync::watch::Receiver<bool>) -> Option<u16> {
    for port in ports {
        let address = SocketAddr::new(host, *port);
        let Ok(listener) = std::net::TcpListener::bind(address) else {
            continue;
        };
        drop(listener);
        let db = db.clone();
        let route = warp::path("metrics")
            .and(warp::path::end())
            .map(move || warp::reply::with_header(render(&db), "Content-Type", "text/plain; version=0.0.4; charset=utf-8"));
        let mut stop = shutdown.clone();
        match warp::serve(route).try_bind_with_graceful_shutdown(address, async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }) {
            Ok((bound, server)) => {
                tokio::spawn(server);
                tracing::info!(address = %bound, "metrics exporter listening");
                return Some(bound.port());
            }
            Err(error) => tracing::debug!(%error, port, "metrics port taken"),
        }
    }
    tracing::warn!(?ports, "no free port in CONFIG_METRICS_PORTS; the metrics exporter is off (metrics remain at /metrics/)");
    None
}
