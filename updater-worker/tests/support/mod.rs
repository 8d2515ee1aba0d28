//! Shared fixtures of the updater's integration tests: real SecantusDB and Redis servers, a
//! store wired to them, builders for crawl results, and the contract check every test ends with.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::BTreeMap;

use bson::{doc, Document};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::config::{PageEnd, RegistrationDate};
use common::keys::Keys;
use common::messages::{
    CrawlResult, ItemJob, ItemOutcome, ItemPolicy, ItemResult, ListPageJob, ListPageResult, ListedProduct,
    ListedVariant, ProductInfo,
};
use common::parts::{Detail, PartName, Vendor, Vendors};
use futures::TryStreamExt;
use mongodb::{Client, Collection};
use test_harness::{MongoServer, RedisServer};
use updater_worker::contract::check_part;
use updater_worker::store::{BatchOutcome, Claimer, Entry, EntryOutcome, Store};

pub(crate) const DB: &str = "ek_test";
pub(crate) const PREFIX: &str = "ek";

/// Real servers and a store on them. `client` is the test's own client (not the store's, so a
/// fail point scoped to the store's application name leaves it alone).
pub(crate) struct Env {
    pub mongo: MongoServer,
    pub redis: RedisServer,
    pub store: Store,
    pub client: Client,
}

impl Env {
    pub(crate) async fn start() -> Self {
        Self::with_mongo(MongoServer::start()).await
    }

    pub(crate) async fn with_mongo(mongo: MongoServer) -> Self {
        let redis = RedisServer::start();
        let store = store_for(&mongo, &redis).await;
        store.ensure_indexes().await.expect("indexes");
        let client = Client::with_uri_str(mongo.uri()).await.expect("test client");
        Self { mongo, redis, store, client }
    }

    pub(crate) fn parts(&self) -> Collection<Document> {
        self.client.database(DB).collection(common::parts::COLLECTION)
    }

    pub(crate) async fn apply(&self, batch: &[(&str, &CrawlResult)]) -> BatchOutcome {
        let entries: Vec<Entry> = batch.iter().map(|(id, result)| Entry { id, result }).collect();
        self.store.apply_batch(&entries).await.expect("batch applied")
    }

    /// Writes the batch as the worker does ([`Store::write_batch`]): a transient error (a
    /// write conflict, a storage rollback on a loaded machine) is retried with backoff, not a
    /// failed test. `apply` is one attempt, for tests about the attempt itself.
    pub(crate) async fn write(&self, batch: &[(&str, &CrawlResult)]) -> BatchOutcome {
        let entries: Vec<Entry> = batch.iter().map(|(id, result)| Entry { id, result }).collect();
        let never = tokio_util::sync::CancellationToken::new();
        self.store.write_batch(&entries, &never).await.expect("batch written")
    }

    pub(crate) async fn part(&self, pcode: &str) -> Document {
        self.parts().find_one(doc! {"pcode": pcode}).await.expect("find").unwrap_or_else(|| panic!("no part {pcode}"))
    }

    /// Every document, by pcode.
    pub(crate) async fn all(&self) -> BTreeMap<String, Document> {
        let docs: Vec<Document> = self.parts().find(doc! {}).await.expect("find").try_collect().await.expect("read");
        docs.into_iter().map(|d| (d.get_str("pcode").expect("pcode").to_owned(), d)).collect()
    }

    /// Fails the test naming every document that breaks the §6 contract.
    pub(crate) async fn assert_contract(&self) {
        let all = self.all().await;
        assert!(!all.is_empty(), "the test wrote nothing to check");
        for (pcode, doc) in all {
            let violations = check_part(&doc);
            assert!(violations.is_empty(), "part {pcode} breaks the contract: {violations:?}\n{doc}");
        }
    }

    /// Arms `failCommand` for the store's commands only (its client's application name).
    pub(crate) async fn fail_command(&self, command: &str, skip: u32, times: u32, code: i32, labels: &[&str]) {
        let admin = self.client.database("admin");
        let point = doc! {
            "configureFailPoint": "failCommand",
            "mode": {"skip": skip, "times": times},
            "data": {"failCommands": [command], "errorCode": code, "errorLabels": labels, "appName": "updater-worker"},
        };
        admin.run_command(point).await.expect("configureFailPoint");
    }
}

pub(crate) async fn store_for(mongo: &MongoServer, redis: &RedisServer) -> Store {
    let client = common::mongo::connect(&mongo.uri(), "updater-worker").await.expect("store client");
    let url = redis.url().parse().expect("redis url");
    let pool = common::redis_pool::pool(&common::redis_pool::Target::Single(url), 4).expect("redis pool");
    Store::new(client, DB, Claimer::new(pool, Keys::new(PREFIX), std::time::Duration::from_secs(3600)))
}

/// Documents without `updatedAt`, which a re-applied batch legitimately moves forward.
pub(crate) fn without_updated_at(all: &BTreeMap<String, Document>) -> BTreeMap<String, Document> {
    all.iter()
        .map(|(pcode, doc)| {
            let mut doc = doc.clone();
            doc.remove("updatedAt");
            (pcode.clone(), doc)
        })
        .collect()
}

pub(crate) fn run_start(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, day, 3, 0, 0).single().expect("date")
}

/// A run that starts now (so this run's writes are "after the start").
pub(crate) fn run_now() -> DateTime<Utc> {
    Utc::now() - Duration::seconds(1)
}

pub(crate) struct ListSpec<'a> {
    pub run_id: &'a str,
    pub category: &'a str,
    pub page: u32,
    pub run_started_at: DateTime<Utc>,
    pub items: Option<ItemPolicy>,
}

impl<'a> ListSpec<'a> {
    pub(crate) fn new(run_id: &'a str, category: &'a str, run_started_at: DateTime<Utc>) -> Self {
        Self { run_id, category, page: 1, run_started_at, items: None }
    }

    pub(crate) fn items(mut self, stale_before: DateTime<Utc>) -> Self {
        self.items = Some(ItemPolicy { item_base_url: "http://sim/info/?pcode=".into(), stale_before });
        self
    }

    pub(crate) fn page(mut self, page: u32) -> Self {
        self.page = page;
        self
    }

    pub(crate) fn result(&self, products: Vec<ListedProduct>) -> CrawlResult {
        let job = ListPageJob {
            run_id: self.run_id.into(),
            category: self.category.into(),
            category_number: "112747".into(),
            page: self.page,
            end_page: PageEnd::Last,
            fan_out: false,
            filter: None,
            minimum_date: RegistrationDate { year: 2020, month: 1 },
            ignore_words: vec![],
            page_base_url: "http://sim/list/?cate=".into(),
            run_started_at: self.run_started_at,
            items: self.items.clone(),
        };
        let products = products.into_iter().map(|p| ListedProduct { page: self.page, ..p }).collect();
        CrawlResult::List(ListPageResult { job, total_count: 100, products })
    }
}

/// A listed product at `position`, its variants given as (pcode, tag, price).
pub(crate) fn product(name: &str, position: u32, variants: &[(&str, Option<&str>, Option<i64>)]) -> ListedProduct {
    ListedProduct {
        name: name.into(),
        registered: Some(RegistrationDate { year: 2023, month: 3 }),
        page: 1,
        position,
        variants: variants
            .iter()
            .map(|(pcode, tag, price)| ListedVariant {
                pcode: (*pcode).into(),
                tag: tag.map(str::to_owned),
                price: *price,
            })
            .collect(),
    }
}

/// A one-variant product in stock.
pub(crate) fn single(pcode: &str, position: u32) -> ListedProduct {
    product(&format!("제품 {pcode} (정품)"), position, &[(pcode, None, Some(10_000))])
}

pub(crate) fn item_job(run_id: &str, pcode: &str, category: &str) -> ItemJob {
    ItemJob {
        run_id: run_id.into(),
        pcode: pcode.into(),
        category: category.into(),
        category_number: "112747".into(),
        item_base_url: "http://sim/info/?pcode=".into(),
    }
}

pub(crate) fn item(run_id: &str, pcode: &str, fetched_at: DateTime<Utc>, outcome: ItemOutcome) -> CrawlResult {
    CrawlResult::Item(ItemResult { job: item_job(run_id, pcode, "cpu"), fetched_at, outcome })
}

/// A product page in stock at `price` with one vendor and one spec line.
pub(crate) fn info(full_name: &str, price: Option<i64>) -> ItemOutcome {
    let vendor = Vendor {
        vendor_name: "쿠팡".into(),
        vendor_code: Some("TH201".into()),
        vendor_url: "http://shop/1".into(),
        price: price.unwrap_or(0),
        shipping_cost: Some(2_500),
        card: None,
    };
    let details =
        BTreeMap::from([("코드 네임".to_owned(), Detail { value: "라파엘".into(), section: "CPU 사양".into() })]);
    ItemOutcome::Product(ProductInfo {
        name: PartName { full_name: full_name.into(), tag: Some("정품".into()) },
        stock: price.is_some(),
        details,
        vendors: Vendors { open_market: vec![vendor], ..Vendors::default() },
        lowest_price: price,
    })
}

pub(crate) fn applied(outcome: &EntryOutcome) -> &[ItemJob] {
    match outcome {
        EntryOutcome::Applied { item_jobs, .. } => item_jobs,
        EntryOutcome::Rejected { reason } => panic!("entry rejected: {reason}"),
    }
}

pub(crate) fn pcodes(jobs: &[ItemJob]) -> Vec<&str> {
    jobs.iter().map(|j| j.pcode.as_str()).collect()
}
