//! `/health/`, `/health/json/` and `/health/prom/`.

use std::fmt::Write;

use futures::future::BoxFuture;
use warp::http::StatusCode;

use crate::error::ApiError;
use crate::health::{results, CheckResult};
use crate::http::Reply;
use crate::router::Context;

/// Empty body: 200 when every check passes, else 500.
pub fn summary<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let results = results(context.state).await;
        let status = if results.iter().all(|result| result.healthy) { StatusCode::OK } else { StatusCode::INTERNAL_SERVER_ERROR };
        Ok(Reply::empty(status))
    })
}

/// Always 200: every check's outcome as JSON.
pub fn json<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let results = results(context.state).await;
        Ok(Reply::text(StatusCode::OK, "application/json", render_json(&results)))
    })
}

/// Always 200: every check's outcome as Prometheus gauges.
pub fn prometheus<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let results = results(context.state).await;
        Ok(Reply::text(StatusCode::OK, "text/plain; charset=utf-8", render_prometheus(&results)))
    })
}

/// The reference renders this body with a space after each `,` and `:`, unlike the rest of the
/// API, so it is written out here rather than through the compact serializer.
fn render_json(results: &[CheckResult]) -> String {
    let items: Vec<String> = results
        .iter()
        .map(|result| {
            let error = match &result.error {
                Some(text) => serde_json::Value::String(text.clone()).to_string(),
                None => "null".to_string(),
            };
            format!(
                "{{\"check\": \"{}\", \"healthy\": {}, \"error\": {error}, \"time_taken\": {:?}}}",
                result.name, result.healthy, result.time_taken
            )
        })
        .collect();
    format!("{{\"data\": [{}]}}", items.join(", "))
}

fn render_prometheus(results: &[CheckResult]) -> String {
    let mut text = String::new();
    text.push_str("# HELP keystone_health_check_status Health check status (200 = healthy, 500 = unhealthy)\n");
    text.push_str("# TYPE keystone_health_check_status gauge\n");
    for result in results {
        let value = if result.healthy { "200.0" } else { "500.0" };
        let _ = writeln!(text, "keystone_health_check_status{{check=\"{}\"}} {value}", result.name);
    }
    text.push('\n');
    text.push_str("# HELP keystone_health_check_eval_time_seconds Health check evaluation time in seconds\n");
    text.push_str("# TYPE keystone_health_check_eval_time_seconds gauge\n");
    for result in results {
        let _ = writeln!(text, "keystone_health_check_eval_time_seconds{{check=\"{}\"}} {:.6}", result.name, result.time_taken);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<CheckResult> {
        vec![
            CheckResult {
                name: "SMTP".into(),
                healthy: false,
                error: Some("Unavailable: Connection refused error".into()),
                time_taken: 0.5,
            },
            CheckResult { name: "Database".into(), healthy: true, error: None, time_taken: 0.0125 },
        ]
    }

    #[test]
    fn json_uses_spaced_separators() {
        assert_eq!(
            render_json(&sample()),
            "{\"data\": [{\"check\": \"SMTP\", \"healthy\": false, \"error\": \"Unavailable: Connection refused error\", \"time_taken\": 0.5}, \
             {\"check\": \"Database\", \"healthy\": true, \"error\": null, \"time_taken\": 0.0125}]}"
        );
    }

    #[test]
    fn prometheus_layout() {
        let text = render_prometheus(&sample());
        assert!(text.contains("keystone_health_check_status{check=\"SMTP\"} 500.0\n"));
        assert!(text.contains("keystone_health_check_status{check=\"Database\"} 200.0\n\n# HELP keystone_health_check_eval_time_seconds"));
        assert!(text.ends_with("keystone_health_check_eval_time_seconds{check=\"Database\"} 0.012500\n"));
    }
}
