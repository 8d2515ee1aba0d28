//! At-least-once delivery, exactly-once effect: a batch applied twice (its commit happened, its
//! ack was lost) leaves the database as one application did, updatedAt aside.

mod support;

use chrono::{Duration, Utc};
use common::messages::ItemOutcome;
use support::{info, item, run_now, single, without_updated_at, Env, ListSpec};

#[tokio::test]
async fn a_redelivered_batch_leaves_the_database_identical() {
    let env = Env::start().await;
    let spec = ListSpec::new("r1", "cpu", run_now()).items(run_now() - Duration::days(1));
    let list = spec.result(vec![
        support::product("CPU (정품)", 0, &[("1", None, Some(100)), ("2", Some("벌크"), None)]),
        single("3", 1),
    ]);
    let plain = ListSpec::new("r1", "case", run_now()).result(vec![single("40", 0)]);
    env.apply(&[("1-1", &list), ("1-2", &plain)]).await;

    let fetched = Utc::now();
    let batch = [
        ("2-1", item("r1", "1", fetched, info("CPU 1", Some(100)))),
        ("2-2", item("r1", "2", fetched, ItemOutcome::Discontinued)),
        ("2-3", item("r1", "3", fetched, info("CPU 3", Some(300)))),
        ("2-4", ListSpec::new("r1", "cpu", run_now()).items(run_now()).result(vec![single("1", 5), single("50", 6)])),
    ];
    let refs: Vec<(&str, &common::messages::CrawlResult)> = batch.iter().map(|(id, r)| (*id, r)).collect();
    let once = env.apply(&refs).await;
    let after_once = env.all().await;
    let twice = env.apply(&refs).await;
    let after_twice = env.all().await;

    let jobs = |outcome: &updater_worker::store::BatchOutcome| -> Vec<Vec<common::messages::ItemJob>> {
        outcome.entries.iter().map(|e| support::applied(e).to_vec()).collect()
    };
    assert_eq!(jobs(&once), jobs(&twice), "the same item jobs come out again");
    assert_eq!(without_updated_at(&after_once), without_updated_at(&after_twice));
    for pcode in ["1", "3"] {
        assert_eq!(after_twice[pcode].get_array("prices").map(Vec::len), Ok(1), "{pcode}: one price point");
    }
    env.assert_contract().await;
}
