//! `crawler-worker parse`: the typed result of a saved answer, as JSON.

mod support;

use std::io::Write;
use std::path::PathBuf;

use crawler_worker::cli_parse::{run, Kind, ParseArgs};

fn args(kind: Kind, file: PathBuf) -> ParseArgs {
    ParseArgs { kind: Some(kind), file: Some(file), dir: None, category: None, config: None, page: 1 }
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("crawler-parse-{}-{name}", std::process::id()));
    let mut file = std::fs::File::create(&path).expect("temp file");
    file.write_all(text.as_bytes()).expect("write");
    path
}

#[test]
fn prints_a_real_product_page_and_its_item_result() {
    let mut a = args(Kind::Product, support::pages_dir().join("danawa_offers_16559657.html"));
    a.category = Some("graphics".into());
    let json: serde_json::Value = serde_json::from_str(&run(&a).expect("parses")).expect("json");
    assert_eq!(json["page"]["outcome"], "product");
    assert_eq!(json["page"]["categoryNumber"], "122579");
    assert_eq!(json["item"]["name"]["fullName"], "APPLE 2022 iPad Air 5세대");
    assert_eq!(json["item"]["details"]["분류"]["value"], "태블릿PC");
    assert_eq!(json["item"]["lowestPrice"], 1_089_990);
}

#[test]
fn prints_the_discontinued_outcome() {
    let a = args(Kind::Product, support::pages_dir().join(support::REAL_EXPIRED_PAGE));
    let json: serde_json::Value = serde_json::from_str(&run(&a).expect("parses")).expect("json");
    assert_eq!(json["outcome"], "discontinued");
}

#[test]
fn applies_the_config_rules_to_a_list() {
    let list = temp_file("list.html", &support::list_fragment(20));
    let config = temp_file(
        "config.json",
        r#"{"pageBaseUrl": "http://127.0.0.1:1/list/?cate=", "itemBaseUrl": "http://127.0.0.1:1/info/?pcode=",
            "minimumDate": "2020", "ignoreWords": ["멀티팩"], "itemsCategories": ["cpu"],
            "categories": [{"category": "cpu", "categoryNumber": "112747", "start": "1", "end": "*"}]}"#,
    );
    let mut a = args(Kind::List, list.clone());
    a.page = 2;
    let all: serde_json::Value = serde_json::from_str(&run(&a).expect("parses")).expect("json");
    assert_eq!(all["products"].as_array().map(Vec::len), Some(20));
    assert_eq!(all["products"][0]["page"], 2);
    a.config = Some(config.clone());
    a.category = Some("cpu".into());
    let filtered: serde_json::Value = serde_json::from_str(&run(&a).expect("parses")).expect("json");
    assert_eq!(filtered["products"].as_array().map(Vec::len), Some(10));
    let _ = std::fs::remove_file(list);
    let _ = std::fs::remove_file(config);
}

#[test]
fn errors_name_the_selector() {
    let empty = temp_file("empty.html", "");
    let error = run(&args(Kind::List, empty.clone())).expect_err("no count");
    assert!(format!("{error:#}").contains("input#totalProductCount"), "{error:#}");
    let error = run(&args(Kind::Spec, empty.clone())).expect_err("no table");
    assert!(format!("{error:#}").contains("table.spec_tbl"), "{error:#}");
    let _ = std::fs::remove_file(empty);
}
