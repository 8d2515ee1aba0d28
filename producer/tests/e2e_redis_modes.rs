//! The whole pipeline (producer, two crawlers, two updaters, danawa-sim, SecantusDB) on Redis
//! run highly available (issue 17): a primary with a replica watched by three Sentinels, and a
//! 3+3 Cluster. Mid-run the primary holding the keys is killed and its replica promoted; the
//! run still completes with `parts` equal to the ground truth, every sample of the status
//! balanced, and every part counted once — nothing lost, nothing counted twice. `producer
//! serve` reads the queue gauges and Redis's memory through the failover too.

mod pipeline;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use danawa_sim::{CatalogueParams, FaultConfig, Latency, SimConfig};
use pipeline::{assert_equals_truth, Pipeline};
use test_harness::{Child, Redis, RedisCluster, RedisSentinel};

/// 9 categories (every one the config names) × 40 entries, each answer 20 ms late: a run of some seconds, long enough for
/// a failover to land in its middle.
fn sim() -> SimConfig {
    SimConfig {
        catalogue: CatalogueParams { seed: 17, categories: 9, products_per_category: 40, max_variants: 2 },
        faults: FaultConfig { latency: Latency::Fixed { ms: 20 }, ..FaultConfig::default() },
        ..SimConfig::default()
    }
}

/// Finished entries before the primary is killed: well into the run, far from its end.
const FAIL_OVER_AFTER_DONE: u64 = 60;

/// Runs the pipeline, calls `fail_over` once `FAIL_OVER_AFTER_DONE` entries are done, and
/// checks the outcome against the truth; returns how long the failover took.
async fn run_through_a_failover(pipeline: &mut Pipeline, fail_over: impl Fn(&mut Redis) -> Duration) -> Duration {
    let workers: Vec<Child> =
        (0..2).flat_map(|n| [pipeline.worker("crawler", n), pipeline.worker("updater", n)]).collect();
    let serve_port = test_harness::free_port();
    let mut serve_cmd = pipeline.producer(&["serve"]);
    serve_cmd.env("EK_HTTP_ADDR", format!("127.0.0.1:{serve_port}"));
    let serve = Child::spawn(serve_cmd, &pipeline.dir.path().join("serve.log")).expect("producer serve");
    let mut producer = pipeline.run_producer();
    let mut took = None;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(status) = producer.try_wait() {
            assert_eq!(status.code(), Some(0), "the run completes");
            break;
        }
        assert!(Instant::now() < deadline, "the run did not finish");
        // During the failover itself `status` cannot reach Redis; it is read before and after.
        let status = pipeline.status();
        assert_eq!(status["balanced"], true, "status balances at every sample: {status}");
        if took.is_none() && status["total"]["done"].as_u64().unwrap_or(0) >= FAIL_OVER_AFTER_DONE {
            took = Some(tokio::task::block_in_place(|| fail_over(&mut pipeline.redis)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = took.expect("the primary was killed before the run ended (the run was too short)");
    let status = pipeline.status();
    let truth = pipeline.truth();
    assert_eq!(status["balanced"], true, "{status}");
    assert_eq!(status["total"]["dead"].as_u64(), Some(0), "nothing dead-lettered: {status}");
    assert_eq!(status["total"]["inFlight"].as_u64(), Some(0), "nothing left in flight: {status}");
    assert_eq!(status["partsInserted"].as_u64(), Some(truth.len() as u64), "every part counted once: {status}");
    let parts = pipeline.parts().await;
    assert_equals_truth(&parts, &truth);
    assert!(parts.values().all(|p| !p.is_updating), "no part left isUpdating");
    let logs = std::fs::read_dir(pipeline.dir.path()).expect("logs").flatten();
    for log in logs.filter(|e| e.path().extension().is_some_and(|x| x == "log")) {
        let text = std::fs::read_to_string(log.path()).unwrap_or_default();
        assert!(!text.contains(pipeline.redis.password()), "no password in {}", log.path().display());
    }
    let metrics = metrics(serve_port);
    for gauge in ["ek_redis_up 1", "ek_redis_memory_used_bytes "] {
        assert!(metrics.lines().any(|l| l.starts_with(gauge)), "producer serve: no `{gauge}` in\n{metrics}");
    }
    drop((workers, serve));
    took
}

/// The body of `GET /metrics` from `producer serve`, once it answers with a fresh reading.
fn metrics(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = std::net::TcpStream::connect(("127.0.0.1", port)).ok().and_then(|mut s| {
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").ok()?;
            let mut text = String::new();
            s.read_to_string(&mut text).ok()?;
            Some(text)
        });
        match body {
            Some(text) if text.contains("ek_redis_up 1") || Instant::now() > deadline => return text,
            _ => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sentinel_a_killed_primary_loses_nothing_and_counts_nothing_twice() {
    let mut pipeline = Pipeline::start_on(Redis::Sentinel(RedisSentinel::start()), sim()).await;
    let took = run_through_a_failover(&mut pipeline, |redis| match redis {
        Redis::Sentinel(set) => set.fail_over(),
        _ => unreachable!("started on Sentinel"),
    })
    .await;
    eprintln!("sentinel failover took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_a_killed_primary_loses_nothing_and_counts_nothing_twice() {
    let mut pipeline = Pipeline::start_on(Redis::Cluster(RedisCluster::start()), sim()).await;
    let took = run_through_a_failover(&mut pipeline, |redis| match redis {
        // Every key carries the `{ek}` hash tag: one slot, one primary to kill.
        Redis::Cluster(cluster) => cluster.fail_over("{ek}"),
        _ => unreachable!("started on a Cluster"),
    })
    .await;
    eprintln!("cluster failover took {took:?}");
}
