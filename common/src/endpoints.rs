//! The HTTP endpoints every worker serves: `/healthz` (the process runs), `/readyz` (its
//! dependencies answer) and `/metrics` (Prometheus text format).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// An async readiness check: [`NotReady`] when a dependency does not answer.
pub type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), NotReady>> + Send>> + Send + Sync>;

/// A dependency that does not answer, with the error it gave.
#[derive(Debug, thiserror::Error)]
#[error("{dependency}")]
pub struct NotReady {
    /// `redis`, `mongodb`, `proxy socks5h://host:port` (never a credential).
    pub dependency: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl NotReady {
    pub fn new(dependency: impl Into<String>, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self { dependency: dependency.into(), source: source.into() }
    }
}

#[derive(Clone)]
struct EndpointState {
    registry: Arc<Registry>,
    ready: ReadinessCheck,
}

/// Binds `addr` and serves until `shutdown`; returns the bound address (port 0 picks one).
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(
    addr: SocketAddr,
    registry: Arc<Registry>,
    ready: ReadinessCheck,
    shutdown: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(EndpointState { registry, ready });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned());
        if let Err(error) = server.await {
            tracing::warn!(%error, "endpoint server stopped");
        }
    });
    Ok(bound)
}

async fn readyz(State(state): State<EndpointState>) -> impl IntoResponse {
    match (state.ready)().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {reason}: {}\n", reason.source)),
    }
}

async fn metrics(State(state): State<EndpointState>) -> impl IntoResponse {
    let mut body = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        return (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], error.to_string());
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}

/// A readiness check that pings Redis through the pool.
pub fn redis_ready(pool: crate::redis_pool::Pool) -> ReadinessCheck {
    Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move {
            let mut conn = pool.get().await.map_err(|e| NotReady::new("redis", e))?;
            redis::cmd("PING").query_async::<String>(&mut conn).await.map(drop).map_err(|e| NotReady::new("redis", e))
        })
    })
}
