//! A batch is one transaction: a server-side failure after its ten writes leaves none of it
//! visible, the retry makes all of it visible; a refused or invalid entry is rejected alone.

mod support;

use bson::doc;
use support::{applied, run_now, single, Env, ListSpec};
use tokio_util::sync::CancellationToken;
use updater_worker::store::{Entry, EntryOutcome, StoreError};

/// Ten list results, pcodes 1..=10: one `update` command writes all ten.
fn ten_results() -> Vec<(String, common::messages::CrawlResult)> {
    let spec = ListSpec::new("r1", "ssd", run_now());
    (1..=10).map(|n| (format!("1-{n}"), spec.result(vec![single(&n.to_string(), n)]))).collect()
}

/// Ten list results of a category with item jobs: the batch claims ten pcodes in Redis and
/// writes the ten parts, marked `isUpdating`, in one `update` command.
fn ten_results_with_items() -> Vec<(String, common::messages::CrawlResult)> {
    let spec = ListSpec::new("r1", "cpu", run_now()).items(run_now());
    (1..=10).map(|n| (format!("1-{n}"), spec.result(vec![single(&n.to_string(), n)]))).collect()
}

fn entries(batch: &[(String, common::messages::CrawlResult)]) -> Vec<Entry<'_>> {
    batch.iter().map(|(id, result)| Entry { id, result }).collect()
}

#[tokio::test]
async fn a_failure_after_ten_writes_leaves_none_visible_and_the_retry_all() {
    let env = Env::start().await;
    let batch = ten_results_with_items();
    // WriteConflict with its TransientTransactionError label, as a real conflict answers, on
    // the commit that follows the claims and the ten entries' writes.
    env.fail_command("commitTransaction", 0, 1, 112, &["TransientTransactionError"]).await;

    let error = env.store.apply_batch(&entries(&batch)).await.expect_err("the commit fails");
    assert!(matches!(error, StoreError::Transient(_)), "{error}");
    assert_eq!(env.parts().count_documents(doc! {}).await.expect("count"), 0, "none of the 10 is visible");

    let outcome = env.store.apply_batch(&entries(&batch)).await.expect("the retry commits");
    assert!(outcome.entries.iter().all(|e| applied(e).len() == 1), "one item job per new part");
    assert_eq!(env.parts().count_documents(doc! {}).await.expect("count"), 10, "all 10 are visible");
    env.assert_contract().await;
}

#[tokio::test]
async fn the_store_retries_a_transient_failure_by_itself() {
    let env = Env::start().await;
    let batch = ten_results_with_items();
    // The first two attempts fail at their writes, after their claims.
    env.fail_command("update", 0, 2, 112, &["TransientTransactionError"]).await;

    let outcome =
        env.store.write_batch(&entries(&batch), &CancellationToken::new()).await.expect("committed after retries");
    assert_eq!(outcome.attempts, 3, "two failed attempts, then the commit");
    assert_eq!(env.parts().count_documents(doc! {}).await.expect("count"), 10);
    env.assert_contract().await;
}

#[tokio::test]
async fn a_failed_commit_retries_the_whole_transaction() {
    let env = Env::start().await;
    let batch = ten_results();
    env.fail_command("commitTransaction", 0, 1, 251, &["TransientTransactionError"]).await;

    let outcome = env
        .store
        .write_batch(&entries(&batch), &CancellationToken::new())
        .await
        .expect("committed on the second attempt");
    assert_eq!(outcome.attempts, 2);
    assert_eq!(env.parts().count_documents(doc! {}).await.expect("count"), 10);
}

#[tokio::test]
async fn an_entry_mongodb_refuses_is_rejected_and_the_rest_commits() {
    let env = Env::start().await;
    // A hand-broken document: adding a price point to it is refused (a write error).
    env.parts().insert_one(doc! {"pcode": "77", "prices": "broken"}).await.expect("seed");
    let spec = ListSpec::new("r1", "ssd", run_now());
    let list = spec.result(vec![single("1", 0)]);
    let item = support::item("r1", "77", chrono::Utc::now(), support::info("broken", Some(5)));
    let outcome = env.apply(&[("1-1", &list), ("1-2", &item)]).await;

    assert!(matches!(&outcome.entries[0], EntryOutcome::Applied { .. }));
    let EntryOutcome::Rejected { reason } = &outcome.entries[1] else { panic!("{outcome:?}") };
    assert!(reason.contains("non-array"), "{reason}");
    assert_eq!(outcome.attempts, 2, "the batch ran again without the refused entry");
    env.part("1").await;
    env.parts().delete_one(doc! {"pcode": "77"}).await.expect("drop the broken seed");
    env.assert_contract().await;
}

#[tokio::test]
async fn invalid_results_are_rejected_with_a_reason_and_the_rest_commits() {
    let env = Env::start().await;
    let spec = ListSpec::new("r1", "ssd", run_now());
    let good = spec.result(vec![single("1", 0)]);
    let bad_pcode = spec.result(vec![single("12a", 1)]);
    let bad_price = spec.result(vec![support::product("x", 2, &[("3", None, Some(-5))])]);
    let no_category = ListSpec::new("r1", " ", run_now()).result(vec![single("4", 3)]);
    let empty_item = support::item("r1", "", chrono::Utc::now(), support::info("x", Some(1)));
    let batch = [("a", &good), ("b", &bad_pcode), ("c", &bad_price), ("d", &no_category), ("e", &empty_item)];

    let outcome = env.apply(&batch).await;
    let reasons: Vec<String> = outcome.entries[1..]
        .iter()
        .map(|e| match e {
            EntryOutcome::Rejected { reason } => reason.clone(),
            other => panic!("accepted: {other:?}"),
        })
        .collect();
    assert!(reasons[0].contains("not a pcode"), "{reasons:?}");
    assert!(reasons[1].contains("negative"), "{reasons:?}");
    assert!(reasons[2].contains("job.category is empty"), "{reasons:?}");
    assert!(reasons[3].contains("not a pcode"), "{reasons:?}");
    assert_eq!(env.all().await.keys().collect::<Vec<_>>(), ["1"]);
    env.assert_contract().await;
}

#[tokio::test]
async fn a_refusal_that_is_not_the_entrys_fault_returns_the_batch_unacked() {
    let env = Env::start().await;
    let batch = ten_results();
    // Unauthorized: every entry would fail alike, so none may be dead-lettered for it.
    env.fail_command("update", 0, 1, 13, &[]).await;
    let error = env.store.apply_batch(&entries(&batch)).await.expect_err("refused");
    assert!(matches!(error, StoreError::Refused(_)), "{error}");
    assert_eq!(env.parts().count_documents(doc! {}).await.expect("count"), 0);
}
