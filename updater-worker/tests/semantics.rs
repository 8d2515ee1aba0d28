//! What a list or item result does to a part: the fields written on insert and on update, the
//! sort order across filters and runs, and which result owns name and stock.

mod support;

use bson::{doc, Bson};
use chrono::{Duration, Utc};
use common::messages::ItemOutcome;
use common::parts::sort_order;
use support::{info, item, product, run_now, run_start, single, Env, ListSpec};

fn i64_of(doc: &bson::Document, key: &str) -> i64 {
    doc.get_i64(key).unwrap_or_else(|e| panic!("{key}: {e} in {doc}"))
}

#[tokio::test]
async fn a_list_result_inserts_every_variant_with_the_contract_fields() {
    let env = Env::start().await;
    let spec = ListSpec::new("r1", "cpu", run_now()).page(2);
    let cpu = product(
        "AMD 라이젠7-5세대 7800X3D (라파엘) (멀티팩(정품))",
        4,
        &[("100", None, Some(500_000)), ("101", Some("트레이"), None)],
    );
    env.apply(&[("1-1", &spec.result(vec![cpu]))]).await;

    let first = env.part("100").await;
    assert_eq!(
        first.get_document("name").expect("name"),
        &doc! {"fullName": "AMD 라이젠7-5세대 7800X3D", "tag": "멀티팩(정품)"}
    );
    assert_eq!(first.get_str("category"), Ok("cpu"));
    assert_eq!(first.get_array("variants").expect("variants"), &vec![Bson::from("100"), Bson::from("101")]);
    assert_eq!(first.get_bool("isVariant"), Ok(false));
    assert_eq!(i64_of(&first, "sortOrder"), sort_order(2, 4));
    assert_eq!(first.get_bool("stock"), Ok(true));
    assert_eq!(first.get_bool("isUpdating"), Ok(false));
    assert_eq!(first.get_datetime("createdAt"), first.get_datetime("updatedAt"));
    let second = env.part("101").await;
    assert_eq!(second.get_document("name").expect("name").get_str("tag"), Ok("트레이"), "the variant's own tag wins");
    assert_eq!(second.get_bool("isVariant"), Ok(true));
    assert_eq!(second.get_bool("stock"), Ok(false), "no price shown: out of stock");
    env.assert_contract().await;
}

#[tokio::test]
async fn sort_order_keeps_the_max_within_a_run_and_is_replaced_in_the_next() {
    let env = Env::start().await;
    let run1 = ListSpec::new("r1", "ssd", run_now());
    // The same product under two filters: position 30 under one, position 2 under the other.
    env.apply(&[("1-1", &run1.result(vec![single("5", 30)]))]).await;
    env.apply(&[("1-2", &run1.result(vec![single("5", 2)]))]).await;
    env.apply(&[("1-3", &run1.result(vec![single("5", 50)]))]).await;
    assert_eq!(i64_of(&env.part("5").await, "sortOrder"), sort_order(1, 2), "max across filters");

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let run2 = ListSpec::new("r2", "ssd", Utc::now());
    env.apply(&[("2-1", &run2.result(vec![single("5", 40)]))]).await;
    assert_eq!(i64_of(&env.part("5").await, "sortOrder"), sort_order(1, 40), "replaced on the first touch of a run");
    env.apply(&[("2-2", &run2.result(vec![single("5", 45)]))]).await;
    assert_eq!(i64_of(&env.part("5").await, "sortOrder"), sort_order(1, 40));
    env.assert_contract().await;
}

#[tokio::test]
async fn the_same_pcode_twice_in_one_batch_keeps_the_max() {
    let env = Env::start().await;
    let run = ListSpec::new("r1", "ssd", run_now());
    let low = run.result(vec![single("5", 60)]);
    let high = run.result(vec![single("5", 3)]);
    env.apply(&[("1-1", &low), ("1-2", &high)]).await;
    assert_eq!(i64_of(&env.part("5").await, "sortOrder"), sort_order(1, 3));
}

#[tokio::test]
async fn a_new_run_replaces_the_sort_order_once_within_one_batch() {
    let env = Env::start().await;
    let run1 = ListSpec::new("r1", "ssd", run_now());
    env.apply(&[("1-1", &run1.result(vec![single("5", 2)]))]).await;

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let run2 = ListSpec::new("r2", "ssd", Utc::now());
    // The batch's first statement for the part replaces run 1's order, the second keeps the
    // max: planned from one read before the batch, the second must see what the first wrote.
    let (high, low) = (run2.result(vec![single("5", 40)]), run2.result(vec![single("5", 45)]));
    env.apply(&[("2-1", &high), ("2-2", &low)]).await;
    assert_eq!(i64_of(&env.part("5").await, "sortOrder"), sort_order(1, 40));
    env.assert_contract().await;
}

#[tokio::test]
async fn list_results_update_name_and_stock_only_outside_item_categories() {
    let env = Env::start().await;
    let plain = ListSpec::new("r1", "case", run_now());
    env.apply(&[("1-1", &plain.result(vec![product("케이스 A", 0, &[("8", None, Some(1))])]))]).await;
    env.apply(&[("1-2", &plain.result(vec![product("케이스 B (화이트)", 0, &[("8", None, None)])]))]).await;
    let case = env.part("8").await;
    assert_eq!(case.get_document("name").expect("name"), &doc! {"fullName": "케이스 B", "tag": "화이트"});
    assert_eq!(case.get_bool("stock"), Ok(false));

    let items = ListSpec::new("r1", "cpu", run_now()).items(run_now());
    env.apply(&[("1-3", &items.result(vec![product("CPU (정품)", 0, &[("9", None, None)])]))]).await;
    env.apply(&[("1-4", &item("r1", "9", Utc::now(), info("CPU 정식 이름", Some(300))))]).await;
    // A late list result (another filter) for the same part must not undo the item result.
    env.apply(&[("1-5", &items.result(vec![product("CPU 옛 이름 (벌크)", 1, &[("9", None, None)])]))]).await;
    let cpu = env.part("9").await;
    assert_eq!(cpu.get_document("name").expect("name"), &doc! {"fullName": "CPU 정식 이름", "tag": "정품"});
    assert_eq!(cpu.get_bool("stock"), Ok(true));
    env.assert_contract().await;
}

#[tokio::test]
async fn an_item_result_sets_the_product_page_and_one_price_point() {
    let env = Env::start().await;
    let spec = ListSpec::new("r1", "cpu", run_now()).items(run_now());
    env.apply(&[("1-1", &spec.result(vec![single("3", 0)]))]).await;
    assert_eq!(env.part("3").await.get_bool("isUpdating"), Ok(true), "claimed for an item job");

    let fetched = Utc::now();
    let result = item("r1", "3", fetched, info("라이젠 7800X3D", Some(450_000)));
    env.apply(&[("1-2", &result)]).await;
    env.apply(&[("1-2", &result)]).await; // redelivered
    let part = env.part("3").await;
    assert_eq!(part.get_bool("isUpdating"), Ok(false));
    assert_eq!(part.get_bool("stock"), Ok(true));
    let prices = part.get_array("prices").expect("prices");
    assert_eq!(prices.len(), 1, "a redelivered result adds no second point: {prices:?}");
    let point = prices[0].as_document().expect("point");
    assert_eq!(point.get_i64("price"), Ok(450_000));
    assert_eq!(point.get_datetime("timestamp").expect("ts").timestamp_millis(), fetched.timestamp_millis());
    let details = part.get_document("details").expect("details");
    assert_eq!(details.get_document("코드 네임").expect("code"), &doc! {"value": "라파엘", "type": "CPU 사양"});
    let vendor = &part.get_document("vendors").expect("vendors").get_array("openMarket").expect("list")[0];
    assert_eq!(vendor.as_document().expect("vendor").get_i64("shippingCost"), Ok(2_500));

    let later = item("r1", "3", fetched + Duration::hours(1), info("라이젠 7800X3D", Some(440_000)));
    env.apply(&[("1-3", &later)]).await;
    assert_eq!(env.part("3").await.get_array("prices").expect("prices").len(), 2, "a new crawl adds a point");
    env.assert_contract().await;
}

#[tokio::test]
async fn out_of_stock_discontinued_and_failed_items() {
    let env = Env::start().await;
    let spec = ListSpec::new("r1", "cpu", run_start(1)).items(run_start(1));
    let listed = spec.result(vec![single("1", 0), single("2", 1), single("3", 2)]);
    env.apply(&[("1-1", &listed)]).await;
    let before = env.part("3").await;

    let sold_out = item("r1", "1", Utc::now(), info("품절 제품", None));
    let gone = item("r1", "2", Utc::now(), ItemOutcome::Discontinued);
    let failed = item("r1", "3", Utc::now(), ItemOutcome::Failed { reason: "blocked".into() });
    let missing = item("r1", "404", Utc::now(), ItemOutcome::Discontinued);
    let outcome = env.apply(&[("1-2", &sold_out), ("1-3", &gone), ("1-4", &failed), ("1-5", &missing)]).await;
    assert!(outcome.entries.iter().all(|e| support::applied(e).is_empty()), "a missing part is skipped, not rejected");

    let one = env.part("1").await;
    assert_eq!((one.get_bool("stock"), one.get_array("prices").map(Vec::len)), (Ok(false), Ok(0)));
    let two = env.part("2").await;
    assert_eq!((two.get_bool("stock"), two.get_bool("isUpdating")), (Ok(false), Ok(false)));
    let three = env.part("3").await;
    assert_eq!(three.get_bool("isUpdating"), Ok(false));
    assert_eq!(three.get_datetime("updatedAt"), before.get_datetime("updatedAt"), "a failed job changes nothing else");
    assert_eq!(
        env.parts().count_documents(doc! {"pcode": "404"}).await.expect("count"),
        0,
        "item results never insert"
    );
    env.assert_contract().await;
}
