//! The monitoring page's reads of the dead-letter stream against a real Redis: pages of it
//! newest first with a bounded scan per page (a rare kind among many letters), letters named by
//! id read without a scan, and the list of finished runs the overview shows.

mod support;

use std::collections::BTreeMap;

use common::messages::{DeadLetter, DeadReason};
use producer::dead_letter_admin::{self, Selection};
use support::Env;

fn letter(kind: &str, n: usize) -> DeadLetter {
    DeadLetter {
        source_stream: "{ek}:jobs".into(),
        source_id: format!("{n}-0"),
        kind: kind.into(),
        run_id: Some("r".into()),
        fields: BTreeMap::from([("kind".to_owned(), kind.to_owned())]),
        reason: DeadReason::MaxAttempts,
        attempts: 2,
        last_error: format!("HTTP 503 #{n}"),
        request: None,
        page: None,
        failed_at: chrono::Utc::now(),
    }
}

/// Writes `n` letters, every `rare_every`-th of kind `list`, the others `item`; their ids.
async fn fill(env: &Env, n: usize, rare_every: usize) -> Vec<String> {
    let mut conn = env.conn().await;
    let mut ids = Vec::new();
    for i in 0..n {
        let kind = if i % rare_every == 0 { "list" } else { "item" };
        let mut cmd = redis::cmd("XADD");
        cmd.arg(env.keys.dead()).arg("*");
        for (name, value) in letter(kind, i).to_fields() {
            cmd.arg(name).arg(value);
        }
        ids.push(cmd.query_async(&mut conn).await.expect("xadd"));
    }
    ids
}

#[tokio::test]
async fn pages_go_newest_first_and_end() {
    let env = Env::start();
    let ids = fill(&env, 120, 1000).await;
    let mut conn = env.conn().await;
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = dead_letter_admin::page(&mut conn, &env.keys, None, before.as_deref(), 50).await.expect("page");
        assert!(page.entries.len() <= 50);
        seen.extend(page.entries.iter().map(|e| e.id.clone()));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first, "every letter once, newest first, in three pages");
}

#[tokio::test]
async fn a_rare_kind_is_found_with_a_bounded_scan_per_page() {
    let env = Env::start();
    // 3,000 letters, one list letter in 500: 6 of them, spread over more than one scan bound.
    let ids = fill(&env, 3000, 500).await;
    let mut conn = env.conn().await;
    let mut found = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let page =
            dead_letter_admin::page(&mut conn, &env.keys, Some("list"), before.as_deref(), 50).await.expect("page");
        pages += 1;
        assert!(page.entries.iter().all(|e| e.kind() == "list"));
        found.extend(page.entries.into_iter().map(|e| e.id));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
        assert!(pages < 10, "the pages never end");
    }
    let want: Vec<String> = ids.iter().step_by(500).rev().cloned().collect();
    assert_eq!(found, want);
    assert!(pages >= 2, "2,000 entries at most are scanned per page: {pages} page(s)");
}

#[tokio::test]
async fn letters_named_by_id_are_read_directly() {
    let env = Env::start();
    let ids = fill(&env, 30, 10).await;
    let mut conn = env.conn().await;
    let selection = Selection { ids: vec![ids[20].clone(), ids[3].clone(), "1-1".into()], ..Selection::default() };
    let got = dead_letter_admin::select(&mut conn, &env.keys, &selection).await.expect("select");
    let got: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(got, [ids[3].as_str(), ids[20].as_str()], "oldest first; an absent id is skipped");
    let only_lists = Selection { kind: Some("list".into()), ..selection };
    let got = dead_letter_admin::select(&mut conn, &env.keys, &only_lists).await.expect("select");
    assert_eq!(got.len(), 1, "ids[20] is a list letter, ids[3] an item");
}

#[tokio::test]
async fn a_finished_run_is_listed_once_with_its_summary_even_when_reopened() {
    use producer::run::{self, Outcome};
    use producer::run_state;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    let env = Env::start();
    let options = support::options(env.write_config("config.json", support::CONFIG));
    let stop = CancellationToken::new();
    let workers = support::spawn_workers(
        env.pool.clone(),
        env.keys.clone(),
        support::Crawl::Succeed,
        Duration::ZERO,
        stop.clone(),
    );
    let outcome = run::run_to_end(&env.pool, &env.keys, &options, &CancellationToken::new()).await.expect("run");
    stop.cancel();
    workers.await.expect("workers");
    let Outcome::Finished(summary) = outcome else { panic!("{outcome:?}") };
    let mut conn = env.conn().await;
    let runs = run_state::finished_runs(&mut conn, &env.keys).await.expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0.id, summary.run_id);
    let listed = runs[0].1.as_ref().expect("its counters are kept");
    assert_eq!(listed.list_pages.done, support::Expected::LIST_PAGES);
    assert_eq!(listed.parts_inserted, summary.parts_inserted);

    // Reopened (as a retried dead letter does) and finished again: still one entry.
    let () =
        redis::cmd("HSET").arg(env.keys.run()).arg("state").arg("running").query_async(&mut conn).await.expect("hset");
    let again = run_state::finish(&mut conn, &env.keys, &summary.run_id, chrono::Utc::now(), Duration::from_secs(60))
        .await
        .expect("finish");
    assert_eq!(again, run_state::Finish::Done);
    let runs = run_state::finished_runs(&mut conn, &env.keys).await.expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
}
