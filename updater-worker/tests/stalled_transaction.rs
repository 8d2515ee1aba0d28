//! An updater that stalls inside its transaction longer than `--claim-idle` must not leave
//! `isUpdating: true` behind (issue 12, item 5). The real binary U1 stops itself (SIGSTOP, a
//! failpoint) inside the transaction of a list result; U2 reclaims the entry, commits, acks it
//! with the item jobs; the item results come back (outcomes that write no price point, so the
//! stale check still says "stale") and release the parts; then U1 is resumed and commits its
//! transaction of the same list result. Every part must end with `isUpdating: false`.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bson::doc;
use common::keys::{Keys, CRAWLERS_GROUP, UPDATERS_GROUP};
use common::messages::{CrawlResult, ItemOutcome, ItemResult, Job};
use common::queue::{self, counter, Add, Step};
use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;
use support::{info, product, run_now, ListSpec};
use test_harness::{Child, MongoServer, RedisServer, TempDir};
use updater_worker::contract::check_part;

const PREFIX: &str = "stall";

fn updater(redis: &RedisServer, mongo: &MongoServer, name: &str, failpoint: Option<&str>, log: &Path) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_updater-worker"));
    cmd.arg("run")
        .env("REDIS_URL", redis.url())
        .env("MONGODB_URI", mongo.uri())
        .env("MONGODB_DB", PREFIX)
        .env("EK_STREAM_PREFIX", PREFIX)
        .env("EK_CONSUMER_NAME", name)
        .env("EK_HTTP_ADDR", "127.0.0.1:0")
        .env("EK_BATCH_WAIT", "50ms")
        .env("EK_CLAIM_IDLE", "500ms")
        .env("EK_CLAIM_INTERVAL", "100ms");
    if let Some(point) = failpoint {
        cmd.env("EK_FAILPOINT", point);
    }
    Child::spawn(cmd, log).expect("updater")
}

async fn redis_conn(redis: &RedisServer) -> MultiplexedConnection {
    let client = redis::Client::open(redis.url()).expect("client");
    client.get_multiplexed_async_connection().await.expect("redis")
}

/// Polls `check` every 50 ms for up to 60 s.
async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..1200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The process state letter from /proc (`T`: stopped).
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": the state follows the last ')'.
    stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next())
}

/// Plays the crawler: takes every item job and acks it with its result, as `crawler-worker`
/// does (one atomic step: ack, result, counters).
async fn crawl_item_jobs(conn: &mut MultiplexedConnection, keys: &Keys, outcomes: &HashMap<&str, ItemOutcome>) {
    common::consumer::ensure_group(conn, &keys.jobs(), CRAWLERS_GROUP).await.expect("group");
    let opts = redis::streams::StreamReadOptions::default().group(CRAWLERS_GROUP, "crawler").count(100);
    let read: redis::streams::StreamReadReply = conn.xread_options(&[keys.jobs()], &[">"], &opts).await.expect("read");
    let mut steps = Vec::new();
    for entry in read.keys.iter().flat_map(|k| &k.ids) {
        let Job::Item(job) = Job::from_fields(&entry.map).expect("job") else { panic!("a list job") };
        let outcome = outcomes[job.pcode.as_str()].clone();
        let result = CrawlResult::Item(ItemResult { job: job.clone(), fetched_at: chrono::Utc::now(), outcome });
        steps.push(Step {
            ack: Some((keys.jobs(), entry.id.clone())),
            counters: Some(keys.run_counters(&job.run_id)),
            increments: vec![(counter::done("item"), 1)],
            adds: vec![Add {
                stream: keys.results(),
                counter: Some(counter::enqueued("item-result")),
                fields: result.to_fields(),
                ..Add::default()
            }],
        });
    }
    assert_eq!(steps.len(), outcomes.len(), "one item job per part");
    queue::apply(conn, CRAWLERS_GROUP, &steps).await.expect("ack item jobs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_updater_stalled_in_its_transaction_leaves_no_part_updating() {
    let redis = RedisServer::start();
    let mongo = MongoServer::start();
    let logs = TempDir::new("stalled-transaction");
    let keys = Keys::new(PREFIX);
    let mut conn = redis_conn(&redis).await;
    let parts = mongodb::Client::with_uri_str(mongo.uri()).await.expect("mongo").database(PREFIX).collection("parts");
    let updating = async |pcode: &str| -> Option<bool> {
        let part: Option<bson::Document> = parts.find_one(doc! {"pcode": pcode}).await.expect("find");
        part.and_then(|p| p.get_bool("isUpdating").ok())
    };

    // E1: a list page of an item category; none of its parts will get a price point.
    let started = run_now();
    let spec = ListSpec::new("r1", "memory", started).items(started);
    let list = spec.result(vec![
        product("DDR5 16GB (1)", 0, &[("101", Some("16GB"), Some(50_000))]),
        product("DDR5 8GB (2)", 1, &[("102", None, Some(30_000))]),
        product("DDR4 8GB (3)", 2, &[("103", None, None)]),
    ]);
    let outcomes = HashMap::from([
        ("101", ItemOutcome::Discontinued),
        ("102", ItemOutcome::Failed { reason: "5 attempts".into() }),
        ("103", info("DDR4 8GB", None)), // out of stock: no price point either
    ]);
    common::consumer::ensure_group(&mut conn, &keys.results(), UPDATERS_GROUP).await.expect("group");
    let _: String = conn.xadd(keys.results(), "*", &list.to_fields()).await.expect("xadd");

    // U1 reads E1 and stops inside its transaction (before its first statement).
    let u1_log = logs.path().join("u1.log");
    let u1 = updater(&redis, &mongo, "u1", Some("updater-in-transaction:pause"), &u1_log);
    wait_for("U1 to stop at the failpoint", async || process_state(u1.pid()) == Some('T')).await;

    // U2 takes E1 over once it is idle, commits and acks it with the three item jobs.
    let u2 = updater(&redis, &mongo, "u2", None, &logs.path().join("u2.log"));
    wait_for("U2 to ack E1 with its item jobs", async || {
        let jobs: usize = conn.xlen(keys.jobs()).await.expect("xlen");
        let results: usize = conn.xlen(keys.results()).await.expect("xlen");
        jobs == 3 && results == 0
    })
    .await;
    for pcode in ["101", "102", "103"] {
        assert_eq!(updating(pcode).await, Some(true), "{pcode}: its item job is in flight");
    }

    // The item results come back and U2 releases the parts.
    crawl_item_jobs(&mut conn, &keys, &outcomes).await;
    wait_for("U2 to write the item results", async || {
        let results: usize = conn.xlen(keys.results()).await.expect("xlen");
        let mut released = results == 0;
        for pcode in ["101", "102", "103"] {
            released &= updating(pcode).await == Some(false);
        }
        released
    })
    .await;

    // U1 resumes and commits its transaction of E1; its ack finds E1 acked by U2.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(u1.pid() as i32), nix::sys::signal::Signal::SIGCONT)
        .expect("SIGCONT");
    wait_for("U1 to finish E1", async || {
        std::fs::read_to_string(&u1_log).unwrap_or_default().contains("entry already acknowledged by another consumer")
    })
    .await;
    u1.kill_and_wait();
    u2.kill_and_wait();

    for pcode in ["101", "102", "103"] {
        assert_eq!(updating(pcode).await, Some(false), "{pcode}: no item job is in flight, yet it reads isUpdating");
        let part = parts.find_one(doc! {"pcode": pcode}).await.expect("find").expect("part");
        assert_eq!(check_part(&part), vec![], "{part}");
    }
    let counters: HashMap<String, i64> = conn.hgetall(keys.run_counters("r1")).await.expect("counters");
    assert_eq!(counters.get("enqueued:item"), Some(&3), "U1's ack added nothing: {counters:?}");
    assert_eq!(counters.get("done:item-result"), Some(&3), "{counters:?}");
}
