//! `producer run` against a real Redis: start, resume without enqueuing twice, `--fresh`
//! refused while work is pending (and forced), completion detected from the counters with
//! the right summary, and a bad config rejected before anything is enqueued.

mod support;

use std::process::Command;
use std::time::Duration;

use common::keys::{CRAWLERS_GROUP, UPDATERS_GROUP};
use producer::run::{self, Outcome};
use producer::run_state;
use support::{Crawl, Env, Expected};
use tokio_util::sync::CancellationToken;

async fn interrupted_run(env: &Env, options: &run::RunOptions) -> String {
    match run::run_to_end(&env.pool, &env.keys, options, &support::stopped()).await.expect("run") {
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
        run::run_to_end(&env.pool, &env.keys, &options, &CancellationToken::new()),
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
    let key = env.keys.run_counters(&run.id);
    let ttl = support::ttl(&mut conn, &key).await;
    assert!(ttl > 6 * 24 * 3600, "{key} expires in about 7 days, ttl {ttl}");
    // No list work was dead-lettered: nothing can be retried that needs the dedupe sets.
    for key in [env.keys.run_pages_seen(&run.id), env.keys.run_items_seen(&run.id), env.keys.run_list_prints(&run.id)] {
        let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut conn).await.expect("exists");
        assert!(!exists, "{key} is deleted when the run finishes");
    }
    assert_eq!(support::xlen(&mut conn, &env.keys.jobs()).await, 0);
    assert_eq!(support::xlen(&mut conn, &env.keys.results()).await, 0);

    // The next `producer run` starts a new run: the done one is not resumed.
    let next = interrupted_run(&env, &options).await;
    assert_ne!(next, run.id);
}

#[tokio::test]
async fn a_run_whose_list_work_was_dead_lettered_keeps_its_dedupe_sets_for_a_retry() {
    use common::queue::counter;
    let env = Env::start();
    let mut conn = env.conn().await;
    let run_id = "20261202-000000-dead";
    let (pages, items) = (env.keys.run_pages_seen(run_id), env.keys.run_items_seen(run_id));
    let () = redis::cmd("HSET")
        .arg(env.keys.run())
        .arg(run_state::field::ID)
        .arg(run_id)
        .arg(run_state::field::STATE)
        .arg("running")
        .query_async(&mut conn)
        .await
        .expect("run hash");
    // One list page crawled, its result dead-lettered by the updater: the run is done, and a
    // retried dead letter will need the claims of the pcodes other pages hold.
    let () = redis::cmd("HSET")
        .arg(env.keys.run_counters(run_id))
        .arg(counter::enqueued("list"))
        .arg(1)
        .arg(counter::done("list"))
        .arg(1)
        .arg(counter::enqueued("list-result"))
        .arg(1)
        .arg(counter::dead("list-result"))
        .arg(1)
        .query_async(&mut conn)
        .await
        .expect("counters");
    let () = redis::cmd("SADD").arg(&pages).arg("cpu||1").query_async(&mut conn).await.expect("pages");
    let () = redis::cmd("HSET").arg(&items).arg("1234").arg("1-1").query_async(&mut conn).await.expect("claims");

    let finished = run_state::finish(&mut conn, &env.keys, run_id, chrono::Utc::now(), Duration::from_secs(600))
        .await
        .expect("finish");
    assert_eq!(finished, run_state::Finish::Done);
    for key in [&pages, &items] {
        let ttl = support::ttl(&mut conn, key).await;
        assert!(ttl > 500 && ttl <= 600, "{key} is kept for --keep-for, ttl {ttl}");
    }
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

/// The `run` field of every entry of a stream.
async fn runs_in(conn: &mut common::redis_pool::Connection, stream: &str) -> Vec<String> {
    let reply: redis::streams::StreamRangeReply =
        redis::cmd("XRANGE").arg(stream).arg("-").arg("+").query_async(conn).await.expect("xrange");
    reply.ids.iter().map(|e| e.get::<String>("run").unwrap_or_default()).collect()
}

#[tokio::test]
async fn a_forced_fresh_run_removes_every_entry_of_the_old_run_and_counts_it_superseded() {
    let env = Env::start();
    let keys = &env.keys;
    let config = env.write_config("config.json", support::CONFIG);
    let old = interrupted_run(&env, &support::options(config.clone())).await;
    // Old work in every state: crawled (results waiting, fan-out jobs undelivered), a result
    // pending at an updater, a job pending at a crawler that finishes it after the new start.
    assert!(support::crawl_once(&env.pool, keys, Crawl::Succeed).await);
    assert!(support::crawl_once(&env.pool, keys, Crawl::Succeed).await);
    let mut conn = env.conn().await;
    support::read_one(&mut conn, &keys.results(), UPDATERS_GROUP, "busy-updater").await.expect("a result");
    let (held, fields) =
        support::read_one(&mut conn, &keys.jobs(), CRAWLERS_GROUP, "busy-crawler").await.expect("a job");
    let before = (support::xlen(&mut conn, &keys.jobs()).await, support::xlen(&mut conn, &keys.results()).await);
    assert!(before.0 > 3 && before.1 == 2, "old entries in both streams: {before:?}");

    let mut forced = support::options(config);
    forced.fresh = true;
    forced.force = true;
    let new = interrupted_run(&env, &forced).await;

    let jobs = runs_in(&mut conn, &keys.jobs()).await;
    assert_eq!(jobs, vec![new.clone(); 5], "only the new run's list jobs are left");
    assert_eq!(runs_in(&mut conn, &keys.results()).await, Vec::<String>::new());
    let counters =
        producer::counters::RunCounters::from_hash(&support::hgetall(&mut conn, &keys.run_counters(&old)).await);
    assert!(counters.balances() && counters.kinds.iter().all(|k| k.in_flight == 0), "{counters:?}");
    let superseded: i64 = counters.kinds.iter().map(|k| k.superseded).sum();
    assert_eq!(superseded, i64::try_from(before.0 + before.1).expect("small"), "{counters:?}");

    // The crawler that held an old job finishes it: already acknowledged, it adds nothing.
    let job = common::messages::Job::from_fields(&fields).expect("job");
    let step = common::queue::Step {
        ack: Some((keys.jobs(), held)),
        counters: Some(keys.run_counters(job.run_id())),
        increments: vec![(common::queue::counter::done("list"), 1)],
        adds: vec![common::queue::Add {
            stream: keys.results(),
            counter: Some(common::queue::counter::enqueued("list-result")),
            fields: vec![("run", old.clone())],
            ..common::queue::Add::default()
        }],
    };
    let outcome = common::queue::apply(&mut conn, CRAWLERS_GROUP, &[step]).await.expect("apply");
    assert_eq!(outcome, [common::queue::StepOutcome::AlreadyAcked]);
    assert_eq!(support::xlen(&mut conn, &keys.results()).await, 0);
    let after =
        producer::counters::RunCounters::from_hash(&support::hgetall(&mut conn, &keys.run_counters(&old)).await);
    assert_eq!(after, counters, "the old run's counters did not move");

    // `producer status` agrees: the streams hold exactly what the new run's counters say, and
    // the replaced run balances with its superseded entries.
    let status = producer::status::collect(&mut conn, keys, &mut Vec::new()).await.expect("status");
    assert!(status.balanced && status.streams.iter().all(|s| s.matches_counters), "{status:?}");
    let replaced = status.replaced.expect("the replaced run is shown");
    assert_eq!((replaced.id.as_str(), replaced.balanced, replaced.total.superseded), (old.as_str(), true, superseded));
}

#[tokio::test]
async fn a_long_stream_is_superseded_in_bounded_chunks_and_a_half_done_sweep_is_finished() {
    let env = Env::start();
    let keys = &env.keys;
    let config = env.write_config("config.json", support::CONFIG);
    let old = interrupted_run(&env, &support::options(config.clone())).await;
    let mut conn = env.conn().await;
    // 2.5 chunks of item jobs of the old run, counted as enqueued like the updater counts them.
    let extra = producer::run_state::SUPERSEDE_CHUNK * 5 / 2;
    let mut pipe = redis::pipe();
    for _ in 0..extra {
        pipe.cmd("XADD").arg(keys.jobs()).arg("*").arg("v").arg("1").arg("kind").arg("item").arg("run").arg(&old);
        pipe.cmd("HINCRBY").arg(keys.run_counters(&old)).arg("enqueued:item").arg(1);
    }
    let _: Vec<redis::Value> = pipe.query_async(&mut conn).await.expect("xadd");
    // A producer that started a run earlier stopped before counting what it moved aside.
    let half_done = keys.superseded(&keys.results());
    let _: String = redis::cmd("XADD")
        .arg(&half_done)
        .arg("*")
        .arg("kind")
        .arg("list-result")
        .arg("run")
        .arg(&old)
        .query_async(&mut conn)
        .await
        .expect("xadd");
    let _: i64 = redis::cmd("HINCRBY")
        .arg(keys.run_counters(&old))
        .arg("enqueued:list-result")
        .arg(1)
        .query_async(&mut conn)
        .await
        .expect("hincrby");

    let mut forced = support::options(config);
    forced.fresh = true;
    forced.force = true;
    let new = interrupted_run(&env, &forced).await;

    assert_eq!(support::xlen(&mut conn, &keys.jobs()).await, 5, "the new run's list jobs only");
    for stream in [keys.jobs(), keys.results()] {
        let exists: u64 =
            redis::cmd("EXISTS").arg(keys.superseded(&stream)).query_async(&mut conn).await.expect("exists");
        assert_eq!(exists, 0, "everything moved aside was counted and deleted");
    }
    let counters =
        producer::counters::RunCounters::from_hash(&support::hgetall(&mut conn, &keys.run_counters(&old)).await);
    assert_eq!(counters.item().superseded, i64::try_from(extra).expect("small"));
    assert_eq!(counters.list().superseded, 5);
    assert_eq!(counters.kind("list-result").superseded, 1);
    assert!(counters.balances() && counters.total().in_flight == 0, "{counters:?}");
    let status = producer::status::collect(&mut conn, keys, &mut Vec::new()).await.expect("status");
    assert_eq!(status.run.map(|r| r.id), Some(new));
    let replaced = status.replaced.expect("replaced");
    assert!(replaced.balanced && replaced.uncounted == 0, "{replaced:?}");
}
