//! `updater-worker run`: checks the environment, creates the indexes (waiting for MongoDB if
//! it is not up yet), serves the endpoints and runs the consumer loop until shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use common::backoff::Backoff;
use common::consumer;
use common::endpoints::{self, ReadinessCheck};
use common::keys::UPDATERS_GROUP;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::metrics::UpdaterMetrics;
use crate::settings::UpdaterSettings;
use crate::store::{self, Claimer, RetryPolicy, Store};
use crate::worker::UpdateHandler;

/// Runs the updater until `shutdown` is cancelled and in-flight batches are drained.
///
/// # Errors
/// Start-up failures: no MongoDB URI, a Redis URL without password in production, an index
/// that conflicts with ours, the endpoint address in use.
pub async fn run(settings: UpdaterSettings, shutdown: CancellationToken) -> anyhow::Result<()> {
    check_environment(&settings)?;
    let Some(mongodb_uri) = &settings.common.mongodb_uri else {
        bail!("the updater needs MongoDB: set --mongodb-uri / MONGODB_URI");
    };
    let keys = settings.common.keys();
    let pool =
        common::redis_pool::pool(&settings.common.redis_url, settings.concurrency * 2 + 4).context("Redis URL")?;
    let client = store::connect(mongodb_uri.expose()).await.context("MongoDB URI")?;
    let retry = RetryPolicy { give_up_after: settings.mongo_retry_window, ..RetryPolicy::default() };
    let store =
        Store::new(client, &settings.common.mongodb_db, Claimer::new(pool.clone(), keys.clone())).with_retry(retry);
    if !ensure_indexes(&store, &shutdown).await? {
        return Ok(());
    }
    let mut registry = Registry::default();
    let metrics = UpdaterMetrics::register(&mut registry, settings.concurrency);
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
        redis = %settings.common.redis_url,
        mongodb = %mongodb_uri,
        "updater-worker started"
    );
    consumer::run(pool, consumer_settings, handler, metrics.worker.slots_in_use.clone(), shutdown).await;
    tracing::info!("updater-worker stopped");
    Ok(())
}

fn check_environment(settings: &UpdaterSettings) -> anyhow::Result<()> {
    settings.worker.check_redis_credentials(&settings.common.redis_url).map_err(anyhow::Error::msg)
}

/// Creates the indexes, waiting for MongoDB to answer (replicas started together with their
/// database must not crash-loop). `false` when shut down before MongoDB answered.
async fn ensure_indexes(store: &Store, shutdown: &CancellationToken) -> anyhow::Result<bool> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
    loop {
        match store.ensure_indexes().await {
            Ok(()) => return Ok(true),
            Err(error) if store::is_unreachable(&error) => {
                if backoff.attempts() == 0 {
                    tracing::warn!(%error, "MongoDB unreachable at start-up: waiting for it");
                }
            }
            Err(error) => return Err(error).context("cannot create the indexes of `parts`"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(false),
            () = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
}

/// Ready when Redis and MongoDB answer.
fn readiness(pool: deadpool_redis::Pool, store: Store) -> ReadinessCheck {
    let redis = endpoints::redis_ready(pool);
    Arc::new(move || {
        let redis = redis.clone();
        let store = store.clone();
        Box::pin(async move {
            redis().await?;
            store.ping().await.map_err(|e| format!("mongodb: {e}"))
        })
    })
}
