//! `producer run` against a real Redis: start, resume without enqueuing twice, `--fresh`
//! refused while work is pending (and forced), completion detected from the counters with
//! the right summary, and a bad config rejected before anything is enqueued.

mod support;

use std::process::Command;
use std::time::Duration;

use common::keys::CRAWLERS_GROUP;
use producer::run::{self, Outcome};
use producer::run_state;
use support::{Crawl, Env, Expected};
use tokio_util::sync::CancellationToken;

async fn interrupted_run(env: &Env, options: &run::RunOptions) -> String {
    match run::run(&env.pool, &env.keys, options, &support::stopped()).await.expect("run") {
        Outcome::Interrupted { run_id } => run_id,
        other => panic!("expected an interrupted run, got {other:?}"),
    }
}

#[tokio::test]
async fn a_restarted_producer_resumes_the_run_and_enqueues_nothing_twice() {
    let env = Env::start();
    let options = support::options(env.write_config("config.json", support::CONFIG));
    let first = interrupted_run(&env, &options).await;
    let mut conn = env.conn().await;
    let counters = env.keys.run_counters(&first);
    // 2 cpu first pages (fan-out) + case pages 1..3.
    assert_eq!(support::xlen(&mut conn, &env.keys.jobs()).await, 5);
    assert_eq!(support::hgetall(&mut conn, &counters).await.get("enqueued:list").map(String::as_str), Some("5"));

    // A crawler fans a first page out to pages 2 and 3: the resume must not add them again.
    assert!(support::crawl_once(&env.pool, &env.keys, Crawl::Succeed).await);
    let before = (support::xlen(&mut conn, &env.keys.jobs()).await, support::hgetall(&mut conn, &counters).await);

    let second = interrupted_run(&env, &options).await;
    assert_eq!(second, first, "same run id");
    let after = (support::xlen(&mut conn, &env.keys.jobs()).await, support::hgetall(&mut conn, &counters).await);
    assert_eq!(after, before, "stream length and counters unchanged by the resume");
    let run = run_state::read(&mut conn, &env.keys).await.expect("read").0.expect("run");
    assert!(run.is_running());
}

#[tokio::test]
async fn fresh_is_refused_while_entries_are_pending_and_forced_with_force() {
    let env = Env::start();
    let config = env.write_config("config.json", support::CONFIG);
    let old = interrupted_run(&env, &support::options(config.clone())).await;
    let mut conn = env.conn().await;
    // A worker holds one entry, unacknowledged.
    support::read_one(&mut conn, &env.keys.jobs(), CRAWLERS_GROUP, "busy-worker").await.expect("an entry");

    let out = Command::new(env!("CARGO_BIN_EXE_producer"))
        .args(["run", "--config"])
        .arg(&config)
        .arg("--fresh")
        .env("REDIS_URL", env.redis.url())
        .env("EK_PROGRESS", "none")
        .output()
        .expect("run producer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("refusing to start a fresh run") && stderr.contains("--force"), "{stderr}");
    assert!(!stderr.contains(env.redis.password()), "no secret in the output");
    let current = run_state::read(&mut conn, &env.keys).await.expect("read").0.expect("run");
    assert_eq!(current.id, old, "the running run is untouched");

    let mut forced = support::options(config);
    forced.fresh = true;
    forced.force = true;
    let new = interrupted_run(&env, &forced).await;
    assert_ne!(new, old);
    let hash = support::hgetall(&mut conn, &env.keys.run()).await;
    assert_eq!(hash.get("replaced").map(String::as_str), Some(format!("{old} (running)").as_str()));
    let old_ttl = support::ttl(&mut conn, &env.keys.run_counters(&old)).await;
    assert!(old_ttl > 0, "the abandoned run's counters expire (ttl {old_ttl})");
    let new_counters = support::hgetall(&mut conn, &env.keys.run_counters(&new)).await;
    assert_eq!(new_counters.get("enqueued:list").map(String::as_str), Some("5"), "the new run enqueued afresh");
}

#[tokio::test]
async fn the_run_is_marked_done_when_the_counters_balance_and_the_summary_adds_up() {
    let env = Env::start();
    let options = support::options(env.write_config("config.json", support::CONFIG));
    let stop = CancellationToken::new();
    let workers =
        support::spawn_workers(env.pool.clone(), env.keys.clone(), Crawl::Succeed, Duration::ZERO, stop.clone());
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        run::run(&env.pool, &env.keys, &options, &CancellationToken::new()),
    )
    .await
    .expect("the run finishes")
    .expect("run");
    stop.cancel();
    workers.await.expect("workers");
    let Outcome::Finished(summary) = outcome else { panic!("not finished: {outcome:?}") };

    assert_eq!((summary.list_pages.done, summary.list_pages.dead), (Expected::LIST_PAGES, 0));
    assert_eq!((summary.items.done, summary.items.dead), (Expected::ITEMS, 0));
    assert_eq!(summary.results.done, Expected::LIST_PAGES + Expected::ITEMS);
    assert_eq!(summary.parts_inserted, Expected::PARTS_INSERTED);
    assert_eq!(summary.parts_updated, Expected::ITEMS);
    assert_eq!(summary.requests, Expected::LIST_PAGES + Expected::ITEMS);
    assert_eq!(summary.dead_letters, 0);
    assert!(summary.duration_secs > 0.0 && summary.requests_per_sec > 0.0, "{summary:?}");
    let text = summary.to_string();
    assert!(text.contains(&format!("list pages    {:>7} done", Expected::LIST_PAGES)), "{text}");

    let mut conn = env.conn().await;
    let run = run_state::read(&mut conn, &env.keys).await.expect("read").0.expect("run");
    assert_eq!(run.state, "done");
    assert!(run.finished_at.is_some());
    for key in [env.keys.run_counters(&run.id), env.keys.run_pages_seen(&run.id)] {
        let ttl = support::ttl(&mut conn, &key).await;
        assert!(ttl > 6 * 24 * 3600, "{key} expires in about 7 days, ttl {ttl}");
    }
    assert_eq!(support::xlen(&mut conn, &env.keys.jobs()).await, 0);
    assert_eq!(support::xlen(&mut conn, &env.keys.results()).await, 0);

    // The next `producer run` starts a new run: the done one is not resumed.
    let next = interrupted_run(&env, &options).await;
    assert_ne!(next, run.id);
}

#[tokio::test]
async fn a_bad_config_exits_2_before_anything_is_enqueued() {
    let env = Env::start();
    let bad = env.write_config("bad.json", r#"{"pageBaseUrl": "ftp://x/", "categories": []}"#);
    let out = Command::new(env!("CARGO_BIN_EXE_producer"))
        .args(["run", "--config"])
        .arg(&bad)
        .env("REDIS_URL", env.redis.url())
        .output()
        .expect("run producer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.json:1:") && stderr.contains("pageBaseUrl"), "{stderr}");
    let mut conn = env.conn().await;
    let exists: u64 =
        redis::cmd("EXISTS").arg(env.keys.jobs()).arg(env.keys.run()).query_async(&mut conn).await.expect("exists");
    assert_eq!(exists, 0, "neither the jobs stream nor a run hash exists");
}
