//! Stream messages: every kind survives encode/decode, and every malformed entry gives a typed
//! error (never a panic) that a worker can put in the dead-letter stream.

use std::collections::HashMap;

use common::config::{Filter, FilterKind, PageEnd, RegistrationDate};
use common::messages::*;
use common::parts::{Detail, PartName, Vendor, Vendors};
use proptest::prelude::*;

fn as_entry(fields: &[(&str, String)]) -> HashMap<String, redis::Value> {
    fields.iter().map(|(k, v)| ((*k).to_owned(), redis::Value::BulkString(v.clone().into_bytes()))).collect()
}

fn list_job() -> ListPageJob {
    ListPageJob {
        run_id: "r1".into(),
        category: "cpu".into(),
        category_number: "112747".into(),
        page: 1,
        end_page: PageEnd::Last,
        fan_out: true,
        filter: Some(Filter { name: "제조사: 인텔".into(), kind: FilterKind::Maker, value: "3156".into() }),
        minimum_date: RegistrationDate { year: 2018, month: 1 },
        ignore_words: vec!["중고".into()],
        page_base_url: "http://127.0.0.1:1/list/?cate=".into(),
        run_started_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time"),
        items: Some(ItemPolicy {
            item_base_url: "http://127.0.0.1:1/info/?pcode=".into(),
            stale_before: chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time"),
        }),
    }
}

fn item_job() -> ItemJob {
    ItemJob {
        run_id: "r1".into(),
        pcode: "1234".into(),
        category: "cpu".into(),
        category_number: "112747".into(),
        item_base_url: "http://127.0.0.1:1/info/?pcode=".into(),
    }
}

fn fetched() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_700_000_123, 456_000_000).expect("time")
}

#[test]
fn jobs_round_trip() {
    for job in [Job::List(list_job()), Job::Item(item_job())] {
        let decoded = Job::from_fields(&as_entry(&job.to_fields())).expect("decodes");
        assert_eq!(decoded, job);
    }
}

#[test]
fn results_round_trip() {
    let list = CrawlResult::List(ListPageResult {
        job: list_job(),
        total_count: 4417,
        products: vec![ListedProduct {
            name: "인텔 코어i5 (정품)".into(),
            registered: Some(RegistrationDate { year: 2022, month: 1 }),
            page: 1,
            position: 3,
            variants: vec![ListedVariant { pcode: "1".into(), tag: Some("정품".into()), price: Some(200_000) }],
        }],
    });
    let mut details = std::collections::BTreeMap::new();
    details.insert("코어 수".to_owned(), Detail { value: "6코어".into(), section: "CPU 사양".into() });
    let vendor = Vendor {
        vendor_name: "쿠팡".into(),
        vendor_code: Some("TP40F".into()),
        vendor_url: "http://x/".into(),
        price: 1,
        shipping_cost: Some(0),
        card: None,
    };
    let item = CrawlResult::Item(ItemResult {
        job: item_job(),
        fetched_at: fetched(),
        outcome: ItemOutcome::Product(ProductInfo {
            name: PartName { full_name: "인텔 코어i5".into(), tag: Some("정품".into()) },
            stock: true,
            details,
            vendors: Vendors { credit: vec![vendor], ..Vendors::default() },
            lowest_price: Some(1),
        }),
    });
    let discontinued =
        CrawlResult::Item(ItemResult { job: item_job(), fetched_at: fetched(), outcome: ItemOutcome::Discontinued });
    let failed = CrawlResult::Item(ItemResult {
        job: item_job(),
        fetched_at: fetched(),
        outcome: ItemOutcome::Failed { reason: "x".into() },
    });
    for result in [list, item, discontinued, failed] {
        let decoded = CrawlResult::from_fields(&as_entry(&result.to_fields())).expect("decodes");
        assert_eq!(decoded, result);
    }
}

#[test]
fn dead_letters_round_trip() {
    let letter = DeadLetter {
        source_stream: "{ek}:jobs".into(),
        source_id: "1-0".into(),
        kind: "list".into(),
        run_id: Some("r1".into()),
        fields: [("body".to_owned(), "{".to_owned())].into_iter().collect(),
        reason: DeadReason::Undecodable,
        attempts: 1,
        last_error: "bad".into(),
        request: None,
        page: None,
        failed_at: chrono::Utc::now(),
    };
    assert_eq!(DeadLetter::from_fields(&as_entry(&letter.to_fields())).expect("decodes"), letter);
    let named = DeadLetter {
        request: Some(FailedRequest {
            endpoint: "shops".into(),
            url: "http://127.0.0.1:1/info/ajax/getAllPriceCompareMallList.ajax.php".into(),
            target: "pcode 1234".into(),
        }),
        ..letter
    };
    let decoded = DeadLetter::from_fields(&as_entry(&named.to_fields())).expect("decodes");
    assert_eq!(decoded.request.as_ref().map(|r| r.target.as_str()), Some("pcode 1234"));
    assert_eq!(decoded, named);
}

#[test]
fn malformed_entries_give_typed_errors() {
    let good = Job::Item(item_job()).to_fields();
    let without = |name: &str| -> Vec<(&str, String)> { good.iter().filter(|(k, _)| *k != name).cloned().collect() };
    let replaced = |name: &str, value: &str| -> Vec<(&str, String)> {
        good.iter().map(|(k, v)| (*k, if *k == name { value.to_owned() } else { v.clone() })).collect()
    };
    let decode = |fields: Vec<(&str, String)>| Job::from_fields(&as_entry(&fields)).expect_err("must fail");

    assert_eq!(decode(without(FIELD_BODY)), DecodeError::MissingField("body"));
    assert_eq!(decode(without(FIELD_VERSION)), DecodeError::MissingField("v"));
    assert_eq!(decode(replaced(FIELD_VERSION, "2")), DecodeError::UnknownVersion("2".into()));
    assert_eq!(decode(replaced(FIELD_KIND, "teleport")), DecodeError::UnknownKind("teleport".into()));
    assert!(matches!(decode(replaced(FIELD_KIND, "list-result")), DecodeError::WrongKind { .. }));
    assert!(matches!(decode(replaced(FIELD_BODY, "{\"pcode\": 5}")), DecodeError::Body { kind: "item", .. }));

    let mut not_text = as_entry(&good);
    not_text.insert(FIELD_BODY.into(), redis::Value::BulkString(vec![0xff, 0xfe]));
    assert_eq!(Job::from_fields(&not_text), Err(DecodeError::NotText("body")));
}

proptest! {
    #[test]
    fn arbitrary_fields_never_panic(kind in "[a-z-]{0,12}", version in "[0-9]{0,2}", body in ".{0,200}") {
        let entry = as_entry(&[(FIELD_VERSION, version), (FIELD_KIND, kind), (FIELD_BODY, body)]);
        let _ = Job::from_fields(&entry);
        let _ = CrawlResult::from_fields(&entry);
        let _ = DeadLetter::from_fields(&entry);
    }
}
