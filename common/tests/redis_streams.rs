//! Stream commands against a real password-protected redis-server, through deadpool-redis:
//! what every worker relies on (XADD, XREADGROUP, XACK, XAUTOCLAIM) and that the password is
//! required.

use common::secret::SecretUrl;
use redis::{self, streams, AsyncCommands};
use test_harness::RedisServer;

fn make_pool(url: &str) -> common::redis_pool::Pool {
    let url: SecretUrl = url.parse().expect("url");
    common::redis_pool::pool(&common::redis_pool::Target::Single(url), 4).expect("pool")
}

#[tokio::test]
async fn a_connection_without_the_password_is_refused() {
    let server = RedisServer::start();
    let pool = make_pool(&server.url_without_password());
    let mut conn = pool.get().await.expect("the TCP connection itself is accepted");
    let err = redis::cmd("PING").query_async::<String>(&mut conn).await.expect_err("no password");
    assert!(err.to_string().contains("NOAUTH"), "{err}");

    let wrong = make_pool(&format!("redis://:wrong@127.0.0.1:{}/0", server.port()));
    assert!(wrong.get().await.is_err(), "a wrong password fails at AUTH");
}

#[tokio::test]
async fn xadd_xreadgroup_xack_round_trip() {
    let server = RedisServer::start();
    let pool = make_pool(&server.url());
    let mut conn = pool.get().await.expect("connection");
    let _: () = conn.xgroup_create_mkstream("{t}:jobs", "crawlers", "0").await.expect("group");

    let id: String = conn.xadd("{t}:jobs", "*", &[("kind", "list"), ("body", "{}")]).await.expect("xadd");
    let opts = streams::StreamReadOptions::default().group("crawlers", "c1").count(10);
    let read: streams::StreamReadReply = conn.xread_options(&["{t}:jobs"], &[">"], &opts).await.expect("read");
    let entries = &read.keys[0].ids;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, id);
    assert_eq!(entries[0].get::<String>("kind").as_deref(), Some("list"));

    let pending: streams::StreamPendingReply = conn.xpending("{t}:jobs", "crawlers").await.expect("xpending");
    assert_eq!(pending.count(), 1);
    let acked: i64 = conn.xack("{t}:jobs", "crawlers", &[&id]).await.expect("xack");
    assert_eq!(acked, 1);
    let pending: streams::StreamPendingReply = conn.xpending("{t}:jobs", "crawlers").await.expect("xpending");
    assert_eq!(pending.count(), 0);
}

#[tokio::test]
async fn xautoclaim_moves_idle_entries_to_a_live_consumer() {
    let server = RedisServer::start();
    let pool = make_pool(&server.url());
    let mut conn = pool.get().await.expect("connection");
    let _: () = conn.xgroup_create_mkstream("{t}:jobs", "crawlers", "0").await.expect("group");
    for n in 0..3 {
        let _: String = conn.xadd("{t}:jobs", "*", &[("n", n)]).await.expect("xadd");
    }
    let opts = streams::StreamReadOptions::default().group("crawlers", "dead-consumer").count(10);
    let _: streams::StreamReadReply = conn.xread_options(&["{t}:jobs"], &[">"], &opts).await.expect("read");

    // Idle time 0 makes every pending entry claimable at once, without waiting.
    let claimed: streams::StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
        .arg("{t}:jobs")
        .arg("crawlers")
        .arg("live-consumer")
        .arg(0)
        .arg("0-0")
        .arg("COUNT")
        .arg(2)
        .query_async(&mut conn)
        .await
        .expect("xautoclaim");
    assert_eq!(claimed.claimed.len(), 2, "COUNT bounds the claim");

    let consumers: streams::StreamInfoConsumersReply =
        conn.xinfo_consumers("{t}:jobs", "crawlers").await.expect("xinfo consumers");
    let pending_of = |name: &str| consumers.consumers.iter().find(|c| c.name == name).map(|c| c.pending);
    assert_eq!(pending_of("live-consumer"), Some(2));
    assert_eq!(pending_of("dead-consumer"), Some(1));
}

#[tokio::test]
async fn data_survives_a_restart() {
    let mut server = RedisServer::start();
    let pool_before = make_pool(&server.url());
    let mut conn = pool_before.get().await.expect("connection");
    let _: String = conn.xadd("{t}:jobs", "*", &[("n", 1)]).await.expect("xadd");
    drop(conn);
    server.restart();
    let pool_after = make_pool(&server.url());
    let mut conn = pool_after.get().await.expect("connection after restart");
    let len: usize = conn.xlen("{t}:jobs").await.expect("xlen");
    assert_eq!(len, 1, "the append-only file kept the entry");
}
