//! SecantusDB stopped for 10 s mid-run and started again on the same storage: the store keeps
//! retrying, reports MongoDB down meanwhile, and every result ends up applied, none lost.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bson::doc;
use chrono::Utc;
use common::messages::CrawlResult;
use futures::TryStreamExt;
use support::{info, item, run_now, single, store_for, ListSpec};
use test_harness::{MongoServer, RedisServer};
use updater_worker::contract::check_part;
use updater_worker::store::Entry;

const BATCHES: u32 = 40;
const PER_BATCH: u32 = 5;

/// Batch `b`: five new parts of a plain category and, from the second batch on, an item result
/// for a part the previous batch created.
fn batch(b: u32) -> Vec<(String, CrawlResult)> {
    let spec = ListSpec::new("r1", "cpu", run_now());
    let mut out: Vec<(String, CrawlResult)> = (0..PER_BATCH)
        .map(|i| {
            let n = b * PER_BATCH + i + 1;
            (format!("{b}-{i}"), spec.result(vec![single(&n.to_string(), n)]))
        })
        .collect();
    if b > 0 {
        let pcode = ((b - 1) * PER_BATCH + 1).to_string();
        out.push((format!("{b}-item"), item("r1", &pcode, Utc::now(), info("priced", Some(1_000)))));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_outage_loses_nothing() {
    let mut mongo = MongoServer::start_on_disk();
    let redis = RedisServer::start();
    let store = store_for(&mongo, &redis).await;
    store.ensure_indexes().await.expect("indexes");
    let uri = mongo.uri();

    let seen_down = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (reach, seen_down) = (store.reachability().clone(), seen_down.clone());
        tokio::spawn(async move {
            loop {
                if reach.is_down() {
                    seen_down.store(true, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // The writer does half its batches, then waits until the server is really down, so the
    // other half is written during the outage (a loaded machine must not let it finish first).
    let server_down = Arc::new(tokio::sync::Notify::new());
    let first_half_done = Arc::new(tokio::sync::Notify::new());
    let writer = {
        let (server_down, first_half_done) = (server_down.clone(), first_half_done.clone());
        tokio::spawn(async move {
            for b in 0..BATCHES {
                if b == BATCHES / 2 {
                    first_half_done.notify_one();
                    server_down.notified().await;
                }
                let results = batch(b);
                let entries: Vec<Entry> = results.iter().map(|(id, result)| Entry { id, result }).collect();
                let stop = tokio_util::sync::CancellationToken::new();
                store.write_batch(&entries, &stop).await.unwrap_or_else(|| panic!("batch {b} not written"));
            }
            store
        })
    };

    first_half_done.notified().await;
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel();
    let outage = tokio::task::spawn_blocking(move || {
        mongo.stop();
        let _ = stopped_tx.send(());
        std::thread::sleep(Duration::from_secs(10));
        mongo.restart();
        mongo
    });
    stopped_rx.await.expect("server stopped");
    server_down.notify_one();
    let mongo = outage.await.expect("outage thread");
    let store = writer.await.expect("writer");
    watcher.abort();

    assert!(seen_down.load(Ordering::Relaxed), "the store reported MongoDB down during the outage");
    assert!(!store.reachability().is_down(), "and up again after it");
    let parts = mongodb::Client::with_uri_str(&uri)
        .await
        .expect("client")
        .database(support::DB)
        .collection::<bson::Document>("parts");
    assert_eq!(
        parts.count_documents(doc! {}).await.expect("count"),
        u64::from(BATCHES * PER_BATCH),
        "every part written"
    );
    let priced = parts.count_documents(doc! {"prices": {"$size": 1}}).await.expect("count");
    assert_eq!(priced, u64::from(BATCHES - 1), "every item result applied exactly once");
    let docs: Vec<bson::Document> = parts.find(doc! {}).await.expect("find").try_collect().await.expect("read");
    for doc in docs {
        assert_eq!(check_part(&doc), vec![], "{doc}");
    }
    drop(mongo);
}
