//! Results applied per second by `Store::apply_batch` against a real SecantusDB, for batch
//! sizes 1, 10, 50 and 100: item results (a product page each, one price point pushed) and list
//! results (a page of 30 products, no item fan-out). Run: `cargo bench -p updater-worker`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::config::{PageEnd, RegistrationDate};
use common::keys::Keys;
use common::messages::{
    CrawlResult, ItemJob, ItemOutcome, ItemResult, ListPageJob, ListPageResult, ListedProduct, ListedVariant,
    ProductInfo,
};
use common::parts::{Detail, PartName, Vendor, Vendors};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use test_harness::{MongoServer, RedisServer};
use tokio::runtime::Runtime;
use updater_worker::store::{Claimer, Entry, Store};

const BATCH_SIZES: [usize; 4] = [1, 10, 50, 100];
const PRODUCTS_PER_PAGE: u32 = 30;
/// Parts the item results write to (created once, before measuring).
const PARTS: u32 = 3_000;

struct Bench {
    runtime: Runtime,
    store: Store,
    _servers: (MongoServer, RedisServer),
}

fn setup() -> Bench {
    let runtime = Runtime::new().expect("tokio runtime");
    let mongo = MongoServer::start();
    let redis = RedisServer::start();
    let store = runtime.block_on(async {
        let client = common::mongo::connect(&mongo.uri(), "updater-bench").await.expect("client");
        let url = redis.url().parse().expect("redis url");
        let pool = common::redis_pool::pool(&common::redis_pool::Target::Single(url), 4).expect("pool");
        let store =
            Store::new(client, "ek_bench", Claimer::new(pool, Keys::new("ek"), std::time::Duration::from_secs(3600)));
        store.ensure_indexes().await.expect("indexes");
        store
    });
    let bench = Bench { runtime, store, _servers: (mongo, redis) };
    let pages: Vec<CrawlResult> = (0..PARTS / PRODUCTS_PER_PAGE).map(|p| list_page(p + 1)).collect();
    for chunk in pages.chunks(10) {
        bench.apply(chunk);
    }
    bench
}

impl Bench {
    fn apply(&self, results: &[CrawlResult]) -> Duration {
        let ids: Vec<String> = (0..results.len()).map(|i| format!("0-{i}")).collect();
        let entries: Vec<Entry> = ids.iter().zip(results).map(|(id, result)| Entry { id, result }).collect();
        let started = Instant::now();
        self.runtime.block_on(self.store.apply_batch(&entries)).expect("batch applied");
        started.elapsed()
    }
}

fn list_page(page: u32) -> CrawlResult {
    let job = ListPageJob {
        run_id: "bench".into(),
        category: "ssd".into(),
        category_number: "112760".into(),
        page,
        end_page: PageEnd::Last,
        fan_out: false,
        filter: None,
        minimum_date: RegistrationDate { year: 2020, month: 1 },
        ignore_words: vec![],
        page_base_url: "http://sim/list/?cate=".into(),
        run_started_at: Utc::now(),
        items: None,
    };
    let products = (0..PRODUCTS_PER_PAGE)
        .map(|position| {
            let pcode = ((page - 1) * PRODUCTS_PER_PAGE + position + 1).to_string();
            ListedProduct {
                name: format!("삼성전자 SSD {pcode} (1TB)"),
                registered: None,
                page,
                position,
                variants: vec![ListedVariant { pcode, tag: None, price: Some(99_000) }],
            }
        })
        .collect();
    CrawlResult::List(ListPageResult { job, total_count: PARTS, products })
}

fn item_result(pcode: u32) -> CrawlResult {
    let vendor = |n: i64| Vendor {
        vendor_name: format!("shop{n}"),
        vendor_code: Some(format!("S{n}")),
        vendor_url: format!("http://shop/{n}"),
        price: 99_000 + n,
        shipping_cost: Some(0),
        card: None,
    };
    let details = (0..20)
        .map(|n| (format!("spec {n}"), Detail { value: format!("value {n}"), section: "일반".into() }))
        .collect::<BTreeMap<_, _>>();
    let info = ProductInfo {
        name: PartName { full_name: format!("삼성전자 SSD {pcode}"), tag: Some("1TB".into()) },
        stock: true,
        details,
        vendors: Vendors {
            open_market: (0..5).map(vendor).collect(),
            mall: (5..8).map(vendor).collect(),
            ..Vendors::default()
        },
        lowest_price: Some(99_000),
    };
    let job = ItemJob {
        run_id: "bench".into(),
        pcode: pcode.to_string(),
        category: "ssd".into(),
        category_number: "112760".into(),
        item_base_url: "http://sim/info/?pcode=".into(),
    };
    CrawlResult::Item(ItemResult { job, fetched_at: Utc::now(), outcome: ItemOutcome::Product(info) })
}

fn bench_apply(c: &mut Criterion) {
    let bench = setup();
    let mut next_part = 0u32;
    let mut group = c.benchmark_group("apply_batch/item_results");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    for size in BATCH_SIZES {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let batch: Vec<CrawlResult> = (0..size)
                            .map(|_| {
                                item_result({
                                    next_part = next_part % PARTS + 1;
                                    next_part
                                })
                            })
                            .collect();
                        bench.apply(&batch)
                    })
                    .sum()
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("apply_batch/list_pages_of_30");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    let pages = PARTS / PRODUCTS_PER_PAGE;
    let mut next_page = 0u32;
    for size in BATCH_SIZES {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let batch: Vec<CrawlResult> = (0..size)
                            .map(|_| {
                                list_page({
                                    next_page = next_page % pages + 1;
                                    next_page
                                })
                            })
                            .collect();
                        bench.apply(&batch)
                    })
                    .sum()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_apply);
criterion_main!(benches);
