//! Shared set-up of the crawler's integration tests: a real Redis, an in-process danawa-sim,
//! a config pointing at it, jobs enqueued as the producer does, and crawler settings.
#![allow(dead_code)] // each test binary uses its own part of it

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::config::ScrapeConfig;
use common::keys::{Keys, CRAWLERS_GROUP};
use common::messages::{CrawlResult, ItemJob, Job, ListPageJob};
use common::queue::{self, counter, Add, Step};
use common::secret::SecretUrl;
use common::settings::{CommonSettings, LogFormat, WorkerSettings};
use crawler_worker::settings::{CrawlerSettings, Environment, HttpArgs, RobotsPolicy};
use danawa_sim::{CatalogueParams, FaultConfig, SimConfig, SimHandle};
use redis::AsyncCommands;
use test_harness::RedisServer;

pub(crate) const RUN: &str = "test-run";

pub(crate) async fn start_sim(catalogue: CatalogueParams, faults: FaultConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sim");
    let config = SimConfig { catalogue, faults, ..SimConfig::default() };
    danawa_sim::serve(config, listener).await.expect("sim starts")
}

/// The original config with its base URLs pointing at the sim, limited to the first
/// `categories` categories (the ones the sim's catalogue serves).
pub(crate) fn config_for(sim: &SimHandle, categories: usize) -> ScrapeConfig {
    let mut config = danawa_sim::default_config().expect("embedded config");
    config.page_base_url = format!("{}/list/?cate=", sim.origin());
    config.item_base_url = format!("{}/info/?pcode=", sim.origin());
    config.categories.truncate(categories);
    config
}

pub(crate) fn pool(redis: &RedisServer) -> common::redis_pool::Pool {
    let url: SecretUrl = redis.url().parse().expect("url");
    common::redis_pool::pool(&common::redis_pool::Target::Single(url), 16).expect("pool")
}

pub(crate) fn settings(redis: &RedisServer, consumer: &str, concurrency: usize) -> CrawlerSettings {
    CrawlerSettings {
        common: CommonSettings {
            redis: common::settings::RedisSettings::single(redis.url().parse().expect("url")),
            mongodb_uri: None,
            mongodb_db: "electrokerot".into(),
            stream_prefix: "ek".into(),
            log_format: LogFormat::Text,
            keep_for: Duration::from_secs(3600),
        },
        worker: WorkerSettings {
            environment: Environment::Development,
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            consumer_name: Some(consumer.into()),
            max_deliveries: 5,
            claim_interval: Duration::from_millis(500),
            claim_idle: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        },
        concurrency,
        jobs_in_flight: None,
        http: HttpArgs {
            proxy: Vec::new(),
            robots: RobotsPolicy::Warn,
            request_delay: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        },
        tor_control: None,
        tor_password: None,
        tor_cookie_file: None,
        global_rps: None,
        max_attempts: 8,
        retry_base: Duration::from_millis(20),
    }
}

/// Adds jobs as the producer (list) or the updater (item) would, counting them in their runs.
pub(crate) async fn enqueue(pool: &common::redis_pool::Pool, jobs: Vec<Job>) {
    let keys = Keys::new("ek");
    let mut conn = pool.get().await.expect("conn");
    common::consumer::ensure_group(&mut conn, &keys.jobs(), CRAWLERS_GROUP).await.expect("group");
    let mut by_run: std::collections::BTreeMap<String, Vec<Add>> = std::collections::BTreeMap::new();
    for job in jobs {
        let run = job.run_id().to_owned();
        by_run.entry(run.clone()).or_default().push(Add {
            stream: keys.jobs(),
            dedupe: match &job {
                Job::List(list) => Some((keys.run_pages_seen(&run), list.page_member())),
                Job::Item(_) => None,
            },
            counter: Some(counter::enqueued(job.kind().as_str())),
            fields: job.to_fields(),
            ..Add::default()
        });
    }
    let steps: Vec<Step> = by_run
        .into_iter()
        .map(|(run, adds)| Step { counters: Some(keys.run_counters(&run)), adds, ..Step::default() })
        .collect();
    queue::apply(&mut conn, CRAWLERS_GROUP, &steps).await.expect("enqueue");
}

pub(crate) fn list_jobs(config: &ScrapeConfig) -> Vec<Job> {
    let now = chrono::Utc::now();
    common::plan::next_jobs(common::plan::Event::RunStarted { config, run_id: RUN, started_at: now, stale_before: now })
}

pub(crate) fn item_job(config: &ScrapeConfig, category: &str, pcode: &str) -> Job {
    let number = config.category(category).map(|c| c.number.clone()).expect("category in config");
    Job::Item(ItemJob {
        run_id: RUN.into(),
        pcode: pcode.into(),
        category: category.into(),
        category_number: number,
        item_base_url: config.item_base_url.clone(),
    })
}

pub(crate) async fn counters(pool: &common::redis_pool::Pool) -> HashMap<String, i64> {
    counters_of(pool, RUN).await
}

pub(crate) async fn counters_of(pool: &common::redis_pool::Pool, run: &str) -> HashMap<String, i64> {
    let mut conn = pool.get().await.expect("conn");
    conn.hgetall(Keys::new("ek").run_counters(run)).await.expect("counters")
}

/// Waits until every job enqueued so far is done or dead.
pub(crate) async fn wait_jobs_settled(pool: &common::redis_pool::Pool, limit: Duration) -> HashMap<String, i64> {
    wait_run_settled(pool, RUN, limit).await
}

/// Waits until every job of `run` enqueued so far is done or dead.
pub(crate) async fn wait_run_settled(
    pool: &common::redis_pool::Pool,
    run: &str,
    limit: Duration,
) -> HashMap<String, i64> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let c = counters_of(pool, run).await;
        let get = |k: &str| c.get(k).copied().unwrap_or(0);
        let settled = ["list", "item"]
            .iter()
            .all(|kind| get(&counter::enqueued(kind)) == get(&counter::done(kind)) + get(&counter::dead(kind)));
        if settled && get("enqueued:list") + get("enqueued:item") > 0 {
            return c;
        }
        assert!(tokio::time::Instant::now() < deadline, "jobs did not settle in {limit:?}: {c:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every result in the results stream, decoded.
pub(crate) async fn results(pool: &common::redis_pool::Pool) -> Vec<CrawlResult> {
    let mut conn = pool.get().await.expect("conn");
    let reply: redis::streams::StreamRangeReply = conn.xrange_all(Keys::new("ek").results()).await.expect("xrange");
    reply.ids.iter().map(|entry| CrawlResult::from_fields(&entry.map).expect("result decodes")).collect()
}

/// Every dead letter, decoded.
pub(crate) async fn dead_letters(pool: &common::redis_pool::Pool) -> Vec<common::messages::DeadLetter> {
    let mut conn = pool.get().await.expect("conn");
    let reply: redis::streams::StreamRangeReply = conn.xrange_all(Keys::new("ek").dead()).await.expect("xrange");
    reply.ids.iter().map(|entry| common::messages::DeadLetter::from_fields(&entry.map).expect("decodes")).collect()
}

pub(crate) fn first_list_job(config: &ScrapeConfig) -> ListPageJob {
    match list_jobs(config).remove(0) {
        Job::List(job) => job,
        Job::Item(_) => unreachable!("a run starts with list jobs"),
    }
}
