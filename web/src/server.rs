//! The HTTP server: warp reads each request in full and hands it to the router; shutdown on
//! Ctrl-C or SIGTERM stops accepting connections and lets requests in flight finish.

use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use tracing::Instrument;
use warp::http::{HeaderMap, Method};
use warp::path::FullPath;
use warp::Filter;

use crate::error::ApiError;
use crate::http::{add_security_headers, Request};
use crate::router::{dispatch, Dispatched};
use crate::state::AppState;
use keystone_storage::logs::NewRequestLog;

/// Serves the API on `address` until Ctrl-C or SIGTERM.
pub async fn serve(state: AppState, address: SocketAddr) -> anyhow::Result<()> {
    let body_limit = body_limit(&state);
    let routes = warp::any()
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::addr::remote())
        .and(warp::body::stream())
        .then(move |method, path: FullPath, query, headers, remote, body| {
            let state = state.clone();
            async move { handle(state, method, path, query, headers, remote, body, body_limit).await }
        });

    let (bound, server) = warp::serve(routes)
        .try_bind_with_graceful_shutdown(address, shutdown_signal())
        .map_err(|error| anyhow::anyhow!("failed to listen on {address}: {error}"))?;
    tracing::info!(address = %bound, "Keystone is listening");
    eprintln!("Keystone is listening on http://{bound}/");
    server.await;
    tracing::info!("server stopped");
    Ok(())
}

/// How long a client may take to send its whole body. A slow sender would otherwise hold a
/// connection and the buffered part of its body indefinitely.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Largest accepted body: every allowed attachment of one request, plus room for fields.
fn body_limit(state: &AppState) -> u64 {
    let files = &state.settings().files;
    files.upload_size.saturating_mul(files.upload_count.max(1)).saturating_add(1 << 20)
}

#[allow(clippy::too_many_arguments)]
async fn handle<S, B>(
    state: AppState,
    method: Method,
    path: FullPath,
    query: String,
    headers: HeaderMap,
    remote: Option<SocketAddr>,
    body: S,
    body_limit: u64,
) -> warp::http::Response<warp::hyper::Body>
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Unpin,
    B: Buf,
{
    let cid = correlation_id(&headers);
    let span = tracing::info_span!("request", cid = %cid, method = %method, path = %path.as_str());
    async move {
        let head = method == Method::HEAD;
        let read = tokio::time::timeout(BODY_READ_TIMEOUT, read_body(body, body_limit)).await;
        let body = match read.unwrap_or(Err(ApiError::RequestTimeout(BODY_READ_TIMEOUT.as_secs()))) {
            Ok(body) => body,
            Err(error) => {
                tracing::info!(error = ?error, "rejected a request body");
                let mut reply = error.into_reply();
                add_security_headers(&mut reply);
                return reply.into_response(head);
            }
        };
        let request = Request { method, path: path.as_str().to_string(), query, headers, remote, body, cid };
        let started = keystone_storage::now();
        let clock = std::time::Instant::now();
        let dispatched = if state.settings().debug_queries {
            let (mut dispatched, queries) = keystone_storage::query_count::counting(dispatch(&state, &request)).await;
            dispatched.reply.set_header("X-Keystone-Queries", &queries.to_string());
            dispatched
        } else {
            dispatch(&state, &request).await
        };
        if dispatched.logged {
            keystone_actors::request_log::log_request(request_record(&request, &dispatched, started));
        }
        crate::metrics::record_request(dispatched.route, request.method.as_str(), dispatched.reply.status.as_u16(), clock.elapsed());
        let reply = dispatched.reply;
        tracing::debug!(status = reply.status.as_u16(), "request answered");
        reply.into_response(head)
    }
    .instrument(span)
    .await
}

/// The request-log record of an answered request.
fn request_record(request: &Request, dispatched: &Dispatched, timestamp: chrono::DateTime<chrono::Utc>) -> NewRequestLog {
    let mut endpoint = request.path.clone();
    if !request.query.is_empty() {
        endpoint.push('?');
        endpoint.push_str(&request.query);
    }
    NewRequestLog {
        method: request.method.as_str().chars().take(10).collect(),
        endpoint: endpoint.chars().take(2048).collect(),
        response_code: i32::from(dispatched.reply.status.as_u16()),
        remote_address: request.client_address().map(|address| address.chars().take(40).collect()),
        timestamp,
        cid: Some(request.cid.clone()),
        user_id: dispatched.user_id,
    }
}

/// Reads the body, stopping with 413 as soon as it exceeds `limit` bytes.
async fn read_body<S, B>(mut body: S, limit: u64) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let mut collected = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|error| ApiError::BadRequest(format!("Failed to read the request body: {error}")))?;
        if collected.len() as u64 + chunk.remaining() as u64 > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            collected.extend_from_slice(part);
            let length = part.len();
            chunk.advance(length);
        }
    }
    Ok(collected.freeze())
}

/// `X-KEYSTONE-CID` when it parses as a UUID, else a new UUID4.
fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get("x-keystone-cid")
        .and_then(|value| value.to_str().ok())
        .filter(|value| uuid::Uuid::parse_str(value).is_ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "failed to listen for Ctrl-C");
            futures::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "failed to listen for SIGTERM");
                futures::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = futures::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
    eprintln!("Shutting down: finishing requests in flight");
}
