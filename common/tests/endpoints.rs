//! The workers' HTTP endpoints: /healthz always, /readyz only while Redis answers, /metrics
//! in Prometheus text format.

use std::net::SocketAddr;
use std::sync::Arc;

use common::endpoints;
use common::metrics::WorkerMetrics;
use common::secret::SecretUrl;
use prometheus_client::registry::Registry;
use test_harness::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let mut redis = RedisServer::start();
    let url: SecretUrl = redis.url().parse().expect("url");
    let pool = common::redis_pool::pool(&common::redis_pool::Target::Single(url), 2).expect("pool");
    let mut registry = Registry::default();
    let metrics = WorkerMetrics::register(&mut registry, 3);
    metrics.count("list", common::metrics::Outcome::Done);
    let stop = CancellationToken::new();
    let addr = endpoints::serve(
        "127.0.0.1:0".parse().expect("addr"),
        Arc::new(registry),
        endpoints::redis_ready(pool),
        stop.clone(),
    )
    .await
    .expect("serves");

    assert_eq!(get(addr, "/healthz").await.0, 200);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("ek_jobs_total{kind=\"list\",outcome=\"done\"} 1"), "{body}");
    assert!(body.contains("ek_slots 3"), "{body}");

    redis.stop();
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("redis"), "{body}");
    assert!(!body.contains(redis.password()), "no secret in the answer");
    assert_eq!(get(addr, "/healthz").await.0, 200, "alive even when Redis is not");
    stop.cancel();
}
