//! `updater-worker run`: checks the environment, creates the indexes (waiting for MongoDB if
//! it is not up yet), serves the endpoints and runs the consumer loop until shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use common::consumer;
use common::endpoints::{self, NotReady, ReadinessCheck};
use common::keys::UPDATERS_GROUP;
use common::retry::{retry, RetryPolicy, Retryable, Stopped};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::metrics::UpdaterMetrics;
use crate::settings::UpdaterSettings;
use crate::store::{self, Claimer, Reachability, Store};
use crate::worker::UpdateHandler;

/// Runs the updater until `shutdown` is cancelled and in-flight batches are drained.
///
/// # Errors
/// Start-up failures: no MongoDB URI, a Redis URL without password in production, an index
/// that conflicts with ours, the endpoint address in use.
pub async fn run_updater(settings: UpdaterSettings, shutdown: CancellationToken) -> anyhow::Result<()> {
    check_environment(&settings)?;
    let Some(mongodb_uri) = &settings.common.mongodb_uri else {
        bail!("the updater needs MongoDB: set --mongodb-uri / MONGODB_URI");
    };
    let keys = settings.common.keys();
    let redis = settings.common.redis.target()?;
    let pool =
        common::redis_pool::pool(&redis, settings.concurrency * 2 + 4).with_context(|| format!("Redis {redis}"))?;
    let client = common::mongo::connect(mongodb_uri.expose(), "updater-worker").await.context("MongoDB URI")?;
    let mut registry = Registry::default();
    let metrics = UpdaterMetrics::register(&mut registry, settings.concurrency);
    let store = Store::new(
        client,
        &settings.common.mongodb_db,
        Claimer::new(pool.clone(), keys.clone(), settings.common.keep_for),
    )
    .with_reachability(Reachability::with_gauge(metrics.mongo_down.clone()));
    if !ensure_indexes(&store, &shutdown).await? {
        return Ok(());
    }
    let handler = Arc::new(UpdateHandler {
        pool: pool.clone(),
        keys: keys.clone(),
        store: store.clone(),
        max_deliveries: settings.worker.max_deliveries,
        metrics: metrics.clone(),
        shutdown: shutdown.clone(),
    });
    let ready = readiness(pool.clone(), store);
    let addr = endpoints::serve(settings.worker.http_addr, Arc::new(registry), ready, shutdown.clone())
        .await
        .with_context(|| format!("cannot serve endpoints on {}", settings.worker.http_addr))?;
    let consumer_settings = settings.worker.consumer(
        keys.results(),
        UPDATERS_GROUP,
        settings.concurrency,
        (settings.batch_size, settings.batch_wait),
    );
    tracing::info!(
        consumer = %consumer_settings.consumer,
        slots = consumer_settings.slots,
        batch_size = consumer_settings.batch_size,
        endpoints = %addr,
        redis = %redis,
        mongodb = %mongodb_uri,
        "updater-worker started"
    );
    consumer::run(pool, consumer_settings, handler, metrics.worker.clone(), shutdown).await;
    tracing::info!("updater-worker stopped");
    Ok(())
}

fn check_environment(settings: &UpdaterSettings) -> anyhow::Result<()> {
    Ok(settings.worker.check_redis_credentials(&settings.common.redis.target()?)?)
}

/// Creates the indexes, waiting for MongoDB to answer (replicas started together with their
/// database must not crash-loop). `false` when shut down before MongoDB answered.
async fn ensure_indexes(store: &Store, shutdown: &CancellationToken) -> anyhow::Result<bool> {
    let policy = RetryPolicy::forever(Duration::from_millis(500), Duration::from_secs(10));
    match retry("create the indexes of `parts`", policy, shutdown, || async {
        store.ensure_indexes().await.map_err(IndexError)
    })
    .await
    {
        Ok(()) => Ok(true),
        Err(Stopped::Shutdown) => Ok(false),
        Err(Stopped::GaveUp(IndexError(error))) => Err(error).context("cannot create the indexes of `parts`"),
    }
}

/// An index creation error: retried while MongoDB cannot be reached, final otherwise.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct IndexError(mongodb::error::Error);

impl Retryable for IndexError {
    fn is_retryable(&self) -> bool {
        store::is_unreachable(&self.0)
    }
}

/// Ready when Redis and MongoDB answer.
fn readiness(pool: common::redis_pool::Pool, store: Store) -> ReadinessCheck {
    let redis = endpoints::redis_ready(pool);
    Arc::new(move || {
        let redis = redis.clone();
        let store = store.clone();
        Box::pin(async move {
            redis().await?;
            store.ping().await.map_err(|e| NotReady::new("mongodb", e))
        })
    })
}
