//! `producer status` and `producer dead-letters` against a real Redis: the status balances at
//! every sample while simulated workers move entries, and a dead letter's list / retry / purge
//! round trip keeps the run's counters balanced (and reopens a finished run).

mod support;

use std::process::Command;
use std::time::Duration;

use producer::dead_letter_admin::{self, Selection};
use producer::run::{self, Outcome};
use producer::run_state;
use producer::status;
use support::{Crawl, Env, Expected};
use tokio_util::sync::CancellationToken;

fn assert_balanced(s: &status::Status) {
    assert!(s.balanced, "{}", status::to_json(s));
    for (kind, c) in &s.kinds {
        assert_eq!(c.enqueued, c.done + c.dead + c.in_flight, "{kind}: {}", status::to_json(s));
        assert!(c.in_flight >= 0, "{kind}: {}", status::to_json(s));
    }
    for stream in &s.streams {
        assert!(stream.matches_counters, "{} length vs counters: {}", stream.name, status::to_json(s));
    }
}

#[tokio::test]
async fn status_balances_at_every_sample_while_workers_process() {
    let env = Env::start();
    let options = support::options(env.write_config("config.json", support::CONFIG));
    let stop = CancellationToken::new();
    let workers = support::spawn_workers(
        env.pool.clone(),
        env.keys.clone(),
        Crawl::Succeed,
        Duration::from_millis(15),
        stop.clone(),
    );
    let producer = {
        let (pool, keys) = (env.pool.clone(), env.keys.clone());
        tokio::spawn(async move { run::run_to_end(&pool, &keys, &options, &CancellationToken::new()).await })
    };
    let mut conn = env.conn().await;
    let mut local = Vec::new();
    let mut samples = 0;
    let mut saw_work_in_flight = false;
    while !producer.is_finished() {
        let s = status::collect(&mut conn, &env.keys, &mut local).await.expect("status");
        assert_balanced(&s);
        saw_work_in_flight |= s.total.in_flight > 0 && s.streams.iter().any(|st| !st.groups.is_empty());
        samples += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let outcome = producer.await.expect("join").expect("run");
    stop.cancel();
    workers.await.expect("workers");
    assert!(matches!(outcome, Outcome::Finished(_)), "{outcome:?}");
    assert!(samples > 10 && saw_work_in_flight, "{samples} samples");

    // The binary's JSON: the finished run, balanced, every stream empty, with its groups.
    let out = Command::new(env!("CARGO_BIN_EXE_producer"))
        .args(["status", "--json"])
        .env("REDIS_URL", env.redis.url())
        .output()
        .expect("producer status");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["run"]["state"], "done");
    assert_eq!(json["balanced"], true);
    assert_eq!(json["kinds"]["list"]["done"], Expected::LIST_PAGES);
    assert_eq!(json["kinds"]["item"]["inFlight"], 0);
    assert_eq!(json["streams"][0]["name"], "{ek}:jobs");
    assert_eq!(json["streams"][0]["groups"][0]["name"], "crawlers");
    assert_eq!(json["streams"][0]["groups"][0]["pending"], 0);
    assert_eq!(json["streams"][1]["groups"][0]["consumers"][0]["name"], "sim-updater");
    assert!(json["rate"]["windowSecs"].as_f64().is_some());

    let text = Command::new(env!("CARGO_BIN_EXE_producer"))
        .arg("status")
        .env("REDIS_URL", env.redis.url())
        .output()
        .expect("status");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("balanced") && text.contains("group crawlers") && text.contains("consumer sim-crawler"),
        "{text}"
    );
}

#[tokio::test]
async fn dead_letters_list_retry_purge_keep_the_run_balanced() {
    let env = Env::start();
    let config = r#"{"pageBaseUrl": "http://127.0.0.1:9/list/?cate=", "itemBaseUrl": "http://127.0.0.1:9/info/?pcode=",
        "categories": [{"category": "case", "categoryNumber": "112775", "start": "1", "end": "2"}]}"#;
    let options = support::options(env.write_config("config.json", config));

    // Every job dies: the run is done with two dead letters.
    let summary = run_with_workers(&env, &options, Crawl::DeadLetter).await;
    assert_eq!((summary.list_pages.done, summary.list_pages.dead, summary.dead_letters), (0, 2, 2));
    let mut conn = env.conn().await;
    let run_id = summary.run_id.clone();

    let all = dead_letter_admin::select(&mut conn, &env.keys, &Selection::default()).await.expect("list");
    assert_eq!(all.len(), 2);
    let letter = all[0].letter.as_ref().expect("decodes");
    assert_eq!((letter.kind.as_str(), letter.attempts), ("list", 5));
    let table = dead_letter_admin::table(&all);
    assert!(table.contains("maxAttempts") && table.contains("HTTP 503 five times"), "{table}");
    let listed = cli(&env, &["dead-letters", "list", "--kind", "list"]);
    assert!(listed.status.success());
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert_eq!(listed.lines().count(), 3, "header and two letters:\n{listed}");
    let refused = cli(&env, &["dead-letters", "purge"]);
    assert_eq!(refused.status.code(), Some(2), "purging everything needs --all");
    let none = Selection { kind: Some("item".into()), ..Selection::default() };
    assert!(dead_letter_admin::select(&mut conn, &env.keys, &none).await.expect("list").is_empty());

    // Retry one: it is in flight again, the done run is reopened, the counters balance.
    let one = Selection { limit: Some(1), ..Selection::default() };
    let chosen = dead_letter_admin::select(&mut conn, &env.keys, &one).await.expect("select");
    let retried = dead_letter_admin::retry(&mut conn, &env.keys, &chosen).await.expect("retry");
    assert_eq!(retried.sent_back.len(), 1);
    let again = dead_letter_admin::retry(&mut conn, &env.keys, &chosen).await.expect("retry twice");
    assert_eq!(again.gone.len(), 1, "a second retry of the same letter does nothing");
    let s = status::collect(&mut conn, &env.keys, &mut Vec::new()).await.expect("status");
    assert_balanced(&s);
    assert_eq!((s.kinds["list"].enqueued, s.kinds["list"].dead, s.kinds["list"].in_flight), (2, 1, 1));
    let run = run_state::read(&mut conn, &env.keys).await.expect("read").0.expect("run");
    assert_eq!((run.id.as_str(), run.state.as_str()), (run_id.as_str(), "running"));
    let back: redis::streams::StreamRangeReply =
        redis::cmd("XRANGE").arg(env.keys.jobs()).arg("-").arg("+").query_async(&mut conn).await.expect("xrange");
    assert_eq!(back.ids.len(), 1, "the retried job is back in the jobs stream");
    let body: serde_json::Value =
        serde_json::from_str(&common::messages::fields_as_text(&back.ids[0].map)["body"]).expect("body json");
    assert_eq!(body["runId"], run_id.as_str(), "the original job, verbatim");

    // Purge the other: gone from the stream, still counted dead.
    let rest = dead_letter_admin::select(&mut conn, &env.keys, &Selection::default()).await.expect("select");
    assert_eq!(dead_letter_admin::purge(&mut conn, &env.keys, &rest).await.expect("purge"), 1);
    assert!(dead_letter_admin::select(&mut conn, &env.keys, &Selection::default()).await.expect("list").is_empty());
    let s = status::collect(&mut conn, &env.keys, &mut Vec::new()).await.expect("status");
    assert_balanced(&s);
    assert_eq!(s.dead_letter_entries, 0);

    // `producer run` resumes the reopened run and finishes it with the retried page done.
    let summary = run_with_workers(&env, &options, Crawl::Succeed).await;
    assert_eq!(summary.run_id, run_id);
    assert_eq!((summary.list_pages.done, summary.list_pages.dead), (1, 1));
}

fn cli(env: &Env, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_producer"))
        .args(args)
        .env("REDIS_URL", env.redis.url())
        .output()
        .expect("producer")
}

async fn run_with_workers(env: &Env, options: &run::RunOptions, crawl: Crawl) -> producer::summary::Summary {
    let stop = CancellationToken::new();
    let workers = support::spawn_workers(env.pool.clone(), env.keys.clone(), crawl, Duration::ZERO, stop.clone());
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        run::run_to_end(&env.pool, &env.keys, options, &CancellationToken::new()),
    )
    .await
    .expect("the run finishes")
    .expect("run");
    stop.cancel();
    workers.await.expect("workers");
    match outcome {
        Outcome::Finished(summary) => summary,
        other => panic!("not finished: {other:?}"),
    }
}
