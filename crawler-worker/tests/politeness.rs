//! Politeness: the shared request budget holds across replicas, `Retry-After` is respected,
//! and `--robots obey` rejects what robots.txt disallows.

mod harness;

use std::time::Duration;

use common::messages::DeadReason;
use crawler_worker::settings::RobotsPolicy;
use danawa_sim::{CatalogueParams, FaultConfig};
use harness::*;
use test_harness::RedisServer;
use tokio_util::sync::CancellationToken;

fn catalogue() -> CatalogueParams {
    CatalogueParams { seed: 4, categories: 1, products_per_category: 40, max_variants: 1 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_requests_per_second_budget() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let sim = start_sim(catalogue(), FaultConfig::default()).await;
    let config = config_for(&sim, 1);
    enqueue(&pool, sim.state().catalogue.pcodes().take(14).map(|p| item_job(&config, "cpu", &p.to_string())).collect())
        .await;
    let stop = CancellationToken::new();
    let started = tokio::time::Instant::now();
    let workers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let mut s = settings(&redis, name, 3);
            s.global_rps = Some(10.0);
            let stop = stop.clone();
            tokio::spawn(async move { crawler_worker::run::run_crawler(s, stop).await.expect("runs") })
        })
        .collect();
    wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    let elapsed = started.elapsed();
    stop.cancel();
    for w in workers {
        w.await.expect("stops");
    }
    let stats = sim.state().observer.stats();
    // 10 requests per second for both together: N requests take at least (N - 1) / 10 s.
    let floor = Duration::from_secs_f64((stats.requests as f64 - 1.0) / 10.0);
    assert!(stats.requests >= 30, "{stats:?}");
    assert!(elapsed >= floor, "{} requests in {elapsed:?}, faster than the budget allows", stats.requests);
    assert!(stats.peak_requests_per_second <= 11, "peak {} requests in one second", stats.peak_requests_per_second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_respected() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let faults = FaultConfig { status_429: 1.0, retry_after_secs: Some(1), ..FaultConfig::default() };
    let sim = start_sim(catalogue(), faults).await;
    let config = config_for(&sim, 1);
    let pcode = sim.state().catalogue.pcodes().next().expect("a pcode").to_string();
    enqueue(&pool, vec![item_job(&config, "cpu", &pcode)]).await;
    let stop = CancellationToken::new();
    let mut s = settings(&redis, "w", 1);
    s.max_attempts = 3;
    let worker = tokio::spawn({
        let stop = stop.clone();
        async move { crawler_worker::run::run_crawler(s, stop).await.expect("runs") }
    });
    let counters = wait_jobs_settled(&pool, Duration::from_secs(30)).await;
    stop.cancel();
    worker.await.expect("stops");
    assert_eq!(counters.get("dead:item"), Some(&1), "every answer was 429");
    let log = sim.state().observer.log(0, 1000);
    let product_requests: Vec<u64> = log.iter().filter(|e| e.endpoint == "product_page").map(|e| e.at_ms).collect();
    assert_eq!(product_requests.len(), 3, "three attempts: {product_requests:?}");
    for pair in product_requests.windows(2) {
        assert!(pair[1] - pair[0] >= 1000, "Retry-After: 1 respected between attempts: {product_requests:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_obey_rejects_the_disallowed_ajax_endpoints() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let sim = start_sim(catalogue(), FaultConfig::default()).await;
    let config = config_for(&sim, 1);
    enqueue(&pool, list_jobs(&config)).await;
    let stop = CancellationToken::new();
    let mut s = settings(&redis, "w", 1);
    s.http.robots = RobotsPolicy::Obey;
    let worker = tokio::spawn({
        let stop = stop.clone();
        async move { crawler_worker::run::run_crawler(s, stop).await.expect("runs") }
    });
    wait_jobs_settled(&pool, Duration::from_secs(30)).await;
    stop.cancel();
    worker.await.expect("stops");
    let dead = dead_letters(&pool).await;
    assert!(!dead.is_empty());
    for letter in dead {
        assert_eq!(letter.reason, DeadReason::Rejected);
        assert!(letter.last_error.contains("robots.txt"), "{}", letter.last_error);
    }
    let stats = sim.state().observer.stats();
    assert_eq!(
        stats.by_endpoint.get("list_ajax").copied().unwrap_or(0),
        0,
        "nothing disallowed was requested: {:?}",
        stats.by_endpoint
    );
}
