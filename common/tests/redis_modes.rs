//! The pool over Redis with Sentinels and over a Cluster (issue 17), against real servers from
//! the harness: after a planned Sentinel failover (the old primary stays up, demoted) the next
//! write through the same one-connection pool lands on the new primary with no error — Sentinel
//! closes the demoted primary's client connections itself; the pool's `ROLE` check is for a
//! primary demoted without that (`REPLICAOF` by hand) — and on a Cluster the atomic step (a Lua
//! script, EVALSHA with its NOSCRIPT fallback) runs on the slot's primary before and after that
//! primary is killed and its replica promoted.

use clap::Parser;
use common::queue::{self, Add, Step, StepOutcome};
use common::redis_pool::{self, Pool};
use common::settings::RedisSettings;
use redis::AsyncCommands;
use test_harness::{Redis, RedisCluster, RedisSentinel};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    redis: RedisSettings,
}

/// A pool from the harness's environment, read through the same settings as the binaries.
fn pool(redis: &Redis, size: usize) -> Pool {
    let args =
        redis.env().into_iter().map(|(name, value)| format!("--{}={value}", name.to_lowercase().replace('_', "-")));
    let cli =
        Cli::try_parse_from(std::iter::once("test".to_owned()).chain(args)).expect("the harness's settings parse");
    redis_pool::pool(&cli.redis.target().expect("settings fit the mode"), size).expect("pool")
}

/// Writes through the pool, retrying (as every caller of the pool does) through a failover.
async fn set(pool: &Pool, key: &str, value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    for _ in 0..100 {
        match pool.get().await.map_err(redis_pool::pool_error) {
            Ok(mut conn) => match conn.set::<_, _, ()>(key, value).await {
                Ok(()) => return errors,
                Err(e) => errors.push(e.to_string()),
            },
            Err(e) => errors.push(e.to_string()),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("SET never succeeded: {errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sentinel_switch_over_writes_go_to_the_new_primary_at_once() {
    let redis = Redis::Sentinel(RedisSentinel::start());
    // One connection: the one to the old primary is the one the pool would hand out again.
    let pool = pool(&redis, 1);
    assert!(set(&pool, "{ek}:probe", "before").await.is_empty());
    let Redis::Sentinel(mut set_) = redis else { unreachable!() };
    tokio::task::block_in_place(|| set_.switch_over());
    let errors = set(&pool, "{ek}:probe", "after").await;
    assert!(errors.is_empty(), "the demoted primary's connection was reused: {errors:?}");
    let mut conn = pool.get().await.expect("conn");
    let value: String = conn.get("{ek}:probe").await.expect("GET");
    assert_eq!(value, "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_the_atomic_step_runs_on_the_slot_primary_across_a_failover() {
    let redis = Redis::Cluster(RedisCluster::start());
    let pool = pool(&redis, 2);
    let step = |n: usize| Step {
        counters: Some("{ek}:run:r1:counters".into()),
        adds: vec![Add {
            stream: "{ek}:jobs".into(),
            dedupe: Some(("{ek}:run:r1:items".into(), format!("p{n}"))),
            counter: Some("enqueued:item".into()),
            fields: vec![("body", format!("job {n}"))],
            ..Add::default()
        }],
        ..Step::default()
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let first = queue::apply_until_done(&pool, "crawlers", &[step(1)], &shutdown).await;
    assert_eq!(first, Some(vec![StepOutcome::Applied { added: 1 }]));
    let Redis::Cluster(mut cluster) = redis else { unreachable!() };
    tokio::task::block_in_place(|| cluster.fail_over("{ek}"));
    // The promoted replica has the data but not the script cache: NOSCRIPT, then loaded there.
    let again = queue::apply_until_done(&pool, "crawlers", &[step(1), step(2)], &shutdown).await;
    assert_eq!(again, Some(vec![StepOutcome::Applied { added: 0 }, StepOutcome::Applied { added: 1 }]), "p1 deduped");
    let mut conn = pool.get().await.expect("conn");
    let enqueued: i64 = conn.hget("{ek}:run:r1:counters", "enqueued:item").await.expect("HGET");
    let length: i64 = conn.xlen("{ek}:jobs").await.expect("XLEN");
    assert_eq!((enqueued, length), (2, 2), "each job added and counted once");
}
