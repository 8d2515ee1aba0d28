//! The parsers against real product pages Danawa served in 2026 (`shared/danawa-pages`, read
//! in place, never copied into the repo).

mod support;

use common::config::RegistrationDate;
use common::parts::Vendors;
use crawler_worker::parse::assemble::assemble;
use crawler_worker::parse::product::{parse_product, ProductAnswer, ProductPage};
use crawler_worker::parse::spec::SpecTable;
use support::{real_page, REAL_EXPIRED_PAGE};

fn product(name: &str) -> ProductPage {
    match parse_product(&real_page(name)) {
        Ok(ProductAnswer::Product(page)) => *page,
        other => panic!("{name}: expected a product page, got {other:?}"),
    }
}

#[test]
fn rice_1151074() {
    let page = product("danawa_offers_1151074.html");
    assert_eq!(page.pcode.as_deref(), Some("1151074"));
    assert_eq!(page.title, "CJ제일제당 햇반 백미 210g (24개)");
    assert_eq!(page.category_number, "16237074");
    assert_eq!(page.registered, Some(RegistrationDate { year: 2005, month: 1 }));
    assert_eq!(page.maker.as_deref(), Some("CJ제일제당"));
    assert_eq!(page.min_price, Some(23_000));
    assert_eq!(page.json_ld_low_price, Some(23_000));
    assert!(!page.sold_out);
    assert_eq!(page.spec_summary_first.as_deref(), Some("즉석밥"));
    assert_eq!(page.description.cate, ["46803", "228139", "229132", "233509"].map(String::from));
    assert_eq!(page.description.maker_name, "CJ제일제당");
    assert_eq!(page.description.product_name, "햇반 백미 210g");
    assert_eq!(page.description.prod_type, "T3");
    assert_eq!(page.low_price_shops.len(), 10);
    let first = &page.low_price_shops[0];
    assert_eq!((first.vendor_name.as_str(), first.vendor_code.as_deref()), ("쿠팡", Some("TP40F")));
    assert_eq!(first.shipping_cost, 10_000);
    assert!(page.low_price_shops.iter().all(|s| s.price > 0 && s.url.contains("loadingBridge")));
    assert!(page.low_price_shops.iter().any(|s| s.shipping_cost == 0));
    assert!(page.low_price_shops.iter().any(|s| s.vendor_name == "우리집식탁매니저"));
}

#[test]
fn rice_1152054() {
    let page = product("danawa_offers_1152054.html");
    assert_eq!(page.title, "오뚜기 맛있는 오뚜기밥 흰밥 210g (24개)");
    assert_eq!(page.category_number, "16237074");
    assert_eq!(page.min_price, Some(19_570));
    assert_eq!(page.json_ld_low_price, Some(19_570));
    assert!(!page.sold_out);
    // The membership list above it is not the low-price list.
    let first = page.low_price_shops.first().expect("low-price shops");
    assert_eq!((first.vendor_name.as_str(), first.price, first.shipping_cost), ("옥션", 19_570, 3000));
    assert!(page.low_price_shops.iter().all(|s| s.price >= 19_570));
    let npay = page.low_price_shops.iter().find(|s| s.vendor_name == "곰돌이창고").expect("곰돌이창고");
    assert!(npay.npay);
}

#[test]
fn ipad_16559657() {
    let page = product("danawa_offers_16559657.html");
    assert_eq!(page.title, "APPLE 2022 iPad Air 5세대 (256GB)");
    assert_eq!(page.category_number, "122579");
    assert_eq!(page.registered, Some(RegistrationDate { year: 2022, month: 4 }));
    assert_eq!(page.maker.as_deref(), Some("APPLE"));
    assert_eq!(page.min_price, Some(1_089_990));
    assert_eq!(page.json_ld_low_price, Some(1_089_990));
    assert!(!page.sold_out);
    assert_eq!(page.spec_summary_first.as_deref(), Some("태블릿PC"));
    assert_eq!(page.description.cate, ["224", "38768", "53984", "0"].map(String::from));
    assert_eq!(page.description.product_name, "2022 iPad Air 5세대");
    let shops: Vec<(&str, i64, i64, bool)> =
        page.low_price_shops.iter().map(|s| (s.vendor_name.as_str(), s.price, s.shipping_cost, s.npay)).collect();
    assert_eq!(
        shops,
        [
            ("G마켓", 1_089_990, 0, false),
            ("옥션", 1_089_990, 0, false),
            ("11번가", 1_138_820, 0, false),
            ("newgods1", 1_329_620, 0, true),
        ]
    );
}

#[test]
fn ipad_assembles_into_an_item_result() {
    let page = product("danawa_offers_16559657.html");
    let info = assemble("graphics", "122579", &page, &SpecTable::default(), Vendors::default()).expect("assembles");
    assert_eq!(info.name.full_name, "APPLE 2022 iPad Air 5세대");
    assert_eq!(info.name.tag.as_deref(), Some("256GB"));
    assert_eq!(info.lowest_price, Some(1_089_990));
    assert!(info.stock);
    assert_eq!(info.details.get("분류").map(|d| d.value.as_str()), Some("태블릿PC"));
    assert!(assemble("graphics", "112753", &page, &SpecTable::default(), Vendors::default()).is_err());
}

#[test]
fn sold_out_flag_on_a_real_page() {
    let html = real_page("danawa_offers_1151074.html").replace("soldOut = 'N'", "soldOut = 'Y'");
    let Ok(ProductAnswer::Product(page)) = parse_product(&html) else { panic!("product page expected") };
    assert!(page.sold_out);
}

#[test]
fn the_expired_answer_is_discontinued() {
    assert_eq!(parse_product(&real_page(REAL_EXPIRED_PAGE)), Ok(ProductAnswer::Discontinued));
}

/// The completeness check passes every real page whole (a check that rejected real answers
/// would turn every job into a dead letter), and the cut-off versions of them fail it.
#[test]
fn real_pages_are_whole_and_their_cuts_are_not() {
    use crawler_worker::complete::{check, AnswerKind};
    for name in support::REAL_PRODUCT_PAGES.iter().chain([&REAL_EXPIRED_PAGE]) {
        let page = real_page(name);
        assert_eq!(check(AnswerKind::ProductPage, &page), Ok(()), "{name}");
        for cut in [page.len() / 3, page.len() * 9 / 10, page.trim_end().len() - 3] {
            let cut = (0..=cut).rev().find(|&i| page.is_char_boundary(i)).unwrap_or(0);
            assert!(check(AnswerKind::ProductPage, &page[..cut]).is_err(), "{name} cut at {cut}");
        }
    }
}
