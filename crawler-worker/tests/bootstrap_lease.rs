//! The fleet's one read of a category page (`lua/bootstrap_take.lua`, `lua/bootstrap_done.lua`)
//! against a real Redis: one crawler gets the lease, the others wait on the ready stream and
//! wake when it shares the values or gives up, and a reader whose lease ran out cannot take
//! another crawler's lease away.

mod harness;

use std::time::{Duration, Instant};

use harness::pool;
use test_harness::RedisServer;

const VALUES: &str = "{ek}:bootstrap:http://sim|862";
const LEASE: &str = "{ek}:bootstrap-lease:http://sim|862";
const READY: &str = "{ek}:bootstrap-ready:http://sim|862";

fn take_script() -> redis::Script {
    redis::Script::new(include_str!("../lua/bootstrap_take.lua"))
}

fn done_script() -> redis::Script {
    redis::Script::new(include_str!("../lua/bootstrap_done.lua"))
}

async fn take(conn: &mut common::redis_pool::Connection, token: &str, lease_ms: u64) -> (u8, String, i64) {
    take_script().key(VALUES).key(LEASE).key(READY).arg(token).arg(lease_ms).invoke_async(conn).await.expect("take")
}

async fn done(conn: &mut common::redis_pool::Connection, token: &str, values: &str) {
    let _: i64 = done_script()
        .key(VALUES)
        .key(LEASE)
        .key(READY)
        .arg(token)
        .arg(values)
        .arg(600)
        .arg(20_000)
        .invoke_async(conn)
        .await
        .expect("done");
}

/// Blocks on the ready stream from `id`, as a waiting crawler does; how long it took.
async fn wait_ready(conn: &mut common::redis_pool::Connection, id: &str, block_ms: u64) -> Duration {
    let started = Instant::now();
    let _: redis::Value = redis::cmd("XREAD")
        .arg("BLOCK")
        .arg(block_ms)
        .arg("STREAMS")
        .arg(READY)
        .arg(id)
        .query_async(conn)
        .await
        .expect("xread");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_crawler_reads_and_the_waiters_wake_when_it_shares() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let (mut reader, mut waiter) = (pool.get().await.expect("conn"), pool.get().await.expect("conn"));

    assert_eq!(take(&mut reader, "a", 20_000).await.0, 2, "the first crawler gets the lease");
    let (kind, id, lease_left) = take(&mut waiter, "b", 20_000).await;
    assert_eq!(kind, 3, "the second waits");
    assert!(lease_left > 10_000 && lease_left <= 20_000, "{lease_left}");

    let wait = tokio::spawn(async move {
        let took = wait_ready(&mut waiter, &id, 10_000).await;
        (took, take(&mut waiter, "b", 20_000).await)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    done(&mut reader, "a", r#"{"shared":true}"#).await;
    let (took, after) = wait.await.expect("waiter");
    assert!(took < Duration::from_secs(5), "woken by the share, not by the block's end: {took:?}");
    assert_eq!((after.0, after.1.as_str()), (1, r#"{"shared":true}"#), "the waiter gets the values");

    let lease: Option<String> = redis::cmd("GET").arg(LEASE).query_async(&mut reader).await.expect("get");
    assert_eq!(lease, None, "the lease is let go");
    let ttl: i64 = redis::cmd("PTTL").arg(READY).query_async(&mut reader).await.expect("pttl");
    assert!(ttl > 0 && ttl <= 20_000, "the ready stream expires: {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_fails_lets_a_waiter_read_at_once() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let (mut reader, mut waiter) = (pool.get().await.expect("conn"), pool.get().await.expect("conn"));

    assert_eq!(take(&mut reader, "a", 20_000).await.0, 2);
    let (_, id, _) = take(&mut waiter, "b", 20_000).await;
    let wait = tokio::spawn(async move {
        let took = wait_ready(&mut waiter, &id, 10_000).await;
        (took, take(&mut waiter, "b", 20_000).await)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    done(&mut reader, "a", "").await; // the read failed: nothing to share
    let (took, after) = wait.await.expect("waiter");
    assert!(took < Duration::from_secs(5), "woken by the give-up: {took:?}");
    assert_eq!(after.0, 2, "the waiter takes the lease and reads the page itself");
    let values: Option<String> = redis::cmd("GET").arg(VALUES).query_async(&mut reader).await.expect("get");
    assert_eq!(values, None, "a failed read shares nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_whose_lease_ran_out_does_not_free_the_next_readers() {
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let mut conn = pool.get().await.expect("conn");

    assert_eq!(take(&mut conn, "slow", 100).await.0, 2);
    tokio::time::sleep(Duration::from_millis(250)).await; // the lease runs out
    assert_eq!(take(&mut conn, "next", 20_000).await.0, 2, "after the lease, another crawler reads");
    done(&mut conn, "slow", "").await; // the slow one gives up late
    let lease: Option<String> = redis::cmd("GET").arg(LEASE).query_async(&mut conn).await.expect("get");
    assert_eq!(lease.as_deref(), Some("next"), "the late give-up left the next reader's lease alone");
    assert_eq!(take(&mut conn, "third", 20_000).await.0, 3, "and a third crawler waits for it");
}
