//! `crawler-worker run`: checks the environment (production needs a working proxy and a
//! Redis password), then serves the endpoints and runs the consumer loop until shutdown.

use std::sync::Arc;

use anyhow::{bail, Context};
use common::consumer;
use common::endpoints::{self, NotReady, ReadinessCheck};
use common::keys::CRAWLERS_GROUP;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::crawl::Crawler;
use crate::fetch::{RequestPolicy, Requester};
use crate::http::Fetcher;
use crate::metrics::CrawlerMetrics;
use crate::proxy_check;
use crate::rate_limit::RateLimiter;
use crate::robots::Robots;
use crate::settings::{CrawlerSettings, Environment};
use crate::tor::{TorAuth, TorControl};
use crate::worker::CrawlHandler;

/// Runs the crawler until `shutdown` is cancelled and in-flight jobs are drained.
///
/// # Errors
/// Start-up failures: production checks, a bad proxy URL, the endpoint address in use.
pub async fn run_crawler(settings: CrawlerSettings, shutdown: CancellationToken) -> anyhow::Result<()> {
    check_environment(&settings).await?;
    let keys = settings.common.keys();
    let redis = settings.common.redis.target()?;
    let pool = common::redis_pool::pool(&redis, settings.jobs() * 2 + 4).with_context(|| format!("Redis {redis}"))?;
    let mut registry = Registry::default();
    let metrics = CrawlerMetrics::register(&mut registry, settings.jobs());
    let rate = settings.global_rps.map(|rps| RateLimiter::new(pool.clone(), keys.rate_limit(), rps));
    let fetcher =
        Fetcher::new(settings.http.client(), settings.concurrency, rate, metrics.clone()).context("HTTP client")?;
    let requester = Requester {
        fetcher,
        tor: tor_control(&settings),
        metrics: metrics.clone(),
        policy: RequestPolicy { attempts: settings.max_attempts.max(1), retry_base: settings.retry_base },
        shutdown: shutdown.clone(),
    };
    let handler = Arc::new(CrawlHandler {
        pool: pool.clone(),
        keys: keys.clone(),
        crawler: Crawler::new(
            pool.clone(),
            keys.clone(),
            Robots::new(settings.http.robots),
            requester,
            settings.common.keep_for,
        ),
        max_deliveries: settings.worker.max_deliveries,
        metrics: metrics.clone(),
        shutdown: shutdown.clone(),
    });
    let ready = readiness(pool.clone(), settings.proxies());
    let addr = endpoints::serve(settings.worker.http_addr, Arc::new(registry), ready, shutdown.clone())
        .await
        .with_context(|| format!("cannot serve endpoints on {}", settings.worker.http_addr))?;
    let consumer_settings =
        settings.worker.consumer(keys.jobs(), CRAWLERS_GROUP, settings.jobs(), (1, std::time::Duration::ZERO));
    tracing::info!(
        consumer = %consumer_settings.consumer,
        slots = consumer_settings.slots,
        proxies = settings.proxies().len(),
        endpoints = %addr,
        redis = %redis,
        "crawler-worker started"
    );
    consumer::run(pool, consumer_settings, handler, metrics.worker.clone(), shutdown).await;
    tracing::info!("crawler-worker stopped");
    Ok(())
}

async fn check_environment(settings: &CrawlerSettings) -> anyhow::Result<()> {
    if settings.worker.environment != Environment::Production {
        if settings.proxies().is_empty() {
            tracing::warn!("no proxy: requests go out directly (development mode)");
        }
        return Ok(());
    }
    if settings.proxies().is_empty() {
        bail!(
            "production mode refuses to start without a proxy: set --proxy / EK_PROXY (e.g. socks5h://127.0.0.1:9050)"
        );
    }
    settings.worker.check_redis_credentials(&settings.common.redis.target()?)?;
    for proxy in settings.proxies() {
        proxy_check::check_socks5(&proxy).await.context("proxy check failed")?;
        tracing::info!(proxy = %common::secret::redact_url(&proxy), "proxy completed a SOCKS5 handshake");
    }
    Ok(())
}

fn tor_control(settings: &CrawlerSettings) -> Option<TorControl> {
    let addr = settings.tor_control.clone()?;
    let auth = match (&settings.tor_password, &settings.tor_cookie_file) {
        (Some(password), _) => TorAuth::Password(password.clone()),
        (None, Some(path)) => TorAuth::CookieFile(path.clone()),
        (None, None) => TorAuth::None,
    };
    Some(TorControl::new(addr, auth))
}

/// Ready when Redis answers and every proxy accepts connections.
fn readiness(pool: common::redis_pool::Pool, proxies: Vec<String>) -> ReadinessCheck {
    let redis = endpoints::redis_ready(pool);
    Arc::new(move || {
        let redis = redis.clone();
        let proxies = proxies.clone();
        Box::pin(async move {
            redis().await?;
            for proxy in &proxies {
                if !proxy_check::reachable(proxy).await {
                    let proxy = common::secret::redact_url(proxy);
                    return Err(NotReady::new(format!("proxy {proxy}"), "no connection to its port"));
                }
            }
            Ok(())
        })
    })
}
