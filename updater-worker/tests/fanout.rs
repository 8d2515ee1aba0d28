//! Item-job fan-out: stale or new pcodes of item categories are claimed once per run in Redis
//! (keyed by the claiming stream entry), marked `isUpdating`, and returned as item jobs.

mod support;

use std::collections::HashMap;

use chrono::{Duration, Utc};
use common::keys::Keys;
use redis::AsyncCommands;
use support::{applied, info, item, pcodes, run_now, single, Env, ListSpec, PREFIX};

async fn claims(env: &Env, run_id: &str) -> (HashMap<String, String>, i64) {
    let client = redis::Client::open(env.redis.url()).expect("redis client");
    let mut conn = client.get_multiplexed_async_connection().await.expect("redis");
    let key = Keys::new(PREFIX).run_items_seen(run_id);
    let all: HashMap<String, String> = conn.hgetall(&key).await.expect("hgetall");
    let ttl: i64 = conn.ttl(&key).await.expect("ttl");
    (all, ttl)
}

#[tokio::test]
async fn new_parts_of_an_item_category_get_one_item_job_each() {
    let env = Env::start().await;
    let spec = ListSpec::new("r1", "cpu", run_now()).items(run_now());
    let listed = spec.result(vec![
        support::product("CPU A (정품)", 0, &[("1", None, Some(1)), ("2", Some("벌크"), Some(1))]),
        single("3", 1),
    ]);
    let outcome = env.apply(&[("1700000000000-0", &listed)]).await;

    let jobs = applied(&outcome.entries[0]);
    assert_eq!(pcodes(jobs), ["1", "2", "3"]);
    let job = &jobs[0];
    assert_eq!((job.run_id.as_str(), job.category.as_str(), job.category_number.as_str()), ("r1", "cpu", "112747"));
    assert_eq!(job.item_base_url, "http://sim/info/?pcode=");
    for pcode in ["1", "2", "3"] {
        assert_eq!(env.part(pcode).await.get_bool("isUpdating"), Ok(true), "{pcode}");
    }
    let (claimed, ttl) = claims(&env, "r1").await;
    assert_eq!(claimed.get("2").map(String::as_str), Some("1700000000000-0"));
    assert!(ttl > 0, "the claim hash expires: {ttl}");
    env.assert_contract().await;
}

#[tokio::test]
async fn only_parts_without_a_recent_price_are_stale() {
    let env = Env::start().await;
    let cutoff = run_now() - Duration::days(1);
    let warmup = ListSpec::new("r0", "cpu", run_now() - Duration::days(3));
    env.apply(&[("0-1", &warmup.result(vec![single("1", 0), single("2", 1), single("3", 2)]))]).await;
    let fresh = item("r0", "1", cutoff + Duration::hours(2), info("fresh", Some(10)));
    let old = item("r0", "2", cutoff - Duration::hours(2), info("old", Some(10)));
    env.apply(&[("0-2", &fresh), ("0-3", &old)]).await;

    let run = ListSpec::new("r1", "cpu", run_now()).items(cutoff);
    let outcome = env.apply(&[("1-1", &run.result(vec![single("1", 0), single("2", 1), single("3", 2)]))]).await;
    assert_eq!(pcodes(applied(&outcome.entries[0])), ["2", "3"], "1 has a price point after the cut-off");
    assert_eq!(env.part("1").await.get_bool("isUpdating"), Ok(false));
    env.assert_contract().await;
}

#[tokio::test]
async fn a_pcode_gets_at_most_one_item_job_per_run() {
    let env = Env::start().await;
    let spec = ListSpec::new("r1", "cpu", run_now()).items(run_now());
    // Two filters list part 5, in the same batch and in a later one.
    let first = spec.result(vec![single("5", 0), single("6", 1)]);
    let second = spec.result(vec![single("5", 3)]);
    let outcome = env.apply(&[("1-1", &first), ("1-2", &second)]).await;
    assert_eq!(pcodes(applied(&outcome.entries[0])), ["5", "6"]);
    assert!(applied(&outcome.entries[1]).is_empty());
    let later = env.apply(&[("1-3", &second)]).await;
    assert!(applied(&later.entries[0]).is_empty(), "already claimed in this run");

    // The next run claims it again (it is still stale: no item result came back).
    let next = ListSpec::new("r2", "cpu", Utc::now()).items(Utc::now());
    let outcome = env.apply(&[("2-1", &next.result(vec![single("5", 0)]))]).await;
    assert_eq!(pcodes(applied(&outcome.entries[0])), ["5"]);
    env.assert_contract().await;
}

#[tokio::test]
async fn a_redelivered_entry_keeps_its_claim_and_emits_the_same_jobs() {
    let env = Env::start().await;
    let spec = ListSpec::new("r1", "cpu", run_now()).items(run_now());
    let listed = spec.result(vec![single("7", 0), single("8", 1)]);
    // Written as the worker writes (transient errors retried): one attempt alone failed this
    // test once on a loaded machine, where a transaction may be rolled back with a transient
    // error that says nothing about claims.
    let first = env.write(&[("1-1", &listed)]).await;
    // The ack was lost: the same entry comes back, and its first attempt is aborted after it
    // claimed (its writes fail with a write conflict), so the retry finds its own claim again.
    env.fail_command("update", 0, 1, 112, &["TransientTransactionError"]).await;
    let again = env.write(&[("1-1", &listed)]).await;
    assert!(again.attempts >= 2, "the first attempt failed at its writes: {again:?}");
    assert_eq!(applied(&first.entries[0]), applied(&again.entries[0]));
    assert_eq!(pcodes(applied(&again.entries[0])), ["7", "8"]);
    let (claimed, _) = claims(&env, "r1").await;
    assert_eq!(claimed.get("7").map(String::as_str), Some("1-1"), "still the entry's claim");
    for pcode in ["7", "8"] {
        assert_eq!(env.part(pcode).await.get_bool("isUpdating"), Ok(true), "{pcode}");
    }
}

#[tokio::test]
async fn categories_without_item_policy_get_no_item_jobs() {
    let env = Env::start().await;
    let spec = ListSpec::new("r1", "case", run_now());
    let outcome = env.apply(&[("1-1", &spec.result(vec![single("9", 0)]))]).await;
    assert!(applied(&outcome.entries[0]).is_empty());
    assert_eq!(env.part("9").await.get_bool("isUpdating"), Ok(false));
    assert!(claims(&env, "r1").await.0.is_empty(), "Redis not touched");
}

/// The stale check and the marks answer for the state the whole batch leaves, whatever the
/// order of its entries: an item result of the same batch with a fresh price point makes its
/// part fresh, and an item result of the same run leaves its part released.
#[tokio::test]
async fn item_results_in_the_same_batch_count_before_or_after_the_list_result() {
    let env = Env::start().await;
    let cutoff = run_now() - Duration::hours(12);
    let warmup = ListSpec::new("r0", "cpu", run_now() - Duration::days(3));
    let pcodes_listed = ["1", "2", "3", "4"];
    let listed =
        |spec: &ListSpec| spec.result(pcodes_listed.iter().enumerate().map(|(i, p)| single(p, i as u32)).collect());
    env.apply(&[("0-1", &listed(&warmup))]).await;

    // Run r1's list page and, in the same batch, item results: 1 and 2 of an older run with a
    // fresh price point (so not stale), 3 and 4 of run r1 itself (its item job finished).
    let run = ListSpec::new("r1", "cpu", run_now()).items(cutoff);
    let list = listed(&run);
    let fresh_1 = item("r0", "1", cutoff + Duration::hours(1), info("one", Some(10)));
    let fresh_2 = item("r0", "2", cutoff + Duration::hours(1), info("two", Some(10)));
    let done_3 = item("r1", "3", cutoff - Duration::hours(1), info("three", Some(10)));
    let done_4 = item("r1", "4", cutoff - Duration::hours(1), info("four", Some(10)));
    let outcome =
        env.apply(&[("1-1", &fresh_1), ("1-2", &done_3), ("1-3", &list), ("1-4", &fresh_2), ("1-5", &done_4)]).await;

    assert_eq!(pcodes(applied(&outcome.entries[2])), ["3", "4"], "1 and 2 are priced by the batch");
    for pcode in pcodes_listed {
        assert_eq!(env.part(pcode).await.get_bool("isUpdating"), Ok(false), "{pcode}");
    }
    env.assert_contract().await;
}
