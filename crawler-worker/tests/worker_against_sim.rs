//! The crawler worker end to end against danawa-sim and a real Redis: its results agree
//! with the sim's ground truth, and its slots bound what the site sees at once.

mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use common::messages::{CrawlResult, ItemOutcome};
use common::parts::{sort_order, Part};
use danawa_sim::{CatalogueParams, FaultConfig, Latency};
use harness::*;
use test_harness::RedisServer;
use tokio_util::sync::CancellationToken;

fn small_catalogue(categories: usize, products: usize) -> CatalogueParams {
    CatalogueParams { seed: 11, categories, products_per_category: products, max_variants: 3 }
}

fn truth(sim: &danawa_sim::SimHandle, config: &common::config::ScrapeConfig) -> BTreeMap<String, Part> {
    danawa_sim::ground_truth(&sim.state().catalogue, config).into_iter().map(|p| (p.pcode.clone(), p)).collect()
}

fn spawn_worker(
    settings: crawler_worker::settings::CrawlerSettings,
    stop: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let stop = stop.clone();
    tokio::spawn(async move { crawler_worker::run::run_crawler(settings, stop).await.expect("worker runs") })
}

/// What the list stage says about each pcode: (category, variants, isVariant, best sortOrder).
type ListView = BTreeMap<String, (String, Vec<String>, bool, i64)>;

fn list_view(results: &[CrawlResult]) -> ListView {
    let mut view = ListView::new();
    for result in results {
        let CrawlResult::List(list) = result else { continue };
        for product in &list.products {
            let variants: Vec<String> = product.variants.iter().map(|v| v.pcode.clone()).collect();
            for (i, variant) in product.variants.iter().enumerate() {
                let order = sort_order(product.page, product.position);
                let entry = view
                    .entry(variant.pcode.clone())
                    .or_insert_with(|| (list.job.category.clone(), variants.clone(), i > 0, order));
                entry.3 = entry.3.max(order);
            }
        }
    }
    view
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_results_agree_with_the_ground_truth() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let sim = start_sim(small_catalogue(2, 200), FaultConfig::default()).await;
    let config = config_for(&sim, 2);
    enqueue(&pool, list_jobs(&config)).await;
    let stop = CancellationToken::new();
    let worker = spawn_worker(settings(&redis, "w1", 3), &stop);
    let counters = wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    stop.cancel();
    worker.await.expect("worker stops");

    assert_eq!(counters.get("dead:list"), None, "no list job failed: {:?}", dead_letters(&pool).await);
    let results = results(&pool).await;
    let seen = list_view(&results);
    let expected: ListView = truth(&sim, &config)
        .into_values()
        .map(|p| (p.pcode, (p.category, p.variants, p.is_variant, p.sort_order)))
        .collect();
    assert_eq!(seen.len(), expected.len(), "same pcodes");
    for (pcode, want) in &expected {
        assert_eq!(seen.get(pcode), Some(want), "pcode {pcode}");
    }
    let pages: usize = results.iter().filter(|r| matches!(r, CrawlResult::List(_))).count();
    assert_eq!(i64::try_from(pages).ok(), counters.get("done:list").copied(), "one result per list page");
}

/// DANAWA.md "Newer evidence", attribute filters and the 2026 list form: what the site was sent.
/// Every attribute-filtered list request carries the category page's full `CATE|GROUP|ID|OR`
/// value (never the config's bare id, which the site answers with the unfiltered list), twice
/// as the site's script sends it, with `btnAllOptUse=true` and the 2026 fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_requests_carry_the_full_attribute_value_and_the_2026_form() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let sim = start_sim(small_catalogue(2, 100), FaultConfig::default()).await;
    let config = config_for(&sim, 2);
    enqueue(&pool, list_jobs(&config)).await;
    let stop = CancellationToken::new();
    let worker = spawn_worker(settings(&redis, "w1", 3), &stop);
    wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    stop.cancel();
    worker.await.expect("worker stops");
    let forms: Vec<Vec<(String, String)>> =
        sim.state().observer.log(0, 10_000).into_iter().filter_map(|entry| entry.form).collect();
    let field = |form: &[(String, String)], name: &str| -> Vec<String> {
        form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    };
    let mut filtered = 0;
    for form in &forms {
        for name in ["isAssemblyGalleryCategory", "bMakerDisplayYN", "sMallMinPriceDisplayYN", "coupangMemberSort"] {
            assert_eq!(field(form, name).len(), 1, "{name} in {form:?}");
        }
        let values = field(form, "searchAttributeValue[]");
        if values.is_empty() {
            continue;
        }
        filtered += 1;
        assert_eq!(field(form, "searchAttributeValueRep[]"), values);
        assert_eq!(field(form, "btnAllOptUse"), ["true"]);
        for value in values {
            let parts: Vec<&str> = value.split('|').collect();
            assert!(parts.len() == 4 && parts[3] == "OR", "a full checkbox value, not a bare id: {value}");
        }
    }
    assert!(filtered > 0, "motherboard's attribute filters were crawled: {} list requests", forms.len());
}

/// A config attribute the category page does not offer is a dead letter with a plain reason,
/// never an unfiltered crawl (DANAWA.md "Newer evidence", attribute filters).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attribute_the_page_does_not_offer_is_a_dead_letter_not_an_unfiltered_crawl() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let sim = start_sim(small_catalogue(2, 50), FaultConfig::default()).await;
    let mut config = config_for(&sim, 2);
    config.categories.truncate(2);
    config.categories.remove(0);
    config.categories[0].filters.truncate(1);
    config.categories[0].filters[0].value = "999999".into();
    enqueue(&pool, list_jobs(&config)).await;
    let stop = CancellationToken::new();
    let worker = spawn_worker(settings(&redis, "w1", 3), &stop);
    let counters = wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    stop.cancel();
    worker.await.expect("worker stops");
    assert_eq!(counters.get("dead:list"), Some(&1));
    assert_eq!(counters.get("done:list"), None, "nothing crawled unfiltered");
    let letters = dead_letters(&pool).await;
    assert_eq!(letters[0].last_error, "attribute 999999 is not offered on category 112751");
    let list_requests = sim.state().observer.stats().by_endpoint.get("list_ajax").copied().unwrap_or(0);
    assert_eq!(list_requests, 0, "no list request was sent");
}

/// DANAWA.md "Newer evidence", Next.js template (2026 throttling: a burst gets empty answers
/// and the previous page again for a while): every job still ends done with the truth, each
/// throttled request retried alone after a backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_burst_is_ridden_out_with_exact_results() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let throttle = danawa_sim::Throttle { burst: 5, window_ms: 500, penalty_ms: 300 };
    let sim =
        start_sim(small_catalogue(2, 60), FaultConfig { throttle: Some(throttle), ..FaultConfig::default() }).await;
    let config = config_for(&sim, 2);
    enqueue(&pool, list_jobs(&config)).await;
    let stop = CancellationToken::new();
    let worker = spawn_worker(settings(&redis, "w1", 3), &stop);
    let counters = wait_jobs_settled(&pool, Duration::from_secs(120)).await;
    stop.cancel();
    worker.await.expect("worker stops");
    let throttled = sim.state().observer.stats().by_fault.get("throttled").copied().unwrap_or(0);
    assert!(throttled > 0, "the sim throttled the crawler");
    assert_eq!(counters.get("dead:list"), None, "{:?}", dead_letters(&pool).await);
    let seen = list_view(&results(&pool).await);
    let expected: ListView = truth(&sim, &config)
        .into_values()
        .map(|p| (p.pcode, (p.category, p.variants, p.is_variant, p.sort_order)))
        .collect();
    assert_eq!(seen, expected, "{throttled} throttled answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_results_agree_with_the_ground_truth() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let sim = start_sim(small_catalogue(9, 20), FaultConfig::default()).await;
    let config = config_for(&sim, 9);
    let expected = truth(&sim, &config);
    let jobs = expected.values().map(|p| item_job(&config, &p.category, &p.pcode)).collect();
    enqueue(&pool, jobs).await;
    let stop = CancellationToken::new();
    let worker = spawn_worker(settings(&redis, "w1", 3), &stop);
    wait_jobs_settled(&pool, Duration::from_secs(120)).await;
    stop.cancel();
    worker.await.expect("worker stops");

    let mut checked = 0;
    for result in results(&pool).await {
        let CrawlResult::Item(item) = result else { continue };
        let want = &expected[&item.job.pcode];
        match item.outcome {
            ItemOutcome::Product(info) => {
                assert_eq!(info.name, want.name, "name of {}", want.pcode);
                assert_eq!(info.details, want.details, "details of {}", want.pcode);
                assert_eq!(info.vendors, want.vendors, "vendors of {}", want.pcode);
                assert_eq!(info.stock, want.stock, "stock of {}", want.pcode);
                let price = want.prices.first().map(|p| p.price);
                if info.stock {
                    assert_eq!(info.lowest_price, price, "lowest price of {}", want.pcode);
                }
            }
            ItemOutcome::Discontinued => assert!(!want.stock && want.prices.is_empty(), "{} discontinued", want.pcode),
            ItemOutcome::Failed { reason } => panic!("{} failed: {reason}", want.pcode),
        }
        checked += 1;
    }
    assert_eq!(checked, expected.len(), "one item result per pcode");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_keeps_three_requests_in_flight_and_two_keep_six() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let latency = FaultConfig { latency: Latency::Fixed { ms: 300 }, ..FaultConfig::default() };
    let sim = start_sim(small_catalogue(1, 60), latency).await;
    let config = config_for(&sim, 1);
    let pcodes: Vec<String> = truth(&sim, &config).into_keys().collect();
    assert!(pcodes.len() >= 24, "enough work for every slot");

    // One worker alone: never more than its three slots.
    enqueue(&pool, pcodes[..12].iter().map(|p| item_job(&config, "cpu", p)).collect()).await;
    let stop = CancellationToken::new();
    let one = spawn_worker(settings(&redis, "w1", 3), &stop);
    wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    let alone = sim.state().observer.stats().peak_concurrency;
    assert_eq!(alone, 3, "one worker: exactly its 3 slots in use at the peak");

    // A second worker joins: together they keep six in flight, never more.
    sim.state().observer.reset();
    let two = spawn_worker(settings(&redis, "w2", 3), &stop);
    enqueue(&pool, pcodes[12..].iter().map(|p| item_job(&config, "cpu", p)).collect()).await;
    wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    let together = sim.state().observer.stats().peak_concurrency;
    stop.cancel();
    one.await.expect("stops");
    two.await.expect("stops");
    assert_eq!(together, 6, "two workers: 6 in flight at the peak");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_slot_is_busy_holds_one_waiting_job_and_leaves_the_rest_queued() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let latency = FaultConfig { latency: Latency::Fixed { ms: 100 }, ..FaultConfig::default() };
    let sim = start_sim(small_catalogue(1, 12), latency).await;
    let config = config_for(&sim, 1);
    let pcodes: Vec<String> = truth(&sim, &config).into_keys().collect();
    enqueue(&pool, pcodes.iter().map(|p| item_job(&config, "cpu", p)).collect()).await;
    // One request slot but room for every job: only the demand on the slot keeps the worker
    // from taking them all (it used to take all 12 at once and leave none for other replicas).
    let mut one_slot = settings(&redis, "w1", 1);
    one_slot.jobs_in_flight = Some(pcodes.len());
    let stop = CancellationToken::new();
    let worker = spawn_worker(one_slot, &stop);
    let keys = common::keys::Keys::new("ek");
    let mut conn = pool.get().await.expect("conn");
    let mut most_held = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let pending: redis::streams::StreamPendingReply = redis::cmd("XPENDING")
            .arg(keys.jobs())
            .arg(common::keys::CRAWLERS_GROUP)
            .query_async(&mut conn)
            .await
            .expect("xpending");
        let pending = pending.count();
        most_held = most_held.max(pending);
        if pending == 0 && results(&pool).await.len() == pcodes.len() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the worker did not finish its jobs");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    worker.await.expect("stops");
    // One job in its request, one waiting for the slot, and at most a couple between two
    // requests (parsing, or acking the last one).
    assert!(most_held <= 4, "the worker held {most_held} jobs with one request slot");
    assert!(most_held >= 2, "one job waited for the slot while another held it: {most_held}");
}

/// Every listing's first page needs its category page at once when a run starts: one crawler
/// reads each page while the others wait for its values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawlers_starting_together_read_each_category_page_once() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    // Latency keeps the first read in flight while every other first page asks.
    let slow = FaultConfig { latency: Latency::Fixed { ms: 300 }, ..FaultConfig::default() };
    let sim = start_sim(small_catalogue(2, 100), slow).await;
    let config = config_for(&sim, 2);
    let jobs = list_jobs(&config);
    assert!(jobs.len() > 2, "more listings than categories, or the test shows nothing: {}", jobs.len());
    let stop = CancellationToken::new();
    let workers: Vec<_> =
        ["w1", "w2", "w3"].iter().map(|name| spawn_worker(settings(&redis, name, 3), &stop)).collect();
    tokio::time::sleep(Duration::from_millis(300)).await; // all three reading the queue
    enqueue(&pool, jobs).await;
    let counters = wait_jobs_settled(&pool, Duration::from_secs(90)).await;
    stop.cancel();
    for worker in workers {
        worker.await.expect("worker stops");
    }
    assert_eq!(counters.get("dead:list"), None, "{:?}", dead_letters(&pool).await);
    let stats = sim.state().observer.stats();
    assert_eq!(stats.by_endpoint.get("list_page").copied(), Some(2), "one read per category: {:?}", stats.by_endpoint);
    let listings = u64::try_from(list_jobs(&config).len()).expect("count");
    assert!(stats.by_endpoint.get("list_ajax").copied().unwrap_or(0) >= listings, "{:?}", stats.by_endpoint);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_reads_a_category_page_once_and_shares_its_values() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let sim = start_sim(small_catalogue(1, 200), FaultConfig::default()).await;
    let config = config_for(&sim, 1);
    enqueue(&pool, list_jobs(&config)).await;
    let first_stop = CancellationToken::new();
    let first = spawn_worker(settings(&redis, "w1", 3), &first_stop);
    wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    first_stop.cancel();
    first.await.expect("w1 stops");
    let category_pages = sim.state().observer.stats().by_endpoint.get("list_page").copied();
    assert_eq!(category_pages, Some(1), "w1 read the category page once, not once per slot");

    // Another process, with nothing cached of its own, lists the same category in a new run.
    sim.state().observer.reset();
    let now = chrono::Utc::now();
    let again = common::plan::next_jobs(common::plan::Event::RunStarted {
        config: &config,
        run_id: "run-2",
        started_at: now,
        stale_before: now,
    });
    let stop = CancellationToken::new();
    let second = spawn_worker(settings(&redis, "w2", 3), &stop);
    enqueue(&pool, again).await;
    let counters = wait_run_settled(&pool, "run-2", Duration::from_secs(60)).await;
    stop.cancel();
    second.await.expect("w2 stops");
    assert_eq!(counters.get("dead:list"), None);
    let stats = sim.state().observer.stats();
    assert_eq!(stats.by_endpoint.get("list_page"), None, "values came from the fleet's cache: {:?}", stats.by_endpoint);
    assert!(stats.by_endpoint.get("list_ajax").copied().unwrap_or(0) >= 2, "{:?}", stats.by_endpoint);
}
