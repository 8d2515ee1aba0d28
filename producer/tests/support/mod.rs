//! Shared by the producer's integration tests: a real Redis, a small scrape config, and
//! simulated crawler and updater workers that move entries with the same atomic steps
//! (`common::queue::apply`) and counting rules as the real ones.
#![allow(dead_code)] // each test binary uses a different part

use std::path::PathBuf;
use std::time::Duration;

use common::keys::{Keys, CRAWLERS_GROUP, UPDATERS_GROUP};
use common::messages::{
    CrawlResult, ItemJob, ItemOutcome, ItemResult, Job, ListPageResult, ListedProduct, ListedVariant,
};
use common::queue::{self, counter, Add, Step};
use common::redis_pool::Pool;
use producer::progress::{Display, WatchSettings};
use producer::run::RunOptions;
use redis::streams::StreamReadReply;
use test_harness::{RedisServer, TempDir};
use tokio_util::sync::CancellationToken;

/// Pages a fanned-out listing has in the simulated catalogue.
pub(crate) const LAST_PAGE: u32 = 3;
/// Products on every simulated list page.
pub(crate) const PRODUCTS_PER_PAGE: u32 = 2;

/// cpu: two filters, `end: *` (fan-out to pages 2..3), items crawled;
/// case: pages 1..3 named in the config, no items.
pub(crate) const CONFIG: &str = r#"{
  "pageBaseUrl": "http://127.0.0.1:9/list/?cate=",
  "itemBaseUrl": "http://127.0.0.1:9/info/?pcode=",
  "minimumDate": "2018",
  "itemsCategories": ["cpu"],
  "categories": [
    {"category": "cpu", "categoryNumber": "112747", "start": "1", "end": "*",
     "filters": [{"name": "intel", "type": "maker", "value": "3156"},
                 {"name": "amd", "type": "maker", "value": "3132"}]},
    {"category": "case", "categoryNumber": "112775", "start": "1", "end": "3"}
  ]
}"#;

pub(crate) struct Env {
    pub redis: RedisServer,
    pub pool: Pool,
    pub keys: Keys,
    pub dir: TempDir,
}

impl Env {
    pub(crate) fn start() -> Self {
        let redis = RedisServer::start();
        let url: common::secret::SecretUrl = redis.url().parse().expect("url");
        let pool = common::redis_pool::pool(&common::redis_pool::Target::Single(url), 8).expect("pool");
        Self { redis, pool, keys: Keys::new("ek"), dir: TempDir::new("producer") }
    }

    pub(crate) fn write_config(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write config");
        path
    }

    pub(crate) async fn conn(&self) -> common::redis_pool::Connection {
        self.pool.get().await.expect("redis connection")
    }
}

pub(crate) fn options(config: PathBuf) -> RunOptions {
    RunOptions {
        config,
        fresh: false,
        force: false,
        items_stale_after: None,
        watch: WatchSettings {
            poll: Duration::from_millis(20),
            sample_every: Duration::from_millis(100),
            keep_for: Duration::from_secs(7 * 24 * 3600),
            display: Display::Quiet,
        },
    }
}

/// A token already cancelled: `run` enqueues, looks once, and returns `Interrupted`.
pub(crate) fn stopped() -> CancellationToken {
    let token = CancellationToken::new();
    token.cancel();
    token
}

/// What the simulated crawler does with a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Crawl {
    /// Ack it with its result (and the fan-out of a first page).
    Succeed,
    /// Move it to the dead-letter stream.
    DeadLetter,
}

/// Reads one entry of `stream` for `group` (as `consumer`), waiting up to 50 ms.
pub(crate) async fn read_one(
    conn: &mut common::redis_pool::Connection,
    stream: &str,
    group: &str,
    consumer: &str,
) -> Option<(String, std::collections::HashMap<String, redis::Value>)> {
    common::consumer::ensure_group(conn, stream, group).await.expect("group");
    let reply: StreamReadReply = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(group)
        .arg(consumer)
        .arg("COUNT")
        .arg(1)
        .arg("BLOCK")
        .arg(50)
        .arg("STREAMS")
        .arg(stream)
        .arg(">")
        .query_async(conn)
        .await
        .expect("xreadgroup");
    reply.keys.into_iter().flat_map(|k| k.ids).next().map(|e| (e.id, e.map))
}

/// One step of the simulated crawler; false when there was nothing to do.
pub(crate) async fn crawl_once(pool: &Pool, keys: &Keys, behaviour: Crawl) -> bool {
    let mut conn = pool.get().await.expect("conn");
    let Some((id, fields)) = read_one(&mut conn, &keys.jobs(), CRAWLERS_GROUP, "sim-crawler").await else {
        return false;
    };
    let job = Job::from_fields(&fields).expect("job decodes");
    let step = match behaviour {
        Crawl::Succeed => crawl_step(keys, &id, job),
        Crawl::DeadLetter => dead_step(keys, &id, fields),
    };
    queue::apply(&mut conn, CRAWLERS_GROUP, &[step]).await.expect("apply");
    true
}

fn dead_step(keys: &Keys, id: &str, fields: std::collections::HashMap<String, redis::Value>) -> Step {
    let delivery = common::consumer::Delivery { id: id.to_owned(), fields, deliveries: 1 };
    let failure =
        common::dead_letter::Failure::new(common::messages::DeadReason::MaxAttempts, 5, "HTTP 503 five times".into());
    common::dead_letter::step(keys, &keys.jobs(), &delivery, failure)
}

fn crawl_step(keys: &Keys, id: &str, job: Job) -> Step {
    let counters = keys.run_counters(job.run_id());
    let mut adds = Vec::new();
    let kind = match job {
        Job::List(job) => {
            if job.fan_out {
                for page in job.page + 1..=LAST_PAGE {
                    let next = job.for_page(page);
                    adds.push(Add {
                        stream: keys.jobs(),
                        dedupe: Some((keys.run_pages_seen(&job.run_id), next.page_member())),
                        counter: Some(counter::enqueued("list")),
                        fields: Job::List(next).to_fields(),
                        ..Add::default()
                    });
                }
            }
            let result = CrawlResult::List(ListPageResult { products: products(&job), total_count: 6, job });
            adds.push(result_add(keys, &result, "list-result"));
            "list"
        }
        Job::Item(job) => {
            let result = CrawlResult::Item(ItemResult {
                job,
                fetched_at: chrono::Utc::now(),
                outcome: ItemOutcome::Discontinued,
            });
            adds.push(result_add(keys, &result, "item-result"));
            "item"
        }
    };
    Step {
        ack: Some((keys.jobs(), id.to_owned())),
        counters: Some(counters),
        increments: vec![(counter::done(kind), 1), (counter::REQUESTS.to_owned(), 1)],
        adds,
    }
}

fn result_add(keys: &Keys, result: &CrawlResult, kind: &str) -> Add {
    Add { stream: keys.results(), counter: Some(counter::enqueued(kind)), fields: result.to_fields(), ..Add::default() }
}

fn products(job: &common::messages::ListPageJob) -> Vec<ListedProduct> {
    (0..PRODUCTS_PER_PAGE)
        .map(|position| ListedProduct {
            name: format!("{} {}", job.category, position),
            registered: None,
            page: job.page,
            position,
            variants: vec![ListedVariant {
                pcode: format!("{}-{}-{}", job.listing().replace('|', "-"), job.page, position),
                tag: None,
                price: Some(1000),
            }],
        })
        .collect()
}

/// One step of the simulated updater; false when there was nothing to do. A list result
/// inserts its products and adds item jobs (once per pcode and run); an item result updates.
pub(crate) async fn update_once(pool: &Pool, keys: &Keys) -> bool {
    let mut conn = pool.get().await.expect("conn");
    let Some((id, fields)) = read_one(&mut conn, &keys.results(), UPDATERS_GROUP, "sim-updater").await else {
        return false;
    };
    let result = CrawlResult::from_fields(&fields).expect("result decodes");
    let counters = keys.run_counters(result.run_id());
    let (increments, adds) = match result {
        CrawlResult::List(list) => {
            let inserted = i64::try_from(list.products.len()).expect("small");
            let incs = vec![(counter::done("list-result"), 1), (counter::PARTS_INSERTED.to_owned(), inserted)];
            (incs, item_jobs(keys, &list))
        }
        CrawlResult::Item(_) => {
            (vec![(counter::done("item-result"), 1), (counter::PARTS_UPDATED.to_owned(), 1)], Vec::new())
        }
    };
    let step = Step { ack: Some((keys.results(), id)), counters: Some(counters), increments, adds };
    queue::apply(&mut conn, UPDATERS_GROUP, &[step]).await.expect("apply");
    true
}

fn item_jobs(keys: &Keys, list: &ListPageResult) -> Vec<Add> {
    let Some(policy) = &list.job.items else { return Vec::new() };
    let run = &list.job.run_id;
    list.products
        .iter()
        .flat_map(|p| &p.variants)
        .map(|v| {
            let job = ItemJob {
                run_id: run.clone(),
                pcode: v.pcode.clone(),
                category: list.job.category.clone(),
                category_number: list.job.category_number.clone(),
                item_base_url: policy.item_base_url.clone(),
            };
            Add {
                stream: keys.jobs(),
                // The real updater claims pcodes in its own hash; a set of the test's own.
                dedupe: Some((format!("{{ek}}:test:{run}:items"), v.pcode.clone())),
                counter: Some(counter::enqueued("item")),
                fields: Job::Item(job).to_fields(),
                ..Add::default()
            }
        })
        .collect()
}

/// Runs a simulated crawler and updater until `stop`, pausing `work` per entry.
pub(crate) fn spawn_workers(
    pool: Pool,
    keys: Keys,
    behaviour: Crawl,
    work: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !stop.is_cancelled() {
            let crawled = crawl_once(&pool, &keys, behaviour).await;
            if crawled {
                tokio::time::sleep(work).await;
            }
            let updated = update_once(&pool, &keys).await;
            if updated {
                tokio::time::sleep(work).await;
            }
        }
    })
}

/// Expected totals of the simulated catalogue for [`CONFIG`].
pub(crate) struct Expected;

impl Expected {
    /// cpu: 2 listings × 3 pages; case: 3 pages.
    pub(crate) const LIST_PAGES: i64 = 2 * LAST_PAGE as i64 + 3;
    /// Every cpu product gets an item job.
    pub(crate) const ITEMS: i64 = 2 * LAST_PAGE as i64 * PRODUCTS_PER_PAGE as i64;
    pub(crate) const PARTS_INSERTED: i64 = Self::LIST_PAGES * PRODUCTS_PER_PAGE as i64;
}

pub(crate) async fn hgetall(
    conn: &mut common::redis_pool::Connection,
    key: &str,
) -> std::collections::HashMap<String, String> {
    redis::cmd("HGETALL").arg(key).query_async(conn).await.expect("hgetall")
}

pub(crate) async fn xlen(conn: &mut common::redis_pool::Connection, key: &str) -> u64 {
    redis::cmd("XLEN").arg(key).query_async(conn).await.expect("xlen")
}

pub(crate) async fn ttl(conn: &mut common::redis_pool::Connection, key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query_async(conn).await.expect("ttl")
}
