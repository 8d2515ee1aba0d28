//! The crawler as operators run it, under trouble: a worker killed with SIGKILL, one
//! restarted under its name, Redis restarted mid-run, and a site that fails and blocks.

mod harness;

use std::process::Command;
use std::time::Duration;

use common::messages::{DeadReason, ItemOutcome};
use danawa_sim::{CatalogueParams, FaultConfig, Latency};
use harness::*;
use test_harness::{Child, RedisServer, TempDir};
use tokio_util::sync::CancellationToken;

fn worker_process(redis: &RedisServer, name: &str, claim_idle: &str, logs: &TempDir) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crawler-worker"));
    cmd.arg("run")
        .env("REDIS_URL", redis.url())
        .env("EK_CONSUMER_NAME", name)
        .env("EK_CONCURRENCY", "3")
        .env("EK_CLAIM_IDLE", claim_idle)
        .env("EK_CLAIM_INTERVAL", "200ms")
        .env("EK_HTTP_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info");
    Child::spawn(cmd, &logs.path().join(format!("{name}-{}.log", rand_suffix()))).expect("worker starts")
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

async fn wait_in_flight(sim: &danawa_sim::SimHandle, at_least: u64) {
    for _ in 0..400 {
        if sim.state().observer.stats().in_flight >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the sim never saw {at_least} requests in flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_jobs_are_reclaimed_and_a_restarted_one_resumes_its_own() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let logs = TempDir::new("crawler-logs");
    let slow = FaultConfig { latency: Latency::Fixed { ms: 1000 }, ..FaultConfig::default() };
    let sim =
        start_sim(CatalogueParams { seed: 3, categories: 1, products_per_category: 20, max_variants: 1 }, slow).await;
    let config = config_for(&sim, 1);
    let pcodes: Vec<String> = sim.state().catalogue.pcodes().take(6).map(|p| p.to_string()).collect();

    // A takes three jobs and dies mid-request; B reclaims them once they are idle for 2 s.
    enqueue(&pool, pcodes[..3].iter().map(|p| item_job(&config, "cpu", p)).collect()).await;
    let victim = worker_process(&redis, "a", "2s", &logs);
    wait_in_flight(&sim, 3).await;
    victim.kill_and_wait();
    let rescuer = worker_process(&redis, "b", "2s", &logs);
    let counters = wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    assert_eq!(counters.get("done:item"), Some(&3), "{counters:?}");
    rescuer.kill_and_wait();

    // A again, killed mid-job, then restarted under the same name with reclaiming off:
    // it finishes its own pending entries first.
    enqueue(&pool, pcodes[3..].iter().map(|p| item_job(&config, "cpu", p)).collect()).await;
    let first_life = worker_process(&redis, "a", "1h", &logs);
    wait_in_flight(&sim, 3).await;
    first_life.kill_and_wait();
    let second_life = worker_process(&redis, "a", "1h", &logs);
    let counters = wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    second_life.kill_and_wait();
    assert_eq!(counters.get("done:item"), Some(&6), "{counters:?}");
    assert_eq!(counters.get("dead:item"), None);
    let items = results(&pool).await;
    assert_eq!(items.len(), 6, "exactly one result per job, none twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_run_is_ridden_out() {
    let mut redis = RedisServer::start();
    let pool = pool(&redis);
    let latency = FaultConfig { latency: Latency::Fixed { ms: 100 }, ..FaultConfig::default() };
    let sim =
        start_sim(CatalogueParams { seed: 5, categories: 1, products_per_category: 40, max_variants: 1 }, latency)
            .await;
    let config = config_for(&sim, 1);
    let pcodes: Vec<String> = sim.state().catalogue.pcodes().take(30).map(|p| p.to_string()).collect();
    enqueue(&pool, pcodes.iter().map(|p| item_job(&config, "cpu", p)).collect()).await;
    let stop = CancellationToken::new();
    let run_settings = settings(&redis, "w", 3);
    let worker = tokio::spawn({
        let stop = stop.clone();
        async move { crawler_worker::run::run_crawler(run_settings, stop).await.expect("runs") }
    });
    // Redis goes away mid-run: some jobs done (their acks went through), others in flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while counters(&pool).await.get("done:item").copied().unwrap_or(0) < 3 {
        assert!(tokio::time::Instant::now() < deadline, "no job finished");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    redis.stop();
    // The outage itself: long enough for several failed reads and acks to back off.
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.restart();
    let counters = wait_jobs_settled(&pool, Duration::from_secs(90)).await;
    stop.cancel();
    worker.await.expect("worker stops cleanly");
    assert_eq!(counters.get("done:item"), Some(&30), "{counters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_every_job_ends_done_or_dead_and_the_counts_balance() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let faults = FaultConfig {
        error_5xx: 0.10,
        status_403: 0.025,
        status_429: 0.025,
        empty_200: 0.015,
        repeat_page: 0.015,
        truncate: 0.02,
        ..FaultConfig::default()
    };
    let sim =
        start_sim(CatalogueParams { seed: 9, categories: 2, products_per_category: 200, max_variants: 2 }, faults)
            .await;
    let config = config_for(&sim, 2);
    let mut jobs = list_jobs(&config);
    let pcodes: Vec<u32> = sim.state().catalogue.pcodes().take(60).collect();
    jobs.extend(pcodes.iter().map(|p| {
        let category = sim.state().catalogue.find(*p).map(|v| v.category.def.name.to_owned()).expect("pcode");
        item_job(&config, &category, &p.to_string())
    }));
    enqueue(&pool, jobs).await;
    let stop = CancellationToken::new();
    let mut run_settings = settings(&redis, "w", 3);
    run_settings.retry_base = Duration::from_millis(5);
    let worker = tokio::spawn({
        let stop = stop.clone();
        async move { crawler_worker::run::run_crawler(run_settings, stop).await.expect("runs") }
    });
    let counters = wait_jobs_settled(&pool, Duration::from_secs(120)).await;
    stop.cancel();
    worker.await.expect("stops");

    let stats = sim.state().observer.stats();
    assert!(stats.by_fault.values().sum::<u64>() > 20, "faults were injected: {:?}", stats.by_fault);
    let get = |k: &str| counters.get(k).copied().unwrap_or(0);
    for kind in ["list", "item"] {
        assert_eq!(get(&format!("enqueued:{kind}")), get(&format!("done:{kind}")) + get(&format!("dead:{kind}")));
    }
    let dead = dead_letters(&pool).await;
    assert_eq!(i64::try_from(dead.len()).ok(), Some(get("dead:list") + get("dead:item")));
    for letter in &dead {
        assert!(!letter.last_error.is_empty(), "a reason: {letter:?}");
        assert!(matches!(letter.reason, DeadReason::MaxAttempts | DeadReason::Parse), "{letter:?}");
    }
    let results = results(&pool).await;
    let failed_items = results
        .iter()
        .filter(
            |r| matches!(r, common::messages::CrawlResult::Item(i) if matches!(i.outcome, ItemOutcome::Failed { .. })),
        )
        .count();
    assert_eq!(i64::try_from(failed_items).ok(), Some(get("dead:item")), "each dead item job still clears isUpdating");
    assert_eq!(i64::try_from(results.len()).ok(), Some(get("done:list") + get("done:item") + get("dead:item")));
}

#[test]
fn production_mode_refuses_to_start_without_a_proxy() {
    let out = Command::new(env!("CARGO_BIN_EXE_crawler-worker"))
        .args(["run", "--env", "production"])
        .env("REDIS_URL", "redis://:pw@127.0.0.1:1/0")
        .env_remove("EK_PROXY")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("production mode refuses to start without a proxy"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_jobs_and_exits_zero() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let logs = TempDir::new("crawler-logs");
    let slow = FaultConfig { latency: Latency::Fixed { ms: 700 }, ..FaultConfig::default() };
    let sim =
        start_sim(CatalogueParams { seed: 3, categories: 1, products_per_category: 20, max_variants: 1 }, slow).await;
    let config = config_for(&sim, 1);
    let pcodes: Vec<String> = sim.state().catalogue.pcodes().take(12).map(|p| p.to_string()).collect();
    enqueue(&pool, pcodes.iter().map(|p| item_job(&config, "cpu", p)).collect()).await;

    // 3 request slots, so 9 jobs held (JOBS_PER_SLOT): those finish, the other 3 stay unread.
    let worker = worker_process(&redis, "w", "1h", &logs);
    wait_in_flight(&sim, 3).await;
    let status = worker.terminate_and_wait(Duration::from_secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "exit 0 after the drain");
    let c = counters(&pool).await;
    let done = c.get("done:item").copied().unwrap_or(0);
    let held = 3 * crawler_worker::settings::JOBS_PER_SLOT as i64;
    assert!((3..=held).contains(&done), "the jobs it held (3 to {held}) finished: {c:?}");
    let mut conn = pool.get().await.expect("conn");
    // Acked entries are deleted: what is left is what it never read.
    let left: i64 = redis::AsyncCommands::xlen(&mut conn, "{ek}:jobs").await.expect("xlen");
    assert_eq!(left, 12 - done, "no job was read after SIGTERM without being finished");
    let pending: redis::streams::StreamPendingReply =
        redis::AsyncCommands::xpending(&mut conn, "{ek}:jobs", "crawlers").await.expect("xpending");
    assert_eq!(pending.count(), 0, "nothing left pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_and_overdelivered_entries_go_to_the_dead_letters() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let sim = start_sim(
        CatalogueParams { seed: 3, categories: 1, products_per_category: 20, max_variants: 1 },
        FaultConfig::default(),
    )
    .await;
    let config = config_for(&sim, 1);
    let pcode = sim.state().catalogue.pcodes().next().expect("pcode").to_string();
    enqueue(&pool, vec![item_job(&config, "cpu", &pcode)]).await;
    let mut conn = pool.get().await.expect("conn");
    let _: String =
        redis::AsyncCommands::xadd(&mut conn, "{ek}:jobs", "*", &[("v", "1"), ("kind", "item"), ("body", "{not json")])
            .await
            .expect("xadd");
    // The good job was delivered six times to consumers that died.
    let opts = redis::streams::StreamReadOptions::default().group("crawlers", "ghost").count(1);
    let _: redis::streams::StreamReadReply =
        redis::AsyncCommands::xread_options(&mut conn, &["{ek}:jobs"], &[">"], &opts).await.expect("read");
    let first: redis::streams::StreamRangeReply =
        redis::AsyncCommands::xrange_count(&mut conn, "{ek}:jobs", "-", "+", 1).await.expect("range");
    let id = first.ids[0].id.clone();
    for _ in 0..5 {
        let _: redis::Value = redis::cmd("XCLAIM")
            .arg("{ek}:jobs")
            .arg("crawlers")
            .arg("ghost")
            .arg(0)
            .arg(&id)
            .query_async(&mut conn)
            .await
            .expect("xclaim");
    }
    let stop = CancellationToken::new();
    let mut s = settings(&redis, "w", 1);
    s.worker.claim_idle = Duration::from_millis(1);
    let worker = tokio::spawn({
        let stop = stop.clone();
        async move { crawler_worker::run::run_crawler(s, stop).await.expect("runs") }
    });
    let mut dead = Vec::new();
    for _ in 0..200 {
        dead = dead_letters(&pool).await;
        if dead.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.cancel();
    worker.await.expect("stops");
    let mut reasons: Vec<DeadReason> = dead.iter().map(|d| d.reason).collect();
    reasons.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(reasons, [DeadReason::MaxDeliveries, DeadReason::Undecodable], "{dead:?}");
    let undecodable = dead.iter().find(|d| d.reason == DeadReason::Undecodable).expect("one");
    assert_eq!(undecodable.fields.get("body").map(String::as_str), Some("{not json"), "kept verbatim");
    assert_eq!(sim.state().observer.stats().by_endpoint.get("product_page"), None, "neither was fetched");
}

/// A failed request is retried alone: with every AJAX answer of the site failing now and then,
/// each product page is still fetched exactly once per item job (before issue 12, a failure of
/// an item's spec table or shop list started all three requests again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_request_is_retried_alone_not_its_whole_job() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let faults =
        FaultConfig { error_5xx: 0.3, empty_200: 0.1, scope: danawa_sim::Scope::Ajax, ..FaultConfig::default() };
    let sim =
        start_sim(CatalogueParams { seed: 8, categories: 2, products_per_category: 20, max_variants: 1 }, faults).await;
    let config = config_for(&sim, 2);
    let truth = danawa_sim::ground_truth(&sim.state().catalogue, &config);
    let items: Vec<_> = truth.iter().filter(|p| p.stock).take(20).collect();
    enqueue(&pool, items.iter().map(|p| item_job(&config, &p.category, &p.pcode)).collect()).await;
    let stop = CancellationToken::new();
    let crawler = tokio::spawn({
        let settings = settings(&redis, "w1", 3);
        let stop = stop.clone();
        async move { crawler_worker::run::run_crawler(settings, stop).await.expect("worker runs") }
    });
    let counters = wait_jobs_settled(&pool, Duration::from_secs(120)).await;
    stop.cancel();
    crawler.await.expect("worker stops");
    assert_eq!(counters.get("done:item"), Some(&(items.len() as i64)), "{counters:?}");
    let stats = sim.state().observer.stats();
    let count = |endpoint: &str| stats.by_endpoint.get(endpoint).copied().unwrap_or(0);
    assert_eq!(count("product_page"), items.len() as u64, "one product page per job: {:?}", stats.by_endpoint);
    assert!(
        count("spec_ajax") > items.len() as u64 && count("mall_ajax") > items.len() as u64,
        "{:?}",
        stats.by_endpoint
    );
    assert_eq!(counters.get("requests").copied(), Some(stats.requests as i64), "every request counted, retries too");
}

/// When one request uses up its attempts, the dead letter names it: the endpoint, the pcode,
/// its attempts and its last error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_names_the_request_that_used_up_its_attempts() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let faults = FaultConfig { error_5xx: 1.0, scope: danawa_sim::Scope::Ajax, ..FaultConfig::default() };
    let sim =
        start_sim(CatalogueParams { seed: 8, categories: 1, products_per_category: 10, max_variants: 1 }, faults).await;
    let config = config_for(&sim, 1);
    let truth = danawa_sim::ground_truth(&sim.state().catalogue, &config);
    let part = truth.iter().find(|p| p.stock).expect("an in-stock part");
    enqueue(&pool, vec![item_job(&config, &part.category, &part.pcode)]).await;
    let stop = CancellationToken::new();
    let mut settings = settings(&redis, "w1", 3);
    settings.max_attempts = 4;
    let crawler = tokio::spawn({
        let stop = stop.clone();
        async move { crawler_worker::run::run_crawler(settings, stop).await.expect("worker runs") }
    });
    let counters = wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    stop.cancel();
    crawler.await.expect("worker stops");
    assert_eq!(counters.get("dead:item"), Some(&1), "{counters:?}");
    let letter = dead_letters(&pool).await.remove(0);
    assert_eq!(letter.reason, DeadReason::MaxAttempts);
    assert_eq!(letter.attempts, 4);
    let request = letter.request.expect("the dead letter names the request");
    // The spec table and the shop list go out side by side; the first to use up its attempts
    // is named, and the other is given up with it.
    let (sim_endpoint, path) = match request.endpoint.as_str() {
        "spec" => ("spec_ajax", "/info/ajax/getProductDescription.ajax.php"),
        "shops" => ("mall_ajax", "/info/ajax/getAllPriceCompareMallList.ajax.php"),
        other => panic!("unexpected endpoint {other}"),
    };
    assert_eq!(request.target, format!("pcode {}", part.pcode));
    assert!(request.url.ends_with(path), "{}", request.url);
    assert!(letter.last_error.starts_with("HTTP 5"), "{}", letter.last_error);
    let stats = sim.state().observer.stats();
    assert_eq!(stats.by_endpoint.get("product_page"), Some(&1), "the product page was not fetched again");
    assert_eq!(stats.by_endpoint.get(sim_endpoint), Some(&4));
    let ajax = stats.by_endpoint.get("spec_ajax").unwrap_or(&0) + stats.by_endpoint.get("mall_ajax").unwrap_or(&0);
    assert!(ajax <= 8, "neither request went past its attempts: {ajax}");
}
