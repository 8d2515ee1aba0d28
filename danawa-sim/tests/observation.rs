//! Observation endpoints (stats, log, reset) and the sticky Next.js variant.

mod common;

use common::{small, start};
use futures::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_requests_headers_peers_and_concurrency() {
    let mut config = small(1, 30);
    config.faults.latency = danawa_sim::Latency::Fixed { ms: 100 };
    let sim = start(config).await;
    let client = reqwest::Client::builder().user_agent("Mozilla/5.0 test-agent").build().unwrap();
    let url = format!("{}/list/?cate=112747", sim.origin());
    futures::stream::iter(0..12)
        .map(|_| client.get(&url).header("Referer", "https://prod.danawa.com/").send())
        .buffer_unordered(6)
        .collect::<Vec<_>>()
        .await;
    let stats: serde_json::Value =
        client.get(format!("{}/_sim/stats", sim.origin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["requests"], 12);
    assert_eq!(stats["by_endpoint"]["list_page"], 12);
    assert_eq!(stats["headers"]["user_agent"]["Mozilla/5.0 test-agent"], 12);
    assert_eq!(stats["headers"]["referer"]["https://prod.danawa.com/"], 12);
    assert_eq!(stats["peers"]["127.0.0.1"], 12);
    assert!(stats["peak_concurrency"].as_u64().unwrap() >= 5, "{stats}");
    let log: serde_json::Value =
        client.get(format!("{}/_sim/log?since=10", sim.origin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(log.as_array().unwrap().len(), 2);
    assert_eq!(log[0]["endpoint"], "list_page");
    client.post(format!("{}/_sim/reset", sim.origin())).send().await.unwrap();
    assert_eq!(sim.state().observer.stats().requests, 0);
    sim.shutdown().await;
}

async fn is_next(client: &reqwest::Client, url: &str) -> bool {
    let body = client.get(url).send().await.unwrap().text().await.unwrap();
    let next = body.contains("self.__next_f.push") && body.contains("totalCount") && body.contains("totalPages");
    assert_eq!(next, !body.contains("var oGlobalSetting"));
    next
}

#[tokio::test]
async fn the_next_variant_sticks_to_the_connection() {
    let mut config = small(1, 30);
    config.next_share = 0.5;
    let sim = start(config).await;
    let url = format!("{}/list/?cate=112747", sim.origin());
    let legacy = format!("{}/list/index.php?cate=112747", sim.origin());
    // DANAWA.md "Newer evidence": both URLs serve either template, per connection.
    let mut next_connections = 0;
    for _ in 0..40 {
        // A fresh client is a fresh connection.
        let client = reqwest::Client::new();
        let first = is_next(&client, &url).await;
        assert_eq!(is_next(&client, &url).await, first, "sticky per connection");
        assert_eq!(is_next(&client, &legacy).await, first, "index.php is routed the same way");
        next_connections += usize::from(first);
    }
    assert!((8..=32).contains(&next_connections), "about half of 40 connections: {next_connections}");
    sim.shutdown().await;
}
