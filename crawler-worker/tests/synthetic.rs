//! The parsers against full synthetic answers written from DANAWA.md (no public capture of a
//! list fragment, spec table or shop list exists), and the request description built from them.

mod support;

use common::config::RegistrationDate;
use common::plan::ListingRules;
use crawler_worker::danawa::Site;
use crawler_worker::parse::bootstrap::{parse_bootstrap, BootstrapPage};
use crawler_worker::parse::list::{parse_list, SkipReason};
use crawler_worker::parse::shops::parse_shops;
use crawler_worker::parse::spec::parse_spec;

#[test]
fn a_full_list_fragment() {
    let list = parse_list(&support::list_fragment(90), 2).expect("parses");
    assert_eq!(list.total_count, 4417);
    assert_eq!(list.last_page(common::config::LIST_COUNT), 50);
    assert_eq!(list.products.len(), 90);
    assert!(list.products.iter().enumerate().all(|(i, p)| p.position as usize == i && p.page == 2));
    let first = &list.products[0];
    assert_eq!(first.name, "AMD 라이젠0 7000X (라파엘) (정품)");
    assert_eq!(first.variants.len(), 2);
    assert_eq!((first.variants[0].pcode.as_str(), first.variants[0].price), ("1000000", Some(100_000)));
    assert_eq!((first.variants[1].tag.as_deref(), first.variants[1].price), (Some("멀티팩"), None));
    assert_eq!(list.skipped.iter().filter(|s| s.reason == SkipReason::Advertisement).count(), 2);
}

#[test]
fn list_rules_on_a_full_fragment() {
    let rules = ListingRules {
        minimum_date: RegistrationDate { year: 2020, month: 1 },
        ignore_words: vec!["멀티팩".into()],
    };
    let list = parse_list(&support::list_fragment(90), 1).expect("parses").keep(&rules);
    assert!(list.products.iter().all(|p| p.registered.is_some_and(|d| d.year >= 2020)));
    assert!(list.products.iter().all(|p| p.variants.len() == 1));
    assert_eq!(list.products.len(), 45);
}

#[test]
fn a_full_spec_table() {
    let spec = parse_spec(&support::spec_table(5)).expect("parses").details;
    assert_eq!(spec.len(), 2 + 5 * 6);
    assert_eq!(spec["제조회사"].value, "쿨러마스터CoolerMaster");
    assert_eq!(spec["항목 0-0a"].value, "120mm");
    assert_eq!(spec["항목 0-0a"].section, "쿨러 사양");
    assert_eq!(spec["항목 1-0a"].value, "120mm x2");
    assert!(!spec.contains_key("인증번호"));
}

#[test]
fn a_full_shop_list() {
    let vendors = parse_shops(&support::shop_list(10)).expect("parses").vendors;
    for list in [&vendors.open_market, &vendors.mall, &vendors.credit, &vendors.cash] {
        assert_eq!(list.len(), 9);
    }
    assert!(vendors.open_market.iter().any(|v| v.card.as_deref() == Some("삼성카드") && v.price == 490_400));
    assert!(vendors.credit.iter().all(|v| v.vendor_code.is_some()));
    assert!(vendors.open_market.iter().filter(|v| v.vendor_code.is_some()).count() == 3);
    assert!(vendors.mall.iter().any(|v| v.shipping_cost == Some(3000)));
    assert!(vendors.mall[0].vendor_url.contains("&r=0"));
}

#[test]
fn bootstrap_feeds_the_list_request() {
    let BootstrapPage::Legacy(values) = parse_bootstrap(&support::bootstrap_page()).expect("parses") else {
        panic!("legacy page expected");
    };
    let site = Site::from_base_url("http://127.0.0.1:9/list/?cate=").expect("site");
    let request = site.list_request("112747", &values, 1, None);
    assert_eq!(request.url, "http://127.0.0.1:9/list/ajax/getProductList.ajax.php");
    assert_eq!(request.field("listCategoryCode"), Some("747"));
    assert_eq!(request.field("categoryCode"), Some("112747"));
    assert_eq!(request.field("oCurrentCategoryCode"), Some("a:2:{i:1;i:861;i:2;i:873;}"));
}
