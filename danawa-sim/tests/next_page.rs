//! The 2026 Next.js category page (DANAWA.md "Newer evidence": Next.js template): its flight
//! payload carries the category context and totals in the documented format, and a list request
//! built from it gets the same answers as one built from the legacy page.

mod common;

use common::{bootstrap, next_chunks, next_payload, parse_fragment, small, start, RefCrawler};

const KEYS: [&str; 22] = [
    "cate",
    "originCategory",
    "listCategoryCode",
    "categoryCode",
    "group",
    "depth",
    "physicsCate1",
    "physicsCate2",
    "physicsCate3",
    "physicsCate4",
    "categoryMappingCode",
    "powerLinkKeyword",
    "currentCategoryCode",
    "productListApi",
    "dpgZoneCategory",
    "listPackageType",
    "packageLimit",
    "initialPriceDisplay",
    "discountProductRate",
    "priceUnit",
    "priceUnitValue",
    "priceUnitClass",
];

#[tokio::test]
async fn the_payload_carries_the_category_context_and_totals() {
    let mut config = small(6, 95);
    config.next_share = 1.0;
    let sim = start(config).await;
    let crawler = RefCrawler::new(sim.origin());
    for category in &sim.state().catalogue.categories {
        let d = category.def;
        for path in ["/list/?cate=", "/list/index.php?cate="] {
            let page = crawler.get(&format!("{path}{}", d.number)).await;
            assert!(!page.contains("oGlobalSetting"), "{path}{}", d.number);
            assert!(page.trim_end().ends_with("</html>"));
            assert!(page.contains("class=\"mx-auto flex"), "Tailwind classes");
            let chunks = next_chunks(&page);
            assert!(chunks.len() >= 3, "several chunks");
            assert_eq!(chunks.iter().filter(|c| c.contains("\"categoryContext\"")).count(), 1);
            assert!(chunks.iter().any(|c| c.contains("^\\\\d+$")), "an escaped backslash survives decoding");
            let payload = next_payload(&page).expect("payload");
            let context = payload["categoryContext"].as_object().expect("categoryContext object");
            let keys: Vec<&str> = context.keys().map(String::as_str).collect();
            let mut want = KEYS.to_vec();
            want.sort_unstable();
            let mut got = keys.clone();
            got.sort_unstable();
            assert_eq!(got, want);
            assert!(context.values().all(serde_json::Value::is_string), "every context value is a string");
            let s = |k: &str| context[k].as_str().unwrap().to_owned();
            assert_eq!(s("listCategoryCode"), d.list_code.to_string());
            assert_eq!(s("categoryCode"), s("listCategoryCode"));
            assert_eq!(s("originCategory"), d.number.to_string());
            let cate = if d.name == "hdd" { "11229614".to_owned() } else { d.number.to_string() };
            assert_eq!(s("cate"), cate);
            assert_eq!(s("physicsCate1"), d.physics[0].to_string());
            assert_eq!(s("physicsCate2"), d.physics[1].to_string());
            assert_eq!(s("powerLinkKeyword"), d.label);
            assert_eq!(s("currentCategoryCode"), format!("a:2:{{i:1;i:97;i:2;i:{};}}", d.list_code));
            assert_eq!((s("productListApi"), s("dpgZoneCategory")), ("search".into(), "N".into()));
            assert_eq!(payload["totalCount"], serde_json::json!(95));
            assert_eq!(payload["totalPages"], serde_json::json!(4), "95 products, 30 per page");
        }
    }
    // HDD answers under its new code too.
    let hdd = crawler.get("/list/?cate=11229614").await;
    assert_eq!(next_payload(&hdd).unwrap()["categoryContext"]["listCategoryCode"], "763");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_list_request_from_the_payload_equals_one_from_the_legacy_page() {
    let mut config = small(6, 120);
    config.next_share = 1.0;
    let next_sim = start(config).await;
    let legacy_sim = start(small(6, 120)).await;
    let next = RefCrawler::new(next_sim.origin());
    let legacy = RefCrawler::new(legacy_sim.origin());
    for category in &next_sim.state().catalogue.categories {
        let cate = category.def.number;
        let next_page = next.get(&format!("/list/?cate={cate}")).await;
        let legacy_page = legacy.get(&format!("/list/?cate={cate}")).await;
        assert!(next_page.contains("__next_f") && legacy_page.contains("oGlobalSetting"));
        assert_eq!(bootstrap(&next_page), bootstrap(&legacy_page), "cate {cate}");
        let referer = format!("{}/list/?cate={cate}", next.origin);
        let form = RefCrawler::list_form(&next_page, 2, None);
        let from_next = next.post("/list/ajax/getProductList.ajax.php", &referer, &form).await;
        let (total, entries) = parse_fragment(&from_next);
        assert_eq!((total, entries.len()), (120, 30));
        let form = RefCrawler::list_form(&legacy_page, 2, None);
        let from_legacy = legacy.post("/list/ajax/getProductList.ajax.php", &referer, &form).await;
        assert_eq!(from_next, from_legacy);
    }
    next_sim.shutdown().await;
    legacy_sim.shutdown().await;
}
