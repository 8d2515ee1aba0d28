//! The shared consumer loop against a real Redis: bounded slots, own-pending resume, reclaim
//! of a dead consumer's entries, exactly-once accounting of the ack-and-add step, drain.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::consumer::{self, BatchHandler, ConsumerSettings, Delivery};
use common::metrics::WorkerMetrics;
use common::queue::{self, Add, Step, StepOutcome};
use common::secret::SecretUrl;
use redis::AsyncCommands;
use test_harness::RedisServer;
use tokio_util::sync::CancellationToken;

const STREAM: &str = "{t}:jobs";
const RESULTS: &str = "{t}:results";
const COUNTERS: &str = "{t}:run:r:counters";
const GROUP: &str = "crawlers";

fn pool(server: &RedisServer) -> common::redis_pool::Pool {
    let url: SecretUrl = server.url().parse().expect("url");
    common::redis_pool::pool(&common::redis_pool::Target::Single(url), 16).expect("pool")
}

fn settings(consumer: &str, slots: usize) -> ConsumerSettings {
    ConsumerSettings {
        stream: STREAM.into(),
        group: GROUP.into(),
        consumer: consumer.into(),
        slots,
        batch_size: 1,
        batch_wait: Duration::ZERO,
        claim_interval: Duration::from_millis(100),
        claim_idle: Duration::from_millis(500),
        shutdown_grace: Duration::from_secs(5),
    }
}

/// Acks each entry with a result, after holding its slot for `work`; records peak concurrency.
struct Worker {
    pool: common::redis_pool::Pool,
    work: Duration,
    running: AtomicUsize,
    peak: AtomicUsize,
    seen: Mutex<Vec<(String, u64)>>,
}

impl Worker {
    fn new(pool: common::redis_pool::Pool, work: Duration) -> Arc<Self> {
        Arc::new(Self { pool, work, running: AtomicUsize::new(0), peak: AtomicUsize::new(0), seen: Mutex::default() })
    }
}

impl BatchHandler for Worker {
    async fn handle(self: Arc<Self>, batch: Vec<Delivery>) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.work).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        for delivery in batch {
            self.seen.lock().expect("lock").push((delivery.id.clone(), delivery.deliveries));
            let step = Step {
                ack: Some((STREAM.into(), delivery.id.clone())),
                counters: Some(COUNTERS.into()),
                increments: vec![("done:list".into(), 1)],
                adds: vec![Add { stream: RESULTS.into(), fields: vec![("id", delivery.id)], ..Add::default() }],
            };
            let mut conn = self.pool.get().await.expect("conn");
            queue::apply(&mut conn, GROUP, &[step]).await.expect("ack and add");
        }
    }
}

async fn enqueue(pool: &common::redis_pool::Pool, n: usize) {
    let mut conn = pool.get().await.expect("conn");
    consumer::ensure_group(&mut conn, STREAM, GROUP).await.expect("group");
    for i in 0..n {
        let _: String = conn.xadd(STREAM, "*", &[("n", i)]).await.expect("xadd");
    }
}

async fn wait_for_results(pool: &common::redis_pool::Pool, n: usize) {
    let mut conn = pool.get().await.expect("conn");
    for _ in 0..400 {
        let len: usize = conn.xlen(RESULTS).await.expect("xlen");
        if len >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("results never reached {n}");
}

#[tokio::test]
async fn never_more_than_the_slots_in_flight_and_everything_acked() {
    let server = RedisServer::start();
    let pool = pool(&server);
    enqueue(&pool, 12).await;
    let worker = Worker::new(pool.clone(), Duration::from_millis(100));
    let stop = CancellationToken::new();
    let run = tokio::spawn(consumer::run(
        pool.clone(),
        settings("c1", 3),
        worker.clone(),
        WorkerMetrics::default(),
        stop.clone(),
    ));
    wait_for_results(&pool, 12).await;
    stop.cancel();
    run.await.expect("loop ends");

    assert_eq!(worker.peak.load(Ordering::SeqCst), 3, "three slots, all used, never more");
    let mut conn = pool.get().await.expect("conn");
    let len: usize = conn.xlen(STREAM).await.expect("xlen");
    assert_eq!(len, 0, "acknowledged entries are deleted");
    let done: i64 = conn.hget(COUNTERS, "done:list").await.expect("counter");
    assert_eq!(done, 12);
}

#[tokio::test]
async fn a_dead_consumers_entries_are_reclaimed_and_a_restarted_one_resumes_its_own() {
    let server = RedisServer::start();
    let pool = pool(&server);
    enqueue(&pool, 4).await;
    // "dead" reads two entries and dies without acking; "restarted" reads two and stops too.
    let mut conn = pool.get().await.expect("conn");
    for name in ["dead", "restarted"] {
        let opts = redis::streams::StreamReadOptions::default().group(GROUP, name).count(2);
        let _: redis::streams::StreamReadReply = conn.xread_options(&[STREAM], &[">"], &opts).await.expect("read");
    }

    // The restarted consumer comes back under its name and finishes its own two first.
    let restarted = Worker::new(pool.clone(), Duration::ZERO);
    let stop = CancellationToken::new();
    let mut own = settings("restarted", 1);
    own.claim_idle = Duration::from_secs(3600); // it must not take the dead one's entries
    let run = tokio::spawn(consumer::run(pool.clone(), own, restarted.clone(), WorkerMetrics::default(), stop.clone()));
    wait_for_results(&pool, 2).await;
    stop.cancel();
    run.await.expect("loop ends");
    assert_eq!(restarted.seen.lock().expect("lock").len(), 2);

    // A live consumer reclaims the dead one's entries once they are idle long enough.
    let live = Worker::new(pool.clone(), Duration::ZERO);
    let stop = CancellationToken::new();
    let run = tokio::spawn(consumer::run(
        pool.clone(),
        settings("live", 2),
        live.clone(),
        WorkerMetrics::default(),
        stop.clone(),
    ));
    wait_for_results(&pool, 4).await;
    stop.cancel();
    run.await.expect("loop ends");
    let seen = live.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|(_, deliveries)| *deliveries == 2), "claimed entries count their deliveries: {seen:?}");
}

#[tokio::test]
async fn a_second_ack_of_the_same_entry_adds_and_counts_nothing() {
    let server = RedisServer::start();
    let pool = pool(&server);
    enqueue(&pool, 1).await;
    let mut conn = pool.get().await.expect("conn");
    let opts = redis::streams::StreamReadOptions::default().group(GROUP, "a").count(1);
    let read: redis::streams::StreamReadReply = conn.xread_options(&[STREAM], &[">"], &opts).await.expect("read");
    let id = read.keys[0].ids[0].id.clone();
    let step = Step {
        ack: Some((STREAM.into(), id)),
        counters: Some(COUNTERS.into()),
        increments: vec![("done:list".into(), 1)],
        adds: vec![
            Add {
                stream: RESULTS.into(),
                counter: Some("enqueued:list-result".into()),
                fields: vec![("a", "1".into())],
                ..Add::default()
            },
            Add {
                stream: STREAM.into(),
                dedupe: Some(("{t}:pages".into(), "cpu|2".into())),
                fields: vec![("page", "2".into())],
                ..Add::default()
            },
        ],
    };
    let first = queue::apply(&mut conn, GROUP, std::slice::from_ref(&step)).await.expect("first");
    let second = queue::apply(&mut conn, GROUP, &[step]).await.expect("second");
    assert_eq!(first, [StepOutcome::Applied { added: 2 }]);
    assert_eq!(second, [StepOutcome::AlreadyAcked]);
    let results: usize = conn.xlen(RESULTS).await.expect("xlen");
    let counters: std::collections::HashMap<String, i64> = conn.hgetall(COUNTERS).await.expect("counters");
    assert_eq!(results, 1);
    assert_eq!(counters.get("done:list"), Some(&1));
    assert_eq!(counters.get("enqueued:list-result"), Some(&1));

    // Without an ack, a dedupe member already in the set adds nothing.
    let again = Step {
        adds: vec![Add {
            stream: STREAM.into(),
            dedupe: Some(("{t}:pages".into(), "cpu|2".into())),
            fields: vec![("page", "2".into())],
            ..Add::default()
        }],
        ..Step::default()
    };
    assert_eq!(queue::apply(&mut conn, GROUP, &[again]).await.expect("dedupe"), [StepOutcome::Applied { added: 0 }]);
}

#[tokio::test]
async fn shutdown_waits_for_in_flight_work() {
    let server = RedisServer::start();
    let pool = pool(&server);
    enqueue(&pool, 2).await;
    let worker = Worker::new(pool.clone(), Duration::from_millis(600));
    let stop = CancellationToken::new();
    let run = tokio::spawn(consumer::run(
        pool.clone(),
        settings("c", 2),
        worker.clone(),
        WorkerMetrics::default(),
        stop.clone(),
    ));
    while worker.running.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    run.await.expect("loop ends");
    let mut conn = pool.get().await.expect("conn");
    let results: usize = conn.xlen(RESULTS).await.expect("xlen");
    assert_eq!(results, 2, "both in-flight entries finished and were acked before the loop returned");
}

#[tokio::test]
async fn a_guarded_add_happens_only_while_the_hash_field_holds_the_value() {
    let server = RedisServer::start();
    let pool = pool(&server);
    enqueue(&pool, 1).await;
    let mut conn = pool.get().await.expect("conn");
    let opts = redis::streams::StreamReadOptions::default().group(GROUP, "a").count(1);
    let read: redis::streams::StreamReadReply = conn.xread_options(&[STREAM], &[">"], &opts).await.expect("read");
    let id = read.keys[0].ids[0].id.clone();
    let claims = "{t}:run:r:items";
    let _: () = conn.hset_multiple(claims, &[("p1", id.as_str()), ("p2", "someone-else")]).await.expect("claims");
    let guarded = |pcode: &str| Add {
        stream: RESULTS.into(),
        guard: Some((claims.into(), pcode.into(), id.clone())),
        dedupe: Some(("{t}:guarded".into(), pcode.into())),
        counter: Some("enqueued:item".into()),
        fields: vec![("pcode", pcode.into())],
        ..Add::default()
    };
    let step = Step {
        ack: Some((STREAM.into(), id.clone())),
        counters: Some(COUNTERS.into()),
        adds: vec![guarded("p1"), guarded("p2"), guarded("p3")],
        ..Step::default()
    };
    let outcome = queue::apply(&mut conn, GROUP, &[step]).await.expect("apply");
    assert_eq!(outcome, [StepOutcome::Applied { added: 1 }], "only p1 is claimed by the entry");
    let results: redis::streams::StreamRangeReply = conn.xrange_all(RESULTS).await.expect("xrange");
    let pcodes: Vec<String> = results.ids.iter().filter_map(|e| e.get("pcode")).collect();
    assert_eq!(pcodes, ["p1"]);
    let counted: i64 = conn.hget(COUNTERS, "enqueued:item").await.expect("counter");
    assert_eq!(counted, 1);
    let members: Vec<String> = conn.smembers("{t}:guarded").await.expect("smembers");
    assert_eq!(members, ["p1"], "a failed guard leaves the dedupe set alone");
}

/// Panics on its first batch, then works like [`Worker`].
struct PanicsOnce {
    inner: Arc<Worker>,
    panicked: std::sync::atomic::AtomicBool,
}

impl BatchHandler for PanicsOnce {
    async fn handle(self: Arc<Self>, batch: Vec<Delivery>) {
        if !self.panicked.swap(true, Ordering::SeqCst) {
            panic!("handler bug");
        }
        self.inner.clone().handle(batch).await;
    }
}

#[tokio::test]
async fn a_panicking_handler_frees_its_slot_and_its_entry_is_reclaimed() {
    let server = RedisServer::start();
    let pool = pool(&server);
    enqueue(&pool, 4).await;
    let handler = Arc::new(PanicsOnce {
        inner: Worker::new(pool.clone(), Duration::ZERO),
        panicked: std::sync::atomic::AtomicBool::new(false),
    });
    let metrics = WorkerMetrics::default();
    let stop = CancellationToken::new();
    // One slot: had the panic leaked it, nothing after the first entry would run.
    let run = tokio::spawn(consumer::run(pool.clone(), settings("c", 1), handler, metrics.clone(), stop.clone()));
    // The panicked entry stays pending and comes back once idle past claim_idle.
    wait_for_results(&pool, 4).await;
    stop.cancel();
    run.await.expect("loop");
    assert_eq!(metrics.handler_panics.get(), 1);
    assert_eq!(metrics.slots_in_use.get(), 0, "the panicked batch gave its slot back");
}
