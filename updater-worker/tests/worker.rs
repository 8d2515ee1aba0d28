//! The updater end to end on real Redis and SecantusDB, through the shared consumer loop:
//! results are written and acked with their item jobs in one step, bad entries are
//! dead-lettered, and a batch committed by a consumer that died before its ack is redelivered
//! without changing the database.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::consumer::{self, ConsumerSettings};
use common::keys::{Keys, UPDATERS_GROUP};
use common::messages::{CrawlResult, DeadLetter, DeadReason, Job};
use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;
use support::{run_now, single, without_updated_at, Env, ListSpec, PREFIX};
use tokio_util::sync::CancellationToken;
use updater_worker::metrics::UpdaterMetrics;
use updater_worker::store::Entry;
use updater_worker::worker::UpdateHandler;

async fn redis(env: &Env) -> MultiplexedConnection {
    let client = redis::Client::open(env.redis.url()).expect("client");
    client.get_multiplexed_async_connection().await.expect("redis")
}

async fn add(conn: &mut MultiplexedConnection, fields: Vec<(&'static str, String)>) -> String {
    conn.xadd(Keys::new(PREFIX).results(), "*", &fields).await.expect("xadd")
}

/// Runs the consumer loop with an [`UpdateHandler`] until `done` says the work is finished.
async fn run_updater(env: &Env, claim_idle: Duration, mut done: impl AsyncFnMut() -> bool) {
    let url = env.redis.url().parse().expect("url");
    let pool = common::redis_pool::pool(&common::redis_pool::Target::Single(url), 4).expect("pool");
    let shutdown = CancellationToken::new();
    let metrics = UpdaterMetrics::unregistered();
    let handler = Arc::new(UpdateHandler {
        pool: pool.clone(),
        keys: Keys::new(PREFIX),
        store: env.store.clone(),
        max_deliveries: 5,
        metrics: metrics.clone(),
        shutdown: shutdown.clone(),
    });
    let settings = ConsumerSettings {
        stream: Keys::new(PREFIX).results(),
        group: UPDATERS_GROUP.into(),
        consumer: "updater-test".into(),
        slots: 1,
        batch_size: 10,
        batch_wait: Duration::from_millis(50),
        claim_interval: Duration::from_millis(100),
        claim_idle,
        shutdown_grace: Duration::from_secs(5),
    };
    let loop_task = tokio::spawn(consumer::run(pool, settings, handler, metrics.worker.clone(), shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "the updater did not finish in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    loop_task.await.expect("consumer loop");
}

async fn stream(conn: &mut MultiplexedConnection, key: &str) -> Vec<HashMap<String, redis::Value>> {
    let reply: redis::streams::StreamRangeReply = conn.xrange_all(key).await.expect("xrange");
    reply.ids.into_iter().map(|entry| entry.map).collect()
}

async fn pending(conn: &mut MultiplexedConnection) -> usize {
    let reply: redis::streams::StreamPendingReply =
        conn.xpending(Keys::new(PREFIX).results(), UPDATERS_GROUP).await.expect("xpending");
    reply.count()
}

#[tokio::test]
async fn results_are_written_acked_with_their_item_jobs_or_dead_lettered() {
    let env = Env::start().await;
    let keys = Keys::new(PREFIX);
    let mut conn = redis(&env).await;
    let spec = ListSpec::new("r1", "cpu", run_now()).items(run_now());
    add(&mut conn, spec.result(vec![single("1", 0), single("2", 1), single("3", 2)]).to_fields()).await;
    add(&mut conn, spec.result(vec![single("x9", 3)]).to_fields()).await;
    add(&mut conn, vec![("v", "1".into()), ("kind", "list-result".into()), ("body", "{".into())]).await;

    run_updater(&env, Duration::from_secs(60), async || {
        let len: usize = conn.xlen(keys.results()).await.expect("xlen");
        len == 0
    })
    .await;

    let jobs: Vec<Job> =
        stream(&mut conn, &keys.jobs()).await.iter().map(|f| Job::from_fields(f).expect("job")).collect();
    let pcodes: Vec<&str> = jobs
        .iter()
        .map(|j| match j {
            Job::Item(item) => item.pcode.as_str(),
            Job::List(_) => panic!("a list job"),
        })
        .collect();
    assert_eq!(pcodes, ["1", "2", "3"]);
    let dead: Vec<DeadLetter> = stream(&mut conn, &keys.dead())
        .await
        .iter()
        .map(|f| DeadLetter::from_fields(f).expect("dead letter"))
        .collect();
    let reasons: Vec<DeadReason> = dead.iter().map(|d| d.reason).collect();
    assert_eq!(reasons, [DeadReason::Invalid, DeadReason::Undecodable]);
    assert!(dead[0].last_error.contains("not a pcode"), "{}", dead[0].last_error);
    let counters: HashMap<String, i64> = conn.hgetall(keys.run_counters("r1")).await.expect("counters");
    assert_eq!(counters.get("done:list-result"), Some(&1));
    assert_eq!(counters.get("dead:list-result"), Some(&1));
    assert_eq!(counters.get("enqueued:item"), Some(&3));
    assert_eq!(pending(&mut conn).await, 0);
    env.assert_contract().await;
}

#[tokio::test]
async fn a_batch_committed_by_a_consumer_that_died_before_its_ack_is_redelivered_harmlessly() {
    let env = Env::start().await;
    let keys = Keys::new(PREFIX);
    let mut conn = redis(&env).await;
    let spec = ListSpec::new("r1", "cpu", run_now()).items(run_now());
    let result: CrawlResult = spec.result(vec![single("1", 0), single("2", 1)]);
    let id = add(&mut conn, result.to_fields()).await;
    // A consumer reads the entry, commits its transaction, and is killed before the ack.
    consumer::ensure_group(&mut conn, &keys.results(), UPDATERS_GROUP).await.expect("group");
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(UPDATERS_GROUP)
        .arg("killed")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(keys.results())
        .arg(">")
        .query_async(&mut conn)
        .await
        .expect("read");
    env.store.apply_batch(&[Entry { id: &id, result: &result }]).await.expect("commit");
    let committed = without_updated_at(&env.all().await);

    // Another consumer reclaims the idle entry and writes it again.
    run_updater(&env, Duration::from_millis(200), async || pending(&mut conn).await == 0).await;

    assert_eq!(without_updated_at(&env.all().await), committed, "the redelivery changed nothing");
    let jobs = stream(&mut conn, &keys.jobs()).await;
    assert_eq!(jobs.len(), 2, "the item jobs are enqueued once, with the ack");
    let counters: HashMap<String, i64> = conn.hgetall(keys.run_counters("r1")).await.expect("counters");
    assert_eq!(counters.get("done:list-result"), Some(&1));
    env.assert_contract().await;
}

#[tokio::test]
async fn a_dead_lettered_list_result_still_enqueues_the_item_jobs_of_the_pcodes_it_claimed() {
    let env = Env::start().await;
    let keys = Keys::new(PREFIX);
    let mut conn = redis(&env).await;
    let spec = ListSpec::new("r1", "cpu", run_now()).items(run_now());
    // Two filters list part 2: E1 lists 1 and 2, E2 lists 2 and 3.
    let first: CrawlResult = spec.result(vec![single("1", 0), single("2", 1)]);
    let second: CrawlResult = spec.result(vec![single("2", 3), single("3", 4)]);
    let id = add(&mut conn, first.to_fields()).await;
    // E1's consumers kept dying after their commit: its claims (1 and 2) are made, its
    // deliveries are used up, and it is never acked.
    consumer::ensure_group(&mut conn, &keys.results(), UPDATERS_GROUP).await.expect("group");
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(UPDATERS_GROUP)
        .arg("killed")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(keys.results())
        .arg(">")
        .query_async(&mut conn)
        .await
        .expect("read");
    env.store.apply_batch(&[Entry { id: &id, result: &first }]).await.expect("commit");
    let _: redis::Value = redis::cmd("XCLAIM")
        .arg(keys.results())
        .arg(UPDATERS_GROUP)
        .arg("killed")
        .arg(0)
        .arg(&id)
        .arg("RETRYCOUNT")
        .arg(5)
        .query_async(&mut conn)
        .await
        .expect("xclaim");
    add(&mut conn, second.to_fields()).await;

    // The live updater reclaims E1 (a 6th delivery: dead-lettered) and writes E2, whose claim
    // of part 2 fails: E1 owns it.
    run_updater(&env, Duration::from_millis(200), async || {
        let len: usize = conn.xlen(keys.results()).await.expect("xlen");
        len == 0
    })
    .await;

    let dead: Vec<DeadLetter> = stream(&mut conn, &keys.dead())
        .await
        .iter()
        .map(|f| DeadLetter::from_fields(f).expect("dead letter"))
        .collect();
    assert_eq!(dead.iter().map(|d| d.reason).collect::<Vec<_>>(), [DeadReason::MaxDeliveries]);
    let mut pcodes: Vec<String> = stream(&mut conn, &keys.jobs())
        .await
        .iter()
        .map(|f| match Job::from_fields(f).expect("job") {
            Job::Item(item) => item.pcode,
            Job::List(_) => panic!("a list job"),
        })
        .collect();
    pcodes.sort();
    assert_eq!(pcodes, ["1", "2", "3"], "every listed pcode gets its item job in this run, once");
    let counters: HashMap<String, i64> = conn.hgetall(keys.run_counters("r1")).await.expect("counters");
    assert_eq!(counters.get("dead:list-result"), Some(&1));
    assert_eq!(counters.get("done:list-result"), Some(&1));
    assert_eq!(counters.get("enqueued:item"), Some(&3), "the dead letter's item jobs are counted");
    assert_eq!(pending(&mut conn).await, 0);
    env.assert_contract().await;
}
