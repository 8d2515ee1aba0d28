//! `producer serve`: the one always-on process that exports the queue and run gauges
//! (`/metrics`), with `/healthz` and `/readyz`, as a small axum router, and the monitoring
//! page ([`web`]) merged into it.
//!
//! Why one process rather than every worker: the gauges describe Redis, not a process, so a
//! fleet of N workers exporting them would multiply every sum by N, and a fleet scaled to zero
//! (KEDA, a drain) would export nothing exactly when the backlog matters. The workers keep
//! their own per-process metrics (jobs, requests, blocks, batches).

pub mod gauges;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use common::keys::Keys;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

pub use gauges::QueueGauges;

use crate::settings::ServeSettings;

/// What every route of the serve process shares; clone it into routes added later.
#[derive(Clone)]
pub struct AppState {
    pub pool: common::redis_pool::Pool,
    pub keys: Keys,
    pub gauges: Arc<QueueGauges>,
    pub registry: Arc<Registry>,
}

impl AppState {
    /// The registry (build info, process metrics, the queue gauges) over one Redis pool.
    pub fn new(pool: common::redis_pool::Pool, keys: Keys, cache_ttl: Duration) -> Self {
        let gauges = Arc::new(QueueGauges::new(pool.clone(), keys.clone(), cache_ttl));
        let mut registry = Registry::default();
        common::process_metrics::register(&mut registry, "producer-serve");
        registry.register_collector(gauges.collector());
        Self { pool, keys, gauges, registry: Arc::new(registry) }
    }
}

/// `/healthz` (the process runs), `/readyz` (Redis answers), `/metrics` (Prometheus text).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// `producer serve`: the gauges, the probes and the monitoring page (with the parts page when
/// a MongoDB URI is set) on `--http-addr` until `shutdown`.
///
/// # Errors
/// Invalid Redis settings, a MongoDB URI that does not parse, an address that cannot be bound.
pub async fn run(settings: &ServeSettings, shutdown: CancellationToken) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let (pool, redis) = crate::settings::connect(&settings.common)?;
    let state = AppState::new(pool, settings.common.keys(), settings.cache_ttl);
    let mongo = match &settings.common.mongodb_uri {
        Some(uri) => Some(common::mongo::connect(uri.expose(), "producer-serve").await.context("MongoDB URI")?),
        None => None,
    };
    let page = Arc::new(web::Web::new(state.clone(), mongo.as_ref().map(|c| (c, settings.common.mongodb_db.as_str()))));
    let sampler = web::spawn_sampler(page.clone(), settings.web.web_sample_every, shutdown.clone());
    let app = router(state).merge(web::router(page, &settings.web));
    serve(settings.http_addr, app, shutdown, |addr| {
        tracing::info!(%addr, %redis, "producer serve: /metrics, /healthz, /readyz and the monitoring page");
    })
    .await
    .with_context(|| format!("cannot serve on {}", settings.http_addr))?;
    sampler.abort();
    Ok(())
}

/// Serves `router` on `addr` until `shutdown`; `ready` gets the bound address (port 0 picks one).
///
/// # Errors
/// When the address cannot be bound, or the server fails.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    ready(listener.local_addr()?);
    axum::serve(listener, router).with_graceful_shutdown(shutdown.cancelled_owned()).await
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match (common::endpoints::redis_ready(state.pool.clone()))().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {reason}: {}\n", reason.source)),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Refresh the cached reading first (a no-op within the TTL); encoding then only reads it.
    state.gauges.refresh().await;
    let mut body = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        return (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], error.to_string());
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}
