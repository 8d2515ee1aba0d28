//! The sim's markup and its ground truth agree: a reference crawl of the served HTML yields
//! exactly the truth documents, and totals and pagination match the catalogue.

mod common;

use common::{parse_fragment, small, start, RefCrawler};
use danawa_sim::{default_config, ground_truth};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_crawl_of_the_markup_reproduces_the_truth() {
    let sim = start(small(11, 130)).await;
    let config = default_config().expect("config");
    let truth = ground_truth(&sim.state().catalogue, &config);
    assert!(truth.len() > 500, "a useful truth has many parts, got {}", truth.len());
    let mut crawled = RefCrawler::new(sim.origin()).crawl(&config).await;
    crawled.sort_by_key(|p| p.pcode.parse::<u64>().unwrap_or(0));
    assert_eq!(crawled.len(), truth.len());
    for (c, t) in crawled.iter().zip(&truth) {
        assert_eq!(serde_json::to_value(c).unwrap(), serde_json::to_value(t).unwrap(), "pcode {}", t.pcode);
    }
    sim.shutdown().await;
}

/// The truth holds for every markup share, 0 and 1 included, and for a crawl bootstrapped from
/// the Next.js payload on every connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_markup_share_and_the_next_js_page_reproduce_the_truth() {
    let config = default_config().expect("config");
    for (share, next) in [(0.0, 0.0), (1.0, 1.0)] {
        let mut sim_config = small(17, 40);
        sim_config.new_markup_share = share;
        sim_config.next_share = next;
        let sim = start(sim_config).await;
        let truth = ground_truth(&sim.state().catalogue, &config);
        let mut crawled = RefCrawler::new(sim.origin()).crawl(&config).await;
        crawled.sort_by_key(|p| p.pcode.parse::<u64>().unwrap_or(0));
        assert_eq!(crawled.len(), truth.len(), "share {share}");
        for (c, t) in crawled.iter().zip(&truth) {
            let (c, t) = (serde_json::to_value(c).unwrap(), serde_json::to_value(t).unwrap());
            assert_eq!(c, t, "share {share}, next {next}, pcode {}", t["pcode"]);
        }
        let stats = sim.state().observer.stats();
        assert!(stats.by_endpoint.get("list_page").is_some_and(|n| *n >= 9));
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn the_truth_endpoint_matches_the_library() {
    let sim = start(small(5, 60)).await;
    let body = reqwest::get(format!("{}/_sim/truth", sim.origin())).await.unwrap().text().await.unwrap();
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();
    let truth = ground_truth(&sim.state().catalogue, &default_config().unwrap());
    assert_eq!(served, serde_json::to_value(&truth).unwrap());
    let pcodes: Vec<u64> = truth.iter().map(|p| p.pcode.parse().unwrap()).collect();
    assert!(pcodes.windows(2).all(|w| w[0] < w[1]), "sorted by pcode");
    sim.shutdown().await;
}

#[tokio::test]
async fn totals_and_pages_follow_filters_and_list_count() {
    let sim = start(small(3, 250)).await;
    let crawler = RefCrawler::new(sim.origin());
    let page = crawler.get("/list/?cate=112775").await;
    let referer = format!("{}/list/?cate=112775", sim.origin());
    let category = sim.state().catalogue.by_number(112775).unwrap();
    for value in ["5112", "5116", "153734"] {
        let expected = category.listing(&[], &[value.parse().unwrap()]);
        let filter = (&::common::config::FilterKind::Attribute, value);
        let mut seen = Vec::new();
        let last = expected.len().div_ceil(90) as u32;
        for p in 1..=last + 1 {
            let html = crawler
                .post("/list/ajax/getProductList.ajax.php", &referer, &RefCrawler::list_form(&page, p, Some(filter)))
                .await;
            let (total, entries) = parse_fragment(&html);
            assert_eq!(total, expected.len(), "totalProductCount for {value}");
            assert!(entries.len() <= 90);
            if p == last + 1 {
                assert!(entries.is_empty(), "past the last page nothing is listed");
            }
            seen.extend(entries.into_iter().map(|e| e.variants[0].0.clone()));
        }
        let want: Vec<String> =
            expected.iter().map(|&i| category.products[i as usize].variants[0].pcode.to_string()).collect();
        assert_eq!(seen, want, "pages concatenate to the BEST-ordered listing");
    }
    // listCount 30 pages the same listing in thirds.
    let mut form = RefCrawler::list_form(&page, 2, None);
    form.iter_mut().filter(|(k, _)| k == "listCount").for_each(|(_, v)| *v = "30".into());
    let (total, entries) = parse_fragment(&crawler.post("/list/ajax/getProductList.ajax.php", &referer, &form).await);
    assert_eq!((total, entries.len()), (250, 30));
    // A case can be ATX and a tuning case: the same pcode appears under two filters.
    let atx = category.listing(&[], &[5112]);
    let tuning = category.listing(&[], &[5116]);
    assert!(atx.iter().any(|i| tuning.contains(i)), "pcodes shared across filters");
    sim.shutdown().await;
}

#[tokio::test]
async fn requests_without_category_fields_or_ajax_headers_get_an_empty_200() {
    let sim = start(small(3, 40)).await;
    let crawler = RefCrawler::new(sim.origin());
    let page = crawler.get("/list/?cate=112747").await;
    let referer = format!("{}/list/?cate=112747", sim.origin());
    let mut form = RefCrawler::list_form(&page, 1, None);
    form.retain(|(k, _)| k != "categoryCode");
    assert_eq!(crawler.post("/list/ajax/getProductList.ajax.php", &referer, &form).await, "");
    // A categoryCode other than the page's (here the physics code) does not place the category.
    let mut wrong = RefCrawler::list_form(&page, 1, None);
    wrong.iter_mut().filter(|(k, _)| k == "categoryCode").for_each(|(_, v)| *v = "873".into());
    assert_eq!(crawler.post("/list/ajax/getProductList.ajax.php", &referer, &wrong).await, "");
    let bare = reqwest::Client::new()
        .post(format!("{}/list/ajax/getProductList.ajax.php", sim.origin()))
        .form(&RefCrawler::list_form(&page, 1, None))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 200);
    assert_eq!(bare.text().await.unwrap(), "", "no X-Requested-With: empty answer");
    sim.shutdown().await;
}

/// List-only categories, a numeric end page, a later start page, category minimum dates and
/// ignore words, and an unfiltered listing.
const CUSTOM_CONFIG: &str = r#"{
  "pageBaseUrl": "https://prod.danawa.com/list/?cate=",
  "itemBaseUrl": "https://prod.danawa.com/info/?pcode=",
  "minimumDate": "2016",
  "ignoreWords": ["중고"],
  "itemsCategories": ["cpu", "systemCooler"],
  "categories": [
    { "category": "cpu", "categoryNumber": "112747", "start": "1", "end": "2", "ignoreWords": ["해외구매"],
      "filters": [{ "name": "인텔", "type": "maker", "value": "3156" }] },
    { "category": "memory", "categoryNumber": "112752", "start": "2", "end": "*", "minimumDate": "2020", "filters": [] },
    { "category": "systemCooler", "categoryNumber": "11236855", "start": "1", "end": "*",
      "filters": [{ "name": "시스템 쿨러", "type": "attribute", "value": "4017" }] },
    { "category": "power", "categoryNumber": "112777", "start": "1", "end": "*", "minimumDate": "0",
      "filters": [{ "name": "ATX 파워", "type": "attribute", "value": "5529" }, { "name": "MSI", "type": "maker", "value": "3160" }] }
  ]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_only_categories_and_page_ranges_agree_too() {
    let sim = start(small(23, 400)).await;
    let config = ::common::config::ScrapeConfig::parse(CUSTOM_CONFIG).expect("custom config");
    let truth = ground_truth(&sim.state().catalogue, &config);
    let mut crawled = RefCrawler::new(sim.origin()).crawl(&config).await;
    crawled.sort_by_key(|p| p.pcode.parse::<u64>().unwrap_or(0));
    assert_eq!(
        serde_json::to_value(&crawled).unwrap(),
        serde_json::to_value(&truth).unwrap(),
        "reference crawl and truth differ"
    );
    let memory: Vec<_> = truth.iter().filter(|p| p.category == "memory").collect();
    assert!(!memory.is_empty() && memory.iter().all(|p| p.details.is_empty() && p.prices.is_empty()));
    assert!(memory.iter().all(|p| p.sort_order <= 1_000_000 - 90), "memory starts at page 2");
    assert!(truth.iter().filter(|p| p.category == "cpu").all(|p| p.sort_order > 1_000_000 - 180), "cpu ends at page 2");
    assert!(truth
        .iter()
        .any(|p| p.category == "systemCooler" && p.details.get("분류").is_some_and(|d| d.value == "시스템 쿨러")));
    // The served truth for a posted config is the same.
    let served: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/_sim/truth", sim.origin()))
        .body(CUSTOM_CONFIG)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, serde_json::to_value(&truth).unwrap());
    sim.shutdown().await;
}

/// DANAWA.md "Newer evidence", category codes: categoryCode equals listCategoryCode, the physics
/// codes seen on the site, bDpgZoneCategory in oGlobalSetting, and sProductListApi and
/// oCurrentCategoryCode as separate vars.
#[tokio::test]
async fn the_legacy_page_carries_the_newer_category_codes() {
    let sim = start(small(3, 20)).await;
    let crawler = RefCrawler::new(sim.origin());
    let expected = [
        (112747, "747", ["861", "873"]),
        (112751, "751", ["861", "875"]),
        (112752, "752", ["861", "874"]),
        (112753, "753", ["861", "876"]),
        (112760, "760", ["861", "32617"]),
        (112763, "763", ["861", "877"]),
        (112775, "775", ["861", "879"]),
        (112777, "777", ["861", "880"]),
        (11236855, "36855", ["862", "887"]),
    ];
    for (cate, list, [p1, p2]) in expected {
        let page = crawler.get(&format!("/list/index.php?cate={cate}")).await;
        let global = &page[page.find("var oGlobalSetting").expect("oGlobalSetting")..];
        let global = &global[..global.find("};").expect("end of oGlobalSetting")];
        let field = |name: &str| common::js_field(global, name);
        assert_eq!(field("nListCategoryCode").as_deref(), Some(list), "{cate}");
        assert_eq!(field("nCategoryCode").as_deref(), Some(list), "{cate}: categoryCode = listCategoryCode");
        assert_eq!((field("sPhysicsCate1").unwrap(), field("sPhysicsCate2").unwrap()), (p1.into(), p2.into()));
        assert_eq!(field("bDpgZoneCategory").as_deref(), Some("N"));
        assert!(field("sProductListApi").is_none(), "sProductListApi is no longer inside oGlobalSetting");
        assert!(page.contains("var sProductListApi = \"search\";"));
        assert!(page.contains(&format!("var oCurrentCategoryCode = \"a:2:{{i:1;i:97;i:2;i:{list};}}\";")));
    }
    sim.shutdown().await;
}
