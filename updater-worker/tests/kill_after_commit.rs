//! The real updater binary dies between the MongoDB commit and the Redis ack (a failpoint
//! aborts it exactly there); the redelivered batch leaves the database identical to a run
//! without the crash: no second price point, the same variants, every result acked once.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use bson::{doc, Document};
use common::keys::Keys;
use common::messages::CrawlResult;
use futures::TryStreamExt;
use redis::AsyncCommands;
use support::{info, item, product, run_now, ListSpec};
use test_harness::{Child, MongoServer, RedisServer, TempDir};
use updater_worker::contract::check_part;

/// A list page of an item category and the item results of its parts.
fn results(started: chrono::DateTime<chrono::Utc>, fetched: chrono::DateTime<chrono::Utc>) -> Vec<CrawlResult> {
    let spec = ListSpec::new("r1", "memory", started).items(started);
    let list = spec.result(vec![
        product("DDR5 16GB (1)", 0, &[("101", Some("16GB"), Some(50_000)), ("102", Some("32GB"), Some(90_000))]),
        product("DDR5 8GB (2)", 1, &[("103", None, None)]),
    ]);
    let mut out = vec![list];
    out.extend(["101", "102", "103"].map(|p| item("r1", p, fetched, info("DDR5", Some(1_000)))));
    out
}

fn updater(redis: &RedisServer, mongo: &MongoServer, prefix: &str, failpoint: Option<&str>, logs: &TempDir) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_updater-worker"));
    cmd.arg("run")
        .env("REDIS_URL", redis.url())
        .env("MONGODB_URI", mongo.uri())
        .env("MONGODB_DB", prefix)
        .env("EK_STREAM_PREFIX", prefix)
        .env("EK_CONSUMER_NAME", "updater-1")
        .env("EK_HTTP_ADDR", "127.0.0.1:0")
        .env("EK_BATCH_SIZE", "10")
        .env("EK_BATCH_WAIT", "500ms");
    if let Some(name) = failpoint {
        cmd.env("EK_FAILPOINT", name);
    }
    Child::spawn(cmd, &logs.path().join(format!("{prefix}-{}.log", failpoint.unwrap_or("plain")))).expect("updater")
}

async fn enqueue(redis: &RedisServer, prefix: &str, results: &[CrawlResult]) {
    let client = redis::Client::open(redis.url()).expect("client");
    let mut conn = client.get_multiplexed_async_connection().await.expect("redis");
    let keys = Keys::new(prefix);
    common::consumer::ensure_group(&mut conn, &keys.results(), common::keys::UPDATERS_GROUP).await.expect("group");
    for result in results {
        let _: String = conn.xadd(keys.results(), "*", &result.to_fields()).await.expect("xadd");
    }
}

async fn results_left(redis: &RedisServer, prefix: &str) -> usize {
    let client = redis::Client::open(redis.url()).expect("client");
    let mut conn = client.get_multiplexed_async_connection().await.expect("redis");
    conn.xlen(Keys::new(prefix).results()).await.expect("xlen")
}

async fn wait_drained(redis: &RedisServer, prefix: &str) {
    for _ in 0..400 {
        if results_left(redis, prefix).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{prefix}: results never drained");
}

/// The parts of a database without `_id`, `createdAt` and `updatedAt`.
async fn parts(mongo: &MongoServer, db: &str) -> BTreeMap<String, Document> {
    let client = mongodb::Client::with_uri_str(mongo.uri()).await.expect("client");
    let docs: Vec<Document> = client
        .database(db)
        .collection::<Document>("parts")
        .find(doc! {})
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("read");
    docs.into_iter()
        .map(|mut d| {
            assert_eq!(check_part(&d), vec![], "{d}");
            for field in ["_id", "createdAt", "updatedAt"] {
                d.remove(field);
            }
            (d.get_str("pcode").unwrap_or_default().to_owned(), d)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_commit_and_ack_changes_nothing() {
    let redis = RedisServer::start();
    let mongo = MongoServer::start();
    let logs = TempDir::new("kill-after-commit");
    let batch = results(run_now(), chrono::Utc::now());

    // Reference: the same results written by an updater that does not crash.
    enqueue(&redis, "reference", &batch).await;
    let plain = updater(&redis, &mongo, "reference", None, &logs);
    wait_drained(&redis, "reference").await;
    plain.kill_and_wait();

    // The crash: the batch is committed, then the process aborts before its ack.
    enqueue(&redis, "crashed", &batch).await;
    let crashing = updater(&redis, &mongo, "crashed", Some("updater-after-commit"), &logs);
    let status = crashing.wait_timeout(Duration::from_secs(60)).expect("the failpoint ends the process");
    assert!(!status.success(), "it died at the failpoint: {status:?}");
    assert_eq!(results_left(&redis, "crashed").await, 4, "nothing was acked");
    assert_eq!(parts(&mongo, "crashed").await.len(), 3, "but the batch was committed");

    // Restarted under the same name, it redelivers its own pending batch.
    let restarted = updater(&redis, &mongo, "crashed", None, &logs);
    wait_drained(&redis, "crashed").await;
    restarted.kill_and_wait();

    let reference = parts(&mongo, "reference").await;
    let crashed = parts(&mongo, "crashed").await;
    assert_eq!(crashed, reference, "identical to the run without the crash");
    for part in crashed.values() {
        let prices = part.get_array("prices").map(Vec::len).unwrap_or(0);
        assert!(prices <= 1, "no second price point: {part}");
    }
}
